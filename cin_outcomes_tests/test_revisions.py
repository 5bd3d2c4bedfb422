"""Revisions recompute only what changed.

A small England of two LAs with CIN returns for every input year (2013-14 to 2024-25) is delivered into a landing
folder. The landing sensor and the revision automation are then driven tick by tick, as the daemon would drive
them, with every requested run executed between ticks:

- an LA resubmitting its 2019-20 CIN return re-runs ingest 2019-20, the at-31-March and at-any-point cohorts of
  2019-20 only, and the Ever-6 cohort of 2019-20 to 2024-25 only;
- an identical re-delivery re-runs nothing;
- a year whose return fails a blocking check is held back while another revised year proceeds, and catches up
  once the LA sends a corrected return.

The ingest and cohort assets here are small stand-ins with the same shape as the real ones (a same-year
at-31-March and any-point cohort, an Ever-6 cohort through ``EVER_6_YEARS``, a content-hash data version on
ingest, a blocking per-year check that keeps the last good output of a failing year, code versions); they are assembled by the real ``build_definitions``, which
applies the real automation condition, with the real landing sensor, IO manager and partitions.
"""

import datetime as dt
import hashlib
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.automation import UPSTREAM_DATA_CHANGED
from cin_outcomes.checks import emit_checked
from cin_outcomes.definitions import build_definitions
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.landing import LANDING_ASSETS
from cin_outcomes.landing.sensors import build_landing_sensor
from cin_outcomes.partitions import EVER_6_YEARS, input_years, year_of
from cin_outcomes.resources import LandingRoot
from cin_outcomes.years import ReportingYear, year_range

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")
# Per-year check specs are a preview feature in dagster 1.13 (dagster-notes §3); the stand-ins use them as ingest does.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

LAS = ("201", "202")
INGEST = dg.AssetKey(["ingest", "cin_referrals"])
AT31 = dg.AssetKey(["cohorts", "cin_at_31_march"])
ANY = dg.AssetKey(["cohorts", "cin_at_any_point"])
EVER = dg.AssetKey(["cohorts", "ever_cin_last_6_years"])
DERIVED = (AT31, ANY, EVER)
YEARS = input_years.get_partition_keys()


# --- hand-built CIN returns ----------------------------------------------------------------------------------
def cin_return(year: ReportingYear, la: str, extra: list[tuple[str, str, str | None]] = ()) -> bytes:
    """A minimal CIN census-like XML: three children per LA and year (one closed before 31 March), plus extras."""
    s = year.start_date
    kids = [
        (f"{la}A{year.start}", (s + dt.timedelta(days=40)).isoformat(), None),
        (f"{la}B{year.start}", (s + dt.timedelta(days=100)).isoformat(), (s + dt.timedelta(days=200)).isoformat()),
        (f"{la}C", (s + dt.timedelta(days=300)).isoformat(), None),  # same child every year
        *extra,
    ]
    root = ET.Element("Message")
    for cid, ref, clo in kids:
        c = ET.SubElement(root, "Child")
        ET.SubElement(c, "LAchildID").text = cid
        ET.SubElement(c, "CINreferralDate").text = ref
        if clo:
            ET.SubElement(c, "CINclosureDate").text = clo
    return ET.tostring(root)


def deliver(landing: Path, year: ReportingYear, la: str, content: bytes) -> None:
    f = landing / year.label / la / "cin_census.xml"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(content)


# --- stand-in ingest and cohorts -----------------------------------------------------------------------------
@dg.asset(
    key=INGEST, partitions_def=input_years, deps=[LANDING_ASSETS["cin_census"]], group_name="ingest",
    check_specs=[dg.AssetCheckSpec("closure_after_referral", asset=INGEST, blocking=True,
                                   partitions_def=input_years)],
)
def ingest_cin_referrals(context: dg.AssetExecutionContext, landing: LandingRoot):
    rows = []
    for la, path in landing.cin_census_files(year_of(context)).items():
        for c in ET.parse(path).getroot().iter("Child"):
            rows.append({"la_code": la, "child": c.findtext("LAchildID"),
                         "referral": dt.date.fromisoformat(c.findtext("CINreferralDate")),
                         "closure": dt.date.fromisoformat(c.findtext("CINclosureDate"))
                         if c.findtext("CINclosureDate") else None})
    df = pl.DataFrame(rows, schema={"la_code": pl.Utf8, "child": pl.Utf8, "referral": pl.Date,
                                    "closure": pl.Date}).sort("la_code", "child")
    version = hashlib.sha256(df.write_csv().encode()).hexdigest()[:16]
    bad = df.filter(pl.col("closure") < pl.col("referral"))
    yield from emit_checked(dg.Output(df, data_version=dg.DataVersion(version)),
                            dg.AssetCheckResult(passed=bad.height == 0, metadata={"failures": bad.height}),
                            what="CIN referrals", context=context)


