"""Small synthetic comparison and sweep files, written with h5py to the schema
schoolsim's `compare` and `sweep` commands write (see analysis/README.md)."""

import h5py
import numpy as np

# The measures schoolsim marks as counts (MeasureInfo::count; their `count` attribute).
COUNTS = {"n_challenging", "n_ties", "isolates"}

# measure -> (unit, start value, change over the run in arm A, extra change in arm B, noise sd)
MEASURES = {
    "mean_capacity": ("[0,1]", 0.45, 0.01, 0.04, 0.01),
    "mean_attainment": ("pupil SD", 0.0, 0.01, 0.05, 0.02),
    "attainment_gap": ("pupil SD", 0.70, 0.08, -0.12, 0.02),
    "school_sd": ("pupil SD", 0.60, 0.05, -0.04, 0.01),
    "dissimilarity": ("index [0,1]", 0.28, 0.04, -0.03, 0.005),
    "n_challenging": ("schools", 600.0, 30.0, -60.0, 10.0),
    "n_ties": ("ties", 0.0, 900.0, 2500.0, 40.0),
    "isolates": ("schools", 2000.0, -1500.0, -400.0, 20.0),
    "mean_trust": ("[0,1]", 0.0, 0.40, 0.0, 0.01),
}


STANDARDISERS = {"pupil SD": "pupil SD (the difference as it is)",
                 "schools": "SD between schools (arm A, at the end)",
                 "replicates": "SD between replicates of arm A (at the end)"}


def write_compare(path, replicates=4, years=5, seed=11, name_a="competitive", name_b="collaborative",
                  standardised=True, uncertainty=None):
    """A comparison file; rows are yearly (term 0, 3, ..., 3 * years). Returns the
    per-measure arrays written (dict name -> (a, b)). Effect sizes are standardised as
    schoolsim does (with a made-up SD between schools of 0.2); with ``standardised``
    False they are the paired d_z with no standardiser, as older files had."""
    rng = np.random.default_rng(seed)
    term = (np.arange(years + 1) * 3).astype(np.int32)
    frac = np.linspace(0.0, 1.0, years + 1)
    written = {}
    with h5py.File(path, "w") as f:
        m = f.create_group("meta")
        m.attrs["kind"] = "compare"
        m.attrs["schema_version"] = np.int32(1)
        m.attrs["program_version"] = "0.1.0"
        m.attrs["seed"] = np.uint64(seed)
        m.attrs["replicates"] = np.int32(replicates)
        m.attrs["scenario_a_name"] = name_a
        m.attrs["scenario_b_name"] = name_b
        if uncertainty is not None:
            m.attrs["uncertainty"] = uncertainty
        m.create_dataset("scenario_a", data=f"name: {name_a}\nyears: {years}\n")
        m.create_dataset("scenario_b", data=f"name: {name_b}\nyears: {years}\n")
        c = f.create_group("compare")
        c.create_dataset("term", data=term)
        for name, (unit, start, da, db, sd) in MEASURES.items():
            world = start + rng.normal(0, sd, size=(replicates, 1))       # shared start per replicate
            a = world + da * frac + rng.normal(0, sd, size=(replicates, years + 1)) * frac
            b = world + (da + db) * frac + rng.normal(0, sd, size=(replicates, years + 1)) * frac
            a[:, 0] = b[:, 0] = world[:, 0]
            d = b - a
            mean = d.mean(axis=0)
            half = 3.182 * d.std(axis=0, ddof=1) / np.sqrt(replicates) if replicates == 4 else \
                2.0 * d.std(axis=0, ddof=1) / np.sqrt(replicates)
            g = c.create_group(name)
            g.create_dataset("a", data=a)
            g.create_dataset("b", data=b)
            g.create_dataset("diff_mean", data=mean)
            g.create_dataset("diff_lo", data=mean - half)
            g.create_dataset("diff_hi", data=mean + half)
            g.attrs["unit"] = unit
            g.attrs["meaning"] = f"synthetic {name.replace('_', ' ')}"
            g.attrs["count"] = np.int32(name in COUNTS)
            if standardised:
                kind = "pupil SD" if unit == "pupil SD" else "schools" if name == "mean_capacity" else "replicates"
                scale = 1.0 if kind == "pupil SD" else 0.2 if kind == "schools" else float(a[:, -1].std(ddof=1))
                g.attrs["effect_size"] = float(mean[-1] / scale) if scale > 0 else float("nan")
                g.attrs["effect_scale"] = scale
                g.attrs["effect_standardiser"] = STANDARDISERS[kind]
            else:
                sd_last = d[:, -1].std(ddof=1)
                g.attrs["effect_size"] = float(mean[-1] / sd_last) if sd_last > 0 else float("nan")
            written[name] = (a, b)
    return written


