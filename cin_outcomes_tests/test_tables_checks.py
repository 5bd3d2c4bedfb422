"""Every table check passes on a good table and fails on a hand-made bad one, saying where."""

import polars as pl
import pytest

from cin_outcomes.tabulation.build import publish, unrounded_table
from cin_outcomes.tabulation.checks import (
    checks_for,
    complete_matrix,
    ees_screener,
    groups_add_up,
    national_within_las,
    rates_within_bounds,
    run_checks,
)
from cin_outcomes.tabulation.spec import TABLES
from cin_outcomes_tests.tables_fixtures import ks4_child, linked
from cin_outcomes_tests.test_tables_build import ks4_children

YEAR = "2023-24"


@pytest.fixture(scope="module")
def good():
    spec = TABLES["ks4_la"]
    unrounded = unrounded_table(spec, linked("ks4", YEAR, ks4_children()), YEAR)
    return spec, unrounded, publish(spec, unrounded, YEAR)


@pytest.fixture(scope="module")
def good_national():
    spec = TABLES["ks4_national"]
    pupils = [{k: v for k, v in ks4_child("", "", "CINO", 40.0).items() if k not in ("la", "key", "kind")}] * 8
    unrounded = unrounded_table(spec, linked("ks4", YEAR, ks4_children(), pupils), YEAR)
    return spec, unrounded, publish(spec, unrounded, YEAR)


def _set(frame: pl.DataFrame, where: pl.Expr, **values) -> pl.DataFrame:
    return frame.with_columns(pl.when(where).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items())


CAMDEN = (pl.col("geographic_level") == "Local authority") & (pl.col("old_la_code") == "202")
ENGLAND = pl.col("geographic_level") == "National"


def test_every_check_passes_on_good_tables(good, good_national):
    for spec, unrounded, published in (good, good_national):
        results = run_checks(spec, unrounded, published, YEAR)
        assert set(results) == {c.name for c in checks_for(spec)}
        failed = {k: r.metadata for k, r in results.items() if not r.passed}
        assert failed == {}
    assert {c.name for c in checks_for(good[0])} == {"ees_screener", "groups_add_up", "national_within_las",
                                                      "rates_within_bounds", "complete_matrix"}
    # a national file has no LA rows to add up to
    assert "national_within_las" not in {c.name for c in checks_for(good_national[0])}


@pytest.mark.parametrize("column, value, rule", [
    ("t_pupils", None, "ind_blanks"),              # an empty indicator cell
    ("avg_att8", ":", "ind_invalid_entry"),         # a legacy symbol
    ("avg_att8", "NaN", "ind_not_number"),          # a calculation artefact
    ("la_name", "Camden Town", "geog_la_combos"),   # a name that does not go with the LA code
    ("social_care_group", " CINO at 31 March", "filter_whitespace"),
])
def test_screener_check_fails_on_a_bad_cell(good, column, value, rule):
    spec, _, published = good
    bad = published.with_columns(
        pl.when(CAMDEN & (pl.col("social_care_group") == "CINO at 31 March")).then(pl.lit(value, pl.Utf8))
        .otherwise(pl.col(column)).alias(column))
    res = ees_screener(spec, bad)
    assert not res.passed
    assert any(rule in f for f in res.metadata["findings"])


def test_screener_check_screens_a_single_year_version_as_a_single_level_column(good):
    spec, _, published = good
    assert published["version"].n_unique() == 1
    assert ees_screener(spec, published).passed  # otherwise filter_not_singular would fail every year


def test_groups_add_up_fails_when_cino_cppo_cla_is_not_cin(good):
    spec, unrounded, _ = good
    bad = _set(unrounded, CAMDEN & (pl.col("social_care_group") == "CIN at 31 March"), t_pupils=17)
    res = groups_add_up(spec, bad)
    assert not res.passed
    rule = res.metadata["failures_by_rule"][0]
    assert rule["rule"].endswith("= CIN at 31 March in each LA") and rule["column"] == "t_pupils"
    assert rule["where"] == ["202 / CIN at 31 March"]
    # numerators add up exactly too
    bad = _set(unrounded, CAMDEN & (pl.col("social_care_group") == "CLA at 31 March"), t_l2basics_94=0)
    res = groups_add_up(spec, bad)
    assert {r["column"] for r in res.metadata["failures_by_rule"]} == {"t_l2basics_94"}
    assert len(res.metadata["failures_by_rule"]) == 2  # CIN = ... + CLA and CLA = CLA 12m + CLA < 12m


def test_groups_add_up_fails_nationally_when_a_part_exceeds_the_whole(good):
    spec, unrounded, _ = good
    bad = _set(unrounded, ENGLAND & (pl.col("social_care_group") == "CLA 12 months at 31 March"), t_pupils=999)
    res = groups_add_up(spec, bad)
    assert not res.passed
    rules = {r["rule"] for r in res.metadata["failures_by_rule"]}
    assert any(r.startswith("each of") and "(National)" in r for r in rules)


