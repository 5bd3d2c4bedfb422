"""Key stage 2 on the hand-built children (linkage_fixtures.py); every figure worked out by hand below.

KS2 records, academic year 2023/24 (B is at secondary school and D has no UPN: neither has a result):

| pupil | reading       | writing TA | maths        | GPS          | science | RWM exp | RWM high |
|-------|---------------|------------|--------------|--------------|---------|---------|----------|
| A     | AS 104        | EXS        | NS 98        | AS 111 high  | EXS     | no      | no       |
| C_OLD | AS 112 high   | GDS        | AS 110 high  | AS 105       | EXS     | yes     | yes      |
| E     | A (absent)    | WTS        | AS 101       | NS 95        | HNM     | no      | no       |
| P     | AS 100        | EXS        | AS 103       | AS 102       | EXS     | yes     | no       |
| Q     | B (below)     | (missing)  | NS 90        | NS 92        | HNM     | no      | no       |

E has a second, more complete record (reading AS 108) from a school that is not their census school: the
census-school record is used, so E did not reach the expected standard in reading.
"""

from __future__ import annotations

import polars as pl
import pytest

from cin_outcomes.linkage.characteristics import SEX_ITEMS
from cin_outcomes.linkage.care import PLACEMENT_ITEMS
from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES, ks2_progress_produced
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.linkage_fixtures import (
    INNER, LONDON, OUTER, UPN, WEST_MIDLANDS, Y, census, cell, children, cohort_frame, module,
)
from cin_outcomes.linkage.children import cohort_children

KS2 = FAMILIES["ks2"]
CIN, CINO, CPPO, CLA = "CIN at 31 March", "CINO at 31 March", "CPPO at 31 March", "CLA at 31 March"
CLA12, CLALT12, ALL = "CLA 12 months at 31 March", "CLA less than 12 months at 31 March", "All pupils comparison"


def _r(upn, read, rs, wri, mat, ms, gps, gs, sci, rwm, high=(), laestab=None, ay="2023/24", **kw):
    return dict(KS2_ACADYR=ay, KS2_UPN=upn, KS2_LA="330", KS2_LAESTAB=laestab, KS2_URN=1, KS2_SEX="F",
                KS2_READOUTCOME=read, KS2_READSCORE=rs, KS2_READEXP=read == "AS" and rs >= 100,
                KS2_READHIGH="READ" in high, KS2_WRITTAOUTCOME=wri, KS2_WRITTAEXP=wri in ("EXS", "GDS"),
                KS2_WRITTAHIGH=wri == "GDS", KS2_MATOUTCOME=mat, KS2_MATSCORE=ms, KS2_MATEXP=mat == "AS",
                KS2_MATHIGH="MAT" in high, KS2_GPSOUTCOME=gps, KS2_GPSSCORE=gs, KS2_GPSEXP=gps == "AS",
                KS2_GPSHIGH="GPS" in high, KS2_SCITAOUTCOME=sci, KS2_SCITAEXP=sci == "EXS", KS2_RWMEXP=rwm,
                KS2_RWMHIGH="RWM" in high, **kw)


def ks2_rows() -> pl.DataFrame:
    return module("ks2", [
        _r(UPN["A"], "AS", 104, "EXS", "NS", 98, "AS", 111, "EXS", False, ("GPS",), laestab=2022001),
        _r(UPN["C_OLD"], "AS", 112, "GDS", "AS", 110, "AS", 105, "EXS", True, ("READ", "MAT", "RWM"),
           laestab=3304001),
        _r(UPN["E"], "A", None, "WTS", "AS", 101, "NS", 95, "HNM", False, laestab=3302001),
        _r(UPN["E"], "AS", 108, "WTS", "AS", 101, "NS", 95, "HNM", False, laestab=3309999,
           KS2_KS1AVERAGE=15.0),
        _r(UPN["P"], "AS", 100, "EXS", "AS", 103, "AS", 102, "EXS", True, laestab=3182001),
        _r(UPN["Q"], "B", None, None, "NS", 90, "NS", 92, "HNM", False, laestab=3184001),
    ])


@pytest.fixture(scope="module")
def agg() -> pl.DataFrame:
    ds = linked_dataset(KS2, children(), {"school_census": census(), "ks2": ks2_rows()}, Y)
    return aggregate(ds, KS2.measures, by=["sex", "placement"], grouping_sets=[(), ("sex",), ("placement",)],
                     complete={"sex": SEX_ITEMS, "placement": PLACEMENT_ITEMS},
                     groups=[CIN, CINO, CPPO, CLA, CLA12, CLALT12, ALL])


