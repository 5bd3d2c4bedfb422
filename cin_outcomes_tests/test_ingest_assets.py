"""The ingest assets on a small landing folder: tables stored per year, content data versions, blocking checks,
metadata of counts only."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cin_outcomes.definitions import build_definitions
from cin_outcomes.ingest.assets import (
    CHECK_READ,
    CHECK_VALID,
    CIN_NAMES,
    CLA_NAMES,
    assets,
    ingest_cin_census,
    ingest_ssda903,
    npd_assets,
)
from cin_outcomes.ingest.ssda903 import asset_name
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.resources import LandingRoot
from cin_outcomes_tests.ingest_fixtures import cin_frames, cin_xml, ssda903_frames, write_cin_xml, write_ssda903
from cin_outcomes_tests.test_ingest_npd import school_census

YEAR, PK = "2024-25", "2024-04-01"
LAS = ["318", "319"]
SCHOOL_CENSUS = next(a for a in npd_assets if a.key == dg.AssetKey(["ingest", "npd_school_census"]))
KS2 = next(a for a in npd_assets if a.key == dg.AssetKey(["ingest", "npd_ks2"]))


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing"
    for la in LAS:
        write_cin_xml(cin_frames(YEAR, la), root / YEAR / la / "cin_census.xml", YEAR, la)
        write_ssda903(ssda903_frames(YEAR, la), root / YEAR / la / "ssda903", YEAR)
    (root / YEAR / "npd").mkdir(parents=True)
    school_census().write_parquet(root / YEAR / "npd" / "school_census.parquet")
    return root


def _run(tmp_path, landing, selection, pk=PK, instance=None):
    return dg.materialize(
        selection, partition_key=pk, instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False,
        resources={"io_manager": ParquetIOManager(root=str(tmp_path / "warehouse")),
                   "landing": LandingRoot(path=str(landing))},
    )


def _versions(result) -> dict[str, str]:
    return {m.asset_key.path[-1]: m.tags["dagster/data_version"] for m in result.get_asset_materialization_events()
            for m in [m.materialization]}


def test_year_is_ingested_into_typed_tables_with_passing_checks(tmp_path, landing):
    r = _run(tmp_path, landing, [ingest_cin_census, ingest_ssda903, SCHOOL_CENSUS])
    assert r.success
    evaluations = r.get_asset_check_evaluations()
    assert len(evaluations) == 2 * (len(CIN_NAMES) + len(CLA_NAMES) + 1)
    assert all(e.passed for e in evaluations)
    wh = tmp_path / "warehouse" / "ingest"
    for name in CIN_NAMES:
        expected = pl.concat([cin_frames(YEAR, la)[name] for la in LAS])
        assert_frame_equal(pl.read_parquet(wh / name / f"{PK}.parquet"), expected)
    for t in ssda903_frames():
        expected = pl.concat([ssda903_frames(YEAR, la)[t] for la in LAS])
        assert_frame_equal(pl.read_parquet(wh / asset_name(t) / f"{PK}.parquet"), expected)
    assert_frame_equal(pl.read_parquet(wh / "npd_school_census" / f"{PK}.parquet"), school_census())
    meta = {m.materialization.asset_key.path[-1]: m.materialization.metadata
            for m in r.get_asset_materialization_events()}
    assert meta["cin_children"]["reporting_year"].value == "2024-25"
    assert meta["cin_children"]["time_period"].value == "202425"
    rows = {rec.data["la_code"]: rec.data["rows"] for rec in meta["cin_episodes"]["rows_by_la"].value.records}
    assert rows == {"318": 4, "319": 4}


def test_metadata_and_check_results_hold_no_identifiers(tmp_path, landing):
    bad = landing / YEAR / "319" / "cin_census.xml"
    bad.write_text(cin_xml(cin_frames(YEAR, "319"), YEAR, "319")
                   .replace("<UPN>B318200012001</UPN>", "<UPN>A318200012001</UPN>")
                   .replace("<PersonBirthDate>2008-01-31</PersonBirthDate>",
                            "<PersonBirthDate>31/01/2008</PersonBirthDate>"))
    r = _run(tmp_path, landing, [ingest_cin_census, ingest_ssda903])
    assert not r.success
    failed = {(e.asset_key.path[-1], e.check_name) for e in r.get_asset_check_evaluations() if not e.passed}
    assert failed == {("cin_children", CHECK_READ), ("cin_children", CHECK_VALID)}
    dumped = []
    for e in r.get_asset_check_evaluations():
        dumped.append(json.dumps({k: str(v.value) for k, v in e.metadata.items()}) + str(e.description))
    for m in r.get_asset_materialization_events():
        dumped.append(json.dumps({k: str(v.value) for k, v in m.materialization.metadata.items()}))
    message, meta = _failure(r)  # the CIN census step failed and stored nothing: its message is shown too
    assert "CIN census tables not stored" in message
    dumped.append(message + json.dumps({k: str(v) for k, v in meta.items()}))
    text = "\n".join(dumped)
    identifiers = set()
    for la in LAS:
        identifiers |= set(cin_frames(YEAR, la)["cin_children"]["la_child_id"].to_list())
        identifiers |= set(ssda903_frames(YEAR, la)["Header"]["child"].to_list())
    identifiers |= {"B318200012001", "A318200012001", "Q318200012002", "31/01/2008", "2008-01-31"}
    assert not [i for i in identifiers if i in text]
    assert "2024-25/319/cin_census.xml" in text and "CIN 1510 UPN check letter wrong" in text


def test_identical_content_same_version_and_a_change_moves_only_its_table(tmp_path, landing):
    instance = dg.DagsterInstance.ephemeral()
    first = _versions(_run(tmp_path, landing, [ingest_cin_census], instance=instance))
    again = _versions(_run(tmp_path, landing, [ingest_cin_census], instance=instance))
    assert first == again
    frames = cin_frames(YEAR, "318")
    frames["cin_plans"] = frames["cin_plans"].with_columns(end_date=pl.date(2025, 1, 31))
    write_cin_xml(frames, landing / YEAR / "318" / "cin_census.xml", YEAR, "318")
    changed = _versions(_run(tmp_path, landing, [ingest_cin_census], instance=instance))
    assert {n for n in CIN_NAMES if changed[n] != first[n]} == {"cin_plans"}


def _failure(result) -> tuple[str, dict]:
    """The failed step's message and metadata, as the UI shows them."""
    (event,) = [e for e in result.all_events if e.is_step_failure]
    data = event.step_failure_data
    return data.user_failure_data.description, {k: v.value for k, v in data.user_failure_data.metadata.items()}


