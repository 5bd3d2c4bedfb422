"""A year that fails a blocking check keeps its last good output (``cin_outcomes.checks.emit_checked``).

Small assets here serve hand-built referral "returns" from a dict, so a test can resubmit a year by replacing it.
They are stored by the project's parquet IO manager under the real year partitions. Each test materialises a good
year, then resubmits a bad return and checks these things: the run fails, the check is FAILED for that year in
the instance's history, the year's parquet file is the same file with the same bytes, and other years carry on.
"""

import datetime as dt
import hashlib
import json

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.checks import check_counts, emit_checked, rule_counts
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.partitions import input_years

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")

D = dt.date
Y15, Y16 = "2015-04-01", "2016-04-01"
REFERRALS = dg.AssetKey(["tests", "referrals"])
CHILDREN = dg.AssetKey(["tests", "children"])
EPISODES = dg.AssetKey(["tests", "episodes"])
SUMMARY = dg.AssetKey(["tests", "summary"])
CHILD_IDS = ["REF0001", "REF0002", "REF0003", "REF0004"]


def referrals_return(start: int, closures: dict[int, dt.date] | None = None) -> pl.DataFrame:
    """Four referrals of one LA in the year starting 1 April ``start``; ``closures`` closes some of them."""
    closures = closures or {}
    return pl.DataFrame({
        "la_code": ["201"] * 4,
        "child": CHILD_IDS,
        "referral": [D(start, 5, 1), D(start, 7, 1), D(start, 9, 1), D(start + 1, 1, 15)],
        "closure": [closures.get(i) for i in range(4)],
        "sex": ["F", "M", "U", "F"],
    }, schema={"la_code": pl.Utf8, "child": pl.Utf8, "referral": pl.Date, "closure": pl.Date, "sex": pl.Utf8})


def version(df: pl.DataFrame) -> str:
    return hashlib.sha256(df.write_csv().encode()).hexdigest()[:16]


def build_assets(store: dict[str, pl.DataFrame]) -> list[dg.AssetsDefinition]:
    """The test assets. A single asset with a blocking check, a non-blocking check and a blocking WARN check. A
    multi-asset (children and episodes) with one blocking check each. An asset without years."""

    @dg.asset(key=REFERRALS, partitions_def=input_years, check_specs=[
        dg.AssetCheckSpec("closure_after_referral", asset=REFERRALS, blocking=True, partitions_def=input_years),
        dg.AssetCheckSpec("sex_known", asset=REFERRALS, blocking=False, partitions_def=input_years),
        dg.AssetCheckSpec("referral_in_year", asset=REFERRALS, blocking=True, partitions_def=input_years),
    ])
    def referrals(context: dg.AssetExecutionContext):
        df = store[context.partition_key]
        bad = df.filter(pl.col("closure") < pl.col("referral")).height
        unknown = df.filter(pl.col("sex") == "U").height
        late = df.filter(pl.col("referral") >= D(int(context.partition_key[:4]) + 1, 4, 1)).height
        yield from emit_checked(
            dg.Output(df, data_version=dg.DataVersion(version(df)), metadata={"rows": df.height}),
            [dg.AssetCheckResult(check_name="closure_after_referral", passed=bad == 0,
                                 description=f"{bad} referral(s) closed before they started",
                                 metadata={"rows": df.height, "failures": bad,
                                           "failures_by_rule": dg.MetadataValue.json(
                                               {"closure before referral": bad} if bad else {})}),
             dg.AssetCheckResult(check_name="sex_known", passed=unknown == 0, metadata={"unknown_sex": unknown}),
             dg.AssetCheckResult(check_name="referral_in_year", passed=late == 0,
                                 severity=dg.AssetCheckSeverity.WARN, metadata={"after_31_march": late})],
            what="referrals", context=context)

    @dg.multi_asset(
        outs={"children": dg.AssetOut(key=CHILDREN), "episodes": dg.AssetOut(key=EPISODES)},
        partitions_def=input_years,
        check_specs=[
            dg.AssetCheckSpec("one_row_per_child", asset=CHILDREN, blocking=True, partitions_def=input_years),
            dg.AssetCheckSpec("closure_after_referral", asset=EPISODES, blocking=True, partitions_def=input_years),
        ],
    )
    def children_and_episodes(context: dg.AssetExecutionContext):
        df = store[context.partition_key]
        children = df.select("la_code", "child", "sex").unique(maintain_order=True)
        episodes = df.select("la_code", "child", "referral", "closure")
        dupes = children.height - children.select("la_code", "child").n_unique()
        bad = episodes.filter(pl.col("closure") < pl.col("referral")).height
        yield from emit_checked(
            [dg.Output(children, output_name="children", data_version=dg.DataVersion(version(children))),
             dg.Output(episodes, output_name="episodes", data_version=dg.DataVersion(version(episodes)))],
            [dg.AssetCheckResult(asset_key=CHILDREN, check_name="one_row_per_child", passed=dupes == 0,
                                 metadata={"failures": dupes}),
             dg.AssetCheckResult(asset_key=EPISODES, check_name="closure_after_referral", passed=bad == 0,
                                 metadata={"failures": bad, "failures_by_rule": dg.MetadataValue.json(
                                     [{"column": "closure", "check": "on or after the referral", "failures": bad,
                                       "first_rows": [0]}] if bad else [])})],
            what="children and episodes tables", context=context)

    @dg.asset(key=SUMMARY, check_specs=[dg.AssetCheckSpec("not_empty", asset=SUMMARY, blocking=True)])
    def summary(context: dg.AssetExecutionContext):
        df = store["summary"]
        yield from emit_checked(dg.Output(df), dg.AssetCheckResult(passed=df.height > 0, metadata={"rows": df.height}),
                                what="summary", context=context)

    return [referrals, children_and_episodes, summary]


class Env:
    def __init__(self, tmp_path):
        self.store: dict[str, pl.DataFrame] = {}
        self.assets = build_assets(self.store)
        self.io = ParquetIOManager(root=str(tmp_path / "warehouse"))
        self.instance = dg.DagsterInstance.ephemeral()

    def run(self, keys, partition_key: str | None) -> dg.ExecuteInProcessResult:
        return dg.materialize(self.assets, selection=keys, partition_key=partition_key, instance=self.instance,
                              resources={"io_manager": self.io}, raise_on_error=False)

    def file(self, key: dg.AssetKey, pk: str | None):
        return self.io.path_for(key, pk)

    def latest_status(self, key: dg.AssetKey, check: str, pk: str | None) -> str:
        """The newest recorded outcome of a check for one year, from the instance's check history."""
        history = self.instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, check), limit=100)
        return next(r for r in history if r.partition == pk).status.value

    def materialisations(self, key: dg.AssetKey, pk: str) -> int:
        return sum(r.partition_key == pk for r in self.instance.fetch_materializations(key, limit=100).records)


@pytest.fixture
def env(tmp_path) -> Env:
    return Env(tmp_path)


def failure(result: dg.ExecuteInProcessResult) -> tuple[str, dict]:
    """The failed step's description and metadata, as the Dagster UI shows them."""
    (event,) = [e for e in result.all_events if e.is_step_failure]
    data = event.step_failure_data.user_failure_data
    return data.description, {k: v.value for k, v in data.metadata.items()}


def snapshot(path) -> tuple[bytes, int, int]:
    """Bytes, inode and modification time: a rewritten file (even with the same bytes) gets a new inode."""
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


def test_a_good_year_is_stored_as_yielded_with_checks_on_the_new_output(env):
    env.store[Y16] = referrals_return(2016, {0: D(2016, 6, 1)})
    r = env.run([REFERRALS], Y16)
    assert r.success
    assert pl.read_parquet(env.file(REFERRALS, Y16)).equals(env.store[Y16])
    (mat,) = r.get_asset_materialization_events()
    assert mat.materialization.tags["dagster/data_version"] == version(env.store[Y16])
    assert mat.materialization.metadata["rows"].value == 4
    evaluations = r.get_asset_check_evaluations()
    assert {e.check_name: e.passed for e in evaluations} == {
        "closure_after_referral": True, "sex_known": False, "referral_in_year": True}
    # The checks come after the output, so each is recorded against this year's new materialisation.
    stored = env.instance.fetch_materializations(REFERRALS, limit=1).records[0].storage_id
    assert {e.target_materialization_data.storage_id for e in evaluations} == {stored}


