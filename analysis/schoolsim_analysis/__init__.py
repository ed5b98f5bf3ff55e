"""schoolsim_analysis: read schoolsim's HDF5 output and draw plots and HTML reports.

    from schoolsim_analysis import load, plots
    run = load("results/classroom.h5")          # RunData, CompareData or SweepData
    plots.plot_over_time(run).savefig("measures.png")

Command line: ``python3 -m schoolsim_analysis report FILE.h5 -o report.html``.
"""

import matplotlib

matplotlib.use("Agg")

from .read import (  # noqa: E402
    KINDS, TERMS_PER_YEAR, CompareData, FormatError, RunData, SweepData, file_kind, load, mean_ci,
    network_at, read_compare, read_run, read_sweep)

__all__ = ["KINDS", "TERMS_PER_YEAR", "CompareData", "FormatError", "RunData", "SweepData", "file_kind",
           "load", "mean_ci", "network_at", "read_compare", "read_run", "read_sweep"]
__version__ = "0.1.0"
