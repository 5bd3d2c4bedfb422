"""The parquet warehouse: layout, atomic writes, and inputs keyed by year."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cin_outcomes.io_manager import ParquetIOManager, atomic_write_parquet
from cin_outcomes.partitions import EVER_6_YEARS, input_years, published_years

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")

COHORT = ["cohorts", "stand_in_cohort"]
COH = "cohorts/stand_in_cohort"


@dg.asset(key=COHORT, partitions_def=input_years)
def cohort(context: dg.AssetExecutionContext):
    """One row per year: the year's start and a count that the tests can sum by hand."""
    start = int(context.partition_key[:4])
    df = pl.DataFrame({"partition": [context.partition_key], "n": [start - 2000]})
    return dg.Output(df, data_version=dg.DataVersion(f"v{start}"))


@dg.asset(partitions_def=input_years, ins={"c": dg.AssetIn(COHORT, partition_mapping=EVER_6_YEARS)})
def ever6_untyped(c):
    """Ever-6 window with no annotation: must still be a dict, even for the first year."""
    assert isinstance(c, dict), type(c)
    return pl.DataFrame({"years": [sorted(c)], "n": [sum(df["n"].item() for df in c.values())]})


@dg.asset(partitions_def=input_years, ins={"c": dg.AssetIn(COHORT, partition_mapping=EVER_6_YEARS)})
def ever6_typed(c: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return pl.DataFrame({"years": [sorted(c)]})


@dg.asset(partitions_def=input_years, ins={"c": dg.AssetIn(COHORT, partition_mapping=EVER_6_YEARS)})
def ever6_lazy(c: dict[str, pl.LazyFrame]) -> pl.DataFrame:
    assert all(isinstance(v, pl.LazyFrame) for v in c.values())
    return pl.concat([v.collect() for v in c.values()])


@dg.asset(partitions_def=input_years, ins={"c": dg.AssetIn(COHORT)})
def same_year(c):
    """Same-year input: a plain frame."""
    assert isinstance(c, pl.DataFrame), type(c)
    return c


@dg.asset(partitions_def=published_years, ins={"c": dg.AssetIn(COHORT)})
def published_same_year(c):
    assert isinstance(c, pl.DataFrame), type(c)
    return c


@dg.asset(ins={"c": dg.AssetIn(COHORT, metadata={"allow_missing_partitions": True})})
def all_years(c):
    """An asset without years reads every year that exists: a dict."""
    assert isinstance(c, dict)
    return pl.DataFrame({"years": [sorted(c)]})


ASSETS = [cohort, ever6_untyped, ever6_typed, ever6_lazy, same_year, published_same_year, all_years]


@pytest.fixture
def io(tmp_path):
    return ParquetIOManager(root=str(tmp_path / "wh"))


def _mat(io, selection, pk=None, instance=None, **kw):
    return dg.materialize(ASSETS, selection=selection, partition_key=pk, resources={"io_manager": io},
                          instance=instance or dg.DagsterInstance.ephemeral(), **kw)


def test_layout_one_file_per_asset_and_year(io, tmp_path):
    inst = dg.DagsterInstance.ephemeral()
    for pk in ("2013-04-01", "2014-04-01"):
        assert _mat(io, [COH], pk, inst).success
    assert _mat(io, ["all_years"], None, inst).success
    root = tmp_path / "wh"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == ["all_years.parquet", "cohorts/stand_in_cohort/2013-04-01.parquet",
                     "cohorts/stand_in_cohort/2014-04-01.parquet"]
    assert pl.read_parquet(root / "cohorts/stand_in_cohort/2014-04-01.parquet")["n"].to_list() == [14]
    assert pl.read_parquet(root / "all_years.parquet")["years"].to_list() == [["2013-04-01", "2014-04-01"]]


def test_output_with_data_version_is_stored_and_versioned(io):
    inst = dg.DagsterInstance.ephemeral()
    r = _mat(io, [COH], "2016-04-01", inst)
    mat = r.get_asset_materialization_events()[0].event_specific_data.materialization
    assert mat.tags["dagster/data_version"] == "v2016"
    assert mat.metadata["dagster/row_count"].value == 1
    assert Path(mat.metadata["path"].value) == io.path_for(dg.AssetKey(COHORT), "2016-04-01")


def test_single_mapped_year_arrives_as_dict(io):
    """First year of the input years: the Ever-6 window holds one year and must still be a dict by year."""
    inst = dg.DagsterInstance.ephemeral()
    assert _mat(io, [COH], "2013-04-01", inst).success
    r = _mat(io, ["ever6_untyped", "ever6_typed", "ever6_lazy", "same_year"], "2013-04-01", inst)
    assert r.success
    assert r.output_for_node("ever6_untyped")["years"].to_list() == [["2013-04-01"]]
    assert r.output_for_node("ever6_typed")["years"].to_list() == [["2013-04-01"]]
    assert r.output_for_node("ever6_lazy")["n"].to_list() == [13]


def test_full_window_is_six_years(io):
    inst = dg.DagsterInstance.ephemeral()
    for start in range(2013, 2020):
        assert _mat(io, [COH], f"{start}-04-01", inst).success
    r = _mat(io, ["ever6_untyped", "same_year"], "2019-04-01", inst)
    years = r.output_for_node("ever6_untyped")["years"].to_list()[0]
    assert years == [f"{y}-04-01" for y in range(2014, 2020)]
    # 14 + 15 + 16 + 17 + 18 + 19, by hand
    assert r.output_for_node("ever6_untyped")["n"].item() == 99
    assert r.output_for_node("same_year")["n"].to_list() == [19]


def test_published_asset_reads_same_year_as_frame(io):
    inst = dg.DagsterInstance.ephemeral()
    assert _mat(io, [COH], "2018-04-01", inst).success
    r = _mat(io, ["published_same_year"], "2018-04-01", inst)
    assert r.output_for_node("published_same_year")["n"].to_list() == [18]


def test_missing_upstream_year_names_asset_and_year(io):
    inst = dg.DagsterInstance.ephemeral()
    assert _mat(io, [COH], "2019-04-01", inst).success
    r = _mat(io, ["ever6_untyped"], "2019-04-01", inst, raise_on_error=False)
    assert not r.success
    err = str(r.get_step_failure_events()[0].event_specific_data.error)
    assert "cohorts/stand_in_cohort for 2014-15 has not been materialised" in err


def test_failed_write_keeps_previous_file(io, monkeypatch, tmp_path):
    """A write that fails half-way (disk full) leaves the last good file as it was, and no temporary file."""
    key = dg.AssetKey(COHORT)
    inst = dg.DagsterInstance.ephemeral()
    assert _mat(io, [COH], "2017-04-01", inst).success
    target = io.path_for(key, "2017-04-01")
    before = target.read_bytes()

    real_write = pl.DataFrame.write_parquet

    def half_write(self, file, *a, **k):
        file.write(b"PAR1 partial bytes of a parquet file")
        raise OSError("No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_write)
    r = _mat(io, [COH], "2017-04-01", inst, raise_on_error=False)
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real_write)
    assert not r.success
    assert target.read_bytes() == before
    assert pl.read_parquet(target)["n"].to_list() == [17]
    assert sorted(p.name for p in target.parent.iterdir()) == ["2017-04-01.parquet"]


def test_failed_step_never_touches_last_good_output(io):
    inst = dg.DagsterInstance.ephemeral()

    @dg.asset(key=COHORT, partitions_def=input_years)
    def broken(context):
        raise ValueError("a return failed to parse")

    assert _mat(io, [COH], "2015-04-01", inst).success
    target = io.path_for(dg.AssetKey(COHORT), "2015-04-01")
    before = target.read_bytes()
    r = dg.materialize([broken], partition_key="2015-04-01", resources={"io_manager": io}, instance=inst,
                       raise_on_error=False)
    assert not r.success and target.read_bytes() == before


def test_killed_write_leaves_no_partial_file(tmp_path):
    """A process killed in the middle of writing: the target keeps its old content; the hidden temporary file
    it leaves is never read and is removed by the next write."""
    target = tmp_path / "wh" / "x" / "2019-04-01.parquet"
    atomic_write_parquet(pl.DataFrame({"v": [1]}), target)
    script = textwrap.dedent(f"""
        import os, polars as pl
        from pathlib import Path
        from cin_outcomes.io_manager import atomic_write_parquet
        def dying_write(self, file, *a, **k):
            file.write(b"PAR1 half")
            file.flush()
            os._exit(9)   # killed: no cleanup, no exception handling
        pl.DataFrame.write_parquet = dying_write
        atomic_write_parquet(pl.DataFrame({{"v": [2]}}), Path({str(target)!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[1])
    assert proc.returncode == 9
    assert pl.read_parquet(target)["v"].to_list() == [1]
    leftovers = [p for p in target.parent.iterdir() if p != target]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".")

    io = ParquetIOManager(root=str(tmp_path / "wh"))
    inst = dg.DagsterInstance.ephemeral()

    @dg.asset(key=["x"], partitions_def=input_years)
    def x():
        return pl.DataFrame({"v": [3]})

    assert dg.materialize([x], partition_key="2019-04-01", resources={"io_manager": io}, instance=inst).success
    assert [p.name for p in target.parent.iterdir()] == ["2019-04-01.parquet"]
    assert pl.read_parquet(target)["v"].to_list() == [3]


def test_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CIN_OUTCOMES_WAREHOUSE", str(tmp_path / "elsewhere"))
    p = ParquetIOManager().path_for(dg.AssetKey(["ingest", "cin_episodes"]), "2020-04-01")
    assert p == tmp_path / "elsewhere" / "ingest" / "cin_episodes" / "2020-04-01.parquet"
    monkeypatch.delenv("CIN_OUTCOMES_WAREHOUSE")
    default = ParquetIOManager().root_path
    assert default.name == "warehouse" and (default.parent / "pyproject.toml").is_file()


def test_not_a_frame_is_refused(io):
    @dg.asset(partitions_def=input_years)
    def not_a_frame():
        return {"n": 1}

    r = dg.materialize([not_a_frame], partition_key="2020-04-01", resources={"io_manager": io},
                       instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not r.success
    assert "stores polars DataFrames" in str(r.get_step_failure_events()[0].event_specific_data.error)


def test_partitioned_check_reads_its_own_year(io):
    """A separate per-year check loads the year it checks as a frame."""

    @dg.asset_check(asset=cohort, blocking=True, partitions_def=input_years)
    def cohort_positive(stand_in_cohort: pl.DataFrame) -> dg.AssetCheckResult:
        assert isinstance(stand_in_cohort, pl.DataFrame)
        return dg.AssetCheckResult(passed=bool((stand_in_cohort["n"] > 0).all()),
                                   metadata={"n": int(stand_in_cohort["n"].item())})

    inst = dg.DagsterInstance.ephemeral()
    r = dg.materialize([cohort, cohort_positive], partition_key="2020-04-01", resources={"io_manager": io},
                       instance=inst)
    (ev,) = r.get_asset_check_evaluations()
    assert ev.passed and ev.metadata["n"].value == 20
