"""Primary suppression and rounding as observed in DfE's published outcome files (domain.md §9.2).

One replaceable stage, :func:`apply_primary_suppression`, turns a frame of *unrounded* figures into the
published strings. The tables layer describes each file once with a :class:`SuppressionSpec`: for every
indicator its kind, the columns it is computed from and its decimal places. The rules, in the order they win:

1. ``x`` – the figure is not produced (its input is null: KS2 in 2019-20 and 2020-21, Progress 8 in 2024-25 ...).
2. ``c`` – the whole row, when the row's cohort (``spec.cohort``) is 1 to 5.
3. ``z`` – anything computed over a zero denominator; the denominator itself is shown ``0``.
4. ``c`` – anything over a denominator of 1 to 5; and numerators and their percentages over a denominator
   below ``min_denominator`` when the file has one (KS2: 6 to 10 are never shown).
5. ``c`` – a count of 1 to 5, and the percentage made from it.
6. ``k`` – a percentage or average that rounds to 0 although it is not 0 (absence ``pt_sess_unauthorised``,
   KS2 progress averages).
7. Otherwise the number: counts at National and Regional level rounded to the nearest 10 (halves up), LA counts
   exact; percentages and averages from the unrounded figures, halves up, at the file's decimal places; printed
   without trailing zeros (``18`` not ``18.0``), as the real files print them.

Every test of a count against 1-5 uses the unrounded value, at every geographic level. Secondary suppression is
not done here: cross-table disclosure control replaces or follows this stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from cin_outcomes.disclosure.rounding import (
    RoundingMode,
    check_exact_range,
    format_scaled_expr,
    round_to_base_expr,
    scaled_half_up_expr,
    scaled_ratio_expr,
)

Kind = Literal["count", "denominator", "percentage", "average", "total", "statistic"]
KINDS: tuple[str, ...] = ("count", "denominator", "percentage", "average", "total", "statistic")

NOT_AVAILABLE, CONFIDENTIAL, NOT_APPLICABLE, LOW = "x", "c", "z", "k"


@dataclass(frozen=True)
class Indicator:
    """One published indicator column and how it is made.

    - ``count``: a number of children (``source``, default ``name``), optionally over ``denominator`` (then ``z``
      when that is 0 and ``c`` when it is 1-5). Rounded to 10 at National/Regional level; 1-5 → ``c``.
    - ``denominator``: a count that others are divided by (``t_pupils``); shown ``0`` when 0.
    - ``percentage``: 100 × ``numerator`` ÷ ``denominator`` (two count columns) at ``dp`` places.
    - ``average``: ``numerator`` (a total such as Attainment 8 points) ÷ ``denominator`` at ``dp`` places.
      ``total_dp``: the number of decimals the total is exact to (Att8 totals are quarter points: 2); with it the
      average is rounded exactly, without it in floating point as ``dfeR::round_five_up`` does.
    - ``total``: a sum that is not a count of children (``t_att8``, ``t_p8score``), printed unrounded at ``dp``.
    - ``statistic``: a figure computed elsewhere (a confidence limit) printed at ``dp``.

    Column names in ``source``, ``numerator`` and ``denominator`` are columns of the *input* frame.
    """

    name: str
    kind: Kind
    source: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    dp: int = 0
    total_dp: int | None = None
    min_denominator: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown indicator kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.kind in ("percentage", "average") and not (self.numerator and self.denominator):
            raise ValueError(f"{self.name}: a {self.kind} needs numerator and denominator columns")
        if self.kind in ("total", "statistic", "average") and self.min_denominator is not None:
            raise ValueError(f"{self.name}: min_denominator applies to counts and percentages only")
        if self.dp < 0:
            raise ValueError(f"{self.name}: decimal places must be 0 or more")

    @property
    def input_column(self) -> str:
        """The input column that holds this indicator's own value (count, denominator, total, statistic)."""
        return self.source or self.name

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input column this indicator reads."""
        cols = [self.numerator] if self.kind in ("percentage", "average") else [self.input_column]
        if self.denominator:
            cols.append(self.denominator)
        return tuple(c for c in cols if c)


def count(name: str, denominator: str | None = None, *, source: str | None = None,
          min_denominator: int | None = None) -> Indicator:
    """A count of children, e.g. ``count("t_l2basics_94", "t_pupils")``."""
    return Indicator(name, "count", source=source, denominator=denominator, min_denominator=min_denominator)


def denominator(name: str, *, source: str | None = None) -> Indicator:
    """A count that percentages and averages are taken over, e.g. ``denominator("t_pupils")``."""
    return Indicator(name, "denominator", source=source)


def percentage(name: str, numerator: str, denominator: str, dp: int, *,
               min_denominator: int | None = None) -> Indicator:
    """``100 × numerator ÷ denominator``, e.g. ``percentage("pt_l2basics_94", "t_l2basics_94", "t_pupils", 1)``."""
    return Indicator(name, "percentage", numerator=numerator, denominator=denominator, dp=dp,
                     min_denominator=min_denominator)


def average(name: str, total: str, denominator: str, dp: int, *, total_dp: int | None = None) -> Indicator:
    """``total ÷ denominator``, e.g. ``average("avg_att8", "t_att8", "t_pupils", 1, total_dp=2)``."""
    return Indicator(name, "average", numerator=total, denominator=denominator, dp=dp, total_dp=total_dp)


def total(name: str, denominator: str | None, dp: int, *, source: str | None = None) -> Indicator:
    """A sum of scores, printed unrounded at ``dp``, e.g. ``total("t_att8", "t_pupils", 2)``."""
    return Indicator(name, "total", source=source, denominator=denominator, dp=dp)


def statistic(name: str, denominator: str | None, dp: int, *, source: str | None = None) -> Indicator:
    """A figure computed elsewhere (a confidence limit), e.g. ``statistic("p8score_CI_low", "t_inp8calc", 2)``."""
    return Indicator(name, "statistic", source=source, denominator=denominator, dp=dp)


@dataclass(frozen=True)
class SuppressionSpec:
    """How one published file is rounded and suppressed.

    ``cohort``: the input column whose value 1-5 suppresses the whole row (``t_pupils``); ``None`` when each
    measure has its own denominator (KS2). ``threshold``: counts 1..threshold are ``c``. ``rounding``: see
    :mod:`cin_outcomes.disclosure.rounding` (``"exact"`` is the stated rule; ``"published_float"`` reproduces the
    binary ties of DfE's files). ``low_symbol``: printed for a non-zero figure that rounds to 0 (``None`` prints
    ``0``).
    """

    indicators: tuple[Indicator, ...]
    cohort: str | None = None
    level_column: str = "geographic_level"
    rounded_levels: tuple[str, ...] = ("National", "Regional")
    rounding_base: int = 10
    threshold: int = 5
    low_symbol: str | None = LOW
    rounding: RoundingMode = "exact"
    keep_inputs: bool = False
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        names = tuple(i.name for i in self.indicators)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"indicator names used twice: {', '.join(dupes)}")
        object.__setattr__(self, "_names", names)

    @property
    def indicator_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Every input column the spec reads, in first-use order."""
        seen: dict[str, None] = {}
        if self.cohort:
            seen[self.cohort] = None
        for ind in self.indicators:
            for c in ind.inputs:
                seen.setdefault(c, None)
        return tuple(seen)


