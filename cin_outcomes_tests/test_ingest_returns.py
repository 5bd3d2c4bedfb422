"""A year's landing folder -> national tables: every LA read, a malformed LA file reported by name, raw files
untouched."""

from __future__ import annotations

import hashlib

import polars as pl
from polars.testing import assert_frame_equal

from cin_outcomes.ingest import parse_year
from cin_outcomes.ingest.returns import CIN_CENSUS, SSDA903
from cin_outcomes.ingest.ssda903 import asset_name
from cin_outcomes_tests.ingest_fixtures import cin_frames, cin_xml, ssda903_frames, write_cin_xml, write_ssda903

YEAR = "2024-25"
LAS = ["318", "319", "320"]


def _landing(tmp_path, las=LAS):
    root = tmp_path / "landing"
    for la in las:
        write_cin_xml(cin_frames(YEAR, la), root / YEAR / la / "cin_census.xml", YEAR, la)
        write_ssda903(ssda903_frames(YEAR, la), root / YEAR / la / "ssda903", YEAR)
    (root / YEAR / "npd").mkdir(parents=True)
    return root


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_la_read_in_la_order(tmp_path):
    root = _landing(tmp_path, ["320", "318", "319"])
    before = _digest(root)
    r = parse_year(root, YEAR)
    assert r.problems == []
    for name, df in cin_frames(YEAR, "318").items():
        expected = pl.concat([cin_frames(YEAR, la)[name] for la in LAS])
        assert_frame_equal(r.tables[name], expected)
    for t, df in ssda903_frames(YEAR, "318").items():
        expected = pl.concat([ssda903_frames(YEAR, la)[t] for la in LAS])
        assert_frame_equal(r.tables[asset_name(t)], expected)
    assert r.rows_by_la("cin_children") == {"318": 3, "319": 3, "320": 3}
    assert r.sources["cin_children"]["319"] == f"{YEAR}/319/cin_census.xml"
    assert r.sources["cla_episodes"]["320"] == f"{YEAR}/320/ssda903/Episodes.csv"
    assert "cla_ad1" not in r.sources  # not delivered by any LA
    assert len(r.missing_returns[CIN_CENSUS]) == 150 and "318" not in r.missing_returns[CIN_CENSUS]
    assert _digest(root) == before  # raw files are only read


def test_malformed_la_file_is_reported_by_name_and_other_las_kept(tmp_path):
    root = _landing(tmp_path)
    bad = root / YEAR / "319" / "cin_census.xml"
    bad.write_text(cin_xml(cin_frames(YEAR, "319"), YEAR, "319").replace("</CINdetails>", "</CINdetail>", 1))
    wrong_la = root / YEAR / "320" / "cin_census.xml"
    write_cin_xml(cin_frames(YEAR, "320"), wrong_la, YEAR, "320", lea="318")
    r = parse_year(root, YEAR, sources=(CIN_CENSUS,))
    assert [(p.file, p.rule, p.fatal) for p in r.problems] == [
        (f"{YEAR}/319/cin_census.xml", "XML well-formed", True),
        (f"{YEAR}/320/cin_census.xml", "header LEA", True),
    ]
    assert r.problems[0].unit == "line" and r.problems[0].position is not None
    assert r.rows_by_la("cin_children") == {"318": 3}
    assert_frame_equal(r.tables["cin_episodes"], cin_frames(YEAR, "318")["cin_episodes"])
    assert set(r.tables) == set(cin_frames())  # only the CIN tables were asked for
    assert len(r.problems_for(CIN_CENSUS)) == 2 and r.problems_for(SSDA903) == []


def test_folders_that_are_not_las_are_reported(tmp_path):
    root = _landing(tmp_path, ["318"])
    (root / YEAR / "999").mkdir()
    (root / YEAR / "misc").mkdir()
    r = parse_year(root, YEAR)
    assert sorted(p.file for p in r.problems) == [f"{YEAR}/999/", f"{YEAR}/misc/"]
    assert r.rows_by_la("cla_header") == {"318": 4}
    assert len(r.problems_for(SSDA903)) == 2  # a folder problem concerns every source


def test_value_problems_keep_the_rows_and_name_the_table(tmp_path):
    root = _landing(tmp_path, ["318", "319"])
    ep = root / YEAR / "319" / "ssda903" / "Episodes.csv"
    ep.write_text(ep.read_text().replace("01/06/2024", "31/06/2024"))
    r = parse_year(root, YEAR, sources=(SSDA903,))
    assert [(p.file, p.table, p.rule, p.column, p.count, p.fatal) for p in r.problems] == [
        (f"{YEAR}/319/ssda903/Episodes.csv", "cla_episodes", "141", "DECOM", 1, False)]
    assert r.rows_by_la("cla_episodes") == {"318": 5, "319": 5}


def test_a_year_without_landing_folder_is_empty(tmp_path):
    r = parse_year(tmp_path, YEAR)
    assert all(df.height == 0 for df in r.tables.values()) and r.problems == []
    assert len(r.missing_returns[SSDA903]) == 153


def test_synthetic_returns_round_trip_and_pass_every_rule(tmp_path):
    """The generator's canonical tables, written by its own writers in both sex-code eras, parse back to exactly
    the same tables, and every table passes every check."""
    from cin_outcomes.ingest import validate_table
    from cin_outcomes.synthetic.config import SyntheticConfig
    from cin_outcomes.synthetic.population import build_population
    from cin_outcomes.synthetic.social_care import build_social_care
    from cin_outcomes.synthetic.writers.cin_xml import write_cin_census
    from cin_outcomes.synthetic.writers.ssda903 import write_ssda903 as write_903
    from cin_outcomes.years import ReportingYear

    las = ("318", "340", "855")
    cfg = SyntheticConfig(scale=0.005, seed=11, first_year="2023-24", last_year="2024-25", only_las=las)
    truth = build_social_care(cfg, build_population(cfg)).tables
    for label in ("2023-24", "2024-25"):
        year = ReportingYear.parse(label)
        for la in las:
            folder = tmp_path / label / la
            folder.mkdir(parents=True)
            write_cin_census(truth, year, la, folder / "cin_census.xml")
            write_903(truth, year, la, folder / "ssda903")
        r = parse_year(tmp_path, label)
        assert r.problems == []
        assert r.tables["cin_children"].height > 0 and r.tables["cla_episodes"].height > 0
        for name, df in r.tables.items():
            source = name if name in truth else next(t for t in truth if asset_name(t) == name)
            expected = truth[source].filter(pl.col("reporting_year") == label)
            assert_frame_equal(df, expected)
            outcome = validate_table(name, df, related=r.tables, sources=r.sources.get(name, {}))
            assert outcome.passed, outcome.summary()
