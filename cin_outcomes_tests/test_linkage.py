"""Linkage on hand-built data: candidate UPNs, matching by UPN then former UPN, duplicate pupil records, placement
and period of care at 31 March, match rates, and the linkage frame's checks. Every expected figure is worked out
by hand in the test from the fixture's children (linkage_fixtures.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cin_outcomes.linkage.assets import check_match_rates, linkage_schema, validate
from cin_outcomes.linkage.care import POC_ITEMS, care_at_31_march, completed_months, poc_band
from cin_outcomes.linkage.children import cohort_children
from cin_outcomes.linkage.match import FORMER_UPN, UPN as BY_UPN, candidate_upns, match, match_rates
from cin_outcomes.linkage.populations import POPULATIONS, dedupe_census, dedupe_results
from cin_outcomes.tables import CIN_CHILDREN, CLA_EPISODES, CLA_HEADER, conform
from cin_outcomes.upn import make_upn
from cin_outcomes_tests.linkage_fixtures import (
    PRIMARY, SECONDARY, UPN, Y, census, census_row, children, cla_episodes, cohort_frame, module,
)

D = dt.date


def _cands(frame: pl.DataFrame, cid: str) -> list[tuple[str, str]]:
    row = frame.filter(pl.col("la_child_id") == cid).row(0, named=True)
    return [(c["upn"], c["kind"]) for c in row["candidates"]]


# --- candidate UPNs --------------------------------------------------------------------------------------------

def test_candidates_are_the_cohort_upn_then_recorded_upns_newest_first_then_former_upns():
    u = {k: make_upn("202", 2001, 10 + k, k) for k in range(1, 7)}
    bad = u[6][:-1] + ("1" if u[6][-1] != "1" else "2")  # wrong check letter: never a candidate
    kid = pl.DataFrame({"la_code": ["202"], "la_child_id": ["x1"], "upn": [u[1]]})
    cin = conform(pl.DataFrame([
        dict(reporting_year="2022-23", la_code="202", la_child_id="x1", upn=u[2]),
        dict(reporting_year="2021-22", la_code="202", la_child_id="x1", upn=u[3], former_upn=u[4]),
        dict(reporting_year="2017-18", la_code="202", la_child_id="x1", upn=make_upn("202", 2001, 9, 9)),  # too old
        dict(reporting_year="2023-24", la_code="202", la_child_id="x1", upn=bad, upn_unknown=None),
        dict(reporting_year="2023-24", la_code="201", la_child_id="x1", upn=u[6]),  # another LA's child x1
    ]), CIN_CHILDREN)
    header = conform(pl.DataFrame([dict(reporting_year="2023-24", la_code="202", child="x1", upn=u[5])]),
                     CLA_HEADER)
    got = candidate_upns(kid, [cin], [header], Y)
    # order 0: the cohort UPN; order 1: recorded UPNs, 2023-24 (header u5), 2022-23 (u2), 2021-22 (u3);
    # order 2: former UPNs (u4). 2017-18 is outside 2018-19..2023-24; the bad check letter and LA 201 are ignored.
    assert _cands(got, "x1") == [(u[1], BY_UPN), (u[5], BY_UPN), (u[2], BY_UPN), (u[3], BY_UPN), (u[4], FORMER_UPN)]


def test_fixture_children_candidates():
    kids = children()
    assert _cands(kids, "a1") == [(UPN["A"], BY_UPN)]
    assert _cands(kids, "r7") == [(UPN["A"], BY_UPN)]
    assert _cands(kids, "c1") == [(UPN["C_NEW"], BY_UPN), (UPN["C_OLD"], FORMER_UPN)]
    assert _cands(kids, "d1") == []  # UN4 in both returns: nothing to match on


def test_cohort_upn_that_is_only_a_former_upn_is_labelled_former():
    u = make_upn("202", 2001, 12, 41)
    kid = pl.DataFrame({"la_code": ["202"], "la_child_id": ["f1"], "upn": [u]})
    cin = conform(pl.DataFrame([dict(reporting_year=Y.label, la_code="202", la_child_id="f1", upn="UN3",
                                     former_upn=u)]), CIN_CHILDREN)
    assert _cands(candidate_upns(kid, [cin], None, Y), "f1") == [(u, FORMER_UPN)]


# --- matching --------------------------------------------------------------------------------------------------

def test_match_by_upn_then_former_upn():
    pop = pl.DataFrame({"upn": [UPN["A"], UPN["C_OLD"], UPN["E"], UPN["P"]]})
    m = match(children(), pop).unique(["la_code", "la_child_id"]).sort("la_child_id")
    got = {r["la_child_id"]: (r["matched_upn"], r["matched_by"]) for r in m.iter_rows(named=True)}
    assert got == {
        "a1": (UPN["A"], "UPN"), "r7": (UPN["A"], "UPN"),      # A in both LAs
        "b1": (None, None),                                      # B not in this population
        "c1": (UPN["C_OLD"], "former UPN"),                      # C_NEW unknown, former UPN found
        "d1": (None, None),                                      # no UPN
        "e1": (UPN["E"], "UPN"),
    }


def test_a_former_upn_that_is_another_childs_upn_is_not_used():
    u_y, u_x = make_upn("202", 2001, 12, 51), make_upn("202", 2001, 12, 52)
    kids = pl.DataFrame({"la_code": ["202", "202"], "la_child_id": ["x", "y"], "upn": [u_x, u_y]})
    cin = conform(pl.DataFrame([
        dict(reporting_year=Y.label, la_code="202", la_child_id="x", upn=u_x, former_upn=u_y),
        dict(reporting_year=Y.label, la_code="202", la_child_id="y", upn=u_y)]), CIN_CHILDREN)
    kids = kids.join(candidate_upns(kids, [cin], None, Y), on=["la_code", "la_child_id"])
    m = match(kids, pl.Series("upn", [u_y])).sort("la_child_id")
    # y's own UPN is the pupil's; x's former UPN is y's UPN, so x is not given y's record.
    assert m["matched_upn"].to_list() == [None, u_y]


# --- duplicate pupil records -----------------------------------------------------------------------------------

def test_census_duplicates_keep_the_main_registration_then_the_latest_entry():
    u, v = UPN["E"], UPN["P"]
    c = module("school_census", [
        census_row(u, "330", 3307001, "Special", True, "F", "ASIA", "E", enrol="S", entry=D(2023, 11, 1)),
        census_row(u, "330", 3302001, PRIMARY, False, "F", "ASIA", "K", entry=D(2020, 9, 1)),
        census_row(v, "318", 3182001, PRIMARY, True, "F", "WHIT", "N", entry=D(2022, 9, 1)),
        census_row(v, "318", 3184001, SECONDARY, False, "F", "WHIT", "N", entry=D(2023, 9, 4)),
    ])
    got = dict(dedupe_census(c).select("UPN", "LAESTAB").iter_rows())
    # E: main (C) before subsidiary (S) although the subsidiary entry is later; P: two single registrations,
    # the latest entry (4 September 2023, the school on census day).
    assert got == {u: 3302001, v: 3184001}


def test_key_stage_duplicates_prefer_the_census_school_then_the_most_complete_record():
    u, v, w = UPN["E"], UPN["A"], UPN["B"]
    cen = module("school_census", [census_row(u, "330", 3302001, PRIMARY, False, "F", "ASIA", "K")])
    ks2 = module("ks2", [
        dict(KS2_UPN=u, KS2_LAESTAB=3309999, KS2_URN=9, KS2_READOUTCOME="AS", KS2_MATOUTCOME="AS",
             KS2_READSCORE=110, KS2_MATSCORE=108),
        dict(KS2_UPN=u, KS2_LAESTAB=3302001, KS2_URN=8, KS2_READOUTCOME="A"),       # at the census school
        dict(KS2_UPN=v, KS2_LAESTAB=2022001, KS2_URN=7, KS2_READOUTCOME="AS"),
        dict(KS2_UPN=v, KS2_LAESTAB=2022002, KS2_URN=6, KS2_READOUTCOME="AS", KS2_MATOUTCOME="NS"),  # complete
        dict(KS2_UPN=w, KS2_LAESTAB=2024002, KS2_URN=5, KS2_READOUTCOME="NS"),
        dict(KS2_UPN=w, KS2_LAESTAB=2024001, KS2_URN=4, KS2_READOUTCOME="AS"),      # equal: lowest LAESTAB
    ])
    got = dict(dedupe_results(ks2, "KS2", cen).select("KS2_UPN", "KS2_LAESTAB").iter_rows())
    assert got == {u: 3302001, v: 2022002, w: 2024001}


# --- placement and period of care ------------------------------------------------------------------------------

def test_completed_months_and_bands():
    dates = pl.DataFrame({"s": [D(2023, 4, 1), D(2023, 3, 31), D(2019, 6, 10), D(2018, 4, 1), D(2018, 3, 31)]})
    months = dates.select(completed_months(pl.col("s"), D(2024, 3, 31))).to_series().to_list()
    # 1 Apr 2023 -> 31 Mar 2024: 11 whole months; 31 Mar 2023: 12; 10 Jun 2019: 4y9m = 57;
    # 1 Apr 2018: 71 (a day short of six years); 31 Mar 2018: 72.
    assert months == [11, 12, 57, 71, 72]
    bands = pl.DataFrame({"m": [0, 11, 12, 17, 18, 23, 24, 59, 60, 71, 72, 300]}).select(poc_band("m"))
    assert bands.to_series().to_list() == [POC_ITEMS[0], POC_ITEMS[0], POC_ITEMS[1], POC_ITEMS[1], POC_ITEMS[2],
                                           POC_ITEMS[2], POC_ITEMS[3], POC_ITEMS[5], POC_ITEMS[6], POC_ITEMS[6],
                                           POC_ITEMS[7], POC_ITEMS[7]]


def test_care_at_31_march_follows_the_x1_chain_back_through_earlier_returns():
    got = {r["la_child_id"]: r for r in care_at_31_march(cla_episodes(), Y).iter_rows(named=True)}
    # C: U6 foster placement, period of care from 10 June 2019 (2021-22 return): 57 months -> band 6.
    assert got["c1"]["placement"] == "Foster placements"
    assert (got["c1"]["poc_months"], got["c1"]["period_of_care_length"]) == (57, "6. 48 to 59 months")
    # D: K2 children's home since 2 October 2023: 5 months -> band 1.
    assert got["d1"]["placement"] == "Secure homes and children's homes"
    assert (got["d1"]["poc_months"], got["d1"]["period_of_care_length"]) == (5, POC_ITEMS[0])
    # Without the 2021-22 return the chain starts at the 5 January 2022 episode: 26 months -> band 4.
    short = care_at_31_march(cla_episodes()[1:], Y).filter(pl.col("la_child_id") == "c1")
    assert short["poc_months"].item() == 26


def test_a_period_of_care_broken_by_a_day_restarts():
    eps = conform(pl.DataFrame([
        dict(reporting_year=Y.label, la_code="330", child="k", decom=D(2020, 5, 1), rne="S", ls="C2", place="R1",
             dec=D(2023, 6, 1), rec="E4A"),
        dict(reporting_year=Y.label, la_code="330", child="k", decom=D(2023, 6, 2), rne="S", ls="V2", place="P1"),
    ]), CLA_EPISODES)
    row = care_at_31_march(eps, Y).row(0, named=True)
    # New period on 2 June 2023 (previous one ended E4A on 1 June): 2 June 2023 -> 31 March 2024 = 9 months.
    assert (row["placement"], row["poc_months"]) == ("Placed with parents or other person with parental "
                                                     "responsibility", 9)


def test_placement_only_on_groups_looked_after_at_31_march():
    kids = children()
    c = kids.filter(pl.col("la_child_id") == "c1").select("social_care_group", "placement")
    assert dict(c.iter_rows()) == {"CIN at 31 March": None, "CLA at 31 March": "Foster placements",
                                   "CLA 12 months at 31 March": "Foster placements"}


# --- match rates -----------------------------------------------------------------------------------------------

def test_match_rates_count_children_in_each_la_and_once_in_england():
    kids = children()
    cen = POPULATIONS["census"]({"school_census": census()})           # A, B, C_OLD, E, P, Q
    ks2 = pl.Series("upn", [UPN["A"], UPN["C_OLD"]])
    rates = match_rates(kids, {"census": cen, "ks2": ks2})

    def row(group, pop, level, la=None):
        f = ((pl.col("social_care_group") == group) & (pl.col("pupil_population") == pop)
             & (pl.col("geographic_level") == level))
        if la:
            f &= pl.col("old_la_code") == la
        return rates.filter(f).select("t_children", "t_children_with_upn", "t_matched").row(0)

    cin = "CIN at 31 March"
    # LA 202: A, B (both UPNs, both in the census). LA 318: A. LA 330: C, D, E: D has no UPN; C (former UPN)
    # and E in the census.
    assert row(cin, "census", "Local authority", "202") == (2, 2, 2)
    assert row(cin, "census", "Local authority", "318") == (1, 1, 1)
    assert row(cin, "census", "Local authority", "330") == (3, 2, 2)
    # England: A once + B + C + D + E = 5 children; 4 with a UPN; 4 in the census.
    assert row(cin, "census", "National") == (5, 4, 4)
    # KS2 holds A and C: England 2 of 5.
    assert row(cin, "ks2", "National") == (5, 4, 2)
    nat = rates.filter((pl.col("social_care_group") == cin) & (pl.col("pupil_population") == "census")
                       & (pl.col("geographic_level") == "National")).row(0, named=True)
    assert nat["pt_matched"] == 4 / 5 * 100 and nat["pt_matched_of_with_upn"] == 100.0
    assert nat["pt_children_with_upn"] == 80.0
    # CLA at 31 March in 330: C and D; one with a UPN, matched.
    assert row("CLA at 31 March", "census", "Local authority", "330") == (2, 1, 1)
    ok, meta = check_match_rates(rates)
    assert ok, meta


def test_match_rate_check_fails_when_england_exceeds_its_las():
    rates = match_rates(children(), {"census": POPULATIONS["census"]({"school_census": census()})})
    broken = rates.with_columns(t_children=pl.when(pl.col("geographic_level") == "National")
                                .then(pl.col("t_children") + 100).otherwise(pl.col("t_children")))
    ok, meta = check_match_rates(broken)
    assert not ok and meta["failures_by_rule"][0]["rule"] == "England above the sum of its LAs"


# --- the linkage frame check -----------------------------------------------------------------------------------

def test_linkage_frame_check_passes_and_catches_misplaced_care_and_bad_upns():
    kids = children()
    ok, _ = validate(linkage_schema(Y), kids)
    assert ok
    bad = kids.with_columns(placement=pl.when(pl.col("social_care_group") == "CIN at 31 March")
                            .then(pl.lit("Foster placements")).otherwise(pl.col("placement")))
    ok, meta = validate(linkage_schema(Y), bad)
    assert not ok and meta["failures"] == 6  # the six CIN at 31 March rows
    assert not any(u in str(meta) for u in UPN.values())  # counts and row numbers, no identifiers


def test_cohort_children_without_ingest_tables_use_the_cohort_upn_only():
    kids = cohort_children({"cino_at_31_march": cohort_frame(["A202", "E"])}, Y)
    assert kids["social_care_group"].unique().to_list() == ["CINO at 31 March"]
    assert _cands(kids, "e1") == [(UPN["E"], BY_UPN)]
    assert kids["placement"].null_count() == kids.height
