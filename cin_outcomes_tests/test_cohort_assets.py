"""The cohort assets in Dagster: one step per year for the one-year cohorts, Ever-6 through the 6-year mapping,
blocking checks per year, count-only metadata and content data versions.

Stand-in ingest assets (same keys as the real ingest layer) serve hand-built returns from a dict, so a test can
"resubmit" a year by editing it.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.cohorts import checks
from cin_outcomes.cohorts.assets import (
    CHECK_NAME, INGEST_INPUTS, MEMBERSHIP_KEY, assets, cohort_key, cohorts_of_the_year, ever_in_last_6_years,
)
from cin_outcomes.cohorts.rules import per_year_membership
from cin_outcomes.cohorts.spec import BY_KEY, COHORTS, EVER_6, PER_YEAR
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.partitions import input_years
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.test_cohort_rules import UPN_A, UPN_B, Returns

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")

D = dt.date
LAST = ReportingYear.parse(input_years.get_last_partition_key())


def year_returns(year: ReportingYear) -> Returns:
    """Two LAs. 201: a child in need (UPN A), a child on a plan, a child looked after for years, a respite child.
    202: the UPN-A child again (moved), and a child in need without a UPN."""
    r = Returns(year)
    s = year.start_date
    r.child("a1", la="201", upn=UPN_A)
    r.episode("a1", referral=s + dt.timedelta(days=10), closure=s + dt.timedelta(days=200), reason="RC5", la="201")
    r.child("p1", la="201", upn=UPN_B)
    ep = r.episode("p1", referral=s + dt.timedelta(days=20), la="201")
    r.cpp("p1", ep, start=s + dt.timedelta(days=30), la="201")
    r.header("k1", la="201")
    r.cla("k1", decom=D(2010, 1, 1), la="201")
    r.header("r1", la="201")
    r.cla("r1", decom=s + dt.timedelta(days=50), dec=s + dt.timedelta(days=53), ls="V3", rec="E8", la="201")
    r.child("b7", la="202", upn=UPN_A)
    r.episode("b7", referral=s + dt.timedelta(days=201), la="202")
    r.child("n1", la="202")
    r.episode("n1", referral=s + dt.timedelta(days=5), la="202")
    return r


class Store:
    """The returns each stand-in ingest asset serves, by partition key and table."""

    def __init__(self):
        self.tables: dict[str, dict[str, pl.DataFrame]] = {}

    def put(self, year: ReportingYear, r: Returns) -> None:
        self.tables[year.partition_key] = r.tables()


def stand_in_ingest(store: Store) -> list[dg.AssetsDefinition]:
    def build(table: str, key: dg.AssetKey) -> dg.AssetsDefinition:
        @dg.asset(key=key, partitions_def=input_years)
        def _ingest(context) -> dg.Output:
            df = store.tables[context.partition_key][table]
            return dg.Output(df, data_version=dg.DataVersion(str(df.hash_rows().sum())))
        return _ingest

    return [build(table, key) for table, key in INGEST_INPUTS.items()]


@pytest.fixture
def env(tmp_path):
    store = Store()
    ingest = stand_in_ingest(store)
    instance = dg.DagsterInstance.ephemeral()
    resources = {"io_manager": ParquetIOManager(root=str(tmp_path))}

    def run(selection, partition_key: str) -> dg.ExecuteInProcessResult:
        return dg.materialize([*ingest, *assets], selection=selection, partition_key=partition_key,
                              instance=instance, resources=resources, raise_on_error=False)

    return store, run, instance, tmp_path


def _ingest_and_cohorts(store, run, year):
    store.put(year, year_returns(year))
    result = run([*INGEST_INPUTS.values(), *cohorts_of_the_year.keys], year.partition_key)
    assert result.success
    return result


def _mat(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dg.AssetMaterialization:
    (m,) = [e.materialization for e in result.get_asset_materialization_events() if e.asset_key == key]
    return m


def test_every_cohort_of_the_spec_is_an_asset_in_the_cohorts_group():
    keys = {k for a in assets for k in a.keys}
    assert keys == {MEMBERSHIP_KEY, *(cohort_key(c) for c in COHORTS)}
    for a in assets:
        for key in a.keys:
            assert a.group_names_by_key[key] == "cohorts"
            assert a.partitions_def == input_years
            assert a.code_versions_by_key[key]
            if key != MEMBERSHIP_KEY:
                cohort = BY_KEY[key.path[-1]]
                assert a.specs_by_key[key].description.startswith(cohort.label + ". ")
        assert {ck.asset_key for ck in a.check_keys} == set(a.keys)
    # The six-year cohorts read the membership of the year and the five before it.
    mapping = ever_in_last_6_years.get_partition_mapping_for_dep(MEMBERSHIP_KEY)
    assert (mapping.start_offset, mapping.end_offset) == (-5, 0)


def test_one_step_builds_every_one_year_cohort_with_checks_and_counts(env):
    store, run, instance, root = env
    result = _ingest_and_cohorts(store, run, LAST)
    steps = {e.step_key for e in result.all_events if e.step_key and "cohorts" in e.step_key}
    assert steps == {"cohorts_of_the_year"}
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_key for e in evaluations} == set(cohorts_of_the_year.keys)
    assert all(e.passed and e.check_name == CHECK_NAME for e in evaluations)

    cin = pl.read_parquet(root / "cohorts" / "cin_at_31_march" / f"{LAST.partition_key}.parquet")
    # By hand: p1 (plan, open episode), k1 (looked after), b7 (open in 202), n1 (open in 202); a1 closed; r1 respite.
    assert sorted(zip(cin["la_code"], cin["la_child_id"])) == [("201", "k1"), ("201", "p1"), ("202", "b7"),
                                                                ("202", "n1")]
    meta = _mat(result, cohort_key(BY_KEY["cin_at_any_point"])).metadata
    # At any point: a1, p1, k1 in 201; b7, n1 in 202. a1 and b7 share UPN A: 4 children in England.
    assert meta["children_england"].value == 4
    assert meta["children_without_upn_england"].value == 2  # k1 (no UPN on the header) and n1
    assert meta["reporting_year"].value == LAST.label and meta["time_period"].value == LAST.time_period
    rows = {r.data["la_code"]: r.data for r in meta["children_by_la"].value.records}
    assert {la: (d["children"], d["without_upn"]) for la, d in rows.items()} == {"201": (3, 1), "202": (2, 1)}
    assert rows["201"]["la_name"] == "City of London"


def test_metadata_never_holds_a_child_identifier(env):
    store, run, instance, root = env
    result = _ingest_and_cohorts(store, run, LAST)
    text = json.dumps([str(e.event_specific_data) for e in result.all_events])
    for ident in [UPN_A, UPN_B, '"a1"', '"p1"', '"k1"', '"b7"', '"n1"', "201:a1"]:
        assert ident not in text


def test_a_selected_cohort_runs_alone(env):
    store, run, instance, root = env
    _ingest_and_cohorts(store, run, LAST)
    key = cohort_key(BY_KEY["cla_at_31_march"])
    result = run([key], LAST.partition_key)
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [key]
    assert [e.asset_key for e in result.get_asset_check_evaluations()] == [key]
    cla = result.output_for_node("cohorts_of_the_year", "cohorts__cla_at_31_march")
    assert cla["la_child_id"].to_list() == ["k1"]


def test_ever_6_reads_six_years_and_says_when_the_window_is_short(env):
    store, run, instance, root = env
    years = [LAST - k for k in range(6)]
    for y in years:
        _ingest_and_cohorts(store, run, y)
    result = run([cohort_key(c) for c in EVER_6], LAST.partition_key)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = _mat(result, cohort_key(BY_KEY["ever_cin_last_6_years"])).metadata
    assert meta["window"].value == f"{(LAST - 5).label} to {LAST.label}"
    assert meta["window_years"].value == 6 and meta["window_complete"].value is True
    ever_cin = result.output_for_node("ever_in_last_6_years", "cohorts__ever_cin_last_6_years")
    assert ever_cin.select("la_code", "la_child_id").rows() == [("201", "a1"), ("201", "k1"), ("201", "p1"),
                                                                 ("202", "b7"), ("202", "n1")]
    assert meta["children_england"].value == 4
    ever_cla = result.output_for_node("ever_in_last_6_years", "cohorts__ever_cla_last_6_years")
    assert ever_cla["la_child_id"].to_list() == ["k1"]  # r1 only ever had respite

    # The first input year has a one-year window (the IO manager still gives a dict of one year).
    first = ReportingYear.parse(input_years.get_first_partition_key())
    _ingest_and_cohorts(store, run, first)
    result = run([cohort_key(c) for c in EVER_6], first.partition_key)
    assert result.success
    meta = _mat(result, cohort_key(BY_KEY["ever_cla_last_6_years"])).metadata
    assert (meta["window_years"].value, meta["window_complete"].value) == (1, False)


def test_data_versions_follow_content(env):
    store, run, instance, root = env
    first = _ingest_and_cohorts(store, run, LAST)
    again = _ingest_and_cohorts(store, run, LAST)  # identical re-delivery

    def versions(result):
        return {e.asset_key: e.materialization.tags["dagster/data_version"]
                for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "cohorts"}

    assert versions(first) == versions(again)
    # LA 202 resubmits: n1's episode was an NFA referral after all. CIN cohorts change, CLA cohorts do not.
    r = year_returns(LAST)
    r.rows["cin_episodes"][-1]["referral_nfa"] = True
    store.put(LAST, r)
    revised = versions(run([*INGEST_INPUTS.values(), *cohorts_of_the_year.keys], LAST.partition_key))
    changed = {k.path[-1] for k in revised if revised[k] != versions(first)[k]}
    assert changed == {"membership", "cin_at_31_march", "cino_at_31_march", "cin_at_any_point",
                       "cino_at_any_point"}


def test_a_failing_check_reports_counts_and_rows_not_values():
    year = LAST
    m = per_year_membership(year, year_returns(year).tables())
    bad = pl.concat([m, m.head(1)]).with_columns(  # a duplicated child, and one child flagged inconsistently
        cino_at31=pl.when(pl.col("la_child_id") == "k1").then(True).otherwise(pl.col("cino_at31")))
    result = checks.check_result(MEMBERSHIP_KEY, CHECK_NAME, checks.membership_schema(year), bad)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    by_rule = {(r["column"], r["check"]): r for r in result.metadata["failures_by_rule"].value}
    hierarchy = by_rule[("(rows)", "CINO at 31 March = CIN not on a plan and not looked after")]
    k1_row = m["la_child_id"].to_list().index("k1")
    assert hierarchy["failures"] == 1 and hierarchy["first_rows"] == [k1_row]
    assert any("unique" in check.lower() or "duplicate" in check.lower() for _, check in by_rule)
    text = json.dumps(result.metadata["failures_by_rule"].value)
    assert "k1" not in text and UPN_A not in text

    cohort = BY_KEY["cla_at_31_march"].select(m).with_columns(reporting_year=pl.lit((year - 1).label),
                                                              upn=pl.lit("A123"))
    passed, meta = checks.validate(checks.cohort_schema(year), cohort)
    assert not passed
    cols = {r["column"] for r in meta["failures_by_rule"].value}
    assert cols == {"reporting_year", "upn"}


def test_a_failing_year_keeps_its_last_good_cohorts_while_other_years_carry_on(env):
    store, run, instance, root = env
    prev = LAST - 1
    _ingest_and_cohorts(store, run, prev)
    _ingest_and_cohorts(store, run, LAST)

    def stored(year: ReportingYear) -> dict[dg.AssetKey, bytes]:
        return {k: root.joinpath(*k.path, f"{year.partition_key}.parquet").read_bytes()
                for k in cohorts_of_the_year.keys}

    good, good_prev = stored(LAST), stored(prev)
    # LA 201 resubmits with a child in need born after 31 March: x1 is in the membership and the CIN and CINO
    # cohorts (open referral, no plan, not looked after), and fails their checks; the CPP and CLA cohorts pass.
    r = year_returns(LAST)
    r.child("x1", la="201", birth_date=LAST.end_date + dt.timedelta(days=20))
    r.episode("x1", referral=LAST.start_date + dt.timedelta(days=15), la="201")
    store.put(LAST, r)
    result = run([*INGEST_INPUTS.values(), *cohorts_of_the_year.keys], LAST.partition_key)
    assert not result.success
    failing = {"membership", "cin_at_31_march", "cino_at_31_march", "cin_at_any_point", "cino_at_any_point"}
    assert {e.asset_key.path[-1] for e in result.get_asset_check_evaluations() if not e.passed} == failing
    # Nothing of the cohort step was stored, not even the cohorts that passed: the year's cohorts stay consistent.
    assert not [e for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "cohorts"]
    assert stored(LAST) == good
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(MEMBERSHIP_KEY, CHECK_NAME), limit=100)
    latest = {pk: next(h.status.value for h in history if h.partition == pk)
              for pk in (LAST.partition_key, prev.partition_key)}
    assert latest == {LAST.partition_key: "FAILED", prev.partition_key: "SUCCEEDED"}
    (step_failure,) = [e for e in result.all_events if e.is_step_failure]
    description = step_failure.step_failure_data.user_failure_data.description
    assert description.startswith(f"{LAST.label} ({LAST.time_period}): cohorts not stored, because 5 blocking "
                                  "checks failed:\n- cohorts/membership: valid_cohort_frame (rows 7, failures 1)")
    assert "x1" not in description

    # The year before carries on: its revision (n1's referral needed no further action) is stored.
    r = year_returns(prev)
    r.rows["cin_episodes"][-1]["referral_nfa"] = True
    store.put(prev, r)
    assert run([*INGEST_INPUTS.values(), *cohorts_of_the_year.keys], prev.partition_key).success
    revised = stored(prev)
    assert revised[cohort_key(BY_KEY["cin_at_31_march"])] != good_prev[cohort_key(BY_KEY["cin_at_31_march"])]
    assert revised[cohort_key(BY_KEY["cla_at_31_march"])] == good_prev[cohort_key(BY_KEY["cla_at_31_march"])]


@pytest.mark.parametrize("cohort", PER_YEAR + EVER_6, ids=lambda c: c.key)
def test_cohort_frames_pass_their_schema(cohort):
    m = per_year_membership(LAST, year_returns(LAST).tables())
    frame = cohort.select(m) if cohort.per_year else cohort.select_ever({LAST: m}, LAST)
    assert checks.validate(checks.cohort_schema(LAST), frame)[0]


# --- revisions through the real automation condition ------------------------------------------------------------

class Automated:
    """The cohort layer in the real code location, on stand-in ingest, driven tick by tick as the daemon would."""

    def __init__(self, tmp_path):
        from cin_outcomes.definitions import build_definitions

        self.store = Store()
        self.ingest = stand_in_ingest(self.store)
        self.resources = {"io_manager": ParquetIOManager(root=str(tmp_path))}
        self.defs = build_definitions(self.ingest, layer_modules=("cin_outcomes.cohorts.assets",),
                                      resources=self.resources)
        self.job = self.defs.resolve_implicit_global_asset_job_def()
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance).cursor

    def deliver(self, year: ReportingYear, r: Returns) -> None:
        """A year's returns land and are ingested (the landing sensor's run)."""
        self.store.put(year, r)
        assert self.job.execute_in_process(instance=self.instance, partition_key=year.partition_key,
                                           asset_selection=list(INGEST_INPUTS.values())).success

    def ticks(self) -> dict[str, set[str]]:
        """Automation ticks until quiet, running each year's requests; returns {asset: years requested}."""
        requested: dict[str, set[str]] = {}
        for _ in range(10):
            result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
            self.cursor = result.cursor
            by_year: dict[str, set] = {}
            for key in (k for a in assets for k in a.keys):
                for pk in result.get_requested_partitions(key):
                    requested.setdefault(key.path[-1], set()).add(pk)
                    by_year.setdefault(pk, set()).add(key)
            if not by_year:
                return requested
            for pk, keys in sorted(by_year.items()):
                assert self.job.execute_in_process(instance=self.instance, partition_key=pk,
                                                   asset_selection=sorted(keys, key=str)).success
        raise AssertionError("automation did not settle")


