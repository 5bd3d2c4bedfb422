"""pandera models of every canonical table, and :func:`validate_table`, which runs one and counts failures per rule.

Each model fixes the columns and polars types of its table (exactly those of :mod:`cin_outcomes.tables`), the
code lists and string formats of the returns (:mod:`cin_outcomes.ingest.rules`), and, as dataframe checks, the DfE
return rules the cohorts rely on. Validation is lazy (every failure is collected), and the result names each
failing row by its LA, landing file and position in the file (``<Child>`` record or CSV line), never by a child's
identifier.
"""

from __future__ import annotations

import pandera.errors
import pandera.polars as pa
import polars as pl

from cin_outcomes import tables
from cin_outcomes.ingest import rules as R
from cin_outcomes.ingest.report import CHILD_RECORD, CSV_LINE, CheckOutcome
from cin_outcomes.ingest.npd import npd_model
from cin_outcomes.ingest.ssda903 import asset_name
from cin_outcomes.years import ReportingYear

Str, Date, Bool = pl.Utf8, pl.Date, pl.Boolean


def opt(**checks) -> object:
    """A column that may be blank in the return."""
    return pa.Field(nullable=True, **checks)


def req(**checks) -> object:
    """A column every row must have."""
    return pa.Field(nullable=False, **checks)


def rule(name: str, check: object) -> classmethod:
    """A DfE return rule as a pandera dataframe check named for the rule: ``check`` is either a function of the
    table's LazyFrame giving one boolean column (row passes), or a boolean expression over the table."""
    if isinstance(check, pl.Expr):
        return pa.dataframe_check(name=name)(lambda cls, data: data.lazyframe.select(check))
    return pa.dataframe_check(name=name, description=check.__doc__)(lambda cls, data: check(data.lazyframe))


class _Return(pa.DataFrameModel):
    """Every table: the reporting year (``2024-25``) and the 3-digit number of the LA that made the return."""

    reporting_year: Str = req(str_matches=R.REPORTING_YEAR)
    la_code: Str = req(str_matches=R.LA_CODE)

    class Config:
        strict = True
        coerce = False