@dg.asset(key=AT31, partitions_def=input_years, ins={"refs": dg.AssetIn(INGEST)}, code_version="1",
          group_name="cohorts")
def cin_at_31_march(context: dg.AssetExecutionContext, refs: pl.DataFrame) -> pl.DataFrame:
    end = year_of(context).end_date
    return refs.filter(pl.col("closure").is_null() | (pl.col("closure") > end)).group_by("la_code").len().sort(
        "la_code")


@dg.asset(key=ANY, partitions_def=input_years, ins={"refs": dg.AssetIn(INGEST)}, code_version="1",
          group_name="cohorts")
def cin_at_any_point(refs: pl.DataFrame) -> pl.DataFrame:
    return refs.select("la_code", "child").unique().sort("la_code", "child")


@dg.asset(key=EVER, partitions_def=input_years, ins={"years": dg.AssetIn(ANY, partition_mapping=EVER_6_YEARS)},
          code_version="1", group_name="cohorts")
def ever_cin_last_6_years(years: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(years.values()).unique().group_by("la_code").len().sort("la_code")


STAND_INS = [ingest_cin_referrals, cin_at_31_march, cin_at_any_point, ever_cin_last_6_years]


# --- the harness: the daemon, tick by tick ---------------------------------------------------------------------
class Pipeline:
    """Stand-in assets (:data:`STAND_INS`) driven as the daemon would: landing sensor ticks, automation ticks."""

    def __init__(self, tmp_path: Path, layer_modules: tuple[str, ...] = ()):
        self.landing = tmp_path / "landing"
        self.resources = {"landing": LandingRoot(path=str(self.landing)),
                          "io_manager": ParquetIOManager(root=str(tmp_path / "warehouse"))}
        if layer_modules:
            self.defs = build_definitions(resources=self.resources, layer_modules=layer_modules)
            graph = self.defs.resolve_asset_graph()
            #: assets whose automation requests the ticks follow
            self.watched = sorted((k for k in graph.materializable_asset_keys if k.path[0] in ("cohorts", "ingest")),
                                  key=str)
        else:
            self.defs = build_definitions(STAND_INS, layer_modules=(), resources=self.resources)
            self.watched = [*DERIVED, INGEST]
        self.sensor = build_landing_sensor("landing_test", settle_seconds=0)
        self.job = self.defs.resolve_implicit_global_asset_job_def()
        self.instance = dg.DagsterInstance.ephemeral()
        self.sensor_cursor = None
        self.automation_cursor = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance).cursor

    def execute(self, partition_key: str, keys) -> bool:
        return self.job.execute_in_process(instance=self.instance, partition_key=partition_key,
                                           asset_selection=sorted(keys, key=str), raise_on_error=False).success

    def sensor_tick(self) -> dict[str, bool]:
        """One landing sensor tick: record its observations, run its requests. Returns {year: run succeeded}."""
        ctx = dg.build_sensor_context(instance=self.instance, cursor=self.sensor_cursor, definitions=self.defs,
                                      resources={"landing": self.resources["landing"]})
        result = self.sensor(ctx)
        self.sensor_cursor = result.cursor
        for event in result.asset_events:
            self.instance.report_runless_asset_event(event)
        return {r.partition_key: self.execute(r.partition_key, r.asset_selection) for r in result.run_requests}

    def automation_ticks(self) -> dict[dg.AssetKey, set[str]]:
        """Automation ticks until nothing more is requested, running each tick's requests (one run per year, as
        the daemon's backfill does). Returns everything requested, by asset."""
        requested: dict[dg.AssetKey, set[str]] = defaultdict(set)
        for _ in range(10):
            result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance,
                                                       cursor=self.automation_cursor)
            self.automation_cursor = result.cursor
            by_year: dict[str, set] = defaultdict(set)
            for key in self.watched:
                for pk in result.get_requested_partitions(key):
                    requested[key].add(pk)
                    by_year[pk].add(key)
            if not by_year:
                return dict(requested)
            for pk, keys in sorted(by_year.items()):
                self.execute(pk, keys)
        raise AssertionError("automation did not settle")

    def value(self, key: dg.AssetKey, pk: str) -> pl.DataFrame:
        return pl.read_parquet(self.resources["io_manager"].path_for(key, pk))

    def materialisations(self, key: dg.AssetKey) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for rec in self.instance.fetch_materializations(key, limit=1000).records:
            counts[rec.partition_key] += 1
        return dict(counts)