# --- the stage -------------------------------------------------------------------------------------------------

def apply_primary_suppression(frame: pl.DataFrame, spec: SuppressionSpec) -> pl.DataFrame:
    """Round and suppress ``frame`` (unrounded figures) into the published strings of ``spec``'s indicators.

    Non-indicator columns (time, geography, filters) are kept as they are and in their order, followed by the
    indicators in spec order as Utf8 columns; input-only columns are dropped unless ``spec.keep_inputs``.
    """
    missing = [c for c in (*spec.input_columns, spec.level_column) if c not in frame.columns]
    if missing:
        raise KeyError(f"primary suppression: input columns missing from the frame: {', '.join(missing)}")
    for ind in spec.indicators:
        if ind.kind == "percentage" and spec.rounding == "exact":
            check_exact_range(frame, ind.numerator, 100, ind.dp)

    rounded_level = pl.col(spec.level_column).is_in(list(spec.rounded_levels))
    cohort_small = _between(pl.col(spec.cohort), 1, spec.threshold) if spec.cohort else pl.lit(False)
    exprs = [_indicator_expr(ind, spec, rounded_level, cohort_small).alias(ind.name) for ind in spec.indicators]

    consumed = set(spec.input_columns) | set(spec.indicator_names)
    keep = [c for c in frame.columns if c not in consumed or (spec.keep_inputs and c not in spec.indicator_names)]
    return frame.select(*[pl.col(c) for c in keep], *exprs)


