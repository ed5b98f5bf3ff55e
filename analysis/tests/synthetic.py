"""Small synthetic comparison and sweep files, written with h5py to the schema
schoolsim's `compare` and `sweep` commands write (see analysis/README.md)."""

import h5py
import numpy as np

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


def write_compare(path, replicates=4, years=5, seed=11, name_a="competitive", name_b="collaborative",
                  uncertainty=None):
    """A comparison file; rows are yearly (term 0, 3, ..., 3 * years). Returns the
    per-measure arrays written (dict name -> (a, b))."""
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
            sd_last = d[:, -1].std(ddof=1)
            g.attrs["effect_size"] = float(mean[-1] / sd_last) if sd_last > 0 else float("nan")
            written[name] = (a, b)
    return written


def write_sweep(path, method="morris", runs=24, replicates=2, seed=5, sensitivity=True):
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
                    total = first * 1.3
                    g.create_dataset("first", data=first)
                    g.create_dataset("first_lo", data=first - 0.05)
                    g.create_dataset("first_hi", data=first + 0.05)
                    g.create_dataset("total", data=total)
                    g.create_dataset("total_lo", data=total - 0.06)
                    g.create_dataset("total_hi", data=total + 0.06)
    return names, values
