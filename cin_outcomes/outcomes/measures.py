"""What an outcome measure is: a numerator and a denominator summed over linked pupil rows, and how to show it.

A :class:`Quantity` is a column of the aggregated tables: the sum over the linked rows of a polars expression
(a Boolean counts the pupils for whom it is true; a number adds up, e.g. Attainment 8 points). A :class:`Measure`
combines two quantities:

* ``percentage``: 100 x numerator / denominator (``pt_rwm_met_expected_standard``), within 0-100;
* ``rate``: 100 x numerator / denominator where the numerator counts events, not pupils (suspensions per 100
  pupils), so it may exceed 100;
* ``average``: numerator / denominator (``avg_att8`` = Attainment 8 points / pupils), optionally with a 95%
  confidence interval from the national standard deviation of pupils' scores (Progress 8, KS2 progress);
* ``count``: the numerator itself (``t_pupils``).

Quantity names are the real published files' column names (``t_rwm_eligible_pupils``, ``t_att8``). A quantity
shared by several measures (``t_pupils``) must be the same expression object in each; :func:`quantities` checks.
Whether a measure exists in a year (KS2 progress without a KS1 baseline, Progress 8 in 2024/25) is
``available(academic year)``; where it is not, its figures are null (shown ``x``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from cin_outcomes.years import ReportingYear

Kind = Literal["percentage", "rate", "average", "count"]
KINDS = ("percentage", "rate", "average", "count")


def _always(_: ReportingYear) -> bool:
    return True


@dataclass(frozen=True, eq=False)
class Quantity:
    """A column of the aggregated tables: ``sum(expr)`` over the linked rows of a unit.

    ``total``: the expression is a score to add up (Float64 sum); otherwise it counts rows (Int64).
    """

    name: str
    expr: pl.Expr
    total: bool = False

    def agg(self) -> pl.Expr:
        e = self.expr.cast(pl.Float64) if self.total else self.expr.cast(pl.Int64)
        return e.sum().alias(self.name)

    def same_as(self, other: "Quantity") -> bool:
        return self.name == other.name and self.total == other.total and self.expr.meta.eq(other.expr)


@dataclass(frozen=True)
class ConfidenceInterval:
    """95% confidence interval of an average: value -/+ z x sd / sqrt(denominator), where ``sd`` names the column
    of the linked dataset holding the national standard deviation of pupils' scores (DfE's method for Progress 8
    and KS2 progress scores)."""

    lower: str
    upper: str
    sd: str
    z: float = 1.96


@dataclass(frozen=True, eq=False)
class Measure:
    """One published indicator of an outcome family."""

    key: str                       #: value column (``pt_rwm_met_expected_standard``, ``avg_att8``, ``t_pupils``)
    label: str                     #: what it is, for metadata and data guidance
    kind: Kind
    numerator: Quantity
    denominator: Quantity | None
    dp: int                        #: decimal places the real files use
    available: Callable[[ReportingYear], bool] = field(default=_always)
    ci: ConfidenceInterval | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: kind must be one of {KINDS}")
        if self.kind != "count" and self.denominator is None:
            raise ValueError(f"{self.key}: a {self.kind} needs a denominator")
        if self.ci is not None and self.kind != "average":
            raise ValueError(f"{self.key}: only an average has a confidence interval")

    @property
    def columns(self) -> list[str]:
        """The aggregated columns this measure produces, in order."""
        cols = [self.numerator.name]
        if self.denominator is not None:
            cols.append(self.denominator.name)
        if self.key not in cols:
            cols.append(self.key)
        if self.ci is not None:
            cols += [self.ci.lower, self.ci.upper]
        return cols

    def value(self) -> pl.Expr:
        """The unrounded value from the aggregated numerator and denominator columns (null over 0 pupils)."""
        num = pl.col(self.numerator.name)
        if self.kind == "count":
            return num.cast(pl.Float64) if self.numerator.total else num
        den = pl.col(self.denominator.name)
        ratio = num.cast(pl.Float64) / den.cast(pl.Float64)
        if self.kind in ("percentage", "rate"):
            ratio = 100 * ratio
        return pl.when(den > 0).then(ratio).otherwise(None)

    def interval(self) -> tuple[pl.Expr, pl.Expr]:
        den = pl.col(self.denominator.name).cast(pl.Float64)
        half = self.ci.z * pl.col(self.ci.sd) / den.sqrt()
        v = pl.col(self.key)
        return (pl.when(den > 0).then(v - half).otherwise(None),
                pl.when(den > 0).then(v + half).otherwise(None))


def count(name: str, label: str, expr: pl.Expr, *, available=_always) -> Measure:
    """A number of pupils, published as it is (``t_pupils``)."""
    return Measure(name, label, "count", Quantity(name, expr), None, 0, available)


def percentage(key: str, label: str, numerator: Quantity, denominator: Quantity, dp: int, *,
               available=_always) -> Measure:
    return Measure(key, label, "percentage", numerator, denominator, dp, available)


def rate(key: str, label: str, numerator: Quantity, denominator: Quantity, dp: int, *, available=_always) -> Measure:
    return Measure(key, label, "rate", numerator, denominator, dp, available)


def average(key: str, label: str, total: Quantity, denominator: Quantity, dp: int, *, available=_always,
            ci: ConfidenceInterval | None = None) -> Measure:
    return Measure(key, label, "average", total, denominator, dp, available, ci)


def quantities(measures: Iterable[Measure]) -> dict[str, Quantity]:
    """Every quantity of ``measures`` once, in order of first use; a name used with two definitions is an error."""
    out: dict[str, Quantity] = {}
    keys: set[str] = set()
    for m in measures:
        if m.key in keys:
            raise ValueError(f"measure {m.key} is defined twice")
        keys.add(m.key)
        for q in (m.numerator, m.denominator):
            if q is None:
                continue
            if q.name in out and not out[q.name].same_as(q):
                raise ValueError(f"{q.name} has two different definitions (measure {m.key})")
            out.setdefault(q.name, q)
    clash = keys & set(out) - {m.key for m in measures if m.kind == "count"}
    if clash:
        raise ValueError(f"measure keys also used as quantities: {sorted(clash)}")
    return out
