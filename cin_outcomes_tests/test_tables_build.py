"""Building a year of a table: hand-built linked datasets through aggregation, primary suppression and formatting,
with every expected cell worked out by hand in the comments."""

import polars as pl
import pytest

from cin_outcomes.geography import las_in_year
from cin_outcomes.linkage.care import CLA_AT_31_MARCH_GROUPS
from cin_outcomes.tabulation.build import publish, skeleton, unrounded_table
from cin_outcomes.tabulation.spec import TABLES
from cin_outcomes_tests.tables_fixtures import ks4_child, linked

# LA 202 Camden (Inner London), LA 203 Greenwich (Outer London).
A_ATT8 = [10, 20, 30, 40, 50, 12.5, 17.25]
A_L95 = [True, True, False, False, False, False, False]
A_L94 = [True, True, True, True, False, False, False]
A_P8 = [-1, -2, 0, 1, -0.5, -1.5, -1]


def ks4_children() -> list[dict]:
    kids = [ks4_child("202", f"a{i}", "CINO", A_ATT8[i], A_L95[i], A_L94[i], A_P8[i]) for i in range(7)]
    kids += [ks4_child("202", f"b{i}", "CPPO", 30.0, p8=0.0) for i in range(3)]
    kids += [ks4_child("202", f"c{i}", "CLA12", 20.0, l94=(i == 0), p8=0.5, placement="Foster placements",
                       period_of_care_length="3. 18 to 23 months") for i in range(6)]
    # a1 moved: returned by Greenwich too (same child, same pupil record)
    kids += [ks4_child("203", "a1", "CINO", A_ATT8[1], A_L95[1], A_L94[1], A_P8[1])]
    kids += [ks4_child("203", f"d{i}", "CINO", 40.0, True, True, 1.0) for i in range(3)]
    kids += [ks4_child("203", "e0", "CLA<12", 25.0, p8=0.0, placement="Foster placements",
                       period_of_care_length="1. Less than 12 months (0-11 months looked after)")]
    return kids


@pytest.fixture(scope="module")
def ks4_2023():
    spec = TABLES["ks4_la"]
    data = linked("ks4", "2023-24", ks4_children())
    unrounded = unrounded_table(spec, data, "2023-24")
    return spec, unrounded, publish(spec, unrounded, "2023-24", latest="202324")


def _row(published, level, group, code=None):
    f = (pl.col("geographic_level") == level) & (pl.col("social_care_group") == group)
    if level == "Local authority":
        f &= pl.col("old_la_code") == code
    elif level == "Regional":
        f &= pl.col("region_code") == code
    rows = published.filter(f)
    assert rows.height == 1, (level, group, code, rows.height)
    return rows.row(0, named=True)


KS4_CELLS = ("t_pupils", "t_att8", "avg_att8", "t_l2basics_95", "pt_l2basics_95", "t_l2basics_94", "pt_l2basics_94",
             "t_ebacc_e_ptq_ee", "pt_ebacc_e_ptq_ee", "t_ebaccaps", "avg_ebaccaps", "t_inp8calc", "t_p8score",
             "avg_p8score", "p8score_CI_low", "p8score_CI_upp")


