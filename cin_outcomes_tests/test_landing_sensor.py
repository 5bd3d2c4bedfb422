"""The landing sensor: which deliveries count as new, what it records, and which runs it asks for."""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.landing import LANDING_ASSETS
from cin_outcomes.landing.sensors import build_landing_sensor
from cin_outcomes.partitions import input_years
from cin_outcomes.resources import LandingRoot

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")

YEARS = ["2017-18", "2018-19", "2019-20"]
LAS = ["201", "202"]


def deliver(root: Path, year: str, la: str, cin: bytes = b"", episodes: bytes = b"") -> None:
    """Write one LA's returns for a year in the landing layout."""
    d = root / year / la
    (d / "ssda903").mkdir(parents=True, exist_ok=True)
    (d / "cin_census.xml").write_bytes(cin or f"<Message><LA>{la}</LA><Year>{year}</Year></Message>".encode())
    (d / "ssda903" / "Header.csv").write_text("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n")
    (d / "ssda903" / "Episodes.csv").write_bytes(episodes or f"CHILD,DECOM\n{la}01,01/05/{year[:4]}\n".encode())


def deliver_npd(root: Path, year: str) -> None:
    d = root / year / "npd"
    d.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"PupilMatchingRefAnonymous": ["a", "b"], "AcademicYear": [year, year]}).write_parquet(
        d / "school_census.parquet")


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing"
    for y in YEARS:
        for la in LAS:
            deliver(root, y, la)
        deliver_npd(root, y)
    return root


