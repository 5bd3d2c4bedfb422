"""The declarative cohort specification: labels as EES spells them, and each rule selecting the right children."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from cin_outcomes.cohorts.rules import CHILD_COLUMNS
from cin_outcomes.cohorts.spec import BY_KEY, BY_LABEL, COHORTS, EVER_6, PER_YEAR, Cohort, Kind
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.test_cohort_rules import Returns

D = dt.date
Y = ReportingYear(2024)

#: The EES data dictionary's social_care_group values (ees-screener-rules.md) plus Ever CLA / Ever CPP.
EES_LABELS = [
    "CIN at 31 March", "CINO at 31 March", "CPPO at 31 March", "CLA at 31 March", "CLA 12 months at 31 March",
    "CLA less than 12 months at 31 March", "CIN at any point", "CINO at any point", "CPPO at any point",
    "CLA at any point", "Ever CIN - last 6 years", "Ever CLA - last 6 years", "Ever CPP - last 6 years",
]


def test_every_publication_cohort_is_defined_once_with_its_ees_label():
    assert [c.label for c in COHORTS] == EES_LABELS
    assert len(BY_KEY) == len(BY_LABEL) == len(COHORTS) == 13
    assert all(re.fullmatch(r"[a-z0-9_]+", c.key) for c in COHORTS)  # valid Dagster asset key parts
    assert [c.kind for c in COHORTS].count(Kind.AT_31_MARCH) == 6
    assert [c.kind for c in COHORTS].count(Kind.AT_ANY_POINT) == 4
    assert [c.label for c in EVER_6] == EES_LABELS[-3:]
    assert all(c.description.endswith(".") and len(c.description) > 40 for c in COHORTS)


def _england() -> pl.DataFrame:
    """Five children with different social care histories in 2024-25, one LA."""
    r = Returns()
    r.child("cino")  # episode open at 31 March
    r.episode("cino", referral=D(2024, 5, 1))
    r.child("cpp")  # plan open at 31 March
    ep = r.episode("cpp", referral=D(2024, 5, 1))
    r.cpp("cpp", ep, start=D(2024, 6, 1))
    r.child("closed")  # episode closed in the year
    r.episode("closed", referral=D(2024, 5, 1), closure=D(2024, 7, 1))
    r.header("cla12")  # looked after for years
    r.cla("cla12", decom=D(2021, 1, 1))
    r.header("cla_new")  # came into care in the year, then a plan ended when they came into care
    r.child("cla_new")
    ep = r.episode("cla_new", referral=D(2024, 4, 20))
    r.cpp("cla_new", ep, start=D(2024, 5, 1), end=D(2024, 9, 1))
    r.cla("cla_new", decom=D(2024, 9, 1))
    return r.membership()


EXPECTED = {
    "CIN at 31 March": ["cino", "cla12", "cla_new", "cpp"],
    "CINO at 31 March": ["cino"],
    "CPPO at 31 March": ["cpp"],
    "CLA at 31 March": ["cla12", "cla_new"],
    "CLA 12 months at 31 March": ["cla12"],
    "CLA less than 12 months at 31 March": ["cla_new"],
    "CIN at any point": ["cino", "cla12", "cla_new", "closed", "cpp"],
    "CINO at any point": ["cino", "closed"],
    "CPPO at any point": ["cpp"],  # cla_new had a plan but was looked after during the year
    "CLA at any point": ["cla12", "cla_new"],
}


@pytest.mark.parametrize("cohort", PER_YEAR, ids=lambda c: c.key)
def test_per_year_rule_selects_the_cohort(cohort: Cohort):
    frame = cohort.select(_england())
    assert frame.columns == CHILD_COLUMNS
    assert sorted(frame["la_child_id"]) == EXPECTED[cohort.label]


@pytest.mark.parametrize("cohort", EVER_6, ids=lambda c: c.key)
def test_ever_rule_selects_over_six_years(cohort: Cohort):
    memberships = {Y - 5: _england().with_columns(reporting_year=pl.lit((Y - 5).label)), Y: Returns().membership()}
    expected = {"Ever CIN - last 6 years": ["cino", "cla12", "cla_new", "closed", "cpp"],
                "Ever CLA - last 6 years": ["cla12", "cla_new"],
                "Ever CPP - last 6 years": ["cla_new", "cpp"]}[cohort.label]
    frame = cohort.select_ever(memberships, Y)
    assert frame.columns == CHILD_COLUMNS
    assert sorted(frame["la_child_id"]) == expected
    assert set(frame["reporting_year"]) == {"2024-25"}
    # Six years before is outside the window.
    older = {Y - 6: memberships[Y - 5].with_columns(reporting_year=pl.lit((Y - 6).label)), Y: memberships[Y]}
    assert cohort.select_ever(older, Y).height == 0


def test_a_new_cohort_is_one_entry():
    cpp = Cohort("cpp_at_31_march", "CPP at 31 March", "Children on a child protection plan on 31 March.",
                 Kind.AT_31_MARCH, pl.col("cpp_at31"))
    assert sorted(cpp.select(_england())["la_child_id"]) == ["cpp"]
    both = Cohort("cin_not_cla_at_31_march", "CIN not CLA", "Children in need on 31 March who were not looked after.",
                  Kind.AT_31_MARCH, pl.col("cin_at31") & ~pl.col("cla_at31"))
    assert sorted(both.select(_england())["la_child_id"]) == ["cino", "cpp"]


def test_kinds_cannot_be_mixed_up():
    with pytest.raises(TypeError):
        BY_KEY["ever_cin_last_6_years"].select(_england())
    with pytest.raises(TypeError):
        BY_KEY["cin_at_31_march"].select_ever({Y: _england()})
