"""The cohort assets, built from the specification (:mod:`cin_outcomes.cohorts.spec`), one partition per year.

* ``cohorts/membership``: every child in each LA's CIN census and SSDA903 returns for the year, with a flag per
  social care group; with every one-year cohort (``cohorts/cin_at_31_march`` ... ``cohorts/cla_at_any_point``)
  it is computed in one step from the year's ingested tables.
* ``cohorts/ever_cin_last_6_years`` and the other Ever-6 cohorts: one step per year reading the membership of
  that year and the five before it (``EVER_6_YEARS``), so a revised year re-runs exactly the six Ever-6 years
  whose window holds it. Years before 2018-19 have windows cut short by the start of the inputs (2013-14); their
  metadata says how many years the window held.

Each output carries a content-hash data version (a re-run that reproduces the same children changes nothing
downstream), a code version from the rules version and the cohort's rule, a blocking pandera check per year
(a year that fails it keeps its last good cohorts: nothing of the step is stored), and metadata of counts
only: children per LA and in England (each child once), and how many lack a UPN.
"""


import hashlib
import warnings
from collections.abc import Iterator, Mapping

import dagster as dg
import polars as pl

from cin_outcomes.checks import emit_checked
from cin_outcomes.cohorts import checks
from cin_outcomes.cohorts.rules import RULES_VERSION, cohort_counts, per_year_membership
from cin_outcomes.cohorts.spec import EVER_6, PER_YEAR, Cohort
from cin_outcomes.geography import las_in_year
from cin_outcomes.ingest.ssda903 import asset_name as ssda903_asset_name
from cin_outcomes.partitions import EVER_6_YEARS, input_years, year_of
from cin_outcomes.years import FIRST_INPUT_YEAR, ReportingYear

# Per-year check results (partitions_def on AssetCheckSpec) are a preview feature and Output(data_version=) is
# beta in dagster 1.13; both are what dagster-notes.md recommends and were verified on the pinned version.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, module=r"cin_outcomes\.cohorts\.assets")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"cin_outcomes\.cohorts\.assets")

GROUP = "cohorts"
CHECK_NAME = "valid_cohort_frame"
MEMBERSHIP_KEY = dg.AssetKey([GROUP, "membership"])

#: The ingested tables the rules read: rules' table name -> ingest asset key.
INGEST_INPUTS: dict[str, dg.AssetKey] = {
    "cin_children": dg.AssetKey(["ingest", "cin_children"]),
    "cin_episodes": dg.AssetKey(["ingest", "cin_episodes"]),
    "child_protection_plans": dg.AssetKey(["ingest", "child_protection_plans"]),
    "Header": dg.AssetKey(["ingest", ssda903_asset_name("Header")]),
    "Episodes": dg.AssetKey(["ingest", ssda903_asset_name("Episodes")]),
}


def cohort_key(cohort: Cohort) -> dg.AssetKey:
    return dg.AssetKey([GROUP, cohort.key])


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def code_version(cohort: Cohort | None = None) -> str:
    """Rules version plus a digest of the cohort's kind and rule: editing one cohort re-runs only that cohort."""
    if cohort is None:
        return f"rules-{RULES_VERSION}"
    return f"rules-{RULES_VERSION}.{_digest(cohort.kind.value, str(cohort.rule))}"


def content_version(df: pl.DataFrame) -> dg.DataVersion:
    """A data version from the frame's content (schema and every row, in order)."""
    h = hashlib.sha256(str(df.schema).encode())
    h.update(df.hash_rows(seed=0).to_numpy().tobytes())
    h.update(df.hash_rows(seed=1).to_numpy().tobytes())
    return dg.DataVersion(h.hexdigest()[:32])


def _years_meta(year: ReportingYear) -> dict:
    return {"reporting_year": year.label, "time_period": year.time_period}


def count_metadata(year: ReportingYear, df: pl.DataFrame) -> dict:
    """Counts only: children in England (each child once) and per LA, and those without a UPN."""
    counts = cohort_counts(df)
    national = counts.filter(pl.col("la_code").is_null()).row(0, named=True)
    names = las_in_year(year).select(la_code="old_la_code", la_name="la_name").unique("la_code")
    per_la = (counts.filter(pl.col("la_code").is_not_null())
              .join(names, on="la_code", how="left").sort("la_code"))
    table = dg.MetadataValue.table(
        records=[dg.TableRecord({"la_code": r["la_code"], "la_name": r["la_name"] or "",
                                 "children": r["children"], "without_upn": r["children_without_upn"]})
                 for r in per_la.iter_rows(named=True)],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("la_code", "string", description="DfE 3-digit LA number"),
            dg.TableColumn("la_name", "string"),
            dg.TableColumn("children", "int", description="children in this LA's returns in the cohort"),
            dg.TableColumn("without_upn", "int", description="of whom without a valid UPN"),
        ]),
    )
    return {
        **_years_meta(year),
        "children_england": national["children"],
        "children_without_upn_england": national["children_without_upn"],
        "child_la_rows": df.height,
        "las": per_la.height,
        "children_by_la": table,
    }


