"""Every published file of the publication, described once.

A :class:`TableSpec` says what one data file holds: its name, geographic levels, the social care groups it
publishes, its filters (in column order) with their items, its indicators (with how each is rounded and
suppressed) and the labels of its metadata. Everything else (the assets, the checks, the metadata files, the data
guidance) is derived from :data:`TABLES`.

Two kinds of file
* **LA files** (National, Regional with London and Inner/Outer London, and LA rows), for the 31 March groups the
  2021 user-feedback response publishes at LA level (CINO, CPPO, both CLA groups and, for comparison, all CIN):
  ``ks2_la``, ``ks4_la``, ``absence_la`` (by school phase), ``permanent_exclusions_and_suspensions_la``,
  ``sen_la``, ``fsm_la`` (no looked-after groups), ``school_type_la`` reproduce the real files' names, columns,
  column order, filter values and decimal places (:mod:`cin_outcomes.publication.layouts`), so code written for
  DfE's files reads ours; ``eyfsp_la`` follows the columns of DfE's LA EYFSP data set (domain.md §4.2) and, like
  it, adds ``CIN at any point``.
* **National files**, one per outcome family: every social care group plus the ``All pupils comparison``, each
  breakdown one at a time (sex, ethnicity, SEN provision, primary type of need for the census-wide outcomes,
  school phase, academy or LA maintained, placement and length of the period of care for children looked after
  at 31 March), every breakdown with a ``Total``, every rate with its numerator and denominator.

Plus ``match_rates``: children in each group, with a valid UPN and matched to each pupil population, nationally
and per LA.

Groups are not additive (a child is in several), so ``social_care_group`` has no ``Total``; its metadata names
a default item instead. The SEN files keep DfE's indicator names (``t_SEN_support``), which the EES screener's
optional harmonised-names check rejects; they are screened without that check (``harmonised=False``) and the data
guidance says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cin_outcomes.cohorts.spec import COHORTS
from cin_outcomes.disclosure.primary import (
    Indicator,
    SuppressionSpec,
    average,
    count,
    denominator,
    percentage,
    statistic,
    total,
)
from cin_outcomes.linkage.care import CLA_AT_31_MARCH_GROUPS, PLACEMENT_ITEMS, POC_ITEMS
from cin_outcomes.linkage.characteristics import BREAKDOWN_ITEMS, TOTAL
from cin_outcomes.outcomes.checks import PARTITIONS
from cin_outcomes.outcomes.families import ALL_PUPILS, FAMILIES, Family
from cin_outcomes.outcomes.levels import LEVELS, LOCAL_AUTHORITY, NATIONAL
from cin_outcomes.outcomes.measures import Measure, quantities
from cin_outcomes.publication.layouts import layout
from cin_outcomes.publication.screener import MetaRow, filter_row, indicator_row

#: Observational-unit columns, in the real files' order.
NATIONAL_COLUMNS = ("time_period", "time_identifier", "geographic_level", "country_code", "country_name")
GEOGRAPHY_COLUMNS = (*NATIONAL_COLUMNS, "region_code", "region_name", "old_la_code", "la_name", "new_la_code")
TIME_IDENTIFIER = "Academic year"
GROUP = "social_care_group"
VERSION = "version"
REVISED, FINAL = "Revised", "Final"

#: The 31 March groups published at LA level (user-feedback response, March 2021), alphabetical as in DfE's files.
LA_GROUPS = ("CIN at 31 March", "CINO at 31 March", "CLA 12 months at 31 March",
             "CLA less than 12 months at 31 March", "CPPO at 31 March")
#: National files: the comparison first, then every cohort in the order of the cohort specification.
NATIONAL_GROUPS = (ALL_PUPILS, *(c.label for c in COHORTS))

FilterKind = Literal["group", "version", "fixed", "pregrouped", "breakdown"]


@dataclass(frozen=True)
class Filter:
    """A filter column of a published file.

    ``kind``: ``group`` (social care group), ``version`` (Revised for the latest year, Final before), ``fixed``
    (one item in every row, e.g. ``absence_terms``: no metadata row, as in DfE's file), ``pregrouped`` (the linked
    data already has a row per item, e.g. absence by school phase, or match rates by pupil population), or
    ``breakdown`` (a pupil characteristic; its ``Total`` is computed). ``items`` in the order rows are printed.
    """

    name: str
    label: str
    kind: FilterKind
    items: tuple[str, ...] = ()
    hint: str = ""
    default: str = ""

    @property
    def has_total(self) -> bool:
        return TOTAL in self.items

    def meta_row(self) -> MetaRow:
        return filter_row(self.name, self.label, self.hint, default=self.default)


@dataclass(frozen=True)
class TableSpec:
    """One published data file (``<stem>.csv`` with ``<stem>.meta.csv``)."""

    stem: str
    title: str
    description: str
    source: str                                  #: outcome family key, or ``match_rates``
    levels: tuple[str, ...]
    groups: tuple[str, ...]                      #: published ``social_care_group`` items, in print order
    filters: tuple[Filter, ...]                  #: in column order (the group filter included)
    indicators: tuple[Indicator, ...]            #: in column order, with how each is rounded and suppressed
    labels: Mapping[str, str]                    #: indicator -> metadata label
    cohort: str | None = None                    #: a row with this count 1-5 is suppressed whole
    harmonised: bool = True                      #: screened with the EES harmonised-names check
    real_file: str | None = None                 #: the DfE file whose layout this reproduces
    #: Groups aggregated only so that the consistency checks can run (``CLA at 31 March`` behind LA files).
    check_groups: tuple[str, ...] = ()
    #: Percentages bounded by 0 and 100: (value, numerator, denominator) input columns.
    bounded: tuple[tuple[str, str, str], ...] = ()
    #: Groups with Regional and LA rows (``None``: every group but the All pupils comparison).
    subnational_groups: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()
    _suppression: SuppressionSpec = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        labels = [self.labels.get(i.name) for i in self.indicators]
        missing = [i.name for i, lab in zip(self.indicators, labels) if not lab]
        if missing:
            raise ValueError(f"{self.stem}: indicators without a label: {missing}")
        dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dupes:
            raise ValueError(f"{self.stem}: labels used twice: {dupes}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.stem):
            raise ValueError(f"{self.stem}: file stems are lower-case snake case")
        object.__setattr__(self, "_suppression", SuppressionSpec(indicators=self.indicators, cohort=self.cohort))

    # --- derived views ----------------------------------------------------------------------------------------
    @property
    def file_name(self) -> str:
        return f"{self.stem}.csv"

    @property
    def meta_file_name(self) -> str:
        return f"{self.stem}.meta.csv"

    @property
    def suppression(self) -> SuppressionSpec:
        """How the file is rounded and suppressed (the input of the disclosure stage)."""
        return self._suppression

    @property
    def geography_columns(self) -> tuple[str, ...]:
        return NATIONAL_COLUMNS if tuple(self.levels) == (NATIONAL,) else GEOGRAPHY_COLUMNS

    @property
    def indicator_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.indicators)

    @property
    def filter_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.filters)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the data file, in order."""
        return (*self.geography_columns, *self.filter_names, *self.indicator_names)

    def filter(self, name: str) -> Filter:
        for f in self.filters:
            if f.name == name:
                return f
        raise KeyError(f"{self.stem} has no filter {name!r}")

    def filters_of(self, *kinds: str) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.kind in kinds)

    @property
    def breakdowns(self) -> tuple[str, ...]:
        """Pupil characteristics whose ``Total`` is computed, one at a time."""
        return tuple(f.name for f in self.filters_of("breakdown"))

    @property
    def pregrouped(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.filters_of("pregrouped"))

    @property
    def grouping_sets(self) -> tuple[tuple[str, ...], ...]:
        """The headline (every breakdown ``Total``) and each breakdown on its own."""
        return ((), *((b,) for b in self.breakdowns))

    @property
    def versioned(self) -> bool:
        return any(f.kind == "version" for f in self.filters)

    @property
    def aggregated_groups(self) -> tuple[str, ...]:
        """Published groups and those the consistency checks need, in a stable order."""
        return tuple(dict.fromkeys([*self.groups, *self.check_groups]))

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The unrounded columns the indicators are made from."""
        return self.suppression.input_columns

    @property
    def count_inputs(self) -> tuple[str, ...]:
        """Unrounded input columns that count children (or sessions): additive and never negative."""
        out: dict[str, None] = {}
        for ind in self.indicators:
            if ind.kind in ("count", "denominator"):
                out[ind.input_column] = None
            if ind.denominator:
                out[ind.denominator] = None
            if ind.kind == "percentage":
                out[ind.numerator] = None
        return tuple(out)

    @property
    def denominator_inputs(self) -> tuple[str, ...]:
        """The counts that percentages and averages are taken over (the populations)."""
        return tuple(dict.fromkeys(i.denominator for i in self.indicators if i.denominator))

    def meta_rows(self, drop: Sequence[str] = ()) -> list[MetaRow]:
        """Metadata rows: filters (without ``fixed`` ones and those in ``drop``, e.g. single-valued), then
        indicators, in column order."""
        rows = [f.meta_row() for f in self.filters if f.kind != "fixed" and f.name not in drop]
        for ind in self.indicators:
            unit = "%" if ind.kind == "percentage" and ind.name.startswith("pt_") else ""
            dp = 0 if ind.kind in ("count", "denominator") else ind.dp
            rows.append(indicator_row(ind.name, self.labels[ind.name], dp=dp, unit=unit))
        return rows

    def relations(self) -> list[tuple[str, tuple[str, ...]]]:
        """The (whole, parts) group relations whose groups are all aggregated for this table."""
        have = set(self.aggregated_groups)
        return [(w, p) for w, p in PARTITIONS if w in have and set(p) <= have]


# --- filters ------------------------------------------------------------------------------------------------------

_PHASE_ORDER = ("State-funded secondary", "State-funded primary", "State-funded alternative provision school",
                "Special")

FILTER_LABELS: dict[str, tuple[str, str]] = {
    "sex": ("Sex", "Sex recorded in the pupil data"),
    "ethnicity_major": ("Ethnicity (major group)", "Major ethnic group recorded in the pupil data"),
    "sen_provision": ("SEN provision", "Special educational needs provision on spring census day"),
    "sen_primary_need": ("Primary type of SEN need", "Primary type of special educational need on spring "
                         "census day"),
    "phase_type_grouping": ("School type", "Type of state-funded school attended"),
    "establishment_type_group": ("Academy or LA maintained", "Whether the school attended is an academy or free "
                                 "school or is maintained by the local authority"),
    "placement": ("Placement at 31 March", "Placement type at 31 March (children looked after at 31 March "
                  "only)"),
    "period_of_care_length": ("Length of period of care at 31 March", "Completed months of the period of care "
                              "open on 31 March (children looked after at 31 March only)"),
}

_ITEMS: dict[str, tuple[str, ...]] = {**BREAKDOWN_ITEMS, "placement": PLACEMENT_ITEMS,
                                      "period_of_care_length": POC_ITEMS}


def group_filter(groups: Sequence[str]) -> Filter:
    default = "CIN at 31 March" if "CIN at 31 March" in groups else groups[0]
    return Filter(GROUP, "Social care group", "group", tuple(groups),
                  hint="Children in need, on a child protection plan or looked after (see the methodology); "
                       "groups overlap, so there is no total", default=default)


def version_filter() -> Filter:
    return Filter(VERSION, "Version", "version", (REVISED, FINAL),
                  hint="Revised: the latest year, from revised attainment data; Final: earlier years",
                  default=FINAL)


def breakdown(name: str) -> Filter:
    label, hint = FILTER_LABELS[name]
    items = (TOTAL, *_ITEMS[name])
    return Filter(name, label, "breakdown", items, hint=hint)


ABSENCE_TERMS = Filter("absence_terms", "Absence terms", "fixed", ("six half terms",))
ABSENCE_PHASE = Filter("phase_type_grouping", "School type", "pregrouped", (TOTAL, *_PHASE_ORDER),
                       hint="Type of state-funded school: a pupil who attended several counts in each, and once "
                            "in Total")


def version_for(time_period: str, latest: str) -> str:
    """``Revised`` for the latest academic year of the series, ``Final`` for earlier ones (DfE's KS2/KS4 files)."""
    return REVISED if time_period == latest else FINAL


# --- indicators from the outcome measures ------------------------------------------------------------------------

#: Labels of columns that no measure label describes well, or whose measure label is longer than the EES API's
#: 100 characters.
QUANTITY_LABELS: dict[str, str] = {
    "pt_comm_lang_lit": "Percentage of pupils at the expected level in the communication and language and literacy "
                        "goals",
    "t_comm_lang_lit": "Number of pupils at the expected level in the communication and language and literacy goals",
    "t_sess_possible": "Number of possible sessions",
    "t_sess_overall": "Number of sessions missed through overall absence",
    "t_sess_authorised": "Number of sessions missed through authorised absence",
    "t_sess_unauthorised": "Number of sessions missed through unauthorised absence",
    "t_susp": "Number of suspensions",
    "t_inp8calc": "Number of pupils included in Progress 8",
    "t_phonics_eligible_pupils": "Number of year 1 pupils with a phonics screening check outcome",
}


def _subject(label: str) -> str:
    m = re.search(r" in (.+)$", label)
    return m.group(1) if m else label


def measure_columns(measures: Sequence[Measure]) -> list[str]:
    """Every column of ``measures`` for a national file: per measure its denominator, numerator, value and
    confidence interval, each column once, in measure order."""
    out: dict[str, None] = {}
    for m in measures:
        cols = ([] if m.denominator is None else [m.denominator.name]) + [m.numerator.name, m.key]
        if m.ci is not None:
            cols += [m.ci.lower, m.ci.upper]
        for c in cols:
            out.setdefault(c, None)
    return list(out)


def indicator_labels(measures: Sequence[Measure]) -> dict[str, str]:
    """A metadata label for every column of ``measures`` (values from the measure, the rest derived)."""
    labels: dict[str, str] = {}

    def put(col: str, label: str) -> None:
        labels.setdefault(col, QUANTITY_LABELS.get(col, label))

    for m in measures:
        put(m.key, m.label)
    for m in measures:
        num, den = m.numerator.name, (m.denominator.name if m.denominator else None)
        if m.kind == "percentage" and m.label.startswith("Percentage of "):
            put(num, "Number of " + m.label[len("Percentage of "):])
        elif m.kind == "average" and m.label.startswith("Average "):
            put(num, "Total " + m.label[len("Average "):])
        elif num != m.key:
            put(num, f"Numerator of: {m.label[0].lower()}{m.label[1:]}")
        if den is not None:
            if re.fullmatch(r"t_\w+_eligible_pupils", den):
                what = ("a progress score" if "_progress_" in den else "a scaled score" if "_scaled_score_" in den
                        else "a result")
                put(den, f"Number of pupils with {what} in {_subject(m.label)}")
            else:
                put(den, f"Number of pupils counted in: {m.label[0].lower()}{m.label[1:]}")
        if m.ci is not None:
            what = f"{m.label[0].lower()}{m.label[1:]}"
            put(m.ci.lower, f"Lower limit of the 95% confidence interval of the {what}")
            put(m.ci.upper, f"Upper limit of the 95% confidence interval of the {what}")
    return labels


#: Denominators that are part of a larger population in the same row: ``z`` (not ``0``) when that is 0, as DfE's
#: files print them (absence sessions of no pupils; KS2 progress and scaled-score pupils of a subject no pupil
#: took). Progress 8 pupils (``t_inp8calc``) are their own population and print ``0``.
DENOMINATOR_PARENTS: dict[str, str] = {
    "t_sess_possible": "t_pupils",
    **{f"t_{s}_progress_eligible_pupils": f"t_{s}_eligible_pupils" for s in ("read", "writta", "mat")},
    **{f"t_{s}_scaled_score_eligible_pupils": f"t_{s}_eligible_pupils" for s in ("read", "mat", "gps")},
}


def indicators_for(columns: Sequence[str], measures: Sequence[Measure], *, dps: Mapping[str, int] | None = None,
                   min_denominator: Mapping[str, int] | None = None) -> tuple[Indicator, ...]:
    """The suppression indicators of a file's ``columns`` from the family's ``measures``.

    A measure's value is a percentage (rates per 100 pupils too) or an average of its numerator over its
    denominator; a numerator count is a count over that denominator (``z`` when it is 0); a count that is no
    measure's numerator is a denominator; a total of scores is printed unrounded at ``dps`` (default 2); a
    confidence limit is a statistic over the measure's denominator. ``dps`` overrides decimal places (the real
    files' places for LA files); ``min_denominator`` (column -> n) suppresses numerators and percentages over
    denominators below n. A denominator in :data:`DENOMINATOR_PARENTS` is ``z`` when its parent is 0.
    """
    dps = dict(dps or {})
    mins = dict(min_denominator or {})
    by_key = {m.key: m for m in measures}
    numerator_of: dict[str, Measure] = {}
    ci_of: dict[str, Measure] = {}
    for m in measures:
        if m.kind != "count":
            numerator_of.setdefault(m.numerator.name, m)
        if m.ci is not None:
            ci_of[m.ci.lower] = ci_of[m.ci.upper] = m
    qs = quantities(measures)
    out = []
    for col in columns:
        m = by_key.get(col)
        if m is not None and m.kind != "count":
            dp = dps.get(col, m.dp)
            if m.kind in ("percentage", "rate"):
                out.append(percentage(col, m.numerator.name, m.denominator.name, dp, min_denominator=mins.get(col)))
            else:
                out.append(average(col, m.numerator.name, m.denominator.name, dp))
        elif col in ci_of:
            cm = ci_of[col]
            out.append(statistic(col, cm.denominator.name, dps.get(col, cm.dp)))
        elif col in qs:
            q = qs[col]
            owner = numerator_of.get(col)
            if q.total:
                out.append(total(col, owner.denominator.name if owner else None, dps.get(col, 2)))
            elif owner is not None:
                out.append(count(col, owner.denominator.name, min_denominator=mins.get(col)))
            elif DENOMINATOR_PARENTS.get(col) in qs:
                out.append(Indicator(col, "denominator", denominator=DENOMINATOR_PARENTS[col]))
            else:
                out.append(denominator(col))
        else:
            raise KeyError(f"column {col!r} is neither a measure, a quantity nor a confidence limit")
    return tuple(out)


def _bounded(indicators: Sequence[Indicator], measures: Sequence[Measure]) -> tuple[tuple[str, str, str], ...]:
    kinds = {m.key: m.kind for m in measures}
    return tuple((i.name, i.numerator, i.denominator) for i in indicators
                 if i.kind == "percentage" and kinds.get(i.name, "percentage") == "percentage")


def _measures_for(family: Family, columns: Sequence[str]) -> tuple[Measure, ...]:
    """The family's measures a file's columns need (a value column, or an input of one)."""
    cols = set(columns)
    return tuple(m for m in family.measures if set(m.columns) & cols)


# --- the files ----------------------------------------------------------------------------------------------------

#: Published file prefix per outcome family (DfE's LA file names).
FILE_PREFIX = {"eyfsp": "eyfsp", "phonics": "phonics", "ks1": "ks1", "ks2": "ks2", "ks4": "ks4",
               "absence": "absence", "exclusions": "permanent_exclusions_and_suspensions", "sen": "sen",
               "fsm": "fsm", "school_type": "school_type"}
#: Families whose files carry DfE's ``version`` filter (attainment, as the KS1, KS2 and KS4 files).
VERSIONED = ("ks1", "ks2", "ks4")
#: KS2: numerators and percentages over 6 to 10 pupils are never shown in DfE's LA file (measured).
KS2_MIN_DENOMINATOR = 11
#: Columns of DfE's LA EYFSP data set (domain.md §4.2; no LA file copy is kept).
EYFSP_LA_COLUMNS = ("t_pupils", "avg_elgs", "t_elg", "pt_elg", "t_comm_lang_lit", "pt_comm_lang_lit", "t_gld",
                    "pt_gld")

#: Breakdowns of each national file, in column order. Primary type of need only for the census-wide outcomes
#: (the 2021 response: numbers too small for attainment); school phase is pre-grouped for absence; school type
#: is the outcome itself in the school type file; no placement for FSM (no looked-after groups).
_ATTAINMENT = ("sex", "ethnicity_major", "sen_provision", "phase_type_grouping", "establishment_type_group",
               "placement", "period_of_care_length")
NATIONAL_BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "eyfsp": _ATTAINMENT, "phonics": _ATTAINMENT, "ks1": _ATTAINMENT, "ks2": _ATTAINMENT, "ks4": _ATTAINMENT,
    "absence": ("sex", "ethnicity_major", "sen_provision", "sen_primary_need", "establishment_type_group",
                "placement", "period_of_care_length"),
    "exclusions": ("sex", "ethnicity_major", "sen_provision", "sen_primary_need", "phase_type_grouping",
                   "establishment_type_group", "placement", "period_of_care_length"),
    "sen": ("sex", "ethnicity_major", "phase_type_grouping", "establishment_type_group", "placement",
            "period_of_care_length"),
    "fsm": ("sex", "ethnicity_major", "sen_provision", "sen_primary_need", "phase_type_grouping",
            "establishment_type_group"),
    "school_type": ("sex", "ethnicity_major", "sen_provision", "sen_primary_need", "placement",
                    "period_of_care_length"),
}

