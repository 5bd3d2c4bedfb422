"""The methodology page (``methodology.md``, and ``methodology.html`` rendered from it).

Written from the specifications the pipeline runs on, so the page cannot drift from what was computed: the social
care groups from :data:`cin_outcomes.cohorts.spec.COHORTS`, the outcomes and who they are measured on from
:data:`cin_outcomes.outcomes.families.FAMILIES`, the years a measure was not produced from each measure's
availability, and the national match rates of the latest year from the published match-rates file. The fixed
prose (matching, double counting, limitations, rounding and suppression) is the template below.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from string import Template

import polars as pl

from cin_outcomes.cohorts.spec import COHORTS
from cin_outcomes.outcomes.families import FAMILIES, Family
from cin_outcomes.publication.guidance import PUBLICATION_TITLE, ROUNDING, SYMBOLS, academic_year, period_range
from cin_outcomes.tabulation.spec import LA_GROUPS, PUPIL_POPULATIONS, TableSpec
from cin_outcomes.years import ReportingYear

TEMPLATE = Template("""# $title: methodology

This page describes how the statistics in this release are produced: who is counted in each social care group,
how children are matched to their school records, which outcomes are measured on which pupils, and how figures
are rounded and suppressed. It covers the academic years $years.

## Social care groups

Children in need are identified from the children in need (CIN) census; children looked after from the SSDA903
return. Each local authority (LA) returns its own children. A child in more than one group at 31 March is placed
in the highest: looked after (CLA) above a child protection plan (CPP) above other children in need (CINO).

$cohorts

At local authority level the release publishes the groups at 31 March: $la_groups. Groups "at any point" and "in
the last 6 years" are national only.

## Matching to pupil records

Each child is looked for in the National Pupil Database by unique pupil number (UPN): first the UPN of the year's
returns, then other UPNs the LA recorded for the child in the last six years, then former UPNs. UPN-unknown codes
(UN1 to UN7) and UPNs failing the check letter are not used. A child without a valid UPN, or not found in the
pupil population of an outcome (for example a child not at the end of key stage 4), is not in that outcome's
figures. Matching is done once per child, so a child has the same school record in every group.

The file `match_rates.csv` gives, for every group and pupil population, the children in the group, those with a
valid UPN and those matched, nationally and per LA. National figures for $latest, matched to the spring school
census:

$match_table

## Outcomes and the pupils they are measured on

$families

Measures not produced in a year are shown `x`:

$not_produced

The All pupils comparison is computed from the same pupil data, with the same rules, as the social care groups.

## Counting children across local authorities

A child returned by more than one LA in a year (a child who moved) counts in each of those LAs' figures, and
once in the England and regional figures. LA figures therefore do not add up to England's: England is at most the
sum of its LAs. A child can be in different groups in different LAs (for example CINO in one and looked after in
another); nationally they count once in each group they were in.

## Limitations

- Outcomes cover matched children only; match rates are lower for young children (no UPN before school age),
  unaccompanied asylum-seeking children and children educated outside state-funded schools in England.
- Pupil characteristics (sex, ethnicity, SEN, school type) come from the spring school census of the outcome's
  year; where a child has no census record they are Unknown (sex and ethnicity then fall back to the social care
  return).
- Placement and length of the period of care describe the episode open on 31 March; a period of care that began
  more than five years before the year is in the top band whatever its start.
- Suspensions and permanent exclusions are for the academic year before the reporting year, for the groups at 31
  March of that academic year.
- Groups overlap and are not additive; figures for small groups at LA level are often suppressed.

## Rounding and suppression

$rounding

Symbols:

$symbols

The same rules apply to every file; they reproduce the rules observed in DfE's published files. Suppression
across tables (secondary suppression) is not yet applied: a suppressed figure may in some cases be derivable from
other published figures.

## Files

