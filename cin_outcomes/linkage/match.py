"""Linking the children of the social care groups to the pupil data by UPN, then former UPN; match rates.

A child in a social care group is the pair (``la_code``, ``la_child_id``) of the returning LA. Their *candidate*
UPNs, in the order they are tried:

1. the cohort's UPN (the best valid UPN of the year's returns: CIN census UPN, else the 903 UPN, else the CIN
   census former UPN; :func:`~cin_outcomes.cohorts.rules.per_year_membership`);
2. every other valid UPN the LA recorded for the same child identifier in the CIN census or the SSDA903 header
   of the six reporting years ending with the year, most recent year first (the LA's child identifier is stable
   across years, which the Ever-6 cohorts rely on too);
3. every valid former UPN (CIN census ``FormerUPN``) recorded for the child in those years, most recent first.

UPN-unknown codes (UN1-UN7) and UPNs failing the check letter are never candidates. A child is matched to a
module's population (:mod:`.populations`) through the first candidate found in it, and ``matched_by`` records
whether that was a ``UPN`` or a ``former UPN``. A former UPN that is some other child's UPN in the year's groups
is not used: a pupil record matched by a child's own UPN is not also given to another child through a former UPN.
Matching is done once per child for the union of the year's groups, so a child has the same match in every group
(CINO + CPPO + CLA = CIN holds for matched children in each LA).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from cin_outcomes.cohorts.rules import valid_upn
from cin_outcomes.outcomes.levels import GEO_COLUMNS, LOCAL_AUTHORITY, NATIONAL, level_order, units
from cin_outcomes.years import ReportingYear

IDENTITY = ["la_code", "la_child_id"]
UPN, FORMER_UPN = "UPN", "former UPN"
CANDIDATE = pl.Struct({"upn": pl.Utf8, "kind": pl.Utf8})


def _frames(tables: pl.DataFrame | Iterable[pl.DataFrame] | None) -> list[pl.DataFrame]:
    if tables is None:
        return []
    return [tables] if isinstance(tables, pl.DataFrame) else list(tables)


def candidate_upns(children: pl.DataFrame, cin_children: pl.DataFrame | Iterable[pl.DataFrame] | None = None,
                   cla_header: pl.DataFrame | Iterable[pl.DataFrame] | None = None,
                   year: ReportingYear | str | None = None) -> pl.DataFrame:
    """Per child (``la_code``, ``la_child_id`` of ``children``, with its cohort ``upn``): ``candidates``, the list
    of (``upn``, ``kind``) to try in order (see the module docstring). ``cin_children`` / ``cla_header``: the
    ingest tables of the year and the five before (rows of other years are ignored when ``year`` is given)."""
    ids = children.select(*IDENTITY, "upn").unique(subset=IDENTITY, keep="first").sort(IDENTITY)
    parts = [ids.filter(pl.col("upn").is_not_null()).select(*IDENTITY, "upn", order=pl.lit(0), year=pl.lit(""),
                                                            source=pl.lit(0))]
    window = None
    if year is not None:
        y = ReportingYear.parse(year)
        window = [(y - k).label for k in range(6)]

    def in_window(df: pl.DataFrame) -> pl.DataFrame:
        return df if window is None else df.filter(pl.col("reporting_year").is_in(window))

    for df in _frames(cin_children):
        df = in_window(df)
        parts.append(df.select(*IDENTITY, upn=valid_upn("upn"), order=pl.lit(1), year="reporting_year",
                               source=pl.lit(0)))
        parts.append(df.select(*IDENTITY, upn=valid_upn("former_upn"), order=pl.lit(2), year="reporting_year",
                               source=pl.lit(0)))
    for df in _frames(cla_header):
        df = in_window(df)
        parts.append(df.select("la_code", la_child_id=pl.col("child"), upn=valid_upn("upn"), order=pl.lit(1),
                               year="reporting_year", source=pl.lit(1)))
    rows = (
        pl.concat([p.with_columns(pl.col("order").cast(pl.Int8), pl.col("source").cast(pl.Int8),
                                  pl.col("year").cast(pl.Utf8)) for p in parts])
        .filter(pl.col("upn").is_not_null())
        .join(ids.select(IDENTITY), on=IDENTITY, how="semi")
    )
    # A value is the child's UPN when a return records it as the UPN (or only the cohort has it), and a former
    # UPN when the returns record it only as a former UPN (the cohort falls back to the former UPN).
    o = pl.col("order")
    kinds = rows.group_by([*IDENTITY, "upn"]).agg(
        kind=pl.when((o == 1).any() | ((o == 0).any() & ~(o == 2).any())).then(pl.lit(UPN))
        .otherwise(pl.lit(FORMER_UPN)))
    cand = (
        rows.sort([*IDENTITY, "order", "year", "source", "upn"], descending=[False, False, False, True, False, False])
        .unique(subset=[*IDENTITY, "upn"], keep="first", maintain_order=True)
        .join(kinds, on=[*IDENTITY, "upn"], how="left", maintain_order="left")
        .group_by(IDENTITY, maintain_order=True)
        .agg(candidates=pl.struct("upn", "kind"))
    )
    return ids.select(IDENTITY).join(cand, on=IDENTITY, how="left").with_columns(
        candidates=pl.col("candidates").fill_null(pl.lit([], dtype=pl.List(CANDIDATE))))


def _candidate_rows(children: pl.DataFrame) -> pl.DataFrame:
    """One row per child and candidate, with its ``rank``; former UPNs that are another child's UPN dropped."""
    ids = children.select(*IDENTITY, "candidates").filter(pl.col("candidates").list.len() > 0)
    ids = ids.unique(subset=IDENTITY, keep="first")
    rows = (
        ids.with_columns(rank=pl.int_ranges(0, pl.col("candidates").list.len(), dtype=pl.UInt32))
        .explode(["candidates", "rank"]).unnest("candidates")
        .filter(pl.col("upn").is_not_null())
    )
    current = rows.filter(pl.col("kind") == UPN).select("upn").unique()
    return rows.filter((pl.col("kind") == UPN) | ~pl.col("upn").is_in(current["upn"].implode()))


