"""Where the pipeline reads its landing files and writes its warehouse, and the landing layout itself.

Landing layout (one folder per reporting year, named by its label):

- ``<landing>/<year label>/<la_code>/cin_census.xml``: an LA's CIN census return;
- ``<landing>/<year label>/<la_code>/ssda903/*.csv``: an LA's SSDA903 return (one CSV per table);
- ``<landing>/<year label>/npd/*.parquet``: the National Pupil Database modules for the year.

Both roots are configurable: the landing root by the ``landing`` resource or ``CIN_OUTCOMES_LANDING``
(default ``data/landing`` in the project folder), the warehouse by the IO manager or ``CIN_OUTCOMES_WAREHOUSE``
(default ``warehouse`` in the project folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import dagster as dg
from pydantic import Field

from cin_outcomes.years import ReportingYear

#: The three sources that land, in the order they are shown.
SOURCES = ("cin_census", "ssda903", "npd")
_LA_CODE = re.compile(r"^\d{3}$")


def project_root() -> Path:
    """The project folder (the one holding ``pyproject.toml``) when run from a checkout, else the working folder."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def default_landing_root() -> str:
    """``CIN_OUTCOMES_LANDING``, else ``data/landing`` in the project folder."""
    return os.environ.get("CIN_OUTCOMES_LANDING") or str(project_root() / "data" / "landing")


def default_warehouse_root() -> str:
    """``CIN_OUTCOMES_WAREHOUSE``, else ``warehouse`` in the project folder."""
    return os.environ.get("CIN_OUTCOMES_WAREHOUSE") or str(project_root() / "warehouse")


class LandingRoot(dg.ConfigurableResource):
    """The folder where the CIN census, SSDA903 and NPD deliveries land, one sub-folder per reporting year."""

    path: Optional[str] = Field(
        default=None,
        description="Landing folder; unset means $CIN_OUTCOMES_LANDING, else data/landing in the project folder.",
    )

    @property
    def root(self) -> Path:
        return Path(self.path or default_landing_root())

    def year_dir(self, year: str | ReportingYear) -> Path:
        """``<landing>/2019-20``: every file delivered for one reporting year."""
        return self.root / ReportingYear.parse(year).label

    def la_codes(self, year: str | ReportingYear) -> list[str]:
        """The LAs (3-digit DfE numbers) with a folder in that year's delivery, sorted."""
        d = self.year_dir(year)
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if p.is_dir() and _LA_CODE.match(p.name))

    def cin_census_files(self, year: str | ReportingYear) -> dict[str, Path]:
        """LA code -> that LA's CIN census XML for the year (LAs that sent one)."""
        out = {}
        for la in self.la_codes(year):
            f = self.year_dir(year) / la / "cin_census.xml"
            if f.is_file():
                out[la] = f
        return out

    def ssda903_files(self, year: str | ReportingYear) -> dict[str, dict[str, Path]]:
        """LA code -> {903 table name (file stem, e.g. ``Episodes``): CSV path} for the year."""
        out = {}
        for la in self.la_codes(year):
            d = self.year_dir(year) / la / "ssda903"
            files = {f.stem: f for f in sorted(d.glob("*.csv")) if f.is_file()} if d.is_dir() else {}
            if files:
                out[la] = files
        return out

    def npd_files(self, year: str | ReportingYear) -> dict[str, Path]:
        """NPD module name (file stem) -> parquet path for the year."""
        d = self.year_dir(year) / "npd"
        return {f.stem: f for f in sorted(d.glob("*.parquet")) if f.is_file()} if d.is_dir() else {}

    def source_files(self, source: str, year: str | ReportingYear) -> list[Path]:
        """Every file of one source delivered for one year, in a stable order (what the landing sensor hashes)."""
        if source == "cin_census":
            return list(self.cin_census_files(year).values())
        if source == "ssda903":
            return [p for tables in self.ssda903_files(year).values() for p in tables.values()]
        if source == "npd":
            return list(self.npd_files(year).values())
        raise ValueError(f"unknown landing source {source!r}; expected one of {', '.join(SOURCES)}")

    def years(self) -> list[ReportingYear]:
        """Every reporting year with a landing folder (folders not named like ``2019-20`` are ignored)."""
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.iterdir():
            if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name):
                try:
                    out.append(ReportingYear.parse(p.name))
                except ValueError:
                    continue
        return sorted(out)