def test_one_malformed_la_is_reported_and_held_back_while_other_las_are_kept(tmp_path, landing):
    instance = dg.DagsterInstance.ephemeral()
    assert _run(tmp_path, landing, [ingest_ssda903], instance=instance).success  # the year's good returns
    stored = tmp_path / "warehouse" / "ingest" / "cla_episodes" / f"{PK}.parquet"
    good = stored.read_bytes()

    (landing / YEAR / "318" / "ssda903" / "Episodes.csv").write_text("CHILD,DECOM\nX,01/01/2024\n")
    r = _run(tmp_path, landing, [ingest_ssda903], instance=instance)
    assert not r.success  # a blocking check failed: the year is held back
    failed = [e for e in r.get_asset_check_evaluations() if not e.passed]
    assert {e.check_name for e in failed} == {CHECK_READ}
    assert len(failed) == len(CLA_NAMES)  # a file left out concerns every table of the return
    assert "2024-25/318/ssda903/Episodes.csv" in failed[0].metadata["problems"].value
    # The other LA's return was still read and validated: LA 319's episodes, and only those, passed the rules.
    valid = {e.asset_key.path[-1]: e for e in r.get_asset_check_evaluations() if e.check_name == CHECK_VALID}
    assert valid["cla_episodes"].passed
    assert valid["cla_episodes"].metadata["rows"].value == ssda903_frames(YEAR, "319")["Episodes"].height
    # Nothing of the failed return was stored: the year keeps the last good tables of both LAs.
    assert not r.get_asset_materialization_events()
    assert stored.read_bytes() == good
    assert pl.read_parquet(stored)["la_code"].unique().sort().to_list() == LAS
    message, meta = _failure(r)
    assert message.startswith("2024-25 (202425): SSDA903 tables not stored, because 11 blocking checks failed")
    assert "last good output of 2024-25 was kept" in message
    assert meta["blocking_checks_failed"] == len(CLA_NAMES)


