"""A self-contained HTML report of a schoolsim file (plots embedded as base64 PNGs)."""

from __future__ import annotations

import base64
import html
import io
import math
import os

import numpy as np

from . import plots, read

DPI = 100

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f3f3f3; }
td.reading { font-weight: 600; }
td:nth-child(2) { white-space: nowrap; }
figure { margin: 1em 0 2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .howto { background: #f7f7f2; border-left: 4px solid #c9c27a; padding: 0.5em 0.8em; margin-top: 0.4em; }
.note { color: #555; font-size: 0.9em; }
nav ul { columns: 2; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


# ------------------------------------------------------------------- helpers


def figure_to_base64(fig, dpi=DPI):
    """PNG bytes of a figure, base64-encoded (ASCII str)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def fmt(v, count=False):
    """A number for a table: counts (the measures a file marks with its ``count``
    attribute) as whole numbers (one decimal for a mean that is not whole), other
    values with three decimals (two significant digits when smaller than 0.001)."""
    if v is None:
        return "&ndash;"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return html.escape(str(v))
    if math.isnan(v):
        return "&ndash;"
    if math.isinf(v):
        return "&infin;" if v > 0 else "&minus;&infin;"
    a = abs(v)
    if count:
        if a >= 100 or float(v).is_integer():
            return f"{v:,.0f}"
        return f"{v:.1f}"
    if a >= 10000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:,.1f}"
    if a == 0 or a >= 0.001:
        return f"{v:.3f}"
    return f"{v:.2g}"


def _e(s):
    return html.escape(str(s))


def _table(head, rows, num_cols=(), row_classes=None):
    """HTML table; ``rows`` hold already-escaped cell HTML."""
    out = ["<table>", "<thead><tr>"]
    for i, h in enumerate(head):
        out.append(f'<th class="num">{h}</th>' if i in num_cols else f"<th>{h}</th>")
    out.append("</tr></thead><tbody>")
    for k, r in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        out.append(f"<tr{cls}>" + "".join(
            f'<td class="num">{c}</td>' if i in num_cols else
            (f'<td class="reading">{c}</td>' if head[i] == "reading" else f"<td>{c}</td>")
            for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


class _Doc:
    def __init__(self, title, subtitle):
        self.title = title
        self.subtitle = subtitle
        self.sections = []   # (id, heading, html)

    def section(self, sid, heading, body):
        self.sections.append((sid, heading, body))

    def html(self):
        nav = "".join(f'<li><a href="#{sid}">{_e(h)}</a></li>' for sid, h, _ in self.sections)
        body = "\n".join(f'<section id="{sid}">\n<h2>{_e(h)}</h2>\n{b}\n</section>' for sid, h, b in self.sections)
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(self.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<h1>{_e(self.title)}</h1>\n<p class=\"sub\">{self.subtitle}</p>\n"
            f"<nav><ul>{nav}</ul></nav>\n{body}\n</body>\n</html>\n")


def _figure(fig, alt, howto):
    return (f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{figure_to_base64(fig)}">'
            f"<figcaption><strong>How to read this.</strong> {howto}</figcaption></figure>")


def _meta_table(pairs):
    return _table(["", ""], [[_e(k), _e(v)] for k, v in pairs if v not in (None, "")])


def _plot_or_note(make, alt, howto):
    """A figure, or a note saying why it could not be drawn."""
    try:
        fig = make()
    except (ValueError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        return f'<p class="note">Not drawn: {_e(msg)}</p>'
    return _figure(fig, alt, howto)


def _subtitle(data, extra):
    m = data.meta
    bits = [f"file <code>{_e(os.path.basename(data.path))}</code>"]
    if m.get("program_version"):
        bits.append(f"schoolsim {_e(m['program_version'])}")
    if "seed" in m:
        bits.append(f"seed {_e(m['seed'])}")
    bits += extra
    return " &middot; ".join(bits)


# ---------------------------------------------------------------------- runs

HOWTO_RUN_TIME = (
    "Each panel is one system measure over the simulated years (3 terms a year). The line is the mean "
    "over replicates; the shaded band is the 95% confidence interval of that mean (Student t over "
    "replicates), so it narrows as replicates are added and is absent with a single replicate. The unit "
    "is on the vertical axis. Look at the direction and size of change against the width of the band: "
    "a change smaller than the band may be chance.")

HOWTO_ATTAINMENT = (
    "For each chosen year, the distribution over schools of the mean result of disadvantaged pupils "
    "(vermilion) and of other pupils (blue), in pupil standard deviations, pooled over all replicates. "
    "Dashed lines mark each group's mean over schools (not weighted by pupils, so it differs from the "
    "system's attainment gap). Curves moving apart mean a widening gap; a wider curve means results "
    "more polarised between schools.")

HOWTO_NETWORK = (
    "Each panel is the map of schools (x and y in km) at the start of the chosen year, in one replicate. "
    "A dot's colour is the school's professional capacity (colour bar; one scale for all panels) and its "
    "area is proportional to its pupils. Lines are the collaboration ties in place, reconstructed from "
    "the file's tie events, coloured by kind. In a large world only a square window of the map is shown "
    "(its size and school count are in the title), with every tie of its schools drawn up to the window's "
    "edge. The panel titles count ties and isolated schools. Look for "
    "who is left out (isolated schools, often low capacity) and whether ties stay within areas (bonding) "
    "or cross them (bridging).")

HOWTO_TIES = (
    "Ties formed in each year (bars above zero) and ties ended (hatched bars below zero), by the reason "
    "recorded in the file, averaged over replicates. Year 0 holds ties present when the world was "
    "generated. A rising bar of dissolutions for one reason (for example funding ended, trust lost, "
    "withdrawal) tells why the network shrinks.")


def _parse_years(years, last):
    if years is None:
        return plots.default_years(last), []
    keep = [y for y in years if 0 <= y <= last]
    dropped = [y for y in years if not 0 <= y <= last]
    return (keep or [last]), dropped


def run_report(run, years=None, measures=None, replicate=0):
    """HTML text of the report of a run."""
    reps = run.n_replicates
    last = run.years
    years, dropped = _parse_years(years, last)
    r0 = run.replicates[0]
    subtitle = _subtitle(run, [f"{reps} replicate{'s' if reps != 1 else ''}", f"{last} years",
                               f"{r0.n_schools} schools in {r0.n_areas} areas"])
    doc = _Doc(f"schoolsim run: {run.name}", subtitle)

    # Summary table: start and end of each measure.
    if run.system and len(run.term):
        head = ["measure", "unit", "start", "end", "change"]
        if reps > 1:
            head += ["end: 95% interval"]
        head += ["meaning"]
        rows = []
        for m in plots.ordered(run.system):
            v = run.system[m]
            unit, count = run.units.get(m, ""), m in run.counts
            start = float(np.nanmean(v[:, 0]))
            mean_end, lo, hi = read.mean_ci(v[:, -1:], axis=0)
            end = float(mean_end[0])
            row = [f'<span title="{_e(run.meanings.get(m, ""))}">{_e(m)}</span>', _e(unit),
                   fmt(start, count), fmt(end, count), fmt(end - start, count)]
            if reps > 1:
                row.append(f"{fmt(lo[0], count)} to {fmt(hi[0], count)}")
            row.append(f'<span class="note">{_e(run.meanings.get(m, ""))}</span>')
            rows.append(row)
        intro = (f"<p>Each system measure at the start (term 0) and at the end (term {int(run.term[-1])}, "
                 f"year {run.term[-1] / read.TERMS_PER_YEAR:g}), as the mean over {reps} replicate"
                 f"{'s' if reps != 1 else ''}.</p>")
        doc.section("summary", "System measures at start and end",
                    intro + _table(head, rows, num_cols=range(2, len(head) - 1)))
        doc.section("over-time", "System measures over time", _plot_or_note(
            lambda: plots.plot_run_measures(run, measures), "system measures over time", HOWTO_RUN_TIME))
    else:
        doc.section("summary", "System measures", '<p class="note">The file has no system measures.</p>')

    note = ""
    if dropped:
        note = (f'<p class="note">Years outside the run (0 to {last}) were left out: '
                f"{', '.join(str(y) for y in dropped)}.</p>")
    doc.section("attainment", "Attainment of pupil groups across schools", note + _plot_or_note(
        lambda: plots.plot_attainment_distribution(run, years), "attainment distributions", HOWTO_ATTAINMENT))
    doc.section("network", "Collaboration network", note + _plot_or_note(
        lambda: plots.plot_network(run, years, replicate=replicate), "collaboration network", HOWTO_NETWORK))
    n_events = sum(len(r.ties) for r in run.replicates)
    if n_events:
        doc.section("tie-events", "Ties formed and dissolved", _plot_or_note(
            lambda: plots.plot_tie_events(run), "tie events per year", HOWTO_TIES))
    else:
        doc.section("tie-events", "Ties formed and dissolved",
                    '<p class="note">No tie events were recorded in this run.</p>')
    doc.section("scenario", "Scenario", _meta_table([
        ("scenario", run.name), ("replicates", reps), ("years", last), ("seed", run.meta.get("seed")),
        ("schools", r0.n_schools), ("areas", r0.n_areas), ("program version", run.meta.get("program_version")),
        ("schema version", run.meta.get("schema_version"))]) + _yaml_block("resolved scenario", run.scenario))
    return doc.html()


def _yaml_block(label, text):
    if not text:
        return ""
    return f"<details><summary>{_e(label)} (YAML)</summary><pre>{_e(text)}</pre></details>"


# ------------------------------------------------------------------ compare

HOWTO_COMPARE = (
    "One column per system measure. Top panel: the mean of arm A (blue) and arm B (orange) over paired "
    "replicates, each with the 95% confidence interval of its mean (shaded). Both arms start from the "
    "same generated world with the same random numbers, so they differ only by what the scenarios "
    "change. Bottom panel: the mean difference B &minus; A (green) with its 95% interval; where the band "
    "does not cross the dashed zero line, the difference is larger than replicate noise.")


def _standardiser(cm):
    """What a compared measure's effect size is divided by, in a few words."""
    text = cm.effect_standardiser
    if not text:
        return "paired d_z (older file)"
    if text.startswith("pupil SD"):
        return "none: in pupil SD"
    return text


def compare_report(cmp, measures=None):
    """HTML text of the report of a comparison."""
    reps = cmp.n_replicates
    subtitle = _subtitle(cmp, [f"A = <strong>{_e(cmp.name_a)}</strong>", f"B = <strong>{_e(cmp.name_b)}</strong>",
                               f"{reps} paired replicates",
                               f"{cmp.term[-1] / read.TERMS_PER_YEAR:g} years" if len(cmp.term) else ""])
    doc = _Doc(f"schoolsim comparison: {cmp.name_a} (A) vs {cmp.name_b} (B)", subtitle)
    head = ["measure", "unit", "start (A)", "end: A", "end: B", "B &minus; A", "95% interval",
            "effect size", "standardised by", "reading"]
    rows, classes = [], []
    for m in plots.ordered(cmp.measures):
        cm = cmp.measures[m]
        a_end = float(np.nanmean(cm.a[:, -1]))
        b_end = float(np.nanmean(cm.b[:, -1]))
        lo, hi = float(cm.diff_lo[-1]), float(cm.diff_hi[-1])
        if lo > 0:
            reading, cls = "B higher", "up"
        elif hi < 0:
            reading, cls = "B lower", "down"
        elif math.isnan(lo) or math.isnan(hi):
            reading, cls = "no interval", ""
        elif cm.diff_mean[-1] == 0 and lo == 0 and hi == 0:
            reading, cls = "same", ""
        else:
            reading, cls = "no clear difference", ""
        rows.append([f'<span title="{_e(cm.meaning)}">{_e(m)}</span>', _e(cm.unit),
                     fmt(np.nanmean(cm.a[:, 0]), cm.count), fmt(a_end, cm.count), fmt(b_end, cm.count),
                     fmt(cm.diff_mean[-1], cm.count), f"{fmt(lo, cm.count)} to {fmt(hi, cm.count)}",
                     fmt(cm.effect_size), _e(_standardiser(cm)), reading])
        classes.append(cls)
    uncertainty = str(cmp.meta.get("uncertainty") or "replicate noise only")
    intro = ("<p>Each system measure at the end of the run in both arms (means over paired replicates), the "
             f"mean difference B &minus; A with its 95% interval (it includes {_e(uncertainty)}), and the effect size "
             "with what it is standardised by. Measures in pupil SD are shown as they are: the difference is "
             "already an effect size, to read against 0.2, 0.5 and 0.8. Means over schools are divided by the "
             "standard deviation between schools (arm A at the end), a <em>d</em> on the same scale. Other "
             "measures are divided by their standard deviation between replicates of arm A, how much whole "
             "systems differ: not Cohen&rsquo;s scale, and large values are common. &ldquo;B higher&rdquo; or "
             "&ldquo;B lower&rdquo; means the interval excludes zero; whether higher is better depends on the "
             "measure (a smaller attainment gap is better).</p>")
    if any(not cm.effect_standardiser for cm in cmp.measures.values()):
        intro += ('<p class="note">This file comes from a schoolsim that reported the paired <em>d_z</em> '
                  "(mean difference over the standard deviation of the differences). With common random "
                  "numbers the differences hardly vary, so <em>d_z</em> is very large and does not read "
                  "against 0.2, 0.5 and 0.8; run the comparison again for effect sizes on a stated scale.</p>")
    doc.section("differences", "Differences at the end", intro + _table(head, rows, num_cols=range(2, 8),
                                                                         row_classes=classes))
    doc.section("over-time", "The two regimes over time", _plot_or_note(
        lambda: plots.plot_comparison(cmp, measures), "comparison over time", HOWTO_COMPARE))
    doc.section("scenarios", "Scenarios", _meta_table([
        ("arm A", cmp.name_a), ("arm B", cmp.name_b), ("paired replicates", reps),
        ("seed (both arms)", cmp.meta.get("seed")), ("program version", cmp.meta.get("program_version")),
        ("schema version", cmp.meta.get("schema_version"))])
        + _yaml_block(f"arm A: {cmp.name_a}", cmp.scenario_a) + _yaml_block(f"arm B: {cmp.name_b}", cmp.scenario_b))
    return doc.html()


# -------------------------------------------------------------------- sweep

HOWTO_MORRIS = (
    "Morris screening: for each parameter, mu* (blue) is the mean absolute change of the measure when "
    "that parameter alone moves one step, in the measure's unit: the longer the bar, the more the "
    "parameter matters. sigma (orange) is the spread of those changes: a sigma as large as mu* means the "
    "effect depends on the other parameters (interactions) or is non-linear. Parameters are sorted by mu*.")
HOWTO_SOBOL = (
    "Sobol indices: the first-order index (blue) is the share of the measure's variance explained by the "
    "parameter alone, the total index (orange) the share it is involved in including interactions; "
    "error bars are 95% intervals. A total index far above the first-order one points to interactions; "
    "parameters with a total index near zero can be fixed without loss.")
HOWTO_SCATTER = (
    "Each point is one completed run of the design (mean over its replicates): the value of the measure "
    "at the end against the value of one parameter, one panel per parameter. A clear trend in a panel "
    "means that parameter drives the measure; a cloud with no shape means it matters little or only "
    "together with others.")


def sweep_report(sweep, measures=None):
    """HTML text of the report of a sweep."""
    n_done = int(np.sum(sweep.done))
    subtitle = _subtitle(sweep, [f"{_e(sweep.method or 'unknown')} design",
                                 f"{sweep.n_runs} runs ({n_done} done)",
                                 f"{len(sweep.names)} parameters", f"{sweep.n_replicates} replicates per run"])
    name = sweep.meta.get("scenario_name")
    design_words = f"{sweep.method or 'a'} design over {len(sweep.names)} parameters"
    doc = _Doc(f"schoolsim sweep: {name} ({design_words})" if name else f"schoolsim sweep: {design_words}",
               subtitle)
    rows = []
    vals = sweep.values
    has_range = sweep.lo is not None and sweep.hi is not None
    for j, pname in enumerate(sweep.names):
        col = vals[:, j]
        row = [_e(pname)]
        if has_range:
            row.append(f"{fmt(sweep.lo[j])} to {fmt(sweep.hi[j])}")
        row += [fmt(np.nanmin(col) if col.size else np.nan), fmt(np.nanmax(col) if col.size else np.nan),
                str(len(np.unique(col)))]
        rows.append(row)
    design = _table(["method", "runs", "runs done", "parameters", "replicates per run"],
                    [[_e(sweep.method), str(sweep.n_runs), str(n_done), str(len(sweep.names)),
                      str(sweep.n_replicates)]], num_cols=range(1, 5))
    phead = ["parameter"] + (["range"] if has_range else []) + ["lowest run", "highest run", "distinct values"]
    design += _table(phead, rows, num_cols=range(1, len(phead)))
    uncertainty = str(sweep.meta.get("uncertainty") or "replicate noise only")
    design += f"<p>Replicates of a run differ by: {_e(uncertainty)}.</p>"
    doc.section("design", "Design", design)

    mrows = []
    for m in plots.ordered(sweep.runs):
        v = sweep.runs[m]
        run_means = np.nanmean(v[sweep.done], axis=1) if v[sweep.done].size else np.zeros(0)
        unit, count = sweep.units.get(m, ""), m in sweep.counts
        if run_means.size and np.isfinite(run_means).any():
            mrows.append([f'<span title="{_e(sweep.meanings.get(m, ""))}">{_e(m)}</span>', _e(unit),
                          fmt(np.nanmin(run_means), count), fmt(np.nanmean(run_means), count),
                          fmt(np.nanmax(run_means), count)])
        else:
            mrows.append([_e(m), _e(unit), "&ndash;", "&ndash;", "&ndash;"])
    doc.section("measures", "Final system measures across runs",
                "<p>Over completed runs, each run taken as the mean of its replicates.</p>"
                + _table(["measure", "unit", "lowest run", "mean of runs", "highest run"], mrows,
                         num_cols=(2, 3, 4)))

    if sweep.sensitivity:
        body = []
        for m in plots.ordered(sweep.sensitivity):
            s = sweep.sensitivity[m]
            v = s.values
            if s.method == "morris":
                head = ["parameter", "mu*", "sigma"]
                keys = ["mu_star", "sigma"]
            elif s.method == "sobol":
                head = ["parameter", "first order", "95% interval", "total", "95% interval"]
                keys = None
            else:
                head = ["parameter"] + sorted(v)
                keys = sorted(v)
            order = np.arange(len(s.names))
            main = v.get("mu_star", v.get("total", v.get("first")))
            if main is not None:
                order = np.argsort(-np.nan_to_num(main, nan=-np.inf))
            trows = []
            for j in order:
                if keys is None:
                    trows.append([_e(s.names[j]), fmt(v["first"][j]) if "first" in v else "&ndash;",
                                  _interval(v, "first", j), fmt(v["total"][j]) if "total" in v else "&ndash;",
                                  _interval(v, "total", j)])
                else:
                    trows.append([_e(s.names[j])] + [fmt(v[k][j]) if k in v else "&ndash;" for k in keys])
            body.append(f"<h3>{_e(plots.title_of(m))} <small>({_e(m)}, {s.method})</small></h3>"
                        + _table(head, trows, num_cols=range(1, len(head))))
        methods = {s.method for s in sweep.sensitivity.values()}
        wild = sorted(m for m, s in sweep.sensitivity.items() if s.method == "sobol" and any(
            np.any((np.asarray(s.values[k]) < -0.1) | (np.asarray(s.values[k]) > 1.1))
            for k in ("first", "total") if k in s.values))
        warn = ""
        uncentred = sorted(m for m, s in sweep.sensitivity.items() if s.method == "sobol" and not s.estimator)
        if uncentred:
            warn += ('<p class="note">The first-order Sobol indices of this file (' + _e(", ".join(uncentred))
                     + ") come from a schoolsim whose estimator did not centre the output: for a measure "
                     "whose mean is large beside its spread they can lie far outside 0 to 1 whatever the "
                     "design size. The total indices are unaffected. Run the sweep again with this "
                     "version of schoolsim for first-order indices to rely on.</p>")
        wild = [m for m in wild if m not in uncentred]
        if wild:
            warn += ('<p class="note">Some Sobol estimates lie well outside 0 to 1 (' + _e(", ".join(wild))
                     + "). Indices are shares of variance, so this is estimation error: read each index "
                     "with its 95% interval. More base samples (<code>runs</code>) narrow the intervals; "
                     "replicate noise, variance no parameter explains, raises every total index and is "
                     "reduced by more replicates.</p>")
        howto = " ".join(h for k, h in (("morris", HOWTO_MORRIS), ("sobol", HOWTO_SOBOL)) if k in methods)
        doc.section("sensitivity", "Sensitivity indices", warn + _plot_or_note(
            lambda: plots.plot_sensitivity(sweep, measures), "sensitivity indices", howto or HOWTO_MORRIS)
            + "\n".join(body))
    else:
        doc.section("sensitivity", "Sensitivity indices",
                    '<p class="note">The file has no sensitivity indices (a factorial or Latin hypercube '
                    "design); see the scatter plots below.</p>")
    chosen = [m for m in (measures or plots.DEFAULT_MEASURES) if m in sweep.runs][:2] or list(sweep.runs)[:1]
    scatter = "".join(_plot_or_note(lambda m=m: plots.plot_sweep_scatter(sweep, m), f"{m} against parameters",
                                    HOWTO_SCATTER) for m in chosen)
    doc.section("scatter", "Final values against parameters", scatter or '<p class="note">No runs.</p>')
    if sweep.experiment or sweep.scenario:
        doc.section("inputs", "Experiment and scenario", _yaml_block("experiment", sweep.experiment)
                    + _yaml_block("swept scenario", sweep.scenario))
    return doc.html()


def _interval(v, key, j):
    if f"{key}_lo" in v and f"{key}_hi" in v:
        return f"{fmt(v[key + '_lo'][j])} to {fmt(v[key + '_hi'][j])}"
    return "&ndash;"


# --------------------------------------------------------------------- entry


def build_report(data, years=None, measures=None, replicate=0):
    """HTML text of the report of loaded data of any kind."""
    if data.kind == "run":
        return run_report(data, years=years, measures=measures, replicate=replicate)
    if data.kind == "compare":
        return compare_report(data, measures=measures)
    if data.kind == "sweep":
        return sweep_report(data, measures=measures)
    raise read.FormatError(f"unknown file kind {data.kind!r}")


class OutputError(Exception):
    """The report could not be written (message is one line)."""


class ReportError(ValueError):
    """A request the file cannot satisfy (message is one line)."""


def _check_request(data, measures, replicate):
    if measures:
        available = data.measures if data.kind == "compare" else (
            data.system if data.kind == "run" else data.runs)
        missing = [m for m in measures if m not in available]
        if missing:
            raise ReportError(f"{data.path}: no such measure: {', '.join(missing)} "
                              f"(available: {', '.join(available)})")
    if data.kind == "run" and not 0 <= replicate < data.n_replicates:
        raise ReportError(f"{data.path}: no replicate {replicate} (the file has {data.n_replicates})")


def write_report(path, output, years=None, measures=None, replicate=0):
    """Read ``path`` (any kind), write the HTML report to ``output``; returns ``output``.

    The report is written under a temporary name and renamed when complete."""
    data = read.load(path)
    _check_request(data, measures, replicate)
    text = build_report(data, years=years, measures=measures, replicate=replicate)
    tmp = f"{output}.tmp-{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except OSError as e:
        raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return output