def test_a_failed_resubmission_keeps_the_last_good_year_and_other_years_carry_on(env):
    env.store[Y15] = referrals_return(2015)
    env.store[Y16] = referrals_return(2016, {0: D(2016, 6, 1)})
    assert env.run([REFERRALS], Y15).success and env.run([REFERRALS], Y16).success
    good15, good16 = snapshot(env.file(REFERRALS, Y15)), snapshot(env.file(REFERRALS, Y16))

    # The LA resubmits 2016-17 with referral 2 closed in June, before it started in July: 1 failure, by hand.
    env.store[Y16] = referrals_return(2016, {0: D(2016, 6, 1), 1: D(2016, 6, 20)})
    r = env.run([REFERRALS], Y16)
    assert not r.success
    assert not r.get_asset_materialization_events() and env.materialisations(REFERRALS, Y16) == 1
    assert snapshot(env.file(REFERRALS, Y16)) == good16  # never rewritten: the IO manager was not called
    assert env.latest_status(REFERRALS, "closure_after_referral", Y16) == "FAILED"
    assert env.latest_status(REFERRALS, "closure_after_referral", Y15) == "SUCCEEDED"
    assert snapshot(env.file(REFERRALS, Y15)) == good15

    description, meta = failure(r)
    assert description.startswith(
        "2016-17 (201617): referrals not stored, because 1 blocking check failed:\n"
        "- tests/referrals: closure_after_referral (rows 4, failures 1); by rule: closure before referral: 1\n"
        "The last good output of 2016-17 was kept unchanged for 1 asset(s) (last stored ")
    assert meta["reporting_year"] == "2016-17" and meta["time_period"] == "201617"
    assert meta["blocking_checks_failed"] == 1
    assert meta["failed_checks"] == [{"asset": "tests/referrals", "check": "closure_after_referral",
                                      "counts": {"rows": 4, "failures": 1},
                                      "failures_by_rule": {"closure before referral": 1}}]
    assert meta["not_stored"] == ["tests/referrals"]
    text = description + json.dumps(meta)
    assert not [c for c in CHILD_IDS if c in text]
    # The check itself says so, beside its own description, for whoever opens it from the year's partition.
    (failed,) = [e for e in r.get_asset_check_evaluations() if e.check_name == "closure_after_referral"]
    assert failed.description.startswith("1 referral(s) closed before they started Not stored: the last good "
                                         "output of 2016-17 (stored ")
    assert failed.description.endswith(") was kept.")

    # Another year's revision goes through; the held-back year catches up once the return is corrected.
    env.store[Y15] = referrals_return(2015, {3: D(2016, 3, 1)})
    assert env.run([REFERRALS], Y15).success
    assert pl.read_parquet(env.file(REFERRALS, Y15))["closure"].to_list()[3] == D(2016, 3, 1)
    env.store[Y16] = referrals_return(2016, {0: D(2016, 6, 1), 1: D(2016, 8, 20)})
    assert env.run([REFERRALS], Y16).success
    assert pl.read_parquet(env.file(REFERRALS, Y16)).equals(env.store[Y16])
    assert env.latest_status(REFERRALS, "closure_after_referral", Y16) == "SUCCEEDED"


def test_a_first_delivery_that_fails_stores_nothing(env):
    env.store[Y16] = referrals_return(2016, {2: D(2016, 8, 1)})
    r = env.run([REFERRALS], Y16)
    assert not r.success
    assert not env.file(REFERRALS, Y16).exists()
    assert env.latest_status(REFERRALS, "closure_after_referral", Y16) == "FAILED"
    description, meta = failure(r)
    assert "1 asset(s) had no earlier output of 2016-17: tests/referrals; nothing is stored for them" in description
    assert meta["last_good_output_kept"] == {"tests/referrals": None}


