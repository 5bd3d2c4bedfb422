"""The EES screener port: a clean pair passes, every FAIL rule fails on a hand-made pair, screening stops at the
first failing stage, and DfE's real published LA files pass with a metadata file built for them."""

import shutil
from pathlib import Path

import polars as pl
import pytest

from cin_outcomes.publication import LA_FILES, layout, screener
from cin_outcomes.publication.screener import (
    ScreeningError,
    filter_row,
    indicator_row,
    meta_frame,
    read_meta_csv,
    require_pass,
    screen,
    screen_frames,
    write_meta,
)

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "published"

BASE = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
        "region_name", "old_la_code", "la_name", "new_la_code", "social_care_group", "t_pupils", "pt_met"]


def _rows():
    rows = []
    for group in ("Total", "CINO at 31 March"):
        rows.append(["202425", "Academic year", "National", "E92000001", "England", None, None, None, None, None,
                     group, "13260", "17.3"])
        rows.append(["202425", "Academic year", "Regional", "E92000001", "England", "E13000001", "Inner London",
                     None, None, None, group, "670", "c"])
        rows.append(["202425", "Academic year", "Local authority", "E92000001", "England", "E13000001",
                     "Inner London", "202", "Camden", "E09000007", group, "42", "x"])
        rows.append(["202425", "Academic year", "Local authority", "E92000001", "England", "E12000001",
                     "North East", "840", "County Durham", "E06000047", group, "0", "z"])
    return rows


def data_frame(rows=None, columns=BASE) -> pl.DataFrame:
    rows = _rows() if rows is None else rows
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in columns}, orient="row")


def meta_rows():
    return [filter_row("social_care_group", "Social care group", "Filter by group"),
            indicator_row("t_pupils", "Number of pupils", dp=0),
            indicator_row("pt_met", "Percentage meeting the standard", dp=1, unit="%")]


def clean_pair():
    return data_frame(), meta_frame(meta_rows())


def with_cell(df: pl.DataFrame, row: int, col: str, value) -> pl.DataFrame:
    """``df`` with one cell replaced (row is 0-based)."""
    return df.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, pl.Utf8))
                           .otherwise(pl.col(col)).alias(col))


def with_meta(meta: pl.DataFrame, row: int, col: str, value) -> pl.DataFrame:
    if col not in meta.columns:
        meta = meta.with_columns(pl.lit("", pl.Utf8).alias(col))
    return with_cell(meta, row, col, value)


def fails(result, rule: str):
    assert not result.passed, result.report()
    assert rule in result.rules_failed(), result.report()
    return next(f for f in result.failures if f.rule == rule)


# --- the clean pair -----------------------------------------------------------------------------------------------

def test_clean_pair_passes_with_no_findings():
    data, meta = clean_pair()
    result = screen_frames(data, meta, data_filename="ks4_la.csv", meta_filename="ks4_la.meta.csv")
    assert result.passed and result.stage == "Passed" and result.api_suitable, result.report()
    assert result.findings == ()
    assert result.stages_run[0] == "Filename" and result.stages_run[-1] == "Check API"


def test_clean_pair_passes_from_files_written_by_write_meta(tmp_path):
    data, _ = clean_pair()
    data.write_csv(tmp_path / "ks4_la.csv")
    meta_path = write_meta(meta_rows(), tmp_path / "ks4_la.csv")
    assert meta_path.name == "ks4_la.meta.csv"
    assert read_meta_csv(meta_path).fill_null("").equals(meta_frame(meta_rows()))
    result = screen(tmp_path / "ks4_la.csv", meta_path)
    assert result.passed and result.findings == (), result.report()
    assert require_pass(result) is result


# --- file names and reading ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data_name", "meta_name", "rule"), [
    ("ks4 la.csv", "ks4 la.meta.csv", "filename_spaces"),
    ("ks4_la£.csv", "ks4_la£.meta.csv", "filename_special"),
    ("ks4_la.v2.csv", "ks4_la.v2.meta.csv", "filename_special"),
    ("ks4_la.csv", "ks2_la.meta.csv", "filenames_match"),
    ("ks4_la.csv", "ks4_la.csv.meta", "filenames_match"),
])
def test_filename_rules_fail(data_name, meta_name, rule):
    data, meta = clean_pair()
    result = screen_frames(data, meta, data_filename=data_name, meta_filename=meta_name)
    fails(result, rule)
    assert result.stage == "Filename"


