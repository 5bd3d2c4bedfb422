"""The children of a year's social care groups, ready to be linked: one row per group and child in an LA.

Built from the cohort frames of one reporting year (:mod:`cin_outcomes.cohorts`) and the ingest tables: each row
carries the group's EES label, the child's identifiers and social care characteristics, the candidate UPNs to
match on (:func:`~cin_outcomes.linkage.match.candidate_upns`), and for the groups looked after at 31 March the
placement and length of the period of care at 31 March (:mod:`.care`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from cin_outcomes.cohorts.rules import CHILD_COLUMNS
from cin_outcomes.cohorts.spec import BY_KEY, BY_LABEL, COHORTS, Cohort
from cin_outcomes.linkage.care import CLA_AT_31_MARCH_GROUPS, care_at_31_march
from cin_outcomes.linkage.match import CANDIDATE, IDENTITY, candidate_upns
from cin_outcomes.years import ReportingYear

#: Columns of the linkage frame, in order.
COLUMNS = ["reporting_year", "social_care_group", "la_code", "la_child_id", "child_key", "upn", "birth_date",
           "sex", "ethnicity", "placement", "period_of_care_length", "candidates"]
SCHEMA = {"reporting_year": pl.Utf8, "social_care_group": pl.Utf8, "la_code": pl.Utf8, "la_child_id": pl.Utf8,
          "child_key": pl.Utf8, "upn": pl.Utf8, "birth_date": pl.Date, "sex": pl.Utf8, "ethnicity": pl.Utf8,
          "placement": pl.Utf8, "period_of_care_length": pl.Utf8, "candidates": pl.List(CANDIDATE)}


def _cohort(name: str | Cohort) -> Cohort:
    if isinstance(name, Cohort):
        return name
    if name in BY_KEY:
        return BY_KEY[name]
    if name in BY_LABEL:
        return BY_LABEL[name]
    raise KeyError(f"unknown social care group {name!r}")


def cohort_children(cohorts: Mapping[str | Cohort, pl.DataFrame], year: ReportingYear | str,
                    cin_children: pl.DataFrame | Iterable[pl.DataFrame] | None = None,
                    cla_header: pl.DataFrame | Iterable[pl.DataFrame] | None = None,
                    cla_episodes: pl.DataFrame | Iterable[pl.DataFrame] | None = None) -> pl.DataFrame:
    """The linkage frame of ``year`` from its cohort frames (by cohort key or EES label).

    ``cin_children``, ``cla_header``, ``cla_episodes``: the ingest tables of the year and the five years before
    (frames or iterables of frames); without them the cohort UPN is the only candidate and no placement or period
    of care is known.
    """
    year = ReportingYear.parse(year)
    order = {c.label: i for i, c in enumerate(COHORTS)}
    frames = []
    for name, df in cohorts.items():
        c = _cohort(name)
        frames.append(df.select(CHILD_COLUMNS).with_columns(social_care_group=pl.lit(c.label)))
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    rows = pl.concat(frames, how="vertical_relaxed").with_columns(reporting_year=pl.lit(year.label))
    cands = candidate_upns(rows, cin_children, cla_header, year)
    eps = [] if cla_episodes is None else ([cla_episodes] if isinstance(cla_episodes, pl.DataFrame)
                                           else list(cla_episodes))
    care = care_at_31_march(eps, year).select(*IDENTITY, "placement", "period_of_care_length")
    at31 = pl.col("social_care_group").is_in(list(CLA_AT_31_MARCH_GROUPS))
    out = (
        rows.join(cands, on=IDENTITY, how="left")
        .join(care, on=IDENTITY, how="left")
        .with_columns(
            placement=pl.when(at31).then(pl.col("placement")),
            period_of_care_length=pl.when(at31).then(pl.col("period_of_care_length")),
            _order=pl.col("social_care_group").replace_strict(order, return_dtype=pl.Int16),
        )
        .sort("_order", "la_code", "la_child_id")
    )
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