SEN_NOTE = ("Indicator names follow DfE's earlier SEN files (t_SEN_support, t_statement_or_EHC_plan ...), so "
            "existing code reads this file; they contain 'SEN_', which the EES screener's optional harmonised "
            "variable-name check reserves for the standard SEN filters, so this file is screened without that "
            "check. Every other screener check passes.")


def _check_groups(groups: Sequence[str], family: Family) -> tuple[str, ...]:
    """Groups to aggregate beside the published ones so every relation touching a published group is checked."""
    have = set(family.groups)
    extra: list[str] = []
    for whole, parts in PARTITIONS:
        members = (whole, *parts)
        if set(members) & set(groups) and set(members) <= have:
            extra += [g for g in members if g not in groups]
    return tuple(dict.fromkeys(extra))


def _notes(family: Family) -> tuple[str, ...]:
    notes = []
    if family.lag:
        notes.append(f"Outcomes are of the academic year {family.lag} year before the reporting year, for the "
                     "social care groups at 31 March of that academic year (suspensions and permanent exclusions "
                     "are published a year behind the other outcomes).")
    if family.key == "sen":
        notes.append(SEN_NOTE)
    if family.key == "fsm":
        notes.append("Not published for children looked after (2021 user-feedback response).")
    return tuple(notes)