@pytest.mark.parametrize("level, group, code, want", [
    # Camden CINO: 7 pupils; Att8 10+20+30+40+50+12.5+17.25 = 179.75, /7 = 25.68 -> 25.7; grade 5+ E&M 2 and
    # grade 4+ 4 (1-5: c with their %); no EBacc entries: 0 and 0 %; EBacc APS 7 x 1.0; P8 -5 over 7 = -0.714 ->
    # -0.71, CI -0.714 -/+ 1.96 x 1.0 / sqrt(7) (0.7408) = -1.455 -> -1.46 and 0.0265 -> 0.03.
    ("Local authority", "CINO at 31 March", "202",
     ("7", "179.75", "25.7", "c", "c", "c", "c", "0", "0", "7", "1", "7", "-5", "-0.71", "-1.46", "0.03")),
    # Camden CIN = CINO 7 + CPPO 3 + CLA 6 = 16; Att8 179.75 + 90 + 120 = 389.75, /16 = 24.36 -> 24.4; 5+ E&M 2 (c),
    # 4+ 4 + 1 = 5 (c); P8 -5 + 0 + 3 = -2 over 16 = -0.125 -> -0.13 (half away from zero);
    # CI -0.125 -/+ 1.96 / 4 (0.49) = -0.615 -> -0.62 (binary -0.61499.. plus round_five_up's epsilon) and 0.365 -> 0.37.
    ("Local authority", "CIN at 31 March", "202",
     ("16", "389.75", "24.4", "c", "c", "c", "c", "0", "0", "16", "1", "16", "-2", "-0.13", "-0.62", "0.37")),
    # Camden CPPO: 3 pupils -> the whole row c.
    ("Local authority", "CPPO at 31 March", "202", ("c",) * 16),
    # Camden CLA 12 months: 6 pupils, Att8 120 -> avg 20; no 5+ (0, 0 %); one 4+ (c); P8 6 x 0.5 = 3, avg 0.5,
    # CI 0.5 -/+ 1.96 / sqrt(6) (0.8002) -> -0.3 and 1.3.
    ("Local authority", "CLA 12 months at 31 March", "202",
     ("6", "120", "20", "0", "0", "c", "c", "0", "0", "6", "1", "6", "3", "0.5", "-0.3", "1.3")),
    # Camden CLA less than 12 months: nobody -> 0 pupils, everything over them z; Progress 8 pupils print 0.
    ("Local authority", "CLA less than 12 months at 31 March", "202",
     ("0", "z", "z", "z", "z", "z", "z", "z", "z", "z", "z", "0", "z", "z", "z", "z")),
    # Greenwich CINO: 4 pupils (a1 and three more) -> whole row c.
    ("Local authority", "CINO at 31 March", "203", ("c",) * 16),
    # England CINO: a1 counted once -> 10 pupils; Att8 179.75 + 3 x 40 = 299.75, /10 = 29.975 -> 30; 5+ E&M 2 + 3
    # = 5 (c); 4+ 4 + 3 = 7 -> 10 (rounded), 7/10 = 70 %; P8 -5 + 3 = -2, /10 = -0.2, CI -0.2 -/+ 1.96/sqrt(10)
    # (0.6198) -> -0.82 and 0.42.
    ("National", "CINO at 31 March", None,
     ("10", "299.75", "30", "c", "c", "10", "70", "0", "0", "10", "1", "10", "-2", "-0.2", "-0.82", "0.42")),
    # Outer London CINO: 4 pupils, 1-5 on the unrounded count -> whole row c (not rounded to 0 or 10).
    ("Regional", "CINO at 31 March", "E13000002", ("c",) * 16),
    # London CINO = Inner (7) and Outer (4) with a1 once = 10, the same figures as England.
    ("Regional", "CINO at 31 March", "E12000007",
     ("10", "299.75", "30", "c", "c", "10", "70", "0", "0", "10", "1", "10", "-2", "-0.2", "-0.82", "0.42")),
    # Inner London CINO = Camden's 7 -> counts rounded to 10; totals of points (Att8, EBacc APS, P8) are not
    # counts and print unrounded at every level; averages as Camden's.
    ("Regional", "CINO at 31 March", "E13000001",
     ("10", "179.75", "25.7", "c", "c", "c", "c", "0", "0", "7", "1", "10", "-5", "-0.71", "-1.46", "0.03")),
])
def test_ks4_la_cells_worked_by_hand(ks4_2023, level, group, code, want):
    _, _, published = ks4_2023
    row = _row(published, level, group, code)
    assert tuple(row[c] for c in KS4_CELLS) == want


