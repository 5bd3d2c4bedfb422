"""A family's linked outcome dataset: the social care groups' children found in the family's pupil population,
and every pupil of that population as the ``All pupils comparison``.

One row per child per group per LA that returned them (and per school phase for absence), with:

* ``reporting_year`` (the social care year whose groups are used), ``time_period`` (the EES academic year of the
  outcome: the same year, or the year before for exclusions), ``social_care_group``, ``la_code`` (null for the
  All pupils comparison), ``child_key`` (links a child's rows across LAs, to count them once nationally),
  ``matched_by`` (``UPN`` / ``former UPN``);
* the breakdowns (pupil characteristics from the census; placement and period of care for CLA at 31 March);
  where the pupil data has no sex or ethnicity for a child, the social care return's is used;
* the population's outcome columns (NPD names) and, for averages with a confidence interval, the national
  standard deviation of pupils' scores.

Children not found in the population (no UPN, or not at the end of that key stage) are not in the dataset; they
are counted by the match rates (:func:`cin_outcomes.linkage.match.match_rates`).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from cin_outcomes.linkage.characteristics import ETHNICITY_MINOR_TO_MAJOR, SEX, UNKNOWN
from cin_outcomes.linkage.match import match
from cin_outcomes.outcomes.families import ALL_PUPILS, Family
from cin_outcomes.years import ReportingYear

KEY_COLUMNS = ["reporting_year", "time_period", "social_care_group", "la_code", "child_key", "matched_by"]


def population_with_sd(family: Family, modules: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The family's population with a constant column per confidence interval: the standard deviation of pupils'
    scores over the whole population (all pupils in the measure's denominator)."""
    pop = family.population(modules)
    extra = []
    for m in family.measures:
        if m.ci is not None:
            sd = pop.select(m.numerator.expr.filter(m.denominator.expr).cast(pl.Float64).std()).item() \
                if pop.height else None
            extra.append(pl.lit(sd, pl.Float64).alias(m.ci.sd))
    return pop.with_columns(extra) if extra else pop


def outcome_columns(family: Family, population: pl.DataFrame) -> list[str]:
    """Columns of the population kept in the dataset: everything but the UPN and the breakdowns."""
    return [c for c in population.columns if c != "upn" and c not in family.breakdowns]


def empty_dataset(family: Family) -> pl.DataFrame:
    """The dataset's columns with no rows (a year the family does not exist)."""
    pop = population_with_sd(family, {})
    schema = {**{c: pl.Utf8 for c in KEY_COLUMNS}, **{b: pl.Utf8 for b in family.breakdowns},
              **{c: pop.schema[c] for c in outcome_columns(family, pop)}}
    return pl.DataFrame(schema=schema)


def linked_dataset(family: Family, children: pl.DataFrame, modules: Mapping[str, pl.DataFrame],
                   year: ReportingYear | str) -> pl.DataFrame:
    """The linked dataset of ``family`` whose outcomes are of academic year ``year``.

    ``children``: the linkage frame of reporting year ``year`` (:func:`~cin_outcomes.linkage.children.
    cohort_children`); ``modules``: the NPD modules of that academic year (``family.modules``).
    """
    year = ReportingYear.parse(year)
    if not family.available(year):
        return empty_dataset(family)
    pop = population_with_sd(family, modules)
    outcomes = outcome_columns(family, pop)
    kids = children.filter(pl.col("social_care_group").is_in(list(family.groups)))
    matched = match(kids, pop).filter(pl.col("matched_upn").is_not_null())
    linked = (
        matched.rename({"sex": "_sc_sex", "ethnicity": "_sc_ethnicity"})
        .join(pop, left_on="matched_upn", right_on="upn", how="inner", maintain_order="left_right")
        .with_columns(
            sex=pl.when(pl.col("sex") == UNKNOWN).then(
                pl.col("_sc_sex").replace_strict(SEX, default=UNKNOWN, return_dtype=pl.Utf8)).otherwise("sex"),
            ethnicity_major=pl.when(pl.col("ethnicity_major") == UNKNOWN).then(
                pl.col("_sc_ethnicity").replace_strict(ETHNICITY_MINOR_TO_MAJOR, default=UNKNOWN,
                                                       return_dtype=pl.Utf8)).otherwise("ethnicity_major"),
        )
    )
    all_pupils = pop.with_columns(
        reporting_year=pl.lit(year.label), social_care_group=pl.lit(ALL_PUPILS), la_code=pl.lit(None, pl.Utf8),
        child_key=pl.col("upn"), matched_by=pl.lit(None, pl.Utf8), placement=pl.lit(None, pl.Utf8),
        period_of_care_length=pl.lit(None, pl.Utf8))
    cols = [*KEY_COLUMNS, *family.breakdowns, *outcomes]

    def shape(df: pl.DataFrame) -> pl.DataFrame:
        df = df.with_columns(time_period=pl.lit(year.time_period))
        return df.select([pl.col(c) if c in df.columns else pl.lit(None, pl.Utf8).alias(c) for c in cols])

    # social care rows by group, LA and child (stable: ties keep the linkage frame's order); then all pupils in
    # the population's order
    linked = shape(linked).sort(["social_care_group", "la_code", "child_key", *family.pretotalled],
                                maintain_order=True)
    return pl.concat([linked, shape(all_pupils)], how="vertical_relaxed")
