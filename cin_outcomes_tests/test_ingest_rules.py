"""The vectorised rule tests against hand-worked values: UPN check letters, collection-year bounds, X1 chains."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from cin_outcomes.ingest import rules as R
from cin_outcomes.upn import check_letter

D = dt.date


def test_check_letter_matches_the_upn_guide():
    # Worked by hand: body 318200012001 -> weights 2..13 -> 3*2+1*3+8*4+2*5+0+0+0+1*9+2*10+0+0+1*13 = 93;
    # 93 mod 23 = 1 -> "B".
    df = pl.DataFrame({"upn": ["B318200012001", "A318200012001", "UN4", None, "B31820001200"]})
    assert df.select(R.upn_check_letter_ok()).to_series().to_list() == [True, False, True, True, True]
    rng = np.random.default_rng(7)
    bodies = ["".join(map(str, rng.integers(0, 10, 12))) for _ in range(500)]
    bodies += [b[:11] + "ABCDEFGHJKLMNPQRTUVWXYZ"[i % 23] for i, b in enumerate(bodies[:100])]  # temporary UPNs
    good = [check_letter(b) + b for b in bodies]
    wrong = ["ABCDEFGHJKLMNPQRTUVWXYZ"[("ABCDEFGHJKLMNPQRTUVWXYZ".index(u[0]) + 1) % 23] + u[1:] for u in good]
    got = pl.DataFrame({"upn": good + wrong}).select(R.upn_check_letter_ok()).to_series().to_list()
    assert got == [True] * len(good) + [False] * len(wrong)


def test_collection_year_bounds_come_from_the_reporting_year():
    df = pl.DataFrame({"reporting_year": ["2019-20"] * 4 + ["2024-25"],
                       "d": [D(2019, 4, 1), D(2020, 3, 31), D(2019, 3, 31), D(2020, 4, 1), D(2025, 3, 31)]})
    assert df.select(R.within_year("d")).to_series().to_list() == [True, True, False, False, True]
    assert df.select(R.within_year("d", after_start=False)).to_series().to_list() == [True, True, True, False,
                                                                                      True]


def _episodes(rows):
    return pl.DataFrame(
        [{"reporting_year": "2024-25", "la_code": "318", "child": c, "decom": a, "dec": b, "rec": r, "ls": ls}
         for c, a, b, r, ls in rows],
        schema={"reporting_year": pl.Utf8, "la_code": pl.Utf8, "child": pl.Utf8, "decom": pl.Date, "dec": pl.Date,
                "rec": pl.Utf8, "ls": pl.Utf8}).lazy()


def test_x1_chain_in_any_row_order():
    """Rules read a child's episodes in start-date order whatever the file order: a valid X1 chain written
    backwards passes, and the failing row is reported at its own position."""
    chain = _episodes([
        ("A", D(2024, 9, 1), None, None, "C2"),
        ("A", D(2024, 6, 1), D(2024, 9, 1), "X1", "C2"),
        ("A", D(2024, 5, 1), D(2024, 6, 1), "X1", "C2"),
    ])
    assert R.x1_continuity(chain).collect()["ok"].to_list() == [True, True, True]
    assert R.episodes_do_not_overlap(chain).collect()["ok"].to_list() == [True, True, True]
    broken = _episodes([
        ("A", D(2024, 9, 2), None, None, "C2"),           # starts a day after the X1 end: 388 on the row before
        ("A", D(2024, 6, 1), D(2024, 9, 1), "X1", "C2"),
        ("B", D(2024, 6, 1), D(2024, 9, 1), "E13", "C2"),
        ("B", D(2024, 9, 1), None, None, "C2"),           # same-day start after a non-X1 end: 388 on that end
    ])
    assert R.x1_continuity(broken).collect()["ok"].to_list() == [True, False, False, True]


def test_v3_v4_per_child_and_la():
    eps = _episodes([
        ("A", D(2024, 5, 1), D(2024, 5, 2), "E13", "V3"),
        ("A", D(2024, 7, 1), D(2024, 7, 2), "E13", "V4"),
        ("B", D(2024, 5, 1), D(2024, 5, 2), "E13", "V3"),
        ("C", D(2024, 5, 1), None, None, "V4"),
    ])
    assert R.not_v3_and_v4(eps).collect()["ok"].to_list() == [False, False, True, True]
