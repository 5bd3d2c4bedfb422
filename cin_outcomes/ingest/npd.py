"""Reading the National Pupil Database modules of a year, and what a pupil module must look like.

One parquet file per module and academic year lands at ``<landing>/<2024-25>/npd/<module>.parquet`` (academic year
2024/25 for reporting year 2024-25). The column names and types are the NPD's, as fixed in
:data:`cin_outcomes.synthetic.npd_columns.MODULES`; a module whose columns differ, or whose values cannot be held
in the module's types, is reported by file and column and not used. Years in which a module was not collected
(KS2 in 2019/20 and 2020/21, for example) have no file and give an empty table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandera.polars as pa
import polars as pl

from cin_outcomes.ingest import rules as R
from cin_outcomes.ingest.report import IngestError, Problem
from cin_outcomes.synthetic.npd_columns import (
    ETHNIC_MAJOR,
    MODULES,
    PHASES,
    SEN_TYPES,
    UPN_COLUMN,
    academic_year_label,
    module_available,
)
from cin_outcomes.years import ReportingYear

NPD_DIR = "npd"
NC_YEARS = ["R", *[str(i) for i in range(1, 12)]]
TA_OUTCOMES = ["GDS", "EXS", "WTS", "PKF", "BLW"]
KS2_TEST_OUTCOMES = ["AS", "NS", "B", "A"]


def table_name(module: str) -> str:
    """The ingest table (and asset) name of a module: ``npd_ks2``."""
    return f"npd_{module}"


def npd_path(landing: str | os.PathLike, year: ReportingYear | str, module: str) -> Path:
    """Where a module lands: ``<landing>/<2024-25>/npd/<module>.parquet``."""
    return Path(landing) / ReportingYear.parse(year).label / NPD_DIR / f"{module}.parquet"


def read_npd_module(
    path: str | os.PathLike,
    module: str,
    *,
    display_name: str | None = None,
) -> pl.DataFrame:
    """Read one NPD module file into its typed frame: exactly the module's columns, in order, with their types.

    Raises :class:`IngestError` (naming the file, the column and the rule) when the file cannot be read, a column
    is missing or unexpected, or a column cannot be held in its type without losing values.
    """
    if module not in MODULES:
        raise KeyError(f"unknown NPD module {module!r}; modules are {', '.join(MODULES)}")
    schema = MODULES[module]
    name = display_name or str(path)

    def fail(rule: str, message: str, column: str | None = None):
        raise IngestError(Problem(file=name, la_code="", rule=rule, message=message, column=column, fatal=True,
                                  table=table_name(module)))

    try:
        df = pl.read_parquet(Path(path))
    except (pl.exceptions.PolarsError, OSError) as e:
        fail("file readable", f"the file cannot be read as parquet ({type(e).__name__})")
    missing = [c for c in schema if c not in df.columns]
    extra = [c for c in df.columns if c not in schema]
    if missing:
        fail("NPD columns", f"the {module} module lacks {len(missing)} column(s): {', '.join(missing)}", missing[0])
    if extra:
        fail("NPD columns", f"the {module} module has unexpected column(s): {', '.join(extra)}", extra[0])
    out = {}
    for col, dtype in schema.items():
        s = df[col]
        if s.dtype != dtype:
            cast = s.cast(dtype, strict=False)
            if cast.null_count() != s.null_count():
                fail("NPD types", f"{col} cannot be held as {dtype} without losing values", col)
            s = cast
        out[col] = s
    return pl.DataFrame(out)


# --- validation ------------------------------------------------------------------------------------------------
def _checks_for(module: str, col: str) -> list[pa.Check]:
    """Code lists and formats of NPD columns (npd_columns docstring), by column name."""
    base = col.split("_", 1)[1] if "_" in col and col.split("_", 1)[0] in ("FSP", "PHON", "KS1", "KS2", "KS4") \
        else col
    c: list[pa.Check] = []
    if col == UPN_COLUMN[module]:
        c.append(pa.Check.str_matches(R.UPN))
    elif base in ("LA",):
        c.append(pa.Check.str_matches(R.LA_CODE))
    elif base in ("Gender", "SEX"):
        c.append(pa.Check.isin(["M", "F"]))
    elif base == "SENprovision":
        c.append(pa.Check.isin(["E", "K", "N"]))
    elif base == "PrimarySENtype":
        c.append(pa.Check.isin(SEN_TYPES))
    elif base == "EthnicGroupMinor":
        c.append(pa.Check.isin(R.ETHNICITY))
    elif base == "EthnicGroupMajor":
        c.append(pa.Check.isin(sorted(set(ETHNIC_MAJOR.values()))))
    elif base == "PhaseType":
        c.append(pa.Check.isin(PHASES))
    elif base in ("NCyearActual",):
        c.append(pa.Check.isin(NC_YEARS))
    elif base in ("READOUTCOME", "MATOUTCOME", "GPSOUTCOME") and module == "ks2":
        c.append(pa.Check.isin(KS2_TEST_OUTCOMES))
    elif base in ("READSCORE", "MATSCORE", "GPSSCORE"):
        c.append(pa.Check.in_range(80, 120))
    elif base in ("WRITTAOUTCOME", "READOUTCOME", "WRITOUTCOME", "MATOUTCOME"):
        c.append(pa.Check.isin(TA_OUTCOMES))
    elif base in ("SCITAOUTCOME", "SCIOUTCOME"):
        c.append(pa.Check.isin(["EXS", "HNM"]))
    elif base == "OUTCOME" and module == "phonics":
        c.append(pa.Check.isin(["Wa", "Wt", "A", "D"]))
    elif base == "MARK":
        c.append(pa.Check.in_range(0, 40))
    elif base == "ATT8":
        c.append(pa.Check.in_range(0, 90))
    elif base in ("APENG_91", "HGMATH_91"):
        c.append(pa.Check.in_range(0, 9))
    elif base == "Category":
        c.append(pa.Check.isin(["PERM", "SUSP"]))
    elif base.startswith(("Sessions", "Authorised", "Unauthorised", "Overall")):
        c.append(pa.Check.ge(0))
    return c


def npd_model(module: str, year: ReportingYear | str | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a pupil module: its NPD columns and types, code lists, formats, UPN check letter, and
    (given ``year``) every row in the academic year of that reporting year."""
    upn = UPN_COLUMN[module]
    year_col = next(c for c in MODULES[module] if c == "AcademicYear" or c.endswith("_ACADYR"))
    expected = academic_year_label(year) if year is not None else None
    columns = {
        col: pa.Column(dtype, checks=_checks_for(module, col), nullable=(col != upn), required=True)
        for col, dtype in MODULES[module].items()
    }

    def check_letter(data) -> pl.LazyFrame:
        return data.lazyframe.select(R.upn_check_letter_ok(upn).fill_null(True))

    def right_academic_year(data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col(year_col) == expected).fill_null(False).alias("ok"))

    checks = [pa.Check(check_letter, name="NPD UPN check letter wrong")]
    if expected is not None:
        checks.append(pa.Check(right_academic_year, name=f"NPD academic year is not {expected}"))
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        strict=True,
        name=table_name(module),
    )


def expected_academic_year(year: ReportingYear | str) -> str:
    """The academic year label the modules of a reporting year hold: ``2024/25``."""
    return academic_year_label(year)


__all__ = ["NPD_DIR", "expected_academic_year", "module_available", "npd_model", "npd_path", "read_npd_module",
           "table_name"]