def la_table(family_key: str, *, real: bool = True) -> TableSpec:
    """The LA file of a family, reproducing DfE's file of the same name where one exists."""
    family = FAMILIES[family_key]
    stem = f"{FILE_PREFIX[family_key]}_la"
    groups = tuple(g for g in LA_GROUPS if g in family.groups)
    if family_key == "eyfsp":
        groups = tuple(sorted({*groups, "CIN at any point"}))
    if real:
        lay = layout(stem)
        columns = lay.indicator_names
        dps = {i.name: i.dp for i in lay.indicators}
    else:
        columns, dps = EYFSP_LA_COLUMNS, {}
    measures = _measures_for(family, columns)
    mins = ({c: KS2_MIN_DENOMINATOR for c in columns if c.endswith("_met_expected_standard")}
            if family_key == "ks2" else {})
    indicators = indicators_for(columns, measures, dps=dps, min_denominator=mins)
    filters: list[Filter] = []
    if family_key == "absence":
        filters.append(ABSENCE_TERMS)
    filters.append(group_filter(groups))
    if family_key in VERSIONED:
        filters.append(version_filter())
    if family_key == "absence":
        filters.append(ABSENCE_PHASE)
    cohort = "t_pupils" if "t_pupils" in columns else None
    return TableSpec(
        stem=stem, title=f"LA - {family.label}",
        description=f"{family.label} of the social care groups published at local authority level: England, "
                    f"regions (with London and Inner and Outer London) and local authorities. {family.description}",
        source=family_key, levels=LEVELS, groups=groups, filters=tuple(filters), indicators=indicators,
        labels=indicator_labels(measures), cohort=cohort, harmonised=family_key != "sen",
        real_file=f"{stem}.csv" if real else None, check_groups=_check_groups(groups, family),
        bounded=_bounded(indicators, measures), notes=_notes(family))


