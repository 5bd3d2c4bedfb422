"""The education half of the synthetic England: schools, pupils' school careers and their NPD records.

``build_education(cfg, population, status)`` follows every state-school child of the population through reception
to year 11, year by year, and writes what the NPD would hold about them: the spring school census, EYFSP,
phonics, KS1, KS2 and KS4 results, absence by term and enrolment, suspensions and permanent exclusions, and the AP
census (schemas in :mod:`cin_outcomes.synthetic.npd_columns`). Each pupil's outcomes are conditioned on their
social care group at 31 March (``status``), so that national rates by group match the published outcome
statistics (targets derived by ``scripts/derive_outcome_targets.py``), with LA effects of the published spread.

Modules
    schools     the school register (sites, URNs, LAESTABs, academy conversions) and school choice
    careers     who is on roll where; SEN provision and type of need; FSM; special school, AP
    attainment  EYFSP, phonics, KS1, KS2, KS4 (with KS1 -> KS2 progress and KS2 -> KS4 Progress 8)
    attendance  school census and AP census frames, absence, exclusions
    calibrate   cut-points solved for the targets
    targets     the targets and the social care groups at 31 March
    report      ``calibration_report``: generated national rates against published ones
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.education import attainment, attendance
from cin_outcomes.synthetic.education.careers import Simulation
from cin_outcomes.synthetic.education.report import calibration_report
from cin_outcomes.synthetic.npd_columns import LA_COLUMN, MODULES
from cin_outcomes.synthetic.population import Population
from cin_outcomes.synthetic.writers.npd import npd_path, write_npd_module
from cin_outcomes.years import ReportingYear

#: Above this scale the modules are kept in Parquet files in a temporary folder instead of memory (all of England
#: is tens of millions of rows per year); either way ``modules`` reads the same.
SPILL_ABOVE_SCALE = 0.05


class ModuleStore(Mapping):
    """(reporting year, module) -> frame. Held in memory, or in Parquet files: in ``landing`` (the final layout,
    ``<landing>/<year>/npd/<module>.parquet``) or else in a temporary folder that lives as long as the store.
    ``file(key)`` gives a module's file, which the writer copies byte for byte (or leaves where it is)."""

    def __init__(self, spill: bool, landing: Path | None = None) -> None:
        self._mem: dict[tuple[ReportingYear, str], pl.DataFrame] = {}
        self._files: dict[tuple[ReportingYear, str], Path] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="cin-outcomes-npd-") if spill and landing is None else None
        self._root = Path(landing) if landing is not None else (Path(self._tmp.name) if self._tmp else None)

    def put(self, year: ReportingYear, module: str, df: pl.DataFrame) -> None:
        if self._root is None:
            self._mem[(year, module)] = df
        else:
            path = npd_path(self._root, year, module)
            write_npd_module(df, path)
            self._files[(year, module)] = path

    def file(self, key: tuple[ReportingYear, str]) -> Path | None:
        return self._files.get(key)

    def _keys(self) -> list[tuple[ReportingYear, str]]:
        return sorted([*self._mem, *self._files], key=lambda k: (k[0].start, k[1]))

    def __getitem__(self, key: tuple[ReportingYear, str]) -> pl.DataFrame:
        if key in self._mem:
            return self._mem[key]
        if key in self._files:
            return pl.read_parquet(self._files[key])
        raise KeyError(key)

    def __iter__(self) -> Iterator[tuple[ReportingYear, str]]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._mem) + len(self._files)

    def for_year(self, year: ReportingYear) -> list[str]:
        """The modules held for ``year`` (the rest were not collected that year)."""
        return [m for (y, m) in self._keys() if y == year]


@dataclass
class Education:
    """Schools and pupil records of a synthetic England.

    ``schools``: one row per school and academic year (``npd_columns.SCHOOLS``). ``modules``: (reporting year,
    module name) -> frame with the ``npd_columns.MODULES`` schema; years a module was not collected are absent.
    ``pupils``: person_id and UPN of every pupil, to match the records back to the population (tests, reports).
    """

    schools: pl.DataFrame
    modules: Mapping[tuple[ReportingYear, str], pl.DataFrame]
    pupils: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"person_id": pl.UInt32,
                                                                               "UPN": pl.Utf8}))


def build_education(cfg: SyntheticConfig, population: Population, status: pl.DataFrame,
                    landing: Path | None = None) -> Education:
    """Schools, school careers and NPD modules for ``cfg.years`` (deterministic for a seed and scale).

    With ``landing``, each module is written there as soon as it is made (the generator's path: one module in
    memory at a time); otherwise modules stay in memory, or in a temporary folder above ``SPILL_ABOVE_SCALE``.

    ``status``: person_id, year (reporting-year start), la_code, group (``CINO at 31 March``, ``CPPO at 31 March``,
    ``CLA 12 months at 31 March``, ``CLA less than 12 months at 31 March``), as made by the social care model.
    """
    return simulate(Simulation(cfg, population, status), landing)


def simulate(sim: Simulation, landing: Path | None = None) -> Education:
    """Run ``sim`` (which holds all it needs of the population, so the caller may drop the population first)
    through every academic year, storing each module as soon as it is made."""
    store = ModuleStore(spill=sim.cfg.scale > SPILL_ABOVE_SCALE, landing=landing)
    for a in range(sim.a0, sim.last + 1):
        roll = sim.roll(a)
        out = a >= sim.first

        def keep(module: str, df: pl.DataFrame | None) -> None:
            if out and df is not None:
                store.put(ReportingYear(a), module, _finish(df, module))

        if out:
            keep("school_census", attendance.school_census(sim, roll, a))
            keep("eyfsp", attainment.eyfsp(sim, roll, a))
        keep("phonics", attainment.phonics(sim, roll, a))
        keep("ks2", attainment.ks2(sim, roll, a))  # before KS1: KS1 borrows the year's KS2 group gaps
        keep("ks1", attainment.ks1(sim, roll, a))
        if out:
            keep("ks4", attainment.ks4(sim, roll, a))
            keep("absence", attendance.absence(sim, roll, a))
        keep("exclusions", attendance.exclusions(sim, roll, a))
        if out:
            keep("ap_census", attendance.ap_census(sim, roll, a))
        del roll
        for y, df in attainment.finished(sim):  # KS1 of earlier years, completed with their KS2 results
            if y >= sim.first:
                store.put(ReportingYear(y), "ks1", _finish(df, "ks1"))
    schools = sim.register.schools_frame(list(range(sim.first, sim.last + 1)))
    pupils = sim.pupils.select(pl.col("person_id").cast(pl.UInt32), "UPN").filter(pl.col("UPN").is_not_null())
    return Education(schools=schools, modules=store, pupils=pupils)


def _finish(df: pl.DataFrame, module: str) -> pl.DataFrame:
    """Exactly the module schema, rows in a fixed order: school (LA and establishment), then UPN, then — for
    exclusions — date, category, reason and sessions."""
    df = attendance.conform(df, module)
    cols = MODULES[module]
    school = [c for c in cols if c.endswith("LAESTAB")] or [LA_COLUMN[module]]
    urn = [c for c in cols if c.endswith("URN")]
    extra = ["ExclusionStartDate", "Category", "ExclusionReason", "ExclusionSessions"] if module == "exclusions" else []
    if "_order" not in df.columns:  # built in order already (school census, absence)
        return df.select(list(cols))
    return df.sort([*school, *urn, "_order", *extra]).select(list(cols))  # keys unique: no stable sort needed


__all__ = ["Education", "Simulation", "build_education", "simulate", "calibration_report", "write_npd_module", "ModuleStore"]
