"""Generate a synthetic England on disk, in the real return formats, in the landing layout.

Layout (``<landing>`` is the output folder)::

    <landing>/SYNTHETIC.json                              what was generated: scale, seed, years, fault rate
    <landing>/<year>/<la>/cin_census.xml                   CIN census return of LA <la> (3-digit DfE number)
    <landing>/<year>/<la>/ssda903/<Table>.csv              SSDA903 return tables (Header, Episodes, UASC, ...)
    <landing>/<year>/npd/<module>.parquet                  National Pupil Database modules of that academic year

``<year>`` is the reporting year label, e.g. ``2024-25`` (1 April 2024 to 31 March 2025; academic year 2024/25).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from tqdm import tqdm

from cin_outcomes import __version__
from cin_outcomes.geography import las_in_year
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import build_population
from cin_outcomes.years import ReportingYear


@dataclass
class GenerationSummary:
    """What a generation run wrote, for the command line and the benchmarks."""

    out: Path
    children: int = 0
    files: int = 0
    bytes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _la_codes(cfg: SyntheticConfig, year: ReportingYear) -> list[str]:
    codes = las_in_year(year)["old_la_code"].unique().sort().to_list()
    return [c for c in codes if cfg.only_las is None or c in cfg.only_las]


def generate(cfg: SyntheticConfig, out: Path, progress: bool = True) -> GenerationSummary:
    """Build the population and social care careers, write every LA's returns year by year, then build and write
    the pupil records year by year (memory holds the population, the careers and one year's returns or one NPD
    module at a time)."""
    from cin_outcomes.synthetic.education import Simulation, simulate
    from cin_outcomes.synthetic.social_care import build_social_care
    from cin_outcomes.synthetic.writers.npd import write_npd

    summary = GenerationSummary(out=out)
    bar = tqdm(total=3, desc="synthetic England", unit="stage", disable=not progress, leave=False)

    def stage(name: str, fn, *args):
        bar.set_postfix_str(name)
        t0 = time.perf_counter()
        result = fn(*args)
        summary.seconds[name] = round(time.perf_counter() - t0, 1)
        bar.update(1)
        return result

    out.mkdir(parents=True, exist_ok=True)
    population = stage("population", build_population, cfg)
    summary.children = population.children.height
    written: list[Path] = []
    with tqdm(total=len(cfg.years), desc="LA returns", unit="year", disable=not progress, leave=False) as ybar:
        def write_year(year: ReportingYear, tables: dict[str, pl.DataFrame]) -> None:
            written.extend(write_returns(cfg, year, tables, out))
            ybar.update(1)

        # each year's returns are written as soon as they are cut; only the status stays in memory
        status = pupil_status(population, stage("social care and returns", build_social_care, cfg, population,
                                                write_year))
    sim = Simulation(cfg, population, status)  # takes what it needs of the population ...
    del population  # ... which is dropped before the pupil records are made
    education = stage("education", simulate, sim, out)
    written.extend(write_npd(education, out))  # already in place: each module was written as it was made
    bar.close()
    (out / "SYNTHETIC.json").write_text(json.dumps({
        "generator": f"cin-outcomes {__version__}", "scale": cfg.scale, "seed": cfg.seed,
        "first_year": cfg.first_year.label, "last_year": cfg.last_year.label, "fault_rate": cfg.fault_rate,
        "only_las": list(cfg.only_las) if cfg.only_las else None,
    }, indent=2) + "\n")
    summary.files = len(written)
    summary.bytes = sum(p.stat().st_size for p in written)
    return summary


def write_returns(cfg: SyntheticConfig, year: ReportingYear, tables: dict[str, pl.DataFrame], out: Path
                  ) -> list[Path]:
    """Every LA's CIN census XML and SSDA903 tables for ``year``: ``<out>/<year>/<la>/...``."""
    from cin_outcomes.synthetic.writers.cin_xml import write_cin_census_year
    from cin_outcomes.synthetic.writers.ssda903 import write_ssda903_year

    las = _la_codes(cfg, year)
    return [*write_cin_census_year(tables, year, las, lambda la: out / year.label / la / "cin_census.xml"),
            *write_ssda903_year(tables, year, las, lambda la: out / year.label / la / "ssda903")]


def pupil_status(population, social_care) -> pl.DataFrame:
    """Social care status of the population's children: UASC and other children who arrive from outside England
    (``social_care.extra_children``) have no school career before they arrive, so they carry no status there."""
    return social_care.status.join(population.children.select("person_id"), on="person_id", how="semi")