def test_ks4_la_rows_columns_and_order(ks4_2023):
    spec, unrounded, published = ks4_2023
    assert published.columns == list(spec.columns)
    assert all(t == pl.Utf8 for t in published.schema.values())
    las = las_in_year("2023-24").height
    # 5 groups x (England + 11 regions (9 + Inner and Outer London) + every LA)
    assert published.height == 5 * (1 + 11 + las)
    assert set(published["version"].unique().to_list()) == {"Revised"}
    assert set(published["time_identifier"].unique().to_list()) == {"Academic year"}
    # the helper group of the checks is not published
    assert "CLA at 31 March" in unrounded["social_care_group"].unique().to_list()
    assert "CLA at 31 March" not in published["social_care_group"].unique().to_list()
    # row order: group (alphabetical, as DfE's files), then England, regions by code, LAs by region and name
    first = published.filter(pl.col("social_care_group") == "CIN at 31 March")
    assert first["geographic_level"].to_list()[:2] == ["National", "Regional"]
    regions = first.filter(pl.col("geographic_level") == "Regional")["region_code"].to_list()
    assert regions == sorted(regions) and len(regions) == 11
    la = first.filter(pl.col("geographic_level") == "Local authority")
    assert la.select("region_code", "la_name").rows() == sorted(la.select("region_code", "la_name").rows())
    assert published["social_care_group"].unique(maintain_order=True).to_list() == list(spec.groups)
    # National rows leave region and LA columns empty; LA rows carry their region
    nat = published.filter(pl.col("geographic_level") == "National")
    assert nat.select(pl.col("region_code", "old_la_code", "la_name", "new_la_code").is_null().all()).row(0) == \
        (True,) * 4
    camden = _row(published, "Local authority", "CINO at 31 March", "202")
    assert (camden["new_la_code"], camden["la_name"], camden["region_name"]) == ("E09000007", "Camden",
                                                                                 "Inner London")


def test_version_is_final_before_the_latest_year():
    spec = TABLES["ks4_la"]
    data = linked("ks4", "2022-23", ks4_children()[:7])
    out = publish(spec, unrounded_table(spec, data, "2022-23"), "2022-23", latest="202425")
    assert set(out["version"].to_list()) == {"Final"}


def test_progress_8_not_produced_in_2024_25_is_x():
    spec = TABLES["ks4_la"]
    data = linked("ks4", "2024-25", ks4_children())
    out = publish(spec, unrounded_table(spec, data, "2024-25"), "2024-25")
    camden = _row(out, "Local authority", "CINO at 31 March", "202")
    assert [camden[c] for c in ("t_inp8calc", "t_p8score", "avg_p8score", "p8score_CI_low", "p8score_CI_upp")] \
        == ["x"] * 5
    assert (camden["t_pupils"], camden["avg_att8"]) == ("7", "25.7")  # the rest as in 2023-24
    assert (out["time_period"] == "202425").all()


def test_a_year_without_the_outcome_is_x_everywhere():
    """KS2 was not assessed in 2020/21: every row of the file, every figure x (as DfE's file)."""
    spec = TABLES["ks2_la"]
    empty = linked("ks2", "2020-21", [])
    out = publish(spec, unrounded_table(spec, empty, "2020-21"), "2020-21")
    assert out.height == 5 * (1 + 11 + las_in_year("2020-21").height)
    assert set(out.select(spec.indicator_names).unpivot()["value"].unique().to_list()) == {"x"}