@pytest.fixture
def built(tmp_path) -> Pipeline:
    """Every year delivered and built by the sensor and the automation alone, from an empty instance."""
    p = Pipeline(tmp_path)
    for pk in YEARS:
        for la in LAS:
            deliver(p.landing, ReportingYear.parse(pk), la, cin_return(ReportingYear.parse(pk), la))
    assert p.sensor_tick() == {pk: True for pk in YEARS}
    requested = p.automation_ticks()
    assert requested == {AT31: set(YEARS), ANY: set(YEARS), EVER: set(YEARS)}
    return p


def years(first: str, last: str) -> set[str]:
    """Partition keys of the reporting years ``first`` to ``last`` inclusive."""
    return {y.partition_key for y in year_range(first, last)}


def test_derived_assets_carry_the_revision_condition():
    defs = build_definitions(STAND_INS, layer_modules=())
    graph = defs.resolve_asset_graph()
    for key in DERIVED:
        assert graph.get(key).automation_condition == UPSTREAM_DATA_CHANGED
    assert graph.get(INGEST).automation_condition is None  # ingest is run by the landing sensor


def test_initial_build_by_sensor_and_automation(built):
    # Hand count, LA 201 in 2019-20: A2019 open, B2019 closed in October, C open -> 2 at 31 March; 3 at any point.
    assert built.value(AT31, "2019-04-01").rows() == [("201", 2), ("202", 2)]
    assert built.value(ANY, "2019-04-01").height == 6
    # Ever-6 2019-20 for LA 201: A and B for 2014..2019 (12 children) plus C (1) = 13; 2013-14 has only one year.
    assert built.value(EVER, "2019-04-01").rows() == [("201", 13), ("202", 13)]
    assert built.value(EVER, "2013-04-01").rows() == [("201", 3), ("202", 3)]
    assert built.automation_ticks() == {}


def test_resubmitted_2019_20_return_recomputes_only_what_depends_on_it(built):
    before = {k: built.materialisations(k) for k in (INGEST, *DERIVED)}
    y = ReportingYear(2019)
    deliver(built.landing, y, "201", cin_return(y, "201", extra=[("201LATE", "2019-06-01", None)]))

    assert built.sensor_tick() == {"2019-04-01": True}
    requested = built.automation_ticks()
    assert requested == {AT31: {"2019-04-01"}, ANY: {"2019-04-01"}, EVER: years("2019-20", "2024-25")}

    after = {k: built.materialisations(k) for k in (INGEST, *DERIVED)}
    ran = {k: {pk for pk in after[k] if after[k][pk] != before[k].get(pk, 0)} for k in after}
    assert ran == {INGEST: {"2019-04-01"}, AT31: {"2019-04-01"}, ANY: {"2019-04-01"},
                   EVER: years("2019-20", "2024-25")}
    # The late referral counts at 31 March 2020 and in every Ever-6 window containing 2019-20 only.
    assert built.value(AT31, "2019-04-01").rows() == [("201", 3), ("202", 2)]
    assert built.value(EVER, "2024-04-01").rows() == [("201", 14), ("202", 13)]
    assert built.value(EVER, "2018-04-01").rows() == [("201", 13), ("202", 13)]


def test_identical_redelivery_reruns_nothing(built):
    before = {k: built.materialisations(k) for k in (INGEST, *DERIVED)}
    for pk in YEARS:  # every LA re-sends exactly the same files
        y = ReportingYear.parse(pk)
        for la in LAS:
            deliver(built.landing, y, la, cin_return(y, la))
    assert built.sensor_tick() == {}
    assert built.automation_ticks() == {}
    # Even a manual re-run of ingest with unchanged content changes no data version, so nothing follows.
    assert built.execute("2016-04-01", [INGEST])
    assert built.automation_ticks() == {}
    after = {k: built.materialisations(k) for k in (INGEST, *DERIVED)}
    assert after[INGEST]["2016-04-01"] == before[INGEST]["2016-04-01"] + 1
    assert {k: after[k] for k in DERIVED} == {k: before[k] for k in DERIVED}


