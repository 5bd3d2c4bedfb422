"""Absence (six half terms) on the hand-built children (linkage_fixtures.py); every figure worked out by hand.

Enrolments, academic year 2023/24 (sessions possible / authorised / unauthorised / overall):

| pupil | school phase                              | possible | auth | unauth | overall |
|-------|-------------------------------------------|----------|------|--------|---------|
| A     | State-funded primary                      | 300      | 20   | 10     | 30      |
| B     | State-funded secondary                    | 200      | 30   | 50     | 80      |
| B     | State-funded alternative provision school | 100      | 10   | 40     | 50      |
| C_OLD | State-funded secondary                    | 320      | 8    | 0      | 8       |
| E     | State-funded primary                      | 280      | 14   | 13     | 27      |
| P     | State-funded primary                      | 0        | 0    | 0      | 0       |
| Q     | State-funded secondary                    | 310      | 100  | 60     | 160     |

P has no possible sessions and is not in the population. B's total over both schools: 300 possible, 130 overall
(43.3%: persistently absent, not severely); at the AP school alone 50 of 100 (severe).
"""

from __future__ import annotations

import polars as pl
import pytest

from cin_outcomes.linkage.characteristics import PHASE_ITEMS
from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.linkage_fixtures import (
    AP, PRIMARY, SECONDARY, UPN, Y, census, cell, children, cohorts, module,
)
from cin_outcomes.linkage.children import cohort_children

ABS = FAMILIES["absence"]
CIN, CINO, CPPO, ALL = "CIN at 31 March", "CINO at 31 March", "CPPO at 31 March", "All pupils comparison"


def _e(upn, phase, possible, auth, unauth, laestab=1, ay="2023/24"):
    return dict(AcademicYear=ay, UPN=upn, LA="202", LAESTAB=laestab, URN=1, PhaseType=phase, NCyearActual="6",
                SessionsPossible=possible, AuthorisedAbsence=auth, UnauthorisedAbsence=unauth,
                OverallAbsence=auth + unauth)


def absence_rows() -> pl.DataFrame:
    return module("absence", [
        _e(UPN["A"], PRIMARY, 300, 20, 10), _e(UPN["B"], SECONDARY, 200, 30, 50),
        _e(UPN["B"], AP, 100, 10, 40, laestab=2021100), _e(UPN["C_OLD"], SECONDARY, 320, 8, 0),
        _e(UPN["E"], PRIMARY, 280, 14, 13), _e(UPN["P"], PRIMARY, 0, 0, 0), _e(UPN["Q"], SECONDARY, 310, 100, 60),
    ])


@pytest.fixture(scope="module")
def ds() -> pl.DataFrame:
    return linked_dataset(ABS, children(), {"school_census": census(), "absence": absence_rows()}, Y)


@pytest.fixture(scope="module")
def by_phase(ds) -> pl.DataFrame:
    return aggregate(ds, ABS.measures, by=["phase_type_grouping"], pretotalled=ABS.pretotalled,
                     complete={"phase_type_grouping": PHASE_ITEMS}, levels=["National", "Local authority"],
                     groups=[CIN, CINO, CPPO, ALL])


def _rates(r):
    return (r["t_pupils"], r["t_sess_possible"], r["t_sess_overall"], r["t_sess_authorised"],
            r["t_sess_unauthorised"], r["t_pupils_pa_10_exact"], r["t_pupils_pa_50_exact"])


def test_cin_all_schools(by_phase):
    r = cell(by_phase, "National", CIN)
    # A, B, C, E: possible 300+300+320+280 = 1200; overall 30+130+8+27 = 195; authorised 20+40+8+14 = 82;
    # unauthorised 10+90+0+13 = 113; persistent (10%+): A (exactly 10%) and B; severe (50%+): none.
    assert _rates(r) == (4, 1200, 195, 82, 113, 2, 0)
    assert r["pt_overall"] == pytest.approx(16.25)
    assert r["pt_sess_authorised"] == pytest.approx(82 / 12)
    assert r["pt_sess_unauthorised"] == pytest.approx(113 / 12)
    assert (r["pt_pupils_pa_10_exact"], r["pt_pupils_pa_50_exact"]) == (50.0, 0.0)


