"""The linkage and outcomes assets in Dagster, on the hand-built children (linkage_fixtures.py) served by stand-in
ingest and cohort assets with the real keys: definitions, a run for two years, blocking checks, metadata."""

from __future__ import annotations

import warnings

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.cohorts.assets import INGEST_INPUTS, cohort_key
from cin_outcomes.cohorts.spec import COHORTS
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.linkage import assets as linkage_assets
from cin_outcomes.linkage.assets import CHILDREN_KEY, MATCH_RATES_KEY, NPD_MODULES, npd_key
from cin_outcomes.outcomes import assets as outcome_assets
from cin_outcomes.outcomes.assets import CHECK_BOUNDS, CHECK_GROUPS, OUTCOME_ASSETS, code_version, outcome_key
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES, Family
from cin_outcomes.linkage.characteristics import BREAKDOWN_ITEMS
from cin_outcomes.partitions import input_years, published_years
from cin_outcomes.publication.layouts import layout
from cin_outcomes.synthetic.npd_columns import MODULES
from cin_outcomes.tables import CIN_CHILDREN, CLA_EPISODES, CLA_HEADER
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests import linkage_fixtures as fx
from cin_outcomes_tests.test_outcomes_absence import absence_rows
from cin_outcomes_tests.test_outcomes_exclusions import exclusion_rows
from cin_outcomes_tests.test_outcomes_ks4 import ks4_rows

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

Y23, Y24 = ReportingYear(2023), ReportingYear(2024)
YEARS = [ReportingYear(y) for y in range(2017, 2025)]  # inputs of the six-year windows of 2022-23 on


class Store:
    """What each stand-in upstream asset returns, by key and partition key (empty frames otherwise)."""

    def __init__(self):
        self.frames: dict[tuple[dg.AssetKey, str], pl.DataFrame] = {}
        self.schemas: dict[dg.AssetKey, dict] = {}

    def get(self, key: dg.AssetKey, pk: str) -> pl.DataFrame:
        return self.frames.get((key, pk), pl.DataFrame(schema=self.schemas[key]))


def _cohort_schema() -> dict:
    return fx.cohort_frame([]).schema


def build_store(cohorts_2023: dict[str, pl.DataFrame] | None = None) -> Store:
    s = Store()
    for c in COHORTS:
        s.schemas[cohort_key(c)] = _cohort_schema()
    s.schemas[INGEST_INPUTS["cin_children"]] = CIN_CHILDREN
    s.schemas[INGEST_INPUTS["Header"]] = CLA_HEADER
    s.schemas[INGEST_INPUTS["Episodes"]] = CLA_EPISODES
    for m in MODULES:
        s.schemas[npd_key(m)] = MODULES[m]
    for y in (Y23, Y24):
        for k, df in (cohorts_2023 if (cohorts_2023 is not None and y == Y23) else fx.cohorts(y)).items():
            s.frames[(dg.AssetKey(["cohorts", k]), y.partition_key)] = df
    s.frames[(INGEST_INPUTS["cin_children"], Y23.partition_key)] = fx.cin_children(Y23)
    s.frames[(INGEST_INPUTS["Header"], Y23.partition_key)] = fx.cla_header(Y23)
    for df in fx.cla_episodes():
        s.frames[(INGEST_INPUTS["Episodes"], ReportingYear.parse(df["reporting_year"][0]).partition_key)] = df
    for y, ay in ((Y23, "2023/24"), (Y24, "2024/25")):
        pk = y.partition_key
        s.frames[(npd_key("school_census"), pk)] = fx.census(ay)
        s.frames[(npd_key("ks4"), pk)] = ks4_rows(ay)
    s.frames[(npd_key("absence"), Y23.partition_key)] = absence_rows()
    s.frames[(npd_key("exclusions"), Y23.partition_key)] = exclusion_rows()
    return s


def stand_ins(store: Store) -> list[dg.AssetsDefinition]:
    def build(key: dg.AssetKey) -> dg.AssetsDefinition:
        @dg.asset(key=key, partitions_def=input_years)
        def _a(context) -> pl.DataFrame:
            return store.get(key, context.partition_key)
        return _a
    return [build(k) for k in store.schemas]


