"""The ``linkage`` asset group: each year's social care children ready to be matched, and the match rates.

* ``linkage/cohort_children`` (every input year): the children of every social care group of the year, one row
  per group per child in an LA, with their candidate UPNs (from the year's and the five previous years' returns)
  and, for children looked after at 31 March, placement and length of the period of care. Read by every outcome
  asset (exclusions read the previous year's).
* ``linkage/match_rates`` (every published year): for each group, nationally and per LA, children in the group,
  with a valid UPN, and found in each pupil population (spring school census, AP census, EYFSP, phonics, KS1,
  KS2, KS4, absence): how many children the outcomes leave out for want of a UPN or a match.

Metadata holds counts only; no child identifier or value.
"""


import hashlib
import warnings
from collections.abc import Iterator, Mapping

import dagster as dg
import pandera.errors
import pandera.polars as pa
import polars as pl

from cin_outcomes.automation import UPSTREAM_DATA_CHANGED
from cin_outcomes.checks import emit_checked
from cin_outcomes.cohorts.assets import INGEST_INPUTS, cohort_key
from cin_outcomes.cohorts.rules import RULES_VERSION, valid_upn
from cin_outcomes.cohorts.spec import COHORTS, Cohort
from cin_outcomes.disclosure.rounding import half_up_expr
from cin_outcomes.ingest.npd import table_name
from cin_outcomes.linkage.care import CLA_AT_31_MARCH_GROUPS, PLACEMENT_ITEMS, POC_ITEMS
from cin_outcomes.linkage.children import SCHEMA, cohort_children
from cin_outcomes.linkage.match import has_candidate, match_rates
from cin_outcomes.linkage.populations import POPULATIONS
from cin_outcomes.partitions import EVER_6_YEARS, input_years, published_years, year_of
from cin_outcomes.years import ReportingYear

warnings.filterwarnings("ignore", category=dg.PreviewWarning, module=r"cin_outcomes\.linkage\.assets")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"cin_outcomes\.linkage\.assets")

GROUP = "linkage"
#: Bump when matching, candidate UPNs or the care breakdowns change what the linkage frame holds.
LINKAGE_VERSION = "1"
CHILDREN_KEY = dg.AssetKey([GROUP, "cohort_children"])
MATCH_RATES_KEY = dg.AssetKey([GROUP, "match_rates"])
CHECK_CHILDREN = "valid_linkage_frame"
CHECK_RATES = "match_rates_consistent"

#: Pupil populations in the match-rate table (exclusions use the census population of their year).
MATCH_POPULATIONS = ("census", "census_and_ap", "eyfsp", "phonics", "ks1", "ks2", "ks4", "absence")
NPD_MODULES = tuple(sorted({m for p in MATCH_POPULATIONS for m in POPULATIONS[p].modules}))


def npd_key(module: str) -> dg.AssetKey:
    return dg.AssetKey(["ingest", table_name(module)])


def _output(value, **kwargs) -> dg.Output:
    """An output with a content data version (``Output(data_version=)`` is beta in dagster 1.13; as in
    dagster-notes.md, used on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(value, **kwargs)


def code_version(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join([LINKAGE_VERSION, RULES_VERSION, *parts]).encode()).hexdigest()[:12]
    return f"linkage-{LINKAGE_VERSION}.{digest}"


def content_version(df: pl.DataFrame) -> dg.DataVersion:
    h = hashlib.sha256(str(df.schema).encode())
    h.update(str(df.height).encode())
    if df.height:
        h.update(df.hash_rows(seed=0).to_numpy().tobytes())
        h.update(df.hash_rows(seed=1).to_numpy().tobytes())
    return dg.DataVersion(h.hexdigest()[:32])


def frames(value: pl.DataFrame | Mapping[str, pl.DataFrame] | None) -> list[pl.DataFrame]:
    """A mapped input (dict by partition key) or a single frame, as a list of frames in year order."""
    if value is None:
        return []
    if isinstance(value, pl.DataFrame):
        return [value]
    return [value[k] for k in sorted(value)]


def one(value: pl.DataFrame | Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The single frame of an input read for one year (directly or through a one-year mapping)."""
    got = frames(value)
    if len(got) != 1:
        raise ValueError(f"expected one year of input, got {len(got)}")
    return got[0]


# --- the linkage frame ---------------------------------------------------------------------------------------

def _cohort_input(c: Cohort) -> str:
    return f"cohort_{c.key}"


