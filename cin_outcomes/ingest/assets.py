"""The ``ingest`` layer: each reporting year's landing files read into typed national tables, with blocking checks.

Per reporting year (partition), three kinds of step:

* ``ingest_cin_census`` reads every LA's CIN census return into six tables (children, episodes of need,
  assessments, CIN plans, section 47 enquiries, child protection plans);
* ``ingest_ssda903`` reads every LA's SSDA903 return into the children looked after tables (``cla_header``,
  ``cla_episodes``, ``cla_uasc`` ...);
* one step per NPD module (``npd_school_census``, ``npd_ks2`` ...).

Each table carries a data version computed from its content, so a resubmission that changes nothing changes no
version and nothing downstream re-runs. Each has two blocking checks per year: ``landing_files_read`` (every file
of the source could be read, none was left out, every value could be read as its type) and ``valid_table`` (the
pandera model: types, code lists, formats and the DfE return rules the cohorts rely on). A year that fails is held
back from the cohorts until the returns are fixed, and keeps its last good tables: nothing of a return that fails
is stored (:func:`cin_outcomes.checks.emit_checked`). Metadata holds counts only: rows per LA, problems per file and
rule, failures per rule with the file and row where they are; never a child's identifier or value.
"""


import hashlib
import warnings
from collections.abc import Iterator

import dagster as dg
import polars as pl

from cin_outcomes.checks import emit_checked
from cin_outcomes.geography import las_in_year
from cin_outcomes.ingest.npd import npd_path, read_npd_module, table_name
from cin_outcomes.ingest.report import CheckOutcome, IngestError, Problem, problem_summary
from cin_outcomes.ingest.returns import CIN_CENSUS, CIN_SCHEMAS, CLA_SCHEMAS, SSDA903, IngestResult, parse_year
from cin_outcomes.ingest.schemas import validate_table
from cin_outcomes.landing.assets import LANDING_ASSETS
from cin_outcomes.partitions import input_years, year_of
from cin_outcomes.resources import LandingRoot
from cin_outcomes.synthetic.npd_columns import LA_COLUMN, MODULES, academic_year_label, module_available
from cin_outcomes.years import ReportingYear

# Per-year check results (partitions_def on AssetCheckSpec) are a preview feature and Output(data_version=) is
# beta in dagster 1.13; both are what dagster-notes.md recommends and were verified on the pinned version.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, module=r"cin_outcomes\.ingest\.assets")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"cin_outcomes\.ingest\.assets")

GROUP = "ingest"
#: Bump when parsing or validation changes what the tables hold.
INGEST_VERSION = "1"
CHECK_READ = "landing_files_read"
CHECK_VALID = "valid_table"
SAMPLE_ROWS = 50  # failure locations shown per check

_CIN = ("Read from each local authority's children in need census return (1 April to 31 March). ")
_CLA = ("Read from each local authority's SSDA903 return on children looked after (1 April to 31 March). ")

DESCRIPTIONS: dict[str, str] = {
    "cin_children": _CIN + "One row per child in need in the LA's census year: LA child identifier, UPN (or the "
                    "reason it is unknown), date of birth or expected date of birth, sex, ethnicity and "
                    "disabilities. A child known to several LAs appears once in each LA's return.",
    "cin_episodes": _CIN + "One row per episode of need, from the referral to its closure: referral date and "
                    "source, primary need, closure date and reason, and whether the referral needed no further "
                    "action (NFA). Episodes open on 31 March have no closure date.",
    "cin_assessments": _CIN + "One row per assessment of an episode of need: start, review and authorisation "
                       "dates and the factors identified at assessment.",
    "cin_plans": _CIN + "One row per child in need plan within an episode, with its start and end dates.",
    "section47": _CIN + "One row per section 47 enquiry within an episode, with the target and actual dates of "
                 "the initial child protection conference.",
    "child_protection_plans": _CIN + "One row per child protection plan within an episode: start and end dates, "
                              "initial and latest category of abuse, previous plans and review dates.",
    "cla_header": _CLA + "One row per child looked after at any time in the year: sex, date of birth, ethnicity, "
                  "UPN (or the reason it is unknown), and whether the child is a mother.",
    "cla_episodes": _CLA + "One row per episode of care: start date and reason, legal status, category of need, "
                    "placement type and provider, end date and reason. Episodes chained by reason X1 form one "
                    "period of care; V3/V4 legal statuses are short breaks (respite).",
    "cla_uasc": _CLA + "One row per child who was an unaccompanied asylum-seeking child, with the date they "
                "ceased to be one.",
    "cla_reviews": _CLA + "One row per review of a looked-after child's case, with how the child took part.",
    "cla_oc2": _CLA + "One row per child looked after continuously for at least 12 months at 31 March: "
               "strengths and difficulties score, health checks, immunisations, dental checks, convictions and "
               "substance misuse.",
    "cla_oc3": _CLA + "One row per care leaver aged 17 to 21: whether the LA is in touch, their activity and "
               "accommodation.",
    "cla_ad1": _CLA + "One row per child adopted in the year: dates of the decision and the match, and the "
               "adopters.",
    "cla_placed_adoption": _CLA + "One row per decision that a child should be placed for adoption, and its end.",
    "cla_prev_perm": _CLA + "One row per child starting care in the year: any permanence arrangement before care.",
    "cla_missing": _CLA + "One row per episode of being missing from care or away without authorisation.",
    "cla_sw_episodes": _CLA + "One row per social worker episode of a looked-after child (collected from 2023-24).",
}