def national_table(family_key: str) -> TableSpec:
    """The national file of a family: every group and the All pupils comparison, by each breakdown."""
    family = FAMILIES[family_key]
    stem = f"{FILE_PREFIX[family_key]}_national"
    groups = tuple(g for g in NATIONAL_GROUPS if g == ALL_PUPILS or g in family.groups)
    measures = family.measures
    columns = measure_columns(measures)
    # totals of scores at the decimal places of the LA files where they have the column
    dps: dict[str, int] = {}
    if family_key in ("ks2", "ks4"):
        dps = {i.name: i.dp for i in layout(f"{family_key}_la").indicators if i.kind == "total"}
    mins = ({c: KS2_MIN_DENOMINATOR for c in columns if re.search(r"_met_(expected|higher)_standard$", c)}
            if family_key == "ks2" else {})
    indicators = indicators_for(columns, measures, dps=dps, min_denominator=mins)
    filters: list[Filter] = [group_filter(groups)]
    if family_key in VERSIONED:
        filters.append(version_filter())
    if family_key == "absence":
        filters.append(ABSENCE_PHASE)
    filters += [breakdown(b) for b in NATIONAL_BREAKDOWNS[family_key]]
    cohort = "t_pupils" if "t_pupils" in columns else None
    return TableSpec(
        stem=stem, title=f"National - {family.label}",
        description=f"{family.label} in England for every social care group and all pupils, by pupil "
                    f"characteristics and, for children looked after at 31 March, placement and length of the "
                    f"period of care. {family.description}",
        source=family_key, levels=(NATIONAL,), groups=groups, filters=tuple(filters), indicators=indicators,
        labels=indicator_labels(measures), cohort=cohort, harmonised=family_key != "sen",
        bounded=_bounded(indicators, measures), notes=_notes(family))