def test_missing_file_fails_on_reading(tmp_path):
    data, _ = clean_pair()
    data.write_csv(tmp_path / "ks4_la.csv")
    result = screen(tmp_path / "ks4_la.csv", tmp_path / "ks4_la.meta.csv")
    fails(result, "file_exists")
    assert result.stage == "Reading"


def test_unreadable_csv_fails_on_reading(tmp_path):
    (tmp_path / "ks4_la.csv").write_text('time_period,geographic_level\n202425,"National\n', encoding="utf-8")
    write_meta(meta_rows(), tmp_path / "ks4_la.csv")
    result = screen(tmp_path / "ks4_la.csv", tmp_path / "ks4_la.meta.csv")
    fails(result, "file_read")


# --- every FAIL rule on a hand-made pair --------------------------------------------------------------------------

def _drop_meta_col(col):
    def f(d, m):
        return d, m.drop(col)
    return f


def _meta_cell(row, col, value):
    def f(d, m):
        return d, with_meta(m, row, col, value)
    return f


def _data_cell(row, col, value):
    def f(d, m):
        return with_cell(d, row, col, value), m
    return f


def _add_indicator(name, col_values=None):
    def f(d, m):
        d = d.with_columns(pl.lit("5").alias(name) if col_values is None else pl.Series(name, col_values))
        return d, pl.concat([m, meta_frame([indicator_row(name, f"Label {name}", dp=0)])])
    return f


def _add_filter(name, values, group=None, group_values=None, default=""):
    def f(d, m):
        d = d.with_columns(pl.Series(name, values, dtype=pl.Utf8))
        rows = [filter_row(name, f"Label {name}", grouping_column=group or "", default=default)]
        if group:
            d = d.with_columns(pl.Series(group, group_values, dtype=pl.Utf8))
            rows.append(filter_row(group, f"Label {group}"))
        extra = meta_frame(rows)
        if "filter_default" in extra.columns and "filter_default" not in m.columns:
            m = m.with_columns(pl.lit("", pl.Utf8).alias("filter_default"))
        if "filter_default" in m.columns and "filter_default" not in extra.columns:
            extra = extra.with_columns(pl.lit("", pl.Utf8).alias("filter_default"))
        return d, pl.concat([m, extra])
    return f


def _seq(*fs):
    def f(d, m):
        for g in fs:
            d, m = g(d, m)
        return d, m
    return f


EIGHT = ["Total", "Total", "Total", "Total", "Boys", "Boys", "Boys", "Boys"]

