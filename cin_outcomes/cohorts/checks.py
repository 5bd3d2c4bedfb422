"""Validation of the cohort frames: pandera.polars schemas run as blocking asset checks on every year.

A cohort frame holds one row per child per returning LA, of the reporting year it is for; the membership frame
adds a flag per social care group, whose logical relations (the hierarchy CLA > CPP > CIN, at 31 March within at
any point, CLA 12 months + less than 12 months = CLA) are checked too. Check results count failures per column and
rule and give the first row numbers; never a value, since the values are child-level identifiers.
"""

from __future__ import annotations

import dagster as dg
import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from cin_outcomes.cohorts.rules import FLAGS, valid_upn
from cin_outcomes.years import ReportingYear

SEXES = ["M", "F", "U"]


def _upn_check_letter(data: PolarsData) -> pl.LazyFrame:
    c = pl.col(data.key)
    return data.lazyframe.select(c.is_null() | valid_upn(c).is_not_null())


def _child_columns(year: ReportingYear) -> dict[str, pa.Column]:
    return {
        "reporting_year": pa.Column(pl.Utf8, pa.Check.isin([year.label]), nullable=False),
        "la_code": pa.Column(pl.Utf8, pa.Check.str_matches(r"^\d{3}$"), nullable=False),
        "la_child_id": pa.Column(pl.Utf8, pa.Check.str_length(min_value=1), nullable=False),
        "upn": pa.Column(pl.Utf8, pa.Check(_upn_check_letter, name="UPN format and check letter"), nullable=True),
        "birth_date": pa.Column(pl.Date, pa.Check.le(year.end_date, name="born by 31 March"), nullable=True),
        "sex": pa.Column(pl.Utf8, pa.Check.isin(SEXES), nullable=True),
        "ethnicity": pa.Column(pl.Utf8, nullable=True),
        "child_key": pa.Column(pl.Utf8, nullable=False),
    }


def cohort_schema(year: ReportingYear | str) -> pa.DataFrameSchema:
    """A cohort of ``year``: identifiers and characteristics, one row per child per LA."""
    year = ReportingYear.parse(year)
    return pa.DataFrameSchema(_child_columns(year), strict=True, ordered=True, unique=["la_code", "la_child_id"],
                              name=f"cohort {year.label}")


def _implies(a: pl.Expr, b: pl.Expr, name: str) -> pa.Check:
    return pa.Check(lambda d: d.lazyframe.select(~a | b), name=name)


def _equals(a: pl.Expr, b: pl.Expr, name: str) -> pa.Check:
    return pa.Check(lambda d: d.lazyframe.select(a == b), name=name)


def _c(name: str) -> pl.Expr:
    return pl.col(name)


#: The logical relations between the group flags of one child (domain.md §2.3).
HIERARCHY_CHECKS = [
    _equals(_c("cino_at31"), _c("cin_at31") & ~_c("cpp_at31") & ~_c("cla_at31"),
            "CINO at 31 March = CIN not on a plan and not looked after"),
    _equals(_c("cino_anypoint"), _c("cin_anypoint") & ~_c("cpp_anypoint") & ~_c("cla_anypoint"),
            "CINO at any point = CIN not on a plan and not looked after"),
    _equals(_c("cppo_at31"), _c("cpp_at31") & ~_c("cla_at31"), "CPPO at 31 March = CPP not looked after"),
    _equals(_c("cppo_anypoint"), _c("cpp_anypoint") & ~_c("cla_anypoint"), "CPPO at any point = CPP not looked after"),
    _implies(_c("cla_at31") | _c("cpp_at31"), _c("cin_at31"), "looked after or on a plan at 31 March is CIN"),
    _implies(_c("cla_anypoint") | _c("cpp_anypoint"), _c("cin_anypoint"), "looked after or on a plan is CIN"),
    _equals(_c("cla_12m_at31") | _c("cla_lt12m_at31"), _c("cla_at31"),
            "CLA 12 months + CLA less than 12 months = CLA at 31 March"),
    _implies(_c("cla_12m_at31"), ~_c("cla_lt12m_at31"), "CLA 12 months and less than 12 months are exclusive"),
    _implies(_c("cin_at31"), _c("cin_anypoint"), "CIN at 31 March is CIN at any point"),
    _implies(_c("cla_at31"), _c("cla_anypoint"), "CLA at 31 March is CLA at any point"),
    _implies(_c("cpp_at31"), _c("cpp_anypoint"), "CPP at 31 March is CPP at any point"),
    _implies(_c("respite_only"), ~_c("cla_anypoint"), "respite only is not looked after"),
]


def membership_schema(year: ReportingYear | str) -> pa.DataFrameSchema:
    """Every child in the year's returns with a non-missing flag per social care group, flags consistent."""
    year = ReportingYear.parse(year)
    columns = {**_child_columns(year), **{f: pa.Column(pl.Boolean, nullable=False) for f in FLAGS}}
    return pa.DataFrameSchema(columns, checks=HIERARCHY_CHECKS, strict=True, ordered=True,
                              unique=["la_code", "la_child_id"], name=f"social care membership {year.label}")


def validate(schema: pa.DataFrameSchema, df: pl.DataFrame) -> tuple[bool, dict]:
    """Validate lazily (every failure, not the first); return whether it passed and identifier-free metadata."""
    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as e:
        fc = e.failure_cases
        summary = (
            fc.with_columns(column=pl.when(pl.col("schema_context") == "DataFrameSchema").then(pl.lit("(rows)"))
                            .otherwise(pl.col("column")))
            .group_by("column", "check")
            .agg(failures=pl.len(), first_rows=pl.col("index").drop_nulls().sort().head(5))
            .sort("column", "check")
        )
        return False, {
            "rows": df.height,
            "failures": int(summary["failures"].sum()),
            "failures_by_rule": dg.MetadataValue.json(summary.to_dicts()),
        }
    return True, {"rows": df.height, "failures": 0}


def check_result(asset_key: dg.AssetKey, check_name: str, schema: pa.DataFrameSchema,
                 df: pl.DataFrame) -> dg.AssetCheckResult:
    """The blocking check result of validating ``df`` against ``schema``."""
    passed, metadata = validate(schema, df)
    return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=passed,
                               severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)
