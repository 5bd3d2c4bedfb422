"""SSDA903 CSV tables -> canonical CLA tables: recognition by column set, both SEX eras, dates, bad files."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cin_outcomes import tables
from cin_outcomes.ingest import IngestError, parse_ssda903
from cin_outcomes.ingest.ssda903 import asset_name, identify, read_folder
from cin_outcomes_tests.ingest_fixtures import ssda903_csv, ssda903_frames, write_ssda903


@pytest.mark.parametrize("year", ["2023-24", "2024-25"])
def test_round_trip_is_identity(tmp_path, year):
    known = ssda903_frames(year)
    write_ssda903(known, tmp_path, year)
    got = parse_ssda903(tmp_path, year, "318")
    assert list(got) == list(tables.SSDA903_TABLES)
    for name, df in known.items():
        assert_frame_equal(got[name], df)


def test_sex_codes_follow_the_year(tmp_path):
    known = ssda903_frames("2023-24")
    text = ssda903_csv(known["Header"], "Header", "2023-24")
    assert text.splitlines()[1].split(",")[-2] == "2"  # CH1 is F, coded 2 before 2024-25
    write_ssda903(known, tmp_path / "old", "2023-24")
    assert parse_ssda903(tmp_path / "old", "2023-24", "318")["Header"]["sex"].to_list() == ["F", "M", "M", "M"]
    # M/F/U in a 2023-24 return breaks rule 101 for that year (and 1/2 would from 2024-25).
    write_ssda903(known, tmp_path / "new", "2024-25")
    problems = []
    got = parse_ssda903(tmp_path / "new", "2023-24", "318", problems=problems)
    assert {(p.rule, p.column, p.count) for p in problems if p.table == "cla_header"} == {("101", "SEX", 4)}
    assert got["Header"]["sex"].null_count() == 4


def test_tables_recognised_by_column_set_not_file_name(tmp_path):
    known = ssda903_frames()
    names = {"Header": "zz_children.csv", "Episodes": "header.csv", "UASC": "2025 return (3).CSV"}
    write_ssda903(known, tmp_path, "2024-25", names=names)
    assert identify(tmp_path / "header.csv") == "Episodes"
    out, sources, problems = read_folder(tmp_path, "2024-25", "318")
    assert problems == []
    assert sources["Episodes"].endswith("header.csv") and sources["Header"].endswith("zz_children.csv")
    assert_frame_equal(out["Episodes"], known["Episodes"])
    assert_frame_equal(out["UASC"], known["UASC"])


def test_values_are_upper_cased_and_blanks_missing(tmp_path):
    (tmp_path / "h.csv").write_text('CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\nab12,m,01/02/2010,wbri,"",,\n')
    got = parse_ssda903(tmp_path, "2024-25", "318")["Header"]
    assert got.select("child", "sex", "ethnic", "upn", "mother").row(0) == ("AB12", "M", "WBRI", None, None)


def test_unrecognised_and_duplicate_files_are_reported_and_the_rest_read(tmp_path):
    known = ssda903_frames()
    write_ssda903(known, tmp_path, "2024-25")
    (tmp_path / "Extra.csv").write_text("CHILD,DOB,SOMETHING\n1,01/01/2010,x\n")
    (tmp_path / "Reviews copy.csv").write_text(ssda903_csv(known["Reviews"], "Reviews", "2024-25"))
    (tmp_path / "notes.txt").write_text("hello")
    out, sources, problems = read_folder(tmp_path, "2024-25", "318")
    by_file = {p.file.rsplit("/", 1)[-1]: p for p in problems}
    assert set(by_file) == {"Extra.csv", "Reviews copy.csv", "Reviews.csv", "notes.txt"}
    assert all(p.fatal and p.rule == "upload" for p in problems)
    assert "match no SSDA903 table" in by_file["Extra.csv"].message
    assert out["Reviews"].height == 0 and "Reviews" not in sources  # ambiguous: neither copy used
    assert_frame_equal(out["Episodes"], known["Episodes"])
    with pytest.raises(IngestError, match=r"Extra\.csv.*\[rule upload\]"):
        parse_ssda903(tmp_path, "2024-25", "318")


def test_bad_dates_name_the_line_and_rule(tmp_path):
    known = ssda903_frames()
    text = ssda903_csv(known["Episodes"], "Episodes", "2024-25").splitlines()
    text[3] = text[3].replace("01/08/2024", "2024-08-01")  # line 4: CH2's second episode starts 01/08/2024
    (tmp_path / "e.csv").write_text("\n".join(text) + "\n")
    problems = []
    got = parse_ssda903(tmp_path, "2024-25", "318", problems=problems)
    assert [(p.rule, p.column, p.unit, p.position) for p in problems] == [("141", "DECOM", "line", 4)]
    assert "2024-08-01" not in str(problems[0]) and "CH2" not in str(problems[0])
    assert got["Episodes"]["decom"][2] is None


def test_absent_folder_gives_empty_tables(tmp_path):
    got = parse_ssda903(tmp_path / "none", "2024-25", "318")
    assert all(df.height == 0 and df.schema == pl.Schema(tables.SSDA903_TABLES[t]) for t, df in got.items())


def test_asset_names():
    assert [asset_name(t) for t in tables.SSDA903_TABLES] == [
        "cla_header", "cla_episodes", "cla_uasc", "cla_reviews", "cla_oc2", "cla_oc3", "cla_ad1",
        "cla_placed_adoption", "cla_prev_perm", "cla_missing", "cla_sw_episodes"]
