"""Key stage 4 on the hand-built children (linkage_fixtures.py); every figure worked out by hand below.

KS4 records, academic year 2023/24 (A, E and P are at primary school; D has no UPN):

| pupil | Att8  | Eng | Maths | E&M 4+ | E&M 5+ | EBacc entry | EBacc 4+/5+ | EBacc APS | in P8 | P8    |
|-------|-------|-----|-------|--------|--------|-------------|-------------|-----------|-------|-------|
| B     | 30.5  | 5   | 3     | no     | no     | yes         | no / no     | 3.25      | yes   | -0.75 |
| C_OLD | 41.0  | 4   | 4     | yes    | no     | no          | no / no     | 2.5       | yes   | -0.25 |
| Q     | 60.25 | 7   | 6     | yes    | yes    | yes         | yes / yes   | 5.5       | yes   | 0.5   |
| R     | (none)| 0   | 0     | no     | no     | no          | no / no     | (none)    | no    |       |

R (not in the census: sex from the KS4 record, ethnicity unknown) scores 0 Attainment 8 and EBacc points.
"""

from __future__ import annotations

import polars as pl
import pytest

from cin_outcomes.linkage.care import POC_ITEMS
from cin_outcomes.linkage.characteristics import ESTABLISHMENT_GROUP_ITEMS, ETHNICITY_ITEMS
from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.synthetic.npd_columns import progress8_produced
from cin_outcomes.upn import make_upn
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.linkage_fixtures import UPN, Y, census, cell, children, cohorts, module
from cin_outcomes.linkage.children import cohort_children

KS4 = FAMILIES["ks4"]
R = make_upn("318", 2001, 12, 10)
CIN, CINO, CPPO, CLA12, ALL = ("CIN at 31 March", "CINO at 31 March", "CPPO at 31 March",
                               "CLA 12 months at 31 March", "All pupils comparison")


def _r(upn, att8, eng, mat, b94, b95, ee, e94, e95, aps, inp8, p8, ay="2023/24", laestab=1, sex="M"):
    return dict(KS4_ACADYR=ay, KS4_UPN=upn, KS4_LA="202", KS4_LAESTAB=laestab, KS4_URN=1, KS4_SEX=sex,
                KS4_ATT8=att8, KS4_APENG_91=eng, KS4_HGMATH_91=mat, KS4_L2BASICS_94=b94, KS4_L2BASICS_95=b95,
                KS4_EBACC_E_PTQ_EE=ee, KS4_EBACC_94=e94, KS4_EBACC_95=e95, KS4_EBACCAPS=aps, KS4_INP8CALC=inp8,
                KS4_P8SCORE=p8)


def ks4_rows(ay="2023/24") -> pl.DataFrame:
    return module("ks4", [
        _r(UPN["B"], 30.5, 5, 3, False, False, True, False, False, 3.25, True, -0.75, ay, 2024001),
        _r(UPN["C_OLD"], 41.0, 4, 4, True, False, False, False, False, 2.5, True, -0.25, ay, 3304001),
        _r(UPN["Q"], 60.25, 7, 6, True, True, True, True, True, 5.5, True, 0.5, ay, 3184001),
        _r(R, None, 0, 0, False, False, False, False, False, None, False, None, ay),
    ])


SD = (((-0.75 + 1 / 6) ** 2 + (-0.25 + 1 / 6) ** 2 + (0.5 + 1 / 6) ** 2) / 2) ** 0.5  # 0.62915


@pytest.fixture(scope="module")
def agg() -> pl.DataFrame:
    ds = linked_dataset(KS4, children(), {"school_census": census(), "ks4": ks4_rows()}, Y)
    return aggregate(ds, KS4.measures, by=["ethnicity_major", "establishment_type_group", "period_of_care_length"],
                     grouping_sets=[(), ("ethnicity_major",), ("establishment_type_group",),
                                    ("period_of_care_length",)],
                     levels=["National", "Local authority"])


