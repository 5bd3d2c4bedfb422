"""Local authorities of England as they made returns, with their codes, regions and reorganisations.

The lookup (``reference/las.csv``) is derived from DfE's published CIN tables by
``scripts/derive_geography.py``. London LAs carry Inner or Outer London as their region, as in the outcome files.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import polars as pl

from cin_outcomes.years import ReportingYear

ENGLAND = ("E92000001", "England")
LONDON = ("E12000007", "London")
INNER_OUTER_LONDON = ("E13000001", "E13000002")


@lru_cache(maxsize=1)
def all_las() -> pl.DataFrame:
    """Every LA code era: old_la_code, new_la_code, la_name, region_code, region_name, first/last year end."""
    path = resources.files("cin_outcomes.reference").joinpath("las.csv")
    with path.open("rb") as f:
        return pl.read_csv(f, schema_overrides={"old_la_code": pl.Utf8, "predecessors": pl.Utf8}).with_columns(
            pl.col("predecessors").fill_null("")
        )


def las_in_year(year: ReportingYear | str | int) -> pl.DataFrame:
    """The LAs that make returns for a reporting year (e.g. Northamptonshire to 2020-21, then North and West)."""
    y = ReportingYear.parse(year).end_year
    return all_las().filter((pl.col("first_year_end") <= y) & (pl.col("last_year_end") >= y)).sort("old_la_code")


def la_codes() -> frozenset[str]:
    """Every DfE 3-digit LA number that has made a return (valid in UPN characters 2-4)."""
    return frozenset(all_las()["old_la_code"].to_list())
