"""One year of a published table: unrounded figures, the disclosure stage, and the strings the file prints.

Three steps, each a function of the one before:

1. :func:`unrounded_table`: numerators, denominators and values of every indicator for every row the file has
   (geography x social care group x filter items, the complete matrix of :func:`skeleton`), unrounded, from the
   linked outcome dataset (:func:`cin_outcomes.outcomes.aggregate.aggregate`) or the match rates. Groups the
   consistency checks need but the file does not publish are included here. A year in which the outcome was not
   collected (KS2 in 2019/20) gets every row with every figure null (published ``x``).
2. The **disclosure stage**, a replaceable function ``(unrounded, spec) -> published indicator strings``:
   :func:`primary_stage` applies DfE's rounding and primary suppression
   (:func:`cin_outcomes.disclosure.primary.apply_primary_suppression`). Cross-table (secondary) suppression will
   replace it; nothing else changes.
3. :func:`publish`: the published groups only, the stage's strings, ``z`` for the combinations that do not apply
   (placement of a child not looked after), ``time_identifier``, fixed filters and ``version``, the file's
   column order and DfE's row order (:func:`order_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from cin_outcomes.disclosure.primary import NOT_APPLICABLE, apply_primary_suppression
from cin_outcomes.linkage.care import CLA_AT_31_MARCH_GROUPS
from cin_outcomes.linkage.characteristics import TOTAL
from cin_outcomes.outcomes.aggregate import CLA_ONLY, aggregate
from cin_outcomes.outcomes.families import ALL_PUPILS, FAMILIES
from cin_outcomes.outcomes.levels import GEO_COLUMNS, LEVELS, NATIONAL, all_units
from cin_outcomes.outcomes.measures import Measure
from cin_outcomes.tabulation.spec import (
    GROUP,
    PUPIL_POPULATIONS,
    TIME_IDENTIFIER,
    VERSION,
    TableSpec,
    version_for,
)
from cin_outcomes.years import ReportingYear

#: The disclosure stage: unrounded figures of the published groups -> the same rows with indicator strings.
DisclosureStage = Callable[[pl.DataFrame, TableSpec], pl.DataFrame]

#: Columns that identify a row of a table (before its filters).
ROW_KEY = ["time_period", "geographic_level", "region_code", "old_la_code", GROUP]


def primary_stage(unrounded: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """DfE's primary suppression and rounding, as observed in the real files (domain.md §9.2)."""
    return apply_primary_suppression(unrounded, spec.suppression)


# --- years ----------------------------------------------------------------------------------------------------

def data_year(spec: TableSpec, year: ReportingYear | str) -> ReportingYear:
    """The year whose outcomes (and social care groups) the table of reporting ``year`` shows: the year itself,
    or the year before for suspensions and permanent exclusions."""
    year = ReportingYear.parse(year)
    return FAMILIES[spec.source].academic_year(year) if spec.source in FAMILIES else year


def produced(spec: TableSpec, year: ReportingYear | str) -> bool:
    """Whether the outcome was collected for the table's year (if not, every figure is ``x``)."""
    return FAMILIES[spec.source].available(data_year(spec, year)) if spec.source in FAMILIES else True


def filter_columns(spec: TableSpec) -> list[str]:
    """Filters that vary within a year (pre-grouped and breakdowns), in column order."""
    return [f.name for f in spec.filters if f.kind in ("pregrouped", "breakdown")]


def key_columns(spec: TableSpec) -> list[str]:
    return [*ROW_KEY, *filter_columns(spec)]


# --- the complete matrix ----------------------------------------------------------------------------------------

def skeleton(spec: TableSpec, year: ReportingYear | str, *, groups: tuple[str, ...] | None = None,
             applicable_only: bool = True) -> pl.DataFrame:
    """Every row a year of the table has: geography x group x filter items, per grouping set (the headline and
    each breakdown on its own), with ``Total`` in the filters not broken down.

    ``applicable_only``: placement and period-of-care items only for groups looked after at 31 March (the rows
    the data can fill); without it every group has them (the published file, where they are ``z``).
    """
    y = data_year(spec, year)
    groups = spec.aggregated_groups if groups is None else groups
    units = all_units([y.label], spec.levels).drop("reporting_year").with_columns(
        time_period=pl.lit(y.time_period))
    base = units.join(pl.DataFrame({GROUP: list(groups)}, schema={GROUP: pl.Utf8}), how="cross")
    sub = pl.col("geographic_level") == NATIONAL
    base = base.filter(sub | (pl.col(GROUP) != ALL_PUPILS))
    if spec.subnational_groups is not None:
        base = base.filter(sub | pl.col(GROUP).is_in(list(spec.subnational_groups)))
    frames = []
    for s in spec.grouping_sets:
        frame = base
        for f in spec.filters_of("pregrouped"):
            frame = frame.join(pl.DataFrame({f.name: list(f.items)}, schema={f.name: pl.Utf8}), how="cross")
        for name in s:
            items = [v for v in spec.filter(name).items if v != TOTAL]
            frame = frame.join(pl.DataFrame({name: items}, schema={name: pl.Utf8}), how="cross")
            if applicable_only and name in CLA_ONLY:
                frame = frame.filter(pl.col(GROUP).is_in(list(CLA_AT_31_MARCH_GROUPS)))
        frame = frame.with_columns(*(pl.lit(TOTAL).alias(b) for b in spec.breakdowns if b not in s))
        frames.append(frame.select(*GEO_COLUMNS, "time_period", GROUP, *filter_columns(spec)))
    return pl.concat(frames).unique(maintain_order=True)


