"""Writing the publication: every year of each table assembled into one file, screened, written atomically.

Layout of ``<output root>/publication/`` (the output root is ``$CIN_OUTCOMES_OUTPUT``, else ``output`` in the
project folder)::

    ks4_la.csv  ks4_la.meta.csv  ...  match_rates.csv  match_rates.meta.csv
    data-guidance.txt  methodology.md  methodology.html

Data files are UTF-8 without a byte-order mark, LF line endings, fields quoted only where needed, empty cells for
geography that does not apply; rows in DfE's order (latest year first; group; England, regions, LAs by region and
name; filter items with Total first). Each pair is screened as EES will screen it before anything is replaced.

Atomic: everything is written to a hidden temporary folder beside ``publication/``; only when every file is
written and screened is the old folder moved aside and the new one renamed into place. A run that fails (or is
killed) before that leaves the previous publication untouched; a run killed between the two renames is repaired
by the next run (the moved-aside folder is put back before anything else).
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cin_outcomes.disclosure.primary import suppression_counts
from cin_outcomes.publication.screener import meta_frame, screen
from cin_outcomes.resources import project_root
from cin_outcomes.tabulation.build import order_rows
from cin_outcomes.tabulation.checks import single_valued_filters
from cin_outcomes.tabulation.spec import FINAL, REVISED, VERSION, TableSpec

OUTPUT_ENV = "CIN_OUTCOMES_OUTPUT"
PUBLICATION_DIR = "publication"
_TMP_PREFIX, _OLD_PREFIX = ".publication.tmp-", ".publication.old-"


def default_output_root() -> Path:
    """``$CIN_OUTCOMES_OUTPUT``, else ``output`` in the project folder."""
    return Path(os.environ.get(OUTPUT_ENV) or project_root() / "output")


class PublicationError(RuntimeError):
    """The publication could not be written; the previous one (if any) is unchanged."""


@dataclass(frozen=True)
class FileSummary:
    """One written data file: rows, indicator cells and how many hold each symbol."""

    name: str
    rows: int
    cells: int
    symbols: dict[str, int]
    time_periods: tuple[str, ...]
    warnings: int = 0


@dataclass(frozen=True)
class PublicationSummary:
    path: Path
    files: tuple[FileSummary, ...]
    other_files: tuple[str, ...] = field(default=())

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def symbols(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for s, n in f.symbols.items():
                out[s] = out.get(s, 0) + n
        return out

    def text(self) -> str:
        """A few lines for a terminal: where the files are, and per file its rows and suppressed cells."""
        sym = self.symbols()
        lines = [f"Publication written to {self.path}: {len(self.files)} data files, {self.rows:,} rows, "
                 f"{sym.get('c', 0):,} cells suppressed (c), {sym.get('x', 0):,} not available (x), "
                 f"{sym.get('z', 0):,} not applicable (z), {sym.get('k', 0):,} rounding to 0 (k)"]
        width = max((len(f.name) for f in self.files), default=0)
        for f in self.files:
            years = f"{f.time_periods[0]}-{f.time_periods[-1]}" if f.time_periods else ""
            lines.append(f"  {f.name:<{width}}  {f.rows:>8,} rows  {f.symbols.get('c', 0):>8,} c  {years}")
        lines.append(f"  and {', '.join(self.other_files)}")
        return "\n".join(lines)


# --- assembling a series --------------------------------------------------------------------------------------

def assemble(spec: TableSpec, years: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every year of one table as one frame in DfE's row order, ``version`` relabelled for the whole series
    (``Revised`` for its latest year, ``Final`` before)."""
    frames = [years[k].select(spec.columns) for k in sorted(years)]
    if not frames:
        raise PublicationError(f"{spec.file_name}: no year to publish")
    df = pl.concat(frames, how="vertical")
    if spec.versioned:
        latest = df["time_period"].max()
        df = df.with_columns(
            pl.when(pl.col("time_period") == latest).then(pl.lit(REVISED)).otherwise(pl.lit(FINAL)).alias(VERSION))
    return order_rows(spec, df)


# --- files ------------------------------------------------------------------------------------------------------

def write_data_csv(df: pl.DataFrame, path: Path) -> None:
    """A data CSV as EES wants it: UTF-8, header of column names, empty cells for nulls, LF, minimal quoting."""
    df.write_csv(path, include_bom=False, line_terminator="\n", null_value="", quote_style="necessary")


def write_meta_csv(spec: TableSpec, df: pl.DataFrame, path: Path) -> None:
    """The ``.meta.csv`` of the data actually written (filters with one item get no row)."""
    meta = meta_frame(spec.meta_rows(drop=single_valued_filters(spec, df)))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(meta.columns)
        w.writerows(meta.rows())


def _fsync_tree(folder: Path) -> None:
    for p in sorted(folder.iterdir()):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def recover(root: Path) -> None:
    """Repair what an interrupted run left: put a moved-aside publication back if the new one never arrived, and
    remove temporary and moved-aside folders."""
    if not root.is_dir():
        return
    final = root / PUBLICATION_DIR
    olds = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(_OLD_PREFIX))
    if not final.exists() and olds:
        os.replace(olds[-1], final)
        olds = olds[:-1]
    for p in [*olds, *(p for p in root.iterdir() if p.is_dir() and p.name.startswith(_TMP_PREFIX))]:
        shutil.rmtree(p, ignore_errors=True)


def write_publication(root: Path | str, tables: Sequence[tuple[TableSpec, pl.DataFrame]],
                      texts: Mapping[str, str]) -> PublicationSummary:
    """Write every table (assembled series) with its metadata, and the ``texts`` (file name -> content), into
    ``<root>/publication`` atomically; screen every pair first. Raises :class:`PublicationError` (listing every
    failing file and rule) without touching the previous publication."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    recover(root)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the publication is for others to read
    final, old = root / PUBLICATION_DIR, None
    try:
        summaries, failures = [], []
        for spec, df in tables:
            data_path, meta_path = tmp / spec.file_name, tmp / spec.meta_file_name
            write_data_csv(df, data_path)
            write_meta_csv(spec, df, meta_path)
            res = screen(data_path, meta_path, harmonised=spec.harmonised)
            if not res.passed:
                failures.append(res.report())
            symbols = suppression_counts(df, spec.suppression)
            summaries.append(FileSummary(spec.file_name, df.height, df.height * len(spec.indicators), symbols,
                                         tuple(sorted(df["time_period"].unique().to_list())), len(res.warnings)))
        if failures:
            raise PublicationError("the publication was not written: files fail the EES screener\n"
                                   + "\n".join(failures))
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        _fsync_tree(tmp)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=_OLD_PREFIX, dir=root))
            os.rmdir(old)
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return PublicationSummary(final, tuple(summaries), tuple(texts))
    except BaseException:
        if old is not None and old.exists() and not final.exists():
            os.replace(old, final)  # failed between the two renames: the previous publication goes back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
