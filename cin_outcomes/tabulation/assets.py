"""The ``tables`` asset group: one asset per published file, one partition per published reporting year.

``tables/<file stem>`` (``tables/ks4_la``, ``tables/ks4_national``, ``tables/match_rates`` ...) holds one year of
the file exactly as it is published: every column text, figures rounded and suppressed. Each step reads the
year's linked outcome dataset (``outcomes/<family>``; ``linkage/match_rates`` for the match rates), computes the
unrounded figures, passes them through the disclosure stage (:data:`DISCLOSURE_STAGE`, DfE's primary
suppression; cross-table suppression will replace it) and formats them (:mod:`cin_outcomes.tabulation.build`).

Blocking checks on every year (:mod:`cin_outcomes.tabulation.checks`): the EES screener, groups adding up,
England and regions within their LAs, percentages within 0-100, and the complete matrix. A year failing one is
not stored: it keeps its last good table (:func:`cin_outcomes.checks.emit_checked`), the check results say where
the failures are, and the publication is held back until the year passes. Metadata: rows, suppressed cells by
symbol, and whether the outcome was collected that year; no figure below national level and nothing about a child.
"""


import hashlib
import warnings
from collections.abc import Iterator

import dagster as dg
import polars as pl

from cin_outcomes.checks import emit_checked
from cin_outcomes.disclosure.primary import suppression_counts
from cin_outcomes.linkage.assets import MATCH_RATES_KEY, content_version
from cin_outcomes.outcomes.assets import outcome_key
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.partitions import LAST_DATA_YEAR, published_years, year_of
from cin_outcomes.tabulation import checks
from cin_outcomes.tabulation.build import DisclosureStage, data_year, primary_stage, produced, publish, unrounded_table
from cin_outcomes.tabulation.spec import TABLES, TableSpec

warnings.filterwarnings("ignore", category=dg.PreviewWarning, module=r"cin_outcomes\.tabulation\.assets")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"cin_outcomes\.tabulation\.assets")

GROUP = "tables"
#: Bump when building, formatting or checking a table changes what any table holds.
TABLES_VERSION = "1"
#: The disclosure stage every table goes through (replace to change suppression for every file).
DISCLOSURE_STAGE: DisclosureStage = primary_stage


def table_key(spec: TableSpec) -> dg.AssetKey:
    return dg.AssetKey([GROUP, spec.stem])


def input_key(spec: TableSpec) -> dg.AssetKey:
    return MATCH_RATES_KEY if spec.source == "match_rates" else outcome_key(FAMILIES[spec.source])


def code_version(spec: TableSpec) -> str:
    """Tables version plus a digest of the file's specification and the disclosure stage."""
    parts = [TABLES_VERSION, repr(spec), f"{DISCLOSURE_STAGE.__module__}.{DISCLOSURE_STAGE.__qualname__}"]
    return f"tables-{TABLES_VERSION}.{hashlib.sha256(chr(31).join(parts).encode()).hexdigest()[:12]}"


def check_key(spec: TableSpec, name: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(table_key(spec), name)


def _json(meta: dict) -> dict:
    return {k: (dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v) for k, v in meta.items()}


def table_metadata(spec: TableSpec, published: pl.DataFrame, year) -> dict:
    """Rows, cells by symbol, groups: nothing below the table's own figures, nothing about a child."""
    y = data_year(spec, year)
    symbols = suppression_counts(published, spec.suppression)
    return {
        "reporting_year": str(year), "time_period": y.time_period, "produced": produced(spec, year),
        "file": spec.file_name, "rows": published.height,
        "cells": published.height * len(spec.indicators),
        **{f"cells_{name}": symbols[sym] for sym, name in
           (("c", "suppressed_c"), ("x", "not_available_x"), ("z", "not_applicable_z"), ("k", "low_k"))},
        "social_care_groups": dg.MetadataValue.json(list(spec.groups)),
    }


def build_table_asset(spec: TableSpec) -> dg.AssetsDefinition:
    key = table_key(spec)
    applicable = checks.checks_for(spec)
    source = "linkage/match_rates" if spec.source == "match_rates" else f"outcomes/{spec.source}"
    levels = ", ".join(spec.levels)

    @dg.asset(
        key=key,
        group_name=GROUP,
        partitions_def=published_years,
        code_version=code_version(spec),
        kinds={"polars"},
        ins={"data": dg.AssetIn(key=input_key(spec))},
        check_specs=[dg.AssetCheckSpec(c.name, asset=key, blocking=True, partitions_def=published_years,
                                       description=c.description) for c in applicable],
        metadata={"file": spec.file_name, "geographic_levels": levels},
        description=(f"{spec.file_name} for one year, as published: {spec.title}. {spec.description} "
                     f"Geographic levels: {levels}. Built from {source}: unrounded figures, DfE's rounding and "
                     "primary suppression, formatted as the published files print them."),
    )
    def _asset(context: dg.AssetExecutionContext, data: pl.DataFrame) -> Iterator:
        year = year_of(context)
        latest = data_year(spec, LAST_DATA_YEAR).time_period
        unrounded = unrounded_table(spec, data, year)
        published = publish(spec, unrounded, year, latest=latest, stage=DISCLOSURE_STAGE)
        meta = table_metadata(spec, published, year)
        context.log.info(f"{spec.file_name} {year.label}: {published.height:,} rows, "
                         f"{meta['cells_suppressed_c']:,} cells suppressed")
        output = dg.Output(published, data_version=content_version(published), metadata=meta)
        results = [dg.AssetCheckResult(asset_key=key, check_name=name, passed=result.passed,
                                       severity=dg.AssetCheckSeverity.ERROR, metadata=_json(result.metadata))
                   for name, result in checks.run_checks(spec, unrounded, published, year).items()]
        yield from emit_checked(output, results, what=f"{spec.file_name} table", context=context)

    return _asset


#: ``tables/<stem>`` per published file, in the order of the data guidance.
TABLE_ASSETS: dict[str, dg.AssetsDefinition] = {stem: build_table_asset(spec) for stem, spec in TABLES.items()}

assets = list(TABLE_ASSETS.values())
asset_checks: list = []