SOBOL_ESTIMATOR = "first order: Saltelli et al. (2010) on centred output; total: Jansen (1999)"


def write_sweep(path, method="morris", runs=24, replicates=2, seed=5, sensitivity=True,
                estimator=SOBOL_ESTIMATOR, wild=False):
    """A sweep file. With a Saltelli design, ``estimator`` is the sensitivity groups'
    attribute (None leaves it out, as files from before it did) and ``wild`` puts a
    first-order index of attainment_gap at 1.6."""
    """A sweep file over three parameters. Returns (names, values)."""
    rng = np.random.default_rng(seed)
    names = ["choice", "search_rate", "max_ties"]
    lows, highs = np.array([0.0, 0.05, 2.0]), np.array([1.0, 0.5, 8.0])
    values = lows + rng.random((runs, len(names))) * (highs - lows)
    done = np.ones(runs, np.uint8)
    done[-1] = 0
    str_t = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        m = f.create_group("meta")
        m.attrs["kind"] = "sweep"
        m.attrs["schema_version"] = np.int32(1)
        m.attrs["program_version"] = "0.1.0"
        m.attrs["seed"] = np.uint64(seed)
        m.attrs["replicates"] = np.int32(replicates)
        d = f.create_group("design")
        d.attrs["method"] = method
        d.create_dataset("names", data=np.array(names, dtype=object), dtype=str_t)
        d.create_dataset("values", data=values)
        r = f.create_group("runs")
        r.create_dataset("done", data=done)
        gap = 0.6 + 0.3 * values[:, [0]] - 0.2 * values[:, [1]] + rng.normal(0, 0.02, (runs, replicates))
        ties = 100 * values[:, [1]] * values[:, [2]] + rng.normal(0, 5, (runs, replicates))
        gap[done == 0] = np.nan
        ties[done == 0] = np.nan
        for name, v, unit in (("attainment_gap", gap, "pupil SD"), ("n_ties", ties, "ties")):
            ds = r.create_dataset(name, data=v)
            ds.attrs["unit"] = unit
            ds.attrs["meaning"] = f"synthetic {name}"
            ds.attrs["count"] = np.int32(name in COUNTS)
        if sensitivity:
            s = f.create_group("sensitivity")
            for name, effects in (("attainment_gap", [0.3, 0.09, 0.004]), ("n_ties", [2.0, 30.0, 25.0])):
                g = s.create_group(name)
                g.create_dataset("names", data=np.array(names, dtype=object), dtype=str_t)
                e = np.array(effects)
                if method == "morris":
                    g.create_dataset("mu_star", data=e)
                    g.create_dataset("sigma", data=e * np.array([0.1, 0.8, 1.2]))
                else:
                    first = e / (e.sum() * 1.2)
                    if wild and name == "attainment_gap":
                        first[0] = 1.6
                    total = first * 1.3
                    g.create_dataset("first", data=first)
                    g.create_dataset("first_lo", data=first - 0.05)
                    g.create_dataset("first_hi", data=first + 0.05)
                    g.create_dataset("total", data=total)
                    g.create_dataset("total_lo", data=total - 0.06)
                    g.create_dataset("total_hi", data=total + 0.06)
                    if estimator is not None:
                        g.attrs["estimator"] = estimator
    return names, values
