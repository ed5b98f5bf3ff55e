"""Plots of schoolsim output. Every function takes data from :mod:`read` and
returns a :class:`matplotlib.figure.Figure` (created without pyplot, so nothing
is shown and nothing needs closing; save it with ``fig.savefig(...)``)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from . import read  # noqa: E402

#: Measures drawn over time when none are asked for (those present in the file).
DEFAULT_MEASURES = ("mean_attainment", "attainment_gap", "mean_capacity", "school_sd",
                    "dissimilarity", "n_challenging", "n_ties", "isolates")

#: Short titles of the system measures.
MEASURE_TITLES = {
    "mean_capacity": "Mean capacity",
    "mean_expectations": "Mean expectations",
    "mean_crisis": "Mean crisis severity",
    "mean_attainment": "Mean attainment",
    "attainment_gap": "Attainment gap (other \u2212 disadv.)",
    "between_school_share": "Between-school variance share",
    "school_sd": "Spread of school results (SD)",
    "dissimilarity": "Segregation (dissimilarity)",
    "enrolment_gini": "Enrolment Gini",
    "n_challenging": "Schools in challenging circumstances",
    "n_schools_in_crisis": "Schools in crisis",
    "pupils": "Pupils",
    "n_ties": "Collaboration ties",
    "mean_degree": "Mean ties per school",
    "density": "Network density",
    "clustering": "Clustering",
    "components": "Network components",
    "isolates": "Isolated schools",
    "bridging_share": "Bridging share of ties",
    "bonding_share": "Bonding share of ties",
    "centralisation": "Degree centralisation",
    "ties_voluntary": "Voluntary ties",
    "ties_programme": "Programme ties",
    "ties_federation": "Federation ties",
    "ties_movement": "Movement ties",
    "ties_after_funding": "Programme ties after funding",
    "mean_trust": "Mean trust in ties",
}

# Colour-blind-safe colours (Okabe & Ito).
BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY, YELLOW, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#7F7F7F")
ARM_COLOURS = (BLUE, ORANGE)
DIFF_COLOUR = GREEN
GROUP_COLOURS = {"dis": VERMILION, "adv": BLUE}
GROUP_LABELS = {"dis": "disadvantaged pupils", "adv": "other pupils"}
KIND_COLOURS = {0: GREY, 1: BLUE, 2: VERMILION, 3: GREEN, 4: PURPLE}
REASON_COLOURS = {"initial": GREY, "search": BLUE, "programme": SKY, "federation": VERMILION,
                  "brokered": PURPLE, "benefit_below_cost": ORANGE, "trust_lost": YELLOW,
                  "funding_ended": GREEN, "withdrawal": "#000000", "removed": "#999999"}


def ordered(names):
    """Measure names in the documented order (docs/OUTPUT.md), unknown ones after."""
    known = list(MEASURE_TITLES)
    names = list(names)
    return sorted(names, key=lambda m: (known.index(m) if m in known else len(known), names.index(m)))


def title_of(measure):
    return MEASURE_TITLES.get(measure, measure.replace("_", " ").capitalize())


def _grid(n, ncols):
    ncols = max(1, min(ncols, n))
    return int(math.ceil(n / ncols)), ncols


def _header(fig, title, handles=(), ncols=None):
    """Title and legend above the panels, in room kept free of the constrained
    layout (works with matplotlib 3.6, which has no 'outside' legends)."""
    height = fig.get_figheight()
    handles = list(handles)
    rows = 0
    if handles:
        ncols = ncols or len(handles)
        rows = int(math.ceil(len(handles) / ncols))
    top = 0.42 + 0.26 * rows
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - top / height))
    fig.text(0.5, 1 - 0.1 / height, title, ha="center", va="top", fontsize=12)
    if handles:
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.36 / height),
                   ncols=ncols, fontsize=9, frameon=False, borderaxespad=0.0, handlelength=1.8)


def _pick_measures(available, measures):
    if measures is None:
        chosen = [m for m in DEFAULT_MEASURES if m in available]
        return chosen or ordered(available)[:8]
    missing = [m for m in measures if m not in available]
    if missing:
        raise KeyError(f"no such system measure in the file: {', '.join(missing)} "
                       f"(available: {', '.join(available)})")
    return list(measures)


def _band(values, band):
    """Mean over replicates (axis 0) and the band drawn around it."""
    if band == "ci":
        return read.mean_ci(values, axis=0)
    if band == "range":
        return np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    raise ValueError(f"band must be 'ci' or 'range', not {band!r}")


def _year_ticks(ax, years):
    if len(years) and years[-1] <= 20:
        ax.set_xticks(np.arange(0, math.floor(years[-1]) + 1, 1 if years[-1] <= 10 else 2))
    ax.set_xlim(years[0] if len(years) else 0, years[-1] if len(years) and years[-1] > 0 else 1)


# ---------------------------------------------------------------- over time


def plot_over_time(data, measures=None, band="ci", ncols=4):
    """Regime comparison over time: a comparison's two arms and their difference
    (:func:`plot_comparison`), or a run's mean over replicates with a band
    (:func:`plot_run_measures`)."""
    if data.kind == "compare":
        return plot_comparison(data, measures, ncols=ncols)
    if data.kind == "run":
        return plot_run_measures(data, measures, band=band, ncols=ncols)
    raise ValueError(f"no time series in a {data.kind!r} file")


def plot_run_measures(run, measures=None, band="ci", ncols=4, show_replicates=False):
    """System measures of a run over time, one panel per measure: the mean over
    replicates (one line) and, with two or more replicates, a shaded band: the
    95% interval of the mean (``band="ci"``, Student t) or the range of the
    replicates (``band="range"``). ``show_replicates`` adds one faint line per
    replicate."""
    measures = _pick_measures(run.system, measures)
    nrows, ncols = _grid(len(measures), ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.9 * nrows + 0.6), layout="constrained")
    years = run.year_axis
    reps = run.n_replicates
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, m in enumerate(measures):
        ax = axes.flat[i]
        v = run.system[m]
        mean, lo, hi = _band(v, band)
        if show_replicates:
            for r in range(v.shape[0]):
                ax.plot(years, v[r], color=BLUE, lw=0.6, alpha=0.35)
        if reps > 1:
            ax.fill_between(years, lo, hi, color=BLUE, alpha=0.22, lw=0)
        ax.plot(years, mean, color=BLUE, lw=1.8)
        ax.set_title(title_of(m), fontsize=10)
        unit = run.units.get(m, "")
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        _year_ticks(ax, years)
        if i >= len(measures) - ncols:
            ax.set_xlabel("years", fontsize=8)
    for ax in axes.flat[len(measures):]:
        ax.remove()
    handles = [Line2D([], [], color=BLUE, lw=1.8,
                      label=f"mean of {reps} replicate{'s' if reps != 1 else ''}")]
    if reps > 1:
        what = "95% interval of the mean" if band == "ci" else "range of the replicates"
        handles.append(Patch(color=BLUE, alpha=0.22, label=what))
    _header(fig, f"{run.name}: system measures over time", handles)
    return fig


def plot_comparison(cmp, measures=None, ncols=4):
    """Two regimes over time, one column per measure: top panel, each arm's mean
    over paired replicates with its 95% interval (two lines, two bands); bottom
    panel, the mean difference B - A with its 95% interval (one line, one band)
    and a dashed zero line."""
    measures = _pick_measures(cmp.measures, measures)
    nblocks, ncols = _grid(len(measures), ncols)
    fig = Figure(figsize=(3.6 * ncols, 4.6 * nblocks + 0.7), layout="constrained")
    axes = fig.subplots(2 * nblocks, ncols, squeeze=False,
                        gridspec_kw={"height_ratios": [1.6, 1] * nblocks})
    years = cmp.year_axis
    names = (cmp.name_a, cmp.name_b)
    reps = cmp.n_replicates
    for i, m in enumerate(measures):
        block, col = divmod(i, ncols)
        top, bottom = axes[2 * block, col], axes[2 * block + 1, col]
        cm = cmp.measures[m]
        for arm, colour in zip((cm.a, cm.b), ARM_COLOURS):
            mean, lo, hi = read.mean_ci(arm, axis=0)
            if reps > 1:
                top.fill_between(years, lo, hi, color=colour, alpha=0.22, lw=0)
            top.plot(years, mean, color=colour, lw=1.8)
        top.set_title(title_of(m), fontsize=10)
        top.set_ylabel(cm.unit, fontsize=8)
        top.tick_params(labelsize=8, labelbottom=False)
        top.grid(alpha=0.3)
        _year_ticks(top, years)
        bottom.fill_between(years, cm.diff_lo, cm.diff_hi, color=DIFF_COLOUR, alpha=0.25, lw=0)
        bottom.plot(years, cm.diff_mean, color=DIFF_COLOUR, lw=1.8)
        bottom.axhline(0, color="black", lw=0.8, ls="--")
        bottom.set_ylabel(f"B \u2212 A ({cm.unit})" if cm.unit else "B \u2212 A", fontsize=8)
        bottom.tick_params(labelsize=8)
        bottom.grid(alpha=0.3)
        _year_ticks(bottom, years)
        if i >= len(measures) - ncols:
            bottom.set_xlabel("years", fontsize=8)
    for i in range(len(measures), nblocks * ncols):
        block, col = divmod(i, ncols)
        axes[2 * block, col].remove()
        axes[2 * block + 1, col].remove()
    handles = [Line2D([], [], color=ARM_COLOURS[0], lw=1.8, label=f"A: {names[0]}"),
               Line2D([], [], color=ARM_COLOURS[1], lw=1.8, label=f"B: {names[1]}"),
               Patch(color=GREY, alpha=0.3, label="95% interval of the mean"),
               Line2D([], [], color=DIFF_COLOUR, lw=1.8, label="difference B \u2212 A")]
    _header(fig, f"{names[0]} (A) vs {names[1]} (B): means of {reps} paired replicates", handles)
    return fig


# ------------------------------------------------------------ distributions


def default_years(last_year, count=3):
    """Evenly spaced whole years from 0 to ``last_year`` (at most ``count``)."""
    if last_year <= 0:
        return [0]
    return sorted({int(round(v)) for v in np.linspace(0, last_year, count)})


def plot_attainment_distribution(run, years=None, bins=20):
    """Distribution over schools of the mean attainment of disadvantaged and of
    other pupils, one panel per year, pooled over replicates: two step
    histograms per panel and two dashed lines at the mean over schools."""
    reps = [r for r in run.replicates if r.attainment_year is not None and len(r.attainment_year)]
    if not reps:
        raise ValueError(f"{run.path}: no attainment recorded")
    recorded = np.asarray(reps[0].attainment_year)
    if years is None:
        years = default_years(int(recorded[-1]))
    years = [y for y in years if recorded[0] <= y <= recorded[-1]] or [int(recorded[-1])]
    pooled = {}
    for y in years:
        dis = np.concatenate([r.attainment_at(y)[0] for r in reps])
        adv = np.concatenate([r.attainment_at(y)[1] for r in reps])
        pooled[y] = {"dis": dis[np.isfinite(dis)], "adv": adv[np.isfinite(adv)]}
    allv = np.concatenate([v for p in pooled.values() for v in p.values()] + [np.zeros(0)])
    lo, hi = (float(allv.min()), float(allv.max())) if allv.size else (-1.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    fig = Figure(figsize=(3.8 * len(years) + 0.4, 3.4), layout="constrained")
    axes = fig.subplots(1, len(years), squeeze=False, sharey=True)[0]
    unit = run.units.get("attainment_dis", "pupil SD")
    for ax, y in zip(axes, years):
        for g in ("adv", "dis"):
            v = pooled[y][g]
            ax.hist(v, bins=edges, histtype="stepfilled", color=GROUP_COLOURS[g], alpha=0.3)
            ax.hist(v, bins=edges, histtype="step", color=GROUP_COLOURS[g], lw=1.4)
        for g in ("adv", "dis"):
            v = pooled[y][g]
            if v.size:
                ax.axvline(float(v.mean()), color=GROUP_COLOURS[g], ls="--", lw=1.4)
        gap = pooled[y]["adv"].mean() - pooled[y]["dis"].mean() if pooled[y]["dis"].size else math.nan
        ax.set_title(f"year {y}: gap between the two means {gap:.2f} {unit}", fontsize=10)
        ax.set_xlabel(f"school mean attainment ({unit})", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    n_rep = len(reps)
    axes[0].set_ylabel("schools" + (f" (all {n_rep} replicates)" if n_rep > 1 else ""), fontsize=8)
    handles = [Patch(facecolor=GROUP_COLOURS[g], alpha=0.5, edgecolor=GROUP_COLOURS[g], label=GROUP_LABELS[g])
               for g in ("dis", "adv")]
    handles.append(Line2D([], [], color="black", ls="--", lw=1.2, label="mean over schools"))
    _header(fig, f"{run.name}: attainment of pupil groups across schools", handles)
    return fig


# ----------------------------------------------------------------- network


def auto_window(x, y, max_schools=600):
    """A square window (x0, x1, y0, y1) around the median school holding about
    ``max_schools`` schools, or ``None`` when the whole map has no more than that."""
    n = len(x)
    if n <= max_schools:
        return None
    cx, cy = float(np.median(x)), float(np.median(y))
    dist = np.maximum(np.abs(x - cx), np.abs(y - cy))      # Chebyshev: square windows
    half = float(np.sort(dist)[max_schools - 1]) + 1e-9
    return cx - half, cx + half, cy - half, cy + half


def plot_network(run, years=None, replicate=0, window="auto", max_schools=600):
    """The collaboration network at chosen years, one panel per year: schools at
    their map position (x, y in km), coloured by capacity (shared colour scale,
    one colour bar), sized by pupils (or places when pupils were not recorded),
    and the ties alive at that year (reconstructed from the tie events) as lines
    coloured by kind. The figure has one axes per year plus the colour bar's.

    ``window`` (x0, x1, y0, y1) in km shows only part of the map; "auto" shows
    the whole map up to ``max_schools`` schools and otherwise a square window
    around the median school with about that many (ties leaving the window are
    drawn up to its edge); ``None`` always shows the whole map."""
    rep = run.replicates[replicate]
    if "x" not in rep.schools or "y" not in rep.schools:
        raise ValueError(f"{run.path}: replicate {replicate} has no school positions (schools/x, schools/y)")
    x, y = np.asarray(rep.schools["x"], float), np.asarray(rep.schools["y"], float)
    n = len(x)
    if isinstance(window, str):
        if window != "auto":
            raise ValueError(f"window must be 'auto', None or (x0, x1, y0, y1), not {window!r}")
        window = auto_window(x, y, max_schools)
    if window is not None:
        x0, x1, y0, y1 = (float(v) for v in window)
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    else:
        inside = np.ones(n, bool)
        if n:
            pad = 0.04 * max(np.ptp(x), np.ptp(y), 1e-9)
            x0, x1, y0, y1 = x.min() - pad, x.max() + pad, y.min() - pad, y.max() + pad
        else:
            x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
    shown = np.nonzero(inside)[0]
    if years is None:
        years = default_years(run.years)
    years = [yr for yr in years if 0 <= yr <= run.years] or [run.years]
    terms = [yr * read.TERMS_PER_YEAR for yr in years]
    caps = [rep.series_at("capacity", t) for t in terms]
    sizes_src = []
    for t in terms:
        p = rep.series_at("pupils", t)
        sizes_src.append(np.asarray(p if p is not None else rep.schools.get("places", np.ones(n)), float))
    smax_all = max(float(np.max(s[shown])) if len(shown) else 1.0 for s in sizes_src)
    smax = float(np.clip(6000.0 / max(len(shown), 1), 8.0, 90.0))
    have_cap = [np.asarray(c, float)[shown] for c in caps if c is not None]
    norm = None
    if have_cap and len(shown):
        cvals = np.concatenate(have_cap)
        norm = Normalize(vmin=float(np.nanmin(cvals)), vmax=float(np.nanmax(cvals)))
        if norm.vmax <= norm.vmin:
            norm = Normalize(vmin=norm.vmin - 0.05, vmax=norm.vmax + 0.05)
    # Panels side by side, or stacked when the map is much wider than tall.
    ratio = (y1 - y0) / (x1 - x0) if x1 > x0 and y1 > y0 else 1.0
    ratio = min(max(ratio, 0.25), 1.6)
    stacked = ratio < 0.6 and len(years) > 1
    if stacked:
        width = 9.0
        fig = Figure(figsize=(width + 1.2, len(years) * (width * ratio + 0.7) + 0.9), layout="constrained")
        axes = fig.subplots(len(years), 1, squeeze=False, sharex=True, sharey=True)[:, 0]
    else:
        width = 4.3
        fig = Figure(figsize=(width * len(years) + 1.2, width * ratio + 1.35), layout="constrained")
        axes = fig.subplots(1, len(years), squeeze=False, sharex=True, sharey=True)[0]
    kinds_seen = set()
    sc = None
    for ax, yr, t, cap, sz in zip(axes, years, terms, caps, sizes_src):
        net = read.network_at(rep.ties, t)
        deg = read.degrees(net, n)
        if window is not None:
            net = net[inside[net["school_a"]] | inside[net["school_b"]]]
        if len(net):
            net = net[np.argsort(net["kind"] != 0, kind="stable")]  # voluntary ties underneath
            segs = np.stack([np.column_stack([x[net["school_a"]], y[net["school_a"]]]),
                             np.column_stack([x[net["school_b"]], y[net["school_b"]]])], axis=1)
            colours = [KIND_COLOURS.get(int(k), GREY) for k in net["kind"]]
            kinds_seen.update(int(k) for k in net["kind"])
            lw = 0.8 if len(net) < 300 else (0.45 if len(net) < 2000 else 0.3)
            ax.add_collection(LineCollection(segs, colors=colours, linewidths=lw, alpha=0.6, zorder=1))
        s = 3.0 + smax * sz[shown] / smax_all if smax_all > 0 else np.full(len(shown), smax / 2)
        edge = 0.3 if len(shown) < 500 else 0.0
        if cap is not None:
            sc = ax.scatter(x[shown], y[shown], s=s, c=np.asarray(cap, float)[shown], cmap="viridis", norm=norm,
                            edgecolors="black", linewidths=edge, zorder=2)
        else:
            ax.scatter(x[shown], y[shown], s=s, color=GREY, edgecolors="black", linewidths=edge, zorder=2)
        isolates = int(np.sum(deg[shown] == 0))
        ties_word = "ties" if window is None else "ties of these schools"
        ax.set_title(f"year {yr}: {len(net)} {ties_word}, {isolates} isolated", fontsize=10)
        ax.set_aspect("equal", adjustable="box")
        if not stacked or ax is axes[-1]:
            ax.set_xlabel("x (km east)", fontsize=8)
        if stacked or ax is axes[0]:
            ax.set_ylabel("y (km north)", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[0].set_xlim(x0, x1)
    axes[0].set_ylim(y0, y1)
    if sc is not None:
        cb = fig.colorbar(sc, ax=list(axes), shrink=0.85, pad=0.01)
        cb.set_label(f"capacity {run.units.get('capacity', '[0,1]')}", fontsize=8)
        cb.ax.tick_params(labelsize=8)
    handles = [Line2D([], [], color=KIND_COLOURS.get(k, GREY), lw=1.5, label=f"{read.TIE_KINDS.get(k, k)} tie")
               for k in sorted(kinds_seen)]
    what = "pupils" if rep.series_at("pupils", terms[0]) is not None else "places"
    handles.append(Line2D([], [], ls="", marker="o", color=GREY, markersize=7, label=f"school (area ~ {what})"))
    rep_note = f", replicate {replicate}" if run.n_replicates > 1 else ""
    title = f"{run.name}: collaboration network{rep_note}"
    if window is not None:
        title += (f"; window {x1 - x0:.0f} km \u00d7 {y1 - y0:.0f} km with {len(shown)} of {n} schools")
    _header(fig, title, handles)
    return fig


def plot_tie_events(run, by="reason"):
    """Tie events per year by reason (or kind), mean over replicates: ties formed
    as bars above zero, ties dissolved below. One axes; categories that never
    occur are left out."""
    sums = {}
    years_all = None
    for rep in run.replicates:
        years, names, formed, dissolved = read.tie_event_counts(rep.ties, by=by)
        if years_all is None or len(years) > len(years_all):
            years_all = years
        for arr, key in ((formed, "formed"), (dissolved, "dissolved")):
            acc = sums.setdefault(key, np.zeros((0, len(names))))
            if len(acc) < len(arr):
                acc = np.vstack([acc, np.zeros((len(arr) - len(acc), len(names)))])
            acc[: len(arr)] += arr
            sums[key] = acc
    nyears = max(len(years_all), run.years + 1)
    years_all = np.arange(nyears)
    formed = np.zeros((nyears, len(names)))
    dissolved = np.zeros((nyears, len(names)))
    formed[: len(sums["formed"])] = sums["formed"] / run.n_replicates
    dissolved[: len(sums["dissolved"])] = sums["dissolved"] / run.n_replicates
    fig = Figure(figsize=(8.5, 3.8), layout="constrained")
    ax = fig.subplots()
    up = np.zeros(nyears)
    down = np.zeros(nyears)
    for j, name in enumerate(names):
        colour = REASON_COLOURS.get(name, GREY) if by == "reason" else KIND_COLOURS.get(j, GREY)
        if formed[:, j].any():
            ax.bar(years_all, formed[:, j], bottom=up, color=colour, edgecolor="white", lw=0.4,
                   label=f"formed: {name.replace('_', ' ')}")
            up += formed[:, j]
        if dissolved[:, j].any():
            ax.bar(years_all, -dissolved[:, j], bottom=-down, color=colour, edgecolor="black", lw=0.4,
                   hatch="//", label=f"dissolved: {name.replace('_', ' ')}")
            down += dissolved[:, j]
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("year (events during the year; 0 = ties present at the start)", fontsize=8)
    per = " per replicate (mean)" if run.n_replicates > 1 else ""
    ax.set_ylabel(f"ties{per}", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_xticks(years_all)
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_title(f"{run.name}: ties formed (above zero) and dissolved (below) by {by}", fontsize=11)
    return fig


# ------------------------------------------------------------------- sweeps


def plot_sensitivity(sweep, measures=None, ncols=2):
    """Sensitivity indices, one panel per measure (those with indices in the
    file). Morris: bars of mu* (mean absolute elementary effect) and sigma (their
    standard deviation) per variable, sorted by mu*. Sobol: bars of the first-order
    and total indices with their 95% intervals as error bars."""
    available = sweep.sensitivity
    if not available:
        raise ValueError(f"{sweep.path}: no sensitivity indices in the file")
    if measures is None:
        measures = [m for m in DEFAULT_MEASURES if m in available] or list(available)
    else:
        measures = _pick_measures(available, measures)
    nrows, ncols = _grid(len(measures), ncols)
    d = max(len(available[m].names) for m in measures)
    fig = Figure(figsize=(5.2 * ncols, (0.32 * d + 1.4) * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    methods = set()
    clipped = False
    for i, m in enumerate(measures):
        ax = axes.flat[i]
        s = available[m]
        methods.add(s.method)
        names = list(s.names)
        pos = np.arange(len(names))
        h = 0.38
        unit = sweep.units.get(m, "")
        if s.method == "morris":
            mu, sd = s.values["mu_star"], s.values.get("sigma", np.full(len(names), np.nan))
            order = np.argsort(np.nan_to_num(mu, nan=-np.inf))
            ax.barh(pos + h / 2, mu[order], height=h, color=BLUE)
            ax.barh(pos - h / 2, sd[order], height=h, color=ORANGE)
            ax.set_xlabel(f"elementary effect ({unit})" if unit else "elementary effect", fontsize=8)
        elif s.method == "sobol":
            v = s.values
            order = np.argsort(np.nan_to_num(v.get("total", v.get("first")), nan=-np.inf))
            shown = []
            for key, off, colour in (("first", h / 2, BLUE), ("total", -h / 2, ORANGE)):
                if key not in v:
                    continue
                val = v[key][order]
                shown.append(val)
                err = None
                if f"{key}_lo" in v and f"{key}_hi" in v:
                    lo, hi = v[f"{key}_lo"][order], v[f"{key}_hi"][order]
                    err = np.vstack([np.clip(val - lo, 0, None), np.clip(hi - val, 0, None)])
                    shown_lo, shown_hi = np.nanmin(lo, initial=0.0), np.nanmax(hi, initial=0.0)
                    clipped |= bool(shown_lo < -0.25 or shown_hi > 1.25)
                ax.barh(pos + off, val, height=h, color=colour, xerr=err,
                        error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": "black"})
            # Indices are shares: keep the axis near [0, 1] so that a wild interval
            # from a small design does not squash the bars.
            est = np.concatenate(shown) if shown else np.zeros(1)
            est = est[np.isfinite(est)] if np.isfinite(est).any() else np.zeros(1)
            ax.set_xlim(min(-0.05, float(est.min()) - 0.05), max(1.05, float(est.max()) + 0.05))
            ax.set_xlabel("share of the variance of the measure", fontsize=8)
            ax.axvline(0, color="black", lw=0.6)
        else:
            order = np.arange(len(names))
        ax.set_yticks(pos)
        ax.set_yticklabels([names[j] for j in order], fontsize=8)
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(title_of(m), fontsize=10)
    for ax in axes.flat[len(measures):]:
        ax.remove()
    label = {"morris": "Morris screening", "sobol": "Sobol indices"}
    handles = []
    if "morris" in methods:
        handles += [Patch(color=BLUE, label="mu*: how much the parameter matters"),
                    Patch(color=ORANGE, label="sigma: interactions or non-linearity")]
    if "sobol" in methods:
        handles += [Patch(color=BLUE, label="first-order index"), Patch(color=ORANGE, label="total index"),
                    Line2D([], [], color="black", lw=0.9, marker="|", label="95% interval"
                           + (" (cut at the axis)" if clipped else ""))]
    _header(fig, "Sensitivity: " + ", ".join(label.get(mm, mm) for mm in sorted(methods)), handles,
            ncols=min(len(handles), 3))
    return fig


def plot_sweep_scatter(sweep, measure, ncols=4):
    """Final value of one measure against each design variable, one panel per
    variable: one point per completed run (mean over its replicates)."""
    if measure not in sweep.runs:
        raise KeyError(f"no such measure in the sweep: {measure}")
    v = sweep.runs[measure][sweep.done]
    mean = np.nanmean(v, axis=1) if v.size else np.zeros(0)
    vals = sweep.values[sweep.done]
    d = len(sweep.names)
    nrows, ncols = _grid(d, ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.8 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    unit = sweep.units.get(measure, "")
    for j, name in enumerate(sweep.names):
        ax = axes.flat[j]
        ax.scatter(vals[:, j], mean, s=14, color=BLUE, alpha=0.7, edgecolors="none")
        ax.set_xlabel(name, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if j % ncols == 0:
            ax.set_ylabel(unit, fontsize=8)
    for ax in axes.flat[d:]:
        ax.remove()
    _header(fig, f"{title_of(measure)} at the end of each run, against each parameter")
    return fig