def test_npd_modules_missing_by_design_or_by_mistake(tmp_path, landing):
    covid = "2020-21"
    (landing / covid / "npd").mkdir(parents=True)
    r = _run(tmp_path, landing, [KS2], pk="2020-04-01")
    assert r.success and all(e.passed for e in r.get_asset_check_evaluations())
    meta = r.get_asset_materialization_events()[0].materialization.metadata
    assert meta["delivery"].value == "not collected in academic year 2020/21" and meta["rows"].value == 0
    r = _run(tmp_path, landing, [KS2])  # 2024-25: KS2 was collected but not delivered
    assert not r.success
    failed = [e for e in r.get_asset_check_evaluations() if not e.passed]
    assert [(e.check_name, e.metadata["files_left_out"].value) for e in failed] == [(CHECK_READ, 1)]


def test_ingest_assets_in_the_code_location():
    defs = build_definitions(layer_modules=("cin_outcomes.ingest.assets",))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert {f"ingest/{n}" for n in CIN_NAMES + CLA_NAMES} <= keys
    assert "ingest/npd_ks4" in keys and "ingest/cla_episodes" in keys and "ingest/cla_uasc" in keys
    for a in assets:
        for key in a.keys:
            node = graph.get(key)
            assert node.group_name == "ingest" and node.description and node.code_version
            assert node.automation_condition is None  # ingest is started by the landing sensor
            assert {p.path[0] for p in node.parent_keys} == {"landing"}
        for spec in a.check_specs:
            assert spec.blocking and spec.partitions_def is not None


def test_a_failed_resubmission_keeps_the_last_good_year_while_other_years_carry_on(tmp_path, landing):
    other, other_pk = "2023-24", "2023-04-01"
    for la in LAS:
        write_cin_xml(cin_frames(other, la), landing / other / la / "cin_census.xml", other, la)
    instance = dg.DagsterInstance.ephemeral()
    for pk in (PK, other_pk):
        assert _run(tmp_path, landing, [ingest_cin_census], pk=pk, instance=instance).success
    wh = tmp_path / "warehouse" / "ingest"

    def stored(pk: str) -> dict[str, bytes]:
        return {n: (wh / n / f"{pk}.parquet").read_bytes() for n in CIN_NAMES}

    good, good_other = stored(PK), stored(other_pk)
    # LA 319 resubmits 2024-25 closing C0001's open second episode on 1 March 2025 without a reason; LA 318
    # resubmits 2023-24 with C0003's CIN plan ended on 31 January 2024.
    bad = cin_frames(YEAR, "319")
    bad["cin_episodes"] = bad["cin_episodes"].with_columns(
        closure_date=pl.when(pl.col("episode_number") == 2).then(pl.date(2025, 3, 1)).otherwise("closure_date"))
    write_cin_xml(bad, landing / YEAR / "319" / "cin_census.xml", YEAR, "319")
    revised = cin_frames(other, "318")
    revised["cin_plans"] = revised["cin_plans"].with_columns(end_date=pl.date(2024, 1, 31))
    write_cin_xml(revised, landing / other / "318" / "cin_census.xml", other, "318")

    r = _run(tmp_path, landing, [ingest_cin_census], instance=instance)
    assert not r.success
    failed = {(e.asset_key.path[-1], e.check_name) for e in r.get_asset_check_evaluations() if not e.passed}
    assert failed == {("cin_episodes", CHECK_VALID)}
    assert not r.get_asset_materialization_events()
    assert stored(PK) == good  # every table of the year is still the last good one
    message, meta = _failure(r)
    assert message.startswith("2024-25 (202425): CIN census tables not stored, because 1 blocking check failed:\n"
                              "- ingest/cin_episodes: valid_table (rows 8, failures 1); by rule: CIN 8805")
    assert meta["failed_checks"][0]["counts"] == {"rows": 8, "failures": 1}

    assert _run(tmp_path, landing, [ingest_cin_census], pk=other_pk, instance=instance).success
    now_other = stored(other_pk)
    assert {n for n in CIN_NAMES if now_other[n] != good_other[n]} == {"cin_plans"}
    assert pl.read_parquet(wh / "cin_plans" / f"{other_pk}.parquet").filter(
        pl.col("la_code") == "318")["end_date"].to_list() == [dt.date(2024, 1, 31)]

    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(["ingest", "cin_episodes"]), CHECK_VALID), limit=100)
    latest = {pk: next(h.status.value for h in history if h.partition == pk) for pk in (PK, other_pk)}
    assert latest == {PK: "FAILED", other_pk: "SUCCEEDED"}