$files
""")


def cohorts_section() -> str:
    return "\n".join(f"- **{c.label}**: {c.description}" for c in COHORTS)


def families_section(families: Sequence[Family] = tuple(FAMILIES.values())) -> str:
    out = []
    for f in families:
        pop = f.population.description
        out.append(f"- **{f.label}**: {f.description} Measured on: {pop[0].lower()}{pop[1:]}")
    return "\n".join(out)


def not_produced_section(years: Sequence[ReportingYear], families: Sequence[Family] = tuple(FAMILIES.values())
                         ) -> str:
    lines = []
    for f in families:
        off_family = [f.academic_year(y) for y in years if not f.available(f.academic_year(y))]
        if off_family:
            lines.append(f"- {f.label}: not collected in "
                         + ", ".join(academic_year(y.time_period) for y in off_family))
        for m in f.measures:
            off = [f.academic_year(y) for y in years
                   if f.available(f.academic_year(y)) and not m.available(f.academic_year(y))]
            if off:
                lines.append(f"- {m.label} (`{m.key}`): not produced in "
                             + ", ".join(academic_year(y.time_period) for y in off))
    return "\n".join(lines) if lines else "- none"


def match_table(match_rates: pl.DataFrame | None) -> tuple[str, str]:
    """(latest academic year, a markdown table of national school-census match rates) from the published file."""
    if match_rates is None or match_rates.height == 0:
        return "the latest year", "(no match rates were published)"
    latest = match_rates["time_period"].max()
    rows = match_rates.filter((pl.col("time_period") == latest) & (pl.col("geographic_level") == "National")
                              & (pl.col("pupil_population") == PUPIL_POPULATIONS["census"]))
    lines = ["| Social care group | Children | With a valid UPN (%) | Matched (%) |", "|---|---|---|---|"]
    for r in rows.iter_rows(named=True):
        lines.append(f"| {r['social_care_group']} | {r['t_children']} | {r['pt_children_with_upn']} | "
                     f"{r['pt_matched']} |")
    return academic_year(latest), "\n".join(lines)


def methodology_markdown(tables: Sequence[tuple[TableSpec, pl.DataFrame]], years: Sequence[ReportingYear]) -> str:
    """The methodology page for the written files."""
    periods = [tp for _, df in tables for tp in df["time_period"].unique().to_list()]
    rates = next((df for spec, df in tables if spec.source == "match_rates"), None)
    latest, table = match_table(rates)
    files = "\n".join(f"- `{spec.file_name}`: {spec.title}" for spec, _ in tables)
    return TEMPLATE.substitute(
        title=PUBLICATION_TITLE, years=period_range(periods), cohorts=cohorts_section(),
        la_groups=", ".join(LA_GROUPS), latest=latest, match_table=table, families=families_section(),
        not_produced=not_produced_section(years), rounding=ROUNDING,
        symbols="\n".join(f"- `{s}`: {text}" for s, text in SYMBOLS), files=files)


# --- a small Markdown renderer (headings, paragraphs, lists, tables, code and bold) ------------------------------

def _inline(text: str) -> str:
    t = html.escape(text, quote=False)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", t)


def markdown_to_html(md: str, title: str = PUBLICATION_TITLE) -> str:
    """Render the subset of Markdown the methodology uses as a standalone HTML page."""
    out: list[str] = []
    para: list[str] = []
    lst: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        nonlocal para, lst, table
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
        if lst:
            out.append("<ul>\n" + "\n".join(f"  <li>{_inline(i)}</li>" for i in lst) + "\n</ul>")
        if table:
            head, *body = table
            rows = [f"  <tr>{''.join(f'<th>{_inline(c)}</th>' for c in head)}</tr>"]
            rows += [f"  <tr>{''.join(f'<td>{_inline(c)}</td>' for c in r)}</tr>" for r in body]
            out.append("<table>\n" + "\n".join(rows) + "\n</table>")
        para, lst, table = [], [], []

    for line in md.splitlines():
        s = line.rstrip()
        if not s:
            flush()
            continue
        m = re.match(r"^(#{1,6}) (.*)$", s)
        if m:
            flush()
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
        elif s.startswith("|"):
            if para or lst:
                flush()
            cells = [c.strip() for c in s.strip("|").split("|")]
            if not all(re.fullmatch(r"-+", c) for c in cells):
                table.append(cells)
        elif s.startswith("- "):
            if para or table:
                flush()
            lst.append(s[2:])
        elif lst and line.startswith("  "):
            lst[-1] += " " + s.strip()
        else:
            if lst or table:
                flush()
            para.append(s.strip())
    flush()
    body = "\n".join(out)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{html.escape(title)}"
            "</title>\n<style>body{font-family:Arial,sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
            "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}"
            f"</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
