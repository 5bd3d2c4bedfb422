"""Read the shipped LA lookup without importing the package (the script may run before it is installed)."""

import csv
from pathlib import Path


def las_years(root: Path) -> dict[str, tuple[int, int, str]]:
    """old_la_code -> (first year end, last year end, predecessors) over all its code eras."""
    out: dict[str, tuple[int, int, str]] = {}
    with open(root / "cin_outcomes" / "reference" / "las.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            a, b = int(r["first_year_end"]), int(r["last_year_end"])
            if r["old_la_code"] in out:
                a0, b0, p0 = out[r["old_la_code"]]
                a, b = min(a, a0), max(b, b0)
                r["predecessors"] = p0 or r["predecessors"]
            out[r["old_la_code"]] = (a, b, r["predecessors"])
    return out