def linkage_schema(year: ReportingYear | str) -> pa.DataFrameSchema:
    """The linkage frame of ``year``: types, one row per group per child in an LA, valid candidate UPNs, and
    placement / period of care only for the groups looked after at 31 March, from their item lists."""
    year = ReportingYear.parse(year)
    labels = [c.label for c in COHORTS]

    def candidates_valid(data) -> pl.LazyFrame:
        c = pl.col("candidates")
        return data.lazyframe.select(
            c.list.eval(valid_upn(pl.element().struct.field("upn")).is_not_null()).list.all().fill_null(True))

    def care_only_at31(data) -> pl.LazyFrame:
        at31 = pl.col("social_care_group").is_in(list(CLA_AT_31_MARCH_GROUPS))
        return data.lazyframe.select(at31 | (pl.col("placement").is_null()
                                             & pl.col("period_of_care_length").is_null()))

    cols = {c: pa.Column(t, nullable=c not in ("reporting_year", "social_care_group", "la_code", "la_child_id",
                                               "child_key", "candidates"))
            for c, t in SCHEMA.items()}
    cols["reporting_year"] = pa.Column(pl.Utf8, pa.Check.isin([year.label]), nullable=False)
    cols["social_care_group"] = pa.Column(pl.Utf8, pa.Check.isin(labels), nullable=False)
    cols["la_code"] = pa.Column(pl.Utf8, pa.Check.str_matches(r"^\d{3}$"), nullable=False)
    cols["placement"] = pa.Column(pl.Utf8, pa.Check.isin(list(PLACEMENT_ITEMS)), nullable=True)
    cols["period_of_care_length"] = pa.Column(pl.Utf8, pa.Check.isin(list(POC_ITEMS)), nullable=True)
    return pa.DataFrameSchema(
        cols, strict=True, ordered=True, unique=["social_care_group", "la_code", "la_child_id"],
        checks=[pa.Check(candidates_valid, name="candidate UPNs have valid check letters"),
                pa.Check(care_only_at31, name="placement and period of care only for CLA at 31 March")],
        name=f"linkage frame {year.label}")


def validate(schema: pa.DataFrameSchema, df: pl.DataFrame) -> tuple[bool, dict]:
    """Validate lazily; failures counted per column and rule with the first row numbers, never values."""
    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as e:
        fc = e.failure_cases
        summary = (fc.with_columns(column=pl.col("column").fill_null("(rows)"))
                   .group_by("column", "check")
                   .agg(failures=pl.len(), first_rows=pl.col("index").drop_nulls().sort().head(5))
                   .sort("column", "check"))
        return False, {"rows": df.height, "failures": int(summary["failures"].sum()),
                       "failures_by_rule": dg.MetadataValue.json(summary.to_dicts())}
    return True, {"rows": df.height, "failures": 0}


def group_counts(children: pl.DataFrame) -> pl.DataFrame:
    """Per group: child-LA rows, children in England (each once), and rows with a UPN to match on."""
    return (children.group_by("social_care_group")
            .agg(rows=pl.len(), children_england=pl.col("child_key").n_unique(),
                 rows_with_upn=has_candidate().sum(),
                 rows_with_placement=pl.col("placement").is_not_null().sum())
            .sort("social_care_group"))


def _table(df: pl.DataFrame) -> dg.MetadataValue:
    types = {pl.Utf8: "string", pl.Float64: "float"}
    return dg.MetadataValue.table(
        records=[dg.TableRecord(r) for r in df.iter_rows(named=True)],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, types.get(df.schema[c], "int")) for c in df.columns]))


@dg.asset(
    key=CHILDREN_KEY,
    group_name=GROUP,
    partitions_def=input_years,
    code_version=code_version("cohort_children"),
    kinds={"polars"},
    automation_condition=UPSTREAM_DATA_CHANGED,
    ins={
        **{_cohort_input(c): dg.AssetIn(key=cohort_key(c)) for c in COHORTS},
        "cin_children": dg.AssetIn(key=INGEST_INPUTS["cin_children"], partition_mapping=EVER_6_YEARS),
        "cla_header": dg.AssetIn(key=INGEST_INPUTS["Header"], partition_mapping=EVER_6_YEARS),
        "cla_episodes": dg.AssetIn(key=INGEST_INPUTS["Episodes"], partition_mapping=EVER_6_YEARS),
    },
    check_specs=[dg.AssetCheckSpec(
        CHECK_CHILDREN, asset=CHILDREN_KEY, blocking=True, partitions_def=input_years,
        description="Types, one row per group per child in an LA, candidate UPNs with valid check letters, and "
                    "placement and period of care only for the groups looked after at 31 March.")],
    description=(
        "The children of every social care group of the reporting year, one row per group per child in a "
        "returning LA, ready to be matched to the pupil data: the UPNs to try (the cohort's, then UPNs and former "
        "UPNs the LA recorded for the child in the year and the five before), and for children looked after at "
        "31 March the placement and length of the period of care on that day."),
)
def linkage_cohort_children(context: dg.AssetExecutionContext, **inputs) -> Iterator:
    year = year_of(context)
    cohorts = {c.key: one(inputs[_cohort_input(c)]) for c in COHORTS}
    df = cohort_children(cohorts, year, cin_children=frames(inputs["cin_children"]),
                         cla_header=frames(inputs["cla_header"]), cla_episodes=frames(inputs["cla_episodes"]))
    counts = group_counts(df)
    window = len(frames(inputs["cla_episodes"]))
    context.log.info(f"linkage frame {year.label}: {df.height:,} child-group rows from {len(cohorts)} groups")
    output = _output(df, data_version=content_version(df), metadata={
        "reporting_year": year.label, "time_period": year.time_period, "rows": df.height,
        "years_of_returns_read": window, "children_by_group": _table(counts)})
    passed, meta = validate(linkage_schema(year), df)
    check = dg.AssetCheckResult(asset_key=CHILDREN_KEY, check_name=CHECK_CHILDREN, passed=passed,
                                severity=dg.AssetCheckSeverity.ERROR, metadata=meta)
    yield from emit_checked(output, check, what="linkage frame", context=context)