FAIL_CASES = {
    # Precheck columns
    "col_req_meta": _drop_meta_col("filter_hint"),
    "col_invalid_meta": lambda d, m: (d, m.with_columns(pl.lit("", pl.Utf8).alias("notes"))),
    "col_req_data": lambda d, m: (d.drop("country_name"), m),
    "col_to_rows": lambda d, m: (d.drop("region_code", "region_name", "old_la_code", "la_name", "new_la_code"),
                                 pl.concat([m, m])),
    # Precheck cross-file
    "cross_meta_to_data": lambda d, m: (d, pl.concat([m, meta_frame([indicator_row("t_gone", "Gone", dp=0)])])),
    # Check columns
    "col_names_spaces": lambda d, m: (d.with_columns(pl.lit("a").alias("note text")), m),
    "col_ind_smushed": _add_indicator("t_female"),
    # Precheck meta
    "meta_col_type": _meta_cell(0, "col_type", "filter"),
    "meta_ob_unit": lambda d, m: (d, pl.concat([m, meta_frame([filter_row("la_name", "LA")])])),
    "meta_col_name": _meta_cell(1, "col_name", None),
    # Check meta
    "meta_dupe_label": _meta_cell(2, "label", "Number of pupils"),
    "meta_fil_grp": lambda d, m: (d.with_columns(pl.lit("a").alias("grp")), with_meta(m, 1, "filter_grouping_column",
                                                                                        "grp")),
    "meta_fil_grp_dupe": _seq(_add_filter("sex", EIGHT, "sex_group", ["Total"] * 4 + ["Male"] * 4),
                              _add_filter("phase", EIGHT, None),
                              lambda d, m: (d, with_meta(m, 5, "filter_grouping_column", "sex_group"))),
    "meta_fil_grp_stripped": _add_filter("year_group", ["Total", "Year 1", "Year-1", "Total"] * 2, "phase_group",
                                         ["Total", "Year 1", "Year-1", "Total"] * 2),
    "meta_label": _meta_cell(1, "label", " "),
    "meta_filter_hint": _meta_cell(1, "filter_hint", "A hint"),
    "meta_geog_catch": _add_filter("la_group_code", EIGHT),
    "meta_indicator_dp": _meta_cell(0, "indicator_dp", "0"),
    "meta_col_name_dupe": lambda d, m: (d, pl.concat([m, meta_frame([indicator_row("t_pupils", "Pupils", dp=0)])])),
    "meta_ind_dp_values": _meta_cell(2, "indicator_dp", "1.5"),
    "meta_ind_unit": _meta_cell(0, "indicator_unit", "%"),
    "meta_ind_unit_validation": _meta_cell(2, "indicator_unit", "percent"),
    "meta_indicator_grouping": _meta_cell(0, "indicator_grouping", "Attainment"),
    # Check general (nulls)
    "general_null": _data_cell(3, "t_pupils", "NA"),
    # Precheck filters
    "filter_not_singular": lambda d, m: (d.with_columns(pl.lit("Total").alias("social_care_group")), m),
    # Precheck time
    "time_period_num": _data_cell(0, "time_period", "2024/25"),
    "time_id_valid": _data_cell(0, "time_identifier", "academic year"),
    "time_id_mix": _data_cell(5, "time_identifier", "Financial year"),
    # Precheck geography
    "geog_level": _data_cell(1, "geographic_level", "Region"),
    "geog_level_present": lambda d, m: (d.drop("old_la_code"), m),
    # Check time
    "time_period": _data_cell(2, "time_period", "2024"),
    "time_period_six": _data_cell(2, "time_period", "202426"),
    # Check filters
    "filter_group_level": _add_filter("sex", ["Total"] * 4 + ["Girls"] * 4, "sex_group",
                                      ["Total", "A", "B", "C", "Total", "D", "E", "F"]),
    "filter_whitespace": lambda d, m: (d.with_columns(pl.col("social_care_group").str.replace("Total", "Total ")), m),
    "filter_ob_total": _data_cell(2, "la_name", "Total"),
    "filter_blanks": _data_cell(4, "social_care_group", None),
    # Check general (duplicates)
    "general_dupes": _data_cell(6, "social_care_group", "Total"),
    # Check geography
    "geog_country_combos": _data_cell(0, "country_name", "ENGLAND"),
    "geog_region_combos": _data_cell(1, "region_name", "Inner london"),
    "geog_la_combos": _data_cell(3, "la_name", "Durham"),
    "geog_level_completed": _data_cell(1, "region_name", None),
    "geog_la_col_present": lambda d, m: (d.filter(pl.col("geographic_level") != "Local authority")
                                         .drop("old_la_code"), m),
    "geog_region_col_present": lambda d, m: (d.filter(pl.col("geographic_level") == "National")
                                             .drop("region_name", "old_la_code", "la_name", "new_la_code"), m),
    "geog_overcompleted_cols": _data_cell(0, "region_code", "E12000001"),
    # Check indicators
    "ind_invalid_entry": _data_cell(0, "pt_met", ":"),
    "ind_blanks": _data_cell(2, "pt_met", None),
    "ind_not_number": _data_cell(1, "pt_met", "NaN"),
    # Check harmonised
    "harmonised_variables": _add_indicator("t_SEN_support"),
}


