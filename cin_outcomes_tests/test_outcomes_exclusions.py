"""Suspensions and permanent exclusions on the hand-built children (linkage_fixtures.py), figures by hand.

The tables of reporting year 2024-25 show exclusions of academic year 2023/24 for the groups at 31 March 2024
(the fixture's year): the real files lag one year (the 2022 release's exclusions end in 2020/21, with the same
pupil numbers as its school type table for that year).

Exclusions 2023/24: A two suspensions; B one permanent exclusion and one suspension; C_OLD one suspension; Q three
suspensions; Z (not on any census roll) one permanent exclusion. The population is the spring census: A, B, C_OLD,
E, P, Q (6 pupils; Z is not in it).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cin_outcomes.outcomes import checks
from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.upn import make_upn
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.linkage_fixtures import PRIMARY, SECONDARY, TP, UPN, Y, census, cell, children, module

EXC = FAMILIES["exclusions"]
CIN, CINO, CPPO, ALL = "CIN at 31 March", "CINO at 31 March", "CPPO at 31 March", "All pupils comparison"


def exclusion_rows() -> pl.DataFrame:
    def ex(upn, cat, n=1):
        return [dict(AcademicYear="2023/24", UPN=upn, LA="202", LAESTAB=1, URN=1, Category=cat,
                     ExclusionStartDate=dt.date(2023, 11, 1 + i), ExclusionSessions=2 if cat == "SUSP" else None)
                for i in range(n)]
    rows = (ex(UPN["A"], "SUSP", 2) + ex(UPN["B"], "PERM") + ex(UPN["B"], "SUSP") + ex(UPN["C_OLD"], "SUSP")
            + ex(UPN["Q"], "SUSP", 3) + ex(make_upn("318", 2001, 12, 99), "PERM"))
    return module("exclusions", rows)


@pytest.fixture(scope="module")
def ds() -> pl.DataFrame:
    return linked_dataset(EXC, children(), {"school_census": census(), "exclusions": exclusion_rows()}, Y)


@pytest.fixture(scope="module")
def agg(ds) -> pl.DataFrame:
    return aggregate(ds, EXC.measures, by=["phase_type_grouping"], levels=["National", "Local authority"])


def test_lag_one_year():
    assert EXC.lag == 1 and EXC.academic_year("2024-25") == Y
    assert EXC.academic_year(ReportingYear(2018)).label == "2017-18"


def test_time_period_is_the_academic_year_of_the_exclusions(ds):
    assert ds["time_period"].unique().to_list() == [TP]


def _f(r):
    return r["t_pupils"], r["t_perm_excl"], r["t_one_plus_sus"], r["t_susp"]


def test_rates(agg):
    # All pupils: 6 on roll; permanently excluded B (1 of 6); one or more suspensions A, B, C, Q (4 of 6);
    # suspensions 2 + 1 + 1 + 3 = 7, i.e. 116.67 per 100 pupils (a rate, not a percentage).
    a = cell(agg, "National", ALL)
    assert _f(a) == (6, 1, 4, 7)
    assert a["pt_perm_excl"] == pytest.approx(100 / 6)
    assert a["pt_one_plus_sus"] == pytest.approx(400 / 6)
    assert a["susp_rate"] == pytest.approx(700 / 6)
    # CIN in England: A (once), B, C, E: perm 1 (25%), one or more 3 (75%), 4 suspensions.
    c = cell(agg, "National", CIN)
    assert _f(c) == (4, 1, 3, 4) and (c["pt_perm_excl"], c["pt_one_plus_sus"], c["susp_rate"]) == (25.0, 75.0, 100.0)
    # CINO: A and E: one or more 1 of 2; Birmingham's CINO (E) none: 0%, not missing.
    assert cell(agg, "National", CINO)["pt_one_plus_sus"] == 50.0
    r = cell(agg, "Local authority", CINO, la="330")
    assert (r["t_pupils"], r["t_one_plus_sus"], r["pt_one_plus_sus"]) == (1, 0, 0.0)
    assert cell(agg, "National", CPPO)["pt_perm_excl"] == 100.0


def test_by_school_phase_from_the_census(agg):
    # CIN secondary: B and C (perm 1, one or more 2); primary: A and E (one or more: A).
    assert _f(cell(agg, "National", CIN, phase_type_grouping=SECONDARY)) == (2, 1, 2, 2)
    assert _f(cell(agg, "National", CIN, phase_type_grouping=PRIMARY)) == (2, 0, 1, 2)


def test_checks_pass_with_a_suspension_rate_above_100(ds):
    table = checks.headline(EXC, ds)
    ok, meta = checks.rates_within_bounds(EXC, table)
    assert ok, meta
    ok, meta = checks.groups_add_up(EXC, table, ds)
    assert ok, meta
    assert len(meta["relations_checked"]) == 3  # groups absent from the data count as zero


def test_groups_add_up_fails_when_a_part_is_lost(ds):
    broken = ds.filter(pl.col("social_care_group") != CPPO)  # B's CPPO row gone: Camden CIN 2 != CINO 1 + CLA 0
    ok, meta = checks.groups_add_up(EXC, checks.headline(EXC, broken), broken)
    assert not ok
    rules = {(p["rule"], p.get("column")) for p in meta["failures_by_rule"]}
    assert ("CINO at 31 March + CPPO at 31 March + CLA at 31 March = CIN at 31 March in each LA", "t_pupils") in rules
    assert all(p["las"] == ["202"] for p in meta["failures_by_rule"] if "las" in p)
    # England: CIN has 4 children, CINO 2 + CPPO 0 + CLA 1 = 3 < 4.
    assert any(p["rule"].endswith("at least CIN at 31 March in England") for p in meta["failures_by_rule"])
