"""Who is in each social care group in a reporting year: the cohort rules of domain.md §2.3 as polars.

Every rule works on the canonical child-level tables (:mod:`cin_outcomes.tables`) of one reporting year,
vectorised over any number of returning LAs. The unit is a child in a returning LA: a child who appears in two
LAs' returns has a row in each (the ad-hoc 2018/19 methodology: "Where a child appears in more than one
authority, their outcomes are counted each time"), and is counted once in national figures (:func:`link_children`,
:func:`national_count`).

Reference dates: the year runs from 1 April (``ReportingYear.start_date``) to 31 March (``end_date``).

* *at 31 March*: a record open on 31 March: started on or before 31 March and with no end date, or an end date
  after 31 March. A record that ends on 31 March itself is not open at 31 March (an open CIN episode is one with
  no closure date: NCER "CIN at 31 March"; a 903 episode open at 31 March has no DEC).
* *at any point*: a record overlapping the year: started on or before 31 March and not ended before 1 April
  (an episode that ends on 1 April overlaps the year).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from cin_outcomes.tables import CIN_TABLES, SSDA903_TABLES, empty
from cin_outcomes.upn import CHECK_LETTERS
from cin_outcomes.years import ReportingYear

#: Version of the rules: raise it whenever a change here can change any child's flags, so that Dagster re-runs
#: every year's cohorts (the assets' code versions include it).
RULES_VERSION = "1"

#: Columns identifying a child in a returning LA, and the child's characteristics carried on every cohort frame.
CHILD_COLUMNS = ["reporting_year", "la_code", "la_child_id", "upn", "birth_date", "sex", "ethnicity", "child_key"]

#: Boolean membership flags of :func:`per_year_membership`, in output order.
FLAGS = [
    "cin_at31", "cpp_at31", "cino_at31", "cppo_at31", "cla_at31", "cla_12m_at31", "cla_lt12m_at31",
    "cin_anypoint", "cpp_anypoint", "cino_anypoint", "cppo_anypoint", "cla_anypoint", "respite_only",
]

#: 903 legal statuses for short breaks (respite care): V3 individual breaks, V4 agreements.
RESPITE_LEGAL_STATUSES = ("V3", "V4")
#: CIN closure reason "Case closed after assessment, no further action": the child was assessed as not in need.
CLOSED_NOT_IN_NEED = "RC8"

_UPN_RE = r"^[A-HJ-NP-RT-Z]\d{12}$|^[A-HJ-NP-RT-Z]\d{11}[A-HJ-NP-RT-Z]$"
_CHAR_VALUE = {**{str(d): d for d in range(10)}, **{c: i for i, c in enumerate(CHECK_LETTERS)}}
_LETTER_OF = {i: c for i, c in enumerate(CHECK_LETTERS)}


def valid_upn(col: str | pl.Expr) -> pl.Expr:
    """The UPN where it has the UPN format and a correct check letter (DfE UPN guide), else null.

    Vectorised equivalent of :func:`cin_outcomes.upn.is_valid_upn`.
    """
    s = pl.col(col) if isinstance(col, str) else col
    total = pl.sum_horizontal(
        s.str.slice(i, 1).replace_strict(_CHAR_VALUE, default=0, return_dtype=pl.Int32) * (i + 1)
        for i in range(1, 13)
    )
    expected = (total % 23).replace_strict(_LETTER_OF, default=None, return_dtype=pl.Utf8)
    ok = s.str.contains(_UPN_RE).fill_null(False) & (s.str.slice(0, 1) == expected).fill_null(False)
    return pl.when(ok).then(s).otherwise(None)


def _table(tables: Mapping[str, pl.DataFrame], name: str, year: ReportingYear) -> pl.DataFrame:
    schema = CIN_TABLES.get(name) or SSDA903_TABLES[name]
    df = tables.get(name)
    if df is None:
        return empty(schema)
    return df.filter(pl.col("reporting_year") == year.label)


def _open_at(start: str, end: str, day) -> pl.Expr:
    """Started on or before ``day`` and not ended on or before it."""
    return ((pl.col(start) <= day) & (pl.col(end).is_null() | (pl.col(end) > day))).fill_null(False)


def _overlaps(start: str, end: str, year: ReportingYear) -> pl.Expr:
    """Started on or before 31 March and not ended before 1 April."""
    return ((pl.col(start) <= year.end_date)
            & (pl.col(end).is_null() | (pl.col(end) >= year.start_date))).fill_null(False)


def cin_flags(year: ReportingYear, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Per child in each LA's CIN census: an episode of need, and a child protection plan, at 31 March / at any point.

    Episodes of need exclude referrals requiring no further action (``ReferralNFA`` true) and episodes where the
    child was assessed as not in need, i.e. closed with reason RC8 "case closed after assessment, no further
    action" (CIN publication: "Episodes of need exclude referrals which require no further action or where a child
    is subsequently assessed as not in need"). RC9 (closed after assessment, referred to early help) stays in: the
    child was assessed and services were arranged. Plans count only within an episode of need (DfE rules 8831/8832
    forbid plans on NFA or RC8 episodes; the ingest checks report any that occur).
    """
    key = ["la_code", "la_child_id"]
    eps = _table(tables, "cin_episodes", year).filter(
        ~pl.col("referral_nfa").fill_null(False)
        & (pl.col("closure_reason").fill_null("") != CLOSED_NOT_IN_NEED)
    )
    cin = eps.group_by(key).agg(
        cin_ep_at31=_open_at("referral_date", "closure_date", year.end_date).any(),
        cin_ep_any=_overlaps("referral_date", "closure_date", year).any(),
    )
    cpp = (
        _table(tables, "child_protection_plans", year)
        .join(eps.select(*key, "episode_number"), on=[*key, "episode_number"], how="semi")
        .group_by(key)
        .agg(cpp_at31=_open_at("start_date", "end_date", year.end_date).any(),
             cpp_anypoint=_overlaps("start_date", "end_date", year).any())
    )
    return cin.join(cpp, on=key, how="full", coalesce=True)