def _between(e: pl.Expr, lo: int, hi: int) -> pl.Expr:
    return (e >= lo) & (e <= hi)


def _indicator_expr(ind: Indicator, spec: SuppressionSpec, rounded_level: pl.Expr,
                    cohort_small: pl.Expr) -> pl.Expr:
    t = spec.threshold
    den = pl.col(ind.denominator) if ind.denominator else None
    if ind.kind in ("percentage", "average"):
        own = pl.col(ind.numerator)
    else:
        own = pl.col(ind.input_column)

    not_available = own.is_null() | (den.is_null() if den is not None else pl.lit(False))
    den_zero = (den == 0) if den is not None else pl.lit(False)
    den_small = _between(den, 1, t) if den is not None else pl.lit(False)
    below_min = ((den > 0) & (den < ind.min_denominator)) if (den is not None and ind.min_denominator) \
        else pl.lit(False)

    if ind.kind in ("count", "denominator"):
        value = pl.when(rounded_level).then(
            format_scaled_expr(round_to_base_expr(own, spec.rounding_base), 0)).otherwise(
            own.cast(pl.Int64).cast(pl.Utf8))
        own_small = _between(own, 1, t)
        out = (pl.when(not_available).then(pl.lit(NOT_AVAILABLE))
               .when(cohort_small).then(pl.lit(CONFIDENTIAL))
               .when(den_zero).then(pl.lit(NOT_APPLICABLE))
               .when(den_small | below_min | own_small).then(pl.lit(CONFIDENTIAL))
               .otherwise(value))
        return out

    if ind.kind == "percentage":
        scaled = scaled_ratio_expr(own, den, ind.dp, scale=100, mode=spec.rounding)
        suppressed = den_small | below_min | _between(own, 1, t)
    elif ind.kind == "average":
        if ind.total_dp is not None and spec.rounding == "exact":
            total_units = scaled_half_up_expr(own, ind.total_dp, mode="exact")
            scaled = scaled_ratio_expr(total_units, den.cast(pl.Int64) * 10**ind.total_dp, ind.dp, mode="exact")
        else:
            scaled = scaled_half_up_expr(own.cast(pl.Float64) / den.cast(pl.Float64), ind.dp, mode=spec.rounding)
        suppressed = den_small
    else:  # total, statistic
        scaled = scaled_half_up_expr(own, ind.dp, mode=spec.rounding)
        suppressed = den_small

    low = (scaled == 0) & (own != 0)
    text = format_scaled_expr(scaled, ind.dp)
    if spec.low_symbol is not None and ind.kind != "total":
        text = pl.when(low).then(pl.lit(spec.low_symbol)).otherwise(text)
    return (pl.when(not_available).then(pl.lit(NOT_AVAILABLE))
            .when(cohort_small).then(pl.lit(CONFIDENTIAL))
            .when(den_zero).then(pl.lit(NOT_APPLICABLE))
            .when(suppressed).then(pl.lit(CONFIDENTIAL))
            .otherwise(text))


def suppression_counts(published: pl.DataFrame, spec: SuppressionSpec) -> dict[str, int]:
    """How many cells of each symbol the published frame holds (for run summaries and Dagster metadata)."""
    cols = [c for c in spec.indicator_names if c in published.columns]
    out = {}
    for sym in (CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE, LOW):
        out[sym] = int(published.select(pl.sum_horizontal([(pl.col(c) == sym).sum() for c in cols])).item()) \
            if cols else 0
    return out
