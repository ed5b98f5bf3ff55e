"""Command line: ``python3 -m schoolsim_analysis report FILE.h5 -o report.html [--years 0,5,10]``.

Exit codes: 0 success, 1 the report could not be written, 2 a bad command line,
a missing or unreadable file, or a file of an unknown kind."""

from __future__ import annotations

import argparse
import os
import sys

PROG = "schoolsim_analysis"


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, not {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one year")
    return values


def _name_list(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError("expected at least one measure name")
    return values


def parser():
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Plots and HTML reports from schoolsim's HDF5 output (run, compare and sweep files).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    r = sub.add_parser(
        "report", help="write a self-contained HTML report of one file",
        description="Write a self-contained HTML report (plots embedded as PNG) of a schoolsim run, "
                    "comparison or sweep file.",
        epilog="example: python3 -m schoolsim_analysis report results/classroom.h5 -o classroom.html "
               "--years 0,5,10")
    r.add_argument("file", metavar="FILE.h5", help="a schoolsim output file (run, compare or sweep)")
    r.add_argument("-o", "--output", metavar="REPORT.html",
                   help="where to write the report (default: FILE with the extension .html)")
    r.add_argument("--years", type=_int_list, metavar="Y1,Y2,...",
                   help="years to show in the network and attainment plots of a run (default: start, "
                        "middle and end)")
    r.add_argument("--measures", type=_name_list, metavar="M1,M2,...",
                   help="system measures to plot (default: attainment, gap, capacity, spread, "
                        "segregation, challenging schools, ties, isolates)")
    r.add_argument("--replicate", type=int, default=0, metavar="K",
                   help="replicate whose network is drawn (default: 0)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from . import read, report  # after parsing: --help stays fast

    output = args.output or (os.path.splitext(args.file)[0] + ".html")
    try:
        report.write_report(args.file, output, years=args.years, measures=args.measures,
                            replicate=args.replicate)
    except report.OutputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        msg = e.args[0] if e.filename is None and e.args else f"no such file: {e.filename}"
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except (read.FormatError, report.ReportError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {args.file}: cannot read: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