def test_absence_by_phase_with_zero_sessions_z_and_totals():
    """Absence is pre-grouped: a pupil has a row per school phase and one Total row."""
    spec = TABLES["absence_la"]

    def pupil(la, key, kind, phase_rows):
        rows = [{"phase_type_grouping": ph, "SessionsPossible": sp, "AuthorisedAbsence": au,
                 "UnauthorisedAbsence": un, "OverallAbsence": au + un} for ph, sp, au, un in phase_rows]
        tot = {"phase_type_grouping": "Total", "SessionsPossible": sum(r[1] for r in phase_rows),
               "AuthorisedAbsence": sum(r[2] for r in phase_rows),
               "UnauthorisedAbsence": sum(r[3] for r in phase_rows),
               "OverallAbsence": sum(r[2] + r[3] for r in phase_rows)}
        return {"la": la, "key": key, "kind": kind, "rows": [*rows, tot]}

    prim, sec = "State-funded primary", "State-funded secondary"
    kids = [pupil("202", f"a{i}", "CINO", [(prim, 300, 20, 10)]) for i in range(8)]
    # one pupil moved from a primary to a secondary school: counted in both phases and once in Total
    kids.append(pupil("202", "m", "CINO", [(prim, 100, 40, 20), (sec, 200, 10, 0)]))
    data = linked("absence", "2023-24", kids)
    out = publish(spec, unrounded_table(spec, data, "2023-24"), "2023-24")

    def cell(phase, col, group="CINO at 31 March", code="202"):
        return out.filter((pl.col("old_la_code") == code) & (pl.col("social_care_group") == group)
                          & (pl.col("phase_type_grouping") == phase))[col].item()

    # Total: 9 pupils, 8 x 300 + 300 = 2700 sessions, overall absence 8 x 30 + 70 = 310 -> 11.48 % -> 11.5;
    # authorised 8 x 20 + 50 = 210 -> 7.8 %; unauthorised 8 x 10 + 20 = 100 -> 3.7 %;
    # persistent (10 %+): every pupil (30/300 = 10 % exactly, 70/300) = 9 -> 100 %; severe (50 %+): none -> 0.
    assert [cell("Total", c) for c in ("t_pupils", "t_sess_possible", "t_sess_overall", "pt_overall",
                                        "pt_sess_authorised", "pt_sess_unauthorised", "t_pupils_pa_10_exact",
                                        "pt_pupils_pa_10_exact", "t_pupils_pa_50_exact", "pt_pupils_pa_50_exact")] \
        == ["9", "2700", "310", "11.5", "7.8", "3.7", "9", "100", "0", "0"]
    # Primary: the same 9 pupils, 8 x 300 + 100 = 2500 sessions, 240 + 60 = 300 missed -> 12 %
    assert [cell(prim, c) for c in ("t_pupils", "t_sess_possible", "pt_overall")] == ["9", "2500", "12"]
    # Secondary: 1 pupil -> the row is c
    assert cell(sec, "t_pupils") == "c" and cell(sec, "pt_overall") == "c"
    # Special: nobody -> 0 pupils and sessions z, as DfE's file prints them
    assert [cell("Special", c) for c in ("t_pupils", "t_sess_possible", "pt_overall")] == ["0", "z", "z"]
    assert out["absence_terms"].unique().to_list() == ["six half terms"]
    assert out.filter(pl.col("old_la_code") == "202")["phase_type_grouping"].unique(maintain_order=True) \
        .to_list() == list(spec.filter("phase_type_grouping").items)


def test_national_file_breakdowns_totals_and_not_applicable_rows():
    spec = TABLES["ks4_national"]
    kids = ks4_children()
    # two of Camden's CINO pupils are boys: a0 (Att8 10) and a1 (20; also returned by Greenwich)
    for k in kids:
        if k["key"] in ("a0", "a1"):
            k["sex"] = "Male"
    pupils = [{"KS4_ATT8": 50.0, "KS4_L2BASICS_95": i < 6, "KS4_L2BASICS_94": i < 8, "KS4_EBACC_E_PTQ_EE": i < 4,
               "KS4_EBACC_94": False, "KS4_EBACC_95": False, "KS4_EBACCAPS": 4.0, "KS4_APENG_91": 5,
               "KS4_HGMATH_91": 4, "KS4_INP8CALC": True, "KS4_P8SCORE": 0.0, "sd_p8score": 1.0,
               "sex": "Male" if i < 4 else "Female"} for i in range(12)]
    data = linked("ks4", "2023-24", kids, pupils)
    out = publish(spec, unrounded_table(spec, data, "2023-24"), "2023-24")

    def row(group, **filters):
        f = pl.col("social_care_group") == group
        for b in spec.breakdowns:
            f &= pl.col(b) == filters.get(b, "Total")
        got = out.filter(f)
        assert got.height == 1, (group, filters)
        return got.row(0, named=True)

    # All pupils: 12 -> 10; 6 at grade 5+ -> 10 (rounded), 50 %; 8 at 4+ -> 66.7 %; 4 EBacc entries (c)
    allp = row("All pupils comparison")
    assert [allp[c] for c in ("t_pupils", "t_l2basics_95", "pt_l2basics_95", "pt_l2basics_94",
                              "t_ebacc_e_ptq_ee", "pt_ebacc_e_ptq_ee", "avg_att8")] == \
        ["10", "10", "50", "66.7", "c", "c", "50"]
    # CINO by sex: boys a0, a1 -> 2 (row c); girls a2..a6 and d0..d2 = 8: Att8 30+40+50+12.5+17.25+120 = 269.75,
    # /8 = 33.72 -> 33.7
    assert row("CINO at 31 March", sex="Male")["t_pupils"] == "c"
    girls = row("CINO at 31 March", sex="Female")
    assert (girls["t_pupils"], girls["avg_att8"]) == ("10", "33.7")
    # CLA 12 months by placement: 6 in foster placements -> 10 (rounded), Att8 avg 20
    foster = row("CLA 12 months at 31 March", placement="Foster placements")
    assert (foster["t_pupils"], foster["avg_att8"]) == ("10", "20")
    assert row("CLA 12 months at 31 March", placement="Placed for adoption")["t_pupils"] == "0"
    # placement does not apply to CINO: the row is there (complete matrix) and every figure z
    cino_foster = row("CINO at 31 March", placement="Foster placements")
    assert {cino_foster[c] for c in spec.indicator_names} == {"z"}
    # every group x every item of each breakdown, one breakdown at a time
    expected = sum(len(spec.groups) * (len(spec.filter(b).items) - 1) for b in spec.breakdowns) + len(spec.groups)
    assert out.height == expected
    assert not [c for c in out.columns if c in ("region_code", "old_la_code")]


