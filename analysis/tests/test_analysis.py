"""Tests of schoolsim_analysis: reading real run files made by the schoolsim
executable, synthetic comparison and sweep files, the plots and the report command.

Run from the source tree:

    SCHOOLSIM_EXE=build/release/schoolsim SCHOOLSIM_SOURCE_DIR=$PWD PYTHONPATH=analysis \\
        /usr/bin/python3 -m unittest discover -s analysis/tests -v

Without SCHOOLSIM_EXE the tests that need a real run file are skipped.
"""

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection

sys.dont_write_bytecode = True      # write nothing into the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS_DIR = os.path.dirname(HERE)
if ANALYSIS_DIR not in sys.path:
    sys.path.insert(0, ANALYSIS_DIR)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import synthetic  # noqa: E402
from schoolsim_analysis import plots, read, report  # noqa: E402

YEARS = 3
REPLICATES = 2


def run_cli(*args):
    """Run ``python3 -m schoolsim_analysis`` with the package on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = ANALYSIS_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "schoolsim_analysis", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def read_text(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def images(html_text):
    return re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html_text)


class TempDirCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="schoolsim_analysis_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class RealRunTest(TempDirCase):
    """A run file written by the schoolsim executable."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        exe = os.environ.get("SCHOOLSIM_EXE")
        source = os.environ.get("SCHOOLSIM_SOURCE_DIR", os.path.dirname(ANALYSIS_DIR))
        if not exe:
            raise unittest.SkipTest("SCHOOLSIM_EXE is not set")
        if not os.path.isfile(exe):
            raise AssertionError(f"SCHOOLSIM_EXE={exe} does not exist")
        scenario = os.path.join(source, "scenarios", "classroom.yaml")
        cls.path = os.path.join(cls.tmp, "classroom.h5")
        done = subprocess.run([exe, "run", scenario, "-o", cls.path, "--replicates", str(REPLICATES),
                               "--years", str(YEARS), "--quiet"], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"schoolsim run failed ({done.returncode}): {done.stderr}")
        cls.data = read.load(cls.path)

    # ---------------------------------------------------------------- reading

    def test_meta(self):
        run = self.data
        self.assertEqual(run.kind, "run")
        self.assertEqual(run.name, "classroom")
        self.assertEqual(run.n_replicates, REPLICATES)
        self.assertEqual(run.years, YEARS)
        self.assertEqual(run.meta["replicates"], REPLICATES)
        self.assertEqual(run.meta["schema_version"], 1)
        self.assertIn("name: classroom", run.scenario)
        self.assertEqual([r.index for r in run.replicates], list(range(REPLICATES)))

    def test_system_term_axis_and_shapes(self):
        run = self.data
        # classroom records every term: 0, 1, ..., 3 * years
        np.testing.assert_array_equal(run.term, np.arange(YEARS * 3 + 1))
        self.assertEqual(run.term[0], 0)
        self.assertIn("n_ties", run.system)
        self.assertIn("mean_attainment", run.system)
        for name, v in run.system.items():
            self.assertEqual(v.shape, (REPLICATES, len(run.term)), name)
            self.assertEqual(v.dtype, np.float64)
        self.assertEqual(run.units["mean_attainment"], "pupil SD")
        self.assertEqual(run.units["n_ties"], "ties")
        np.testing.assert_allclose(run.year_axis[-1], YEARS)

    def test_counts_come_from_the_file(self):
        # schoolsim marks its count measures (MeasureInfo::count) with a `count` attribute.
        counts = self.data.counts
        for name in ("n_ties", "pupils", "components", "isolates", "n_challenging"):
            self.assertIn(name, counts)
        for name in ("mean_attainment", "mean_degree", "density", "mean_trust"):
            self.assertNotIn(name, counts)

    def test_school_attributes_and_series(self):
        for rep in self.data.replicates:
            n = rep.n_schools
            self.assertEqual(n, 36)
            for name in ("x", "y", "places", "area", "phase"):
                self.assertEqual(rep.schools[name].shape, (n,), name)
            self.assertTrue(set(np.unique(rep.schools["area"])) <= set(range(rep.n_areas)))
            np.testing.assert_array_equal(rep.series_term, self.data.term)
            self.assertEqual(rep.series["capacity"].shape, (len(rep.series_term), n))
            self.assertEqual(rep.series["practice"].ndim, 3)
            cap = rep.series["capacity"]
            self.assertTrue(np.all((cap >= 0) & (cap <= 1)))

    def test_pupils_conserved(self):
        for r, rep in enumerate(self.data.replicates):
            per_row = rep.series["pupils"].sum(axis=1)
            self.assertTrue(np.all(per_row == per_row[0]), "pupils change between rows")
            np.testing.assert_array_equal(per_row, self.data.system["pupils"][r])
            self.assertTrue(np.all(rep.series["pupils"] <= rep.schools["places"][None, :] * 1.5))

    def test_attainment_matches_system_measures(self):
        """The pupil-weighted gap and mean from per-school data equal the system measures:
        breaks if attainment groups, rows or schools were mixed up."""
        run = self.data
        for r, rep in enumerate(run.replicates):
            np.testing.assert_array_equal(rep.attainment_year, np.arange(YEARS + 1))
            self.assertEqual(rep.attainment["dis"].shape, (YEARS + 1, rep.n_schools))
            for year in range(YEARS + 1):
                t = year * 3
                row = int(np.nonzero(run.term == t)[0][0])
                p = rep.series_at("pupils", t).astype(float)
                s = rep.series_at("disadvantaged", t).astype(float)
                dis, adv = rep.attainment_at(year)
                gap = np.sum(p * (1 - s) * adv) / np.sum(p * (1 - s)) - np.sum(p * s * dis) / np.sum(p * s)
                mean = np.sum(p * ((1 - s) * adv + s * dis)) / np.sum(p)
                self.assertAlmostEqual(gap, run.system["attainment_gap"][r, row], places=5)
                self.assertAlmostEqual(mean, run.system["mean_attainment"][r, row], places=5)

    def test_tie_events(self):
        for rep in self.data.replicates:
            ties = rep.ties
            self.assertEqual(set(ties.dtype.names), {"term", "tie", "school_a", "school_b", "kind", "event",
                                                     "reason"})
            self.assertGreater(len(ties), 0)
            self.assertTrue(np.all(np.diff(ties["term"]) >= 0), "events out of order")
            self.assertTrue(set(np.unique(ties["event"])) <= {0, 1})
            formed = dict(zip(ties["tie"][ties["event"] == 0].tolist(), ties["term"][ties["event"] == 0].tolist()))
            for tid, term in zip(ties["tie"][ties["event"] == 1], ties["term"][ties["event"] == 1]):
                self.assertIn(int(tid), formed)
                self.assertLessEqual(formed[int(tid)], term)
            self.assertTrue(np.all(ties["school_a"] != ties["school_b"]))
            self.assertTrue(np.all((ties["school_a"] >= 0) & (ties["school_a"] < rep.n_schools)))

    def test_network_reconstruction(self):
        run = self.data
        for r, rep in enumerate(run.replicates):
            last = run.network_at(int(run.term[-1]), r)
            self.assertEqual(len(last), int(run.system["n_ties"][r, -1]))
            self.assertEqual(len(run.network_at(0, r)), int(run.system["n_ties"][r, 0]))
            for row, t in enumerate(run.term):
                net = read.network_at(rep.ties, int(t))
                self.assertEqual(len(net), int(run.system["n_ties"][r, row]), f"term {t}")
                deg = read.degrees(net, rep.n_schools)
                self.assertEqual(int(np.sum(deg == 0)), int(run.system["isolates"][r, row]), f"term {t}")
                self.assertAlmostEqual(deg.mean(), run.system["mean_degree"][r, row], places=9)
            self.assertEqual(len(np.unique(last["tie"])), len(last))

    def test_tie_event_counts(self):
        rep = self.data.replicates[0]
        years, names, formed, dissolved = read.tie_event_counts(rep.ties)
        self.assertEqual(formed.shape, (len(years), len(names)))
        self.assertEqual(int(formed.sum() - dissolved.sum()), int(self.data.system["n_ties"][0, -1]))

    def test_file_without_kind_and_with_kind_run(self):
        for kind in (None, "run"):
            path = os.path.join(self.tmp, f"kind-{kind}.h5")
            shutil.copy(self.path, path)
            with h5py.File(path, "r+") as f:
                if "kind" in f["meta"].attrs:
                    del f["meta"].attrs["kind"]
                if kind:
                    f["meta"].attrs["kind"] = kind
            self.assertEqual(read.file_kind(path), "run")
            self.assertEqual(read.load(path, series=False).kind, "run")

    def test_unknown_kind(self):
        path = os.path.join(self.tmp, "odd.h5")
        shutil.copy(self.path, path)
        with h5py.File(path, "r+") as f:
            f["meta"].attrs["kind"] = "mystery"
        with self.assertRaises(read.FormatError):
            read.load(path)
        done = run_cli("report", path, "-o", os.path.join(self.tmp, "odd.html"))
        self.assertEqual(done.returncode, 2)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
        self.assertIn("unknown file kind 'mystery'", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "odd.html")))

    # ------------------------------------------------------------------ plots

    def test_plot_run_measures(self):
        fig = plots.plot_run_measures(self.data, ["mean_attainment", "n_ties", "isolates"])
        self.assertEqual(len(fig.axes), 3)
        for ax in fig.axes:
            self.assertEqual(len(ax.lines), 1)          # the mean
            self.assertEqual(len([c for c in ax.collections if isinstance(c, PolyCollection)]), 1)  # the band
            np.testing.assert_allclose(ax.lines[0].get_xdata(), self.data.year_axis)
        np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), self.data.system["n_ties"].mean(axis=0))
        self.assertEqual(len(plots.plot_over_time(self.data).axes), 8)

    def test_plot_attainment_distribution(self):
        fig = plots.plot_attainment_distribution(self.data, years=[0, YEARS])
        self.assertEqual(len(fig.axes), 2)
        for ax in fig.axes:
            self.assertEqual(len(ax.lines), 2)          # one mean line per pupil group
            self.assertEqual(len(ax.patches), 4)        # filled and outlined histogram per group
        dis = np.concatenate([r.attainment["dis"][-1] for r in self.data.replicates])
        self.assertAlmostEqual(fig.axes[1].lines[1].get_xdata()[0], float(dis.mean()), places=5)

    def test_plot_network(self):
        fig = plots.plot_network(self.data, years=[0, 1, YEARS], replicate=1)
        self.assertEqual(len(fig.axes), 4)               # three years and the colour bar
        panel = fig.axes[2]
        segs = [c for c in panel.collections if isinstance(c, LineCollection)]
        self.assertEqual(len(segs), 1)
        self.assertEqual(len(segs[0].get_segments()), int(self.data.system["n_ties"][1, -1]))
        self.assertEqual(len(panel.collections[-1].get_offsets()), 36)    # one dot per school
        # years beyond the run are left out
        self.assertEqual(len(plots.plot_network(self.data, years=[0, 99]).axes), 2)

    def test_plot_network_window(self):
        rep = self.data.replicates[0]
        x, y = rep.schools["x"], rep.schools["y"]
        window = (float(np.median(x)), float(x.max()) + 1, float(y.min()) - 1, float(y.max()) + 1)
        inside = x >= window[0]
        fig = plots.plot_network(self.data, years=[YEARS], window=window)
        panel = fig.axes[0]
        self.assertEqual(len(panel.collections[-1].get_offsets()), int(inside.sum()))
        net = self.data.network_at(YEARS * 3, 0)
        expected = int(np.sum(inside[net["school_a"]] | inside[net["school_b"]]))
        segs = [c for c in panel.collections if isinstance(c, LineCollection)]
        self.assertEqual(sum(len(c.get_segments()) for c in segs), expected)
        # a window is chosen by itself only for worlds above max_schools
        self.assertIsNone(plots.auto_window(x, y, max_schools=36))
        w = plots.auto_window(x, y, max_schools=10)
        self.assertEqual(int(np.sum((x >= w[0]) & (x <= w[1]) & (y >= w[2]) & (y <= w[3]))), 10)

    def test_plot_tie_events(self):
        fig = plots.plot_tie_events(self.data)
        self.assertEqual(len(fig.axes), 1)
        self.assertGreater(len(fig.axes[0].patches), 0)

    # ----------------------------------------------------------------- report

    def test_report_command(self):
        out = os.path.join(self.tmp, "run-report.html")
        done = run_cli("report", self.path, "-o", out, "--years", "0,1,3")
        self.assertEqual(done.returncode, 0, done.stderr)
        text = read_text(out)
        for sid in ("summary", "over-time", "attainment", "network", "tie-events", "scenario"):
            self.assertIn(f'<section id="{sid}">', text)
        self.assertIn("<title>schoolsim run: classroom</title>", text)
        self.assertEqual(len(images(text)), 4)
        self.assertGreaterEqual(text.count("How to read this"), 4)
        self.assertIn("mean_attainment", text)
        self.assertIn("end: 95% interval", text)
        self.assertNotIn('src="http', text)
        self.assertEqual([f for f in os.listdir(self.tmp) if ".tmp-" in f], [])

    def test_report_bad_measure(self):
        done = run_cli("report", self.path, "-o", os.path.join(self.tmp, "x.html"), "--measures", "nonsense")
        self.assertEqual(done.returncode, 2)
        self.assertIn("no such measure: nonsense", done.stderr)