def test_all_pupils(agg):
    a = cell(agg, "National", ALL)
    assert a["t_pupils"] == 4
    # Attainment 8: 30.5 + 41 + 60.25 + 0 = 131.75 over 4 = 32.9375.
    assert (a["t_att8"], a["avg_att8"]) == (131.75, 131.75 / 4)
    # English and maths 4+: C, Q = 2 (50%); 5+: Q (25%).
    assert (a["t_l2basics_94"], a["pt_l2basics_94"], a["t_l2basics_95"], a["pt_l2basics_95"]) == (2, 50.0, 1, 25.0)
    # Separately: English 4+ B(5) C(4) Q(7) = 3, 5+ B Q = 2; maths 4+ C(4) Q(6) = 2, 5+ Q = 1.
    assert (a["t_eng_94"], a["t_eng_95"], a["t_mat_94"], a["t_mat_95"]) == (3, 2, 2, 1)
    assert (a["pt_eng_94"], a["pt_mat_95"]) == (75.0, 25.0)
    # EBacc: entered B, Q (50%); achieved at 4+ and 5+: Q (25%); APS 3.25 + 2.5 + 5.5 + 0 = 11.25 / 4.
    assert (a["t_ebacc_e_ptq_ee"], a["pt_ebacc_e_ptq_ee"]) == (2, 50.0)
    assert (a["t_ebacc_94"], a["pt_ebacc_95"]) == (1, 25.0)
    assert (a["t_ebaccaps"], a["avg_ebaccaps"]) == (11.25, 2.8125)
    # Progress 8: B, C, Q included: -0.75 - 0.25 + 0.5 = -0.5 over 3; CI from the national SD.
    assert (a["t_inp8calc"], a["t_p8score"]) == (3, -0.5)
    assert a["avg_p8score"] == pytest.approx(-1 / 6)
    assert a["p8score_CI_low"] == pytest.approx(-1 / 6 - 1.96 * SD / 3 ** 0.5)
    assert a["p8score_CI_upp"] == pytest.approx(-1 / 6 + 1.96 * SD / 3 ** 0.5)


def test_social_care_groups(agg):
    cin = cell(agg, "National", CIN)
    # CIN: B (Camden) and C (Birmingham, matched by former UPN): Att8 71.5 / 2; E&M 4+: C (50%).
    assert (cin["t_pupils"], cin["avg_att8"], cin["pt_l2basics_94"]) == (2, 35.75, 50.0)
    assert (cin["t_inp8calc"], cin["avg_p8score"]) == (2, -0.5)
    assert cin["p8score_CI_upp"] == pytest.approx(-0.5 + 1.96 * SD / 2 ** 0.5)
    assert cell(agg, "Local authority", CIN, la="202")["t_att8"] == 30.5
    assert cell(agg, "Local authority", CIN, la="330")["t_att8"] == 41.0
    assert cell(agg, "National", CPPO)["avg_p8score"] == -0.75
    assert (cell(agg, "National", CLA12)["avg_att8"], cell(agg, "National", CLA12)["avg_p8score"]) == (41.0, -0.25)
    # CINO: A and E are not at the end of KS4: no row (not completed in this aggregate).
    assert agg.filter(pl.col("social_care_group") == CINO).height == 0


def test_ethnicity_school_type_and_period_of_care_breakdowns(agg):
    # Census ethnicity: B Black, C Mixed, Q Chinese (Asian/Asian British); R has no census record: Unknown.
    assert cell(agg, "National", ALL, ethnicity_major="Asian/Asian British")["avg_att8"] == 60.25
    assert cell(agg, "National", ALL, ethnicity_major="Unknown")["t_pupils"] == 1
    assert set(agg["ethnicity_major"].unique()) <= {*ETHNICITY_ITEMS, "Total"}
    # Academies: B (2024001) and C (3304001): Att8 71.5 / 2; LA maintained: Q.
    assert cell(agg, "National", ALL, establishment_type_group="Academy")["avg_att8"] == 35.75
    assert cell(agg, "National", ALL, establishment_type_group="LA maintained")["t_pupils"] == 1
    assert set(agg["establishment_type_group"].unique()) <= {*ESTABLISHMENT_GROUP_ITEMS, "Total"}
    # Period of care at 31 March for CLA 12 months: C, 57 months.
    assert cell(agg, "National", CLA12, period_of_care_length=POC_ITEMS[5])["t_pupils"] == 1
    assert agg.filter((pl.col("social_care_group") == CIN) & (pl.col("period_of_care_length") != "Total")).height == 0


def test_progress_8_not_produced_in_2024_25():
    y = ReportingYear(2024)
    assert not progress8_produced(y)
    kids = cohort_children(cohorts(y), y)
    ds = linked_dataset(KS4, kids, {"school_census": census("2024/25"), "ks4": ks4_rows("2024/25")}, y)
    a = cell(aggregate(ds, KS4.measures, levels=["National"]), "National", ALL)
    assert (a["t_pupils"], a["avg_att8"]) == (4, 131.75 / 4)
    assert [a[c] for c in ("t_inp8calc", "t_p8score", "avg_p8score", "p8score_CI_low", "p8score_CI_upp")] \
        == [None] * 5