def test_by_school_phase_a_pupil_counts_in_each_phase_and_once_in_total(by_phase):
    # Primary: A and E, 300 + 280 = 580 possible, 30 + 27 = 57 overall (authorised 34, unauthorised 23),
    # persistent A; secondary: B (80 of 200, persistent) and C (8 of 320); AP: B alone, 50 of 100: severe.
    assert _rates(cell(by_phase, "National", CIN, phase_type_grouping=PRIMARY)) == (2, 580, 57, 34, 23, 1, 0)
    sec = cell(by_phase, "National", CIN, phase_type_grouping=SECONDARY)
    assert _rates(sec) == (2, 520, 88, 38, 50, 1, 0) and sec["pt_overall"] == pytest.approx(88 / 5.2)
    ap = cell(by_phase, "National", CIN, phase_type_grouping=AP)
    assert _rates(ap) == (1, 100, 50, 10, 40, 1, 1) and ap["pt_pupils_pa_50_exact"] == 100.0
    # Special: nobody; zero denominators, no rates.
    sp = cell(by_phase, "National", CIN, phase_type_grouping="Special")
    assert (sp["t_pupils"], sp["t_sess_possible"], sp["pt_overall"], sp["pt_pupils_pa_10_exact"]) == (0, 0, None, None)


def test_per_la_and_a_child_in_two_las(by_phase):
    # Camden: A and B: 600 possible, 160 overall. Richmond: A: 300 / 30 = 10%.
    r = cell(by_phase, "Local authority", CIN, la="202")
    assert (r["t_pupils"], r["t_sess_possible"], r["t_sess_overall"]) == (2, 600, 160)
    r = cell(by_phase, "Local authority", CINO, la="318")
    assert (r["t_pupils"], r["pt_overall"], r["t_pupils_pa_10_exact"]) == (1, 10.0, 1)
    # CINO in England: A once and E: 580 possible, 57 overall; persistent: A, 1 of 2.
    r = cell(by_phase, "National", CINO)
    assert (r["t_pupils"], r["t_sess_possible"], r["t_sess_overall"], r["pt_pupils_pa_10_exact"]) \
        == (2, 580, 57, 50.0)
    assert cell(by_phase, "National", CINO, phase_type_grouping=PRIMARY)["t_pupils"] == 2
    assert cell(by_phase, "National", CPPO)["t_pupils_pa_10_exact"] == 1


def test_all_pupils(by_phase):
    r = cell(by_phase, "National", ALL)
    # A, B, C, E, Q (P had no possible sessions): 300+300+320+280+310 = 1510 possible; authorised
    # 20+40+8+14+100 = 182, unauthorised 10+90+0+13+60 = 173, overall 355; persistent A, B, Q; severe Q
    # (160 of 310).
    assert _rates(r) == (5, 1510, 355, 182, 173, 3, 1)
    assert r["pt_overall"] == pytest.approx(35500 / 1510)
    assert (r["pt_pupils_pa_10_exact"], r["pt_pupils_pa_50_exact"]) == (60.0, 20.0)
    assert cell(by_phase, "National", ALL, phase_type_grouping=SECONDARY)["t_pupils"] == 3
    assert cell(by_phase, "National", ALL, phase_type_grouping=PRIMARY)["t_pupils"] == 2


def test_without_the_phase_breakdown_only_total_rows_are_used(ds):
    agg = aggregate(ds, ABS.measures, pretotalled=ABS.pretotalled, levels=["National"])
    assert "phase_type_grouping" not in agg.columns
    assert _rates(cell(agg, "National", CIN)) == (4, 1200, 195, 82, 113, 2, 0)


def test_not_produced_in_2019_20():
    y = ReportingYear(2019)  # the 2019/20 absence file holds the autumn term only
    assert not ABS.available(y)
    ds = linked_dataset(ABS, cohort_children(cohorts(y), y), {"school_census": census("2019/20"),
                                                               "absence": absence_rows()}, y)
    assert ds.height == 0 and "SessionsPossible" in ds.columns
