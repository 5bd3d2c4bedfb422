"""Rounding as DfE publishes it: halves away from zero (``dfeR::round_five_up``), never to even.

``dfeR::round_five_up(x, dp)`` is ``trunc(abs(x) * 10^dp + 0.5 + sqrt(eps)) / 10^dp * sign(x)``: 2.5 → 3,
-2.5 → -3, 45 at ``dp=-1`` → 50. Polars' ``Expr.round`` rounds halves to even (2.5 → 2), so it must never be
used for published figures.

Two kinds of input:

- a **ratio of integers** (a percentage ``100 × numerator ÷ denominator`` or an average over a denominator). Here
  the exact answer is computed with integer arithmetic, so 23 of 40 (57.5 %) is 58 % at 0 dp, which is what
  ``round_five_up`` gives too (its ``sqrt(eps)`` absorbs the binary error of ``23/40*100 = 57.49999999999999``).
- a **decimal value** (a float or ``Decimal``). A float is taken as the decimal it prints as (``2.675`` is
  2.675, not the binary 2.67499999999999982236431605997495353221893310546875), then rounded exactly.

Measured in DfE's own files (back-tested in ``test_primary_suppression``): the 2025 KS2, KS4 and absence files
(and the 2022 FSM and exclusions files) round ``numerator / denominator * 100`` in binary floating point *without*
``sqrt(eps)``, so the few exact ties whose binary value falls just below the half (23/40, 23/80, 41/80,
513/3600 ...: 11 of about 65,000 LA percentages) are printed rounded down. ``mode="published_float"`` reproduces
that; the default ``mode="exact"`` is the stated rule and what ``round_five_up`` gives.

Results are carried as **scaled integers** (value × 10^dp) so that formatting never goes through a float:
``format_scaled`` prints them the way DfE's files print numbers (no trailing zeros, no ``.0``).
"""

from __future__ import annotations

import math
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

import polars as pl

RoundingMode = Literal["exact", "published_float"]

#: ``sqrt(.Machine$double.eps)`` as added by ``dfeR::round_five_up``.
DFER_EPSILON = math.sqrt(sys.float_info.epsilon)
# |numerator| × scale × 10^dp × 2 must stay inside Int64 for the exact integer path.
_INT64_LIMIT = 2**62


# --- plain functions -----------------------------------------------------------------------------------------

def _to_decimal(value: int | float | str | Decimal | Fraction) -> Decimal | Fraction:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number to round")
    if isinstance(value, (Decimal, Fraction)):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot round {value!r}")
        return Decimal(repr(value))  # the shortest decimal that reads back as this float
    return Decimal(str(value).strip())


def round_half_up(value: int | float | str | Decimal | Fraction, dp: int = 0) -> Decimal:
    """``value`` rounded to ``dp`` decimal places, halves away from zero; negative ``dp`` rounds to 10, 100, ...

    Floats are read as the decimal they print as, so ``round_half_up(2.675, 2) == Decimal("2.68")`` and
    ``round_half_up(0.125, 2) == Decimal("0.13")``; ``round_half_up(-45, -1) == Decimal("-50")``.
    """
    d = _to_decimal(value)
    if isinstance(d, Fraction):
        return round_ratio_half_up(d.numerator, d.denominator, dp)
    quantum = Decimal(1).scaleb(-dp)
    return d.quantize(quantum, rounding=ROUND_HALF_UP) if dp >= 0 else (
        (d / quantum).quantize(Decimal(1), rounding=ROUND_HALF_UP) * quantum).quantize(Decimal(1))


def round_ratio_half_up(numerator: int, denominator: int, dp: int = 0, scale: int = 1) -> Decimal:
    """``scale × numerator ÷ denominator`` rounded exactly to ``dp`` places, halves away from zero.

    A percentage is ``round_ratio_half_up(num, den, dp, scale=100)``; 23 of 40 at 0 dp is 58 (57.5 up).
    """
    if denominator == 0:
        raise ZeroDivisionError("a rate over a zero denominator is not applicable (publish 'z')")
    q = _scaled_ratio(int(numerator) * scale, int(denominator), dp)
    return Decimal(q).scaleb(-dp) if dp >= 0 else Decimal(q).scaleb(-dp).quantize(Decimal(1))


def _scaled_ratio(numerator: int, denominator: int, dp: int) -> int:
    """round_half_up(numerator / denominator × 10^dp) as an integer (the value in units of 10^-dp)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    a = abs(numerator)
    if dp >= 0:
        top, bottom = a * 10**dp, denominator
    else:
        top, bottom = a, denominator * 10 ** (-dp)
    return sign * ((2 * top + bottom) // (2 * bottom))


def round_to_base(n: int, base: int = 10) -> int:
    """An integer count rounded to the nearest ``base``, halves away from zero (45 → 50, 44 → 40, -45 → -50)."""
    sign = -1 if n < 0 else 1
    return sign * ((2 * abs(int(n)) + base) // (2 * base) * base)


def format_decimal(value: Decimal | int) -> str:
    """A number printed as DfE's files print it: ``18`` not ``18.0``, ``10.5`` not ``10.50``, never ``-0``."""
    d = Decimal(value)
    if d == 0:
        return "0"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


# --- polars expressions ----------------------------------------------------------------------------------------

def _expr(e: pl.Expr | str) -> pl.Expr:
    return pl.col(e) if isinstance(e, str) else e


def round_to_base_expr(count: pl.Expr | str, base: int = 10) -> pl.Expr:
    """Integer counts to the nearest ``base``, halves away from zero (Int64; nulls stay null)."""
    c = _expr(count).cast(pl.Int64)
    return (c.sign() * ((2 * c.abs() + base) // (2 * base) * base)).cast(pl.Int64)


def scaled_ratio_expr(numerator: pl.Expr | str, denominator: pl.Expr | str, dp: int, scale: int = 1,
                      mode: RoundingMode = "exact") -> pl.Expr:
    """``scale × numerator ÷ denominator`` rounded half up to ``dp`` places, as an Int64 of units of 10^-dp.

    ``mode="exact"`` needs integer numerator and denominator and uses integer arithmetic (null where the
    denominator is 0). ``mode="published_float"`` reproduces DfE's files: ``x = numerator / denominator * scale``
    in float64, then ``trunc(|x| × 10^dp + 0.5)`` without ``dfeR``'s ``sqrt(eps)``.
    """
    if dp < 0:
        raise ValueError("ratios are rounded to 0 or more decimal places; round counts with round_to_base_expr")
    n, d = _expr(numerator), _expr(denominator)
    if mode == "published_float":
        x = n.cast(pl.Float64) / d.cast(pl.Float64) * float(scale)
        out = (x.abs() * float(10**dp) + 0.5).floor() * x.sign()
        return pl.when(d == 0).then(None).otherwise(out).cast(pl.Int64)
    if mode != "exact":
        raise ValueError(f"unknown rounding mode {mode!r}")
    n, d = n.cast(pl.Int64), d.cast(pl.Int64)
    factor = scale * 10**dp
    top = n.abs() * factor
    q = (2 * top + d.abs()) // (2 * d.abs())
    sign = n.sign() * d.sign()
    return pl.when(d == 0).then(None).otherwise(sign * q).cast(pl.Int64)


def scaled_half_up_expr(value: pl.Expr | str, dp: int, mode: RoundingMode = "exact") -> pl.Expr:
    """A float value rounded half up to ``dp`` places as an Int64 of units of 10^-dp (``dfeR::round_five_up``).

    ``mode="exact"`` is ``round_five_up`` itself (with ``sqrt(eps)``, so 2.675 → 2.68 and 0.125 → 0.13);
    ``mode="published_float"`` drops the ``sqrt(eps)`` as DfE's outcome files do.
    """
    v = _expr(value).cast(pl.Float64)
    eps = DFER_EPSILON if mode == "exact" else 0.0
    return ((v.abs() * float(10.0**dp) + 0.5 + eps).floor() * v.sign()).cast(pl.Int64)


def half_up_expr(value: pl.Expr | str, dp: int = 0, mode: RoundingMode = "exact") -> pl.Expr:
    """``dfeR::round_five_up(value, dp)`` as a Float64 expression (negative ``dp`` for nearest 10, 100, ...)."""
    v = _expr(value).cast(pl.Float64)
    eps = DFER_EPSILON if mode == "exact" else 0.0
    return (v.abs() * float(10.0**dp) + 0.5 + eps).floor() / float(10.0**dp) * v.sign()


def format_scaled_expr(scaled: pl.Expr | str, dp: int) -> pl.Expr:
    """Print an Int64 of units of 10^-dp as DfE prints numbers: ``181`` at dp 1 → ``18.1``, ``180`` → ``18``."""
    s = _expr(scaled).cast(pl.Int64)
    if dp <= 0:
        return (s * 10 ** (-dp)).cast(pl.Utf8)
    unit = 10**dp
    a = s.abs()
    whole = (a // unit).cast(pl.Utf8)
    frac = ((a % unit) + unit).cast(pl.Utf8).str.slice(1).str.strip_chars_end("0")
    body = pl.when(frac == "").then(whole).otherwise(pl.concat_str([whole, pl.lit("."), frac]))
    return pl.when(s.is_null()).then(None).when(s < 0).then(pl.concat_str([pl.lit("-"), body])).otherwise(body)


def check_exact_range(frame: pl.DataFrame, numerator: str, scale: int, dp: int) -> None:
    """Raise if the exact integer path could overflow Int64 for this numerator column."""
    m = frame.select(pl.col(numerator).cast(pl.Int64).abs().max()).item()
    if m is not None and 2 * m * scale * 10**dp >= _INT64_LIMIT:
        raise OverflowError(f"{numerator}: values up to {m} are too large for exact rounding at {dp} dp")
