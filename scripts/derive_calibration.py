"""Derive the synthetic generator's calibration tables from DfE's published files.

The product never reads ``../shared`` at run time: this script turns the real published files into small tables
shipped inside the package (``cin_outcomes/synthetic/params/``). Run it from the project root after the published
files change:  python scripts/derive_calibration.py [--published DIR]

Outputs
- ``la_targets.csv``: per LA and reporting year (year ending 31 March): child population aged 0-17, CIN at
  31 March, CIN at any point, CIN starting and ending, CPP at 31 March, CLA at 31 March, starting and ceasing.
  Suppressed or missing LA values (``c``, ``x``, ``u``, Hackney 2021-2022, Hampshire CPP 2024) are imputed from the
  LA's nearest published years scaled by the national trend; CLA before 2021 is the LA's 2021 share of the
  national CLA figure for that year. Every imputed cell is flagged in ``imputed``.
- ``national_targets.csv``: the published national figures per year, the calibration report's yardstick.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PUBLISHED = ROOT.parent / "shared" / "reference" / "published"
PARAMS = ROOT / "cin_outcomes" / "synthetic" / "params"

YEARS = list(range(2013, 2026))  # year ending 31 March
# National CLA at 31 March before the LA file starts (domain.md §5.1, first-published values; 2013, 2014 and
# 2016 are interpolated / extrapolated from 2015 and 2017 and marked imputed).
CLA_NATIONAL_EARLY = {2015: 69540, 2017: 72590, 2018: 75420, 2019: 78150, 2020: 80000}
CLA_FLOW_EARLY = {2020: (30970, 29590)}  # starting, ceasing (as published 2020)


def _num(v: str) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--published", type=Path, default=DEFAULT_PUBLISHED)
    args = ap.parse_args()
    pub = args.published

    la_rows: dict[str, dict[int, dict[str, float | None]]] = defaultdict(lambda: defaultdict(dict))
    national: dict[int, dict[str, float | None]] = defaultdict(dict)

    def put(r: dict[str, str], field: str, value: float | None) -> None:
        y = int(r["time_period"])
        if r["geographic_level"] == "National":
            national[y][field] = value
        elif r["geographic_level"] == "Local authority":
            la_rows[r["old_la_code"]][y][field] = value

    for r in _read(pub / "b1_children_in_need_2013_to_2025.csv"):
        put(r, "cin_at31", _num(r["At31_episodes"]))
        put(r, "cin_anypoint", _num(r["Anypoint_child"]))
        put(r, "cin_started", _num(r["Started_child"]))
        put(r, "cin_ended", _num(r["Ended_child"]))
        put(r, "awaiting_assessment", _num(r["awaiting_assessment"]))
    for r in _read(pub / "d5_cpps_at31march_by_duration_2013_to_2025.csv"):
        put(r, "cpp_at31", _num(r["CPP_At31"]))
    cla_field = {
        "Children looked after on 31 March each year": "cla_at31",
        "Children starting to be looked after each year": "cla_started",
        "Children ceasing to be looked after each year": "cla_ceased",
    }
    for r in _read(pub / "cla_number_and_rate_per_10k_children.csv"):
        put(r, cla_field[r["population_type"]], _num(r["children_count"]))
        put(r, "population_0_17", _num(r["population_estimate"]))

    # Early national CLA figures.
    for y, v in CLA_NATIONAL_EARLY.items():
        national[y].setdefault("cla_at31", v)
    for y, (s, c) in CLA_FLOW_EARLY.items():
        national[y].setdefault("cla_started", s)
        national[y].setdefault("cla_ceased", c)
    n15, n17 = national[2015]["cla_at31"], national[2017]["cla_at31"]
    national[2016]["cla_at31"] = round((n15 + n17) / 2)
    national[2014]["cla_at31"] = round(n15 - (n17 - n15) / 2)
    national[2013]["cla_at31"] = round(n15 - (n17 - n15))
    for y in YEARS:
        if national[y].get("cla_started") is None:  # flows before 2020: the 2021 flow/stock ratio
            for f in ("cla_started", "cla_ceased"):
                national[y][f] = round(national[2021][f] / national[2021]["cla_at31"] * national[y]["cla_at31"])
        if national[y].get("population_0_17") is None:
            national[y]["population_0_17"] = national[2021]["population_0_17"]

    fields = ["population_0_17", "cin_at31", "cin_anypoint", "cin_started", "cin_ended", "cpp_at31",
              "cla_at31", "cla_started", "cla_ceased"]
    out = []
    from cin_outcomes_geography_shim import las_years  # noqa: E402  (local helper below)

    for la, (first, last, preds) in sorted(las_years(ROOT).items()):
        rows = la_rows.get(la, {})
        for y in range(max(first, YEARS[0]), min(last, YEARS[-1]) + 1):
            rec = {"old_la_code": la, "year_end": y}
            imputed = []
            for f in fields:
                v = rows.get(y, {}).get(f)
                if v is None:
                    v = _impute(la, y, f, la_rows, national, preds)
                    imputed.append(f)
                rec[f] = int(round(v))
            rec["imputed"] = " ".join(imputed)
            out.append(rec)
    PARAMS.mkdir(parents=True, exist_ok=True)
    _write(PARAMS / "la_targets.csv", out)
    nat = [{"year_end": y, **{f: int(national[y][f]) for f in fields if national[y].get(f) is not None}}
           for y in YEARS]
    _write(PARAMS / "national_targets.csv", nat)
    print(f"wrote {len(out)} LA-year rows and {len(nat)} national rows to {PARAMS.relative_to(ROOT)}")


def _impute(la, y, f, la_rows, national, preds) -> float:
    """The LA's share of the national figure in its nearest year with a published value, times this year's national."""
    rows = la_rows.get(la, {})
    have = [yy for yy, r in rows.items() if r.get(f) is not None and national[yy].get(f)]
    if not have and preds:
        # a successor LA before it existed, or a predecessor: share inherited from the family of codes
        fam = [p for p in preds.split()]
        have_f = [(yy, sum(la_rows[p][yy].get(f) or 0 for p in fam)) for yy in YEARS
                  if all(la_rows.get(p, {}).get(yy, {}).get(f) is not None for p in fam) and national[yy].get(f)]
        if have_f:
            yy, v = min(have_f, key=lambda t: abs(t[0] - y))
            return v / national[yy][f] * national[y][f] / max(len(fam), 1)
    if not have:
        # predecessor LAs with no CLA/population columns (the CLA file starts in 2021): share of CIN at 31 March
        base = [yy for yy, r in rows.items() if r.get("cin_at31") is not None]
        yy = min(base, key=lambda t: abs(t - y))
        share = rows[yy]["cin_at31"] / national[yy]["cin_at31"]
        return share * national[y][f]
    yy = min(have, key=lambda t: abs(t - y))
    return rows[yy][f] / national[yy][f] * national[y][f]


def _write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
