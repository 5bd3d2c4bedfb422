"""Write an LA's CIN census return for a year as the DfE XML (structure and code lists of that year).

Element order follows the CIN census XSD as DfE's validator reads it (input-formats.md §3.2): ``Message > Header >
(CollectionDetails, Source) > Children > Child > (ChildIdentifiers, ChildCharacteristics, CINdetails*)``, and
within ``CINdetails``: referral, closure, ``DateOfInitialCPC``, ``Assessments*``, ``CINPlanDates*``, ``Section47*``,
``ReferralNFA``, ``ChildProtectionPlans*``. Dates are ``YYYY-MM-DD``; empty values are left out. The child's sex is
``GenderCurrent`` (1 male, 2 female, 0 not recorded or unborn) before 2024-25 and ``Sex`` (M/F/U) from 2024-25.

The file is built with vectorised string operations (one line per child, sorted by LA child identifier) so a
national year writes in seconds; the only timestamp is a ``DateTime`` derived from the year.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import polars as pl

from cin_outcomes.years import ReportingYear

FIRST_SEX_YEAR = 2024  # Sex (M/F/U) replaces GenderCurrent from the 2024-25 census
GENDER_CURRENT = {"M": "1", "F": "2", "U": "0"}
SOFTWARE = "cin-outcomes synthetic"


def _esc(e: pl.Expr) -> pl.Expr:
    return (
        e.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _el(tag: str, e: pl.Expr, kind: str = "str") -> pl.Expr:
    """``<tag>value</tag>``, or null when the value is null (left out by :func:`_cat`)."""
    if kind == "date":
        v = e.cast(pl.Utf8)  # ISO 8601: YYYY-MM-DD
    elif kind == "bool":
        v = pl.when(e).then(pl.lit("true")).when(e.not_()).then(pl.lit("false"))
    elif kind == "int":
        v = e.cast(pl.Utf8)
    elif kind == "code":  # codes and dates need no escaping
        v = e
    else:
        v = _esc(e.cast(pl.Utf8))
    return pl.concat_str([pl.lit(f"<{tag}>"), v, pl.lit(f"</{tag}>")])


def _cat(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str(list(parts), ignore_nulls=True)


def _for(tables: dict[str, pl.DataFrame], name: str, year: ReportingYear, la_code: str | None) -> pl.DataFrame:
    """The table's rows for the year and LA (every LA when ``la_code`` is None)."""
    cond = pl.col("reporting_year") == year.label
    if la_code is not None:
        cond = cond & (pl.col("la_code") == la_code)
    return tables[name].filter(cond)


def _by_episode(df: pl.DataFrame, frag: pl.Expr, alias: str) -> pl.DataFrame | None:
    """One concatenated fragment per episode, in start order (None when the LA has no such records)."""
    if df.height == 0:
        return None
    key = ["la_code", "la_child_id", "episode_number"]
    return (
        df.sort([*key, "start_date"], nulls_last=True)
        .select(*key, frag.alias("x"))
        .group_by(key, maintain_order=True)
        .agg(pl.col("x").str.join("").alias(alias))
    )


