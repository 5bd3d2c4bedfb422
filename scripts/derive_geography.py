"""Derive the local authority lookup shipped in the package from DfE's published files.

Reads ``../shared/reference/published/b1_children_in_need_2013_to_2025.csv`` (every LA that made a CIN return,
by reporting year) and writes ``cin_outcomes/reference/las.csv``: one row per LA code era with its 3-digit DfE
number, 9-character ONS code, name, region (London split Inner/Outer, as in the outcome files), the first and
last reporting years (year ending 31 March) it appears, and the LAs it replaced.

Run from the project root:  python scripts/derive_geography.py [--published DIR]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PUBLISHED = ROOT.parent / "shared" / "reference" / "published"
OUT = ROOT / "cin_outcomes" / "reference" / "las.csv"

# Local government reorganisations (domain.md §6): successor old_la_code -> predecessor old_la_codes.
PREDECESSORS = {
    "838": ["835"],  # Dorset (new) <- Dorset (county)
    "839": ["836", "837"],  # Bournemouth, Christchurch and Poole <- Poole, Bournemouth
    "940": ["928"],  # North Northamptonshire <- Northamptonshire
    "941": ["928"],  # West Northamptonshire <- Northamptonshire
    "942": ["909"],  # Cumberland <- Cumbria
    "943": ["909"],  # Westmorland and Furness <- Cumbria
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--published", type=Path, default=DEFAULT_PUBLISHED)
    args = ap.parse_args()
    years: dict[tuple[str, str, str, str, str], set[int]] = defaultdict(set)
    with open(args.published / "b1_children_in_need_2013_to_2025.csv", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            if r["geographic_level"] == "Local authority":
                key = (r["old_la_code"], r["new_la_code"], r["la_name"], r["region_code"], r["region_name"])
                years[key].add(int(r["time_period"]))
    rows = []
    for (old, new, name, rcode, rname), ys in years.items():
        rows.append({
            "old_la_code": old, "new_la_code": new, "la_name": name,
            "region_code": rcode, "region_name": rname,
            "first_year_end": min(ys), "last_year_end": max(ys),
            "predecessors": " ".join(PREDECESSORS.get(old, [])) if min(ys) > 2013 else "",
        })
    rows.sort(key=lambda r: (r["region_code"], r["la_name"], r["first_year_end"]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} LA code eras to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
