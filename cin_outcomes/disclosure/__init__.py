"""Disclosure control for the publication: DfE's rounding (halves up) and primary suppression (``c``, ``z``, ``x``,
``k``). Cross-table (secondary) suppression is a separate, later stage that can replace :mod:`.primary`."""

from cin_outcomes.disclosure.primary import (
    Indicator,
    SuppressionSpec,
    apply_primary_suppression,
    average,
    count,
    denominator,
    percentage,
    statistic,
    suppression_counts,
    total,
)
from cin_outcomes.disclosure.rounding import (
    format_decimal,
    format_scaled_expr,
    half_up_expr,
    round_half_up,
    round_ratio_half_up,
    round_to_base,
    round_to_base_expr,
    scaled_half_up_expr,
    scaled_ratio_expr,
)

__all__ = [
    "Indicator", "SuppressionSpec", "apply_primary_suppression", "average", "count", "denominator", "percentage",
    "statistic", "suppression_counts", "total", "format_decimal", "format_scaled_expr", "half_up_expr",
    "round_half_up", "round_ratio_half_up", "round_to_base", "round_to_base_expr", "scaled_half_up_expr",
    "scaled_ratio_expr",
]