def _years(first: ReportingYear, last: ReportingYear) -> set[str]:
    return {ReportingYear(y).partition_key for y in range(first.start, last.start + 1)}


@pytest.mark.slow
def test_revisions_recompute_only_the_years_and_cohorts_that_changed(tmp_path):
    p = Automated(tmp_path)
    all_years = [ReportingYear.parse(pk) for pk in input_years.get_partition_keys()]
    for y in all_years:
        p.deliver(y, year_returns(y))
    one_year = {k.path[-1] for k in cohorts_of_the_year.keys}
    ever = {cohort_key(c).path[-1] for c in EVER_6}
    assert p.ticks() == {k: {y.partition_key for y in all_years} for k in one_year | ever}

    # LA 202 resubmits 2019-20: n1's referral needed no further action. The year's cohorts re-run; the Ever-6
    # cohorts re-run for the six years whose window holds 2019-20.
    y = ReportingYear(2019)
    r = year_returns(y)
    r.rows["cin_episodes"][-1]["referral_nfa"] = True
    p.deliver(y, r)
    assert p.ticks() == {**{k: {y.partition_key} for k in one_year}, **{k: _years(y, y + 5) for k in ever}}

    # LA 201 resubmits 2021-22 with a different placement code: ingest changes, every cohort is the same, so the
    # year's cohorts re-run and nothing after them.
    y = ReportingYear(2021)
    r = year_returns(y)
    r.rows["Episodes"][0]["place"] = "U4"
    p.deliver(y, r)
    assert p.ticks() == {k: {y.partition_key} for k in one_year}

    # An identical re-delivery re-runs nothing.
    p.deliver(y, r)
    assert p.ticks() == {}