# --- CIN census ------------------------------------------------------------------------------------------------
class CINChildren(_Return):
    """One row per child in a CIN census return: identifiers and characteristics."""

    la_child_id: Str = req()
    upn: Str = opt(str_matches=R.UPN)
    former_upn: Str = opt()
    upn_unknown: Str = opt(isin=R.UPN_UNKNOWN)
    birth_date: Date = opt()
    expected_birth_date: Date = opt()
    sex: Str = req(isin=R.SEX)
    death_date: Date = opt()
    ethnicity: Str = req(isin=R.ETHNICITY)
    disabilities: pl.List(Str) = opt()

    @pa.check("disabilities", name=R.CIN_8540)
    def _disability_codes(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(R.disability_codes(data.key).fill_null(True))

    @pa.check("disabilities", name=R.CIN_8790)
    def _none_alone(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(R.disability_none_alone(data.key).fill_null(True))

    @pa.check("disabilities", name=R.CIN_8794)
    def _no_duplicate_disability(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(R.no_duplicates(data.key).fill_null(True))

    _unique_la_child_id = rule(R.CIN_8510, R.unique_within_return("la_child_id"))
    _unique_upn = rule(R.CIN_1520, R.unique_within_return("upn"))
    _upn_check_letter = rule(R.CIN_1510, R.upn_check_letter_ok("upn").fill_null(True))
    _la_child_id_format = rule(R.CIN_1580, R.la_child_id_format)


class _CINEpisodeKey(_Return):
    la_child_id: Str = req()
    episode_number: pl.Int16 = req(ge=1)


class CINEpisodes(_CINEpisodeKey):
    """One row per episode of need (referral to closure) in a CIN census return."""

    referral_date: Date = opt()
    referral_source: Str = opt(isin=R.REFERRAL_SOURCE)
    primary_need: Str = opt(isin=R.PRIMARY_NEED)
    closure_date: Date = opt()
    closure_reason: Str = opt(isin=R.REASON_FOR_CLOSURE)
    referral_nfa: Bool = req()
    date_of_initial_cpc: Date = opt()

    _no_overlap = rule(R.CIN_8820, R.cin_episodes_do_not_overlap)
    _closure_has_reason = rule(R.CIN_8805, R.closure_date_has_reason)
    _reason_has_closure = rule(R.CIN_8810, R.closure_reason_has_date)
    _referral_in_year = rule(R.CIN_8600, R.referral_by_census_end)
    _closure_in_year = rule(R.CIN_8620, R.closure_in_census_year)


class CINAssessments(_CINEpisodeKey):
    """One row per assessment of an episode, with the factors identified at assessment."""

    start_date: Date = opt()
    internal_review_date: Date = opt()
    authorisation_date: Date = opt()
    factors: pl.List(Str) = opt()

    @pa.check("factors", name=R.CIN_FACTORS)
    def _factor_codes(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(R.factor_codes(data.key).fill_null(True))

    @pa.check("factors", name=R.CIN_8869)
    def _factor_21_alone(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(R.factor_21_alone(data.key).fill_null(True))


class CINPlans(_CINEpisodeKey):
    """One row per CIN plan of an episode."""

    start_date: Date = opt()
    end_date: Date = opt()

    _start_in_year = rule(R.CIN_4010, R.plan_start_by_census_end)
    _end_in_year = rule(R.CIN_4013, R.plan_end_in_census_year)


class Section47(_CINEpisodeKey):
    """One row per section 47 enquiry of an episode, with its initial child protection conference."""

    start_date: Date = opt()
    icpc_target_date: Date = opt()
    icpc_date: Date = opt()
    icpc_not_required: Bool = opt()

    _icpc_in_year = rule(R.CIN_8715, R.icpc_in_census_year)


class ChildProtectionPlans(_CINEpisodeKey):
    """One row per child protection plan of an episode."""

    start_date: Date = opt()
    end_date: Date = opt()
    initial_category: Str = opt(isin=R.CATEGORY_OF_ABUSE)
    latest_category: Str = opt(isin=R.CATEGORY_OF_ABUSE)
    number_of_previous_cpp: pl.Int16 = opt(ge=0)
    review_dates: pl.List(Date) = opt()

    _start_in_year = rule(R.CIN_8720, R.cpp_start_by_census_end)
    _end_in_year = rule(R.CIN_8930, R.cpp_end_in_census_year)


class ChildProtectionPlansWithReferral(ChildProtectionPlans):
    """Child protection plans with the referral date of their episode joined in, for CIN rule 1105."""

    referral_date: Date = opt()

    _after_referral = rule(R.CIN_1105, R.cpp_starts_after_referral)


# --- SSDA903 ---------------------------------------------------------------------------------------------------
class _CLA(_Return):
    child: Str = req()


class CLAHeader(_CLA):
    """One row per child looked after during the year: sex, date of birth, ethnicity, UPN, motherhood."""

    sex: Str = req(isin=R.SEX)
    dob: Date = req()
    ethnic: Str = req(isin=R.ETHNICITY)
    upn: Str = opt(str_matches=R.UPN_903)
    mother: pl.Int8 = opt(isin=[0, 1])
    mc_dob: Date = opt()

    _unique_child = rule(R.LAC_INT32, R.unique_within_return("child"))
    _upn_check_letter = rule(R.LAC_1510, R.upn_check_letter_ok("upn").fill_null(True))


class CLAEpisodes(_CLA):
    """One row per episode of care: a legal status and placement from DECOM to DEC."""

    decom: Date = req()
    rne: Str = req(isin=R.RNE)
    ls: Str = req(isin=R.LEGAL_STATUS)
    cin: Str = req(isin=R.CATEGORY_OF_NEED)
    place: Str = req()
    place_provider: Str = opt(isin=R.PLACE_PROVIDER)
    dec: Date = opt()
    rec: Str = opt(isin=R.REC)
    reason_place_change: Str = opt(isin=R.REASON_PLACE_CHANGE)
    home_post: Str = opt(str_matches=R.POSTCODE)
    pl_post: Str = opt(str_matches=R.POSTCODE)
    urn: Str = opt(str_matches=R.URN)

    _place_codes = rule(R.LAC_146, R.place_in_year_list)
    _no_overlap = rule(R.LAC_501, R.episodes_do_not_overlap)
    _x1 = rule(R.LAC_388, R.x1_continuity)
    _dec_rec = rule(R.LAC_148, R.dec_and_rec_together)
    _decom_in_year = rule(R.LAC_354, R.decom_by_year_end)
    _dec_in_year = rule(R.LAC_385, R.dec_by_year_end)
    _v3_v4 = rule(R.LAC_426, R.not_v3_and_v4)


class CLAUASC(_CLA):
    """One row per unaccompanied asylum-seeking child, with the date they ceased to be UASC."""

    sex: Str = req(isin=R.SEX)
    dob: Date = req()
    duc: Date = opt()

    _unique_child = rule(R.LAC_UASC_UNIQUE, R.unique_within_return("child"))


class CLAReviews(_CLA):
    """One row per review of a looked-after child."""

    dob: Date = req()
    review: Date = opt()
    review_code: Str = opt(isin=R.REVIEW_CODE)


class CLAOC2(_CLA):
    """Outcomes of children looked after continuously for 12 months at 31 March: SDQ, health, offending."""

    dob: Date = req()
    sdq_score: pl.Int16 = opt(in_range={"min_value": 0, "max_value": 40})
    sdq_reason: Str = opt(isin=R.SDQ_REASON)
    convicted: pl.Int8 = opt(isin=[0, 1])
    health_check: pl.Int8 = opt(isin=[0, 1])
    immunisations: pl.Int8 = opt(isin=[0, 1])
    teeth_check: pl.Int8 = opt(isin=[0, 1])
    health_assessment: pl.Int8 = opt(isin=[0, 1])
    substance_misuse: pl.Int8 = opt(isin=[0, 1])
    intervention_received: pl.Int8 = opt(isin=[0, 1])
    intervention_offered: pl.Int8 = opt(isin=[0, 1])


class CLAOC3(_CLA):
    """Care leavers: in touch with the LA, activity and accommodation."""

    dob: Date = req()
    in_touch: Str = opt(isin=R.IN_TOUCH)
    activ: Str = opt(isin=R.ACTIV)
    accom: Str = opt(isin=R.ACCOM)


class CLAAD1(_CLA):
    """Adoptions during the year: dates of decision and match, and the adopters."""

    dob: Date = req()
    date_int: Date = opt()
    date_match: Date = opt()
    foster_care: pl.Int8 = opt(isin=[0, 1])
    nb_adoptr: pl.Int8 = opt(isin=[1, 2])
    sex_adoptr: Str = opt(isin=R.SEX_ADOPTR)
    ls_adoptr: Str = opt(isin=R.LS_ADOPTR)


class CLAPlacedAdoption(_CLA):
    """Decisions that a child should be placed for adoption, and their end."""

    dob: Date = req()
    date_placed: Date = opt()
    date_placed_ceased: Date = opt()
    reason_placed_ceased: Str = opt(isin=R.REASON_PLACED_CEASED)


class CLAPrevPerm(_CLA):
    """Permanence before care: previous adoption, special guardianship or residence order."""

    dob: Date = req()
    prev_perm: Str = opt(isin=R.PREV_PERM)
    la_perm: Str = opt()
    date_perm: Date = opt()


class CLAMissing(_CLA):
    """Episodes of being missing from care or away without authorisation."""

    dob: Date = req()
    missing: Str = opt(isin=R.MISSING)
    mis_start: Date = opt()
    mis_end: Date = opt()


class CLASWEpisodes(_CLA):
    """Social worker episodes of children looked after (from 2023-24)."""

    dob: Date = req()
    sw_id: Str = opt()
    sw_decom: Date = opt()
    sw_dec: Date = opt()
    sw_reason: Str = opt(isin=R.SW_REASON)


#: Ingest table name -> its pandera model.
MODELS: dict[str, type[pa.DataFrameModel]] = {
    "cin_children": CINChildren, "cin_episodes": CINEpisodes, "cin_assessments": CINAssessments,
    "cin_plans": CINPlans, "section47": Section47, "child_protection_plans": ChildProtectionPlans,
    "cla_header": CLAHeader, "cla_episodes": CLAEpisodes, "cla_uasc": CLAUASC, "cla_reviews": CLAReviews,
    "cla_oc2": CLAOC2, "cla_oc3": CLAOC3, "cla_ad1": CLAAD1, "cla_placed_adoption": CLAPlacedAdoption,
    "cla_prev_perm": CLAPrevPerm, "cla_missing": CLAMissing, "cla_sw_episodes": CLASWEpisodes,
}


# --- validation ------------------------------------------------------------------------------------------------
_BUILTIN = (
    ("isin", "code not in the list"), ("str_matches", "format"), ("dtype", "type"),
    ("not_nullable", "missing"), ("greater_than_or_equal_to", "out of range"), ("in_range", "out of range"),
    ("column_in_dataframe", "column missing"), ("column_in_schema", "unexpected column"),
)


def rule_label(table: str, column: str | None, check: str, context: str) -> str:
    """A readable rule name for one pandera check: a named return rule, or ``<DfE code> <column>: <kind>``."""
    if check.startswith(("CIN ", "903 ", "NPD ")):
        return check  # a named return rule (dataframe or list-column check)
    kind = next((label for prefix, label in _BUILTIN if check.startswith(prefix)), check)
    code = R.FIELD_RULES.get((table, column or ""))
    return f"{code + ' ' if code else ''}{column}: {kind}" if column else kind


def _source_file(table: str, year: str, la: str | None) -> str:
    """The standard landing path of an LA's file holding ``table`` (of the national file for NPD modules)."""
    if table.startswith("npd_"):
        return f"{year}/npd/{table.removeprefix('npd_')}.parquet"
    if table.startswith("cla_"):
        name = next(t for t in tables.SSDA903_TABLES if table == asset_name(t))
        return f"{year}/{la}/ssda903/{name}.csv"
    return f"{year}/{la}/cin_census.xml"


def _positions(table: str, df: pl.DataFrame, related: dict[str, pl.DataFrame]) -> tuple[str, pl.DataFrame]:
    """Each row's position in its landing file: (unit, frame of la_code and position in row order)."""
    if table.startswith("npd_"):  # national file: the row of the parquet file
        return "row", df.select(pl.lit(None, dtype=pl.Utf8).alias("la_code"),
                                pl.int_range(1, pl.len() + 1).alias("position"))
    within = pl.int_range(1, pl.len() + 1).over("la_code")
    if table.startswith("cla_"):
        return CSV_LINE, df.select("la_code", (within + 1).alias("position"))  # header is line 1
    if table == "cin_children":
        return CHILD_RECORD, df.select("la_code", within.alias("position"))
    children = related.get("cin_children")
    if children is None:
        return "row", df.select("la_code", within.alias("position"))
    first = (children.select("la_code", "la_child_id", within.alias("position"))
             .unique(["la_code", "la_child_id"], keep="first", maintain_order=True))
    pos = (df.select("la_code", "la_child_id").with_row_index("_i")
           .join(first, on=["la_code", "la_child_id"], how="left").sort("_i"))
    return CHILD_RECORD, pos.select("la_code", "position")


def _with_referral(cpp: pl.DataFrame, episodes: pl.DataFrame) -> pl.DataFrame:
    key = ["reporting_year", "la_code", "la_child_id", "episode_number"]
    ref = episodes.select(*key, "referral_date").unique(key, keep="first", maintain_order=True)
    return (cpp.with_row_index("_i").join(ref, on=key, how="left").sort("_i").drop("_i"))


def validate_table(
    name: str,
    df: pl.DataFrame,
    *,
    related: dict[str, pl.DataFrame] | None = None,
    sources: dict[str, str] | None = None,
    year: ReportingYear | str | None = None,
    sample_size: int = 20,
) -> CheckOutcome:
    """Validate one canonical table with its pandera model (lazily: every failure) and count failures per rule.

    ``related`` supplies other tables of the same returns: ``cin_episodes`` is required for
    ``child_protection_plans`` (rule 1105 compares the plan with its referral); ``cin_children`` lets failures
    in the other CIN tables be located by ``<Child>`` record. ``sources`` maps LA -> landing file of this table
    (default: the standard landing path). NPD modules (``npd_<module>``) are checked against their module's
    schema, and given ``year``, against its academic year. The sample lists up to ``sample_size`` failures per rule as
    ``{"rule", "la_code", "file", "unit", "row"}``; no child identifier or value is ever included.
    """
    related = related or {}
    data = df
    if name.startswith("npd_"):
        model = npd_model(name.removeprefix("npd_"), year)
    else:
        model = MODELS[name]
    if name == "child_protection_plans":
        if "cin_episodes" not in related:
            raise ValueError("validating child_protection_plans needs related['cin_episodes'] for CIN rule 1105")
        data = _with_referral(df, related["cin_episodes"])
        model = ChildProtectionPlansWithReferral
    try:
        model.validate(data, lazy=True)
        return CheckOutcome(table=name, passed=True, rows=df.height)
    except pandera.errors.SchemaErrors as e:
        fc = e.failure_cases
    # Missing or unexpected columns: pandera puts the column's name (never a value) in failure_case.
    whole = {"column_in_dataframe", "column_in_schema"}
    columns = [case if chk in whole else col for col, chk, case in
               zip(fc["column"].to_list(), fc["check"].to_list(), fc["failure_case"].to_list())]
    labels = [rule_label(name, col, chk, ctx) for col, chk, ctx in
              zip(columns, fc["check"].to_list(), fc["schema_context"].to_list())]
    failures = pl.DataFrame({"rule": labels, "index": fc["index"]}, schema={"rule": pl.Utf8, "index": pl.Int64})
    unit, pos = _positions(name, df, related)
    pos = pos.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    located = failures.join(pos, on="index", how="left")
    counts = located.group_by("rule").len().sort("rule")
    if year is not None:
        year_label = ReportingYear.parse(year).label
    else:
        year_label = df["reporting_year"][0] if df.height and "reporting_year" in df.columns else ""
    sample = []
    for rule, group in located.sort(["rule", "la_code", "position"], nulls_last=True).group_by("rule",
                                                                                            maintain_order=True):
        for la, position in group.head(sample_size).select("la_code", "position").iter_rows():
            file = (sources or {}).get(la or "")
            if not file and position is not None:
                file = _source_file(name, year_label, la)
            sample.append({"rule": rule[0] if isinstance(rule, tuple) else rule, "la_code": la, "file": file,
                           "unit": unit if position is not None else None,
                           "row": int(position) if position is not None else None})
    return CheckOutcome(table=name, passed=False, rows=df.height,
                        counts=dict(zip(counts["rule"].to_list(), counts["len"].to_list())), sample=sample)
