"""Reading the text of a return into the canonical types, and reporting what cannot be read.

Returns are text (XML element text, CSV cells read as strings). Each field is converted in one vectorised step; a
non-empty value that does not convert (a date that is not a date, a code outside the year's list for sex, a
number that is not a number) becomes missing and is reported as a :class:`Problem`, grouped per file, field and
rule with the number of records and the first record affected. Values themselves are never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cin_outcomes.ingest.report import Problem

#: The column holding each raw row's position in its file (``<Child>`` record or CSV line).
POSITION = "_position"


@dataclass(frozen=True)
class Conversion:
    """How one text field becomes its canonical type, and the rule a failure breaks."""

    kind: str  # "date", "date_list", "bool", "int", "map"
    rule: str
    message: str
    field: str  # the field's name in the return, as shown in problems
    fmt: str | None = None
    dtype: pl.DataType | None = None
    mapping: dict[str, str] | None = None
    source: str | None = None  # raw column to read (default: the target column)


def date(fmt: str, rule: str, field: str, source: str | None = None) -> Conversion:
    shown = fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
    return Conversion("date", rule, f"{field} is not a valid date ({shown})", field, fmt=fmt, source=source)


def date_list(fmt: str, rule: str, field: str) -> Conversion:
    shown = fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
    return Conversion("date_list", rule, f"a {field} is not a valid date ({shown})", field, fmt=fmt)


def boolean(rule: str, field: str) -> Conversion:
    return Conversion("bool", rule, f"{field} is not true, false, 1 or 0", field)


def integer(dtype: pl.DataType, rule: str, field: str) -> Conversion:
    return Conversion("int", rule, f"{field} is not a whole number in range", field, dtype=dtype)


def codes(mapping: dict[str, str], rule: str, field: str, source: str | None = None) -> Conversion:
    allowed = " ".join(mapping)
    return Conversion("map", rule, f"{field} is not one of {allowed}", field, mapping=mapping, source=source)


_BOOL = {"true": True, "1": True, "false": False, "0": False}


def _expr(target: str, conv: Conversion) -> pl.Expr:
    raw = pl.col(conv.source or target)
    if conv.kind == "date":
        return raw.str.strip_chars().str.to_date(conv.fmt, strict=False)
    if conv.kind == "date_list":
        return raw.list.eval(pl.element().str.strip_chars().str.to_date(conv.fmt, strict=False))
    if conv.kind == "bool":
        return raw.str.strip_chars().str.to_lowercase().replace_strict(_BOOL, default=None, return_dtype=pl.Boolean)
    if conv.kind == "int":
        wide = raw.str.strip_chars().str.to_integer(strict=False)
        info = {pl.Int8: (-128, 127), pl.Int16: (-32768, 32767), pl.Int32: (-(2**31), 2**31 - 1)}
        lo, hi = info.get(conv.dtype, (None, None))
        if lo is not None:
            wide = pl.when(wide.is_between(lo, hi)).then(wide).otherwise(None)
        return wide.cast(conv.dtype)
    if conv.kind == "map":
        return raw.replace_strict(conv.mapping, default=None, return_dtype=pl.Utf8)
    raise ValueError(f"unknown conversion {conv.kind}")


def _failed(target: str, conv: Conversion) -> pl.Expr:
    raw = pl.col(conv.source or target)
    parsed = pl.col(target)
    if conv.kind == "date_list":
        n_raw = raw.list.eval(pl.element().is_not_null()).list.sum().fill_null(0)
        n_ok = parsed.list.eval(pl.element().is_not_null()).list.sum().fill_null(0)
        return n_raw != n_ok
    return raw.is_not_null() & parsed.is_null()


def convert(
    raw: pl.DataFrame,
    conversions: dict[str, Conversion],
    *,
    file: str,
    la_code: str,
    unit: str,
    table: str | None = None,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Convert ``raw`` (text columns plus :data:`POSITION`) and report failures per field and rule.

    Returns the converted frame (every other column unchanged) and the problems, one per field and rule.
    """
    if not conversions:
        return raw, []
    converted = raw.with_columns([_expr(t, c).alias(t) for t, c in conversions.items()])
    # Compare against the raw text, which the conversion may have replaced under the same name.
    checks = raw.select(
        pl.col(POSITION),
        *[pl.col(c.source or t).alias(f"_raw_{t}") for t, c in conversions.items()],
    ).hstack(converted.select([pl.col(t).alias(f"_new_{t}") for t in conversions]))
    fails = checks.select(
        pl.col(POSITION),
        *[
            _failed(f"_new_{t}", Conversion(c.kind, c.rule, c.message, c.field, source=f"_raw_{t}")).alias(t)
            for t, c in conversions.items()
        ],
    )
    counts = fails.select([pl.col(t).sum().alias(t) for t in conversions]).row(0, named=True)
    problems: list[Problem] = []
    for t, c in conversions.items():
        n = counts[t] or 0
        if n:
            first = fails.filter(pl.col(t)).select(pl.col(POSITION).min()).item()
            problems.append(Problem(file=file, la_code=la_code, rule=c.rule, message=c.message, unit=unit,
                                    position=int(first), column=c.field, count=int(n), table=table))
    return converted, problems
