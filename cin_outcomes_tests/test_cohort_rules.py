"""Cohort rules on hand-built returns, one test per edge case. Reporting year 2024-25: 1 April 2024 - 31 March 2025.

Expected memberships are worked out by hand from domain.md §2.3 and written out in each test.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cin_outcomes.cohorts.rules import (
    FLAGS, cohort_counts, ever_in_last_6_years, national_count, per_year_membership, valid_upn,
)
from cin_outcomes.tables import CIN_TABLES, SSDA903_TABLES, conform, empty
from cin_outcomes.upn import make_upn
from cin_outcomes.years import ReportingYear

Y = ReportingYear(2024)
D = dt.date
UPN_A = make_upn("201", 2001, 12, 1)
UPN_B = make_upn("202", 3002, 14, 7)
UPN_C = make_upn("201", 2001, 15, 9)


def _frame(schema: dict, rows: list[dict]) -> pl.DataFrame:
    return conform(pl.DataFrame(rows, infer_schema_length=None), schema) if rows else empty(schema)


class Returns:
    """Builds one or more LAs' CIN census and SSDA903 tables from terse rows."""

    def __init__(self, year: ReportingYear = Y):
        self.year = year
        self.rows: dict[str, list[dict]] = {}
        self._ep_no: dict[tuple, int] = {}

    def _add(self, table: str, row: dict, la: str, year: ReportingYear | None) -> dict:
        row = {"reporting_year": (year or self.year).label, "la_code": la, **row}
        self.rows.setdefault(table, []).append(row)
        return row

    def child(self, cid, la="201", upn=None, year=None, **kw):
        return self._add("cin_children", {"la_child_id": cid, "upn": upn, "birth_date": D(2012, 5, 1),
                                          "sex": "F", "ethnicity": "WBRI", **kw}, la, year)

    def episode(self, cid, referral, closure=None, reason=None, nfa=False, la="201", year=None):
        n = self._ep_no[(la, cid)] = self._ep_no.get((la, cid), 0) + 1
        if reason is None and closure is not None:
            reason = "RC7"
        self._add("cin_episodes", {"la_child_id": cid, "episode_number": n, "referral_date": referral,
                                   "closure_date": closure, "closure_reason": reason, "referral_nfa": nfa,
                                   "primary_need": None if nfa else "N1"}, la, year)
        return n

    def cpp(self, cid, episode, start, end=None, la="201", year=None):
        self._add("child_protection_plans", {"la_child_id": cid, "episode_number": episode,
                                             "start_date": start, "end_date": end}, la, year)

    def header(self, cid, la="201", upn=None, year=None):
        self._add("Header", {"child": cid, "sex": "M", "dob": D(2010, 1, 2), "ethnic": "BAFR", "upn": upn},
                  la, year)

    def cla(self, cid, decom, dec=None, rne="S", ls="C2", rec=..., la="201", year=None):
        if rec is ...:
            rec = None if dec is None else "E4A"
        self._add("Episodes", {"child": cid, "decom": decom, "rne": rne, "ls": ls, "dec": dec, "rec": rec},
                  la, year)

    def tables(self) -> dict[str, pl.DataFrame]:
        schemas = {**CIN_TABLES, **SSDA903_TABLES}
        return {name: _frame(schemas[name], self.rows.get(name, [])) for name in schemas}

    def membership(self) -> pl.DataFrame:
        return per_year_membership(self.year, self.tables())


def flags_of(m: pl.DataFrame, cid: str, la: str = "201") -> set[str]:
    """The flags that are true for one child."""
    row = m.filter((pl.col("la_code") == la) & (pl.col("la_child_id") == cid))
    assert row.height == 1, f"expected one row for {la}/{cid}, got {row.height}"
    return {f for f in FLAGS if row[f][0]}


CIN31 = {"cin_at31", "cino_at31", "cin_anypoint", "cino_anypoint"}
CIN_ANY = {"cin_anypoint", "cino_anypoint"}


# --- CIN episodes -------------------------------------------------------------------------------------------------

def test_referral_open_on_31_march_is_cin_at_31_march():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2025, 3, 31))  # referred on 31 March itself, no closure date
    assert flags_of(r.membership(), "c1") == CIN31


