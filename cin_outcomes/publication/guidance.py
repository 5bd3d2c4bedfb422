"""The data guidance (``data-guidance.txt``): what every file holds, as EES asks for it.

For each data file: its title and description, the geographic levels and time periods it covers, each filter
with its items, each indicator with its label, unit and decimal places, and notes (e.g. why the SEN files are
screened without the harmonised-names check). Written from the specifications and the assembled files, so it
always describes what was actually written.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import polars as pl

from cin_outcomes.outcomes.levels import LEVELS
from cin_outcomes.tabulation.spec import TableSpec

PUBLICATION_TITLE = ("Outcomes for children in need, including children looked after by local authorities in "
                     "England")
WIDTH = 110


def academic_year(time_period: str) -> str:
    """``202425`` -> ``2024/25``."""
    return f"{time_period[:4]}/{time_period[4:]}"


def period_range(time_periods: Sequence[str]) -> str:
    tps = sorted(set(time_periods))
    if not tps:
        return "none"
    return academic_year(tps[0]) if len(tps) == 1 else f"{academic_year(tps[0])} to {academic_year(tps[-1])}"


def _wrap(text: str, indent: str = "", hang: bool = True) -> str:
    """``text`` filled to the page width; list entries (``hang``) indent their continuation lines."""
    return textwrap.fill(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent + ("  " if hang else ""))


SYMBOLS = (
    ("c", "confidential: a count of 1 to 5 children, a figure made from one, or every figure of a row whose "
          "cohort is 1 to 5"),
    ("x", "not available: the measure was not produced that year (e.g. key stage 2 in 2019/20 and 2020/21, "
          "Progress 8 in 2019/20, 2020/21 and 2024/25)"),
    ("z", "not applicable: a rate or average over no pupils, or a breakdown that does not apply to the group "
          "(placement of children not looked after)"),
    ("k", "a non-zero percentage or average that rounds to 0 at the published decimal places"),
)

ROUNDING = ("National and regional counts are rounded to the nearest 10 (halves rounded up); local authority "
            "counts are not rounded. Percentages and averages are calculated from unrounded figures and rounded "
            "half up to the decimal places given for each indicator. Numbers between 1 and 5, and the "
            "percentages made from them, are suppressed (c) at every level, tested on the unrounded figure; "
            "a row whose cohort is 1 to 5 is suppressed whole; figures over a denominator of 0 are z. In key "
            "stage 2 files, numbers and percentages over 6 to 10 pupils are also suppressed.")


def file_section(spec: TableSpec, df: pl.DataFrame) -> str:
    """One file's entry in the data guidance."""
    levels = [lv for lv in LEVELS if lv in set(df["geographic_level"].unique().to_list())]
    lines = [spec.file_name + " - " + spec.title, "-" * min(WIDTH, len(spec.file_name) + len(spec.title) + 3),
             _wrap(spec.description, hang=False), "",
             f"Geographic levels: {'; '.join(levels)}",
             f"Time periods: {period_range(df['time_period'].to_list())} (time_identifier: Academic year)",
             f"Rows: {df.height:,}", ""]
    if spec.real_file:
        lines += [_wrap(f"Same file name, columns, column order, filter values, symbols and decimal places as "
                        f"DfE's published {spec.real_file}.", hang=False), ""]
    lines.append("Filters:")
    for f in spec.filters:
        if f.name not in df.columns:
            continue
        present = set(df[f.name].unique().to_list())
        items = [v for v in f.items if v in present] + sorted(present - set(f.items))
        what = f"{f.name} - {f.label}" + ("" if f.kind != "fixed" else " (one value, no metadata row)")
        lines.append(_wrap(what, "  "))
        lines.append(_wrap("items: " + "; ".join(items), "      "))
        if f.default and not f.has_total:
            lines.append(_wrap(f"no Total (default item: {f.default})", "      "))
    lines += ["", "Indicators:"]
    for ind in spec.indicators:
        unit = "%" if ind.kind == "percentage" and ind.name.startswith("pt_") else ""
        dp = 0 if ind.kind in ("count", "denominator") else ind.dp
        detail = f"{ind.kind}" + (f", {unit}" if unit else "") + f", {dp} dp"
        lines.append(_wrap(f"{ind.name} - {spec.labels[ind.name]} ({detail})", "  "))
    if spec.notes:
        lines += ["", "Notes:"]
        lines += [_wrap(f"- {n}", "  ") for n in spec.notes]
    return "\n".join(lines)


def data_guidance(tables: Sequence[tuple[TableSpec, pl.DataFrame]]) -> str:
    """The whole data guidance for the written files."""
    all_periods = [tp for _, df in tables for tp in df["time_period"].unique().to_list()]
    head = [
        PUBLICATION_TITLE, "Data guidance", "=" * 13, "",
        _wrap("This release gives the educational outcomes of children in need, children on a child protection "
              "plan and children looked after, with a comparison with all pupils. Children's social care "
              "records (the children in need census and the SSDA903 return on children looked after) are matched "
              "to the National Pupil Database by unique pupil number. See methodology.md for definitions.", hang=False), "",
        _wrap(f"Time periods: {period_range(all_periods)} academic years. Social care groups are those at 31 "
              "March (or at any point, or in the last 6 years) of the reporting year ending the academic year; "
              "suspensions and permanent exclusions are a year behind.", hang=False), "",
        _wrap("Files follow the Explore Education Statistics open data standards: one CSV per data set with a "
              ".meta.csv describing its filters and indicators, UTF-8, geographic rows for England (National), "
              "regions including London and Inner and Outer London (Regional) and local authorities (Local "
              "authority), which carry their region.", hang=False), "",
        "Symbols:"]
    head += [_wrap(f"{s}  {text}", "  ") for s, text in SYMBOLS]
    head += ["", "Rounding and suppression:", _wrap(ROUNDING, "  ", hang=False), "",
             _wrap("Social care groups overlap (a child in CINO at 31 March is also in CIN at 31 March), so the "
                   "social_care_group filter has no Total. Local authority figures count a child in every "
                   "authority that returned them; England and regional figures count each child once.", hang=False),
             "",
             f"Data files ({len(tables)}):"]
    head += [f"  {spec.file_name} - {spec.title}" for spec, _ in tables]
    sections = [file_section(spec, df) for spec, df in tables]
    return "\n".join(head) + "\n\n\n" + "\n\n\n".join(sections) + "\n"
