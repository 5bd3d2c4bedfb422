"""Reading a local authority's SSDA903 return (children looked after, CSV tables) into the canonical CLA tables.

As DfE's 903 tools do, each CSV is recognised only by its exact set of column names (order free, file name
irrelevant), every value is read as text, empty cells are missing and all text is upper-cased; dates are
``dd/mm/YYYY``. Sex is normalised to ``M``/``F``/``U``: ``SEX`` is 1 (male) / 2 (female) in returns to 2023-24 and
``M``/``F``/``U`` from 2024-25 (rule 101). A file that matches no table, or a table delivered twice, is reported by
name and left out; the LA's other tables are still read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import polars as pl

from cin_outcomes import tables
from cin_outcomes.ingest import values as V
from cin_outcomes.ingest.report import CSV_LINE, Problem, collect_or_raise
from cin_outcomes.years import ReportingYear

#: First reporting year whose 903 SEX codes are M/F/U (rule 101 from lac2024_25); before it, 1/2.
SEX_CODES_CHANGE = ReportingYear(2024)
SEX_TO_2023_24 = {"1": "M", "2": "F"}
SEX_FROM_2024_25 = {"M": "M", "F": "F", "U": "U"}

_DATE = "%d/%m/%Y"
#: Table name -> its exact CSV column set.
COLUMN_SETS: dict[str, frozenset[str]] = {t: frozenset(tables.ssda903_csv_columns(t)) for t in tables.SSDA903_TABLES}
# DfE rule codes for fields whose failure to read has one; other dates are "date format", numbers "integer".
_DATE_RULES = {"dob": "102", "decom": "141", "dec": "147"}


def asset_name(table: str) -> str:
    """``cla_`` + the snake-case table name: Header -> cla_header, SWEpisodes -> cla_sw_episodes."""
    return "cla_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", table).lower()


def sex_codes(year: ReportingYear | str) -> dict[str, str]:
    """The year's SEX codes (rule 101) -> canonical sex."""
    return SEX_FROM_2024_25 if ReportingYear.parse(year) >= SEX_CODES_CHANGE else SEX_TO_2023_24


def _conversions(table: str, year: ReportingYear) -> dict[str, V.Conversion]:
    out: dict[str, V.Conversion] = {}
    for col, dtype in tables.SSDA903_TABLES[table].items():
        if col in tables.CLA_KEY:
            continue
        name = col.upper()
        if dtype == pl.Date:
            out[col] = V.date(_DATE, _DATE_RULES.get(col, "date format"), name)
        elif dtype.is_integer():
            out[col] = V.integer(dtype, "integer", name)
        elif col == "sex":
            out[col] = V.codes(sex_codes(year), "101", name)
    return out


def _header(path: Path) -> list[str]:
    return pl.read_csv(path, n_rows=0, infer_schema=False).columns


def identify(path: str | os.PathLike) -> str | None:
    """The 903 table a CSV holds, recognised by its exact column set; None when it matches none."""
    cols = _header(Path(path))
    if len(cols) != len(set(cols)):
        return None
    found = frozenset(cols)
    return next((t for t, s in COLUMN_SETS.items() if s == found), None)


def read_table(path: str | os.PathLike, table: str, year: ReportingYear | str, la_code: str, *,
               display_name: str | None = None) -> tuple[pl.DataFrame, list[Problem]]:
    """Read one recognised 903 CSV into its canonical table, with the values that could not be read."""
    year = ReportingYear.parse(year)
    name = display_name or str(path)
    raw = pl.read_csv(Path(path), infer_schema=False, empty_string_is_null=True, raise_if_empty=False)
    # Empty cells (quoted or not) are missing; all text upper-case, as DfE's tool reads it.
    raw = raw.select([
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c).str.to_uppercase()).alias(c.lower())
        for c in raw.columns
    ])
    # The header is line 1, so data row i (from 0) is on line i + 2.
    raw = raw.with_row_index(V.POSITION, offset=2).with_columns(pl.col(V.POSITION).cast(pl.Int64))
    df, problems = V.convert(raw, _conversions(table, year), file=name, la_code=la_code, unit=CSV_LINE,
                             table=asset_name(table))
    df = df.with_columns(pl.lit(year.label).alias("reporting_year"), pl.lit(la_code).alias("la_code"))
    return tables.conform(df, tables.SSDA903_TABLES[table]), problems


def read_folder(
    folder: str | os.PathLike,
    year: ReportingYear | str,
    la_code: str,
    *,
    display_root: str | os.PathLike | None = None,
) -> tuple[dict[str, pl.DataFrame], dict[str, str], list[Problem]]:
    """Every 903 table of one LA's return: (tables by 903 name, source file per table, problems).

    Tables the LA did not deliver are empty. Problems include files left out (fatal) as well as values that
    could not be read.
    """
    year = ReportingYear.parse(year)
    folder = Path(folder)

    def shown(p: Path) -> str:
        return p.relative_to(display_root).as_posix() if display_root else str(p)

    problems: list[Problem] = []
    found: dict[str, list[Path]] = {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []
    for path in files:
        if path.suffix.lower() != ".csv":
            problems.append(Problem(file=shown(path), la_code=la_code, rule="upload",
                                    message="not a CSV file; a 903 return is a set of CSV tables", fatal=True))
            continue
        try:
            table = identify(path)
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as e:
            problems.append(Problem(file=shown(path), la_code=la_code, rule="upload",
                                    message=f"the file cannot be read as CSV ({type(e).__name__})", fatal=True))
            continue
        if table is None:
            problems.append(Problem(file=shown(path), la_code=la_code, rule="upload",
                                    message="its column names match no SSDA903 table exactly", fatal=True))
            continue
        found.setdefault(table, []).append(path)

    out = {t: tables.empty(s) for t, s in tables.SSDA903_TABLES.items()}
    sources: dict[str, str] = {}
    for table, paths in found.items():
        if len(paths) > 1:
            for p in paths:
                problems.append(Problem(file=shown(p), la_code=la_code, rule="upload",
                                        message=f"the {table} table was delivered in {len(paths)} files; "
                                                "none of them was used", fatal=True))
            continue
        path = paths[0]
        try:
            out[table], probs = read_table(path, table, year, la_code, display_name=shown(path))
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as e:
            problems.append(Problem(file=shown(path), la_code=la_code, rule="upload",
                                    message=f"the file cannot be read as CSV ({type(e).__name__})", fatal=True))
            continue
        problems.extend(probs)
        sources[table] = shown(path)
    return out, sources, problems


def parse_ssda903(
    folder: str | os.PathLike,
    year: ReportingYear | str,
    la_code: str,
    *,
    problems: list[Problem] | None = None,
) -> dict[str, pl.DataFrame]:
    """Read one LA's 903 folder into every canonical CLA table (keyed by the 903 table name; empty if absent).

    Problems are appended to ``problems`` when a list is given; otherwise the first one raises
    :class:`IngestError` naming the file, the line and the rule.
    """
    out, _, found = read_folder(folder, year, la_code)
    collect_or_raise(found, problems)
    return out


def ssda903_folder(landing: str | os.PathLike, year: ReportingYear | str, la_code: str) -> Path:
    """Where an LA's 903 tables land: ``<landing>/<2024-25>/<la_code>/ssda903/``."""
    return Path(landing) / ReportingYear.parse(year).label / la_code / "ssda903"


__all__ = ["COLUMN_SETS", "asset_name", "identify", "parse_ssda903", "read_folder", "read_table", "sex_codes",
           "ssda903_folder"]
