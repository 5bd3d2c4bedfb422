"""The ``cin-outcomes`` command: generate a synthetic England and check it against the published figures."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cin_outcomes.years import FIRST_INPUT_YEAR, LAST_YEAR, ReportingYear

DEFAULT_SCALE = 0.02
DEFAULT_SEED = 42

DESCRIPTION = """\
Outcomes for children in need, including children looked after by local authorities in England.

The real CIN census, SSDA903 and National Pupil Database extracts are confidential, so this project ships a
seeded synthetic England in the same formats. Reporting years run 1 April to 31 March and are written like
2024-25 (the year ending 31 March 2025).
"""


def _year(value: str) -> ReportingYear:
    try:
        return ReportingYear.parse(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _scale(value: str) -> float:
    s = float(value)
    if not 0 < s <= 1:
        raise argparse.ArgumentTypeError("scale is a share of England: more than 0, at most 1 (1 = all of England)")
    return s


def _add_population_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", type=_scale, default=DEFAULT_SCALE,
                   help=f"share of England's children to simulate: 1.0 is all of England, 0.1 a tenth "
                        f"(default {DEFAULT_SCALE}, about 400,000 children)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"random seed; the same seed and scale give byte-identical files (default {DEFAULT_SEED})")
    p.add_argument("--first-year", type=_year, default=ReportingYear(FIRST_INPUT_YEAR), metavar="YEAR",
                   help=f"first reporting year, e.g. {ReportingYear(FIRST_INPUT_YEAR)} (default)")
    p.add_argument("--last-year", type=_year, default=ReportingYear(LAST_YEAR), metavar="YEAR",
                   help=f"last reporting year, e.g. {ReportingYear(LAST_YEAR)} (default)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cin-outcomes", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("generate", help="write a synthetic England's returns and pupil data to a landing folder",
                       description="Write, for every reporting year and local authority, a CIN census XML file and "
                                   "the SSDA903 CSV tables, and for every year the National Pupil Database modules "
                                   "as Parquet: <out>/<year>/<la>/cin_census.xml, <out>/<year>/<la>/ssda903/*.csv, "
                                   "<out>/<year>/npd/*.parquet.")
    _add_population_args(g)
    g.add_argument("--out", type=Path, default=Path("data/landing"),
                   help="landing folder to write to (default data/landing)")
    g.add_argument("--fault-rate", type=float, default=0.0, metavar="RATE",
                   help="share of records given a data-quality fault, to exercise the validation checks "
                        "(default 0: clean returns). The faults are listed in the README.")
    g.add_argument("--las", nargs="+", metavar="LA",
                   help="write social care returns only for these LAs (3-digit DfE numbers, e.g. 318 202)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")

    c = sub.add_parser("calibration", help="compare a synthetic England with the real published national figures",
                       description="Simulate a synthetic England in memory and compare, for every reporting year, "
                                   "children in need, on a child protection plan and looked after at 31 March, "
                                   "and KS2, KS4 and absence rates by social care group, with the published "
                                   "national figures.")
    _add_population_args(c)
    c.add_argument("--csv", type=Path, help="also write the comparison to this CSV file")
    c.add_argument("--quiet", action="store_true", help="no progress bars")

    r = sub.add_parser("run", help="build the whole publication (generating the synthetic England if needed)",
                       description="Materialise the Dagster asset graph for every reporting year in a kept Dagster "
                                   "instance: ingest and cohorts from 2013-14, outcomes and tables from 2018-19, "
                                   "then the publication files. The landing folder is generated first if it is "
                                   "empty (or was generated with another scale or seed). Prints where the tables "
                                   "and the Dagster UI are.")
    r.add_argument("--scale", type=_scale, default=DEFAULT_SCALE, help=f"synthetic scale if generating "
                                                                       f"(default {DEFAULT_SCALE})")
    r.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed if generating (default {DEFAULT_SEED})")
    r.add_argument("--landing", type=Path, help="landing folder (default data/landing, or $CIN_OUTCOMES_LANDING)")
    r.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="years built side by side (default: 2, or 1 on a one-core machine)")
    r.add_argument("--quiet", action="store_true", help="no progress messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from cin_outcomes.run import format_summary, run_pipeline

        summary = run_pipeline(landing=args.landing, scale=args.scale, seed=args.seed, progress=not args.quiet,
                               workers=max(1, args.workers))
        print(format_summary(summary))
        return 0 if summary.ok else 1
    from cin_outcomes.synthetic.config import SyntheticConfig

    try:
        cfg = SyntheticConfig(scale=args.scale, seed=args.seed, first_year=args.first_year,
                              last_year=args.last_year, fault_rate=getattr(args, "fault_rate", 0.0),
                              only_las=tuple(args.las) if getattr(args, "las", None) else None)
    except ValueError as e:
        print(f"cin-outcomes: {e}", file=sys.stderr)
        return 2
    if args.command == "generate":
        from cin_outcomes.synthetic.generate import generate

        s = generate(cfg, args.out, progress=not args.quiet)
        print(f"Synthetic England written to {s.out.resolve()}")
        print(f"  {s.children:,} children, scale {cfg.scale}, seed {cfg.seed}, "
              f"reporting years {cfg.first_year} to {cfg.last_year}")
        print(f"  {s.files:,} files, {s.bytes / 1e6:,.1f} MB; stage seconds: "
              + ", ".join(f"{k} {v}" for k, v in s.seconds.items()))
        return 0
    if args.command == "calibration":
        from cin_outcomes.synthetic.calibration import calibration_report, format_report

        report = calibration_report(cfg, progress=not args.quiet)
        print(format_report(report, cfg))
        if args.csv:
            report.write_csv(args.csv)
            print(f"written to {args.csv}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