@lru_cache(maxsize=2)
def _fragments(sex_tag: str) -> dict[str, pl.Expr]:
    """The XML fragment of each record type (built once: expressions are reusable)."""
    factors = (
        pl.col("factors")
        .list.eval(pl.lit("<AssessmentFactors>") + pl.element() + pl.lit("</AssessmentFactors>"))
        .list.join("")
    )
    reviews = (
        pl.col("review_dates")
        .list.eval(pl.lit("<CPPreviewDate>") + pl.element().cast(pl.Utf8) + pl.lit("</CPPreviewDate>"))
        .list.join("")
    )
    disab = (
        pl.col("disabilities").list.eval(pl.lit("<Disability>") + pl.element() + pl.lit("</Disability>")).list.join("")
    )
    if sex_tag == "Sex":
        sex = _el("Sex", pl.col("sex"), "code")
    else:
        sex = _el("GenderCurrent", pl.col("sex").replace_strict(GENDER_CURRENT, default=None), "code")
    return {
        "a": _cat(
            pl.lit("<Assessments>"),
            _el("AssessmentActualStartDate", pl.col("start_date"), "date"),
            _el("AssessmentInternalReviewDate", pl.col("internal_review_date"), "date"),
            _el("AssessmentAuthorisationDate", pl.col("authorisation_date"), "date"),
            pl.when(pl.col("factors").list.len() > 0).then(
                pl.lit("<FactorsIdentifiedAtAssessment>") + factors + pl.lit("</FactorsIdentifiedAtAssessment>")
            ),
            pl.lit("</Assessments>"),
        ),
        "p": _cat(
            pl.lit("<CINPlanDates>"),
            _el("CINPlanStartDate", pl.col("start_date"), "date"),
            _el("CINPlanEndDate", pl.col("end_date"), "date"),
            pl.lit("</CINPlanDates>"),
        ),
        "s": _cat(
            pl.lit("<Section47>"),
            _el("S47ActualStartDate", pl.col("start_date"), "date"),
            _el("InitialCPCtarget", pl.col("icpc_target_date"), "date"),
            _el("DateOfInitialCPC", pl.col("icpc_date"), "date"),
            _el("ICPCnotRequired", pl.col("icpc_not_required"), "bool"),
            pl.lit("</Section47>"),
        ),
        "c": _cat(
            pl.lit("<ChildProtectionPlans>"),
            _el("CPPstartDate", pl.col("start_date"), "date"),
            _el("CPPendDate", pl.col("end_date"), "date"),
            _el("InitialCategoryOfAbuse", pl.col("initial_category")),
            _el("LatestCategoryOfAbuse", pl.col("latest_category")),
            _el("NumberOfPreviousCPP", pl.col("number_of_previous_cpp"), "int"),
            pl.when(pl.col("review_dates").list.len() > 0).then(pl.lit("<Reviews>") + reviews + pl.lit("</Reviews>")),
            pl.lit("</ChildProtectionPlans>"),
        ),
        "episode": _cat(
            pl.lit("<CINdetails>"),
            _el("CINreferralDate", pl.col("referral_date"), "date"),
            _el("ReferralSource", pl.col("referral_source")),
            _el("PrimaryNeedCode", pl.col("primary_need")),
            _el("CINclosureDate", pl.col("closure_date"), "date"),
            _el("ReasonForClosure", pl.col("closure_reason")),
            _el("DateOfInitialCPC", pl.col("date_of_initial_cpc"), "date"),
            pl.col("a"),
            pl.col("p"),
            pl.col("s"),
            _el("ReferralNFA", pl.col("referral_nfa"), "bool"),
            pl.col("c"),
            pl.lit("</CINdetails>"),
        ),
        "child": _cat(
            pl.lit("<Child><ChildIdentifiers>"),
            _el("LAchildID", pl.col("la_child_id")),
            _el("UPN", pl.col("upn")),
            _el("FormerUPN", pl.col("former_upn")),
            _el("UPNunknown", pl.col("upn_unknown")),
            _el("PersonBirthDate", pl.col("birth_date"), "date"),
            _el("ExpectedPersonBirthDate", pl.col("expected_birth_date"), "date"),
            sex,
            _el("PersonDeathDate", pl.col("death_date"), "date"),
            pl.lit("</ChildIdentifiers><ChildCharacteristics>"),
            _el("Ethnicity", pl.col("ethnicity")),
            pl.when(pl.col("disabilities").list.len() > 0).then(
                pl.lit("<Disabilities>") + disab + pl.lit("</Disabilities>")
            ),
            pl.lit("</ChildCharacteristics>"),
            pl.col("eps"),
            pl.lit("</Child>"),
        ),
    }