# --- step 1: unrounded figures ----------------------------------------------------------------------------------

def table_measures(spec: TableSpec) -> tuple[Measure, ...]:
    """The family measures the table's indicators are made from."""
    cols = set(spec.input_columns) | set(spec.indicator_names)
    return tuple(m for m in FAMILIES[spec.source].measures if set(m.columns) & cols)


def _null_figures(frame: pl.DataFrame, columns: list[str], dtypes: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, dtypes.get(c, pl.Float64)).alias(c) for c in columns)


def _measure_dtypes(measures: tuple[Measure, ...]) -> dict[str, pl.DataType]:
    out: dict[str, pl.DataType] = {}
    for m in measures:
        for q in (m.numerator, m.denominator):
            if q is not None:
                out[q.name] = pl.Float64 if q.total else pl.Int64
        out.setdefault(m.key, pl.Float64 if m.kind != "count" else pl.Int64)
        if m.ci is not None:
            out[m.ci.lower] = out[m.ci.upper] = pl.Float64
    return out


def unrounded_table(spec: TableSpec, data: pl.DataFrame, year: ReportingYear | str) -> pl.DataFrame:
    """Unrounded figures of one year of ``spec`` from its input: the family's linked outcome dataset, or for
    ``match_rates`` the year's ``linkage/match_rates`` frame. One row per :func:`skeleton` row (in its order),
    with ``time_period``, the geography, group and filter columns, and every indicator input and value."""
    if spec.source == "match_rates":
        return _match_rates(spec, data, year)
    family = FAMILIES[spec.source]
    measures = table_measures(spec)
    keys = skeleton(spec, year)
    dtypes = _measure_dtypes(measures)
    columns = list(dict.fromkeys(c for m in measures for c in m.columns))
    if not produced(spec, year) or data.height == 0:
        return _null_figures(keys, columns, dtypes)
    linked = data.filter(pl.col(GROUP).is_in(list(spec.aggregated_groups)))
    by = filter_columns(spec)
    items = {f.name: [v for v in f.items if v != TOTAL] for f in spec.filters if f.name in by}
    agg = aggregate(linked, measures, by, levels=spec.levels,
                    grouping_sets=[s for s in spec.grouping_sets], pretotalled=family.pretotalled,
                    complete=items, groups=list(spec.aggregated_groups))
    join = ["time_period", "geographic_level", "region_code", "old_la_code", GROUP, *by]
    figures = agg.select(*join, *columns).with_columns(_over_no_pupils(spec))
    # a unit or group with no linked pupils at all (a small LA's empty cohort, or no group in the year) is absent
    # from the aggregate: it keeps its rows, with no pupils, as aggregate's completed cells have
    out = keys.join(figures.with_columns(_aggregated=pl.lit(True)), on=join, how="left", nulls_equal=True,
                    maintain_order="left")
    absent = pl.col("_aggregated").is_null()
    return out.with_columns(
        pl.when(absent).then(pl.lit(0, out.schema[c])).otherwise(pl.col(c)).alias(c)
        for c in columns if out.schema[c].is_integer() and _produced_column(spec, c, year)
    ).drop("_aggregated")


def _produced_column(spec: TableSpec, column: str, year: ReportingYear | str) -> bool:
    """Whether ``column`` belongs to a measure produced in ``year`` (a measure not produced stays null: ``x``)."""
    y = data_year(spec, year)
    return any(column in m.columns and m.available(y) for m in table_measures(spec))


def _over_no_pupils(spec: TableSpec) -> list[pl.Expr]:
    """A statistic (confidence limit) over a denominator of 0 has no value; it is not applicable (``z``), not
    unavailable (``x``): give it 0 so that the suppression stage's zero-denominator rule prints ``z``."""
    return [pl.when(pl.col(i.denominator) == 0).then(pl.lit(0.0)).otherwise(pl.col(i.input_column))
            .alias(i.input_column) for i in spec.indicators if i.kind == "statistic" and i.denominator]