def _outs(cohorts: list[tuple[dg.AssetKey, str, str]]) -> dict[str, dg.AssetOut]:
    """One output per cohort, named after its key (``cohorts__cin_at_31_march``), stored by the IO manager."""
    return {key.to_python_identifier(): dg.AssetOut(
        key=key, description=desc, group_name=GROUP, code_version=cv, kinds={"polars"},
        is_required=False, metadata={"unit": "one row per child per returning LA"})
        for key, desc, cv in cohorts}


def _check_specs(keys: list[dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(CHECK_NAME, asset=k, blocking=True, partitions_def=input_years,
                              description="Columns, types, code lists, UPN check letters, one row per child per "
                                          "LA, and the reporting year (pandera, every failure counted)")
            for k in keys]


# --- one-year cohorts -----------------------------------------------------------------------------------------

_PER_YEAR_KEYS = [MEMBERSHIP_KEY, *(cohort_key(c) for c in PER_YEAR)]
_MEMBERSHIP_DESCRIPTION = (
    "Every child in each LA's CIN census and SSDA903 returns for the reporting year, one row per child per LA, "
    "with whether they were in need, on a child protection plan or looked after, at 31 March and at any point "
    "in the year (hierarchy CLA > CPP > CIN). The input of every cohort."
)


@dg.multi_asset(
    name="cohorts_of_the_year",
    outs=_outs([(MEMBERSHIP_KEY, _MEMBERSHIP_DESCRIPTION, code_version()),
                *((cohort_key(c), f"{c.label}. {c.description}", code_version(c)) for c in PER_YEAR)]),
    check_specs=_check_specs(_PER_YEAR_KEYS),
    ins={name: dg.AssetIn(key=key) for name, key in
         zip(["cin_children", "cin_episodes", "child_protection_plans", "cla_header", "cla_episodes"],
             INGEST_INPUTS.values())},
    partitions_def=input_years,
    can_subset=True,
    description="The year's social care groups, all computed in one pass over the year's returns.",
)
def cohorts_of_the_year(
    context: dg.AssetExecutionContext,
    cin_children: pl.DataFrame,
    cin_episodes: pl.DataFrame,
    child_protection_plans: pl.DataFrame,
    cla_header: pl.DataFrame,
    cla_episodes: pl.DataFrame,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    year = year_of(context)
    membership = per_year_membership(year, {
        "cin_children": cin_children, "cin_episodes": cin_episodes,
        "child_protection_plans": child_protection_plans, "Header": cla_header, "Episodes": cla_episodes,
    })
    frames = {MEMBERSHIP_KEY: membership, **{cohort_key(c): c.select(membership) for c in PER_YEAR}}
    schemas = {MEMBERSHIP_KEY: checks.membership_schema(year)}
    yield from _emit(context, year, frames, schemas)


# --- Ever in the last 6 years ---------------------------------------------------------------------------------

@dg.multi_asset(
    name="ever_in_last_6_years",
    outs=_outs([(cohort_key(c), f"{c.label}. {c.description}", code_version(c)) for c in EVER_6]),
    check_specs=_check_specs([cohort_key(c) for c in EVER_6]),
    ins={"membership": dg.AssetIn(key=MEMBERSHIP_KEY, partition_mapping=EVER_6_YEARS)},
    partitions_def=input_years,
    can_subset=True,
    description="Children in each group at any point in the six reporting years ending with the year.",
)
def ever_in_last_6_years(
    context: dg.AssetExecutionContext, membership: dict[str, pl.DataFrame],
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    year = year_of(context)
    memberships = {ReportingYear.parse(pk): df for pk, df in membership.items()}
    first = max(year - 5, ReportingYear(FIRST_INPUT_YEAR))
    window = {
        "window": f"{first.label} to {year.label}",
        "window_years": len(memberships),
        "window_complete": len(memberships) == 6,
    }
    frames = {cohort_key(c): c.select_ever(memberships, year) for c in EVER_6}
    yield from _emit(context, year, frames, {}, extra=window)


def _emit(context: dg.AssetExecutionContext, year: ReportingYear, frames: Mapping[dg.AssetKey, pl.DataFrame],
          schemas: Mapping[dg.AssetKey, object], extra: Mapping | None = None):
    """Each selected output and its blocking check; if any check fails, nothing is stored and every cohort of
    the step keeps its last good output for the year."""
    selected = context.selected_asset_keys
    selected_checks = context.selected_asset_check_keys
    outputs, results = [], []
    for key, df in frames.items():
        if key not in selected:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            outputs.append(dg.Output(df, output_name=key.to_python_identifier(), data_version=content_version(df),
                                     metadata={**count_metadata(year, df), **(extra or {})}))
        if dg.AssetCheckKey(key, CHECK_NAME) in selected_checks:
            schema = schemas.get(key) or checks.cohort_schema(year)
            results.append(checks.check_result(key, CHECK_NAME, schema, df))
    yield from emit_checked(outputs, results, what="cohorts", context=context)


#: For ``definitions.py``: the cohort assets and their (separately defined) checks. The blocking checks are
#: declared on the assets themselves (``check_specs``), so ``asset_checks`` holds none.
assets: list[dg.AssetsDefinition] = [cohorts_of_the_year, ever_in_last_6_years]
asset_checks: list[dg.AssetChecksDefinition] = []
