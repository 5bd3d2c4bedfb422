"""SEN provision and primary type of need on the hand-built children (linkage_fixtures.py), figures by hand.

Population: the spring census 2023/24 and children in LA-arranged alternative provision not on a census roll.

| pupil | source    | SEN provision  | primary need |
|-------|-----------|----------------|--------------|
| A     | census    | SEN support    | SEMH         |
| B     | census    | none           |              |
| C_OLD | census    | EHC plan       | ASD          |
| E     | census    | SEN support    | SLCN         |  (main registration; the subsidiary says EHC/ASD)
| P     | census    | none           |              |
| Q     | census    | EHC plan       | ASD          |
| S     | AP census | EHC plan       | SEMH         |  (B's AP census row is ignored: B is on a census roll)

Primary-need percentages are shares of the pupils with SEN, as in the real ``sen_la.csv`` (CINO 2021/22:
t_SEMH 16,550 / t_all_SEN 67,180 = 24.6%); ``_ss`` and ``_ehc`` are shares of those on SEN support and with an
EHC plan.
"""

from __future__ import annotations

import polars as pl
import pytest

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.upn import make_upn
from cin_outcomes_tests.linkage_fixtures import UPN, Y, census, cell, children, module

SEN = FAMILIES["sen"]
S = make_upn("318", 2001, 12, 30)
CIN, CPPO, CLA, ALL = "CIN at 31 March", "CPPO at 31 March", "CLA at 31 March", "All pupils comparison"


def ap_rows() -> pl.DataFrame:
    return module("ap_census", [
        dict(AcademicYear="2023/24", UPN=S, LA="318", SettingType="IND", Gender="M", EthnicGroupMajor="WHIT",
             SENprovision="E", PrimarySENtype="SEMH", FSMeligible=True),
        dict(AcademicYear="2023/24", UPN=UPN["B"], LA="202", SettingType="UNR", Gender="M",
             EthnicGroupMajor="BLAC", SENprovision="E", PrimarySENtype="SEMH", FSMeligible=True),
    ])


@pytest.fixture(scope="module")
def agg() -> pl.DataFrame:
    ds = linked_dataset(SEN, children(), {"school_census": census(), "ap_census": ap_rows()}, Y)
    return aggregate(ds, SEN.measures, by=["sex"], levels=["National", "Local authority"])


def test_all_pupils(agg):
    a = cell(agg, "National", ALL)
    # 7 pupils; no SEN: B, P (2); SEN: A, C, E, Q, S (5); support A, E (2); EHC plan C, Q, S (3).
    assert (a["t_pupils"], a["t_no_identified_SEN"], a["t_all_SEN"], a["t_SEN_support"],
            a["t_statement_or_EHC_plan"]) == (7, 2, 5, 2, 3)
    assert a["pt_all_SEN"] == pytest.approx(500 / 7)
    # Needs of the 5 with SEN: ASD C, Q (40%); SEMH A, S (40%); SLCN E (20%); none with HI (0%).
    assert (a["t_ASD"], a["pt_ASD"], a["t_SEMH"], a["pt_SEMH"], a["pt_SLCN"], a["pt_HI"]) == (2, 40.0, 2, 40.0,
                                                                                               20.0, 0.0)
    # On SEN support (A, E): SEMH 1 of 2, SLCN 1 of 2. With an EHC plan (C, Q, S): ASD 2 of 3, SEMH 1 of 3.
    assert (a["pt_SEMH_ss"], a["pt_SLCN_ss"], a["pt_ASD_ss"]) == (50.0, 50.0, 0.0)
    assert a["pt_ASD_ehc"] == pytest.approx(200 / 3) and a["pt_SEMH_ehc"] == pytest.approx(100 / 3)


def test_social_care_groups(agg):
    c = cell(agg, "National", CIN)
    # CIN: A (once), B, C, E (D has no UPN): no SEN B (25%); SEN A, C, E (75%); support A, E (50%); EHC C (25%).
    assert (c["t_pupils"], c["pt_no_identified_SEN"], c["pt_all_SEN"], c["pt_SEN_support"],
            c["pt_statement_or_EHC_plan"]) == (4, 25.0, 75.0, 50.0, 25.0)
    assert c["pt_SEMH"] == pytest.approx(100 / 3) and c["pt_ASD"] == pytest.approx(100 / 3)
    assert (cell(agg, "National", CLA)["pt_statement_or_EHC_plan"], cell(agg, "National", CLA)["pt_ASD"]) \
        == (100.0, 100.0)
    # CPPO: B has no SEN: the need shares have no pupils with SEN to be shares of.
    p = cell(agg, "National", CPPO)
    assert (p["t_all_SEN"], p["t_ASD"], p["pt_ASD"], p["pt_no_identified_SEN"]) == (0, 0, None, 100.0)
    # Richmond's CIN: A only (SEN support, SEMH).
    r = cell(agg, "Local authority", CIN, la="318")
    assert (r["t_pupils"], r["t_SEN_support"], r["pt_SEMH"]) == (1, 1, 100.0)


def test_sex_breakdown(agg):
    # All pupils by census sex: female A, E, P (SEN: A, E); male B, C, Q, S (SEN: C, Q, S).
    f, m = cell(agg, "National", ALL, sex="Female"), cell(agg, "National", ALL, sex="Male")
    assert (f["t_pupils"], f["t_all_SEN"], m["t_pupils"], m["t_all_SEN"]) == (3, 2, 4, 3)
