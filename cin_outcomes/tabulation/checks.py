"""The checks run on every year of every published table, as blocking asset checks.

* ``ees_screener``: the year's data and metadata through the EES screener (:mod:`cin_outcomes.publication.
  screener`): every FAIL rule, plus empty and non-numeric indicator cells. A filter with a single item in one year
  (``version``) is screened as a single-level column, as it would be in a one-year file; the assembled series is
  screened again, whole, by the publication asset.
* ``groups_add_up``: in each LA, CINO + CPPO + CLA = CIN and CLA 12 months + CLA less than 12 months = CLA at
  31 March (and the "at any point" equivalent) in every count (denominators and numerators), exactly, and in
  totals of scores to rounding error; in England and each region, where a child returned by several LAs counts
  once, each part's denominator is at most the whole's and the parts together at least the whole.
* ``national_within_las``: England's count, and each region's, at most the sum of its LAs' counts, for every
  group, filter combination and count.
* ``rates_within_bounds``: every percentage between 0 and 100 with its numerator at most its denominator, and no
  negative count, unrounded; and every published percentage within 0-100.
* ``complete_matrix``: every combination of geography, group and filter items present exactly once, and every
  breakdown with its ``Total``.

Arithmetic checks read the unrounded figures (which include the groups a relation needs even where the file does
not publish them); the screener and the matrix read the published strings. Results name the rule, the group, the
LA code and the column, never a child; at most :data:`MAX_LISTED` places are listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from cin_outcomes.linkage.characteristics import TOTAL
from cin_outcomes.outcomes.levels import LOCAL_AUTHORITY, NATIONAL, REGIONAL
from cin_outcomes.publication.screener import NUMBER_PATTERN, meta_frame, screen_frames
from cin_outcomes.tabulation.build import GROUP, filter_columns, key_columns, skeleton
from cin_outcomes.tabulation.spec import TableSpec
from cin_outcomes.years import ReportingYear

MAX_LISTED = 20
LONDON, INNER_OUTER = "E12000007", ("E13000001", "E13000002")


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict and what to show a statistician (counts and places, no child-level data)."""

    passed: bool
    metadata: dict


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    applies: Callable[[TableSpec], bool]


CHECKS: tuple[Check, ...] = (
    Check("ees_screener", "The year's data and metadata pass every FAIL rule of DfE's EES screener, with no empty "
          "or non-numeric indicator cell.", lambda s: True),
    Check("groups_add_up", "In each LA, CINO + CPPO + CLA = CIN and CLA 12 months + CLA less than 12 months = CLA "
          "at 31 March in every count (and at any point); in England and each region each part at most the whole "
          "and the parts at least the whole (a child in several LAs counts once).",
          lambda s: bool(s.relations())),
    Check("national_within_las", "England's and each region's counts at most the sum of their LAs' counts, for "
          "every group and filter combination.", lambda s: LOCAL_AUTHORITY in s.levels),
    Check("rates_within_bounds", "Percentages within 0-100 with numerators at most their denominators and no "
          "negative counts (unrounded), and published percentages within 0-100.", lambda s: True),
    Check("complete_matrix", "Every combination of geography, social care group and filter items present exactly "
          "once; every breakdown has a Total.", lambda s: True),
)


def checks_for(spec: TableSpec) -> tuple[Check, ...]:
    return tuple(c for c in CHECKS if c.applies(spec))


def _where(frame: pl.DataFrame, spec: TableSpec, extra: str = "") -> list[str]:
    cols = [c for c in ("geographic_level", "region_code", "old_la_code", GROUP, *filter_columns(spec))
            if c in frame.columns]
    out = []
    for r in frame.head(MAX_LISTED).select(cols).iter_rows(named=True):
        place = r.get("old_la_code") or r.get("region_code") or r["geographic_level"]
        items = [r[c] for c in filter_columns(spec) if c in r and r[c] != TOTAL]
        out.append(" / ".join(str(v) for v in (place, r[GROUP], *items) if v) + extra)
    return out


# --- EES screener -----------------------------------------------------------------------------------------------

def single_valued_filters(spec: TableSpec, published: pl.DataFrame) -> list[str]:
    """Filters with fewer than two items in ``published``: screened as single-level columns (no metadata row)."""
    return [f.name for f in spec.filters if f.kind != "fixed" and f.name in published.columns
            and published[f.name].n_unique() < 2]


def screen_published(spec: TableSpec, published: pl.DataFrame):
    """The screener's result for a published frame with the metadata the publication would write for it."""
    meta = meta_frame(spec.meta_rows(drop=single_valued_filters(spec, published)))
    return screen_frames(published, meta, harmonised=spec.harmonised, data_filename=spec.file_name,
                         meta_filename=spec.meta_file_name)