@pytest.mark.parametrize("rule", sorted(FAIL_CASES))
def test_each_fail_rule_fails_a_hand_made_pair(rule):
    data, meta = FAIL_CASES[rule](*clean_pair())
    result = screen_frames(data, meta)
    finding = fails(result, rule)
    assert finding.stage == result.stage
    # screening stopped at the failing stage: nothing from a later stage is reported
    last = result.stages_run[-1]
    assert last == result.stage and all(f.stage in result.stages_run for f in result.findings)


#: Every FAIL rule named in ees-screener-rules.md, plus the project's stricter indicator rules.
RULES_FILE_FAILS = {
    "filename_spaces", "filename_special", "filenames_match", "col_req_meta", "col_invalid_meta", "col_req_data",
    "col_to_rows", "cross_meta_to_data", "col_names_spaces", "col_ind_smushed", "meta_col_type", "meta_ob_unit",
    "meta_col_name", "meta_dupe_label", "meta_col_name_dupe", "meta_col_name_spaces", "meta_label", "meta_fil_grp",
    "meta_filter_hint", "meta_indicator_grouping", "meta_indicator_dp", "meta_ind_unit", "meta_fil_grp_dupe",
    "meta_fil_grp_match", "meta_fil_grp_stripped", "meta_geog_catch", "meta_ind_dp_values",
    "meta_ind_unit_validation", "time_period_num", "time_id_valid", "time_id_mix", "filter_not_singular",
    "geog_level", "geog_level_present", "time_period", "time_period_six", "filter_group_level", "filter_item_limit",
    "filter_whitespace", "filter_ob_total", "filter_blanks", "geog_country_combos", "geog_region_combos",
    "geog_la_combos", "geog_level_completed", "geog_overcompleted_cols", "geog_la_col_present",
    "geog_region_col_present", "geog_na", "geog_na_code", "geog_other_dupes", "geog_other_code_dupes",
    "geog_ignored_rows", "general_dupes", "general_null", "ind_invalid_entry", "harmonised_variables",
    "ind_blanks", "ind_not_number",
}
#: Combination checks whose lookups are not packaged (this publication has no such columns): reported as warnings.
UNPACKAGED_LOOKUPS = {"geog_lad_combos", "geog_pcon_combos", "geog_lep_combos", "geog_lsip_combos",
                      "geog_eda_combos", "geog_ward_combos"}


def test_every_fail_rule_of_the_rules_file_has_a_failing_test():
    covered = (set(FAIL_CASES) | set(DIRECT_CASES) | set(SPECIAL_LEVEL_CASES)
               | {"filename_spaces", "filename_special", "filenames_match", "geog_other_code_dupes"})
    assert RULES_FILE_FAILS - covered == set()


def test_lookups_not_packaged_are_warned_not_silently_passed():
    data, meta = clean_pair()
    data = data.with_columns(pl.lit(None, pl.Utf8).alias("lad_code"), pl.lit(None, pl.Utf8).alias("lad_name"))
    result = screen_frames(data, meta)
    assert result.passed and "geog_lad_combos" in {f.rule for f in result.warnings}
    assert UNPACKAGED_LOOKUPS == {r for r in UNPACKAGED_LOOKUPS if r.startswith("geog_")}


# rules that an earlier stage always catches first in a staged run: exercised on the check itself
DIRECT_CASES = {
    "meta_fil_grp_match": ("c_meta_fil_grp_match",
                           lambda d, m: (d, with_meta(m, 0, "filter_grouping_column", "not_in_data"))),
    "meta_col_name_spaces": ("c_meta_col_name_spaces", _meta_cell(1, "col_name", "t pupils")),
    "filter_item_limit": ("c_filter_item_limit", lambda d, m: (d, m)),
}


@pytest.mark.parametrize("rule", sorted(DIRECT_CASES))
def test_fail_rules_shadowed_by_earlier_stages_fail_on_their_own(rule, monkeypatch):
    method, mutate = DIRECT_CASES[rule]
    if rule == "filter_item_limit":
        monkeypatch.setattr(screener, "FILTER_ITEM_LIMIT", 1)
    data, meta = mutate(*clean_pair())
    findings = getattr(screener._Screen(data, meta), method)()
    assert [f.rule for f in findings] == [rule] and findings[0].result == "FAIL"