def test_episode_closed_on_31_march_is_not_open_at_31_march():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2024, 6, 1), closure=D(2025, 3, 31))
    assert flags_of(r.membership(), "c1") == CIN_ANY


def test_episode_closed_on_1_april_overlaps_the_year_only():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2023, 11, 5), closure=D(2024, 4, 1))  # open at 1 April, closed that day
    assert flags_of(r.membership(), "c1") == CIN_ANY


def test_closure_after_31_march_leaves_the_episode_open_at_31_march():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2024, 12, 1), closure=D(2025, 4, 1))
    assert flags_of(r.membership(), "c1") == CIN31


def test_episode_closed_before_the_year_is_not_in_need_this_year():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2023, 6, 1), closure=D(2024, 3, 31))
    assert flags_of(r.membership(), "c1") == set()


def test_nfa_referral_is_excluded():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2025, 1, 10), closure=D(2025, 1, 10), reason="RC8", nfa=True)
    r.child("c2")
    r.episode("c2", referral=D(2025, 2, 1), nfa=True)  # NFA without a closure date is still excluded
    m = r.membership()
    assert m.height == 2  # the children are in the return, in no group
    assert flags_of(m, "c1") == set() and flags_of(m, "c2") == set()


def test_rc8_closed_after_assessment_not_in_need_is_excluded():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2024, 7, 1), closure=D(2024, 8, 15), reason="RC8")
    r.child("c2")  # RC9: assessed, referred to early help -> was in need during the year
    r.episode("c2", referral=D(2024, 7, 1), closure=D(2024, 8, 15), reason="RC9")
    m = r.membership()
    assert flags_of(m, "c1") == set()
    assert flags_of(m, "c2") == CIN_ANY


def test_rc8_episode_does_not_hide_another_open_episode():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2024, 5, 1), closure=D(2024, 6, 1), reason="RC8")
    r.episode("c1", referral=D(2024, 9, 1))
    assert flags_of(r.membership(), "c1") == CIN31


# --- Child protection plans ---------------------------------------------------------------------------------------

def test_cpp_ending_before_31_march():
    r = Returns()
    r.child("c1")
    ep = r.episode("c1", referral=D(2024, 5, 1))  # episode still open at 31 March
    r.cpp("c1", ep, start=D(2024, 6, 1), end=D(2025, 2, 1))
    # At 31 March: in need, not on a plan -> CINO. During the year: on a plan -> CPPO at any point, not CINO.
    assert flags_of(r.membership(), "c1") == {"cin_at31", "cino_at31", "cin_anypoint", "cpp_anypoint",
                                             "cppo_anypoint"}


def test_cpp_open_at_31_march_is_cppo():
    r = Returns()
    r.child("c1")
    ep = r.episode("c1", referral=D(2024, 5, 1))
    r.cpp("c1", ep, start=D(2024, 6, 1))
    assert flags_of(r.membership(), "c1") == {"cin_at31", "cpp_at31", "cppo_at31", "cin_anypoint",
                                             "cpp_anypoint", "cppo_anypoint"}


# --- Looked after children ----------------------------------------------------------------------------------------

def test_hierarchy_cla_and_cpp_child_is_cla_only():
    r = Returns()
    r.child("c1")
    ep = r.episode("c1", referral=D(2024, 5, 1))
    r.cpp("c1", ep, start=D(2024, 6, 1))
    r.header("c1")
    r.cla("c1", decom=D(2024, 9, 1))
    # On a plan and looked after: in CIN (which includes both) and CLA, not CPPO, not CINO.
    assert flags_of(r.membership(), "c1") == {"cin_at31", "cpp_at31", "cla_at31", "cla_lt12m_at31",
                                             "cin_anypoint", "cpp_anypoint", "cla_anypoint"}


def test_looked_after_child_missing_from_cin_census_is_cin():
    r = Returns()
    r.header("k1", upn=UPN_A)
    r.cla("k1", decom=D(2020, 1, 1))
    m = r.membership()
    assert flags_of(m, "k1") == {"cin_at31", "cla_at31", "cla_12m_at31", "cin_anypoint", "cla_anypoint"}
    assert m["upn"].to_list() == [UPN_A]