NPD_DESCRIPTIONS: dict[str, str] = {
    "school_census": "Spring school census of the academic year ending in the reporting year: every pupil on roll "
                     "in a state-funded school, with school, year group, SEN provision and primary need, free "
                     "school meals eligibility and ethnicity.",
    "eyfsp": "Early years foundation stage profile at the end of reception: early learning goals and good level "
             "of development.",
    "phonics": "Phonics screening check in year 1 (and year 2 retakes): mark and outcome.",
    "ks1": "Key stage 1 teacher assessment at the end of year 2 (statutory to 2022/23).",
    "ks2": "Key stage 2 at the end of year 6: reading, maths and grammar, punctuation and spelling tests; writing "
           "and science teacher assessment; expected and higher standards and progress.",
    "ks4": "Key stage 4 at the end of year 11: Attainment 8, English and maths grades, EBacc entry and "
           "achievement, and Progress 8.",
    "absence": "Pupil absence over the six half terms: sessions possible and authorised, unauthorised and "
               "overall absence, one row per pupil enrolment.",
    "exclusions": "Suspensions and permanent exclusions: one row per exclusion, with reason and length.",
    "ap_census": "Alternative provision census: children in LA-arranged alternative provision outside "
                 "state-funded schools on census day.",
}


# --- shared helpers --------------------------------------------------------------------------------------------
def content_version(df: pl.DataFrame) -> dg.DataVersion:
    """A data version from the table's content: its schema and every row, in order (stable row hashes)."""
    h = hashlib.sha256(str(df.schema).encode())
    h.update(str(df.height).encode())
    if df.height:
        h.update(df.hash_rows(seed=0).to_numpy().tobytes())
        h.update(df.hash_rows(seed=1).to_numpy().tobytes())
    return dg.DataVersion(h.hexdigest()[:32])


def versioned_output(df: pl.DataFrame, **kwargs) -> dg.Output:
    """The table as an output with its content data version."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(df, data_version=content_version(df), **kwargs)


def _year_meta(year: ReportingYear) -> dict:
    return {"reporting_year": year.label, "time_period": year.time_period}


def rows_by_la_table(df: pl.DataFrame, year: ReportingYear, la_column: str = "la_code") -> dg.MetadataValue:
    """Rows per LA, with the LA's name: the coverage a statistician checks first."""
    names = dict(las_in_year(year).select("old_la_code", "la_name").unique("old_la_code").iter_rows())
    counts = df.group_by(la_column).len().sort(la_column) if df.height else pl.DataFrame(
        {la_column: [], "len": []}, schema={la_column: pl.Utf8, "len": pl.UInt32})
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"la_code": la or "", "la_name": names.get(la, "") or "", "rows": int(n)})
                 for la, n in counts.iter_rows()],
        schema=dg.TableSchema(columns=[dg.TableColumn("la_code", "string"), dg.TableColumn("la_name", "string"),
                                       dg.TableColumn("rows", "int")]),
    )