# --- match rates --------------------------------------------------------------------------------------------------

#: Pupil populations of ``linkage/match_rates`` -> filter items.
PUPIL_POPULATIONS: dict[str, str] = {
    "census": "Spring school census",
    "census_and_ap": "Spring school census or AP census",
    "eyfsp": "Early years foundation stage profile",
    "phonics": "Phonics screening check",
    "ks1": "Key stage 1",
    "ks2": "Key stage 2",
    "ks4": "Key stage 4",
    "absence": "Absence (six half terms)",
}
MATCH_RATE_LABELS = {
    "t_children": "Number of children in the social care group",
    "t_children_with_upn": "Number of children with a valid UPN",
    "pt_children_with_upn": "Percentage of children with a valid UPN",
    "t_matched": "Number of children matched to the pupil data",
    "pt_matched": "Percentage of children matched to the pupil data",
    "pt_matched_of_with_upn": "Percentage of children with a valid UPN matched to the pupil data",
}


#: Groups with LA rows in the match-rates file: those of the LA outcome files, and CLA at 31 March (the whole of
#: which the two CLA groups are parts, so that CINO + CPPO + CLA = CIN can be checked in each LA).
MATCH_RATE_LA_GROUPS = tuple(sorted((*LA_GROUPS, "CLA at 31 March")))


