"""Placement and length of the period of care at 31 March: the breakdowns of looked-after children.

Both describe the SSDA903 episode open on 31 March of the reporting year, so they apply to the groups looked after
at 31 March (``CLA at 31 March``, ``CLA 12 months at 31 March``, ``CLA less than 12 months at 31 March``); other
groups have no item (they appear only under ``Total``).

* ``placement``: the placement type (``PLACE``) of that episode, grouped as in the EES data dictionary's
  ``placement`` filter (ees-screener-rules.md): foster placements (U1-U6), placed for adoption (A3-A6), placed
  with parents or another person with parental responsibility (P1), independent and semi-independent living /
  supported accommodation (H5, P2, and K3 from 2025-26), secure homes and children's homes (K1, K2), and other
  placements (residential care homes, NHS and family centres, residential schools, young offender institutions,
  residential employment, temporary placements and other: R1-R5, S1, P3, T0-T4, Z1, Z11-Z14).
* ``period_of_care_length``: completed months from the start of the period of care that the episode belongs to
  (the first episode of its chain of episodes ending with reason ``X1`` and starting the day the previous one
  ended) to 31 March. The chain is followed back through the returns of the six reporting years ending with the
  year: an episode already open on 1 April five years earlier puts the child in the top band (6 years or more)
  whatever its true start. Bands as the EES data dictionary's ``period_of_care_length``: its first and last items
  are verified ("1. Less than 12 months (0-11 months looked after)", "8. More than 71 months (6 years or more
  looked after)"); the six bands between are [UNVERIFIED] (not found in any source) and are defined here once.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from cin_outcomes.years import ReportingYear

FOSTER = "Foster placements"
ADOPTION = "Placed for adoption"
PARENTS = "Placed with parents or other person with parental responsibility"
INDEPENDENT = "Independent and semi-independent living arrangements / supported accommodation"
HOMES = "Secure homes and children's homes"
OTHER = "Other placements"
PLACEMENT_ITEMS = (FOSTER, INDEPENDENT, OTHER, ADOPTION, PARENTS, HOMES)

PLACEMENT_GROUP: dict[str, str] = {
    **{f"U{i}": FOSTER for i in range(1, 7)},
    **{f"A{i}": ADOPTION for i in range(3, 7)},
    "P1": PARENTS,
    "H5": INDEPENDENT, "P2": INDEPENDENT, "K3": INDEPENDENT,
    "K1": HOMES, "K2": HOMES,
}

#: (lowest completed month, label), in order; the last band has no upper limit.
POC_BANDS: tuple[tuple[int, str], ...] = (
    (0, "1. Less than 12 months (0-11 months looked after)"),
    (12, "2. 12 to 17 months"),
    (18, "3. 18 to 23 months"),
    (24, "4. 24 to 35 months"),
    (36, "5. 36 to 47 months"),
    (48, "6. 48 to 59 months"),
    (60, "7. 60 to 71 months"),
    (72, "8. More than 71 months (6 years or more looked after)"),
)
POC_ITEMS = tuple(label for _, label in POC_BANDS)

#: The groups these breakdowns describe (EES labels).
CLA_AT_31_MARCH_GROUPS = ("CLA at 31 March", "CLA 12 months at 31 March", "CLA less than 12 months at 31 March")


def placement_group(place: str | pl.Expr) -> pl.Expr:
    """The ``placement`` item of a 903 placement code; any other code is ``Other placements``."""
    p = pl.col(place) if isinstance(place, str) else place
    return pl.when(p.is_null()).then(None).otherwise(
        p.replace_strict(PLACEMENT_GROUP, default=OTHER, return_dtype=pl.Utf8))


def poc_band(months: str | pl.Expr) -> pl.Expr:
    """The ``period_of_care_length`` item of a number of completed months."""
    m = pl.col(months) if isinstance(months, str) else months
    expr = pl.when(m.is_null()).then(pl.lit(None, pl.Utf8))
    for (_, label), (hi, _) in zip(POC_BANDS, POC_BANDS[1:]):
        expr = expr.when(m < hi).then(pl.lit(label))
    return expr.otherwise(pl.lit(POC_BANDS[-1][1]))


def completed_months(start: pl.Expr, end) -> pl.Expr:
    """Whole months from ``start`` to the date ``end`` (31 March): 1 April 2024 -> 31 March 2025 is 11."""
    e = pl.lit(end)
    return ((e.dt.year().cast(pl.Int32) - start.dt.year().cast(pl.Int32)) * 12
            + (e.dt.month().cast(pl.Int32) - start.dt.month().cast(pl.Int32))
            - (e.dt.day().cast(pl.Int32) < start.dt.day().cast(pl.Int32)).cast(pl.Int32))


def care_at_31_march(episodes: pl.DataFrame | Iterable[pl.DataFrame], year: ReportingYear | str) -> pl.DataFrame:
    """Per child looked after at 31 March of ``year`` (``la_code``, ``la_child_id``): the open episode's
    ``placement`` group and the ``period_of_care_length`` band, with ``poc_months``.

    ``episodes``: the ``cla_episodes`` tables of the year and up to five years before (one frame or several); an
    episode returned in several years is taken from the latest return (its end date and reason may have been
    completed since).
    """
    year = ReportingYear.parse(year)
    frames = [episodes] if isinstance(episodes, pl.DataFrame) else list(episodes)
    first = (year - 5).label
    eps = pl.concat([f.select("reporting_year", "la_code", "child", "decom", "rne", "dec", "rec", "place")
                     for f in frames], how="vertical_relaxed") if frames else pl.DataFrame(
        schema={"reporting_year": pl.Utf8, "la_code": pl.Utf8, "child": pl.Utf8, "decom": pl.Date, "rne": pl.Utf8,
                "dec": pl.Date, "rec": pl.Utf8, "place": pl.Utf8})
    eps = (
        eps.filter((pl.col("reporting_year") >= first) & (pl.col("reporting_year") <= year.label)
                   & pl.col("decom").is_not_null())
        .sort(["la_code", "child", "decom", "reporting_year"], descending=[False, False, False, True])
        .unique(subset=["la_code", "child", "decom"], keep="first", maintain_order=True)
        .sort(["la_code", "child", "decom"])
    )
    key = ["la_code", "child"]
    prev_dec = pl.col("dec").shift(1).over(key)
    prev_rec = pl.col("rec").shift(1).over(key)
    starts = (prev_dec.is_null() | (prev_rec != "X1").fill_null(True) | (prev_dec != pl.col("decom"))
              | (pl.col("rne") == "S").fill_null(False))
    eps = eps.with_columns(_period=starts.cast(pl.Int32).cum_sum().over(key))
    eps = eps.with_columns(_poc_start=pl.col("decom").min().over([*key, "_period"]))
    end = year.end_date
    open31 = eps.filter((pl.col("reporting_year") == year.label) & (pl.col("decom") <= end)
                        & (pl.col("dec").is_null() | (pl.col("dec") > end)))
    latest = open31.sort([*key, "decom"]).unique(subset=key, keep="last", maintain_order=True)
    return latest.select(
        "la_code",
        la_child_id=pl.col("child"),
        placement=placement_group("place"),
        poc_months=completed_months(pl.col("_poc_start"), end),
    ).with_columns(period_of_care_length=poc_band("poc_months")).sort("la_code", "la_child_id")
