"""Unrounded outcome figures by geography, social care group and breakdown, from a linked dataset.

:func:`aggregate` sums every measure's numerator and denominator over the linked rows of each unit and computes
the value (percentage, rate, average, count, confidence interval) from the sums, unrounded: rounding and
suppression are the later disclosure stage.

Counting
* Local authority: a child counts once in each LA that returned them (one row per child in an LA).
* Regional and National: each child once (rows linked by ``child_key``; the row of the lowest LA code is used
  when a child was returned by several LAs). The All pupils comparison is national only.

Breakdowns
* Every breakdown in ``by`` gets a ``Total`` item: by default the full cross of the breakdowns with their totals
  (all grouping sets); ``grouping_sets`` restricts it (e.g. one breakdown at a time).
* A pupil with no item for a breakdown (placement for a group not looked after at 31 March) counts only in its
  ``Total``.
* A *pre-totalled* breakdown (absence by school phase) already has a ``Total`` row per pupil; it is grouped
  as it is, and when it is not in ``by`` only its ``Total`` rows are used.
* ``complete``: item lists per breakdown; every unit x group x item combination is then present (``0`` pupils
  and null values where nobody is), so a table built from it has a complete matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import polars as pl

from cin_outcomes.linkage.care import CLA_AT_31_MARCH_GROUPS
from cin_outcomes.linkage.characteristics import TOTAL
from cin_outcomes.outcomes.families import ALL_PUPILS
from cin_outcomes.outcomes.levels import GEO_COLUMNS, LEVELS, LOCAL_AUTHORITY, NATIONAL, all_units, level_order, units
from cin_outcomes.outcomes.measures import Measure, quantities
from cin_outcomes.years import ReportingYear

KEY = ["reporting_year", "time_period", *GEO_COLUMNS, "social_care_group"]
#: Breakdowns that describe looked-after children at 31 March only: other groups have just ``Total``.
CLA_ONLY = ("placement", "period_of_care_length")


def _all_sets(by: Sequence[str]) -> list[tuple[str, ...]]:
    return [s for k in range(len(by) + 1) for s in combinations(by, k)]


def aggregate(linked: pl.DataFrame, measures: Sequence[Measure], by: Sequence[str] = (), *,
              levels: Sequence[str] = LEVELS, grouping_sets: Sequence[Sequence[str]] | None = None,
              pretotalled: Sequence[str] = (), complete: Mapping[str, Sequence[str]] | None = None,
              groups: Sequence[str] | None = None) -> pl.DataFrame:
    """Numerators, denominators and values of ``measures`` per unit, group and breakdown item (see module doc).

    Returns ``KEY`` columns, the ``by`` columns (``Total`` where not broken down), then each measure's columns
    (:attr:`Measure.columns`): counts as Int64, totals and values as Float64, null where a value has no pupils or
    the measure is not produced that year. ``groups``: the social care groups a complete matrix has (default:
    those present).
    """
    by = list(by)
    missing = [c for c in [*by, "child_key", "la_code", "social_care_group"] if c not in linked.columns]
    if missing:
        raise KeyError(f"aggregate: the linked dataset has no column(s) {missing}")
    qs = quantities(measures)
    sds = sorted({m.ci.sd for m in measures if m.ci is not None})
    pre = [c for c in pretotalled if c in linked.columns]
    free = [c for c in by if c not in pre]
    sets = [tuple(s) for s in grouping_sets] if grouping_sets is not None else _all_sets(free)
    bad = [c for s in sets for c in s if c not in free]
    if bad:
        raise ValueError(f"grouping sets use columns that are not free breakdowns in by: {sorted(set(bad))}")

    roots = {r for q in qs.values() for r in q.expr.meta.root_names()}
    need = {"reporting_year", "time_period", "social_care_group", "la_code", "child_key", *by, *pre, *sds, *roots}
    lf = linked.lazy().select([c for c in linked.columns if c in need])
    for c in pre:
        if c not in by:
            lf = lf.filter(pl.col(c) == TOTAL)
    grouped_pre = [c for c in pre if c in by]
    aggs = [q.agg() for q in qs.values()] + [pl.col(sd).max().alias(sd) for sd in sds]
    social = lf.filter(pl.col("la_code").is_not_null())
    pupils = lf.filter(pl.col("la_code").is_null())  # the All pupils comparison: England only

    frames = []
    for level, u in units(social, levels):
        if level != LOCAL_AUTHORITY:  # each child once in the unit: the row of their lowest LA code
            u = (u.sort(["child_key", "la_code"])
                 .unique(subset=[*KEY, "child_key", *grouped_pre], keep="first", maintain_order=True))
            if level == NATIONAL:
                _, p = next(units(pupils, [NATIONAL]))
                u = pl.concat([u, p.select(u.collect_schema().names())])
        base = u.collect()
        plans = []
        for s in sets:
            keyed = base.lazy().filter(pl.all_horizontal(*(pl.col(c).is_not_null() for c in s))) if s \
                else base.lazy()
            plans.append(keyed.group_by([*KEY, *grouped_pre, *s]).agg(aggs).with_columns(
                *(pl.lit(TOTAL).alias(c) for c in free if c not in s)))
        frames += pl.collect_all(plans)
        del base
    cols = [*KEY, *by, *qs, *sds]
    out = (pl.concat([f.select(cols) for f in frames], how="vertical_relaxed") if frames
           else pl.DataFrame(schema={**{c: pl.Utf8 for c in [*KEY, *by]},
                                     **{q.name: (pl.Float64 if q.total else pl.Int64) for q in qs.values()},
                                     **{sd: pl.Float64 for sd in sds}}))
    if complete is not None:
        out = _complete(out, linked, by, sets, grouped_pre, complete, qs, sds, levels, groups)
    return _values(out, measures, by, qs)


def _values(out: pl.DataFrame, measures: Sequence[Measure], by: Sequence[str], qs: dict) -> pl.DataFrame:
    """Values from the sums; figures of measures not produced in a row's year set to null."""
    periods = out["time_period"].unique().drop_nulls().to_list() if out.height else []
    for m in measures:
        if m.kind != "count":
            out = out.with_columns(m.value().alias(m.key))
        if m.ci is not None:
            lo, hi = m.interval()
            out = out.with_columns(lo.alias(m.ci.lower), hi.alias(m.ci.upper))
    # null every figure of a measure not produced in a year; a shared quantity stays if another measure uses it
    for tp in periods:
        y = ReportingYear.parse(tp)
        off = [m for m in measures if not m.available(y)]
        if not off:
            continue
        on_cols = {c for m in measures if m.available(y) for c in m.columns}
        null_cols = sorted({c for m in off for c in m.columns} - on_cols)
        out = out.with_columns(pl.when(pl.col("time_period") == tp).then(None).otherwise(pl.col(c)).alias(c)
                               for c in null_cols)
    cols = list(dict.fromkeys(c for m in measures for c in m.columns))
    sort = ["reporting_year", "time_period", level_order(), "region_code", "old_la_code", "social_care_group", *by]
    return out.select(*KEY, *by, *cols).sort(sort, nulls_last=False)