def test_reading_expected_standard_per_la_region_and_england(agg):
    def read(level, group, **kw):
        r = cell(agg, level, group, **kw)
        return r["t_read_eligible_pupils"], r["t_read_met_expected_standard"], r["pt_read_met_expected_standard"]

    # CINO: A in 202 and 318 (met), E in 330 (absent, census-school record: not met).
    assert read("Local authority", CINO, la="202") == (1, 1, 100.0)
    assert read("Local authority", CINO, la="318") == (1, 1, 100.0)
    assert read("Local authority", CINO, la="330") == (1, 0, 0.0)
    # England counts A once: A + E = 2 eligible, 1 met = 50%.
    assert read("National", CINO) == (2, 1, 50.0)
    # London = Inner (202) and Outer (318) London: A once.
    assert read("Regional", CINO, region=LONDON) == (1, 1, 100.0)
    assert read("Regional", CINO, region=INNER) == (1, 1, 100.0)
    assert read("Regional", CINO, region=OUTER) == (1, 1, 100.0)
    assert read("Regional", CINO, region=WEST_MIDLANDS) == (1, 0, 0.0)
    # CIN: 330 has C (former UPN, met) and E (not met): 1 of 2. England: A, C, E: 2 of 3.
    assert read("Local authority", CIN, la="330") == (2, 1, 50.0)
    n, m, p = read("National", CIN)
    assert (n, m) == (3, 2) and p == pytest.approx(200 / 3)
    # CLA and CLA 12 months: C. CLA < 12 months: D has no UPN, so no pupil: zero denominator, no value.
    assert read("National", CLA) == (1, 1, 100.0)
    assert read("National", CLA12) == (1, 1, 100.0)
    assert read("National", CLALT12) == (0, 0, None)
    assert read("Local authority", CLALT12, la="330") == (0, 0, None)
    # CPPO: B is not at the end of KS2.
    assert read("National", CPPO) == (0, 0, None)
    # All pupils: A, C, E, P, Q eligible (absent and below-standard pupils count); A, C, P met: 60%.
    assert read("National", ALL) == (5, 3, 60.0)


def test_writing_rwm_and_higher_standards(agg):
    a = cell(agg, "National", ALL)
    # Writing TA: Q missing -> 4 eligible; EXS/GDS: A, C, P = 3 (75%); GDS: C = 1 (25%).
    assert (a["t_writta_eligible_pupils"], a["t_writta_met_expected_standard"]) == (4, 3)
    assert a["pt_writta_met_expected_standard"] == 75.0
    assert (a["t_writta_met_higher_standard"], a["pt_writta_met_higher_standard"]) == (1, 25.0)
    # RWM: eligible when all three present: A, C, E, P = 4; RWM expected: C, P = 2 (50%); high: C (25%).
    assert (a["t_rwm_eligible_pupils"], a["t_rwm_met_expected_standard"], a["pt_rwm_met_expected_standard"]) \
        == (4, 2, 50.0)
    assert a["t_rwm_met_higher_standard"] == 1
    # Maths: 5 eligible; AS: C, E, P = 3 (60%). GPS: AS: A, C, P = 3 of 5; high: A.
    assert (a["t_mat_eligible_pupils"], a["t_mat_met_expected_standard"]) == (5, 3)
    assert (a["t_gps_met_expected_standard"], a["t_gps_met_higher_standard"]) == (3, 1)
    # Science TA: EXS: A, C, P = 3 of 5.
    assert (a["t_scita_eligible_pupils"], a["t_scita_met_expected_standard"]) == (5, 3)
    cino = cell(agg, "National", CINO)
    # CINO RWM: A (maths NS) and E (reading absent): 0 of 2.
    assert (cino["t_rwm_eligible_pupils"], cino["t_rwm_met_expected_standard"], cino["pt_rwm_met_expected_standard"]) \
        == (2, 0, 0.0)