class CompareTest(TempDirCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.tmp, "compare.h5")
        cls.written = synthetic.write_compare(cls.path, replicates=4, years=5)
        cls.cmp = read.load(cls.path)

    def test_read(self):
        c = self.cmp
        self.assertEqual(c.kind, "compare")
        self.assertEqual((c.name_a, c.name_b), ("competitive", "collaborative"))
        self.assertEqual(c.n_replicates, 4)
        np.testing.assert_array_equal(c.term, np.arange(6) * 3)
        self.assertIn("name: competitive", c.scenario_a)
        self.assertIn("name: collaborative", c.scenario_b)
        self.assertEqual(set(c.measures), set(synthetic.MEASURES))
        m = c.measures["attainment_gap"]
        a, b = self.written["attainment_gap"]
        np.testing.assert_array_equal(m.a, a)
        np.testing.assert_array_equal(m.b, b)
        self.assertEqual(m.a.shape, (4, 6))
        np.testing.assert_allclose(m.diff_mean, (b - a).mean(axis=0))
        self.assertTrue(np.all(m.diff_lo <= m.diff_mean) and np.all(m.diff_mean <= m.diff_hi))
        self.assertEqual(m.unit, "pupil SD")
        self.assertIsInstance(m.effect_size, float)
        self.assertFalse(m.count)
        self.assertTrue(c.measures["n_ties"].count)

    def test_counts_are_whole_numbers_by_the_flag_not_the_unit(self):
        self.assertEqual(report.fmt(1234.4, count=True), "1,234")
        self.assertEqual(report.fmt(12.5, count=True), "12.5")
        self.assertEqual(report.fmt(12.0, count=True), "12")
        self.assertEqual(report.fmt(12.25), "12.250")

    def test_plot_comparison(self):
        fig = plots.plot_over_time(self.cmp, ["mean_attainment", "attainment_gap", "n_ties"])
        self.assertEqual(len(fig.axes), 6)               # arms and difference per measure
        top, bottom = fig.axes[0], fig.axes[3]           # row of arms, then row of differences
        self.assertEqual(len(top.lines), 2)              # arm A and arm B
        self.assertEqual(len([c for c in top.collections if isinstance(c, PolyCollection)]), 2)
        self.assertEqual(len(bottom.lines), 2)           # difference and zero line
        np.testing.assert_allclose(bottom.lines[0].get_ydata(), self.cmp.measures["mean_attainment"].diff_mean)
        self.assertEqual(len(plots.plot_comparison(self.cmp).axes), 16)

    def test_report(self):
        out = os.path.join(self.tmp, "compare.html")
        report.write_report(self.path, out)
        text = read_text(out)
        for sid in ("differences", "over-time", "scenarios"):
            self.assertIn(f'<section id="{sid}">', text)
        self.assertIn("competitive (A) vs collaborative (B)", text)
        self.assertEqual(len(images(text)), 1)
        self.assertIn("How to read this", text)
        self.assertIn("95% interval", text)
        self.assertIn("B lower", text)                    # isolates fall with collaboration
        # Each effect size says what it is standardised by.
        self.assertIn("standardised by", text)
        self.assertIn("none: in pupil SD", text)
        self.assertIn("SD between schools (arm A, at the end)", text)
        self.assertIn("SD between replicates of arm A (at the end)", text)
        self.assertNotIn("older file", text)
        self.assertIn("it includes replicate noise only", text)   # no /meta uncertainty: no posterior
        m = self.cmp.measures["attainment_gap"]
        self.assertEqual(m.effect_scale, 1.0)
        self.assertEqual(m.effect_size, m.diff_mean[-1])

    def test_report_says_when_intervals_include_parameter_uncertainty(self):
        path = os.path.join(self.tmp, "posterior.h5")
        what = "replicate noise and parameter uncertainty (9 parameters drawn from the posterior in post.h5)"
        synthetic.write_compare(path, replicates=3, years=2, uncertainty=what)
        out = os.path.join(self.tmp, "posterior.html")
        report.write_report(path, out)
        self.assertIn(f"it includes {what}", read_text(out))

    def test_report_on_an_older_file_says_its_effect_sizes_are_d_z(self):
        path = os.path.join(self.tmp, "old-compare.h5")
        synthetic.write_compare(path, standardised=False)
        c = read.load(path)
        self.assertEqual(c.measures["n_ties"].effect_standardiser, "")
        self.assertTrue(math.isnan(c.measures["n_ties"].effect_scale))
        report.write_report(path, path[:-3] + ".html")
        text = read_text(path[:-3] + ".html")
        self.assertIn("paired d_z (older file)", text)
        self.assertIn("reported the paired <em>d_z</em>", text)