def run_all(tmp_path, store: Store, ups: list | None = None) -> tuple[dg.DagsterInstance, dict]:
    ups = ups if ups is not None else stand_ins(store)
    everything = [*ups, *linkage_assets.assets, *outcome_assets.assets]
    instance = dg.DagsterInstance.ephemeral()
    res = {"io_manager": ParquetIOManager(root=str(tmp_path))}
    results = {}
    for y in YEARS:
        r = dg.materialize(everything, selection=[k for a in ups for k in a.keys], partition_key=y.partition_key,
                           instance=instance, resources=res)
        assert r.success
    for y in (Y23 - 1, Y23, Y24):  # 2022-23 for the exclusions of 2023-24
        results[("children", y)] = dg.materialize(everything, selection=[CHILDREN_KEY], partition_key=y.partition_key,
                                                  instance=instance, resources=res, raise_on_error=False)
    for y in (Y23, Y24):
        keys = [MATCH_RATES_KEY, *(outcome_key(f) for f in FAMILIES.values())]
        results[("outcomes", y)] = dg.materialize(everything, selection=keys, partition_key=y.partition_key,
                                                  instance=instance, resources=res, raise_on_error=False)
    return instance, results


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("warehouse")
    instance, results = run_all(tmp, build_store())
    return tmp, instance, results


def _mats(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dg.AssetMaterialization]:
    return {e.asset_key: e.materialization for e in result.get_asset_materialization_events()}


# --- definitions -----------------------------------------------------------------------------------------------

def test_one_asset_per_family_in_the_outcomes_group():
    assert set(OUTCOME_ASSETS) == set(FAMILIES)
    for key, a in OUTCOME_ASSETS.items():
        (k,) = a.keys
        assert k == dg.AssetKey(["outcomes", key])
        assert a.group_names_by_key[k] == "outcomes"
        assert a.partitions_def == published_years
        assert a.code_versions_by_key[k].startswith("outcomes-")
        assert {ck.name for ck in a.check_keys} == {CHECK_BOUNDS, CHECK_GROUPS}
        assert all(spec.blocking for spec in a.check_specs)
        deps = set(a.dependency_keys)
        assert CHILDREN_KEY in deps and {npd_key(m) for m in FAMILIES[key].modules} <= deps
    ex = OUTCOME_ASSETS["exclusions"]
    for dep in ex.dependency_keys:  # exclusions read the year before
        m = ex.get_partition_mapping_for_dep(dep)
        assert (m.start_offset, m.end_offset) == (-1, -1)
    ks2 = OUTCOME_ASSETS["ks2"]
    assert ks2.get_partition_mapping_for_dep(CHILDREN_KEY) is None or \
        ks2.get_partition_mapping_for_dep(CHILDREN_KEY).start_offset == 0


def test_linkage_assets():
    children, rates = linkage_assets.assets
    assert children.partitions_def == input_years and rates.partitions_def == published_years
    assert {cohort_key(c) for c in COHORTS} <= set(children.dependency_keys)
    m = children.get_partition_mapping_for_dep(INGEST_INPUTS["Episodes"])
    assert (m.start_offset, m.end_offset) == (-5, 0)
    assert {npd_key(m) for m in NPD_MODULES} <= set(rates.dependency_keys)
    assert children.group_names_by_key[CHILDREN_KEY] == rates.group_names_by_key[MATCH_RATES_KEY] == "linkage"


def test_code_version_follows_the_measure_definitions():
    f = FAMILIES["fsm"]
    other = Family(f.key, f.label, f.description, f.population, f.measures[:1], groups=f.groups)
    assert code_version(other) != code_version(f)
    assert code_version(f) == code_version(FAMILIES["fsm"])


def test_definitions_load_the_layers():
    from cin_outcomes.definitions import build_definitions
    defs = build_definitions()
    keys = set(defs.get_repository_def().asset_graph.get_all_asset_keys())
    mine = {CHILDREN_KEY, MATCH_RATES_KEY, *(outcome_key(f) for f in FAMILIES.values())}
    assert mine <= keys
    graph = defs.get_repository_def().asset_graph
    for key in mine:  # revisions re-run exactly the years whose inputs changed
        assert graph.get(key).automation_condition.get_label() == "upstream data changed"