def test_failed_blocking_check_holds_back_its_year_only(built):
    bad, good = ReportingYear(2016), ReportingYear(2021)
    # LA 202 resubmits 2016-17 with a closure before its referral; LA 201 resubmits 2021-22 correctly.
    deliver(built.landing, bad, "202", cin_return(bad, "202", extra=[("202BAD", "2016-09-01", "2016-08-01")]))
    deliver(built.landing, good, "201", cin_return(good, "201", extra=[("201NEW", "2021-07-01", None)]))
    stored = built.resources["io_manager"].path_for(INGEST, "2016-04-01")
    last_good = stored.read_bytes()

    assert built.sensor_tick() == {"2016-04-01": False, "2021-04-01": True}
    requested = built.automation_ticks()
    assert requested == {AT31: {"2021-04-01"}, ANY: {"2021-04-01"}, EVER: years("2021-22", "2024-25")}
    assert built.value(AT31, "2016-04-01").rows() == [("201", 2), ("202", 2)]  # last good figures stand
    assert stored.read_bytes() == last_good  # the failed return was not stored over the last good one
    history = built.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(INGEST, "closure_after_referral"), limit=100)
    assert next(r for r in history if r.partition == "2016-04-01").status.value == "FAILED"  # newest first

    # The LA corrects its return: the held-back year and its Ever-6 windows catch up.
    deliver(built.landing, bad, "202", cin_return(bad, "202", extra=[("202FIX", "2016-09-01", "2016-10-01")]))
    assert built.sensor_tick() == {"2016-04-01": True}
    requested = built.automation_ticks()
    assert requested == {AT31: {"2016-04-01"}, ANY: {"2016-04-01"}, EVER: years("2016-17", "2021-22")}
    assert built.value(ANY, "2016-04-01").filter(pl.col("la_code") == "202").height == 4


# --- the same on the real ingest and cohort layers -------------------------------------------------------------
REAL_LAS = ("318", "319")


def real_returns(year: ReportingYear, la: str) -> tuple[dict, dict]:
    """One LA's CIN census and SSDA903 tables for a year: the ingest tests' small, valid returns."""
    from cin_outcomes_tests.ingest_fixtures import cin_frames, ssda903_frames

    def age(frames: dict) -> dict:
        """The fixtures' birth dates are written for 2024-25: move them with the year so ages stay the same."""
        shift = f"{year.start - 2024}y"
        return {t: df.with_columns(pl.col(c).dt.offset_by(shift) for c in BIRTH_DATES if c in df.columns)
                for t, df in frames.items()}

    return age(cin_frames(year, la)), age(ssda903_frames(year, la))


BIRTH_DATES = ("birth_date", "expected_birth_date", "dob", "mc_dob", "duc")


def deliver_real(landing: Path, year: ReportingYear, la: str, cin: dict | None = None, cla: dict | None = None):
    from cin_outcomes_tests.ingest_fixtures import write_cin_xml, write_ssda903

    cin_default, cla_default = real_returns(year, la)
    write_cin_xml(cin or cin_default, landing / year.label / la / "cin_census.xml", year, la)
    write_ssda903(cla or cla_default, landing / year.label / la / "ssda903", year)


def add_rows(frames: dict, table: str, rows: list[dict]) -> dict:
    from cin_outcomes.tables import conform

    df = frames[table]
    key = df.select("reporting_year", "la_code").row(0, named=True)
    extra = conform(pl.DataFrame([{**key, **r} for r in rows], infer_schema_length=None), dict(df.schema))
    return {**frames, table: pl.concat([df, extra])}


class RealPipeline(Pipeline):
    """The code location's own layers (ingest, cohorts) on hand-built returns in the real formats."""

    def __init__(self, tmp_path: Path):
        super().__init__(tmp_path, layer_modules=("cin_outcomes.ingest.assets", "cin_outcomes.cohorts.assets"))
        self.cohorts = [k for k in self.watched if k.path[0] == "cohorts"]
        self.ingest = [k for k in self.watched if k.path[0] == "ingest"]

    def assert_2019_20_resubmission_recomputes_only_its_years(self) -> None:
        """After one LA resubmits 2019-20: the sensor ingests 2019-20 alone; the automation re-runs the one-year
        cohorts for 2019-20 only and the Ever-6 cohorts for 2019-20 to 2024-25 only."""
        ever = {k for k in self.cohorts if k.path[-1].startswith("ever_")}
        assert self.sensor_tick() == {"2019-04-01": True}
        requested = self.automation_ticks()
        for key, pks in requested.items():
            assert pks <= (years("2019-20", "2024-25") if key in ever else {"2019-04-01"}), key
        assert requested[AT31] == {"2019-04-01"} and requested[ANY] == {"2019-04-01"}
        assert requested[EVER] == years("2019-20", "2024-25")