class SweepTest(TempDirCase):
    def _sweep(self, method, sensitivity=True):
        path = os.path.join(self.tmp, f"sweep-{method}-{sensitivity}.h5")
        names, values = synthetic.write_sweep(path, method=method, runs=24, replicates=2,
                                              sensitivity=sensitivity)
        return path, names, values

    def test_read_morris(self):
        path, names, values = self._sweep("morris")
        s = read.load(path)
        self.assertEqual(s.kind, "sweep")
        self.assertEqual(s.method, "morris")
        self.assertEqual(s.names, names)
        np.testing.assert_array_equal(s.values, values)
        self.assertEqual(s.done.dtype, bool)
        self.assertEqual(int(s.done.sum()), 23)
        self.assertEqual(s.runs["attainment_gap"].shape, (24, 2))
        self.assertEqual(s.n_replicates, 2)
        self.assertEqual(s.sensitivity["n_ties"].method, "morris")
        np.testing.assert_allclose(s.sensitivity["n_ties"].values["mu_star"], [2.0, 30.0, 25.0])
        self.assertEqual(s.sensitivity["n_ties"].names, names)

    def test_read_sobol_and_plots(self):
        path, names, _ = self._sweep("saltelli")
        s = read.load(path)
        self.assertEqual(s.method, "saltelli")
        sens = s.sensitivity["attainment_gap"]
        self.assertEqual(sens.method, "sobol")
        self.assertEqual(set(sens.values), {"first", "first_lo", "first_hi", "total", "total_lo", "total_hi"})
        fig = plots.plot_sensitivity(s)
        self.assertEqual(len(fig.axes), 2)
        self.assertEqual(len(fig.axes[0].patches), 2 * len(names))   # first and total per parameter
        fig = plots.plot_sweep_scatter(s, "n_ties")
        self.assertEqual(len(fig.axes), len(names))
        self.assertEqual(len(fig.axes[0].collections[0].get_offsets()), 23)   # completed runs only

    def test_plot_morris(self):
        path, names, _ = self._sweep("morris")
        fig = plots.plot_sensitivity(read.load(path), ["n_ties"])
        self.assertEqual(len(fig.axes), 1)
        ax = fig.axes[0]
        self.assertEqual(len(ax.patches), 2 * len(names))             # mu* and sigma per parameter
        # sorted by mu*: the top bar is the largest mu*
        self.assertEqual(ax.get_yticklabels()[-1].get_text(), "search_rate")

    def test_reports(self):
        for method, sensitivity, n_img in (("morris", True, 3), ("saltelli", True, 3), ("lhs", False, 2)):
            path, _, _ = self._sweep(method, sensitivity)
            out = path[:-3] + ".html"
            report.write_report(path, out)
            text = read_text(out)
            for sid in ("design", "measures", "sensitivity", "scatter"):
                self.assertIn(f'<section id="{sid}">', text)
            self.assertEqual(len(images(text)), n_img, method)
            self.assertIn("How to read this", text)
            self.assertIn("runs done", text)
            self.assertIn("Replicates of a run differ by: replicate noise only", text)
            if sensitivity:
                self.assertIn("mu*" if method == "morris" else "first order", text)


    def test_report_on_sobol_estimates_outside_0_to_1(self):
        # A current file: the estimators are named, and a wild value is put down to estimation error.
        path = os.path.join(self.tmp, "wild.h5")
        synthetic.write_sweep(path, method="saltelli", wild=True)
        s = read.load(path)
        self.assertEqual(s.sensitivity["attainment_gap"].estimator, synthetic.SOBOL_ESTIMATOR)
        report.write_report(path, path[:-3] + ".html")
        text = read_text(path[:-3] + ".html")
        self.assertIn("Some Sobol estimates lie well outside 0 to 1 (attainment_gap)", text)
        self.assertIn("estimation error", text)
        self.assertNotIn("design is too small", text)
        self.assertNotIn("did not centre", text)
        # A file from before the estimator was centred: the estimator is blamed, not the design.
        old = os.path.join(self.tmp, "old.h5")
        synthetic.write_sweep(old, method="saltelli", wild=True, estimator=None)
        self.assertEqual(read.load(old).sensitivity["attainment_gap"].estimator, "")
        report.write_report(old, old[:-3] + ".html")
        text = read_text(old[:-3] + ".html")
        self.assertIn("whose estimator did not centre the output", text)
        self.assertNotIn("Some Sobol estimates lie well outside", text)
        self.assertNotIn("design is too small", text)
        # Tame indices from a current file: no note at all.
        tame = os.path.join(self.tmp, "tame.h5")
        synthetic.write_sweep(tame, method="saltelli")
        report.write_report(tame, tame[:-3] + ".html")
        text = read_text(tame[:-3] + ".html")
        self.assertNotIn("did not centre", text)
        self.assertNotIn("lie well outside", text)


class CommandLineTest(TempDirCase):
    def test_help(self):
        for args in (("--help",), ("report", "--help")):
            done = run_cli(*args)
            self.assertEqual(done.returncode, 0)
            self.assertIn("usage:", done.stdout)
        self.assertIn("--years", run_cli("report", "--help").stdout)

    def test_missing_file(self):
        missing = os.path.join(self.tmp, "missing.h5")
        done = run_cli("report", missing, "-o", os.path.join(self.tmp, "r.html"))
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr.strip(), f"schoolsim_analysis: error: no such file: {missing}")

    def test_not_hdf5(self):
        path = os.path.join(self.tmp, "text.h5")
        with open(path, "w") as fh:
            fh.write("not hdf5\n")
        done = run_cli("report", path)
        self.assertEqual(done.returncode, 2)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1)
        self.assertIn("not an HDF5 file", done.stderr)

    def test_unwritable_output(self):
        path = os.path.join(self.tmp, "c.h5")
        synthetic.write_compare(path, replicates=2, years=1)
        blocker = os.path.join(self.tmp, "file")
        with open(blocker, "w") as fh:
            fh.write("x")
        done = run_cli("report", path, "-o", os.path.join(blocker, "r.html"))   # a folder that is a file
        self.assertEqual(done.returncode, 1)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1)
        self.assertIn("cannot write", done.stderr)

    def test_bad_years(self):
        done = run_cli("report", "x.h5", "--years", "zero")
        self.assertEqual(done.returncode, 2)

    def test_t_factor(self):
        self.assertTrue(np.isnan(read.t_factor(1)))
        # 0.975 quantiles of Student's t (1, 2, 4, 19, 29, 119 and 999 degrees of freedom), to 1e-10 relative.
        for n, t in ((2, 12.7062047361747), (3, 4.30265272974946), (5, 2.77644510519779),
                     (20, 2.09302405440831), (30, 2.04522964213270), (120, 1.98009987643),
                     (1000, 1.96234146113345)):
            self.assertLess(abs(read.t_factor(n) - t) / t, 1e-10, msg=f"n = {n}")
        self.assertTrue(1.959963 < read.t_factor(100000) < read.t_factor(1000))
        mean, lo, hi = read.mean_ci(np.array([[1.0, 2.0], [3.0, 2.0]]))
        np.testing.assert_allclose(mean, [2.0, 2.0])
        np.testing.assert_allclose(hi - mean, [12.7062047361747, 0.0], atol=1e-9)
        np.testing.assert_allclose(mean - lo, hi - mean)

    def test_t_factor_matches_the_intervals_schoolsim_stores(self):
        # The intervals of a real comparison file come from schoolsim's own t quantiles
        # (boost); the analysis package's agree to 1e-9 for each number of replicates.
        exe = os.environ.get("SCHOOLSIM_EXE")
        if not exe:
            self.skipTest("SCHOOLSIM_EXE is not set")
        scenario = os.path.join(self.tmp, "a.yaml")
        with open(scenario, "w") as fh:
            fh.write("seed: 3\nyears: 2\nworld: {schools: 60, areas: 2}\n"
                     "pipeline: [crises, turnover, attainment, {market: {choice: 0.5}}]\n")
        other = os.path.join(self.tmp, "b.yaml")
        with open(other, "w") as fh:
            fh.write("extends: a.yaml\nset: {market.choice: 1}\n")
        for n in (2, 3, 7):
            out = os.path.join(self.tmp, f"cmp{n}.h5")
            done = subprocess.run([exe, "compare", scenario, other, "--replicates", str(n), "-q", "-o", out],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
            cm = read.load(out).measures["dissimilarity"]
            d = cm.b[:, -1] - cm.a[:, -1]
            se = d.std(ddof=1) / math.sqrt(n)
            self.assertGreater(se, 0)
            stored = (cm.diff_hi[-1] - cm.diff_lo[-1]) / 2 / se
            self.assertAlmostEqual(read.t_factor(n), stored, places=9, msg=f"n = {n}")
            self.assertEqual(cm.effect_standardiser, "SD between replicates of arm A (at the end)")
            self.assertAlmostEqual(cm.effect_size, cm.diff_mean[-1] / cm.a[:, -1].std(ddof=1), places=9)


if __name__ == "__main__":
    unittest.main()
