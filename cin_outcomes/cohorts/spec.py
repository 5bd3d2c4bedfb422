"""The social care cohorts, each defined once: key, EES label, description, kind and rule.

The assets, their checks and the publication's ``social_care_group`` filter are all built from :data:`COHORTS`.
A rule is a boolean polars expression over the columns of :func:`~cin_outcomes.cohorts.rules.per_year_membership`;
for an Ever-6-years cohort it is the per-year rule that, true in any of the six years, puts a child in the cohort.
Adding a cohort is one :class:`Cohort` entry (plus a flag in the rules if it needs a new one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import polars as pl

from cin_outcomes.cohorts.rules import CHILD_COLUMNS, ever_in_last_6_years
from cin_outcomes.years import ReportingYear


class Kind(str, Enum):
    """The reference period a cohort is defined on."""

    AT_31_MARCH = "at 31 March"
    AT_ANY_POINT = "at any point"
    EVER_6_YEARS = "ever in the last 6 years"


@dataclass(frozen=True)
class Cohort:
    """One social care group of the publication."""

    key: str            #: asset key part and identifier in code, e.g. ``cino_at_31_march``
    label: str          #: EES ``social_care_group`` filter value, exactly as the EES data dictionary spells it
    description: str    #: what the group is, in statistical language
    kind: Kind
    rule: pl.Expr       #: boolean expression over per-year membership columns

    @property
    def per_year(self) -> bool:
        """Computed from one reporting year's returns (not from a 6-year window)."""
        return self.kind is not Kind.EVER_6_YEARS

    def select(self, membership: pl.DataFrame) -> pl.DataFrame:
        """The cohort's children from one year's membership frame: one row per child per LA."""
        if not self.per_year:
            raise TypeError(f"{self.label} spans six years; use select_ever")
        return membership.filter(self.rule).select(CHILD_COLUMNS)

    def select_ever(self, memberships: Mapping[ReportingYear, pl.DataFrame],
                    year: ReportingYear | None = None) -> pl.DataFrame:
        """The cohort's children for ``year`` from the memberships of the six years ending with it."""
        if self.per_year:
            raise TypeError(f"{self.label} is a one-year cohort; use select")
        return ever_in_last_6_years(memberships, self.rule, year).select(CHILD_COLUMNS)


_EPISODE = ("an episode of need (excluding referrals requiring no further action and children assessed as not in "
            "need)")
_CLA = "looked after (excluding children whose most recent episode in the year was respite care, legal status V3/V4)"

COHORTS: tuple[Cohort, ...] = (
    Cohort("cin_at_31_march", "CIN at 31 March",
           f"Children in need at 31 March: {_EPISODE} open on 31 March, or on a child protection plan or looked "
           "after on 31 March.", Kind.AT_31_MARCH, pl.col("cin_at31")),
    Cohort("cino_at_31_march", "CINO at 31 March",
           "Children in need at 31 March who were neither on a child protection plan nor looked after on 31 March "
           "(children on child in need plans and other plans or arrangements).",
           Kind.AT_31_MARCH, pl.col("cino_at31")),
    Cohort("cppo_at_31_march", "CPPO at 31 March",
           "Children on a child protection plan on 31 March who were not looked after on 31 March.",
           Kind.AT_31_MARCH, pl.col("cppo_at31")),
    Cohort("cla_at_31_march", "CLA at 31 March",
           f"Children {_CLA} on 31 March.", Kind.AT_31_MARCH, pl.col("cla_at31")),
    Cohort("cla_12_months_at_31_march", "CLA 12 months at 31 March",
           "Children looked after on 31 March who had been looked after continuously for at least 12 months "
           "(DfE SSDA903 definition: no new period of care after 1 April, no care ending other than by a change "
           "of episode, no respite episode in the year).", Kind.AT_31_MARCH, pl.col("cla_12m_at31")),
    Cohort("cla_less_than_12_months_at_31_march", "CLA less than 12 months at 31 March",
           "Children looked after on 31 March who had not been looked after continuously for 12 months.",
           Kind.AT_31_MARCH, pl.col("cla_lt12m_at31")),
    Cohort("cin_at_any_point", "CIN at any point",
           f"Children in need at any point in the reporting year (1 April to 31 March): {_EPISODE}, a child "
           "protection plan or a period looked after overlapping the year.", Kind.AT_ANY_POINT,
           pl.col("cin_anypoint")),
    Cohort("cino_at_any_point", "CINO at any point",
           "Children in need at any point in the year who were neither on a child protection plan nor looked "
           "after at any point in the year.", Kind.AT_ANY_POINT, pl.col("cino_anypoint")),
    Cohort("cppo_at_any_point", "CPPO at any point",
           "Children on a child protection plan at any point in the year who were not looked after at any point "
           "in the year.", Kind.AT_ANY_POINT, pl.col("cppo_anypoint")),
    Cohort("cla_at_any_point", "CLA at any point",
           f"Children {_CLA} at any point in the year.", Kind.AT_ANY_POINT, pl.col("cla_anypoint")),
    Cohort("ever_cin_last_6_years", "Ever CIN - last 6 years",
           "Children in need at any point in any of the six reporting years ending with this year.",
           Kind.EVER_6_YEARS, pl.col("cin_anypoint")),
    Cohort("ever_cla_last_6_years", "Ever CLA - last 6 years",
           "Children looked after at any point in any of the six reporting years ending with this year.",
           Kind.EVER_6_YEARS, pl.col("cla_anypoint")),
    Cohort("ever_cpp_last_6_years", "Ever CPP - last 6 years",
           "Children on a child protection plan at any point in any of the six reporting years ending with this "
           "year (including children also looked after).", Kind.EVER_6_YEARS, pl.col("cpp_anypoint")),
)

#: Cohorts by key.
BY_KEY: dict[str, Cohort] = {c.key: c for c in COHORTS}
#: Cohorts by EES label.
BY_LABEL: dict[str, Cohort] = {c.label: c for c in COHORTS}
#: One-year cohorts (at 31 March and at any point), in publication order.
PER_YEAR: tuple[Cohort, ...] = tuple(c for c in COHORTS if c.per_year)
#: Ever-in-the-last-6-years cohorts.
EVER_6: tuple[Cohort, ...] = tuple(c for c in COHORTS if not c.per_year)
