"""The ``outcomes`` asset group: one linked outcome dataset per family and published year.

``outcomes/<family>`` (``eyfsp``, ``phonics``, ``ks1``, ``ks2``, ``ks4``, ``absence``, ``exclusions``, ``sen``,
``fsm``, ``school_type``) holds, for a reporting year, the children of every social care group found in the
family's pupil population, one row per child per group per LA, with their breakdowns and outcome columns, and
every pupil of the population as the ``All pupils comparison`` (:mod:`cin_outcomes.outcomes.datasets`). It reads
the year's linkage frame and NPD modules; exclusions read those of the year before (the publication for a
reporting year shows suspensions and permanent exclusions of the previous academic year, for the groups at
31 March of that year, as the real files do: the 2022 release's exclusions end in 2020/21).

Each step records a content data version, a code version from the family's measure definitions, counts-only
metadata (children per group nationally, matches through a former UPN) and two blocking checks per year
(:mod:`cin_outcomes.outcomes.checks`); a year failing one keeps its last good dataset
(:func:`cin_outcomes.checks.emit_checked`). A family not collected in a year (KS2 in 2019/20) stores an empty dataset
and says so.
"""


import hashlib
import warnings
from collections.abc import Iterator

import dagster as dg
import polars as pl

from cin_outcomes.automation import UPSTREAM_DATA_CHANGED
from cin_outcomes.checks import emit_checked
from cin_outcomes.linkage.assets import CHILDREN_KEY, LINKAGE_VERSION, content_version, npd_key, one
from cin_outcomes.outcomes import checks
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import ALL_PUPILS, FAMILIES, Family
from cin_outcomes.outcomes.measures import quantities
from cin_outcomes.partitions import published_years, year_of
from cin_outcomes.synthetic.npd_columns import academic_year_label

warnings.filterwarnings("ignore", category=dg.PreviewWarning, module=r"cin_outcomes\.outcomes\.assets")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"cin_outcomes\.outcomes\.assets")

GROUP = "outcomes"
#: Bump when the dataset builder, aggregation or checks change what any family's dataset holds.
OUTCOMES_VERSION = "1"
CHECK_BOUNDS = "rates_within_bounds"
CHECK_GROUPS = "groups_add_up"


def outcome_key(family: Family) -> dg.AssetKey:
    return dg.AssetKey([GROUP, family.key])


def _output(value, **kwargs) -> dg.Output:
    """An output with a content data version (``Output(data_version=)`` is beta in dagster 1.13; as in
    dagster-notes.md, used on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(value, **kwargs)


def code_version(family: Family) -> str:
    """Outcomes and linkage versions plus a digest of the family's population, groups, lag and measures."""
    parts = [OUTCOMES_VERSION, LINKAGE_VERSION, family.population.key, str(family.lag), *family.groups,
             *family.breakdowns]
    for m in family.measures:
        parts += [m.key, m.kind, str(m.dp)]
    for q in quantities(family.measures).values():
        parts += [q.name, str(q.total), str(q.expr)]
    return f"outcomes-{OUTCOMES_VERSION}.{hashlib.sha256(chr(31).join(parts).encode()).hexdigest()[:12]}"


def _mapping(family: Family) -> dg.TimeWindowPartitionMapping | None:
    if family.lag == 0:
        return None
    return dg.TimeWindowPartitionMapping(start_offset=-family.lag, end_offset=-family.lag)


def dataset_metadata(family: Family, linked: pl.DataFrame) -> dict:
    """Counts only: children per group in England (each once) and in LA rows, and former-UPN matches."""
    rows = linked
    for c in family.pretotalled:
        rows = rows.filter(pl.col(c) == "Total")
    per = (rows.group_by("social_care_group")
           .agg(children_england=pl.col("child_key").n_unique(),
                child_la_rows=pl.len(),
                matched_by_former_upn=(pl.col("matched_by") == "former UPN").sum())
           .sort("social_care_group"))
    table = dg.MetadataValue.table(
        records=[dg.TableRecord({k: (v if v is not None else 0) for k, v in r.items()})
                 for r in per.iter_rows(named=True)],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("social_care_group", "string"),
            dg.TableColumn("children_england", "int", description="children found in the population, each once"),
            dg.TableColumn("child_la_rows", "int", description="one per child per LA that returned them"),
            dg.TableColumn("matched_by_former_upn", "int"),
        ]))
    all_pupils = per.filter(pl.col("social_care_group") == ALL_PUPILS)
    return {"rows": linked.height, "children_by_group": table,
            "all_pupils": int(all_pupils["children_england"][0]) if all_pupils.height else 0}


