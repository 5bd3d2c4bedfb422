"""Consistency checks of a linked outcome dataset, run as blocking asset checks on every year.

* ``rates_within_bounds``: every percentage between 0 and 100, every numerator of a percentage at most its
  denominator, no negative count of pupils (totals of progress scores may be negative), in every LA and
  nationally.
* ``groups_add_up``: in each LA, the groups that partition another add up exactly in every count of every
  measure (CINO + CPPO + CLA = CIN at 31 March and at any point; CLA 12 months + CLA less than 12 months = CLA
  at 31 March), because a child is matched once for all groups. Nationally, where a child in several LAs counts
  once, each part is at most the whole, the parts together at least the whole, and England at most the sum of
  its LAs (children counted by ``child_key``).

Results are counts of failing rows with the group, LA code and column involved, never a child.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.linkage.characteristics import TOTAL
from cin_outcomes.outcomes.families import ALL_PUPILS, Family
from cin_outcomes.outcomes.levels import LOCAL_AUTHORITY, NATIONAL
from cin_outcomes.outcomes.measures import quantities

#: (whole, parts): groups that partition another by the hierarchy CLA > CPP > CIN or by length of care.
PARTITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CIN at 31 March", ("CINO at 31 March", "CPPO at 31 March", "CLA at 31 March")),
    ("CLA at 31 March", ("CLA 12 months at 31 March", "CLA less than 12 months at 31 March")),
    ("CIN at any point", ("CINO at any point", "CPPO at any point", "CLA at any point")),
)
MAX_LISTED = 20


def headline(family: Family, linked: pl.DataFrame) -> pl.DataFrame:
    """Every measure per group, nationally and per LA, without breakdowns (the frame the checks read)."""
    return aggregate(linked, family.measures, levels=(NATIONAL, LOCAL_AUTHORITY), pretotalled=family.pretotalled)


def rates_within_bounds(family: Family, table: pl.DataFrame) -> tuple[bool, dict]:
    problems = []
    for m in family.measures:
        v, n = pl.col(m.key), pl.col(m.numerator.name)
        # counts of pupils are never negative; totals of scores may be (progress scores)
        conds = [] if m.numerator.total else [(f"{m.numerator.name} negative", n < 0)]
        if m.kind == "percentage":
            d = pl.col(m.denominator.name)
            conds += [(f"{m.key} outside 0-100", (v < 0) | (v > 100)),
                      (f"{m.numerator.name} above {m.denominator.name}", n > d)]
        for name, cond in conds:
            bad = table.filter(cond.fill_null(False))
            if bad.height:
                problems.append({"rule": name, "rows": bad.height,
                                 "where": _where(bad)})
    return not problems, {"rows_checked": table.height, "failures": len(problems),
                          "failures_by_rule": problems}


def _where(bad: pl.DataFrame) -> list[str]:
    return [f"{r['geographic_level']} {r['old_la_code'] or ''} {r['social_care_group']}".replace("  ", " ")
            for r in bad.head(MAX_LISTED).iter_rows(named=True)]


def groups_add_up(family: Family, table: pl.DataFrame, linked: pl.DataFrame) -> tuple[bool, dict]:
    present = set(family.groups)
    qs = quantities(family.measures)
    counts = [q.name for q in qs.values() if not q.total]
    totals = [q.name for q in qs.values() if q.total]
    la = table.filter(pl.col("geographic_level") == LOCAL_AUTHORITY)
    children = _total_rows(linked, family.pretotalled)
    problems: list[dict] = []
    checked = []
    for whole, parts in PARTITIONS:
        if whole not in present or not set(parts) <= present:
            continue
        checked.append(f"{' + '.join(parts)} = {whole}")
        w = la.filter(pl.col("social_care_group") == whole).select("old_la_code", *counts, *totals)
        p = (la.filter(pl.col("social_care_group").is_in(list(parts))).group_by("old_la_code")
             .agg(pl.col(c).sum() for c in [*counts, *totals]))
        both = w.join(p, on="old_la_code", how="full", suffix="_parts", coalesce=True).fill_null(0)
        for c in counts:
            bad = both.filter(pl.col(c) != pl.col(f"{c}_parts"))
            if bad.height:
                problems.append({"rule": f"{' + '.join(parts)} = {whole} in each LA", "column": c,
                                 "las": bad["old_la_code"].head(MAX_LISTED).to_list(), "rows": bad.height})
        for c in totals:
            bad = both.filter((pl.col(c) - pl.col(f"{c}_parts")).abs() > 1e-6 * (1 + pl.col(c).abs()))
            if bad.height:
                problems.append({"rule": f"{' + '.join(parts)} = {whole} in each LA", "column": c,
                                 "las": bad["old_la_code"].head(MAX_LISTED).to_list(), "rows": bad.height})
        problems += _national(children, whole, parts)
    problems += _national_within_las(children)
    return not problems, {"relations_checked": checked, "failures": len(problems), "failures_by_rule": problems}


def _distinct(linked: pl.DataFrame, groups: Sequence[str]) -> dict[str, int]:
    got = (linked.filter(pl.col("social_care_group").is_in(list(groups)))
           .group_by("social_care_group").agg(pl.col("child_key").n_unique()))
    out = dict(got.iter_rows())
    return {g: int(out.get(g, 0)) for g in groups}


def _total_rows(linked: pl.DataFrame, pretotalled: Sequence[str]) -> pl.DataFrame:
    """One row per child per group: the ``Total`` rows of pre-totalled breakdowns."""
    for c in pretotalled:
        linked = linked.filter(pl.col(c) == TOTAL)
    return linked


def _national(linked: pl.DataFrame, whole: str, parts: Sequence[str]) -> list[dict]:
    n = _distinct(linked, [whole, *parts])
    out = []
    for p in parts:
        if n[p] > n[whole]:
            out.append({"rule": f"{p} at most {whole} in England", "children": n[p], "whole": n[whole]})
    if sum(n[p] for p in parts) < n[whole]:
        out.append({"rule": f"{' + '.join(parts)} at least {whole} in England",
                    "children": sum(n[p] for p in parts), "whole": n[whole]})
    return out


def _national_within_las(linked: pl.DataFrame) -> list[dict]:
    rows = linked.filter(pl.col("social_care_group") != ALL_PUPILS)
    per = rows.group_by("social_care_group").agg(
        national=pl.col("child_key").n_unique(),
        la_sum=pl.struct("la_code", "child_key").n_unique())
    bad = per.filter(pl.col("national") > pl.col("la_sum"))
    return [{"rule": "England at most the sum of its LAs", "group": g, "england": e, "las": s}
            for g, e, s in bad.iter_rows()]