def match(children: pl.DataFrame, population: pl.DataFrame | pl.Series) -> pl.DataFrame:
    """``children`` (with ``candidates``) with ``matched_upn`` and ``matched_by`` for ``population`` (a frame with
    ``upn``, or the UPNs); null when the child is not in the population."""
    upns = population if isinstance(population, pl.Series) else population.get_column("upn")
    pop = pl.DataFrame({"upn": upns.drop_nulls().unique()})
    hits = (
        _candidate_rows(children).join(pop, on="upn", how="semi")
        .sort("rank")
        .unique(subset=IDENTITY, keep="first", maintain_order=True)   # the first candidate found
        .select(*IDENTITY, matched_upn=pl.col("upn"), matched_by=pl.col("kind"))
    )
    return children.join(hits, on=IDENTITY, how="left", maintain_order="left")


def has_candidate() -> pl.Expr:
    """The child has at least one valid UPN to be matched on."""
    return pl.col("candidates").list.len() > 0


def match_rates(children: pl.DataFrame, populations: Mapping[str, pl.DataFrame | pl.Series],
                levels: Sequence[str] = (NATIONAL, LOCAL_AUTHORITY)) -> pl.DataFrame:
    """How many children of each social care group could be linked to each pupil population, nationally and per LA.

    ``children``: the year's linkage frame (``social_care_group``, ``reporting_year``, ``la_code``,
    ``la_child_id``, ``child_key``, ``candidates``); ``populations``: name -> population (or its UPNs).
    One row per level/LA, group and population: ``t_children`` (children in the group), ``t_children_with_upn``
    (with at least one valid UPN to match on), ``t_matched`` (found in the population), and the percentages
    ``pt_children_with_upn`` and ``pt_matched`` of ``t_children`` and ``pt_matched_of_with_upn`` of those with a
    UPN. Per LA a child counts once in each LA that returned them; nationally once (linked on ``child_key``):
    with a UPN when any of their rows has one, matched when any of their rows was matched.
    """
    flags = children.select(*IDENTITY, "candidates").unique(subset=IDENTITY, keep="first").select(
        *IDENTITY, _with_upn=has_candidate())
    names = sorted(populations)
    for name in names:
        m = match(children.select(*IDENTITY, "upn", "candidates").unique(subset=IDENTITY, keep="first"),
                  populations[name])
        flags = flags.join(m.select(*IDENTITY, pl.col("matched_upn").is_not_null().alias(f"_m_{name}")),
                           on=IDENTITY, how="left")
    rows = children.select("reporting_year", "social_care_group", *IDENTITY, "child_key").join(
        flags, on=IDENTITY, how="left")
    value_cols = ["_with_upn", *(f"_m_{n}" for n in names)]
    out = []
    for level, lf in units(rows.lazy(), levels):
        key = ["reporting_year", *GEO_COLUMNS, "social_care_group"]
        if level != LOCAL_AUTHORITY:  # one row per child in the unit
            lf = lf.group_by([*key, "child_key"]).agg(pl.col(c).any() for c in value_cols)
        agg = lf.group_by(key).agg(pl.len().alias("t_children"),
                                   *(pl.col(c).sum().alias(c) for c in value_cols)).collect()
        out.append(agg)
    wide = pl.concat(out, how="vertical_relaxed") if out else pl.DataFrame()
    if wide.height == 0:
        return _empty_rates()
    long = wide.unpivot(index=["reporting_year", *GEO_COLUMNS, "social_care_group", "t_children", "_with_upn"],
                        on=[f"_m_{n}" for n in names], variable_name="pupil_population", value_name="t_matched")
    return long.select(
        "reporting_year", *GEO_COLUMNS, "social_care_group",
        pupil_population=pl.col("pupil_population").str.strip_prefix("_m_"),
        t_children=pl.col("t_children").cast(pl.Int64),
        t_children_with_upn=pl.col("_with_upn").cast(pl.Int64),
        t_matched=pl.col("t_matched").cast(pl.Int64),
    ).with_columns(
        pt_children_with_upn=_pct("t_children_with_upn", "t_children"),
        pt_matched=_pct("t_matched", "t_children"),
        pt_matched_of_with_upn=_pct("t_matched", "t_children_with_upn"),
    ).sort("social_care_group", "pupil_population", level_order(), "region_code", "old_la_code", nulls_last=False)


def _pct(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(100 * pl.col(num) / pl.col(den)).otherwise(None)


def _empty_rates() -> pl.DataFrame:
    schema = {"reporting_year": pl.Utf8, **{c: pl.Utf8 for c in GEO_COLUMNS}, "social_care_group": pl.Utf8,
              "pupil_population": pl.Utf8, "t_children": pl.Int64, "t_children_with_upn": pl.Int64,
              "t_matched": pl.Int64, "pt_children_with_upn": pl.Float64, "pt_matched": pl.Float64,
              "pt_matched_of_with_upn": pl.Float64}
    return pl.DataFrame(schema=schema)