def ees_screener(spec: TableSpec, published: pl.DataFrame) -> CheckResult:
    res = screen_published(spec, published)
    meta = {"passed_stage": res.stage, "failures": len(res.failures), "warnings": len(res.warnings),
            "api_suitable": res.api_suitable, "harmonised_names_checked": spec.harmonised}
    if res.findings:
        meta["findings"] = [str(f) for f in res.findings[:MAX_LISTED]]
    return CheckResult(res.passed, meta)


# --- groups add up ------------------------------------------------------------------------------------------------

def _totals(spec: TableSpec) -> list[str]:
    return list(dict.fromkeys(i.input_column for i in spec.indicators if i.kind == "total"))


def groups_add_up(spec: TableSpec, unrounded: pl.DataFrame) -> CheckResult:
    keys = ["time_period", *filter_columns(spec)]
    counts = [c for c in spec.count_inputs if c in unrounded.columns]
    totals = [c for c in _totals(spec) if c in unrounded.columns]
    dens = [c for c in spec.denominator_inputs if c in unrounded.columns]
    problems: list[dict] = []
    checked = []
    la = unrounded.filter(pl.col("geographic_level") == LOCAL_AUTHORITY)
    for whole, parts in spec.relations():
        rel = f"{' + '.join(parts)} = {whole}"
        checked.append(rel)
        if la.height:
            w = la.filter(pl.col(GROUP) == whole).select(*keys, "old_la_code", *counts, *totals)
            p = (la.filter(pl.col(GROUP).is_in(list(parts))).group_by([*keys, "old_la_code"])
                 .agg(*(pl.col(c).sum().alias(f"{c}__parts") for c in [*counts, *totals]),
                      *(pl.col(c).is_null().all().alias(f"{c}__null") for c in [*counts, *totals])))
            both = w.join(p, on=[*keys, "old_la_code"], how="left", nulls_equal=True)
            for c in [*counts, *totals]:
                parts_col = pl.when(pl.col(f"{c}__null").fill_null(True)).then(None).otherwise(pl.col(f"{c}__parts"))
                if c in counts:
                    bad = pl.col(c).fill_null(-1) != parts_col.fill_null(-1)
                else:
                    bad = ((pl.col(c) - parts_col).abs() > 1e-6 * (1 + pl.col(c).abs())).fill_null(
                        pl.col(c).is_null() != parts_col.is_null())
                miss = both.filter(bad)
                if miss.height:
                    problems.append({"rule": f"{rel} in each LA", "column": c, "rows": miss.height,
                                     "where": _where(miss.with_columns(pl.lit(LOCAL_AUTHORITY).alias(
                                         "geographic_level"), pl.lit(whole).alias(GROUP)), spec)})
        for level in (NATIONAL, REGIONAL):
            agg = unrounded.filter(pl.col("geographic_level") == level)
            if not agg.height:
                continue
            k = [*keys, "region_code"]
            w = agg.filter(pl.col(GROUP) == whole).select(*k, *dens)
            for c in dens:
                per = (agg.filter(pl.col(GROUP).is_in(list(parts))).group_by(k)
                       .agg(pl.col(c).max().alias("__max"), pl.col(c).sum().alias("__sum")))
                both = w.join(per, on=k, how="left", nulls_equal=True)
                for name, cond in ((f"each of {', '.join(parts)} at most {whole} ({level})", pl.col("__max") > pl.col(c)),
                                   (f"{' + '.join(parts)} at least {whole} ({level})", pl.col("__sum") < pl.col(c))):
                    bad = both.filter(cond.fill_null(False))
                    if bad.height:
                        problems.append({"rule": name, "column": c, "rows": bad.height,
                                         "where": _where(bad.with_columns(pl.lit(level).alias("geographic_level"),
                                                                          pl.lit(whole).alias(GROUP)), spec)})
    return CheckResult(not problems, {"relations_checked": checked, "counts_checked": counts,
                                      "failures": len(problems), "failures_by_rule": problems})


# --- England and regions within their LAs -------------------------------------------------------------------------