# --- a run ---------------------------------------------------------------------------------------------------

def test_every_step_and_check_passes(world):
    _, _, results = world
    for (what, y), r in results.items():
        assert r.success, (what, y.label)
        assert all(e.passed for e in r.get_asset_check_evaluations()), (what, y.label)
    evals = {(e.asset_key, e.check_name) for e in results[("outcomes", Y24)].get_asset_check_evaluations()}
    assert (outcome_key(FAMILIES["ks4"]), CHECK_GROUPS) in evals


def test_stored_datasets_are_the_linked_datasets(world):
    tmp, _, _ = world
    kids = pl.read_parquet(tmp / "linkage" / "cohort_children" / f"{Y23.partition_key}.parquet")
    assert kids.equals(fx.children(Y23))
    ks4 = pl.read_parquet(tmp / "outcomes" / "ks4" / f"{Y23.partition_key}.parquet")
    want = linked_dataset(FAMILIES["ks4"], kids, {"school_census": fx.census(), "ks4": ks4_rows()}, Y23)
    assert ks4.equals(want)


def test_exclusions_of_2024_25_are_the_previous_academic_year(world):
    tmp, _, results = world
    ex = pl.read_parquet(tmp / "outcomes" / "exclusions" / f"{Y24.partition_key}.parquet")
    assert ex["time_period"].unique().to_list() == ["202324"]
    assert ex.filter(pl.col("social_care_group") == "All pupils comparison").height == 6
    meta = _mats(results[("outcomes", Y24)])[outcome_key(FAMILIES["exclusions"])].metadata
    assert (meta["time_period"].value, meta["academic_year"].value) == ("202324", "2023/24")


def test_family_not_collected_is_stored_empty(world):
    tmp, _, results = world
    ks1 = pl.read_parquet(tmp / "outcomes" / "ks1" / f"{Y23.partition_key}.parquet")
    assert ks1.height == 0 and "KS1_READEXP" in ks1.columns
    assert _mats(results[("outcomes", Y23)])[outcome_key(FAMILIES["ks1"])].metadata["produced"].value is False


def test_metadata_holds_counts_not_identifiers(world):
    _, _, results = world
    secrets = [*fx.UPN.values(), "202:a1", "330:c1", "330:e1"]
    for r in results.values():
        for m in _mats(r).values():
            text = str({k: v.value for k, v in m.metadata.items()})
            assert not any(s in text for s in secrets)
        for e in r.get_asset_check_evaluations():
            text = str({k: v.value for k, v in e.metadata.items()})
            assert not any(s in text for s in secrets)
    meta = _mats(results[("outcomes", Y23)])[outcome_key(FAMILIES["ks4"])].metadata
    rows = {r.data["social_care_group"]: r.data for r in meta["children_by_group"].value.records}
    # KS4 2023/24: CIN has B and C (C through the former UPN); All pupils B, C, Q, R.
    assert (rows["CIN at 31 March"]["children_england"], rows["CIN at 31 March"]["matched_by_former_upn"]) == (2, 1)
    assert meta["all_pupils"].value == 4


def test_match_rates_asset(world):
    tmp, _, _ = world
    rates = pl.read_parquet(tmp / "linkage" / "match_rates" / f"{Y23.partition_key}.parquet")
    nat = rates.filter((pl.col("geographic_level") == "National") & (pl.col("social_care_group") == "CIN at 31 March")
                       & (pl.col("pupil_population") == "census")).row(0, named=True)
    # As in test_linkage: 5 children, 4 with a UPN, 4 in the census.
    assert (nat["t_children"], nat["t_children_with_upn"], nat["t_matched"]) == (5, 4, 4)
    assert set(rates["pupil_population"].unique()) == set(linkage_assets.MATCH_POPULATIONS)