def build_outcome_asset(family: Family) -> dg.AssetsDefinition:
    key = outcome_key(family)
    mapping = _mapping(family)
    lag_text = ("" if family.lag == 0 else
                f" Outcomes of the academic year {family.lag} year before the reporting year, for the groups of "
                "that year.")

    @dg.asset(
        key=key,
        group_name=GROUP,
        partitions_def=published_years,
        code_version=code_version(family),
        kinds={"polars"},
        automation_condition=UPSTREAM_DATA_CHANGED,
        ins={"children": dg.AssetIn(key=CHILDREN_KEY, partition_mapping=mapping),
             **{f"npd_{m}": dg.AssetIn(key=npd_key(m), partition_mapping=mapping) for m in family.modules}},
        check_specs=[
            dg.AssetCheckSpec(CHECK_BOUNDS, asset=key, blocking=True, partitions_def=published_years,
                              description="Percentages within 0-100, numerators at most their denominators, no "
                                          "negative counts, in every LA and in England."),
            dg.AssetCheckSpec(CHECK_GROUPS, asset=key, blocking=True, partitions_def=published_years,
                              description="CINO + CPPO + CLA = CIN (at 31 March and at any point) and CLA 12 "
                                          "months + less than 12 months = CLA at 31 March in every count of "
                                          "each LA; in England each part at most the whole and England at most "
                                          "the sum of its LAs."),
        ],
        description=(f"{family.label}: linked outcome dataset. {family.description} Measured on: "
                     f"{family.population.description[0].lower()}{family.population.description[1:]} One row "
                     "per child per social care group per LA that returned them, with breakdowns and the pupil "
                     f"data, and every pupil as the All pupils comparison.{lag_text}"),
    )
    def _asset(context: dg.AssetExecutionContext, children, **npd) -> Iterator:
        year = year_of(context)
        academic = family.academic_year(year)
        modules = {m: one(npd[f"npd_{m}"]) for m in family.modules}
        linked = linked_dataset(family, one(children), modules, academic)
        produced = family.available(academic)
        context.log.info(f"{family.key} {year.label} (academic year {academic_year_label(academic)}): "
                         f"{linked.height:,} rows" + ("" if produced else " - not collected that year"))
        output = _output(linked, data_version=content_version(linked), metadata={
            "reporting_year": year.label, "time_period": academic.time_period,
            "academic_year": academic_year_label(academic), "produced": produced,
            **dataset_metadata(family, linked)})
        table = checks.headline(family, linked)
        ok_b, meta_b = checks.rates_within_bounds(family, table)
        ok_g, meta_g = checks.groups_add_up(family, table, linked)
        results = [
            dg.AssetCheckResult(asset_key=key, check_name=CHECK_BOUNDS, passed=ok_b,
                                severity=dg.AssetCheckSeverity.ERROR, metadata=_json(meta_b)),
            dg.AssetCheckResult(asset_key=key, check_name=CHECK_GROUPS, passed=ok_g,
                                severity=dg.AssetCheckSeverity.ERROR, metadata=_json(meta_g)),
        ]
        yield from emit_checked(output, results, what=f"{family.label} linked outcome dataset", context=context)

    return _asset


def _json(meta: dict) -> dict:
    return {k: (dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v) for k, v in meta.items()}


#: ``outcomes/<family>`` per family, in publication order.
OUTCOME_ASSETS: dict[str, dg.AssetsDefinition] = {k: build_outcome_asset(f) for k, f in FAMILIES.items()}

assets = list(OUTCOME_ASSETS.values())
asset_checks: list = []
