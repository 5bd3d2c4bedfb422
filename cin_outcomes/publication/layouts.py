"""The layouts of DfE's published LA outcome files, so that ours read into a user's existing code unchanged.

``layouts.json`` is measured from the real files by ``scripts/derive_layouts.py`` (the package never reads the
real files at run time). For each file: the exact column order, the observational-unit columns, the filters and
their values, and per indicator its kind, decimal places, symbols used, whether National/Regional values are
multiples of 10, the smallest non-zero LA value shown and the periods in which it is not produced (``x``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: The LA files issue 4 reproduces, in publication order.
LA_FILES: tuple[str, ...] = ("ks2_la.csv", "ks4_la.csv", "absence_la.csv", "sen_la.csv", "fsm_la.csv",
                             "school_type_la.csv", "permanent_exclusions_and_suspensions_la.csv")


@dataclass(frozen=True)
class FilterLayout:
    """A filter column and its values in order of first appearance (``single_level``: one value, no meta row)."""

    name: str
    values: tuple[str, ...]
    has_total: bool
    single_level: bool


@dataclass(frozen=True)
class IndicatorLayout:
    """An indicator column as published: kind (count, percentage, average, total, statistic), unit, decimals."""

    name: str
    kind: str
    unit: str
    dp: int
    symbols: dict[str, int]
    negative_values: bool
    zeros_shown_in_la_rows: int
    national_regional_multiple_of_10: bool | None
    la_smallest_nonzero_shown: int | None
    not_produced_periods: tuple[str, ...]


@dataclass(frozen=True)
class FileLayout:
    """One published data file: columns in order, observational units, filters and indicators."""

    file_name: str
    source: str
    bom: bool
    line_ending: str
    rows: int
    columns: tuple[str, ...]
    observational_units: tuple[str, ...]
    time_identifiers: tuple[str, ...]
    time_periods: tuple[str, ...]
    geographic_levels: dict[str, int]
    regions: tuple[tuple[str, str], ...]
    filters: tuple[FilterLayout, ...]
    indicators: tuple[IndicatorLayout, ...]

    @property
    def filter_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.filters)

    @property
    def indicator_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.indicators)

    def indicator(self, name: str) -> IndicatorLayout:
        for i in self.indicators:
            if i.name == name:
                return i
        raise KeyError(f"{self.file_name} has no indicator {name!r}")

    def filter(self, name: str) -> FilterLayout:
        for f in self.filters:
            if f.name == name:
                return f
        raise KeyError(f"{self.file_name} has no filter {name!r}")


def _file_layout(name: str, d: dict) -> FileLayout:
    return FileLayout(
        file_name=name, source=d["source"], bom=d["encoding"]["bom"], line_ending=d["encoding"]["line_ending"],
        rows=d["rows"], columns=tuple(d["columns"]), observational_units=tuple(d["observational_units"]),
        time_identifiers=tuple(d["time_identifiers"]), time_periods=tuple(d["time_periods"]),
        geographic_levels=dict(d["geographic_levels"]), regions=tuple(tuple(r) for r in d["regions"]),
        filters=tuple(FilterLayout(f["name"], tuple(f["values"]), f["has_total"], f["single_level"])
                      for f in d["filters"]),
        indicators=tuple(IndicatorLayout(
            name=i["name"], kind=i["kind"], unit=i["unit"], dp=i["dp"], symbols=dict(i["symbols"]),
            negative_values=i["negative_values"], zeros_shown_in_la_rows=i["zeros_shown_in_la_rows"],
            national_regional_multiple_of_10=i["national_regional_multiple_of_10"],
            la_smallest_nonzero_shown=i["la_smallest_nonzero_shown"],
            not_produced_periods=tuple(i["not_produced_periods"])) for i in d["indicators"]),
    )


@lru_cache(maxsize=1)
def layouts() -> dict[str, FileLayout]:
    """Every published LA file's layout, keyed by file name (``ks4_la.csv``)."""
    with resources.files("cin_outcomes.publication").joinpath("layouts.json").open("r", encoding="utf-8") as f:
        raw = json.load(f)
    return {name: _file_layout(name, d) for name, d in raw["files"].items()}


def layout(file_name: str) -> FileLayout:
    """The layout of one published LA file; ``ks4_la`` and ``ks4_la.csv`` both work."""
    key = file_name if file_name.endswith(".csv") else f"{file_name}.csv"
    try:
        return layouts()[key]
    except KeyError:
        raise KeyError(f"no published layout for {file_name!r}; known: {', '.join(LA_FILES)}") from None