def test_a_year_whose_groups_do_not_add_up_is_held_back(tmp_path):
    # CINO 2023-24 wrongly also holds B (who is CPPO): Camden's CINO + CPPO + CLA exceeds its CIN.
    bad = fx.cohorts(Y23)
    bad["cino_at_31_march"] = fx.cohort_frame(["A202", "A318", "E", "B"])
    _, results = run_all(tmp_path, build_store(bad))
    r = results[("outcomes", Y23)]
    assert not r.success
    failed = {(e.asset_key, e.check_name) for e in r.get_asset_check_evaluations() if not e.passed}
    assert (outcome_key(FAMILIES["school_type"]), CHECK_GROUPS) in failed
    e = next(e for e in r.get_asset_check_evaluations()
             if e.asset_key == outcome_key(FAMILIES["school_type"]) and e.check_name == CHECK_GROUPS)
    problems = e.metadata["failures_by_rule"].value
    assert any(p.get("las") == ["202"] for p in problems)
    # The failing year stores nothing (emit_checked): no earlier output, so no file until the checks pass.
    assert not (tmp_path / "outcomes" / "school_type" / f"{Y23.partition_key}.parquet").exists()
    assert (tmp_path / "outcomes" / "school_type" / f"{Y24.partition_key}.parquet").exists()
    # 2024-25 proceeds, except its exclusions, which are those of 2023/24 for the 2023-24 groups.
    failed24 = {e.asset_key for e in results[("outcomes", Y24)].get_asset_check_evaluations() if not e.passed}
    assert failed24 == {outcome_key(FAMILIES["exclusions"])}


def test_a_revised_903_return_re_runs_the_linkage_frames_whose_window_holds_it(tmp_path):
    store = build_store()
    ups = stand_ins(store)
    everything = [*ups, *linkage_assets.assets, *outcome_assets.assets]
    instance, _ = run_all(tmp_path, store, ups)
    cursor = dg.evaluate_automation_conditions(defs=everything, instance=instance).cursor
    # The LA resubmits its 2021-22 SSDA903 return (C's first episode now starts a week later).
    key, pk = INGEST_INPUTS["Episodes"], "2021-04-01"
    store.frames[(key, pk)] = store.frames[(key, pk)].with_columns(
        decom=pl.when(pl.col("rne") == "S").then(pl.col("decom") + pl.duration(days=7)).otherwise("decom"))
    assert dg.materialize(everything, selection=[key], partition_key=pk, instance=instance,
                          resources={"io_manager": ParquetIOManager(root=str(tmp_path))}).success
    result = dg.evaluate_automation_conditions(defs=everything, instance=instance, cursor=cursor)
    # It is in the six-year windows of the linkage frames of 2021-22 to 2026-27; of those, 2022-23 to 2024-25
    # were built (run_all), and only they re-run (2021-22 was never built: nothing to revise).
    assert set(result.get_requested_partitions(CHILDREN_KEY)) == {f"{y}-04-01" for y in range(2022, 2025)}
    for f in FAMILIES.values():  # nothing downstream yet: the linkage frames have not changed
        assert not result.get_requested_partitions(outcome_key(f))


# --- the real files' columns -----------------------------------------------------------------------------------

REAL_FILES = {"ks2_la.csv": "ks2", "ks4_la.csv": "ks4", "absence_la.csv": "absence", "sen_la.csv": "sen",
              "fsm_la.csv": "fsm", "school_type_la.csv": "school_type",
              "permanent_exclusions_and_suspensions_la.csv": "exclusions"}


@pytest.mark.parametrize("file_name", sorted(REAL_FILES))
def test_every_indicator_of_the_real_la_file_is_a_column_with_its_decimal_places(file_name):
    real = layout(file_name)
    family = FAMILIES[REAL_FILES[file_name]]
    ours = {c for m in family.measures for c in m.columns}
    assert set(real.indicator_names) <= ours, sorted(set(real.indicator_names) - ours)
    by_key = {m.key: m for m in family.measures}
    for ind in real.indicators:
        if ind.kind in ("percentage", "average"):
            assert by_key[ind.name].dp == ind.dp, ind.name
        if ind.kind == "statistic":  # confidence limits: the average's decimal places
            m = next(m for m in family.measures if m.ci and ind.name in (m.ci.lower, m.ci.upper))
            assert m.dp == ind.dp, ind.name
    # the breakdown the LA absence file has is one of ours, with the same items
    for f in real.filters:
        if f.name in family.breakdowns:
            assert set(f.values) - {"Total"} <= set(BREAKDOWN_ITEMS[f.name]), f.name