def match_rates_table() -> TableSpec:
    """How many children of each group had a UPN and were found in each pupil population."""
    groups = tuple(c.label for c in COHORTS)
    indicators = (
        denominator("t_children"),
        count("t_children_with_upn", "t_children"),
        percentage("pt_children_with_upn", "t_children_with_upn", "t_children", 1),
        count("t_matched", "t_children"),
        percentage("pt_matched", "t_matched", "t_children", 1),
        percentage("pt_matched_of_with_upn", "t_matched", "t_children_with_upn", 1),
    )
    populations = Filter("pupil_population", "Pupil data matched to", "pregrouped",
                         tuple(PUPIL_POPULATIONS.values()), hint="The pupil population the children were looked "
                         "for in (matching by UPN, then former UPN)", default=PUPIL_POPULATIONS["census"])
    return TableSpec(
        stem="match_rates", title="Match rates to the National Pupil Database",
        description="Children in each social care group, how many had a valid unique pupil number (UPN) and how "
                    "many were found in each pupil population: nationally for every group, and per local "
                    "authority for the groups published at that level. The outcome tables cover matched children "
                    "only.",
        source="match_rates", levels=(NATIONAL, LOCAL_AUTHORITY), groups=groups,
        filters=(group_filter(groups), populations), indicators=indicators, labels=MATCH_RATE_LABELS,
        cohort="t_children", check_groups=(), subnational_groups=MATCH_RATE_LA_GROUPS,
        bounded=tuple((i.name, i.numerator, i.denominator) for i in indicators if i.kind == "percentage"),
        notes=("Per local authority a child counts in each authority that returned them; nationally once.",
               "Local authority rows are given for the groups published at local authority level and for CLA at "
               "31 March."))


#: Every published file, in the order of the data guidance.
TABLES: dict[str, TableSpec] = {t.stem: t for t in (
    la_table("ks2"), la_table("ks4"), la_table("absence"), la_table("exclusions"), la_table("sen"),
    la_table("fsm"), la_table("school_type"), la_table("eyfsp", real=False),
    *(national_table(k) for k in FAMILIES),
    match_rates_table(),
)}

__all__ = ["TABLES", "TableSpec", "Filter", "LA_GROUPS", "NATIONAL_GROUPS", "CLA_AT_31_MARCH_GROUPS",
           "version_for", "indicators_for", "indicator_labels", "measure_columns"]
