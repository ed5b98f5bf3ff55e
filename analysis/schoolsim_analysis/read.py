"""Reading schoolsim's HDF5 files into plain numpy data.

Three kinds of file are understood (the ``kind`` attribute of ``/meta``; a file
without one is a run, as written before the attribute existed):

* ``run``     -- ``schoolsim run``: replicates with system measures, per-school
  series, attainment, static school attributes and tie events (docs/OUTPUT.md);
* ``compare`` -- ``schoolsim compare``: two arms with paired replicates;
* ``sweep``   -- a design of parameter values with the final system measures of
  each run and optional sensitivity indices.

``load(path)`` returns a :class:`RunData`, :class:`CompareData` or
:class:`SweepData`; everything in them is numpy arrays, dicts, strings and
numbers, and the HDF5 file is closed when ``load`` returns.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import h5py
import numpy as np
import scipy.stats

TERMS_PER_YEAR = 3

#: Kinds of file this package reads.
KINDS = ("run", "compare", "sweep")

#: Value -> name of the enum members of the tie event type (docs/OUTPUT.md);
#: used when a file's compound type carries no enum information.
TIE_KINDS = {0: "voluntary", 1: "programme", 2: "federation", 3: "movement", 4: "trust"}
TIE_EVENTS = {0: "formed", 1: "dissolved"}
TIE_REASONS = {
    0: "initial", 1: "search", 2: "programme", 3: "federation", 4: "brokered",
    5: "benefit_below_cost", 6: "trust_lost", 7: "funding_ended", 8: "withdrawal", 9: "removed",
}
FORMED, DISSOLVED = 0, 1

#: dtype of the tie network returned by :func:`network_at`.
NETWORK_DTYPE = np.dtype([("tie", "<u8"), ("school_a", "<i4"), ("school_b", "<i4"),
                          ("kind", "u1"), ("formed", "<i4")])


class FormatError(ValueError):
    """The file is not a schoolsim file this package can read (message is one line)."""


# --------------------------------------------------------------------------- data


@dataclass
class Replicate:
    """One replicate of a run: everything under ``/replicates/<k>``."""

    index: int
    n_schools: int
    n_areas: int
    schools: dict = field(default_factory=dict)      # field -> [n]
    series_term: np.ndarray = None                   # int32 [rows]
    series: dict = field(default_factory=dict)       # field -> [rows, n] (or [rows, n, k])
    attainment_year: np.ndarray = None               # int32 [years]
    attainment: dict = field(default_factory=dict)   # "dis" / "adv" -> float [years, n]
    ties: np.ndarray = None                          # structured array of tie events

    def series_at(self, name, term):
        """The per-school series ``name`` at the last record row with term <= ``term``
        (``None`` when the field was not recorded or no row is that early)."""
        if name not in self.series or self.series_term is None or len(self.series_term) == 0:
            return None
        row = np.searchsorted(self.series_term, term, side="right") - 1
        if row < 0:
            return None
        return self.series[name][row]

    def attainment_at(self, year):
        """(disadvantaged, advantaged) school attainment at ``year`` (nearest earlier row)."""
        if self.attainment_year is None or len(self.attainment_year) == 0:
            return None, None
        row = np.searchsorted(self.attainment_year, year, side="right") - 1
        row = max(row, 0)
        return self.attainment["dis"][row], self.attainment["adv"][row]


@dataclass
class RunData:
    """A run file. ``system[m]`` is float64 [replicates, rows] over the axis ``term``."""

    path: str
    meta: dict
    scenario: str                 # resolved scenario YAML
    replicates: list              # list of Replicate
    term: np.ndarray              # int32 [rows]: system record points (terms completed)
    system: dict                  # measure -> float64 [replicates, rows]
    units: dict                   # measure or field -> unit
    meanings: dict                # measure or field -> meaning
    kind: str = "run"
    counts: set = field(default_factory=set)  # the measures the file marks as counts (their `count` attribute)

    @property
    def name(self):
        return str(self.meta.get("scenario_name", os.path.basename(self.path)))

    @property
    def n_replicates(self):
        return len(self.replicates)

    @property
    def years(self):
        if "years" in self.meta:
            return int(self.meta["years"])
        return int(self.term[-1]) // TERMS_PER_YEAR if len(self.term) else 0

    @property
    def year_axis(self):
        """The system term axis in years."""
        return self.term / TERMS_PER_YEAR

    def network_at(self, term, replicate=0):
        """The ties alive after ``term`` terms in one replicate (see :func:`network_at`)."""
        return network_at(self.replicates[replicate].ties, term)


@dataclass
class ComparedMeasure:
    """One system measure in a comparison file (``/compare/<m>``)."""

    name: str
    a: np.ndarray          # float64 [replicates, rows], arm A
    b: np.ndarray          # float64 [replicates, rows], arm B
    diff_mean: np.ndarray  # float64 [rows]: mean of b - a over replicates
    diff_lo: np.ndarray    # float64 [rows]: lower end of its 95% interval
    diff_hi: np.ndarray    # float64 [rows]: upper end
    unit: str
    meaning: str
    effect_size: float     # effect size at the last row: diff_mean[-1] / effect_scale
    effect_scale: float = math.nan   # what the difference is divided by (1 in pupil SD)
    # How the scale is defined (OUTPUT.md); "" in files from before schoolsim said,
    # whose effect_size is the paired d_z
    effect_standardiser: str = ""
    count: bool = False    # a count (the group's `count` attribute): tables show whole numbers


@dataclass
class CompareData:
    """A comparison file: two arms (A, B) on the term axis ``term``."""

    path: str
    meta: dict
    scenario_a: str
    scenario_b: str
    term: np.ndarray
    measures: dict          # name -> ComparedMeasure
    kind: str = "compare"

    @property
    def name_a(self):
        return str(self.meta.get("scenario_a_name", "A"))

    @property
    def name_b(self):
        return str(self.meta.get("scenario_b_name", "B"))

    @property
    def name(self):
        return f"{self.name_a} vs {self.name_b}"

    @property
    def n_replicates(self):
        for m in self.measures.values():
            return m.a.shape[0]
        return int(self.meta.get("replicates", 0))

    @property
    def year_axis(self):
        return self.term / TERMS_PER_YEAR

    @property
    def units(self):
        return {k: m.unit for k, m in self.measures.items()}

    @property
    def meanings(self):
        return {k: m.meaning for k, m in self.measures.items()}


@dataclass
class Sensitivity:
    """Sensitivity indices of one measure over the design variables ``names``.

    ``method`` is "morris" (``mu_star``, ``sigma``) or "sobol" (``first``,
    ``total`` and their 95% intervals ``*_lo``, ``*_hi``)."""

    measure: str
    names: list
    method: str
    values: dict           # index name -> float64 [d]
    estimator: str = ""    # Sobol: the estimators named by the file ("" in files from before it did)


@dataclass
class SweepData:
    """A sweep file: ``values[run, j]`` is design variable ``names[j]`` in run ``run``;
    ``runs[m][run, replicate]`` the final value of system measure ``m``."""

    path: str
    meta: dict
    method: str
    names: list
    values: np.ndarray      # float64 [runs, d]
    done: np.ndarray        # bool [runs]
    runs: dict              # measure -> float64 [runs, replicates]
    units: dict
    meanings: dict
    sensitivity: dict       # measure -> Sensitivity
    lo: np.ndarray = None   # float64 [d]: lower end of each parameter's range (when the file has it)
    hi: np.ndarray = None   # float64 [d]: upper end
    scenario: str = ""      # the swept scenario (YAML), when the file has it
    experiment: str = ""    # the experiment file (YAML), when the file has it
    kind: str = "sweep"
    counts: set = field(default_factory=set)  # the measures the file marks as counts

    @property
    def name(self):
        return str(self.meta.get("scenario_name", f"{self.method} sweep"))

    @property
    def n_runs(self):
        return int(self.values.shape[0])

    @property
    def n_replicates(self):
        for v in self.runs.values():
            return int(v.shape[1]) if v.ndim == 2 else 1
        return int(self.meta.get("replicates", 0))


# ------------------------------------------------------------------------ helpers


def _plain(value):
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_plain(v) for v in value.tolist()]
        return value.tolist() if value.ndim else value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attrs(obj):
    return {k: _plain(v) for k, v in obj.attrs.items()}


def _text(ds):
    """A scalar string dataset as str."""
    v = ds[()]
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _strings(ds):
    """A 1-d string dataset as a list of str."""
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in ds[()].tolist()]


def _unit_meaning(ds, units, meanings, name, counts=None):
    if counts is not None and _plain(ds.attrs.get("count", 0)):
        counts.add(name)
    if name not in units and "unit" in ds.attrs:
        units[name] = _plain(ds.attrs["unit"])
    if name not in meanings and "meaning" in ds.attrs:
        meanings[name] = _plain(ds.attrs["meaning"])


def _need(group, name, path):
    if name not in group:
        raise FormatError(f"{path}: missing {group.name.rstrip('/')}/{name}; not a schoolsim file of this kind")
    return group[name]


def _open(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise FormatError(f"{path}: is a directory, not an HDF5 file")
    if not h5py.is_hdf5(path):
        raise FormatError(f"{path}: not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise FormatError(f"{path}: cannot open: {e}") from None


def _kind_of(f, path):
    if "meta" not in f:
        raise FormatError(f"{path}: no /meta group; not a schoolsim output file")
    kind = _plain(f["meta"].attrs.get("kind", "run"))
    return str(kind)


def file_kind(path):
    """The kind of a schoolsim file: "run", "compare", "sweep" (or whatever else it says)."""
    with _open(path) as f:
        return _kind_of(f, path)


def load(path, series=True):
    """Read any schoolsim file; dispatches on ``/meta`` attribute ``kind``.

    ``series=False`` skips the per-school series of a run (faster for big files).
    Raises FileNotFoundError for a missing file and FormatError for a file that is
    not a schoolsim file or is of an unknown kind."""
    with _open(path) as f:
        kind = _kind_of(f, path)
        if kind == "run":
            return _read_run(f, os.fspath(path), series)
        if kind == "compare":
            return _read_compare(f, os.fspath(path))
        if kind == "sweep":
            return _read_sweep(f, os.fspath(path))
        raise FormatError(f"{path}: unknown file kind {kind!r} (expected one of: {', '.join(KINDS)})")


def read_run(path, series=True):
    """Read a run file (kind "run" or no kind) into a :class:`RunData`."""
    with _open(path) as f:
        kind = _kind_of(f, path)
        if kind != "run":
            raise FormatError(f"{path}: a {kind!r} file, not a run")
        return _read_run(f, os.fspath(path), series)


def read_compare(path):
    """Read a comparison file into a :class:`CompareData`."""
    with _open(path) as f:
        kind = _kind_of(f, path)
        if kind != "compare":
            raise FormatError(f"{path}: a {kind!r} file, not a comparison")
        return _read_compare(f, os.fspath(path))


def read_sweep(path):
    """Read a sweep file into a :class:`SweepData`."""
    with _open(path) as f:
        kind = _kind_of(f, path)
        if kind != "sweep":
            raise FormatError(f"{path}: a {kind!r} file, not a sweep")
        return _read_sweep(f, os.fspath(path))


# ----------------------------------------------------------------------- run files


def _read_ties(ds):
    ties = ds[()]
    if ties.dtype.names is None or not {"term", "tie", "school_a", "school_b", "event"} <= set(ties.dtype.names):
        raise FormatError(f"{ds.file.filename}: {ds.name} is not a tie event table")
    # Drop the enum metadata: plain numeric structured array.
    plain = np.dtype([(n, ties.dtype[n].str) for n in ties.dtype.names])
    return ties.astype(plain)


def _read_run(f, path, series):
    meta = _attrs(f["meta"])
    meta.setdefault("kind", "run")
    scenario = _text(f["meta/scenario"]) if "meta/scenario" in f else ""
    reps_group = _need(f, "replicates", path)
    keys = sorted((k for k in reps_group.keys() if k.isdigit()), key=int)
    if not keys:
        raise FormatError(f"{path}: no replicates under /replicates")
    units, meanings, counts = {}, {}, set()
    replicates, system_rows, term = [], [], None
    for k in keys:
        g = reps_group[k]
        rep = Replicate(index=int(k), n_schools=int(_plain(g.attrs.get("n_schools", 0))),
                        n_areas=int(_plain(g.attrs.get("n_areas", 0))))
        if "schools" in g:
            for name, ds in g["schools"].items():
                rep.schools[name] = ds[()]
                _unit_meaning(ds, units, meanings, name)
        if "series" in g:
            rep.series_term = g["series/term"][()] if "term" in g["series"] else None
            if series:
                for name, ds in g["series"].items():
                    if name == "term":
                        continue
                    rep.series[name] = ds[()]
                    _unit_meaning(ds, units, meanings, name)
            else:
                for name, ds in g["series"].items():
                    if name != "term":
                        _unit_meaning(ds, units, meanings, name)
        if "attainment" in g:
            a = g["attainment"]
            rep.attainment_year = _need(a, "year", path)[()]
            rep.attainment = {"dis": _need(a, "attainment_dis", path)[()],
                              "adv": _need(a, "attainment_adv", path)[()]}
            _unit_meaning(a["attainment_dis"], units, meanings, "attainment_dis")
            _unit_meaning(a["attainment_adv"], units, meanings, "attainment_adv")
        rep.ties = _read_ties(g["ties"]) if "ties" in g else np.zeros(0, _read_ties_dtype())
        if not rep.n_schools:
            for v in rep.schools.values():
                rep.n_schools = len(v)
                break
        rows = {}
        if "system" in g:
            s = g["system"]
            t = _need(s, "term", path)[()]
            if term is None:
                term = t
            elif not np.array_equal(term, t):
                raise FormatError(f"{path}: replicate {k} has a different system term axis from replicate {keys[0]}")
            for name, ds in s.items():
                if name == "term":
                    continue
                rows[name] = ds[()].astype(np.float64)
                _unit_meaning(ds, units, meanings, name, counts)
        system_rows.append(rows)
        replicates.append(rep)
    if term is None:
        term = np.zeros(0, np.int32)
    names = [n for n in system_rows[0]] if system_rows else []
    system = {}
    for n in names:
        if all(n in r for r in system_rows):
            system[n] = np.vstack([r[n] for r in system_rows])
    return RunData(path=path, meta=meta, scenario=scenario, replicates=replicates, term=term,
                   system=system, units=units, meanings=meanings, counts=counts)


def _read_ties_dtype():
    return np.dtype([("term", "<i4"), ("tie", "<u8"), ("school_a", "<i4"), ("school_b", "<i4"),
                     ("kind", "u1"), ("event", "u1"), ("reason", "u1")])


def network_at(ties, term):
    """The tie network alive after ``term`` terms, reconstructed from tie events.

    A tie is alive when it was formed at a term <= ``term`` and not dissolved at a
    term <= ``term`` (events of a term happen before that term's record row, so
    ``len(network_at(ties, t))`` equals the system measure ``n_ties`` at term t).
    Returns a structured array (``NETWORK_DTYPE``: tie, school_a, school_b, kind,
    formed) sorted by tie id."""
    ties = np.asarray(ties)
    if ties.size == 0:
        return np.zeros(0, NETWORK_DTYPE)
    upto = ties[ties["term"] <= term]
    formed = upto[upto["event"] == FORMED]
    dissolved_ids = upto["tie"][upto["event"] == DISSOLVED]
    alive = formed[~np.isin(formed["tie"], dissolved_ids)]
    alive = alive[np.argsort(alive["tie"], kind="stable")]
    out = np.zeros(len(alive), NETWORK_DTYPE)
    out["tie"] = alive["tie"]
    out["school_a"] = alive["school_a"]
    out["school_b"] = alive["school_b"]
    out["kind"] = alive["kind"] if "kind" in alive.dtype.names else 0
    out["formed"] = alive["term"]
    return out


def degrees(network, n_schools):
    """Number of ties of each school in a network from :func:`network_at`."""
    deg = np.zeros(n_schools, np.int64)
    np.add.at(deg, network["school_a"], 1)
    np.add.at(deg, network["school_b"], 1)
    return deg


def tie_event_counts(ties, by="reason"):
    """Counts of tie events per year and ``by`` ("reason" or "kind").

    Returns (years [y], names [c], formed [y, c], dissolved [y, c]); year y holds
    the events of terms 3(y-1)+1 .. 3y, year 0 the events at term 0 (initial ties)."""
    ties = np.asarray(ties)
    table = TIE_REASONS if by == "reason" else TIE_KINDS
    codes = sorted(table)
    if ties.size == 0:
        return np.zeros(0, int), [table[c] for c in codes], np.zeros((0, len(codes)), int), np.zeros((0, len(codes)), int)
    year = (ties["term"] + TERMS_PER_YEAR - 1) // TERMS_PER_YEAR
    years = np.arange(0, int(year.max()) + 1)
    formed = np.zeros((len(years), len(codes)), int)
    dissolved = np.zeros_like(formed)
    col = {c: i for i, c in enumerate(codes)}
    for y, c, e in zip(year, ties[by], ties["event"]):
        if int(c) not in col:
            continue
        (formed if e == FORMED else dissolved)[y, col[int(c)]] += 1
    return years, [table[c] for c in codes], formed, dissolved


# ---------------------------------------------------------------- compare / sweep


def _read_compare(f, path):
    meta = _attrs(f["meta"])
    scenario_a = _text(f["meta/scenario_a"]) if "meta/scenario_a" in f else ""
    scenario_b = _text(f["meta/scenario_b"]) if "meta/scenario_b" in f else ""
    c = _need(f, "compare", path)
    term = _need(c, "term", path)[()]
    measures = {}
    for name, g in c.items():
        if name == "term" or not isinstance(g, h5py.Group):
            continue
        for member in ("a", "b", "diff_mean", "diff_lo", "diff_hi"):
            _need(g, member, path)
        a = np.atleast_2d(g["a"][()].astype(np.float64))
        b = np.atleast_2d(g["b"][()].astype(np.float64))
        if a.shape[1] != len(term) or b.shape != a.shape:
            raise FormatError(f"{path}: /compare/{name}: arms of shape {a.shape} and {b.shape} "
                              f"do not match {len(term)} rows")
        es = _plain(g.attrs.get("effect_size", math.nan))
        measures[name] = ComparedMeasure(
            name=name, a=a, b=b,
            diff_mean=g["diff_mean"][()].astype(np.float64),
            diff_lo=g["diff_lo"][()].astype(np.float64),
            diff_hi=g["diff_hi"][()].astype(np.float64),
            unit=str(_plain(g.attrs.get("unit", ""))), meaning=str(_plain(g.attrs.get("meaning", ""))),
            effect_size=float(es) if es is not None else math.nan,
            effect_scale=float(_plain(g.attrs.get("effect_scale", math.nan))),
            effect_standardiser=str(_plain(g.attrs.get("effect_standardiser", "")) or ""),
            count=bool(_plain(g.attrs.get("count", 0))))
    return CompareData(path=path, meta=meta, scenario_a=scenario_a, scenario_b=scenario_b,
                       term=term, measures=measures)


def _read_sweep(f, path):
    meta = _attrs(f["meta"])
    d = _need(f, "design", path)
    names = _strings(_need(d, "names", path))
    values = np.asarray(_need(d, "values", path)[()], dtype=np.float64)
    if values.ndim == 1:
        values = values.reshape(-1, max(len(names), 1))
    if values.shape[1] != len(names):
        raise FormatError(f"{path}: /design/values has {values.shape[1]} columns for {len(names)} names")
    method = str(_plain(d.attrs.get("method", "")))
    r = _need(f, "runs", path)
    done = r["done"][()].astype(bool) if "done" in r else np.ones(values.shape[0], bool)
    runs, units, meanings, counts = {}, {}, {}, set()
    for name, ds in r.items():
        if name == "done" or not isinstance(ds, h5py.Dataset) or ds.ndim not in (1, 2):
            continue
        if ds.shape[0] != values.shape[0] or ds.dtype.kind not in "fiu":
            continue
        v = ds[()].astype(np.float64)
        runs[name] = v.reshape(-1, 1) if v.ndim == 1 else v
        _unit_meaning(ds, units, meanings, name, counts)
    sensitivity = {}
    if "sensitivity" in f:
        for name, g in f["sensitivity"].items():
            if not isinstance(g, h5py.Group):
                continue
            snames = _strings(g["names"]) if "names" in g else list(names)
            vals = {k: g[k][()].astype(np.float64) for k in g.keys() if k != "names"}
            if "mu_star" in vals:
                smethod = "morris"
            elif "first" in vals or "total" in vals:
                smethod = "sobol"
            else:
                smethod = "unknown"
            sensitivity[name] = Sensitivity(measure=name, names=snames, method=smethod, values=vals,
                                            estimator=str(_plain(g.attrs.get("estimator", "")) or ""))
    bounds = {}
    for key in ("lo", "hi"):
        if key in d and d[key].shape == (len(names),):
            bounds[key] = d[key][()].astype(np.float64)
    return SweepData(path=path, meta=meta, method=method, names=names, values=values, done=done,
                     runs=runs, units=units, meanings=meanings, sensitivity=sensitivity, counts=counts,
                     lo=bounds.get("lo"), hi=bounds.get("hi"),
                     scenario=_text(f["meta/scenario"]) if "meta/scenario" in f else "",
                     experiment=_text(f["meta/experiment"]) if "meta/experiment" in f else "")


# -------------------------------------------------------------------- statistics

@functools.lru_cache(maxsize=None)
def t_factor(n):
    """Half-width factor of the two-sided 95% interval of a mean of ``n`` values: the 0.975
    quantile of Student's t with n - 1 degrees of freedom, from scipy (schoolsim compare
    computes the same with Boost); NaN for n < 2."""
    df = int(n) - 1
    if df < 1:
        return math.nan
    # scipy's ppf is good to about 1e-9; a Newton step on its cdf, which is good to
    # about 1e-15, brings it to the precision Boost gives schoolsim.
    t = float(scipy.stats.t.ppf(0.975, df))
    for _ in range(2):
        t -= (float(scipy.stats.t.cdf(t, df)) - 0.975) / float(scipy.stats.t.pdf(t, df))
    return t


def mean_ci(values, axis=0):
    """Mean over ``axis`` and its 95% interval (Student t). With one value the
    interval collapses to the mean. Returns (mean, lo, hi)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = np.nanmean(values, axis=axis) if n else np.full(np.delete(values.shape, axis), np.nan)
    if n < 2:
        return mean, mean.copy(), mean.copy()
    sd = np.nanstd(values, axis=axis, ddof=1)
    half = t_factor(n) * sd / math.sqrt(n)
    return mean, mean - half, mean + half
