"""Run DfE's own validation rules (data-to-insight's csc-validator-be-903 and csc-validator-be-cin) on landing files.

Runs in its own virtual environment (the validators pin old pandas/numpy): see validate_with_dfe_tools.sh. For each
year and LA given it validates ``<landing>/<year>/<la>/cin_census.xml`` with the CIN ruleset of that year and
``<landing>/<year>/<la>/ssda903/*.csv`` with the 903 ruleset of that year (with the previous year's return loaded as
"Prev year" when it exists). Years before the oldest ruleset (2022-23) use that ruleset. Prints one line per
rule that fired: year, LA, source, rule code, type (error or query), number of rows. Counts only: no child-level
data is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import importlib
import logging
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

logging.disable(logging.CRITICAL)

FIRST_RULESET = 2023  # oldest rulesets: cin2022_23 and lac2022_23 (collection years end 2023)
LAST_RULESET = 2027


def ruleset_year(year_label: str) -> int:
    end = int(year_label[:4]) + 1
    return min(max(end, FIRST_RULESET), LAST_RULESET)


def validate_903(folder: Path, prev: Path | None, year_label: str, new_la_code: str) -> Counter:
    from lac_validator import lac_validator
    from lac_validator.report import Report
    from lac_validator.utils import process_uploaded_files

    end = ruleset_year(year_label)
    module = importlib.import_module(f"lac_validator.rules.lac{end - 1}_{str(end)[2:]}")
    registry = getattr(module, "registry")
    files = {"This year": [str(p) for p in sorted(folder.glob("*.csv"))]}
    if prev is not None and prev.exists():
        files["Prev year"] = [str(p) for p in sorted(prev.glob("*.csv"))]
    metadata = {"collectionYear": str(int(year_label[:4]) + 1), "localAuthority": new_la_code}
    with contextlib.redirect_stdout(io.StringIO()):  # some rules print their working
        v = lac_validator.LacValidator(metadata=metadata, files=process_uploaded_files(files), registry=registry)
    r = Report(v.ds_results, registry)
    counts = Counter()
    for _, row in r.error_report.iterrows():
        if row["Count"]:
            counts[(str(row["Code"]), "error")] += int(row["Count"])
    for code in v.fails:
        counts[(str(code), "crashed")] += 1
    return counts


def validate_cin(path: Path, year_label: str) -> Counter:
    from cin_validator import cin_validator

    end = ruleset_year(year_label)
    module = importlib.import_module(f"cin_validator.rules.cin{end - 1}_{str(end)[2:]}")
    registry = getattr(module, "registry")
    root = ET.parse(path).getroot()
    data = cin_validator.process_data(cin_validator.convert_data(root))
    with contextlib.redirect_stdout(io.StringIO()):
        v = cin_validator.CinValidator(data, registry)
    kinds = {str(rule.code): ("query" if str(rule.code).endswith("Q") else "error") for rule in registry.values()}
    counts = Counter()
    for code in v.full_issue_df["rule_code"].astype(str):
        counts[(code, kinds.get(code, "error"))] += 1
    for code in v.multichild_issues["rule_code"].astype(str):
        counts[(code, kinds.get(code, "error"))] += 1
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("landing", type=Path)
    ap.add_argument("--years", nargs="+", required=True, help="reporting years, e.g. 2023-24 2024-25")
    ap.add_argument("--las", nargs="+", required=True, help="3-digit LA numbers")
    ap.add_argument("--lookup", type=Path, required=True, help="las.csv (old_la_code -> new_la_code)")
    args = ap.parse_args()
    new_code = {}
    with args.lookup.open() as f:
        for row in csv.DictReader(f):
            new_code[row["old_la_code"]] = row["new_la_code"]  # latest era last
    w = csv.writer(sys.stdout)
    w.writerow(["year", "la", "source", "rule", "type", "rows"])
    for year in args.years:
        prev_label = f"{int(year[:4]) - 1}-{int(year[2:4]):02d}"
        for la in args.las:
            base = args.landing / year / la
            if not base.exists():
                continue
            for (code, kind), n in sorted(validate_cin(base / "cin_census.xml", year).items()):
                w.writerow([year, la, "cin", code, kind, n])
            prev = args.landing / prev_label / la / "ssda903"
            for (code, kind), n in sorted(
                validate_903(base / "ssda903", prev if prev.exists() else None, year, new_code.get(la, "")).items()
            ):
                w.writerow([year, la, "903", code, kind, n])
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