def _problems_md(problems: list[Problem]) -> dg.MetadataValue:
    rows = problem_summary(problems)
    lines = ["| file | LA | rule | records | file left out |", "|---|---|---|---|---|"]
    lines += [f"| {r['file']} | {r['la_code']} | {r['rule']} | {r['count']} | {'yes' if r['file_left_out'] else ''} |"
              for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _problem_messages(problems: list[Problem]) -> dg.MetadataValue:
    # Problem messages name files, positions, fields and rules only (never a value), so they can be shown.
    return dg.MetadataValue.json([str(p) for p in problems[:200]])


def read_check(asset_key: dg.AssetKey, problems: list[Problem], what: str) -> dg.AssetCheckResult:
    """``landing_files_read``: every file could be used and every value read as its type."""
    left_out = sorted({p.file for p in problems if p.fatal})
    unreadable = sum(p.count for p in problems if not p.fatal)
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=CHECK_READ, passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"Every {what} file was read and every value could be read as its type." if not problems
                     else f"{len(left_out)} file(s) left out and {unreadable} value(s) unreadable in the {what} "
                          "files; see the problems listed."),
        metadata={"files_left_out": len(left_out), "values_unreadable": unreadable,
                  "problems": _problems_md(problems), "problem_messages": _problem_messages(problems)},
    )


def valid_check(asset_key: dg.AssetKey, outcome: CheckOutcome) -> dg.AssetCheckResult:
    """``valid_table``: the pandera model with the DfE return rules, failures counted per rule and located."""
    sample = outcome.sample[:SAMPLE_ROWS]
    lines = ["| rule | LA | file | where |", "|---|---|---|---|"]
    lines += [f"| {s['rule']} | {s['la_code'] or ''} | {s['file'] or ''} | "
              f"{(s['unit'] + ' ' + str(s['row'])) if s['row'] is not None else ''} |" for s in sample]
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=CHECK_VALID, passed=outcome.passed, severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.summary(),
        metadata={"rows": outcome.rows, "failures": outcome.failures,
                  "failures_by_rule": dg.MetadataValue.json(dict(sorted(outcome.counts.items()))),
                  "where": dg.MetadataValue.md("\n".join(lines) if sample else "no failures")},
    )


def _check_specs(keys: list[dg.AssetKey], what: str) -> list[dg.AssetCheckSpec]:
    out = []
    for key in keys:
        out.append(dg.AssetCheckSpec(
            CHECK_READ, asset=key, blocking=True, partitions_def=input_years,
            description=f"Every {what} file delivered for the year could be read, none was left out, and every "
                        "value could be read as its type (dates, codes, numbers)."))
        out.append(dg.AssetCheckSpec(
            CHECK_VALID, asset=key, blocking=True, partitions_def=input_years,
            description="Types, code lists and formats of the return, and the DfE validation rules the cohorts "
                        "rely on; failures are counted per rule and located by LA, file and row."))
    return out


def _return_metadata(result: IngestResult, name: str, source: str) -> dict:
    df = result.tables[name]
    problems = [p for p in result.problems_for(source) if p.table in (None, name)]
    missing = result.missing_returns.get(source, [])
    return {
        **_year_meta(result.year),
        "rows": df.height,
        "las_with_rows": df["la_code"].n_unique() if df.height else 0,
        "rows_by_la": rows_by_la_table(df, result.year),
        "files_left_out": len({p.file for p in problems if p.fatal}),
        "problems": _problems_md(problems),
        "las_without_a_return": dg.MetadataValue.json(missing),
    }


def _emit_return(context: dg.AssetExecutionContext, landing: LandingRoot, source: str,
                 names: list[str]) -> Iterator:
    year = year_of(context)
    result = parse_year(landing.root, year, sources=(source,))
    context.log.info(
        f"{source} {year.label}: {sum(result.tables[n].height for n in names):,} rows from "
        f"{len({la for n in names for la in result.sources.get(n, {})})} LAs; {len(result.problems)} problem(s)")
    related = result.tables
    outcomes = {}
    for name in names:
        outcomes[name] = validate_table(name, result.tables[name], related=related,
                                        sources=result.sources.get(name, {}))
    outputs = [versioned_output(result.tables[name], output_name=name,
                                metadata=_return_metadata(result, name, source)) for name in names]
    what = "CIN census" if source == CIN_CENSUS else "SSDA903"
    checks = []
    for name in names:
        key = dg.AssetKey([GROUP, name])
        problems = [p for p in result.problems_for(source) if p.table in (None, name)]
        checks += [read_check(key, problems, what), valid_check(key, outcomes[name])]
    # A year failing a blocking check keeps its last good tables: nothing of this return is stored.
    yield from emit_checked(outputs, checks, what=f"{what} tables", context=context)


