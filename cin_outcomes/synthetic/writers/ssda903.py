"""Write an LA's SSDA903 return for a year as the DfE CSV tables.

One CSV per table, named for the table (``Header.csv``, ``Episodes.csv``, ...), with exactly the upper-case column
set DfE's tools recognise the table by (:func:`cin_outcomes.tables.ssda903_csv_columns`), dates ``dd/mm/YYYY``,
empty values as empty fields. SEX is ``1``/``2`` before 2024-25 and ``M``/``F``/``U`` from 2024-25 (rule 101).
Only tables with rows are written, except Header and Episodes, which every return has; SWEpisodes exists from
2023-24. Rows are sorted by child and date, so the files are byte-identical for the same data.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import polars as pl

from cin_outcomes.tables import KEY, SSDA903_TABLES, ssda903_csv_columns
from cin_outcomes.years import ReportingYear

FIRST_MFU_YEAR = 2024  # SEX M/F/U from 2024-25
FIRST_SW_YEAR = 2023  # SWEpisodes table from 2023-24
SEX_CODES = {"M": "1", "F": "2"}
ALWAYS = ("Header", "Episodes")
SMALL = 5_000  # rows: below this a table is written with the csv module
SORT = {"Episodes": ["decom", "dec"], "Reviews": ["review"], "Missing": ["mis_start"], "SWEpisodes": ["sw_decom"]}


@lru_cache(maxsize=None)
def _columns(table: str, old_sex_codes: bool) -> tuple[pl.Expr, ...]:
    """The CSV columns of a table as text expressions (built once per table and sex code list)."""
    cols = []
    for c, t in SSDA903_TABLES[table].items():
        if c in KEY:
            continue
        e = pl.col(c)
        if t == pl.Date:
            e = e.dt.strftime("%d/%m/%Y")
        elif c == "sex" and old_sex_codes:
            e = e.replace_strict(SEX_CODES, default=e)
        else:
            e = e.cast(pl.Utf8)
        cols.append(e.alias(c.upper()))
    return tuple(cols)


def _rows(tables: dict[str, pl.DataFrame], table: str, year: ReportingYear, la_code: str) -> pl.DataFrame:
    return tables[table].filter((pl.col("reporting_year") == year.label) & (pl.col("la_code") == la_code))


def _write_csv(df: pl.DataFrame, path: Path) -> None:
    """CSV with a header line, empty fields for nulls, ``\\n`` line ends. Small tables go through the csv module
    (polars' writer has a fixed cost that dominates for the many small files of a national run)."""
    if df.height > SMALL:
        df.write_csv(path, line_terminator="\n")
        return
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(df.columns)
        w.writerows(["" if v is None else v for v in row] for row in df.iter_rows())


def write_ssda903(tables: dict[str, pl.DataFrame], year: ReportingYear, la_code: str, folder: Path) -> list[Path]:
    """Write LA ``la_code``'s SSDA903 tables for ``year`` into ``folder``; return the files written."""
    year = ReportingYear.parse(year)
    own = {table: _rows(tables, table, year, la_code) for table in SSDA903_TABLES}
    return write_ssda903_year(own, year, [la_code], lambda _: folder)


def write_ssda903_year(
    tables: dict[str, pl.DataFrame], year: ReportingYear, la_codes: list[str], folder_of: Callable[[str], Path]
) -> list[Path]:
    """Write the SSDA903 tables of every LA in ``la_codes`` for ``year`` into ``folder_of(la_code)``.

    Each table is formatted in one pass over the year and cut by LA (:func:`write_ssda903` is this for one LA)."""
    year = ReportingYear.parse(year)
    written = []
    folders = {la: Path(folder_of(la)) for la in la_codes}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for table in SSDA903_TABLES:
        if table == "SWEpisodes" and year.start < FIRST_SW_YEAR:
            continue
        df = (
            tables[table]
            .filter(pl.col("reporting_year") == year.label)
            .sort(["la_code", "child", *SORT.get(table, [])], nulls_last=True)
            .select("la_code", *_columns(table, year.start < FIRST_MFU_YEAR))
        )
        parts = df.partition_by("la_code", as_dict=True, include_key=False)
        empty = df.drop("la_code").clear()
        assert empty.columns == ssda903_csv_columns(table)
        for la in la_codes:
            part = parts.get((la,), empty)
            if part.height == 0 and table not in ALWAYS:
                continue
            path = folders[la] / f"{table}.csv"
            _write_csv(part, path)
            written.append(path)
    return written