def test_national_within_las_fails_when_england_exceeds_its_las(good):
    spec, unrounded, _ = good
    assert national_within_las(spec, unrounded).passed
    bad = _set(unrounded, ENGLAND & (pl.col("social_care_group") == "CINO at 31 March"), t_pupils=12)
    res = national_within_las(spec, bad)  # Camden 7 + Greenwich 4 = 11 < 12
    assert not res.passed and res.metadata["failures_by_rule"][0]["column"] == "t_pupils"
    london = (pl.col("geographic_level") == "Regional") & (pl.col("region_code") == "E12000007")
    bad = _set(unrounded, london & (pl.col("social_care_group") == "CINO at 31 March"), t_l2basics_94=9)
    res = national_within_las(spec, bad)  # London is Inner + Outer London's LAs: Camden 4 + Greenwich 4 = 8 < 9
    assert not res.passed and res.metadata["failures_by_rule"][0]["rule"] == "Regional at most the sum of its LAs"


def test_rates_within_bounds_fails_on_numerators_above_denominators_and_bad_percentages(good):
    spec, unrounded, published = good
    assert rates_within_bounds(spec, unrounded, published).passed
    bad = _set(unrounded, CAMDEN & (pl.col("social_care_group") == "CINO at 31 March"), t_l2basics_95=9,
               pt_l2basics_95=128.6)
    res = rates_within_bounds(spec, bad, published)
    assert {r["rule"] for r in res.metadata["failures_by_rule"]} == {"t_l2basics_95 above t_pupils",
                                                                    "pt_l2basics_95 outside 0-100"}
    res = rates_within_bounds(spec, _set(unrounded, CAMDEN, t_ebacc_e_ptq_ee=-1), published)
    assert any(r["rule"] == "t_ebacc_e_ptq_ee negative" for r in res.metadata["failures_by_rule"])
    res = rates_within_bounds(spec, unrounded, _set(published, ENGLAND, pt_l2basics_94="100.1"))
    assert [r["rule"] for r in res.metadata["failures_by_rule"]] == ["published pt_l2basics_94 outside 0-100"]


def test_complete_matrix_fails_on_missing_duplicated_or_unexpected_rows(good, good_national):
    spec, _, published = good
    assert complete_matrix(spec, published, YEAR).passed
    res = complete_matrix(spec, published.filter(~(CAMDEN & (pl.col("social_care_group") == "CPPO at 31 March"))),
                          YEAR)
    assert not res.passed and res.metadata["failures_by_rule"][0] == {
        "rule": "missing combinations", "rows": 1, "where": ["202 / CPPO at 31 March"]}
    res = complete_matrix(spec, pl.concat([published, published.head(1)]), YEAR)
    assert [r["rule"] for r in res.metadata["failures_by_rule"]] == ["duplicated combinations"]
    res = complete_matrix(spec, _set(published, CAMDEN, social_care_group="CIN at any point"), YEAR)
    assert "combinations not in the specification" in [r["rule"] for r in res.metadata["failures_by_rule"]]
    nspec, _, npub = good_national
    no_total = npub.filter(pl.col("sex") != "Total")
    res = complete_matrix(nspec, no_total, YEAR)
    assert {"rule": "breakdowns without a Total", "filters": ["sex"]} in res.metadata["failures_by_rule"]


def test_national_within_las_compares_only_groups_with_la_rows():
    """Match rates: groups published nationally only (at any point, Ever-6) have no LAs to add up to."""
    spec = TABLES["match_rates"]
    rows = [("National", None, None, group, "census", 40, 37, 30)
            for group in ("CINO at 31 March", "CIN at 31 March", "CIN at any point")]
    rows += [("Local authority", "202", "E13000001", group, "census", 40, 37, 30)
             for group in ("CINO at 31 March", "CIN at 31 March")]
    rates = pl.DataFrame(rows, orient="row", schema={
        "geographic_level": pl.Utf8, "old_la_code": pl.Utf8, "region_code": pl.Utf8, "social_care_group": pl.Utf8,
        "pupil_population": pl.Utf8, "t_children": pl.Int64, "t_children_with_upn": pl.Int64,
        "t_matched": pl.Int64}).with_columns(reporting_year=pl.lit("2024-25"))
    unrounded = unrounded_table(spec, rates, "2024-25")
    assert national_within_las(spec, unrounded).passed
    bad = _set(unrounded, ENGLAND & (pl.col("social_care_group") == "CINO at 31 March")
               & (pl.col("pupil_population") == "Spring school census"), t_matched=31)
    res = national_within_las(spec, bad)
    assert not res.passed and res.metadata["failures_by_rule"][0]["where"] == [
        "National / CINO at 31 March / Spring school census"]