def _match_rates(spec: TableSpec, rates: pl.DataFrame, year: ReportingYear | str) -> pl.DataFrame:
    keys = skeleton(spec, year)
    counts = ["t_children", "t_children_with_upn", "t_matched"]
    unknown = sorted(set(rates["pupil_population"].unique().to_list()) - set(PUPIL_POPULATIONS)) \
        if rates.height else []
    if unknown:
        raise ValueError(f"match rates: pupil populations without a published label: {unknown}")
    figures = rates.with_columns(
        pupil_population=pl.col("pupil_population").replace_strict(PUPIL_POPULATIONS, return_dtype=pl.Utf8)
    ).select("geographic_level", "region_code", "old_la_code", GROUP, "pupil_population", *counts)
    join = ["geographic_level", "region_code", "old_la_code", GROUP, "pupil_population"]
    out = keys.join(figures, on=join, how="left", nulls_equal=True, maintain_order="left").with_columns(
        pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)

    def pct(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(100 * pl.col(num) / pl.col(den)).otherwise(None)

    return out.with_columns(pt_children_with_upn=pct("t_children_with_upn", "t_children"),
                            pt_matched=pct("t_matched", "t_children"),
                            pt_matched_of_with_upn=pct("t_matched", "t_children_with_upn"))


# --- steps 2 and 3: the published strings -----------------------------------------------------------------------

def not_applicable_rows(spec: TableSpec, published: pl.DataFrame, year: ReportingYear | str) -> pl.DataFrame:
    """Rows for the combinations that do not apply (a placement item of a group not looked after at 31 March),
    every indicator ``z``, so that the file's matrix is complete."""
    full = skeleton(spec, year, groups=spec.groups, applicable_only=False)
    cla_only = [c for c in filter_columns(spec) if c in CLA_ONLY]
    if not cla_only:
        return published.clear()
    keys = key_columns(spec)
    extra = full.join(published.select(keys), on=keys, how="anti", nulls_equal=True).filter(
        ~pl.col(GROUP).is_in(list(CLA_AT_31_MARCH_GROUPS))
        & pl.any_horizontal(*(pl.col(c) != TOTAL for c in cla_only)))
    return extra.with_columns(pl.lit(NOT_APPLICABLE).alias(i) for i in spec.indicator_names)


def publish(spec: TableSpec, unrounded: pl.DataFrame, year: ReportingYear | str, *, latest: str | None = None,
            stage: DisclosureStage = primary_stage) -> pl.DataFrame:
    """The year's rows as the file prints them: every column text, in the file's column and row order.

    ``latest``: the time period of the latest year of the series (for ``version``; default this year).
    """
    y = data_year(spec, year)
    shown = unrounded.filter(pl.col(GROUP).is_in(list(spec.groups)))
    out = stage(shown, spec)
    extra = not_applicable_rows(spec, out, year)
    if extra.height:
        out = pl.concat([out.select(extra.columns), extra], how="vertical_relaxed")
    fixed = {f.name: f.items[0] for f in spec.filters_of("fixed")}
    out = out.with_columns(time_identifier=pl.lit(TIME_IDENTIFIER),
                           **{k: pl.lit(v) for k, v in fixed.items()})
    if spec.versioned:
        out = out.with_columns(pl.lit(version_for(y.time_period, latest or y.time_period)).alias(VERSION))
    out = out.select(*(pl.col(c).cast(pl.Utf8) for c in spec.columns))
    return order_rows(spec, out)


def order_rows(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """DfE's row order: latest year first; then social care group; then England, the regions by code and the LAs
    by region code and name; then the headline row and each breakdown's items in turn (``Total`` first); then
    the pre-grouped items (school phase, pupil population) in order, as in DfE's absence file."""
    level_rank = {lv: i for i, lv in enumerate(LEVELS)}
    ranks = [pl.col(GROUP).replace_strict({g: i for i, g in enumerate(spec.groups)}, default=len(spec.groups),
                                          return_dtype=pl.Int32).alias("__group"),
             pl.col("geographic_level").replace_strict(level_rank, default=len(LEVELS),
                                                       return_dtype=pl.Int32).alias("__level")]
    for f in spec.filters_of("pregrouped", "breakdown"):
        ranks.append(pl.col(f.name).replace_strict({v: i for i, v in enumerate(f.items)}, default=len(f.items),
                                                   return_dtype=pl.Int32).alias(f"__{f.name}"))
    breakdowns = list(spec.breakdowns)
    # which breakdown a row is broken down by (0: the headline), and its item
    which = pl.lit(0, pl.Int32)
    item = pl.lit(0, pl.Int32)
    for i, b in reversed(list(enumerate(breakdowns, start=1))):
        which = pl.when(pl.col(b) != TOTAL).then(pl.lit(i, pl.Int32)).otherwise(which)
        item = pl.when(pl.col(b) != TOTAL).then(pl.col(f"__{b}")).otherwise(item)
    ranked = frame.with_columns(*ranks).with_columns(which.alias("__set"), item.alias("__item"))
    region = ["region_code", "la_name"] if "region_code" in frame.columns else []
    sort = ["time_period", "__group", "__level", *region, "__set", "__item", *(f"__{f}" for f in breakdowns),
            *(f"__{f}" for f in spec.pregrouped)]
    desc = [True] + [False] * (len(sort) - 1)
    return ranked.sort(sort, descending=desc, nulls_last=False, maintain_order=True).select(frame.columns)
