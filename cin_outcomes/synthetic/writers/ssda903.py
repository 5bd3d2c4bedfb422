"""Write an LA's SSDA903 return for a year as the DfE CSV tables.

One CSV per table, named for the table (``Header.csv``, ``Episodes.csv``, ...), with exactly the upper-case column
set DfE's tools recognise the table by (:func:`cin_outcomes.tables.ssda903_csv_columns`), dates ``dd/mm/YYYY``,
empty values as empty fields. SEX is ``1``/``2`` before 2024-25 and ``M``/``F``/``U`` from 2024-25 (rule 101).
Only tables with rows are written, except Header and Episodes, which every return has; SWEpisodes exists from
2023-24. Rows are sorted by child and date, so the files are byte-identical for the same data.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cin_outcomes.tables import KEY, SSDA903_TABLES, ssda903_csv_columns
from cin_outcomes.years import ReportingYear

FIRST_MFU_YEAR = 2024  # SEX M/F/U from 2024-25
FIRST_SW_YEAR = 2023  # SWEpisodes table from 2023-24
SEX_CODES = {"M": "1", "F": "2"}
ALWAYS = ("Header", "Episodes")
SORT = {"Episodes": ["decom", "dec"], "Reviews": ["review"], "Missing": ["mis_start"], "SWEpisodes": ["sw_decom"]}


def ssda903_frame(tables: dict[str, pl.DataFrame], table: str, year: ReportingYear, la_code: str) -> pl.DataFrame:
    """The rows of one 903 table for the LA and year, as the CSV will hold them (all text)."""
    year = ReportingYear.parse(year)
    df = tables[table].filter((pl.col("reporting_year") == year.label) & (pl.col("la_code") == la_code))
    df = df.sort(["child", *SORT.get(table, [])], nulls_last=True)
    schema = SSDA903_TABLES[table]
    cols = []
    for c, t in schema.items():
        if c in KEY:
            continue
        e = pl.col(c)
        if t == pl.Date:
            e = e.dt.strftime("%d/%m/%Y")
        elif c == "sex" and year.start < FIRST_MFU_YEAR:
            e = e.replace_strict(SEX_CODES, default=e)
        else:
            e = e.cast(pl.Utf8)
        cols.append(e.alias(c.upper()))
    return df.select(cols)


def write_ssda903(tables: dict[str, pl.DataFrame], year: ReportingYear, la_code: str, folder: Path) -> list[Path]:
    """Write LA ``la_code``'s SSDA903 tables for ``year`` into ``folder``; return the files written."""
    year = ReportingYear.parse(year)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in SSDA903_TABLES:
        if table == "SWEpisodes" and year.start < FIRST_SW_YEAR:
            continue
        df = ssda903_frame(tables, table, year, la_code)
        if df.height == 0 and table not in ALWAYS:
            continue
        assert df.columns == ssda903_csv_columns(table)
        path = folder / f"{table}.csv"
        df.write_csv(path, line_terminator="\n")
        written.append(path)
    return written