def expected_hash(year_dir: Path, files: list[Path]) -> str:
    """The documented hash, computed independently: path (relative to the year), size and SHA-256 of each file,
    in path order."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda p: p.relative_to(year_dir).as_posix()):
        data = f.read_bytes()
        h.update(f"{f.relative_to(year_dir).as_posix()}\0{len(data)}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return h.hexdigest()[:16]


# Stand-in ingest assets: the sensor asks for the children of each landing asset.
@dg.asset(key=["ingest", "cin_census"], partitions_def=input_years, deps=[LANDING_ASSETS["cin_census"]])
def ingest_cin():
    return None


@dg.asset(key=["ingest", "ssda903"], partitions_def=input_years, deps=[LANDING_ASSETS["ssda903"]])
def ingest_903():
    return None


SENSOR = build_landing_sensor("landing_test", settle_seconds=0)
INGEST_CIN, INGEST_903 = dg.AssetKey(["ingest", "cin_census"]), dg.AssetKey(["ingest", "ssda903"])


def make_defs(root: Path) -> dg.Definitions:
    return dg.Definitions(assets=[*LANDING_ASSETS.values(), ingest_cin, ingest_903], sensors=[SENSOR],
                          resources={"landing": LandingRoot(path=str(root))})


def tick(defs, instance, cursor):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                  resources={"landing": defs.resources["landing"]})
    result = SENSOR(ctx)
    return result, result.cursor


def test_first_tick_requests_every_year(landing):
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    result, cursor = tick(defs, inst, None)
    reqs = {r.partition_key: r for r in result.run_requests}
    assert sorted(reqs) == ["2017-04-01", "2018-04-01", "2019-04-01"]
    for y in YEARS:
        pk = f"{y[:4]}-04-01"
        r = reqs[pk]
        assert set(r.asset_selection) == {INGEST_CIN, INGEST_903}  # NPD has no ingest asset here
        cin_files = [landing / y / la / "cin_census.xml" for la in LAS]
        h_cin = expected_hash(landing / y, cin_files)
        h_903 = expected_hash(landing / y, list((landing / y).glob("*/ssda903/*.csv")))
        assert f"cin_census={h_cin}" in r.run_key and f"ssda903={h_903}" in r.run_key and pk in r.run_key
        assert r.tags["cin_outcomes/reporting_year"] == y
    # One observation per source and year, with the hash as the data version.
    obs = {(o.asset_key.path[-1], o.partition): o for o in result.asset_events}
    assert len(obs) == 9
    o = obs[("cin_census", "2018-04-01")]
    assert o.tags["dagster/data_version"] == expected_hash(landing / "2018-19",
                                                           [landing / "2018-19" / la / "cin_census.xml" for la in LAS])
    assert o.metadata["files"].value == 2 and o.metadata["local_authorities"].value == 2
    assert obs[("npd", "2019-04-01")].metadata["local_authorities"].value == 0
    c = json.loads(cursor)
    assert c["hashes"]["cin_census"]["2018-19"] == o.tags["dagster/data_version"]
    assert sorted(c["hashes"]["npd"]) == YEARS


def test_changed_la_file_requests_only_that_year(landing):
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    _, cursor = tick(defs, inst, None)
    deliver(landing, "2018-19", "202", cin=b"<Message><LA>202</LA><Year>2018-19</Year><Child/></Message>")
    # Same 903 content rewritten: only the CIN census changed.
    result, cursor2 = tick(defs, inst, cursor)
    assert [(r.partition_key, set(r.asset_selection)) for r in result.run_requests] == [("2018-04-01", {INGEST_CIN})]
    new_hash = expected_hash(landing / "2018-19", [landing / "2018-19" / la / "cin_census.xml" for la in LAS])
    assert new_hash in result.run_requests[0].run_key
    assert [(o.asset_key, o.partition, o.tags["dagster/data_version"]) for o in result.asset_events] == [
        (LANDING_ASSETS["cin_census"].key, "2018-04-01", new_hash)]
    assert json.loads(cursor2)["hashes"]["cin_census"]["2018-19"] == new_hash


def test_identical_redelivery_requests_nothing(landing):
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    _, cursor = tick(defs, inst, None)
    time.sleep(0.01)
    # Re-deliver byte-identical files: rewritten in place for one LA, replaced by new files (new inodes) for another.
    for y in YEARS:
        f = landing / y / "201" / "cin_census.xml"
        f.write_bytes(f.read_bytes())
        src = landing / y / "202"
        copy = landing / f"copy-{y}"
        shutil.copytree(src, copy)
        shutil.rmtree(src)
        copy.rename(src)
    result, cursor2 = tick(defs, inst, cursor)
    assert result.run_requests == [] and result.asset_events == []
    assert json.loads(cursor2)["hashes"] == json.loads(cursor)["hashes"]


def test_edit_that_keeps_size_and_mtime_is_still_seen(landing):
    """A corrected date keeps the file size; even with the modification time put back, the change is found."""
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    _, cursor = tick(defs, inst, None)
    f = landing / "2019-20" / "201" / "ssda903" / "Episodes.csv"
    st = f.stat()
    f.write_bytes(f.read_bytes().replace(b"01/05/", b"02/05/"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    result, _ = tick(defs, inst, cursor)
    assert [(r.partition_key, set(r.asset_selection)) for r in result.run_requests] == [("2019-04-01", {INGEST_903})]


def test_revert_to_an_earlier_delivery_runs_again(landing):
    """A -> B -> A: the return to A is a new delivery and must not be swallowed by run-key de-duplication."""
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    _, c0 = tick(defs, inst, None)
    f = landing / "2017-18" / "201" / "cin_census.xml"
    a = f.read_bytes()
    f.write_bytes(a + b"<!-- corrected -->")
    r1, c1 = tick(defs, inst, c0)
    f.write_bytes(a)
    r2, _ = tick(defs, inst, c1)
    (k1,), (k2,) = [r.run_key for r in r1.run_requests], [r.run_key for r in r2.run_requests]
    first = [r.run_key for r in tick(defs, inst, None)[0].run_requests if r.partition_key == "2017-04-01"][0]
    assert len({first, k1, k2}) == 3
    assert first.split(":")[1] == k2.split(":")[1]  # same cin_census hash as the first delivery


def test_new_year_and_removed_files(landing):
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    _, cursor = tick(defs, inst, None)
    deliver(landing, "2020-21", "201")
    (landing / "2023-24-draft").mkdir()  # not a year folder: ignored
    result, cursor = tick(defs, inst, cursor)
    assert [r.partition_key for r in result.run_requests] == ["2020-04-01"]
    shutil.rmtree(landing / "2020-21" / "201" / "ssda903")
    result, cursor = tick(defs, inst, cursor)
    assert result.run_requests == []
    assert "2020-21" not in json.loads(cursor)["hashes"]["ssda903"]


def test_year_outside_configured_years_is_skipped(landing):
    defs, inst = make_defs(landing), dg.DagsterInstance.ephemeral()
    last = input_years.get_last_partition_key()
    beyond = f"{int(last[:4]) + 1}-{(int(last[:4]) + 2) % 100:02d}"
    deliver(landing, beyond, "201")
    result, _ = tick(defs, inst, None)
    assert f"{int(last[:4]) + 1}-04-01" not in {r.partition_key for r in result.run_requests}
    assert len(result.run_requests) == 3


def test_delivery_still_arriving_waits(landing):
    """With a settling time, a year whose files changed moments ago is left for a later tick."""
    sensor = build_landing_sensor("landing_settle", settle_seconds=3600)
    defs = dg.Definitions(assets=[*LANDING_ASSETS.values(), ingest_cin, ingest_903], sensors=[sensor],
                          resources={"landing": LandingRoot(path=str(landing))})
    ctx = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=None, definitions=defs,
                                  resources={"landing": LandingRoot(path=str(landing))})
    result = sensor(ctx)
    assert result.run_requests == []
    assert json.loads(result.cursor)["hashes"] == {"cin_census": {}, "ssda903": {}, "npd": {}}


def test_landing_root_from_environment(monkeypatch, landing):
    monkeypatch.setenv("CIN_OUTCOMES_LANDING", str(landing))
    assert LandingRoot().root == landing
    assert [y.label for y in LandingRoot().years()] == YEARS
    assert sorted(LandingRoot().cin_census_files("2019-20")) == LAS
