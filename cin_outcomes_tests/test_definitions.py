"""The code location: it loads, shows its layers, runs its sensors by default, and schedules the annual run."""

import datetime as dt
import subprocess
import sys
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.automation import UPSTREAM_DATA_CHANGED
from cin_outcomes.definitions import build_definitions, defs
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.landing import LANDING_ASSETS
from cin_outcomes.partitions import EVER_6_YEARS, input_years
from cin_outcomes.resources import LandingRoot
from cin_outcomes.schedules import last_ended_year

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")

ROOT = Path(__file__).resolve().parents[1]
LANDING_KEYS = {spec.key for spec in LANDING_ASSETS.values()}


@pytest.fixture(scope="module")
def real():
    d = defs()
    dg.Definitions.validate_loadable(d)
    return d


def test_landing_assets(real):
    graph = real.resolve_asset_graph()
    assert {dg.AssetKey(["landing", s]) for s in ("cin_census", "ssda903", "npd")} == LANDING_KEYS
    for key in LANDING_KEYS:
        node = graph.get(key)
        assert not node.is_materializable and node.group_name == "landing"
        assert node.partitions_def == input_years
        assert "reporting year" in node.description or "academic year" in node.description


def test_every_computed_asset_is_described_grouped_and_versioned(real):
    """Derived assets carry a code version and the revision condition; ingest is run by the landing sensor."""
    graph = real.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        who = key.to_user_string()
        assert node.group_name not in (None, "default"), f"{who} has no layer group"
        assert node.description, f"{who} has no description"
        fed_by_landing = bool(set(node.parent_keys) & LANDING_KEYS)
        if fed_by_landing:
            assert node.automation_condition is None, who
        else:
            assert node.code_version, f"{who} has no code_version: revisions could not tell code from data"
            assert node.automation_condition is not None, who


def test_sensors_run_by_default(real):
    repo = real.get_repository_def()
    sensors = {s.name: s for s in repo.sensor_defs}
    assert sensors["landing_deliveries"].default_status == dg.DefaultSensorStatus.RUNNING
    auto = sensors["revision_automation"]
    assert isinstance(auto, dg.AutomationConditionSensorDefinition)
    assert auto.default_status == dg.DefaultSensorStatus.RUNNING


def test_resources(real):
    assert isinstance(real.resources["io_manager"], ParquetIOManager)
    assert isinstance(real.resources["landing"], LandingRoot)


# --- jobs and the annual schedule, on a stand-in layer so they are independent of the other layers' progress --
@dg.asset(key=["ingest", "stand_in"], partitions_def=input_years, deps=[LANDING_ASSETS["cin_census"]],
          group_name="ingest")
def ingest_stand_in():
    return pl.DataFrame({"n": [1]})


@dg.asset(key=["cohorts", "stand_in"], partitions_def=input_years, code_version="1", group_name="cohorts",
          ins={"i": dg.AssetIn(["ingest", "stand_in"], partition_mapping=EVER_6_YEARS)})
def cohort_stand_in(i):
    return pl.DataFrame({"n": [len(i)]})


@pytest.fixture(scope="module")
def stand_in():
    return build_definitions([ingest_stand_in, cohort_stand_in], layer_modules=())


def test_revision_condition_applied(stand_in):
    graph = stand_in.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["cohorts", "stand_in"])).automation_condition == UPSTREAM_DATA_CHANGED
    assert graph.get(dg.AssetKey(["ingest", "stand_in"])).automation_condition is None
    assert "upstream data changed" == UPSTREAM_DATA_CHANGED.get_label()


def test_annual_job_selects_the_year_layer(stand_in):
    job = stand_in.resolve_job_def("annual_social_care")
    assert job.partitions_def == input_years
    assert set(job.asset_layer.executable_asset_keys) == {dg.AssetKey(["ingest", "stand_in"]),
                                                          dg.AssetKey(["cohorts", "stand_in"])}


@pytest.mark.parametrize("when, expected", [
    (dt.datetime(2025, 10, 1, 6, tzinfo=ZoneInfo("Europe/London")), "2024-04-01"),
    (dt.datetime(2024, 10, 1, 6, tzinfo=ZoneInfo("Europe/London")), "2023-04-01"),
])
def test_annual_schedule_builds_the_year_that_ended(stand_in, when, expected):
    schedule = stand_in.resolve_schedule_def("annual_autumn_run")
    assert schedule.cron_schedule == "0 6 1 10 *" and schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    ctx = dg.build_schedule_context(scheduled_execution_time=when, repository_def=stand_in.get_repository_def())
    data = schedule.evaluate_tick(ctx)
    assert [(r.partition_key, r.run_key) for r in data.run_requests] == [(expected, f"annual-{expected}")]


def test_annual_schedule_skips_a_year_not_yet_configured(stand_in):
    schedule = stand_in.resolve_schedule_def("annual_autumn_run")
    after_last = dt.datetime(int(input_years.get_last_partition_key()[:4]) + 2, 10, 1, 6,
                             tzinfo=ZoneInfo("Europe/London"))
    data = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=after_last,
                                                            repository_def=stand_in.get_repository_def()))
    assert not data.run_requests and "CIN_OUTCOMES_LAST_YEAR" in data.skip_message


def test_last_ended_year():
    assert last_ended_year(dt.date(2025, 3, 31)).label == "2023-24"
    assert last_ended_year(dt.date(2025, 4, 1)).label == "2024-25"


# --- the project's entry points -----------------------------------------------------------------------------
def test_pyproject_points_dg_at_the_code_location_with_telemetry_off():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["tool"]["dg"]["project"]["code_location_target_module"] == "cin_outcomes.definitions"
    assert cfg["tool"]["dg"]["project"]["code_location_name"] == "cin_outcomes"
    assert cfg["tool"]["dg"]["cli"]["telemetry"]["enabled"] is False
    assert cfg["tool"]["dagster"]["module_name"] == "cin_outcomes.definitions"


def test_workspace_yaml_loads():
    """What ``dagster dev -w workspace.yaml`` loads, validated by Dagster's own command."""
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cin_outcomes" in proc.stdout + proc.stderr


def test_dg_check_defs():
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "dg"), "check", "defs"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr
