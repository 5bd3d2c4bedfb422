"""Half-up rounding (dfeR::round_five_up) against hand-worked values and against polars' half-to-even default."""

from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest

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


@pytest.mark.parametrize(("value", "dp", "expected"), [
    (0.5, 0, "1"), (1.5, 0, "2"), (2.5, 0, "3"), (3.5, 0, "4"),      # half-to-even would give 0, 2, 2, 4
    (-2.5, 0, "-3"), (-0.5, 0, "-1"),                                  # away from zero, like sign(x) * trunc(...)
    (2.675, 2, "2.68"), (0.125, 2, "0.13"), (1.005, 2, "1.01"),        # binary floats just below the half
    (0.285, 2, "0.29"), (2.665, 2, "2.67"),
    (2485.85, 2, "2485.85"), (2485.85, 1, "2485.9"), (2485.85, 0, "2486"),  # dfeR's own examples
    (2485.85, -1, "2490"), (2485.85, -2, "2500"),
    (45, -1, "50"), (44, -1, "40"), (-45, -1, "-50"), (25, -1, "30"), (15, -1, "20"), (5, -1, "10"), (4, -1, "0"),
    (Decimal("18.05"), 1, "18.1"), ("0.0049", 2, "0"),
])
def test_round_half_up_hand_values(value, dp, expected):
    assert format_decimal(round_half_up(value, dp)) == expected


def test_polars_default_is_half_to_even_so_it_must_not_be_used():
    s = pl.Series([0.5, 1.5, 2.5, 45 / 10])
    assert s.round(0).to_list() == [0.0, 2.0, 2.0, 4.0]          # the trap
    got = pl.select(half_up_expr(pl.lit(s), 0).alias("v"))["v"].to_list()
    assert got == [1.0, 2.0, 3.0, 5.0]


def test_half_up_expr_matches_dfer_including_its_epsilon():
    xs = [2.675, 1.005, 0.285, -2.5, 2485.85, 2485.85]
    dps = [2, 2, 2, 0, -1, -2]
    got = [pl.select(half_up_expr(pl.lit(x), dp).alias("v")).item() for x, dp in zip(xs, dps)]
    assert got == [2.68, 1.01, 0.29, -3.0, 2490.0, 2500.0]
    # without dfeR's sqrt(eps) the binary value of 1.005 (1.00499999999999989...) rounds down
    assert pl.select(half_up_expr(pl.lit(1.005), 2, mode="published_float").alias("v")).item() == 1.0


@pytest.mark.parametrize(("num", "den", "dp", "scale", "expected"), [
    (23, 40, 0, 100, "58"),        # 57.5 % -> 58 (23/40*100 is 57.49999999999999 in binary)
    (33, 40, 0, 100, "83"),        # 82.5 % -> 83, half-to-even would give 82
    (23, 80, 1, 100, "28.8"),      # 28.75
    (513, 3600, 1, 100, "14.3"),   # 14.25
    (1, 8, 2, 1, "0.13"),          # 0.125
    (-1, 8, 2, 1, "-0.13"),
    (1, 3, 1, 100, "33.3"),
    (2, 3, 1, 100, "66.7"),
    (10, 20629, 1, 100, "0"),      # 0.048 % rounds to zero (published as k)
    (0, 7, 1, 100, "0"),
    (13260, 13260, 1, 100, "100"),
])
def test_ratio_exact_hand_values(num, den, dp, scale, expected):
    assert format_decimal(round_ratio_half_up(num, den, dp, scale)) == expected
    frame = pl.DataFrame({"n": [num], "d": [den]})
    got = frame.select(format_scaled_expr(scaled_ratio_expr("n", "d", dp, scale), dp).alias("v")).item()
    assert got == expected


def test_ratio_zero_denominator_is_null_and_plain_function_refuses():
    frame = pl.DataFrame({"n": [3], "d": [0]})
    assert frame.select(scaled_ratio_expr("n", "d", 1, 100).alias("v")).item() is None
    with pytest.raises(ZeroDivisionError):
        round_ratio_half_up(3, 0, 1, 100)


def test_ratio_expression_equals_rational_arithmetic_on_every_small_fraction():
    # Independent reference: Fraction arithmetic, floor(|q| * 10^dp + 1/2) with the sign put back.
    nums, dens = zip(*[(n, d) for d in range(1, 121) for n in range(0, d + 1)])
    frame = pl.DataFrame({"n": nums, "d": dens})
    for dp in (0, 1, 2):
        got = frame.select(scaled_ratio_expr("n", "d", dp, 100).alias("v"))["v"].to_list()
        want = [int(Fraction(100 * n, d) * 10**dp + Fraction(1, 2)) for n, d in zip(nums, dens)]
        assert got == want


def test_published_float_mode_reproduces_dfe_binary_ties():
    # In DfE's 2025 files 23 of 40 is printed 57 (KS2, 0 dp) and 23 of 80 as 28.7 (KS4, 1 dp): the float
    # 23/40*100 = 57.49999999999999 was rounded without dfeR's epsilon. 33/40 (82.5 exactly in binary) goes up.
    frame = pl.DataFrame({"n": [23, 23, 33, 41], "d": [40, 80, 40, 80]})
    dp = [0, 1, 0, 1]
    got = [frame[i].select(format_scaled_expr(scaled_ratio_expr("n", "d", dp[i], 100, mode="published_float"),
                                              dp[i]).alias("v")).item() for i in range(4)]
    assert got == ["57", "28.7", "83", "51.2"]


def test_round_to_base_halves_up_and_away_from_zero():
    values = [0, 4, 5, 14, 15, 25, 35, 45, 13255, 13264, -5, -45, -44]
    expected = [0, 0, 10, 10, 20, 30, 40, 50, 13260, 13260, -10, -50, -40]
    assert [round_to_base(v) for v in values] == expected
    got = pl.DataFrame({"n": values}).select(round_to_base_expr("n"))["n"].to_list()
    assert got == expected
    # polars' own rounding of count / 10 is half-to-even: 25 -> 20, 45 -> 40
    assert ((pl.Series([25.0, 45.0]) / 10).round(0) * 10).to_list() == [20.0, 40.0]


def test_scaled_half_up_of_totals_and_formatting():
    frame = pl.DataFrame({"v": [228722.25, 10148.5, -16.415, 0.0, None]})
    got = frame.select(format_scaled_expr(scaled_half_up_expr("v", 2), 2).alias("s"))["s"].to_list()
    assert got == ["228722.25", "10148.5", "-16.42", "0", None]


@pytest.mark.parametrize(("scaled", "dp", "text"), [
    (181, 1, "18.1"), (180, 1, "18"), (0, 1, "0"), (-5, 2, "-0.05"), (1234500, 2, "12345"), (7, 0, "7"),
    (-120, 2, "-1.2"), (3, -1, "30"),
])
def test_format_scaled_prints_like_the_published_files(scaled, dp, text):
    assert pl.DataFrame({"s": [scaled]}).select(format_scaled_expr("s", dp)).item() == text


def test_format_decimal_strips_trailing_zeros_and_negative_zero():
    assert [format_decimal(Decimal(x)) for x in ("18.0", "10.50", "-0.00", "100", "0.05")] == [
        "18", "10.5", "0", "100", "0.05"]