def national_within_las(spec: TableSpec, unrounded: pl.DataFrame) -> CheckResult:
    keys = ["time_period", GROUP, *filter_columns(spec)]
    counts = [c for c in spec.count_inputs if c in unrounded.columns]
    la = unrounded.filter(pl.col("geographic_level") == LOCAL_AUTHORITY)
    problems = []
    if la.height == 0:
        return CheckResult(True, {"note": "no LA rows"})
    # England: every LA; a region: its LAs (London: Inner and Outer London's)
    la_region = la.with_columns(pl.col("region_code").alias("__region"))
    london = la.filter(pl.col("region_code").is_in(list(INNER_OUTER))).with_columns(pl.lit(LONDON).alias("__region"))
    by_region = (pl.concat([la_region, london]).group_by([*keys, "__region"])
                 .agg(*(pl.col(c).sum().alias(f"{c}__las") for c in counts)))
    by_england = la.group_by(keys).agg(*(pl.col(c).sum().alias(f"{c}__las") for c in counts))
    # only groups published per LA (national-only groups of the match rates have no LAs to add up)
    with_las = la[GROUP].unique().to_list()
    for level, frame, on in ((NATIONAL, by_england, keys), (REGIONAL, by_region, [*keys, "__region"])):
        rows = unrounded.filter((pl.col("geographic_level") == level) & pl.col(GROUP).is_in(with_las)).with_columns(
            pl.col("region_code").alias("__region"))
        both = rows.join(frame, on=on, how="left", nulls_equal=True)
        for c in counts:
            bad = both.filter((pl.col(c) > pl.col(f"{c}__las").fill_null(0)).fill_null(False))
            if bad.height:
                problems.append({"rule": f"{level} at most the sum of its LAs", "column": c, "rows": bad.height,
                                 "where": _where(bad, spec)})
    return CheckResult(not problems, {"counts_checked": counts, "failures": len(problems),
                                      "failures_by_rule": problems})


# --- bounds -------------------------------------------------------------------------------------------------------

def rates_within_bounds(spec: TableSpec, unrounded: pl.DataFrame, published: pl.DataFrame) -> CheckResult:
    problems = []
    conds = []
    for value, num, den in spec.bounded:
        if value in unrounded.columns:
            conds.append((f"{value} outside 0-100", value, (pl.col(value) < 0) | (pl.col(value) > 100)))
        conds.append((f"{num} above {den}", num, pl.col(num) > pl.col(den)))
    for c in spec.count_inputs:
        if c in unrounded.columns:
            conds.append((f"{c} negative", c, pl.col(c) < 0))
    for name, col, cond in conds:
        bad = unrounded.filter(cond.fill_null(False))
        if bad.height:
            problems.append({"rule": name, "column": col, "rows": bad.height, "where": _where(bad, spec)})
    for value, _, _ in spec.bounded:
        if value not in published.columns:
            continue
        v = pl.col(value)
        num = pl.when(v.str.contains(NUMBER_PATTERN)).then(v.cast(pl.Float64, strict=False))
        bad = published.filter(((num < 0) | (num > 100)).fill_null(False))
        if bad.height:
            problems.append({"rule": f"published {value} outside 0-100", "column": value, "rows": bad.height,
                             "where": _where(bad, spec)})
    return CheckResult(not problems, {"percentages_checked": len(spec.bounded), "failures": len(problems),
                                      "failures_by_rule": problems})


# --- the complete matrix ------------------------------------------------------------------------------------------

def complete_matrix(spec: TableSpec, published: pl.DataFrame, year: ReportingYear | str) -> CheckResult:
    keys = [c for c in key_columns(spec) if c in published.columns]
    expected = skeleton(spec, year, groups=spec.groups, applicable_only=False).select(keys)
    have = published.select(keys)
    missing = expected.join(have, on=keys, how="anti", nulls_equal=True)
    unexpected = have.join(expected, on=keys, how="anti", nulls_equal=True)
    dupes = have.group_by(keys).len().filter(pl.col("len") > 1)
    no_total = [f.name for f in spec.filters_of("breakdown", "pregrouped")
                if f.has_total and f.name in published.columns and not (published[f.name] == TOTAL).any()]
    problems = []
    for name, frame in (("missing combinations", missing), ("combinations not in the specification", unexpected),
                        ("duplicated combinations", dupes)):
        if frame.height:
            problems.append({"rule": name, "rows": frame.height, "where": _where(frame, spec)})
    if no_total:
        problems.append({"rule": "breakdowns without a Total", "filters": no_total})
    return CheckResult(not problems, {"rows": published.height, "expected_rows": expected.height,
                                      "failures": len(problems), "failures_by_rule": problems})


def run_checks(spec: TableSpec, unrounded: pl.DataFrame, published: pl.DataFrame,
               year: ReportingYear | str) -> dict[str, CheckResult]:
    """Every check that applies to ``spec``, by name."""
    runners = {
        "ees_screener": lambda: ees_screener(spec, published),
        "groups_add_up": lambda: groups_add_up(spec, unrounded),
        "national_within_las": lambda: national_within_las(spec, unrounded),
        "rates_within_bounds": lambda: rates_within_bounds(spec, unrounded, published),
        "complete_matrix": lambda: complete_matrix(spec, published, year),
    }
    return {c.name: runners[c.name]() for c in checks_for(spec)}