def _level_frame(level_rows, extra_cols):
    """National rows plus rows at another level, for both social care groups."""
    cols = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", *extra_cols,
            "social_care_group", "t_pupils"]
    rows = []
    for group in ("Total", "CINO at 31 March"):
        rows.append(["202425", "Academic year", "National", "E92000001", "England", *([None] * len(extra_cols)),
                     group, "100"])
        rows += [["202425", "Academic year", *r, group, "50"] for r in level_rows]
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in cols}, orient="row")


ENGLAND = ("E92000001", "England")
SCHOOL_COLS = ["school_urn", "school_name", "school_laestab", "provider_ukprn", "provider_name"]
SPECIAL_LEVEL_CASES = {
    "geog_ignored_rows": (SCHOOL_COLS, [["School", *ENGLAND, "100001", "A School", "2021234", None, None],
                                        ["Provider", *ENGLAND, None, None, None, "10001234", "A College"]]),
    "geog_other_dupes": (["trust_id", "trust_name"], [["MAT", *ENGLAND, "1001", "Oak Trust"],
                                                      ["MAT", *ENGLAND, "1002", "Oak Trust"]]),
    "geog_na": (["trust_id", "trust_name"], [["MAT", *ENGLAND, "x", "Unknown trust"]]),
    "geog_na_code": (["trust_id", "trust_name"], [["MAT", *ENGLAND, "1003", "Not available"]]),
}
LEVEL_META = [filter_row("social_care_group", "Social care group"), indicator_row("t_pupils", "Pupils", dp=0)]


@pytest.mark.parametrize("rule", sorted(SPECIAL_LEVEL_CASES))
def test_fail_rules_for_other_geographic_levels(rule):
    extra, level_rows = SPECIAL_LEVEL_CASES[rule]
    data = _level_frame(level_rows, extra)
    result = screen_frames(data, meta_frame(LEVEL_META))
    fails(result, rule)
    assert result.stage == "Check geography"


def test_geography_codes_with_two_names_fail():
    data = _level_frame([["MAT", *ENGLAND, "1001", "Oak Trust"], ["MAT", *ENGLAND, "1001", "Elm Trust"]],
                        ["trust_id", "trust_name"])
    result = screen_frames(data, meta_frame(LEVEL_META))
    fails(result, "geog_other_code_dupes")
    assert "geog_other_dupes" not in result.rules_failed()


def test_ethnicity_characteristic_groups_must_use_standard_names():
    data = _level_frame([], []).with_columns(
        pl.Series("characteristic_group", ["Total", "Ethnic group"], dtype=pl.Utf8))
    meta = meta_frame([*LEVEL_META, filter_row("characteristic_group", "Characteristic group")])
    result = screen_frames(data, meta)
    fails(result, "harmonised_eth_char_grp")
    assert "col_var_characteristic" in {f.rule for f in result.warnings}


# --- stages, warnings, positions ----------------------------------------------------------------------------------

def test_screening_stops_at_the_first_failing_stage():
    data, meta = clean_pair()
    data = with_cell(data.drop("country_name"), 0, "pt_met", ":")       # Precheck columns + Check indicators
    result = screen_frames(data, meta)
    assert result.stage == "Precheck columns"
    assert result.rules_failed() == ("col_req_data",)
    assert "Check indicators" not in result.stages_run


def test_warnings_do_not_fail_or_stop():
    data, meta = clean_pair()
    data = data.with_columns(pl.Series("Notes", ["a", "-"] * 4),    # not snake case, not in meta, legacy "-"
                             pl.col("social_care_group").str.replace("Total", "All groups"))  # no Total
    data = with_cell(data, 2, "region_code", None)
    data = with_cell(data, 2, "region_name", None)                   # LA row without its region
    meta = with_meta(meta, 1, "indicator_dp", None)
    result = screen_frames(data, meta)
    assert result.passed, result.report()
    assert {f.rule for f in result.warnings} == {"col_snake_case", "col_var_start", "cross_data_to_meta",
                                                 "filter_defaults", "geog_region_for_la", "general_null",
                                                 "meta_ind_dp_set", "data_dict_fil_item"}
    assert not result.api_suitable
    assert result.stage == "Passed" and result.stages_run[-1] == "Check API"


