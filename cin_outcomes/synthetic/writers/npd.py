"""Writing the synthetic NPD modules: one deterministic Parquet file per module and academic year.

Layout: ``<landing>/<reporting year>/npd/<module>.parquet`` (e.g. ``2024-25/npd/ks4.parquet`` holds academic year
2024/25). Files are byte-identical for the same seed and scale: rows are sorted before writing, and the Parquet
writer settings are fixed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl

from cin_outcomes.years import ReportingYear

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "statistics": True, "row_group_size": 1 << 20}


def write_npd_module(df: pl.DataFrame, path: Path) -> None:
    """Write one module frame to ``path`` (atomically: a partial file never carries the final name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    df.write_parquet(tmp, **PARQUET_OPTIONS)
    os.replace(tmp, path)


def npd_path(landing: Path, year: ReportingYear, module: str) -> Path:
    return Path(landing) / year.label / "npd" / f"{module}.parquet"


def write_npd(education, landing: Path, years: list[ReportingYear] | None = None) -> list[Path]:
    """Write every module of ``education`` (or of ``years``) under ``landing``; returns the files written.

    Modules already held on disk by the education model are copied byte for byte; frames held in memory are
    written with :func:`write_npd_module`. One module is in memory at a time.
    """
    written = []
    wanted = None if years is None else {ReportingYear.parse(y) for y in years}
    for year, module in sorted(education.modules.keys(), key=lambda k: (k[0].start, k[1])):
        if wanted is not None and year not in wanted:
            continue
        dest = npd_path(landing, year, module)
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = getattr(education.modules, "file", lambda key: None)((year, module))
        if src is None:
            write_npd_module(education.modules[(year, module)], dest)
        elif Path(src).resolve() != dest.resolve():  # else written in place by the education model
            tmp = dest.with_name(dest.name + ".partial")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        written.append(dest)
    return written
