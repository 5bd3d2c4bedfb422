"""The warehouse: one parquet file per asset and reporting year, never half-written.

Layout: ``<root>/<asset key path>/<partition key>.parquet`` for year-partitioned assets (e.g.
``warehouse/cohorts/cla_at_31_march/2019-04-01.parquet`` holds reporting year 2019-20) and
``<root>/<asset key path>.parquet`` for assets without years.

Writes go to a hidden temporary file in the same folder, are flushed to disk and then renamed over the target, so
a step that fails or is killed never leaves a partial file, and a year that fails keeps its last good output.

Inputs: a same-year input arrives as a ``pl.DataFrame``. A *mapped* input (a partition mapping other than
"the same year", such as the six years of an Ever-6 cohort, or a partitioned asset read by an asset without
years) always arrives as ``dict[partition key, pl.DataFrame]`` sorted by year, even when the window holds a
single year. Annotate an input ``pl.LazyFrame`` (or ``dict[str, pl.LazyFrame]``) to scan instead of read. A
year that was never materialised is an error naming the asset and year, unless the input's metadata has
``allow_missing_partitions: True`` (then the dict holds only the years that exist).
"""

from __future__ import annotations

import collections.abc
import os
import tempfile
import typing
from pathlib import Path
from typing import Any, Optional

import dagster as dg
import polars as pl
from pydantic import Field

from cin_outcomes.resources import default_warehouse_root
from cin_outcomes.years import ReportingYear

SUFFIX = ".parquet"
_TMP_PREFIX = "."
_TMP_SUFFIX = ".tmp"


def _is_identity(mapping: dg.PartitionMapping | None) -> bool:
    """True when the mapping reads exactly the downstream step's own year(s)."""
    if mapping is None or isinstance(mapping, dg.IdentityPartitionMapping):
        return True
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        return mapping.start_offset == 0 and mapping.end_offset == 0
    return False


def _typing_type(context: dg.InputContext) -> Any:
    try:
        return context.dagster_type.typing_type
    except Exception:  # noqa: BLE001 - inputs built by hand may have no type
        return Any


def _wants_dict(tt: Any) -> bool:
    return typing.get_origin(tt) in (dict, collections.abc.Mapping) or tt is dict


def _wants_lazy(tt: Any) -> bool:
    if tt is pl.LazyFrame:
        return True
    if _wants_dict(tt):
        args = typing.get_args(tt)
        return len(args) == 2 and args[1] is pl.LazyFrame
    return False


def _input_is_mapped(context: dg.InputContext) -> bool:
    """Whether this input crosses years: a non-identity partition mapping, or a partitioned upstream read by a
    step without years (or read for a range of years)."""
    if _wants_dict(_typing_type(context)):
        return True
    if len(context.asset_partition_keys) != 1:
        return True
    step = getattr(context, "_step_context", None)
    if step is None:  # built by hand (build_input_context): only the annotation and the keys can tell
        return False
    if not step.has_partition_key and not step.has_partition_key_range:
        return True
    assets_def = step.job_def.asset_layer.get_assets_def_for_node(step.node_handle)
    if assets_def is None:
        return False
    return not _is_identity(assets_def.get_partition_mapping_for_dep(context.asset_key))


def atomic_write_parquet(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` so that readers only ever see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            df.write_parquet(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files left beside ``path`` by a killed step (they are never read)."""
    if path.parent.is_dir():
        for p in path.parent.glob(f"{_TMP_PREFIX}{path.name}.*{_TMP_SUFFIX}"):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores each asset as parquet, one file per reporting year, written atomically."""

    root: Optional[str] = Field(
        default=None,
        description="Warehouse folder; unset means $CIN_OUTCOMES_WAREHOUSE, else warehouse in the project folder.",
    )

    @property
    def root_path(self) -> Path:
        return Path(self.root or default_warehouse_root())

    def path_for(self, asset_key: dg.AssetKey, partition_key: str | None = None) -> Path:
        """``<root>/<key path>/<partition key>.parquet``, or ``<root>/<key path>.parquet`` without years."""
        parts = list(asset_key.path)
        if partition_key is None:
            return self.root_path.joinpath(*parts[:-1], parts[-1] + SUFFIX)
        return self.root_path.joinpath(*parts, partition_key + SUFFIX)

    # -- output ---------------------------------------------------------------------------------------------
    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if isinstance(obj, pl.LazyFrame):
            obj = obj.collect()
        key = context.asset_key
        if context.has_asset_partitions:
            keys = list(context.asset_partition_keys)
            if len(keys) == 1:
                frames = {keys[0]: obj}
            elif isinstance(obj, collections.abc.Mapping) and set(obj) == set(keys):
                frames = dict(obj)  # one run over several years returns {partition key: frame}
            else:
                raise TypeError(
                    f"{key.to_user_string()}: a run over {len(keys)} years must return a dict keyed by "
                    "partition key with one data frame per year"
                )
        else:
            frames = {None: obj}
        rows = 0
        for pk, df in sorted(frames.items(), key=lambda kv: kv[0] or ""):
            if isinstance(df, pl.LazyFrame):
                df = df.collect()
            if not isinstance(df, pl.DataFrame):
                raise TypeError(
                    f"{key.to_user_string()}: the parquet warehouse stores polars DataFrames, got {type(df).__name__}"
                )
            path = self.path_for(key, pk)
            remove_stale_temporaries(path)
            atomic_write_parquet(df, path)
            rows += df.height
        context.add_output_metadata(
            {"dagster/row_count": rows, "path": dg.MetadataValue.path(str(path if len(frames) == 1 else path.parent))}
        )

    # -- input ----------------------------------------------------------------------------------------------
    def _read(self, path: Path, lazy: bool, what: str) -> pl.DataFrame | pl.LazyFrame:
        if not path.is_file():
            raise FileNotFoundError(f"{what} has not been materialised: {path} does not exist")
        return pl.scan_parquet(path) if lazy else pl.read_parquet(path)

    def load_input(self, context: dg.InputContext) -> Any:
        key = context.asset_key
        lazy = _wants_lazy(_typing_type(context))
        if not context.has_asset_partitions:
            return self._read(self.path_for(key), lazy, key.to_user_string())
        pks = sorted(context.asset_partition_keys)
        if not _input_is_mapped(context):
            return self._read(self.path_for(key, pks[0]), lazy, f"{key.to_user_string()} for {_label(pks[0])}")
        if (context.definition_metadata or {}).get("allow_missing_partitions"):
            pks = [pk for pk in pks if self.path_for(key, pk).is_file()]
        return {pk: self._read(self.path_for(key, pk), lazy, f"{key.to_user_string()} for {_label(pk)}") for pk in pks}


def _label(partition_key: str) -> str:
    """``2019-20`` for ``2019-04-01``: how a year is named in error messages."""
    try:
        return ReportingYear.parse(partition_key).label
    except ValueError:
        return partition_key
