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
    """Build the population, social care careers and pupil records, then write every return and module."""
    from cin_outcomes.synthetic.education import build_education
    from cin_outcomes.synthetic.social_care import build_social_care
    from cin_outcomes.synthetic.writers.cin_xml import write_cin_census
    from cin_outcomes.synthetic.writers.npd import write_npd
    from cin_outcomes.synthetic.writers.ssda903 import write_ssda903

    summary = GenerationSummary(out=out)
    bar = tqdm(total=4, desc="synthetic England", unit="stage", disable=not progress, leave=False)

    def stage(name: str, fn, *args):
        bar.set_postfix_str(name)
        t0 = time.perf_counter()
        result = fn(*args)
        summary.seconds[name] = round(time.perf_counter() - t0, 1)
        bar.update(1)
        return result

    population = stage("population", build_population, cfg)
    summary.children = population.children.height
    social_care = stage("social care", build_social_care, cfg, population)
    education = stage("education", build_education, cfg, population, pupil_status(population, social_care))
    bar.set_postfix_str("writing")
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    units = [(y, la) for y in cfg.years for la in _la_codes(cfg, y)]
    written: list[Path] = []
    with tqdm(total=len(units) + len(cfg.years), desc="writing returns", unit="file set",
              disable=not progress, leave=False) as wbar:
        for year in cfg.years:
            by_la = _split_by_la(social_care.tables, year)
            for la in _la_codes(cfg, year):
                tables = by_la.get(la) or _empty_like(social_care.tables)
                folder = out / year.label / la
                folder.mkdir(parents=True, exist_ok=True)
                write_cin_census(tables, year, la, folder / "cin_census.xml")
                written.append(folder / "cin_census.xml")
                written.extend(write_ssda903(tables, year, la, folder / "ssda903"))
                wbar.update(1)
            written.extend(write_npd(education, out, years=[year]))  # one module in memory at a time
            wbar.update(1)
    summary.seconds["writing"] = round(time.perf_counter() - t0, 1)
    bar.update(1)
    bar.close()
    (out / "SYNTHETIC.json").write_text(json.dumps({
        "generator": f"cin-outcomes {__version__}", "scale": cfg.scale, "seed": cfg.seed,
        "first_year": cfg.first_year.label, "last_year": cfg.last_year.label, "fault_rate": cfg.fault_rate,
        "only_las": list(cfg.only_las) if cfg.only_las else None,
    }, indent=2) + "\n")
    summary.files = len(written)
    summary.bytes = sum(p.stat().st_size for p in written)
    return summary


def pupil_status(population, social_care) -> pl.DataFrame:
    """Social care status of the population's children: UASC and other children who arrive from outside England
    (``social_care.extra_children``) have no school career before they arrive, so they carry no status there."""
    return social_care.status.join(population.children.select("person_id"), on="person_id", how="semi")


def _split_by_la(tables: dict[str, pl.DataFrame], year: ReportingYear) -> dict[str, dict[str, pl.DataFrame]]:
    """{la_code: {table: that LA's rows for the year}} — one pass per table instead of one filter per LA."""
    out: dict[str, dict[str, pl.DataFrame]] = {}
    for name, df in tables.items():
        sub = df.filter(pl.col("reporting_year") == year.label)
        for (la,), part in sub.partition_by("la_code", as_dict=True, maintain_order=True).items():
            out.setdefault(la, {})[name] = part
    for la in out:
        for name, df in tables.items():
            out[la].setdefault(name, df.clear())
    return out


def _empty_like(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {name: df.clear() for name, df in tables.items()}