@pytest.mark.slow
def test_revisions_on_the_real_layers(tmp_path):
    pytest.importorskip("cin_outcomes.ingest.assets")
    pytest.importorskip("cin_outcomes.cohorts.assets")
    p = RealPipeline(tmp_path)
    ever = {k for k in p.cohorts if k.path[-1].startswith("ever_")}
    per_year = set(p.cohorts) - ever
    cin_ingest = {k for k in p.ingest if not k.path[-1].startswith(("cla_", "npd_"))}
    assert ever and per_year and cin_ingest

    # Every year lands; the sensor ingests it and the automation builds every cohort of every year.
    for pk in YEARS:
        for la in REAL_LAS:
            deliver_real(p.landing, ReportingYear.parse(pk), la)
    assert p.sensor_tick() == {pk: True for pk in YEARS}
    assert p.automation_ticks() == {k: set(YEARS) for k in p.cohorts}
    cin_at31, ever_cin = AT31, EVER
    n_at31 = p.value(cin_at31, "2019-04-01").height

    # LA 318 resubmits 2019-20 with one more child in need, referred in June and open at 31 March.
    y = ReportingYear(2019)
    cin, _ = real_returns(y, "318")
    cin = add_rows(cin, "cin_children", [{"la_child_id": "C0009", "upn": None, "upn_unknown": "UN1",
                                           "birth_date": dt.date(2015, 2, 2), "sex": "M", "ethnicity": "WBRI"}])
    cin = add_rows(cin, "cin_episodes", [{"la_child_id": "C0009", "episode_number": 1,
                                           "referral_date": dt.date(2019, 6, 3), "referral_source": "2A",
                                           "primary_need": "N1", "referral_nfa": False}])
    deliver_real(p.landing, y, "318", cin=cin)
    p.assert_2019_20_resubmission_recomputes_only_its_years()
    assert p.value(cin_at31, "2019-04-01").height >= n_at31

    # Every LA re-sends exactly the same files: nothing runs.
    for pk in YEARS:
        for la in REAL_LAS:
            yy = ReportingYear.parse(pk)
            if (pk, la) == ("2019-04-01", "318"):
                deliver_real(p.landing, yy, la, cin=cin)
            else:
                deliver_real(p.landing, yy, la)
    assert p.sensor_tick() == {}
    assert p.automation_ticks() == {}

    # LA 319's 2016-17 resubmission closes an episode without a reason (CIN rule 8805): ingest's blocking check
    # fails and 2016-17 is held back; LA 318's valid 2021-22 resubmission goes through.
    bad_year, good_year = ReportingYear(2016), ReportingYear(2021)
    bad, _ = real_returns(bad_year, "319")
    bad["cin_episodes"] = bad["cin_episodes"].with_columns(
        closure_date=pl.when(pl.col("episode_number") == 2).then(pl.lit(dt.date(2016, 12, 1)))
        .otherwise(pl.col("closure_date")))
    deliver_real(p.landing, bad_year, "319", cin=bad)
    good, _ = real_returns(good_year, "318")
    good = add_rows(good, "cin_children", [{"la_child_id": "C0010", "upn": None, "upn_unknown": "UN1",
                                             "birth_date": dt.date(2016, 3, 3), "sex": "F", "ethnicity": "WBRI"}])
    good = add_rows(good, "cin_episodes", [{"la_child_id": "C0010", "episode_number": 1,
                                             "referral_date": dt.date(2021, 7, 1), "referral_source": "2A",
                                             "primary_need": "N1", "referral_nfa": False}])
    deliver_real(p.landing, good_year, "318", cin=good)
    io = p.resources["io_manager"]
    last_good = {k: io.path_for(k, "2016-04-01").read_bytes() for k in cin_ingest}
    assert p.sensor_tick() == {"2016-04-01": False, "2021-04-01": True}
    requested = p.automation_ticks()
    assert all("2016-04-01" not in pks for pks in requested.values())
    assert requested[cin_at31] == {"2021-04-01"} and requested[ever_cin] == years("2021-22", "2024-25")
    # The failed 2016-17 return was stored nowhere: every CIN table of the year is still the last good one, and
    # the year shows the failed check.
    assert {k: io.path_for(k, "2016-04-01").read_bytes() for k in cin_ingest} == last_good
    history = p.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(["ingest", "cin_episodes"]), "valid_table"), limit=100)
    assert next(r for r in history if r.partition == "2016-04-01").status.value == "FAILED"