def test_cla_episode_ceased_on_31_march_is_not_looked_after_at_31_march():
    r = Returns()
    r.header("k1")
    r.cla("k1", decom=D(2022, 1, 1), dec=D(2025, 3, 31), rec="E4A")
    assert flags_of(r.membership(), "k1") == {"cin_anypoint", "cla_anypoint"}


def test_respite_only_child_is_not_looked_after():
    r = Returns()
    r.child("r1")  # disabled child in need, with short breaks
    r.episode("r1", referral=D(2022, 1, 1))
    r.header("r1")
    r.cla("r1", decom=D(2024, 5, 3), dec=D(2024, 5, 10), ls="V3", rec="E8")
    r.cla("r1", decom=D(2025, 3, 28), ls="V3")  # a break open on 31 March
    assert flags_of(r.membership(), "r1") == CIN31 | {"respite_only"}


def test_v3_then_full_care_is_looked_after_less_than_12_months():
    r = Returns()
    r.header("k1")
    r.cla("k1", decom=D(2024, 5, 3), dec=D(2024, 5, 10), ls="V3", rec="E8")
    r.cla("k1", decom=D(2024, 10, 1), ls="C2")
    # Latest episode is full care -> CLA; a V3 episode in the year breaks "continuously looked after".
    assert flags_of(r.membership(), "k1") == {"cin_at31", "cla_at31", "cla_lt12m_at31", "cin_anypoint",
                                             "cla_anypoint"}


def test_full_care_then_respite_as_latest_episode_is_excluded():
    r = Returns()
    r.header("k1")
    r.cla("k1", decom=D(2023, 1, 1), dec=D(2024, 8, 1), ls="C2", rec="E4A")
    r.cla("k1", decom=D(2024, 12, 1), dec=D(2024, 12, 5), ls="V3", rec="E8")
    assert flags_of(r.membership(), "k1") == set()


def test_period_of_care_broken_by_a_day_versus_x1_chain():
    r = Returns()
    r.header("broken")
    r.cla("broken", decom=D(2023, 1, 1), dec=D(2024, 9, 30), rec="E4A")
    r.cla("broken", decom=D(2024, 10, 1), rne="S")  # back in care the next day: a new period of care
    r.header("chain")
    r.cla("chain", decom=D(2023, 1, 1), dec=D(2024, 9, 30), rec="X1")
    r.cla("chain", decom=D(2024, 9, 30), rne="P")  # placement change, same day
    m = r.membership()
    cla = {"cin_at31", "cla_at31", "cin_anypoint", "cla_anypoint"}
    assert flags_of(m, "broken") == cla | {"cla_lt12m_at31"}
    assert flags_of(m, "chain") == cla | {"cla_12m_at31"}


def test_care_starting_exactly_12_months_before_31_march():
    r = Returns()
    r.header("on_1_april")
    r.cla("on_1_april", decom=D(2024, 4, 1))  # 1 April 2024 - 31 March 2025 is 12 months
    r.header("on_2_april")
    r.cla("on_2_april", decom=D(2024, 4, 2))
    r.header("on_31_march")
    r.cla("on_31_march", decom=D(2024, 3, 31))
    m = r.membership()
    cla = {"cin_at31", "cla_at31", "cin_anypoint", "cla_anypoint"}
    assert flags_of(m, "on_1_april") == cla | {"cla_12m_at31"}
    assert flags_of(m, "on_2_april") == cla | {"cla_lt12m_at31"}
    assert flags_of(m, "on_31_march") == cla | {"cla_12m_at31"}


def test_left_care_before_31_march_with_missing_rec_breaks_continuity():
    r = Returns()
    r.header("k1")
    r.cla("k1", decom=D(2020, 1, 1), dec=D(2024, 6, 1), rec=None)  # a blank REC is not X1
    r.cla("k1", decom=D(2024, 6, 1), rne="P")
    assert flags_of(r.membership(), "k1") == {"cin_at31", "cla_at31", "cla_lt12m_at31", "cin_anypoint",
                                             "cla_anypoint"}