def test_average_scaled_scores(agg):
    a = cell(agg, "National", ALL)
    # Reading scores: A 104, C 112, P 100 (E absent, Q below: no score) -> 316 / 3.
    assert (a["t_read_scaled_score_eligible_pupils"], a["t_read_scaled_score"]) == (3, 316.0)
    assert a["avg_read_scaled_score"] == pytest.approx(316 / 3)
    # Maths: 98 + 110 + 101 + 103 + 90 = 502 over 5.
    assert a["avg_mat_scaled_score"] == pytest.approx(100.4)
    # CIN reading: A 104 and C 112 -> 108.
    assert cell(agg, "National", CIN)["avg_read_scaled_score"] == 108.0


def test_progress_is_not_produced_without_a_key_stage_1_baseline(agg):
    assert not ks2_progress_produced(Y)  # 2023/24: KS1 2019/20 was not assessed
    for col in ("t_read_progress_eligible_pupils", "avg_read_progress_score", "avg_mat_progress_score_upper_CI"):
        assert agg[col].null_count() == agg.height
    assert agg["t_read_eligible_pupils"].null_count() == 0


def test_sex_and_placement_breakdowns_with_totals(agg):
    # CIN in England by the census sex: A and E female (1 of 2 met reading), C male (1 of 1).
    f = cell(agg, "National", CIN, sex="Female")
    assert (f["t_read_eligible_pupils"], f["t_read_met_expected_standard"], f["pt_read_met_expected_standard"]) \
        == (2, 1, 50.0)
    assert cell(agg, "National", CIN, sex="Male")["t_read_eligible_pupils"] == 1
    assert cell(agg, "National", CIN, sex="Unknown")["t_read_eligible_pupils"] == 0
    # Placement only for groups looked after at 31 March: C in foster care.
    assert cell(agg, "National", CLA, placement="Foster placements")["t_read_met_expected_standard"] == 1
    assert cell(agg, "National", CLA, placement="Placed for adoption")["t_read_eligible_pupils"] == 0
    assert agg.filter((pl.col("social_care_group") == CIN) & (pl.col("placement") != "Total")).height == 0
    # The complete matrix: England, every region (9 + Inner/Outer London) and every 2023-24 LA (153) for the six
    # groups, plus All pupils nationally, each with Total, 3 sexes, and for the 3 CLA groups 6 placements.
    units = 1 + 11 + 153
    assert agg.height == units * (6 * 4 + 3 * 6) + (1 + 3)


def test_progress_and_confidence_interval_where_a_baseline_exists():
    y = ReportingYear(2022)  # 2022/23: KS1 baseline 2018/19 exists
    assert ks2_progress_produced(y)
    kids = cohort_children({"cino_at_31_march": cohort_frame(["A202"], y)}, y)
    rows = [dict(KS2_ACADYR="2022/23", KS2_UPN=u, KS2_LAESTAB=1, KS2_URN=1, KS2_READOUTCOME="AS",
                 KS2_READSCORE=100, KS2_READPROGSCORE=p) for u, p in ((UPN["A"], -1.5), (UPN["P"], 2.0),
                                                                      (UPN["Q"], 0.5))]
    ds = linked_dataset(KS2, kids, {"school_census": census("2022/23"), "ks2": module("ks2", rows)}, y)
    agg = aggregate(ds, KS2.measures, levels=["National"])
    # National SD of the three pupils' scores (-1.5, 2.0, 0.5): mean 1/3, squared deviations 3.3611 + 2.7778 +
    # 0.0278 = 6.1667, / 2 = 3.0833, sd = 1.75594.
    sd = (((-1.5 - 1 / 3) ** 2 + (2.0 - 1 / 3) ** 2 + (0.5 - 1 / 3) ** 2) / 2) ** 0.5
    cino = cell(agg, "National", CINO)
    assert (cino["t_read_progress_eligible_pupils"], cino["avg_read_progress_score"]) == (1, -1.5)
    assert cino["avg_read_progress_score_lower_CI"] == pytest.approx(-1.5 - 1.96 * sd)
    assert cino["avg_read_progress_score_upper_CI"] == pytest.approx(-1.5 + 1.96 * sd)
    a = cell(agg, "National", ALL)
    assert a["avg_read_progress_score"] == pytest.approx(1 / 3)
    assert a["avg_read_progress_score_lower_CI"] == pytest.approx(1 / 3 - 1.96 * sd / 3 ** 0.5)
    # Writing progress: nobody has a score -> 0 eligible, no average.
    assert (a["t_writta_progress_eligible_pupils"], a["avg_writta_progress_score"]) == (0, None)
