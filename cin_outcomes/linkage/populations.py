"""Who each outcome is measured on: the pupil population of every NPD module, one record per pupil.

Each population is built from the NPD modules of one academic year and holds ``upn``, the pupil's breakdown
characteristics (:mod:`.characteristics`) and the module's outcome columns under their NPD names. A social care
group's outcome is then measured on the children of the group found in the population (:mod:`.match`); the
``All pupils comparison`` is the whole population.

Populations (domain.md §3-§4)
* ``census``: pupils on roll in a state-funded school on spring census day (school type attended, and the base of
  suspensions and permanent exclusions). In the real files the school type and exclusions tables have the same
  number of pupils for a year and group (e.g. CINO 2020/21: 133,320 in both), fewer than the SEN and FSM tables.
* ``census_and_ap``: the census pupils plus children in LA-arranged alternative provision (AP census) who are not
  on a state-funded school roll (SEN provision and FSM eligibility: the larger SEN/FSM populations of the real
  files, e.g. CINO 2021/22: 139,320 against 135,290 for school type).
* ``eyfsp``: pupils with an EYFSP record (end of reception); ``phonics``: pupils taking the check in year 1 (the
  year-1 measure); ``ks1``, ``ks2``, ``ks4``: end-of-key-stage pupils of that academic year.
* ``absence``: pupils with absence records over the six half terms and at least one possible session, one row
  per pupil and school phase plus a ``Total`` row over all their enrolments (a pupil who moved from a primary to
  a special school counts in each phase with the sessions there, and once in ``Total``). Not available in
  2019/20 (autumn term only).
* ``exclusions``: the ``census`` pupils with whether they were permanently excluded and how many suspensions they
  had in the academic year.

Duplicate pupil records (a UPN twice in a module)
* Census and AP census: the main or single registration (enrolment status ``C``/``M``) before a subsidiary dual
  registration (``S``), then the latest entry date (the school the pupil was at on census day), then the lowest
  LAESTAB / URN.
* Key stage and EYFSP results: the record from the school the pupil was on roll at on census day, then the most
  complete record (most outcome fields present), then the lowest LAESTAB and URN. Absence records are not
  duplicates but enrolments and are summed; exclusions are events and are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from cin_outcomes.linkage.characteristics import (
    PUPIL_BREAKDOWNS,
    TOTAL,
    UNKNOWN,
    characteristic_exprs,
    pupil_characteristics,
    sex_label,
)
from cin_outcomes.synthetic.npd_columns import MODULES

ENROLMENT_ORDER = {"C": 0, "M": 0, "S": 1}
ABSENCE_SESSIONS = ["SessionsPossible", "AuthorisedAbsence", "UnauthorisedAbsence", "OverallAbsence"]


def _module(modules: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    df = modules.get(name)
    return pl.DataFrame(schema=MODULES[name]) if df is None else df


def _resolve(df: pl.DataFrame, upn: str, order: list, descending: list[bool]) -> pl.DataFrame:
    """``df`` with one row per UPN: unique UPNs as they are (in their order), then the duplicated ones resolved
    by sorting on ``order`` (only the duplicates are sorted). Deterministic for a given input order."""
    if df[upn].null_count():
        df = df.filter(pl.col(upn).is_not_null())
    mask = df[upn].is_duplicated()
    if not mask.any():
        return df
    dup = pl.lit(mask)
    single = df.filter(~dup)
    dups = (df.filter(dup).sort([upn, *order], descending=[False, *descending], nulls_last=True)
            .unique(subset=upn, keep="first", maintain_order=True))
    return pl.concat([single, dups.select(single.columns)])


def dedupe_census(census: pl.DataFrame) -> pl.DataFrame:
    """One spring census record per UPN (main registration, latest entry, lowest LAESTAB)."""
    order = pl.col("EnrolStatus").replace_strict(ENROLMENT_ORDER, default=2, return_dtype=pl.Int8)
    return _resolve(census, "UPN", [order, "EntryDate", "LAESTAB", "URN"], [False, True, False, False])


def dedupe_results(df: pl.DataFrame, prefix: str, census: pl.DataFrame) -> pl.DataFrame:
    """One key stage / EYFSP record per UPN: at the census school, then most complete, then lowest LAESTAB, URN."""
    upn, laestab, urn = f"{prefix}_UPN", f"{prefix}_LAESTAB", f"{prefix}_URN"
    ids = {upn, laestab, urn, f"{prefix}_LA", f"{prefix}_ACADYR", f"{prefix}_SEX"}
    outcomes = [c for c in df.columns if c not in ids]
    at_school = census.select(pl.col("UPN").alias(upn), pl.col("LAESTAB").alias("_census_laestab"))
    if df[upn].null_count():
        df = df.filter(pl.col(upn).is_not_null())
    mask = df[upn].is_duplicated()
    if not mask.any():
        return df
    dups = df.filter(mask).join(at_school, on=upn, how="left")
    at_census = (pl.col(laestab) == pl.col("_census_laestab")).fill_null(False)
    complete = (pl.sum_horizontal(*(pl.col(c).is_not_null().cast(pl.Int32) for c in outcomes)) if outcomes
                else pl.lit(0))
    resolved = _resolve(dups, upn, [at_census, complete, laestab, urn], [True, True, False, False])
    return pl.concat([df.filter(~mask), resolved.select(df.columns)])


def _with_characteristics(df: pl.DataFrame, upn: str, chars: pl.DataFrame, sex_col: str | None = None,
                          drop: tuple[str, ...] = ()) -> pl.DataFrame:
    """``df`` with ``upn`` and the census characteristics (``Unknown`` without a census record)."""
    c = chars.drop(*drop)
    out = df.rename({upn: "upn"}) if upn != "upn" else df
    out = out.join(c, on="upn", how="left", maintain_order="left")
    fills = {col: pl.col(col).fill_null(UNKNOWN) for col in PUPIL_BREAKDOWNS if col in c.columns and col != "sex"}
    sex = pl.col("sex")
    if sex_col is not None:
        sex = pl.coalesce(sex, sex_label(sex_col))
    return out.with_columns(sex=sex.fill_null(UNKNOWN), **fills)


def _census_columns(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(pl.col("UPN").alias("upn"), **characteristic_exprs(), NCyearActual="NCyearActual",
                     SENprovision="SENprovision", PrimarySENtype="PrimarySENtype", FSMeligible="FSMeligible",
                     PhaseType="PhaseType", AcademyFlag="AcademyFlag")


def census_population(modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Pupils on a state-funded school roll on spring census day."""
    return _census_columns(dedupe_census(_module(modules, "school_census")))