# --- Identifiers, LAs and years -----------------------------------------------------------------------------------

def test_child_in_two_las_counts_in_each_and_once_nationally():
    r = Returns()
    r.child("a1", la="201", upn=UPN_A)
    r.episode("a1", referral=D(2024, 5, 1), closure=D(2024, 11, 1), la="201", reason="RC5")
    r.child("b7", la="202", upn=UPN_A)  # moved: same UPN, the new LA's own identifier
    r.episode("b7", referral=D(2024, 11, 2), la="202")
    r.child("b8", la="202", upn=UPN_B)
    r.episode("b8", referral=D(2024, 6, 1), la="202")
    m = r.membership()
    assert flags_of(m, "a1", la="201") == CIN_ANY
    assert flags_of(m, "b7", la="202") == CIN31
    assert national_count(m, "cin_anypoint") == 2  # a1/b7 is one child, b8 another
    assert national_count(m, "cin_at31") == 2
    counts = cohort_counts(m, "cin_anypoint")
    assert counts.to_dicts() == [
        {"la_code": "201", "children": 1, "children_without_upn": 0},
        {"la_code": "202", "children": 2, "children_without_upn": 0},
        {"la_code": None, "children": 2, "children_without_upn": 0},
    ]


def test_missing_upn():
    r = Returns()
    r.child("n1", upn=None, upn_unknown="UN1")
    r.episode("n1", referral=D(2024, 5, 1))
    r.child("n2", upn=("B" if UPN_A[0] != "B" else "C") + UPN_A[1:])  # wrong check letter
    r.episode("n2", referral=D(2024, 5, 1))
    r.child("n3", upn=None, former_upn=UPN_C)  # only a former UPN
    r.episode("n3", referral=D(2024, 5, 1))
    r.child("n4", upn=None)  # UPN only on the 903 header
    r.episode("n4", referral=D(2024, 5, 1))
    r.header("n4", upn=UPN_B)
    r.child("m1", la="202", upn=None)  # no UPN in another LA: cannot be matched to n1
    r.episode("m1", referral=D(2024, 5, 1), la="202")
    m = r.membership()
    upns = dict(zip(m["la_child_id"], m["upn"]))
    assert upns == {"n1": None, "n2": None, "n3": UPN_C, "n4": UPN_B, "m1": None}
    assert national_count(m, "cin_at31") == 5
    counts = cohort_counts(m, "cin_at31")
    assert counts.to_dicts() == [
        {"la_code": "201", "children": 4, "children_without_upn": 2},
        {"la_code": "202", "children": 1, "children_without_upn": 1},
        {"la_code": None, "children": 5, "children_without_upn": 3},
    ]


def test_other_years_and_las_are_filtered_by_reporting_year():
    r = Returns()
    r.child("c1")
    r.episode("c1", referral=D(2024, 5, 1))
    r.child("c1", year=Y - 1)  # last year's return of the same LA
    r.episode("c1", referral=D(2023, 5, 1), closure=D(2024, 1, 1), year=Y - 1)
    r.header("k9", la="305", year=Y + 1)
    r.cla("k9", decom=D(2025, 5, 1), la="305", year=Y + 1)
    m = r.membership()
    assert m.select("reporting_year", "la_code", "la_child_id").rows() == [("2024-25", "201", "c1")]
    assert flags_of(m, "c1") == CIN31


def test_characteristics_come_from_cin_census_then_903():
    r = Returns()
    r.child("c1", upn=UPN_A)
    r.episode("c1", referral=D(2024, 5, 1))
    r.header("c1", upn=UPN_B)
    r.cla("c1", decom=D(2024, 6, 1))
    r.header("k2")
    r.cla("k2", decom=D(2024, 6, 1))
    m = r.membership().sort("la_child_id")
    assert m.select("la_child_id", "upn", "birth_date", "sex", "ethnicity").rows() == [
        ("c1", UPN_A, D(2012, 5, 1), "F", "WBRI"),
        ("k2", None, D(2010, 1, 2), "M", "BAFR"),
    ]