def test_only_blocking_error_failures_hold_the_output_back(env):
    # Unknown sex fails the non-blocking check; a referral after 31 March fails a blocking check of WARN
    # severity. Dagster blocks on neither, so the year is stored.
    env.store[Y16] = referrals_return(2016).with_columns(referral=pl.col("referral").dt.offset_by("1y"))
    r = env.run([REFERRALS], Y16)
    assert r.success
    assert {e.check_name for e in r.get_asset_check_evaluations() if not e.passed} == {"sex_known", "referral_in_year"}
    assert pl.read_parquet(env.file(REFERRALS, Y16)).equals(env.store[Y16])


def test_a_multi_asset_stores_all_of_its_outputs_or_none(env):
    keys = [CHILDREN, EPISODES]
    env.store[Y16] = referrals_return(2016)
    first = env.run(keys, Y16)
    assert first.success
    versions = {e.asset_key: e.materialization.tags["dagster/data_version"]
                for e in first.get_asset_materialization_events()}
    episodes = env.store[Y16].select("la_code", "child", "referral", "closure")
    assert versions[EPISODES] == version(episodes)
    before = {k: snapshot(env.file(k, Y16)) for k in keys}

    # Only the episodes fail (a closure before its referral); the children table would have been the same, but
    # a year's tables are stored together or not at all.
    env.store[Y16] = referrals_return(2016, {1: D(2016, 5, 1)})
    r = env.run(keys, Y16)
    assert not r.success
    assert {k: snapshot(env.file(k, Y16)) for k in keys} == before
    assert {(e.asset_key, e.passed) for e in r.get_asset_check_evaluations()} == {(CHILDREN, True), (EPISODES, False)}
    assert env.latest_status(EPISODES, "closure_after_referral", Y16) == "FAILED"
    assert env.latest_status(CHILDREN, "one_row_per_child", Y16) == "SUCCEEDED"
    description, meta = failure(r)
    assert "- tests/episodes: closure_after_referral (failures 1); by rule: closure / on or after the referral: 1" \
        in description
    assert "kept unchanged for 2 asset(s)" in description
    assert sorted(meta["not_stored"]) == ["tests/children", "tests/episodes"]


def test_an_asset_without_years_keeps_its_last_good_output(env):
    env.store["summary"] = pl.DataFrame({"rows": [4]})
    assert env.run([SUMMARY], None).success
    good = snapshot(env.file(SUMMARY, None))
    env.store["summary"] = pl.DataFrame({"rows": []}, schema={"rows": pl.Int64})
    r = env.run([SUMMARY], None)
    assert not r.success
    assert snapshot(env.file(SUMMARY, None)) == good
    description, _ = failure(r)
    assert description.startswith("summary not stored, because 1 blocking check failed:\n- tests/summary: not_empty "
                                  "(rows 0)\nThe last good output was kept unchanged for 1 asset(s)")


def test_counts_are_read_from_the_metadata_shapes_the_layers_use():
    ingest_style = dg.AssetCheckResult(passed=False, metadata={
        "rows": 120, "failures": 3, "failures_by_rule": dg.MetadataValue.json({"CIN 8805": 2, "CIN 8810": 1}),
        "where": dg.MetadataValue.md("| rule | LA |"), "complete": True})
    assert check_counts(ingest_style) == {"rows": 120, "failures": 3}  # text, tables and flags are not counts
    assert rule_counts(ingest_style) == {"CIN 8805": 2, "CIN 8810": 1}
    pandera_style = dg.AssetCheckResult(passed=False, metadata={"failures_by_rule": dg.MetadataValue.json([
        {"column": "upn", "check": "check letter", "failures": 2, "first_rows": [3, 9]},
        {"column": "(rows)", "check": "unique", "failures": 1, "first_rows": [4]}])})
    assert rule_counts(pandera_style) == {"upn / check letter": 2, "(rows) / unique": 1}
    rates_style = dg.AssetCheckResult(passed=False, metadata={"failures_by_rule": dg.MetadataValue.json([
        {"rule": "England above the sum of its LAs", "rows": 2, "groups": ["CIN", "CLA"]}])})
    assert rule_counts(rates_style) == {"England above the sum of its LAs": 2}