def test_api_warnings_make_a_passing_file_unsuitable_for_the_api():
    data, meta = clean_pair()
    meta = with_meta(meta, 2, "label", "A" * 101)
    result = screen_frames(data, meta)
    assert result.passed and not result.api_suitable
    assert [f.rule for f in result.warnings] == ["api_char_col_label"]


def test_findings_point_at_rows_and_columns_without_printing_figures():
    data, meta = clean_pair()
    data = with_cell(with_cell(data, 2, "pt_met", None), 6, "t_pupils", None)
    result = screen_frames(data, meta, data_name="ks4_la.csv")
    f = fails(result, "ind_blanks")
    assert f.columns == ("t_pupils", "pt_met") and f.rows == (3, 7) and f.n_rows == 2
    text = result.report()
    assert "ks4_la.csv" in text and "rows: 3, 7" in text
    assert "13260" not in text and "17.3" not in text
    with pytest.raises(ScreeningError, match="ind_blanks"):
        require_pass(result)


def test_blank_filter_cells_and_null_read_from_empty_fields_fail(tmp_path):
    data, _ = clean_pair()
    data = with_cell(data, 3, "social_care_group", "")
    data.write_csv(tmp_path / "ks4_la.csv")           # the empty string is written as an empty field
    write_meta(meta_rows(), tmp_path / "ks4_la.csv")
    f = fails(screen(tmp_path / "ks4_la.csv", tmp_path / "ks4_la.meta.csv"), "filter_blanks")
    assert f.rows == (4,)


def test_meta_builder_refuses_mixed_rows():
    with pytest.raises(ValueError):
        screener.MetaRow("sex", "Filter", "Sex", indicator_dp=1)
    with pytest.raises(ValueError):
        indicator_row("pt", "Percent", dp=1, unit="percent")
    m = meta_frame([filter_row("sex", "Sex", default="Total"), indicator_row("t", "Count", dp=0)])
    assert m.columns == [*screener.REQUIRED_META_COLS, "filter_default"]
    assert m.row(1, named=True)["indicator_dp"] == "0" and m.row(0, named=True)["indicator_dp"] == ""


# --- DfE's real published LA files -------------------------------------------------------------------------------

def _meta_for_layout(lay):
    rows = [filter_row(f.name, f.name.replace("_", " ").capitalize(),
                       default="" if f.has_total else f.values[0])
            for f in lay.filters if not f.single_level]
    rows += [indicator_row(i.name, f"{i.name} ({i.kind})", dp=i.dp, unit=i.unit) for i in lay.indicators]
    return rows


@pytest.mark.parametrize("name", LA_FILES)
def test_real_published_la_files_pass(name, tmp_path):
    src = PUBLISHED / name
    if not src.exists():
        pytest.skip(f"{src} not available")
    shutil.copy(src, tmp_path / name)                 # the real bytes: BOMs, CRLF line ends, quoted names
    meta = write_meta(_meta_for_layout(layout(name)), tmp_path / name)
    if name == "sen_la.csv":
        # the 2022 SEN file predates the harmonised-names check: t_SEN_support / pt_SEN_support fail it
        strict = screen(tmp_path / name, meta)
        assert strict.stage == "Check harmonised" and strict.rules_failed() == ("harmonised_variables",)
        assert fails(strict, "harmonised_variables").columns == ("t_SEN_support", "pt_SEN_support")
        result = screen(tmp_path / name, meta, harmonised=False)
    else:
        result = screen(tmp_path / name, meta)
    assert result.passed, result.report()
    # DfE's own files only warn about non-snake-case names (e.g. avg_read_progress_score_lower_CI)
    assert {f.rule for f in result.warnings} <= {"col_snake_case"}