def test_match_rates_from_the_linkage_frame():
    spec = TABLES["match_rates"]
    base = {"reporting_year": "2024-25", "country_code": "E92000001", "country_name": "England"}
    rows = [
        # England CINO, school census: 1,234 children, 1,100 with a UPN, 1,043 matched
        {**base, "geographic_level": "National", "region_code": None, "region_name": None, "old_la_code": None,
         "la_name": None, "new_la_code": None, "social_care_group": "CINO at 31 March", "pupil_population": "census",
         "t_children": 1234, "t_children_with_upn": 1100, "t_matched": 1043},
        # Camden CINO: 40 children, 37 with a UPN, 3 matched (c)
        {**base, "geographic_level": "Local authority", "region_code": "E13000001", "region_name": "Inner London",
         "old_la_code": "202", "la_name": "Camden", "new_la_code": "E09000007", "social_care_group":
         "CINO at 31 March", "pupil_population": "census", "t_children": 40, "t_children_with_upn": 37,
         "t_matched": 3},
    ]
    rates = pl.DataFrame(rows)
    out = publish(spec, unrounded_table(spec, rates, "2024-25"), "2024-25")

    def row(level, code, pop="Spring school census", group="CINO at 31 March"):
        f = (pl.col("geographic_level") == level) & (pl.col("social_care_group") == group) \
            & (pl.col("pupil_population") == pop)
        if code:
            f &= pl.col("old_la_code") == code
        return out.filter(f).row(0, named=True)

    # 1234 -> 1230, 1100 -> 1100, 1043 -> 1040; 1100/1234 = 89.14 -> 89.1; 1043/1234 = 84.52 -> 84.5;
    # 1043/1100 = 94.82 -> 94.8 (percentages from unrounded counts)
    nat = row("National", None)
    assert [nat[c] for c in spec.indicator_names] == ["1230", "1100", "89.1", "1040", "84.5", "94.8"]
    # Camden: 40, 37, 92.5 %, matched 3 -> c with the percentages made from it
    assert [row("Local authority", "202")[c] for c in spec.indicator_names] == ["40", "37", "92.5", "c", "c", "c"]
    # groups not published at LA level have national rows only; every pupil population for every group
    assert out.filter(pl.col("social_care_group") == "CIN at any point")["geographic_level"].unique().to_list() \
        == ["National"]
    las = las_in_year("2024-25").height
    assert out.height == 8 * (13 + 6 * las)  # LA rows: the five LA groups and CLA at 31 March
    # a missing row is 0 children, rates z
    empty = row("Local authority", "203")
    assert [empty[c] for c in spec.indicator_names] == ["0", "z", "z", "z", "z", "z"]


def test_skeleton_is_the_complete_matrix():
    spec = TABLES["ks4_national"]
    full = skeleton(spec, "2023-24", groups=spec.groups, applicable_only=False)
    data_only = skeleton(spec, "2023-24", groups=spec.groups)
    # placement and period of care rows for every group in the file, for CLA at 31 March groups in the data
    n_cla_items = len(spec.filter("placement").items) - 1 + len(spec.filter("period_of_care_length").items) - 1
    non_cla = [g for g in spec.groups if g not in CLA_AT_31_MARCH_GROUPS]
    assert full.height - data_only.height == len(non_cla) * n_cla_items