# --- match rates ---------------------------------------------------------------------------------------------

def check_match_rates(rates: pl.DataFrame) -> tuple[bool, dict]:
    """Matched <= with a UPN <= children everywhere; England at most the sum of its LAs."""
    problems = []
    for name, cond in (("matched above children with a UPN", pl.col("t_matched") > pl.col("t_children_with_upn")),
                       ("children with a UPN above children", pl.col("t_children_with_upn") > pl.col("t_children"))):
        bad = rates.filter(cond)
        if bad.height:
            problems.append({"rule": name, "rows": bad.height})
    key = ["social_care_group", "pupil_population"]
    nat = rates.filter(pl.col("geographic_level") == "National").select(*key, "t_children", "t_matched")
    las = (rates.filter(pl.col("geographic_level") == "Local authority").group_by(key)
           .agg(pl.col("t_children").sum().alias("la_children"), pl.col("t_matched").sum().alias("la_matched")))
    both = nat.join(las, on=key, how="left").fill_null(0)
    bad = both.filter((pl.col("t_children") > pl.col("la_children")) | (pl.col("t_matched") > pl.col("la_matched")))
    if bad.height:
        problems.append({"rule": "England above the sum of its LAs", "rows": bad.height,
                         "groups": bad["social_care_group"].unique().sort().to_list()})
    return not problems, {"rows": rates.height, "failures": len(problems), "failures_by_rule": problems}


@dg.asset(
    key=MATCH_RATES_KEY,
    group_name=GROUP,
    partitions_def=published_years,
    code_version=code_version("match_rates", *MATCH_POPULATIONS),
    kinds={"polars"},
    automation_condition=UPSTREAM_DATA_CHANGED,
    ins={"children": dg.AssetIn(key=CHILDREN_KEY),
         **{f"npd_{m}": dg.AssetIn(key=npd_key(m)) for m in NPD_MODULES}},
    check_specs=[dg.AssetCheckSpec(
        CHECK_RATES, asset=MATCH_RATES_KEY, blocking=True, partitions_def=published_years,
        description="Matched children at most those with a UPN, at most the group; England at most the sum of "
                    "its LAs.")],
    description=(
        "Match rates of the reporting year: for every social care group, nationally and per LA, the children in "
        "the group, those with a valid UPN, and those found in each pupil population (spring school census, "
        "with the AP census, EYFSP, phonics, KS1, KS2, KS4, absence), with percentages beside their "
        "denominators. Per LA a child counts in each LA that returned them; nationally once."),
)
def linkage_match_rates(context: dg.AssetExecutionContext, children: pl.DataFrame, **npd) -> Iterator:
    year = year_of(context)
    modules = {m: one(npd[f"npd_{m}"]) for m in NPD_MODULES}
    pops = {p: POPULATIONS[p](modules).get_column("upn") for p in MATCH_POPULATIONS}
    rates = match_rates(one(children), pops)
    headline = (rates.filter((pl.col("geographic_level") == "National") & (pl.col("pupil_population") == "census"))
                .select("social_care_group", "t_children", "t_children_with_upn", "t_matched",
                        half_up_expr("pt_matched", 1).alias("pt_matched")))
    output = _output(rates, data_version=content_version(rates), metadata={
        "reporting_year": year.label, "time_period": year.time_period, "rows": rates.height,
        "school_census_match_england": _table(headline)})
    passed, meta = check_match_rates(rates)
    check = dg.AssetCheckResult(asset_key=MATCH_RATES_KEY, check_name=CHECK_RATES, passed=passed,
                                severity=dg.AssetCheckSeverity.ERROR, metadata=_json(meta))
    yield from emit_checked(output, check, what="match rates", context=context)


def _json(meta: dict) -> dict:
    return {k: (dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v) for k, v in meta.items()}


assets = [linkage_cohort_children, linkage_match_rates]
asset_checks: list = []