def _complete(out: pl.DataFrame, linked: pl.DataFrame, by: Sequence[str], sets: Sequence[tuple[str, ...]],
              grouped_pre: Sequence[str], items: Mapping[str, Sequence[str]], qs: dict, sds: Sequence[str],
              levels: Sequence[str], groups: Sequence[str] | None) -> pl.DataFrame:
    """Add the missing unit x group x item rows with zero pupils."""
    missing = [c for c in by if c not in items]
    if missing:
        raise KeyError(f"complete: no item list for breakdown(s) {missing}")
    years = linked.select("reporting_year", "time_period").unique()
    if years.height == 0:
        return out
    group_list = list(groups) if groups is not None else sorted(linked["social_care_group"].unique().to_list())
    geo = all_units(years["reporting_year"].to_list(), levels).join(years, on="reporting_year")
    skeletons = []
    for s in sets:
        frame = geo.join(pl.DataFrame({"social_care_group": group_list}), how="cross")
        # the All pupils comparison is national only
        frame = frame.filter((pl.col("social_care_group") != ALL_PUPILS) | (pl.col("geographic_level") == "National"))
        for c in [*grouped_pre, *s]:
            vals = [v for v in items[c] if v != TOTAL] + ([TOTAL] if c in grouped_pre else [])
            it = pl.DataFrame({c: vals}, schema={c: pl.Utf8})
            frame = frame.join(it, how="cross")
            if c in CLA_ONLY:  # items only for groups looked after at 31 March
                frame = frame.filter(pl.col("social_care_group").is_in(list(CLA_AT_31_MARCH_GROUPS)))
        frame = frame.with_columns(*(pl.lit(TOTAL).alias(c) for c in by if c not in s and c not in grouped_pre))
        skeletons.append(frame.select(*KEY, *by))
    skeleton = pl.concat(skeletons).unique(maintain_order=True)
    keys = [*KEY, *by]
    filled = skeleton.join(out, on=keys, how="left", nulls_equal=True)
    extra = out.join(skeleton, on=keys, how="anti", nulls_equal=True)  # keep anything the skeleton lacks
    filled = pl.concat([filled, extra.select(filled.columns)], how="vertical_relaxed")
    return filled.with_columns(
        *(pl.col(q.name).fill_null(0.0 if q.total else 0) for q in qs.values()))
