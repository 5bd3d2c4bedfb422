"""A reporting year's returns from every local authority, read into national tables.

Each LA's files are read on their own: a file that cannot be used is reported by name and left out, and every
other LA's data is still read. The national tables are the LAs' tables stacked in LA number order, each LA's rows
in the order of its file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cin_outcomes import tables
from cin_outcomes.geography import las_in_year
from cin_outcomes.ingest.cin_census import parse_cin_census
from cin_outcomes.ingest.report import IngestError, Problem
from cin_outcomes.ingest.ssda903 import asset_name, read_folder
from cin_outcomes.years import ReportingYear

CIN_CENSUS = "cin_census"
SSDA903 = "ssda903"
SOURCES = (CIN_CENSUS, SSDA903)
CIN_FILE = "cin_census.xml"
SSDA903_DIR = "ssda903"

#: Ingest table name -> canonical schema: the six CIN tables and the 903 tables as ``cla_<table>``.
CIN_SCHEMAS: dict[str, dict[str, pl.DataType]] = dict(tables.CIN_TABLES)
CLA_SCHEMAS: dict[str, dict[str, pl.DataType]] = {asset_name(t): s for t, s in tables.SSDA903_TABLES.items()}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {**CIN_SCHEMAS, **CLA_SCHEMAS}
#: 903 table name (Header, Episodes, ...) -> ingest table name (cla_header, cla_episodes, ...).
CLA_TABLE_NAMES: dict[str, str] = {t: asset_name(t) for t in tables.SSDA903_TABLES}


@dataclass
class IngestResult:
    """One reporting year's returns as national tables, with what went wrong file by file.

    ``sources[table][la_code]`` is the landing file (relative to the landing root) each LA's rows came from.
    ``missing_returns[source]`` lists the LAs expected to make a return that year that delivered none.
    """

    year: ReportingYear
    tables: dict[str, pl.DataFrame]
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_returns: dict[str, list[str]] = field(default_factory=dict)

    def rows_by_la(self, table: str) -> dict[str, int]:
        """Rows per LA of one table (LAs in number order)."""
        df = self.tables[table]
        counts = df.group_by("la_code").len().sort("la_code")
        return dict(zip(counts["la_code"].to_list(), counts["len"].to_list()))

    def problems_for(self, source: str) -> list[Problem]:
        """The problems with one source's files (``cin_census`` or ``ssda903``)."""
        def of(p: Problem) -> str | None:
            f = f"/{p.file}"
            return CIN_CENSUS if f.endswith(f"/{CIN_FILE}") else SSDA903 if f"/{SSDA903_DIR}/" in f else None

        # Problems with a whole LA folder concern every source.
        return [p for p in self.problems if of(p) in (source, None)]


def _la_folders(year_dir: Path, year: ReportingYear, problems: list[Problem]) -> list[tuple[str, Path]]:
    if not year_dir.is_dir():
        return []
    known = set(las_in_year(year)["old_la_code"].to_list())
    out = []
    for p in sorted(year_dir.iterdir()):
        if not p.is_dir() or p.name == "npd" or p.name.startswith("."):
            continue
        if not re.fullmatch(r"\d{3}", p.name) or p.name not in known:
            problems.append(Problem(file=f"{year.label}/{p.name}/", la_code=p.name, rule="LA number",
                                    message=f"the folder is not the number of an LA making returns in {year.label}",
                                    fatal=True))
            continue
        out.append((p.name, p))
    return out


def parse_year(
    landing: str | os.PathLike,
    year: ReportingYear | str,
    sources: tuple[str, ...] = SOURCES,
) -> IngestResult:
    """Read every LA's CIN census and/or SSDA903 return for one reporting year from the landing folder.

    Layout: ``<landing>/<2024-25>/<LA number>/cin_census.xml`` and ``.../<LA number>/ssda903/<Table>.csv``.
    Files are only read, never changed.
    """
    year = ReportingYear.parse(year)
    landing = Path(landing)
    problems: list[Problem] = []
    la_dirs = _la_folders(landing / year.label, year, problems)
    expected = sorted(las_in_year(year)["old_la_code"].to_list())

    parts: dict[str, list[pl.DataFrame]] = {}
    table_sources: dict[str, dict[str, str]] = {}
    missing: dict[str, list[str]] = {}
    names: list[str] = []

    if CIN_CENSUS in sources:
        names += list(CIN_SCHEMAS)
        delivered = set()
        for la, d in la_dirs:
            path = d / CIN_FILE
            if not path.is_file():
                continue
            delivered.add(la)
            shown = path.relative_to(landing).as_posix()
            try:
                frames = parse_cin_census(path, year, la, problems=problems, display_name=shown)
            except IngestError as e:
                problems.append(e.problem)
                continue
            for t, df in frames.items():
                parts.setdefault(t, []).append(df)
                table_sources.setdefault(t, {})[la] = shown
        missing[CIN_CENSUS] = [la for la in expected if la not in delivered]

    if SSDA903 in sources:
        names += list(CLA_SCHEMAS)
        delivered = set()
        for la, d in la_dirs:
            folder = d / SSDA903_DIR
            if not folder.is_dir():
                continue
            delivered.add(la)
            frames, files, probs = read_folder(folder, year, la, display_root=landing)
            problems.extend(probs)
            for t, df in frames.items():
                name = CLA_TABLE_NAMES[t]
                parts.setdefault(name, []).append(df)
                if t in files:
                    table_sources.setdefault(name, {})[la] = files[t]
        missing[SSDA903] = [la for la in expected if la not in delivered]

    out = {}
    for name in names:
        frames = [df for df in parts.get(name, []) if df.height]
        out[name] = pl.concat(frames, how="vertical", rechunk=True) if frames else tables.empty(SCHEMAS[name])
    return IngestResult(year=year, tables=out, problems=problems, sources=table_sources, missing_returns=missing)


__all__ = ["CIN_SCHEMAS", "CLA_SCHEMAS", "CLA_TABLE_NAMES", "IngestResult", "SCHEMAS", "SOURCES", "parse_year"]
