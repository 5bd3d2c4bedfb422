"""The published layers: the ``tables`` asset group (one asset per file and year, :mod:`cin_outcomes.tabulation.
assets`) and ``publication/files``, the publication itself.

``publication/files`` (no years) reads every published year of every table, assembles each file's time series,
screens every data/metadata pair and writes them with the data guidance and the methodology into
``<output root>/publication/`` atomically (:mod:`cin_outcomes.publication.writer`). It will not publish while
any year of any table has a failing (or missing) blocking check: the run fails with the list of failing checks.
Its automation waits for every blocking check of its inputs to pass, like every derived asset.

Metadata: where the files are, and per file its rows and suppressed cells by symbol.
"""


import hashlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Optional

import dagster as dg
import polars as pl
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from pydantic import Field

from cin_outcomes.partitions import published_years
from cin_outcomes.publication.guidance import data_guidance
from cin_outcomes.publication.methodology import markdown_to_html, methodology_markdown
from cin_outcomes.publication.writer import PublicationSummary, assemble, default_output_root, write_publication
from cin_outcomes.tabulation import checks
from cin_outcomes.tabulation.assets import TABLE_ASSETS, TABLES_VERSION, table_key
from cin_outcomes.tabulation.spec import TABLES, TableSpec
from cin_outcomes.years import ReportingYear

warnings.filterwarnings("ignore", category=dg.PreviewWarning, module=r"cin_outcomes\.publication\.assets")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"cin_outcomes\.publication\.assets")

GROUP = "publication"
PUBLICATION_KEY = dg.AssetKey([GROUP, "files"])
#: Bump when assembling, guidance or methodology change what is written.
PUBLICATION_VERSION = "1"


class PublicationConfig(dg.Config):
    """Where the publication is written."""

    output_root: Optional[str] = Field(
        default=None,
        description="Folder that receives publication/; unset means $CIN_OUTCOMES_OUTPUT, else output in the "
                    "project folder.",
    )


def _input_name(spec: TableSpec) -> str:
    return f"table_{spec.stem}"


def failing_checks(instance: dg.DagsterInstance, specs: Sequence[TableSpec],
                   partition_keys: Sequence[str]) -> list[str]:
    """Every (table, year, check) whose latest evaluation on the latest materialisation did not pass, or that
    has no evaluation: ``"ks4_la 2024-25: ees_screener failed"``."""
    out = []
    for spec in specs:
        names = [c.name for c in checks.checks_for(spec)]
        keys = [dg.AssetCheckKey(table_key(spec), n) for n in names]
        infos = {(i.check_key.name, i.partition_key): i
                 for i in instance.event_log_storage.get_asset_check_partition_info(keys)}
        for pk in partition_keys:
            label = ReportingYear.parse(pk).label
            for n in names:
                info = infos.get((n, pk))
                if info is None:
                    out.append(f"{spec.stem} {label}: {n} has no result")
                elif info.latest_execution_status != AssetCheckExecutionRecordStatus.SUCCEEDED:
                    out.append(f"{spec.stem} {label}: {n} {info.latest_execution_status.value.lower()}")
                elif not info.is_current:
                    out.append(f"{spec.stem} {label}: {n} not evaluated on the latest materialisation")
    return out


def summary_metadata(summary: PublicationSummary) -> dict:
    symbols = summary.symbols()
    return {
        "path": dg.MetadataValue.path(str(summary.path)),
        "data_files": len(summary.files),
        "rows": summary.rows,
        **{f"cells_{k}": v for k, v in sorted(symbols.items())},
        "files": dg.MetadataValue.table(
            records=[dg.TableRecord({"file": f.name, "rows": f.rows, "cells": f.cells,
                                     "c": f.symbols.get("c", 0), "x": f.symbols.get("x", 0),
                                     "z": f.symbols.get("z", 0), "k": f.symbols.get("k", 0),
                                     "years": f"{f.time_periods[0]}-{f.time_periods[-1]}" if f.time_periods else ""})
                     for f in summary.files],
            schema=dg.TableSchema(columns=[
                dg.TableColumn("file", "string"), dg.TableColumn("rows", "int"), dg.TableColumn("cells", "int"),
                dg.TableColumn("c", "int", description="suppressed"), dg.TableColumn("x", "int",
                                                                                     description="not available"),
                dg.TableColumn("z", "int", description="not applicable"),
                dg.TableColumn("k", "int", description="rounds to 0"), dg.TableColumn("years", "string")])),
        "other_files": dg.MetadataValue.json(list(summary.other_files)),
    }


def build_publication(root, tables: Mapping[str, Mapping[str, pl.DataFrame]],
                      years: Sequence[ReportingYear]) -> PublicationSummary:
    """Assemble every table's years (``tables``: stem -> partition key -> frame), write the files, the data
    guidance and the methodology under ``root``."""
    assembled = [(spec, assemble(spec, tables[stem])) for stem, spec in TABLES.items() if stem in tables]
    md = methodology_markdown(assembled, years)
    texts = {"data-guidance.txt": data_guidance(assembled), "methodology.md": md,
             "methodology.html": markdown_to_html(md)}
    return write_publication(root, assembled, texts)


_CODE_VERSION = "publication-{}.{}".format(PUBLICATION_VERSION, hashlib.sha256(
    (TABLES_VERSION + "".join(repr(s) for s in TABLES.values())).encode()).hexdigest()[:12])


@dg.asset(
    key=PUBLICATION_KEY,
    group_name=GROUP,
    code_version=_CODE_VERSION,
    kinds={"csv"},
    ins={_input_name(spec): dg.AssetIn(key=table_key(spec)) for spec in TABLES.values()},
    description=(
        "The publication as uploaded to Explore Education Statistics: every table's time series (every published "
        "year) as a data CSV with its .meta.csv, data-guidance.txt and methodology.md/.html, written atomically to "
        "<output root>/publication/ ($CIN_OUTCOMES_OUTPUT, default output/). Not written while any year of any "
        "table fails a blocking check."),
)
def publication_files(context: dg.AssetExecutionContext, config: PublicationConfig, **tables) -> dg.MaterializeResult:
    partition_keys = published_years.get_partition_keys()
    failing = failing_checks(context.instance, list(TABLES.values()), partition_keys)
    if failing:
        raise dg.Failure(
            description=f"The publication was not written: {len(failing)} blocking check(s) of the tables have not "
                        "passed:\n" + "\n".join(failing[:50]),
            metadata={"failing_checks": dg.MetadataValue.json(failing)})
    frames = {spec.stem: tables[_input_name(spec)] for spec in TABLES.values()}
    for stem, by_year in frames.items():
        missing = sorted(set(partition_keys) - set(by_year))
        if missing:
            raise dg.Failure(description=f"{stem}: years not built: {', '.join(missing)}")
    root = config.output_root or default_output_root()
    summary = build_publication(root, frames, [ReportingYear.parse(pk) for pk in partition_keys])
    context.log.info(summary.text())
    return dg.MaterializeResult(metadata=summary_metadata(summary))


assets = [*TABLE_ASSETS.values(), publication_files]
asset_checks: list = []