def census_and_ap_population(modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Census pupils plus children in LA-arranged alternative provision not on a state-funded school roll (no
    school phase or academy status: ``Unknown``)."""
    census = census_population(modules)
    ap = (
        _module(modules, "ap_census").filter(pl.col("UPN").is_not_null())
        .sort(["UPN", "EntryDate", "URN"], descending=[False, True, False], nulls_last=True)
        .unique(subset="UPN", keep="first", maintain_order=True)
        .filter(~pl.col("UPN").is_in(census["upn"].implode()))
        .with_columns(NCyearActual=pl.lit(None, pl.Utf8), PhaseType=pl.lit(None, pl.Utf8),
                      AcademyFlag=pl.lit(None, pl.Boolean))
    )
    return pl.concat([census, _census_columns(ap)], how="vertical_relaxed")


def _key_stage(prefix: str, module: str, keep: Callable[[pl.DataFrame], pl.DataFrame] = lambda d: d):
    def build(modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        census = dedupe_census(_module(modules, "school_census"))
        results = dedupe_results(keep(_module(modules, module)), prefix, census)
        return _with_characteristics(results, f"{prefix}_UPN", pupil_characteristics(census), f"{prefix}_SEX")
    return build


def absence_population(modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Per pupil and school phase, and ``Total`` per pupil, the six-half-term sessions summed over enrolments."""
    a = _module(modules, "absence").filter(pl.col("UPN").is_not_null() & pl.col("SessionsPossible").is_not_null())
    sums = [pl.col(c).cast(pl.Int64).sum() for c in ABSENCE_SESSIONS]
    by_phase = a.group_by("UPN", "PhaseType").agg(sums).with_columns(
        phase_type_grouping=pl.col("PhaseType").fill_null(UNKNOWN)).drop("PhaseType")
    total = a.group_by("UPN").agg(sums).with_columns(phase_type_grouping=pl.lit(TOTAL))
    rows = pl.concat([by_phase, total], how="vertical_relaxed").filter(pl.col("SessionsPossible") > 0)
    census = dedupe_census(_module(modules, "school_census"))
    out = _with_characteristics(rows, "UPN", pupil_characteristics(census), drop=("phase_type_grouping",))
    return out.sort("upn", "phase_type_grouping")


def exclusions_population(modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Census pupils with ``PermanentlyExcluded`` and ``Suspensions`` (number) in the academic year."""
    pupils = census_population(modules)
    ex = (
        _module(modules, "exclusions").filter(pl.col("UPN").is_not_null())
        .group_by("UPN")
        .agg(PermanentlyExcluded=(pl.col("Category") == "PERM").any(),
             Suspensions=(pl.col("Category") == "SUSP").sum().cast(pl.Int32))
        .rename({"UPN": "upn"})
    )
    return pupils.join(ex, on="upn", how="left", maintain_order="left").with_columns(
        PermanentlyExcluded=pl.col("PermanentlyExcluded").fill_null(False),
        Suspensions=pl.col("Suspensions").fill_null(0),
    )


@dataclass(frozen=True)
class Population:
    """The pupils an outcome is measured on, from the NPD modules of one academic year."""

    key: str
    description: str
    modules: tuple[str, ...]
    build: Callable[[Mapping[str, pl.DataFrame]], pl.DataFrame]
    #: Columns whose ``Total`` item is a row of its own (a pupil has several rows, one per item, and one Total).
    pretotalled: tuple[str, ...] = ()

    def __call__(self, modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        return self.build(modules)


def _year1(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("PHON_NCYEAR") == "1")


POPULATIONS: dict[str, Population] = {p.key: p for p in (
    Population("census", "Pupils on roll in a state-funded school on spring census day.",
               ("school_census",), census_population),
    Population("census_and_ap", "Pupils on roll in a state-funded school on spring census day, and children in "
               "LA-arranged alternative provision on census day who were not.", ("school_census", "ap_census"),
               census_and_ap_population),
    Population("eyfsp", "Pupils assessed at the end of reception (early years foundation stage profile).",
               ("school_census", "eyfsp"), _key_stage("FSP", "eyfsp")),
    Population("phonics", "Pupils taking the phonics screening check in year 1.", ("school_census", "phonics"),
               _key_stage("PHON", "phonics", _year1)),
    Population("ks1", "Pupils at the end of key stage 1 (year 2).", ("school_census", "ks1"),
               _key_stage("KS1", "ks1")),
    Population("ks2", "Pupils at the end of key stage 2 (year 6).", ("school_census", "ks2"),
               _key_stage("KS2", "ks2")),
    Population("ks4", "Pupils at the end of key stage 4 (year 11).", ("school_census", "ks4"),
               _key_stage("KS4", "ks4")),
    Population("absence", "Pupils with absence records over the six half terms (aged 5 to 15), by school phase.",
               ("school_census", "absence"), absence_population, pretotalled=("phase_type_grouping",)),
    Population("exclusions", "Pupils on roll in a state-funded school on spring census day, with their "
               "suspensions and permanent exclusions in the academic year.", ("school_census", "exclusions"),
               exclusions_population),
)}