def cla_flags(year: ReportingYear, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Per child in each LA's SSDA903 return: looked after at 31 March, for 12 months at 31 March, at any point.

    * Respite: a child whose most recent episode during the year has legal status V3 or V4 (short breaks) is not
      counted as looked after (2020 data guidance: CLA "excludes children who are in respite care in their most
      recent episode during the reporting year"). ``respite_only`` marks children all of whose episodes during the
      year are short breaks.
    * Continuously looked after for 12 months: the DfE validation-rule definition as implemented in
      ``lac_validator/utils.py::add_col_to_episodes_CONTINUOUSLY_LOOKED_AFTER`` (data-to-insight/
      csc-validator-be-903, citing CLA_SSDA903_2021-22_Validation_rules v1.2): the child has an episode during
      the year (DECOM <= 31 March, DEC blank or >= 1 April) and none of (a) an episode with RNE ``S`` starting
      *after* 1 April and on or before 31 March (a period of care starting on 1 April itself does not break
      continuity: 1 April to 31 March is 12 months); (b) an episode ending on or after 1 April and *before* 31
      March with REC other than ``X1`` (blank REC counts as a break); (c) an episode during the year with LS V3
      or V4. A period of care broken by even one day ends with a non-X1 REC and restarts with RNE ``S``; an X1
      chain (placement or legal status changes) is continuous. CLA 12 months at 31 March = CLA at 31 March and
      continuously looked after; CLA less than 12 months = the rest of CLA at 31 March.
    """
    key = ["la_code", "la_child_id"]
    s, e = year.start_date, year.end_date
    eps = _table(tables, "Episodes", year).rename({"child": "la_child_id"})
    during = _overlaps("decom", "dec", year)
    respite = pl.col("ls").is_in(RESPITE_LEGAL_STATUSES).fill_null(False)
    enters = ((pl.col("rne") == "S") & (pl.col("decom") > s) & (pl.col("decom") <= e)).fill_null(False)
    leaves = (~(pl.col("rec") == "X1").fill_null(False)
              & (pl.col("dec") >= s) & (pl.col("dec") < e)).fill_null(False)
    breaks = enters | leaves | (respite & during)
    agg = eps.group_by(key).agg(
        any_during=during.any(),
        any_open31=_open_at("decom", "dec", e).any(),
        latest_respite=respite.filter(during).sort_by(["decom", "dec"], nulls_last=True).last(),
        all_respite=respite.filter(during).all(),
        any_break=breaks.any(),
    )
    excluded = pl.col("latest_respite").fill_null(False)
    cla_at31 = pl.col("any_open31") & ~excluded
    return agg.select(
        *key,
        cla_at31=cla_at31,
        cla_12m_at31=cla_at31 & ~pl.col("any_break"),
        cla_anypoint=pl.col("any_during") & ~excluded,
        respite_only=pl.col("any_during") & pl.col("all_respite"),
    )


def per_year_membership(year: ReportingYear, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per child per returning LA with the child's social care groups in ``year`` (domain.md §2.3).

    ``tables`` maps :data:`~cin_outcomes.tables.CIN_TABLES` and :data:`~cin_outcomes.tables.SSDA903_TABLES` names
    to canonical frames; rows of other years are ignored, missing tables are taken as empty. A child is the pair
    (``la_code``, ``la_child_id``): the CIN census LAchildID, which is the 903 CHILD of the same child in the
    same LA, so a looked-after child missing from the CIN census still has a row.

    * ``upn``: the best valid UPN: the CIN census UPN, else the 903 UPN, else the CIN census former UPN (it still
      identifies the pupil in earlier school censuses); invalid UPNs and UPN-unknown codes are null.
    * Characteristics (birth date, sex, ethnicity) from the CIN census, else the 903 header.
    * Hierarchy CLA > CPP > CIN: ``cino`` = CIN not CPP not CLA, ``cppo`` = CPP not CLA, at the same reference.
    * Children looked after and children on a plan are children in need whether or not the CIN census
      records an open episode for them: ``cin = episode of need | cpp | cla`` (2023 data guidance: "CIN – children
      in need, including children on a child protection plan and children looked after"; the 2018/19 ad-hoc
      methodology builds the groups by "extracting all CLA, CPP and CIN records ... joining together by
      identifiers provided by local authority").
    * Unaccompanied asylum-seeking children are included, as in the CLA publication's counts; many have no UPN.
    * ``child_key``: links the rows of one child across LAs in this frame (see :func:`link_children`).
    """
    year = ReportingYear.parse(year)
    key = ["la_code", "la_child_id"]
    cin_children = (
        _table(tables, "cin_children", year)
        .sort(key).unique(subset=key, keep="first", maintain_order=True)
        .select(*key, cin_upn=valid_upn("upn"), former_upn=valid_upn("former_upn"),
                cin_birth=pl.col("birth_date"), cin_sex=pl.col("sex"), cin_eth=pl.col("ethnicity"))
    )
    header = (
        _table(tables, "Header", year).rename({"child": "la_child_id"})
        .sort(key).unique(subset=key, keep="first", maintain_order=True)
        .select(*key, cla_upn=valid_upn("upn"), cla_birth=pl.col("dob"), cla_sex=pl.col("sex"),
                cla_eth=pl.col("ethnic"))
    )
    ids = pl.concat([
        cin_children.select(key),
        _table(tables, "cin_episodes", year).select(key),
        header.select(key),
        _table(tables, "Episodes", year).select("la_code", la_child_id="child"),
    ]).unique()
    df = (
        ids.join(cin_children, on=key, how="left")
        .join(header, on=key, how="left")
        .join(cin_flags(year, tables), on=key, how="left")
        .join(cla_flags(year, tables), on=key, how="left")
    )
    f = {c: pl.col(c).fill_null(False) for c in
         ["cin_ep_at31", "cin_ep_any", "cpp_at31", "cpp_anypoint", "cla_at31", "cla_12m_at31", "cla_anypoint",
          "respite_only"]}
    cin_at31 = f["cin_ep_at31"] | f["cpp_at31"] | f["cla_at31"]
    cin_any = f["cin_ep_any"] | f["cpp_anypoint"] | f["cla_anypoint"]
    out = df.select(
        reporting_year=pl.lit(year.label),
        la_code=pl.col("la_code"),
        la_child_id=pl.col("la_child_id"),
        upn=pl.coalesce("cin_upn", "cla_upn", "former_upn"),
        birth_date=pl.coalesce("cin_birth", "cla_birth"),
        sex=pl.coalesce("cin_sex", "cla_sex"),
        ethnicity=pl.coalesce("cin_eth", "cla_eth"),
        cin_at31=cin_at31,
        cpp_at31=f["cpp_at31"],
        cino_at31=cin_at31 & ~f["cpp_at31"] & ~f["cla_at31"],
        cppo_at31=f["cpp_at31"] & ~f["cla_at31"],
        cla_at31=f["cla_at31"],
        cla_12m_at31=f["cla_12m_at31"],
        cla_lt12m_at31=f["cla_at31"] & ~f["cla_12m_at31"],
        cin_anypoint=cin_any,
        cpp_anypoint=f["cpp_anypoint"],
        cino_anypoint=cin_any & ~f["cpp_anypoint"] & ~f["cla_anypoint"],
        cppo_anypoint=f["cpp_anypoint"] & ~f["cla_anypoint"],
        cla_anypoint=f["cla_anypoint"],
        respite_only=f["respite_only"],
    ).sort(key)
    out = out.with_columns(child_key=link_children(out))
    return out.select(*CHILD_COLUMNS, *FLAGS)


def link_children(df: pl.DataFrame, *, within_la: bool = False) -> pl.Series:
    """A key shared by every row of ``df`` that belongs to the same child.

    Rows are linked when they share a valid UPN (nationally, or within an LA when ``within_la``) or the same
    LA child identifier in the same LA (LAchildID is the LA's own, stable identifier of the child), and linking
    is transitive (connected components, by min-label propagation). A child with no UPN can only be linked
    through the LA's identifier: the best available key, since date of birth and sex alone would merge different
    children. Such a child who appears in two LAs is therefore counted in each LA and twice nationally.
    The key is the smallest ``la_code:la_child_id`` of the child's rows, so it does not depend on row order.
    """
    if df.height == 0:
        return pl.Series("child_key", [], dtype=pl.Utf8)
    upn_group = ["la_code", "upn"] if within_la else ["upn"]
    lf = df.select("la_code", "la_child_id", "upn").with_columns(
        child_key=pl.concat_str("la_code", pl.lit(":"), "la_child_id"))
    d = lf
    while True:
        nxt = d.with_columns(child_key=pl.col("child_key").min().over("la_code", "la_child_id"))
        nxt = nxt.with_columns(child_key=pl.when(pl.col("upn").is_null()).then(pl.col("child_key"))
                               .otherwise(pl.col("child_key").min().over(upn_group)))
        if nxt["child_key"].equals(d["child_key"]):
            return nxt["child_key"]
        d = nxt


def ever_in_last_6_years(memberships: Mapping[ReportingYear, pl.DataFrame], flag: str | pl.Expr,
                         year: ReportingYear | None = None) -> pl.DataFrame:
    """Children with ``flag`` (an at-any-point flag) in any of the six reporting years ending with ``year``.

    ``Ever CIN - last 6 years`` is ``cin_anypoint``, ``Ever CLA`` ``cla_anypoint``, ``Ever CPP`` ``cpp_anypoint``
    (``flag`` is a column name or a boolean expression over :func:`per_year_membership` columns).
    ``year`` defaults to the latest year in ``memberships``; years outside the window are ignored, and a missing
    year contributes nobody. A child is in an LA's cohort when they had the flag in that LA in any year of the
    window; their rows across years are linked within the LA on LA child identifier and UPN, and the row carries
    the identifiers and characteristics of the latest year with the flag. ``child_key`` links the child across
    LAs and years (:func:`link_children`, nationally), for national figures that count each child once.
    """
    if year is None:
        if not memberships:
            raise ValueError("no reporting years given for the Ever-6-years cohort")
        year = max(ReportingYear.parse(y) for y in memberships)
    year = ReportingYear.parse(year)
    window = {(year - k).label for k in range(6)}
    cols = ["reporting_year", "la_code", "la_child_id", "upn", "birth_date", "sex", "ethnicity"]
    cond = _flag(flag)
    frames = [m.filter(cond & pl.col("reporting_year").is_in(window)).select(cols)
              for _, m in sorted(memberships.items(), key=lambda kv: ReportingYear.parse(kv[0]))]
    recs = pl.concat(frames) if frames else pl.DataFrame(schema={c: pl.Utf8 for c in cols})
    recs = recs.sort("la_code", "la_child_id", "reporting_year")
    recs = recs.with_columns(la_key=link_children(recs, within_la=True), child_key=link_children(recs))
    latest = (
        recs.sort("la_code", "la_key", "reporting_year", "la_child_id")
        .group_by("la_code", "la_key", maintain_order=True)
        .agg(pl.col("la_child_id", "birth_date", "sex", "ethnicity", "child_key").last(),
             pl.col("upn").drop_nulls().last())
    )
    return latest.select(
        reporting_year=pl.lit(year.label), la_code=pl.col("la_code"), la_child_id=pl.col("la_child_id"),
        upn=pl.col("upn"), birth_date=pl.col("birth_date").cast(pl.Date), sex=pl.col("sex"),
        ethnicity=pl.col("ethnicity"), child_key=pl.col("child_key"),
    ).sort("la_code", "la_child_id")


def _flag(flag: str | pl.Expr) -> pl.Expr:
    return pl.col(flag) if isinstance(flag, str) else flag


def national_count(df: pl.DataFrame, flag: str | pl.Expr | None = None) -> int:
    """The number of distinct children in England among the rows of ``df`` (those with ``flag`` if given).

    A child in several LAs counts once, linked by :func:`link_children` on UPN; without a UPN the LA's own
    child identifier is the best available key.
    """
    rows = df if flag is None else df.filter(_flag(flag))
    return link_children(rows).n_unique() if rows.height else 0


def cohort_counts(df: pl.DataFrame, flag: str | pl.Expr | None = None) -> pl.DataFrame:
    """Children and children without a UPN, per LA and for England (``la_code`` null), counts only.

    Per LA each child counts once in each LA that returned them; England counts each child once
    (:func:`national_count`), and a child lacks a UPN nationally when none of their rows has one.
    """
    rows = df if flag is None else df.filter(_flag(flag))
    rows = rows.select("la_code", "la_child_id", "upn").with_columns(child_key=link_children(rows))
    per_la = rows.group_by("la_code").agg(
        children=pl.len().cast(pl.Int64), children_without_upn=pl.col("upn").is_null().sum().cast(pl.Int64))
    children = rows.group_by("child_key").agg(has_upn=pl.col("upn").is_not_null().any())
    national = pl.DataFrame({"la_code": [None], "children": [children.height],
                             "children_without_upn": [children.height - int(children["has_upn"].sum())]},
                            schema=per_la.schema)
    return pl.concat([per_la.sort("la_code"), national])
