"""Geographic levels of the outcome tables: England, regions (with London and Inner/Outer London), and LAs.

A row of a linked dataset belongs to the LA that returned the child (``la_code``); ``All pupils comparison`` rows
have no LA and count only for England. LA rows carry their region as in the outcome files (London LAs: Inner or
Outer London); regional figures are given for the eight regions outside London, for Inner London and Outer London,
and for London as a whole. Column names and values follow EES (``geographic_level`` = ``National``, ``Regional``,
``Local authority``; ``country_code`` E92000001).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl

from cin_outcomes.geography import ENGLAND, INNER_OUTER_LONDON, LONDON, all_las, las_in_year
from cin_outcomes.years import ReportingYear

NATIONAL, REGIONAL, LOCAL_AUTHORITY = "National", "Regional", "Local authority"
LEVELS = (NATIONAL, REGIONAL, LOCAL_AUTHORITY)
#: Geography columns of every aggregated frame, in EES order.
GEO_COLUMNS = ["geographic_level", "country_code", "country_name", "region_code", "region_name", "old_la_code",
               "la_name", "new_la_code"]
#: The columns that identify a geographic unit (the rest are its names).
UNIT_KEY = ["geographic_level", "region_code", "old_la_code"]


def level_order() -> pl.Expr:
    """Sort key putting National rows first, then Regional, then LA rows, as in the published files."""
    return pl.col("geographic_level").replace_strict({lv: i for i, lv in enumerate(LEVELS)}, default=len(LEVELS),
                                                     return_dtype=pl.Int8)


def la_lookup(years: Sequence[ReportingYear | str]) -> pl.DataFrame:
    """``reporting_year``, ``la_code`` -> new code, name and region, for the LAs of each year (an LA code of
    another era falls back to its latest entry in the lookup)."""
    frames = []
    fallback = all_las().sort("last_year_end", descending=True).unique("old_la_code", keep="first")
    for y in sorted({ReportingYear.parse(y) for y in years}):
        las = pl.concat([las_in_year(y), fallback], how="vertical_relaxed").unique("old_la_code", keep="first")
        frames.append(las.select(reporting_year=pl.lit(y.label), la_code=pl.col("old_la_code"),
                                 new_la_code="new_la_code", la_name="la_name", region_code="region_code",
                                 region_name="region_name"))
    if not frames:
        return pl.DataFrame(schema={"reporting_year": pl.Utf8, "la_code": pl.Utf8, "new_la_code": pl.Utf8,
                                    "la_name": pl.Utf8, "region_code": pl.Utf8, "region_name": pl.Utf8})
    return pl.concat(frames)


def _null(name: str) -> pl.Expr:
    return pl.lit(None, pl.Utf8).alias(name)


def _country() -> list[pl.Expr]:
    return [pl.lit(ENGLAND[0]).alias("country_code"), pl.lit(ENGLAND[1]).alias("country_name")]


def units(df: pl.LazyFrame, levels: Sequence[str] = LEVELS) -> Iterator[tuple[str, pl.LazyFrame]]:
    """For each level, ``df`` with the geography columns of the unit each row counts in (London LA rows count in
    their Inner/Outer London region and again in London). ``df`` needs ``reporting_year`` and ``la_code``."""
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise ValueError(f"unknown geographic level(s) {unknown}; levels are {', '.join(LEVELS)}")
    years = df.select(pl.col("reporting_year").unique()).collect()["reporting_year"].to_list()
    lookup = la_lookup([y for y in years if y is not None]).lazy()
    with_la = df.filter(pl.col("la_code").is_not_null()).join(lookup, on=["reporting_year", "la_code"], how="left")
    for level in levels:
        if level == NATIONAL:
            yield level, df.with_columns(pl.lit(NATIONAL).alias("geographic_level"), *_country(),
                                         _null("region_code"), _null("region_name"), _null("old_la_code"),
                                         _null("la_name"), _null("new_la_code"))
        elif level == REGIONAL:
            own = with_la.filter(pl.col("region_code").is_not_null())
            london = own.filter(pl.col("region_code").is_in(list(INNER_OUTER_LONDON))).with_columns(
                region_code=pl.lit(LONDON[0]), region_name=pl.lit(LONDON[1]))
            yield level, pl.concat([own, london]).with_columns(
                pl.lit(REGIONAL).alias("geographic_level"), *_country(), _null("old_la_code"), _null("la_name"),
                _null("new_la_code"))
        else:
            yield level, with_la.with_columns(pl.lit(LOCAL_AUTHORITY).alias("geographic_level"), *_country(),
                                              pl.col("la_code").alias("old_la_code"))


def all_units(years: Sequence[ReportingYear | str], levels: Sequence[str] = LEVELS) -> pl.DataFrame:
    """Every geographic unit of each year (England, the regions with London, every LA returning that year), with
    ``reporting_year`` and the geography columns: the rows a complete table has."""
    frames = []
    for y in sorted({ReportingYear.parse(y) for y in years}):
        las = las_in_year(y)
        if NATIONAL in levels:
            frames.append(pl.DataFrame({"geographic_level": [NATIONAL]}).with_columns(
                *_country(), _null("region_code"), _null("region_name"), _null("old_la_code"), _null("la_name"),
                _null("new_la_code"), reporting_year=pl.lit(y.label)))
        if REGIONAL in levels:
            regions = las.select("region_code", "region_name").unique()
            if regions.filter(pl.col("region_code").is_in(list(INNER_OUTER_LONDON))).height:
                regions = pl.concat([regions, pl.DataFrame({"region_code": [LONDON[0]], "region_name": [LONDON[1]]})])
            frames.append(regions.with_columns(
                pl.lit(REGIONAL).alias("geographic_level"), *_country(), _null("old_la_code"), _null("la_name"),
                _null("new_la_code"), reporting_year=pl.lit(y.label)))
        if LOCAL_AUTHORITY in levels:
            frames.append(las.select(
                pl.lit(LOCAL_AUTHORITY).alias("geographic_level"), *_country(), "region_code", "region_name",
                pl.col("old_la_code"), "la_name", "new_la_code", reporting_year=pl.lit(y.label)))
    if not frames:
        return pl.DataFrame(schema={c: pl.Utf8 for c in [*GEO_COLUMNS, "reporting_year"]})
    return pl.concat([f.select(*GEO_COLUMNS, "reporting_year") for f in frames], how="vertical_relaxed")