def _children(tables: dict[str, pl.DataFrame], year: ReportingYear, la_code: str | None) -> pl.DataFrame:
    """One line of XML per child (``x``) with its ``la_code``, sorted by LA and LA child identifier."""
    frag = _fragments("Sex" if year.start >= FIRST_SEX_YEAR else "GenderCurrent")
    key = ["la_code", "la_child_id", "episode_number"]
    ep = _for(tables, "cin_episodes", year, la_code)
    for alias, name in (
        ("a", "cin_assessments"),
        ("p", "cin_plans"),
        ("s", "section47"),
        ("c", "child_protection_plans"),
    ):
        part = _by_episode(_for(tables, name, year, la_code), frag[alias], alias)
        if part is None:
            ep = ep.with_columns(pl.lit(None, dtype=pl.Utf8).alias(alias))
        else:
            ep = ep.join(part, on=key, how="left", maintain_order="left")
    ep = (
        ep.sort(key)
        .select("la_code", "la_child_id", frag["episode"].alias("x"))
        .group_by("la_code", "la_child_id", maintain_order=True)
        .agg(pl.col("x").str.join("").alias("eps"))
    )
    ch = _for(tables, "cin_children", year, la_code).sort("la_code", "la_child_id")
    ch = ch.join(ep, on=["la_code", "la_child_id"], how="left", maintain_order="left")
    return ch.select("la_code", frag["child"].alias("x"))


def _message(lines: pl.DataFrame, year: ReportingYear, la_code: str) -> pl.DataFrame:
    """The file's lines: the message header, one line per child, the footer (one-column frame ``x``)."""
    ref = year.end_date.isoformat()
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<Message>\n<Header>'
        f"<CollectionDetails><Collection>CIN</Collection><Year>{year.end_year}</Year>"
        f"<ReferenceDate>{ref}</ReferenceDate></CollectionDetails>"
        f"<Source><SourceLevel>L</SourceLevel><LEA>{la_code}</LEA><SoftwareCode>{SOFTWARE}</SoftwareCode>"
        f"<Release>1</Release><SerialNo>001</SerialNo><DateTime>{year.end_year}-05-01T09:00:00</DateTime></Source>"
        "</Header>\n<Children>"
    )
    return pl.concat([pl.DataFrame({"x": [head]}), lines.select("x"), pl.DataFrame({"x": ["</Children>\n</Message>"]})])


def _lines(tables: dict[str, pl.DataFrame], year: ReportingYear, la_code: str) -> pl.DataFrame:
    year = ReportingYear.parse(year)
    return _message(_children(tables, year, la_code), year, la_code)


def cin_xml(tables: dict[str, pl.DataFrame], year: ReportingYear, la_code: str) -> str:
    """The XML text of LA ``la_code``'s CIN census for ``year``."""
    return "\n".join(_lines(tables, year, la_code)["x"].to_list()) + "\n"


def write_cin_census(tables: dict[str, pl.DataFrame], year: ReportingYear, la_code: str, path: Path) -> None:
    """Write LA ``la_code``'s CIN census XML for ``year`` to ``path`` (UTF-8, deterministic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _lines(tables, year, la_code).write_csv(path, include_header=False, quote_style="never", line_terminator="\n")


def write_cin_census_year(
    tables: dict[str, pl.DataFrame], year: ReportingYear, la_codes: list[str], path_of: Callable[[str], Path]
) -> list[Path]:
    """Write the CIN census XML of every LA in ``la_codes`` for ``year`` to ``path_of(la_code)``.

    The same files as :func:`write_cin_census` per LA, built in one pass over the year (far faster for a national
    run: the per-call cost of the per-LA writer dominates at small scales)."""
    year = ReportingYear.parse(year)
    parts = _children(tables, year, None).partition_by("la_code", as_dict=True)
    empty = pl.DataFrame(schema={"la_code": pl.Utf8, "x": pl.Utf8})
    written = []
    for la in la_codes:
        path = Path(path_of(la))
        path.parent.mkdir(parents=True, exist_ok=True)
        _message(parts.get((la,), empty), year, la).write_csv(
            path, include_header=False, quote_style="never", line_terminator="\n"
        )
        written.append(path)
    return written