def test_valid_upn_matches_the_check_letter_rule():
    good = make_upn("201", 2001, 12, 1)
    wrong_letter = ("B" if good[0] != "B" else "C") + good[1:]
    df = pl.DataFrame({"u": [good, wrong_letter, "UN2", good.lower(), None]})
    assert df.select(v=valid_upn("u"))["v"].to_list() == [good, None, None, None, None]


# --- Ever in the last 6 years -------------------------------------------------------------------------------------

def _year_with(year: ReportingYear, children: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    """A membership frame for ``year`` where the given (la, id, upn) children were in need during the year."""
    r = Returns(year)
    for la, cid, upn in children:
        r.child(cid, la=la, upn=upn)
        r.episode(cid, referral=year.start_date + dt.timedelta(days=40), la=la)
    return r.membership()


def test_ever_6_window_five_years_before_is_in_six_is_out():
    target = ReportingYear(2024)
    memberships = {y: _year_with(y, []) for y in [target - k for k in range(7)]}
    memberships[target - 6] = _year_with(target - 6, [("201", "old", None)])   # 2018-19: outside
    memberships[target - 5] = _year_with(target - 5, [("201", "edge", None)])  # 2019-20: first year of window
    ever = ever_in_last_6_years(memberships, "cin_anypoint", target)
    assert ever.select("reporting_year", "la_code", "la_child_id").rows() == [("2024-25", "201", "edge")]
    # Without an explicit year the latest year in the dict is the target; 2018-19 still falls outside.
    assert ever_in_last_6_years(memberships, "cin_anypoint")["la_child_id"].to_list() == ["edge"]
    # For 2023-24 the window is 2018-19 to 2023-24: both are in.
    assert sorted(ever_in_last_6_years(memberships, "cin_anypoint", target - 1)["la_child_id"]) == ["edge", "old"]


def test_ever_6_counts_a_child_in_each_la_and_once_nationally():
    target = ReportingYear(2024)
    memberships = {
        target - 4: _year_with(target - 4, [("201", "a1", UPN_A), ("201", "n1", None)]),
        target - 3: _year_with(target - 3, [("201", "a1", None), ("201", "n1", None)]),  # UPN missing this year
        target - 1: _year_with(target - 1, [("202", "b7", UPN_A), ("202", "m1", None)]),  # a1 moved to 202
        target: _year_with(target, [("202", "b7", UPN_A)]),
    }
    ever = ever_in_last_6_years(memberships, "cin_anypoint", target)
    assert ever.select("la_code", "la_child_id", "upn").rows() == [
        ("201", "a1", UPN_A),  # the UPN of the latest year that had one
        ("201", "n1", None),
        ("202", "b7", UPN_A),
        ("202", "m1", None),
    ]
    assert national_count(ever) == 3  # a1 = b7 by UPN; n1 and m1 cannot be matched
    assert cohort_counts(ever)["children"].to_list() == [2, 2, 3]
    assert ever.filter(pl.col("la_child_id").is_in(["a1", "b7"]))["child_key"].n_unique() == 1


def test_ever_cla_uses_the_looked_after_at_any_point_flag():
    target = ReportingYear(2024)
    r = Returns(target - 2)
    r.header("k1")
    r.cla("k1", decom=D(2022, 6, 1), dec=D(2022, 9, 1), rec="E4A")
    r.header("k2")  # respite only: never looked after
    r.cla("k2", decom=D(2022, 6, 1), dec=D(2022, 6, 3), ls="V3", rec="E8")
    ever = ever_in_last_6_years({target - 2: r.membership(), target: _year_with(target, [])}, "cla_anypoint")
    assert ever["la_child_id"].to_list() == ["k1"]
    assert ever["reporting_year"].to_list() == ["2024-25"]


@pytest.mark.parametrize("flag", ["cin_anypoint", "cla_anypoint", "cpp_anypoint"])
def test_ever_6_with_nobody_is_empty(flag):
    ever = ever_in_last_6_years({Y: _year_with(Y, [])}, flag)
    assert ever.height == 0
    assert cohort_counts(ever).to_dicts() == [{"la_code": None, "children": 0, "children_without_upn": 0}]
