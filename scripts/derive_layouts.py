"""Derive the layouts of DfE's published LA outcome files into ``cin_outcomes/publication/layouts.json``.

The package never reads ``../shared`` at run time: this script measures the real files once and ships what it
finds. For each of ks2_la, ks4_la, absence_la, sen_la, fsm_la, school_type_la and
permanent_exclusions_and_suspensions_la it records the exact column order, the observational-unit columns, the
filter columns with their values (in order of first appearance), and for every indicator column: its kind
(count / percentage / average / total / statistic, from its name and values), the decimal places observed, the
symbols used and how often, whether National and Regional values are all multiples of 10, the smallest non-zero
LA value shown, and the time periods in which it is ``x`` on every row (not produced).

Run from the project root after the published files change:  python scripts/derive_layouts.py [--published DIR]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PUBLISHED = ROOT.parent / "shared" / "reference" / "published"
OUT = ROOT / "cin_outcomes" / "publication" / "layouts.json"

FILES = ("ks2_la.csv", "ks4_la.csv", "absence_la.csv", "sen_la.csv", "fsm_la.csv", "school_type_la.csv",
         "permanent_exclusions_and_suspensions_la.csv")
SOURCES = {
    "ks2_la.csv": "dfe-analytical-services/CSC_outcomes_and_enablers@2f5d11a4 data-raw/ (2025 release)",
    "ks4_la.csv": "dfe-analytical-services/CSC_outcomes_and_enablers@2f5d11a4 data-raw/ (2025 release)",
    "absence_la.csv": "dfe-analytical-services/CSC_outcomes_and_enablers@2f5d11a4 data-raw/ (2025 release)",
}
SOURCE_2022 = "BenGoodair/childrens_social_care_data@ca4389ab Raw_Data/LA_level/Children_Outcomes/Post_2016_files/ " \
              "(2022 release)"
OB_UNITS = ("time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name", "old_la_code", "la_name", "new_la_code")
SYMBOLS = ("c", "x", "z", "k", "u", "low")
NUMBER = r"^-?\d+(\.\d+)?$"


def indicator_kind(name: str, integer_only: bool) -> str:
    low = name.lower()
    if low.startswith("pt_"):
        return "percentage"
    if "_ci" in low or low.startswith("ci_") or "ci_" in low:
        return "statistic"
    if low.startswith("avg_"):
        return "average"
    return "count" if integer_only else "total"


def measure_file(path: Path) -> dict:
    raw = path.read_bytes()
    df = pl.read_csv(path, infer_schema=False)
    cols = df.columns
    is_num = {c: pl.col(c).str.contains(NUMBER) for c in cols}
    levels = df.group_by("geographic_level", maintain_order=True).len()
    regional = df.filter(pl.col("geographic_level") == "Regional").select("region_code", "region_name").unique(
        maintain_order=True)
    layout: dict = {
        "source": SOURCES.get(path.name, SOURCE_2022),
        "encoding": {"bom": raw.startswith(b"\xef\xbb\xbf"), "line_ending": "CRLF" if b"\r\n" in raw[:4096] else "LF"},
        "rows": df.height,
        "columns": cols,
        "observational_units": [c for c in cols if c in OB_UNITS],
        "time_identifiers": df["time_identifier"].unique(maintain_order=True).to_list(),
        "time_periods": sorted(df["time_period"].unique().to_list()),
        "geographic_levels": dict(zip(levels["geographic_level"].to_list(), levels["len"].to_list())),
        "regions": [list(r) for r in regional.rows()],
        "filters": [],
        "indicators": [],
    }
    for c in cols:
        if c in OB_UNITS:
            continue
        s = df[c]
        numeric_or_symbol = s.drop_nulls().str.contains(NUMBER) | s.drop_nulls().is_in(SYMBOLS)
        if not bool(numeric_or_symbol.all()):
            values = s.unique(maintain_order=True).to_list()
            layout["filters"].append({"name": c, "values": values, "has_total": "Total" in values,
                                      "single_level": len(values) == 1})
            continue
        nums = df.filter(is_num[c])
        text = nums[c]
        decimals = text.str.split(".").list.get(1, null_on_oob=True).str.len_chars().fill_null(0)
        integer_only = bool((decimals == 0).all())
        kind = indicator_kind(c, integer_only)
        symbols = {sym: int((s == sym).sum()) for sym in SYMBOLS if int((s == sym).sum())}
        higher = nums.filter(pl.col("geographic_level").is_in(["National", "Regional"]))
        la = nums.filter(pl.col("geographic_level") == "Local authority")
        rounded = None
        la_min = None
        if integer_only and kind == "count":
            vals = higher[c].cast(pl.Int64)
            rounded = bool((vals % 10 == 0).all()) if vals.len() else None
            la_vals = la[c].cast(pl.Int64)
            nz = la_vals.filter(la_vals > 0)
            la_min = int(nz.min()) if nz.len() else None
        by_period = df.group_by("time_period").agg((pl.col(c) == "x").all().alias("all_x")).sort("time_period")
        layout["indicators"].append({
            "name": c,
            "kind": kind,
            "unit": "%" if kind == "percentage" else "",
            "dp": int(decimals.max()) if text.len() else 0,
            "symbols": symbols,
            "negative_values": bool(text.str.starts_with("-").any()),
            "zeros_shown_in_la_rows": int((la[c] == "0").sum()),
            "national_regional_multiple_of_10": rounded,
            "la_smallest_nonzero_shown": la_min,
            "not_produced_periods": by_period.filter(pl.col("all_x"))["time_period"].to_list(),
        })
    return layout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--published", type=Path, default=DEFAULT_PUBLISHED)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    layouts = {"derived_by": "scripts/derive_layouts.py", "files": {}}
    for name in FILES:
        layouts["files"][name] = measure_file(args.published / name)
    args.out.write_text(json.dumps(layouts, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, lay in layouts["files"].items():
        print(f"{name}: {len(lay['columns'])} columns, {lay['rows']} rows, filters "
              f"{[f['name'] for f in lay['filters']]}, {len(lay['indicators'])} indicators")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