def _outs(names: list[str]) -> dict[str, dg.AssetOut]:
    return {n: dg.AssetOut(key=[GROUP, n], description=DESCRIPTIONS[n], group_name=GROUP,
                           code_version=INGEST_VERSION, kinds={"polars"}) for n in names}


CIN_NAMES = list(CIN_SCHEMAS)
CLA_NAMES = list(CLA_SCHEMAS)


@dg.multi_asset(
    name="ingest_cin_census",
    outs=_outs(CIN_NAMES),
    deps=[LANDING_ASSETS[CIN_CENSUS]],
    partitions_def=input_years,
    check_specs=_check_specs([dg.AssetKey([GROUP, n]) for n in CIN_NAMES], "CIN census"),
    description="Reads every LA's CIN census return for the reporting year into the six CIN tables.",
)
def ingest_cin_census(context: dg.AssetExecutionContext, landing: LandingRoot) -> Iterator:
    yield from _emit_return(context, landing, CIN_CENSUS, CIN_NAMES)


@dg.multi_asset(
    name="ingest_ssda903",
    outs=_outs(CLA_NAMES),
    deps=[LANDING_ASSETS[SSDA903]],
    partitions_def=input_years,
    check_specs=_check_specs([dg.AssetKey([GROUP, n]) for n in CLA_NAMES], "SSDA903"),
    description="Reads every LA's SSDA903 return for the reporting year into the children looked after tables.",
)
def ingest_ssda903(context: dg.AssetExecutionContext, landing: LandingRoot) -> Iterator:
    yield from _emit_return(context, landing, SSDA903, CLA_NAMES)


# --- NPD -------------------------------------------------------------------------------------------------------
def _empty_module(module: str) -> pl.DataFrame:
    return pl.DataFrame(schema=MODULES[module])


def read_year_module(landing_root, year: ReportingYear, module: str) -> tuple[pl.DataFrame, list[Problem], str]:
    """One NPD module for one year: (frame, problems, note). A module not collected that year is empty."""
    path = npd_path(landing_root, year, module)
    shown = path.relative_to(landing_root).as_posix()
    if not path.is_file():
        if module_available(module, year):
            return _empty_module(module), [Problem(
                file=shown, la_code="", rule="NPD delivery", fatal=True, table=table_name(module),
                message=f"the {module} module for {academic_year_label(year)} was not delivered")], "missing"
        return _empty_module(module), [], f"not collected in academic year {academic_year_label(year)}"
    try:
        return read_npd_module(path, module, display_name=shown), [], "read"
    except IngestError as e:
        return _empty_module(module), [e.problem], "left out"


def _npd_asset(module: str) -> dg.AssetsDefinition:
    name = table_name(module)
    key = dg.AssetKey([GROUP, name])

    @dg.asset(
        key=key,
        deps=[LANDING_ASSETS["npd"]],
        partitions_def=input_years,
        group_name=GROUP,
        code_version=INGEST_VERSION,
        kinds={"polars"},
        description=f"National Pupil Database, academic year ending in the reporting year. {NPD_DESCRIPTIONS[module]}",
        check_specs=[
            dg.AssetCheckSpec(CHECK_READ, asset=key, blocking=True, partitions_def=input_years,
                              description="The module was delivered (when collected that year), could be read, and "
                                          "has exactly the NPD columns and types."),
            dg.AssetCheckSpec(CHECK_VALID, asset=key, blocking=True, partitions_def=input_years,
                              description="Code lists, formats, UPN check letters and the academic year of every "
                                          "row; failures counted per rule and located by row."),
        ],
    )
    def _asset(context: dg.AssetExecutionContext, landing: LandingRoot) -> Iterator:
        year = year_of(context)
        df, problems, note = read_year_module(landing.root, year, module)
        outcome = validate_table(name, df, year=year)
        output = versioned_output(df, metadata={
            **_year_meta(year), "academic_year": academic_year_label(year), "delivery": note, "rows": df.height,
            "rows_by_school_la": rows_by_la_table(df, year, LA_COLUMN[module]),
        })
        checks = [read_check(key, problems, f"NPD {module}"), valid_check(key, outcome)]
        yield from emit_checked(output, checks, what=f"NPD {module} module", context=context)

    return _asset


npd_assets = [_npd_asset(m) for m in MODULES]

#: What :mod:`cin_outcomes.definitions` loads.
assets = [ingest_cin_census, ingest_ssda903, *npd_assets]
asset_checks: list = []  # every check is declared on (and emitted by) its asset
