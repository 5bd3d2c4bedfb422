"""DfE's EES data screener (``eesyscreener``) in Python: every check a data/metadata CSV pair must pass to upload.

The checks, their names and their stage order follow ``../shared/reference/ees-screener-rules.md`` and the
screener's ``screen_dfs``: screening stops at the end of the first stage with a FAIL, as the screener does;
warnings never stop it. Two project rules are stricter than the screener, because a CSV read by the screener
turns an empty field into NULL and lets it through:

- ``ind_blanks`` (FAIL): an empty indicator cell (the older screener app's ``blanks_indicators``);
- ``ind_not_number`` (FAIL): an indicator cell that is neither a number nor a GSS symbol (``NaN``, ``None``).

``filter_blanks`` also fails empty (NULL) filter cells, not only ``""``.

Each finding names the rule, says what is wrong in words a statistician uses, and points at the offending
columns and data row numbers (row 1 is the first row under the header, i.e. line 2 of the file). Messages quote
column names, codes and filter labels, never indicator values.

Geography lookups: countries and regions (with Inner and Outer London) are the fixed lists of the rules file; LA
triples (old_la_code, new_la_code, la_name) come from :func:`cin_outcomes.geography.all_las`. Lookups for LADs,
constituencies, LEPs, LSIPs, English devolved areas and wards are not packaged, so those combinations are
reported as warnings ("not checked") if such columns ever appear.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from cin_outcomes.geography import all_las

# --- reference values (ees-screener-rules.md) -------------------------------------------------------------------

REQUIRED_META_COLS = ("col_name", "col_type", "label", "indicator_grouping", "indicator_unit", "indicator_dp",
                      "filter_hint", "filter_grouping_column")
OPTIONAL_META_COLS = ("filter_default", "parent_filter")
REQUIRED_DATA_COLS = ("geographic_level", "time_period", "time_identifier", "country_code", "country_name")

#: geographic_level → (code column, name column, secondary code column), eesyscreener ``geography_df``.
GEOGRAPHY_LEVELS: dict[str, tuple[str | None, str, str | None]] = {
    "National": ("country_code", "country_name", None),
    "Regional": ("region_code", "region_name", None),
    "Local authority": ("new_la_code", "la_name", "old_la_code"),
    "Local authority district": ("lad_code", "lad_name", None),
    "RSC region": (None, "rsc_region_lead_name", None),
    "Parliamentary constituency": ("pcon_code", "pcon_name", None),
    "Local skills improvement plan area": ("lsip_code", "lsip_name", None),
    "Local enterprise partnership": ("local_enterprise_partnership_code", "local_enterprise_partnership_name", None),
    "English devolved area": ("english_devolved_area_code", "english_devolved_area_name", None),
    "Opportunity area": ("opportunity_area_code", "opportunity_area_name", None),
    "Ward": ("ward_code", "ward_name", None),
    "MAT": ("trust_id", "trust_name", None),
    "Sponsor": ("sponsor_id", "sponsor_name", None),
    "School": ("school_urn", "school_name", "school_laestab"),
    "Provider": ("provider_ukprn", "provider_name", None),
    "Institution": ("institution_id", "institution_name", None),
    "Planning area": ("planning_area_code", "planning_area_name", None),
    "Police force area": ("pfa_code", "pfa_name", None),
}
GEOGRAPHY_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    c for cols in GEOGRAPHY_LEVELS.values() for c in cols if c))
OB_UNITS: tuple[str, ...] = ("time_period", "time_identifier", "geographic_level", *GEOGRAPHY_COLUMNS)
_LOW_LEVELS = ("School", "Provider", "Institution")
#: Levels whose columns may be filled on rows of each level (eesyscreener check_geog_overcompleted_cols).
COMPATIBLE_LEVELS: dict[str, tuple[str, ...]] = {
    "Regional": ("Regional", "Local skills improvement plan area", "Local authority", "Local enterprise partnership",
                 "Opportunity area", "Local authority district", "Parliamentary constituency", "English devolved area",
                 "Ward", *_LOW_LEVELS, "Planning area", "Police force area"),
    "Local authority": ("Local authority", "Parliamentary constituency", "Local authority district", "Ward",
                        *_LOW_LEVELS, "Planning area", "Police force area"),
    "Local authority district": ("Local authority district", "Ward", *_LOW_LEVELS, "Police force area"),
    "Local skills improvement plan area": ("Local skills improvement plan area", "Local authority district",
                                           *_LOW_LEVELS, "Planning area"),
    "RSC region": ("RSC region", *_LOW_LEVELS),
    "Parliamentary constituency": ("Parliamentary constituency", *_LOW_LEVELS),
    "Local enterprise partnership": ("Local enterprise partnership", *_LOW_LEVELS),
    "English devolved area": ("English devolved area", *_LOW_LEVELS),
    "Opportunity area": ("Opportunity area", *_LOW_LEVELS),
    "Ward": ("Ward", *_LOW_LEVELS),
    "MAT": ("MAT", *_LOW_LEVELS),
    "Sponsor": ("Sponsor", *_LOW_LEVELS),
    "Planning area": ("Planning area", *_LOW_LEVELS),
    "Police force area": ("Police force area", *_LOW_LEVELS),
    "School": ("School",),
    "Provider": ("Provider",),
    "Institution": ("Institution",),
}

COUNTRIES: frozenset[tuple[str, str]] = frozenset({
    ("E92000001", "England"), ("K02000001", "United Kingdom"), ("K03000001", "Great Britain"),
    ("K04000001", "England and Wales"), ("N92000002", "Northern Ireland"), ("S92000003", "Scotland"),
    ("W92000004", "Wales"), ("z", "England, Wales and Northern Ireland")})
REGIONS: frozenset[tuple[str, str]] = frozenset({
    ("E12000001", "North East"), ("E12000002", "North West"), ("E12000003", "Yorkshire and The Humber"),
    ("E12000004", "East Midlands"), ("E12000005", "West Midlands"), ("E12000006", "East of England"),
    ("E12000007", "London"), ("E12000008", "South East"), ("E12000009", "South West"),
    ("E13000001", "Inner London"), ("E13000002", "Outer London")})
#: Pairs allowed for any geography with code ``z`` (eesyscreener acceptable_extra_geog_options).
EXTRA_GEOG_NAMES = ("Not applicable", "Unknown", "Outside of England", "Outside of the United Kingdom",
                    "Outside of England and unknown", "Outside of the United Kingdom and unknown")

_TERMS = ("Spring term", "Autumn term", "Summer term")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_WEEKS = tuple(f"Week {i}" for i in range(1, 53))
_FY_QUARTERS = tuple(f"Financial year Q{i}" for i in range(1, 5))
_FY_HALVES = ("Part 1 (April to September)", "Part 2 (October to March)")
#: Groups of time identifiers that may share a file.
TIME_IDENTIFIER_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Autumn and spring term",), ("Calendar year",), ("Financial year",), ("Academic year",), ("Tax year",),
    ("Reporting year",), _TERMS, _WEEKS, _MONTHS, _FY_QUARTERS, _FY_HALVES)
TIME_IDENTIFIERS: frozenset[str] = frozenset(t for g in TIME_IDENTIFIER_GROUPS for t in g)
FOUR_DIGIT_IDENTIFIERS: frozenset[str] = frozenset(("Calendar year", "Reporting year", *_WEEKS, *_MONTHS))
SIX_DIGIT_IDENTIFIERS: frozenset[str] = frozenset(("Autumn and spring term", *_TERMS, "Financial year",
                                                    "Academic year", "Tax year", *_FY_QUARTERS, *_FY_HALVES))

INDICATOR_UNITS = ("%", "pp", "£", "£m", "numberstring")
SMUSHED_SUBSTRINGS = ("male", "female", "asian", "chinese", "indian", "pakistani", "bangladeshi", "black", "african",
                      "caribbean", "white", "roma", "irish", "english", "british", "scottish", "welsh",
                      "northern irish", "northernirish", "arab")
OB_UNIT_REGEX = re.compile(
    r"(^(country|sch|prov|inst|estab|reg|la|local|rsc|pfa|pcon|lep|mca|oa|ward|mat).*"
    r"(name|code|urn|ukprn|number|upin|id)$)|(^(laestab|estab|sch|school|schools|prov|provider|providers|inst|"
    r"institution|institutions|name|code|urn|ukprn|number|upin|id|region|la|lad|rsc|pcon|lep|mca|oa|ward|mat)$)",
    re.IGNORECASE)
NULL_SYMBOLS = ("NULL", "Null", "null", "NA", "na")
LEGACY_NO_DATA = ("N/A", "n/a", ".", "..", "-")
LEGACY_GSS_SYMBOLS = ("~", ":")
#: GSS symbols EES accepts in indicator cells (``k`` and ``u`` are used in DfE files and pass).
INDICATOR_SYMBOLS = ("z", "x", "c", "low", "k", "u")
NUMBER_PATTERN = r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"
HARMONISED_SEARCH = ("sen_", "primary_need", "secondary_need", "establishment_type", "provider_type", "school_type",
                     "ethnic")
HARMONISED_NAMES = frozenset(("sen_status", "sen_primary_need", "sen_secondary_need", "sen_provision",
                              "establishment_type", "establishment_type_group", "provider_type", "ethnicity_major",
                              "ethnicity_minor", "ethnicity_detailed", "minority_ethnic"))
#: GSS ethnicity (major, minor) pairs accepted by the screener (dfe-published-data-qa data/ethnicity.csv).
ETHNICITY_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("Total", "Total"), ("White", "Total"), ("White", "English/Welsh/Scottish/Northern Irish/British"),
    ("White", "Irish"), ("White", "Gypsy or Irish Traveller"), ("White", "Any other White background"),
    ("Mixed/Multiple ethnic groups", "Total"), ("Mixed/Multiple ethnic groups", "White and Black Caribbean"),
    ("Mixed/Multiple ethnic groups", "White and Black African"), ("Mixed/Multiple ethnic groups", "White and Asian"),
    ("Mixed/Multiple ethnic groups", "Any other Mixed/Multiple ethnic background"),
    ("Asian/Asian British", "Total"), ("Asian/Asian British", "Indian"), ("Asian/Asian British", "Pakistani"),
    ("Asian/Asian British", "Bangladeshi"), ("Asian/Asian British", "Chinese"),
    ("Asian/Asian British", "Any other Asian background"), ("Black/African/Caribbean/Black British", "Total"),
    ("Black/African/Caribbean/Black British", "African"), ("Black/African/Caribbean/Black British", "Caribbean"),
    ("Black/African/Caribbean/Black British", "Any other Black/African/Caribbean background"),
    ("Other ethnic group", "Total"), ("Other ethnic group", "Arab"), ("Other ethnic group", "Any other ethnic group"),
    ("Unknown", "Unknown")})
ETHNICITY_CHARACTERISTIC_GROUPS = ("Ethnicity Major", "Ethnicity Minor", "Ethnicity Detailed", "Minority Ethnic")
#: EES API data dictionary items for the dictionary filters this publication uses.
DICTIONARY_FILTER_ITEMS: dict[str, frozenset[str]] = {
    "social_care_group": frozenset((
        "All pupils comparison", "CIN at 31 March", "CIN at any point", "CINO at 31 March", "CINO at any point",
        "CLA 12 months at 31 March", "CLA at 31 March", "CLA at any point", "CLA less than 12 months at 31 March",
        "CPPO at 31 March", "CPPO at any point", "Ever CIN - last 6 years", "PLAA - Adoption (Official Statistics)",
        "PLAA - CAO (Official Statistics)", "PLAA - SGO (Official Statistics)",
        "PLAA - Total (Official Statistics)")),
    "placement": frozenset((
        "All pupils", "Foster placements",
        "Independent and semi-independent living arrangements / supported accommodation", "Other placements",
        "Placed for adoption", "Placed with parents or other person with parental responsibility",
        "Secure homes and children's homes")),
}
API_LIMITS = {"column-name": 50, "column-label": 100, "location-code": 30, "column-item": 120}
FILTER_ITEM_LIMIT = 25_000
_MAX_ROWS_KEPT = 200

FAIL, WARNING = "FAIL", "WARNING"
STAGES = ("Filename", "Reading", "Precheck columns", "Precheck cross-file", "Check columns", "Precheck meta",
          "Check meta", "Check general", "Precheck filters", "Precheck time", "Precheck geography", "Check time",
          "Check filters", "Check general", "Check geography", "Check indicators", "Check harmonised", "Check API")


@lru_cache(maxsize=1)
def la_triples() -> frozenset[tuple[str, str, str]]:
    """Every (old_la_code, new_la_code, la_name) an LA has had, from :func:`cin_outcomes.geography.all_las`."""
    las = all_las()
    return frozenset(zip(las["old_la_code"].to_list(), las["new_la_code"].to_list(), las["la_name"].to_list()))


# --- results ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One failed or warned check: the screener's rule name, where, and what to do about it.

    ``rows`` are data-row numbers (1 = the first row under the header) or, for ``file == "meta"``, metadata row
    numbers; at most 200 are kept, ``n_rows`` says how many there were.
    """

    rule: str
    result: str
    stage: str
    message: str
    columns: tuple[str, ...] = ()
    rows: tuple[int, ...] = ()
    n_rows: int = 0
    file: str = "data"

    def __str__(self) -> str:
        where = ""
        if self.columns:
            where += f" [columns: {', '.join(self.columns)}]"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:10])
            more = f" and {self.n_rows - 10} more" if self.n_rows > 10 else ""
            where += f" [{self.file} rows: {shown}{more}]"
        return f"{self.result} {self.rule}: {self.message}{where}"


@dataclass(frozen=True)
class ScreenResult:
    """The outcome of screening one data/metadata pair.

    ``passed``: no FAIL anywhere (what EES requires). ``stage``: ``"Passed"`` or the stage that failed (later
    stages did not run). ``api_suitable``: passed with no warning in the API stage.
    """

    passed: bool
    stage: str
    findings: tuple[Finding, ...]
    api_suitable: bool
    stages_run: tuple[str, ...] = field(default=())
    data_file: str | None = None

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.result == FAIL)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.result == WARNING)

    def rules_failed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.rule for f in self.failures))

    def report(self) -> str:
        """A few lines for a log, an exception or Dagster metadata (names columns and rows, no figures)."""
        head = f"{self.data_file or 'data file'}: " + (
            "passed the EES screener checks" if self.passed else f"FAILED at stage '{self.stage}'")
        if self.passed and not self.api_suitable:
            head += " (not suitable for the EES API)"
        return "\n".join([head, *(f"  {f}" for f in self.findings)])


class ScreeningError(ValueError):
    """Raised by :func:`require_pass` when a file would be rejected by EES."""


def require_pass(result: ScreenResult) -> ScreenResult:
    """Return ``result`` if it passed, else raise :class:`ScreeningError` with its report."""
    if not result.passed:
        raise ScreeningError(result.report())
    return result


# --- reading ----------------------------------------------------------------------------------------------------

def read_data_csv(path: Path | str) -> pl.DataFrame:
    """A data CSV as the screener reads it: every column text, empty fields NULL, nothing trimmed."""
    return pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=False)


def read_meta_csv(path: Path | str) -> pl.DataFrame:
    """A metadata CSV, every column text (empty fields NULL)."""
    return pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=False)


def screen(data_csv: Path | str, meta_csv: Path | str, *, harmonised: bool = True) -> ScreenResult:
    """Screen a data CSV and its ``.meta.csv`` as EES's screener does, stage by stage.

    ``harmonised=False`` skips the "Check harmonised" stage, as the screener's ``dd_checks = FALSE`` does.
    """
    data_csv, meta_csv = Path(data_csv), Path(meta_csv)
    findings: list[Finding] = []
    names = _filename_checks(data_csv.name, meta_csv.name)
    if any(f.result == FAIL for f in names):
        return ScreenResult(False, "Filename", tuple(names), False, ("Filename",), data_csv.name)
    findings.extend(names)
    reading = []
    for p, kind in ((data_csv, "data"), (meta_csv, "meta")):
        if not p.is_file():
            reading.append(Finding("file_exists", FAIL, "Reading", f"The {kind} file {p.name} does not exist.",
                                   file=kind))
    if reading:
        return ScreenResult(False, "Reading", tuple(findings + reading), False, ("Filename", "Reading"),
                            data_csv.name)
    try:
        data = read_data_csv(data_csv)
        meta = read_meta_csv(meta_csv)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        msg = f"The files could not be read as UTF-8 CSV ({type(exc).__name__}); check the delimiter, quoting " \
              "and that every row has as many fields as the header."
        return ScreenResult(False, "Reading", tuple(findings + [Finding("file_read", FAIL, "Reading", msg)]), False,
                            ("Filename", "Reading"), data_csv.name)
    res = screen_frames(data, meta, harmonised=harmonised, data_name=data_csv.name)
    return ScreenResult(res.passed, res.stage, tuple(findings) + res.findings, res.api_suitable,
                        ("Filename", "Reading") + res.stages_run, data_csv.name)


def screen_frames(data: pl.DataFrame, meta: pl.DataFrame, *, data_filename: str | None = None,
                  meta_filename: str | None = None, harmonised: bool = True,
                  data_name: str | None = None) -> ScreenResult:
    """Screen a data and a metadata frame read as all-text (Utf8; empty → null), as ``screen_dfs`` does.

    Give ``data_filename`` and ``meta_filename`` to run the file-name checks too.
    """
    findings: list[Finding] = []
    stages_run: list[str] = []
    name = data_name or data_filename
    if data_filename is not None and meta_filename is not None:
        stages_run.append("Filename")
        fs = _filename_checks(data_filename, meta_filename)
        findings.extend(fs)
        if any(f.result == FAIL for f in fs):
            return ScreenResult(False, "Filename", tuple(findings), False, tuple(stages_run), name)
    non_text = [c for c, t in {**data.schema, **meta.schema}.items() if t not in (pl.Utf8, pl.Null)]
    if non_text:
        raise TypeError(f"screen_frames needs all-text frames (read with infer_schema=False); not text: "
                        f"{', '.join(non_text)}")
    s = _Screen(data, meta)
    for stage, checks in s.stages(harmonised):
        stages_run.append(stage)
        fs = [f for check in checks for f in check()]
        findings.extend(fs)
        if any(f.result == FAIL for f in fs):
            return ScreenResult(False, stage, tuple(findings), False, tuple(stages_run), name)
    api_ok = not any(f.stage == "Check API" for f in findings)
    return ScreenResult(True, "Passed", tuple(findings), api_ok, tuple(stages_run), name)


def _filename_checks(data_name: str, meta_name: str) -> list[Finding]:
    out = []
    spaced = [n for n in (data_name, meta_name) if re.search(r"\s", n)]
    if spaced:
        out.append(Finding("filename_spaces", FAIL, "Filename",
                           f"File names must not contain spaces: {', '.join(repr(n) for n in spaced)}."))
    special = []
    for n in (data_name, meta_name):
        stem = re.sub(r"\.meta$", "", re.sub(r"\.csv(\.gz)?$", "", n, flags=re.IGNORECASE))
        if re.search(r"[^A-Za-z0-9_\-]", stem):
            special.append(n)
    if special:
        out.append(Finding("filename_special", FAIL, "Filename",
                           "File names may contain only letters, digits, hyphens and underscores before the "
                           f"extension: {', '.join(repr(n) for n in special)}."))
    expected = re.sub(r"\.csv$", ".meta.csv", data_name)
    if meta_name != expected:
        out.append(Finding("filenames_match", FAIL, "Filename",
                           f"The metadata file for {data_name!r} must be called {expected!r}, not {meta_name!r}."))
    return out


# --- the checks ---------------------------------------------------------------------------------------------------

def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def _blankish(v: object) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _q(items: Iterable[str]) -> str:
    return ", ".join(f"'{i}'" for i in items)


class _Screen:
    """Holds one data/meta pair and runs the checks; each ``c_*`` method returns a list of findings."""

    def __init__(self, data: pl.DataFrame, meta: pl.DataFrame) -> None:
        self.data = data.with_row_index("__row", offset=1)
        self.cols = tuple(data.columns)
        self.meta = meta
        self.meta_rows = meta.to_dicts()

    # helpers ---------------------------------------------------------------------------------------------------
    def stages(self, harmonised: bool):
        stages = [
            ("Precheck columns", [self.c_col_req_meta, self.c_col_invalid_meta, self.c_col_req_data,
                                  self.c_col_to_rows]),
            ("Precheck cross-file", [self.c_cross_meta_to_data, self.c_cross_data_to_meta]),
            ("Check columns", [self.c_col_names_spaces, self.c_col_snake_case, self.c_col_var_start,
                               self.c_col_ind_smushed, self.c_col_var_characteristic]),
            ("Precheck meta", [self.c_meta_col_type, self.c_meta_ob_unit, self.c_meta_col_name]),
            ("Check meta", [self.c_meta_dupe_label, self.c_meta_fil_grp, self.c_meta_fil_grp_dupe,
                            self.c_meta_fil_grp_is_fil, self.c_meta_fil_grp_match, self.c_meta_fil_grp_stripped,
                            self.c_meta_label, self.c_meta_filter_hint, self.c_meta_geog_catch,
                            self.c_meta_indicator_dp, self.c_meta_col_name_spaces, self.c_meta_col_name_dupe,
                            self.c_meta_ind_dp_set, self.c_meta_ind_dp_values, self.c_meta_ind_unit,
                            self.c_meta_ind_unit_validation, self.c_meta_indicator_grouping]),
            ("Check general", [self.c_general_null]),
            ("Precheck filters", [self.c_filter_not_singular]),
            ("Precheck time", [self.c_time_period_num, self.c_time_id_valid, self.c_time_id_mix]),
            ("Precheck geography", [self.c_geog_level, self.c_geog_level_present]),
            ("Check time", [self.c_time_period, self.c_time_period_six]),
            ("Check filters", [self.c_filter_defaults, self.c_filter_group_level, self.c_filter_item_limit,
                               self.c_filter_whitespace, self.c_filter_ob_total, self.c_filter_blanks]),
            ("Check general", [self.c_general_dupes]),
            ("Check geography", [self.c_geog_country_combos, self.c_geog_region_combos, self.c_geog_other_combos,
                                 self.c_geog_la_combos, self.c_geog_level_completed, self.c_geog_ignored_rows,
                                 self.c_geog_other_dupes, self.c_geog_la_col_present,
                                 self.c_geog_region_col_present, self.c_geog_region_for_la, self.c_geog_na,
                                 self.c_geog_na_code, self.c_geog_overcompleted_cols]),
            ("Check indicators", [self.c_ind_invalid_entry, self.c_ind_blanks, self.c_ind_not_number]),
        ]
        if harmonised:
            stages.append(("Check harmonised", [self.c_harmonised_variables, self.c_harmonised_eth_vals,
                                                self.c_harmonised_eth_char_grp, self.c_harmonised_eth_char_vals]))
        stages.append(("Check API", [self.c_api_char_col_name, self.c_api_char_col_label, self.c_api_char_loc_code,
                                     self.c_api_char_filter_items, self.c_data_dict_fil_item]))
        for stage, checks in stages:
            yield stage, [self._staged(stage, c) for c in checks]

    @staticmethod
    def _staged(stage: str, check):
        def run() -> list[Finding]:
            return [Finding(f.rule, f.result, stage, f.message, f.columns, f.rows, f.n_rows, f.file)
                    for f in check()]
        return run

    def _meta_values(self, col: str) -> list:
        return [r.get(col) for r in self.meta_rows]

    def _meta_rownums(self, pred) -> tuple[int, ...]:
        return tuple(i for i, r in enumerate(self.meta_rows, start=1) if pred(r))

    @property
    def filters(self) -> list[str]:
        return [r["col_name"] for r in self.meta_rows if r.get("col_type") == "Filter" and not _blank(r["col_name"])]

    @property
    def indicators(self) -> list[str]:
        return [r["col_name"] for r in self.meta_rows
                if r.get("col_type") == "Indicator" and not _blank(r["col_name"])]

    @property
    def groups(self) -> list[str]:
        return [r["filter_grouping_column"] for r in self.meta_rows if not _blank(r.get("filter_grouping_column"))]

    def filters_and_groups(self) -> list[str]:
        return list(dict.fromkeys(self.filters + self.groups))

    def _rows(self, mask: pl.Expr, frame: pl.DataFrame | None = None) -> tuple[tuple[int, ...], int]:
        f = self.data if frame is None else frame
        hit = f.filter(mask.fill_null(False))["__row"]
        return tuple(hit.head(_MAX_ROWS_KEPT).to_list()), hit.len()

    def _finding(self, rule: str, result: str, message: str, columns: Sequence[str] = (),
                 mask: pl.Expr | None = None, frame: pl.DataFrame | None = None) -> Finding:
        rows, n = self._rows(mask, frame) if mask is not None else ((), 0)
        return Finding(rule, result, "", message, tuple(columns), rows, n)

    def _meta_finding(self, rule: str, result: str, message: str, rows: tuple[int, ...],
                      columns: Sequence[str] = ("col_name",)) -> Finding:
        return Finding(rule, result, "", message, tuple(columns), rows[:_MAX_ROWS_KEPT], len(rows), "meta")

    def _level(self, level: str | Sequence[str]) -> pl.Expr:
        levels = [level] if isinstance(level, str) else list(level)
        return pl.col("geographic_level").is_in(levels)

    def _levels_present(self) -> list[str]:
        return [v for v in self.data["geographic_level"].unique(maintain_order=True).to_list() if v is not None]

    # Precheck columns ------------------------------------------------------------------------------------------
    def c_col_req_meta(self):
        missing = [c for c in REQUIRED_META_COLS if c not in self.meta.columns]
        return [self._meta_finding("col_req_meta", FAIL, f"The metadata file is missing the required column(s) "
                                   f"{_q(missing)}.", (), missing)] if missing else []

    def c_col_invalid_meta(self):
        extra = [c for c in self.meta.columns if c not in REQUIRED_META_COLS + OPTIONAL_META_COLS]
        return [self._meta_finding("col_invalid_meta", FAIL, f"The metadata file has column(s) {_q(extra)} that "
                                   "EES does not accept; only the standard metadata columns plus filter_default "
                                   "and parent_filter are allowed.", (), extra)] if extra else []

    def c_col_req_data(self):
        missing = [c for c in REQUIRED_DATA_COLS if c not in self.cols]
        return [self._finding("col_req_data", FAIL, f"The data file is missing the required column(s) "
                              f"{_q(missing)}.", missing)] if missing else []

    def c_col_to_rows(self):
        n_cols, n_meta = len(self.cols) - 5, self.meta.height
        if n_cols < n_meta:
            return [self._meta_finding("col_to_rows", FAIL, f"The metadata file has {n_meta} rows but the data file "
                                       f"has only {n_cols} columns besides the 5 mandatory ones; each metadata row "
                                       "must describe a data column.", ())]
        return []

    # Precheck cross-file ---------------------------------------------------------------------------------------
    def c_cross_meta_to_data(self):
        refs = [(i, v) for i, r in enumerate(self.meta_rows, start=1)
                for v in (r.get("col_name"), r.get("filter_grouping_column")) if not _blank(v)]
        missing = [(i, v) for i, v in refs if v not in self.cols]
        if not missing:
            return []
        names = list(dict.fromkeys(v for _, v in missing))
        return [self._meta_finding("cross_meta_to_data", FAIL, f"The metadata names column(s) {_q(names)} that are "
                                   "not in the data file.", tuple(i for i, _ in missing), names)]

    def c_cross_data_to_meta(self):
        meta_cols = set(self.filters_and_groups() + self.indicators)
        candidates = [c for c in self.cols if c not in OB_UNITS and c not in meta_cols]
        if not candidates:
            return []
        n = self.data.select(pl.col(c).n_unique() for c in candidates).row(0)
        loose = [c for c, k in zip(candidates, n) if k > 1]
        return [self._finding("cross_data_to_meta", WARNING, f"Column(s) {_q(loose)} are not observational units, "
                              "have more than one value and are not described in the metadata; EES will ignore "
                              "them.", loose)] if loose else []

    # Check columns ---------------------------------------------------------------------------------------------
    def c_col_names_spaces(self):
        bad = [c for c in self.cols if c != "__row" and re.search(r"\s", c)]
        return [self._finding("col_names_spaces", FAIL, f"Column names must not contain spaces: {_q(bad)}.", bad)] \
            if bad else []

    def c_col_snake_case(self):
        bad = [c for c in self.cols if re.search(r"[^a-z0-9_]", c)]
        return [self._finding("col_snake_case", WARNING, f"Column names should be snake_case (lower-case letters, "
                              f"digits and underscores): {_q(bad)}.", bad)] if bad else []

    def c_col_var_start(self):
        bad = [c for c in self.cols if not re.match(r"^[a-z]", c)]
        return [self._finding("col_var_start", WARNING, f"Column names should start with a lower-case letter: "
                              f"{_q(bad)}.", bad)] if bad else []

    def c_col_ind_smushed(self):
        pat = re.compile("|".join(SMUSHED_SUBSTRINGS), re.IGNORECASE)
        bad = [c for c in self.indicators if pat.search(c)]
        if not bad:
            return []
        rows = self._meta_rownums(lambda r: r.get("col_type") == "Indicator" and r.get("col_name") in bad)
        return [self._meta_finding("col_ind_smushed", FAIL, f"Indicator name(s) {_q(bad)} contain a characteristic "
                                   "(such as a sex or ethnicity word); EES rejects these. Put the characteristic in a "
                                   "filter, or rename (e.g. 'eng' for English).", rows, bad)]

    def c_col_var_characteristic(self):
        bad = [c for c in self.filters_and_groups() if c in ("characteristic", "characteristic_group")]
        return [self._meta_finding("col_var_characteristic", WARNING, f"Column(s) {_q(bad)} should be replaced by "
                                   "specific filters (e.g. sex, ethnicity_major).", (), bad)] if bad else []

    # Precheck meta ---------------------------------------------------------------------------------------------
    def c_meta_col_type(self):
        rows = self._meta_rownums(lambda r: r.get("col_type") not in ("Filter", "Indicator"))
        return [self._meta_finding("meta_col_type", FAIL, "col_type must be exactly 'Filter' or 'Indicator'.", rows,
                                   ("col_type",))] if rows else []

    def c_meta_ob_unit(self):
        obs = set(OB_UNITS) - {"school_name", "provider_name"}
        bad = [c for c in self.filters_and_groups() + self.indicators if c in obs]
        if not bad:
            return []
        rows = self._meta_rownums(lambda r: r.get("col_name") in bad or r.get("filter_grouping_column") in bad)
        return [self._meta_finding("meta_ob_unit", FAIL, f"Observational units (time and geography columns) must not "
                                   f"be listed in the metadata: {_q(dict.fromkeys(bad))}.", rows, bad)]

    def c_meta_col_name(self):
        rows = self._meta_rownums(lambda r: _blank(r.get("col_name")))
        return [self._meta_finding("meta_col_name", FAIL, "Every metadata row needs a col_name.", rows)] \
            if rows else []

    # Check meta ------------------------------------------------------------------------------------------------
    def _dupes(self, values: list) -> list:
        seen, d = set(), []
        for v in values:
            if v in seen and v not in d:
                d.append(v)
            seen.add(v)
        return d

    def c_meta_dupe_label(self):
        d = self._dupes([v for v in self._meta_values("label") if not _blankish(v)])
        rows = self._meta_rownums(lambda r: r.get("label") in d)
        return [self._meta_finding("meta_dupe_label", FAIL, f"Labels must be unique; used more than once: {_q(d)}.",
                                   rows, ("label",))] if d else []

    def c_meta_fil_grp(self):
        rows = self._meta_rownums(lambda r: r.get("col_type") == "Indicator"
                                  and not _blank(r.get("filter_grouping_column")))
        return [self._meta_finding("meta_fil_grp", FAIL, "Indicators must not have a filter_grouping_column.", rows,
                                   ("filter_grouping_column",))] if rows else []

    def c_meta_fil_grp_dupe(self):
        d = self._dupes(self.groups)
        rows = self._meta_rownums(lambda r: r.get("filter_grouping_column") in d)
        return [self._meta_finding("meta_fil_grp_dupe", FAIL, f"Each filter group column may group one filter only; "
                                   f"used more than once: {_q(d)}.", rows, ("filter_grouping_column",))] if d else []

    def c_meta_fil_grp_is_fil(self):
        names = set(self._meta_values("col_name"))
        bad = [g for g in self.groups if g not in names]
        return [self._meta_finding("meta_fil_grp_is_fil", WARNING, f"Filter group column(s) {_q(bad)} should also "
                                   "have their own metadata row.", (), bad)] if bad else []

    def c_meta_fil_grp_match(self):
        bad = [g for g in self.groups if g not in self.cols]
        return [self._meta_finding("meta_fil_grp_match", FAIL, f"Filter group column(s) {_q(bad)} are not in the "
                                   "data file.", (), bad)] if bad else []

    def c_meta_fil_grp_stripped(self):
        bad = []
        for g in dict.fromkeys(self.groups):
            if g not in self.cols:
                continue
            vals = [v for v in self.data[g].unique().to_list()]
            stripped = {re.sub(r"[^A-Za-z0-9]", "", v) if v is not None else None for v in vals}
            if len(stripped) != len(vals):
                bad.append(g)
        return [self._finding("meta_fil_grp_stripped", FAIL, f"Filter group(s) {_q(bad)} have values that become the "
                              "same once punctuation and spaces are removed (e.g. 'Year 1' and 'Year-1').", bad)] \
            if bad else []

    def c_meta_label(self):
        rows = self._meta_rownums(lambda r: _blankish(r.get("label")))
        return [self._meta_finding("meta_label", FAIL, "Every metadata row needs a label.", rows, ("label",))] \
            if rows else []

    def _filter_field_on(self, rule: str, col_type: str, fieldname: str, what: str):
        rows = self._meta_rownums(lambda r: r.get("col_type") == col_type and not _blank(r.get(fieldname)))
        return [self._meta_finding(rule, FAIL, what, rows, (fieldname,))] if rows else []

    def c_meta_filter_hint(self):
        return self._filter_field_on("meta_filter_hint", "Indicator", "filter_hint",
                                     "Indicators must not have a filter_hint.")

    def c_meta_geog_catch(self):
        fg = self.filters + self.groups
        if len(self.filters) == 1 and (self.filters[0] in ("school_name", "provider_name")
                                       or (self.groups and self.groups[0] in ("school_name", "provider_name"))):
            fg = [c for c in fg if c not in ("school_name", "provider_name")]
        bad = list(dict.fromkeys(c for c in fg if OB_UNIT_REGEX.search(c)))
        return [self._meta_finding("meta_geog_catch", FAIL, f"Filter(s) {_q(bad)} look like geography columns; "
                                   "geography belongs in the observational-unit columns, not in the metadata.", (),
                                   bad)] if bad else []

    def c_meta_indicator_dp(self):
        return self._filter_field_on("meta_indicator_dp", "Filter", "indicator_dp",
                                     "Filters must not have indicator_dp.")

    def c_meta_col_name_spaces(self):
        rows = self._meta_rownums(lambda r: isinstance(r.get("col_name"), str) and re.search(r"\s", r["col_name"]))
        return [self._meta_finding("meta_col_name_spaces", FAIL, "col_name values must not contain spaces.", rows)] \
            if rows else []

    def c_meta_col_name_dupe(self):
        d = self._dupes([v for v in self._meta_values("col_name") if not _blank(v)])
        rows = self._meta_rownums(lambda r: r.get("col_name") in d)
        return [self._meta_finding("meta_col_name_dupe", FAIL, f"col_name must be unique; used more than once: "
                                   f"{_q(d)}.", rows)] if d else []

    def c_meta_ind_dp_set(self):
        rows = self._meta_rownums(lambda r: r.get("col_type") == "Indicator" and _blank(r.get("indicator_dp")))
        return [self._meta_finding("meta_ind_dp_set", WARNING, "Indicators should have indicator_dp set (EES shows "
                                   "2 decimal places otherwise).", rows, ("indicator_dp",))] if rows else []

    def c_meta_ind_dp_values(self):
        rows = self._meta_rownums(lambda r: not _blank(r.get("indicator_dp"))
                                  and not re.fullmatch(r"\d+", str(r["indicator_dp"]).strip()))
        return [self._meta_finding("meta_ind_dp_values", FAIL, "indicator_dp must be blank or a whole number 0 or "
                                   "more.", rows, ("indicator_dp",))] if rows else []

    def c_meta_ind_unit(self):
        return self._filter_field_on("meta_ind_unit", "Filter", "indicator_unit",
                                     "Filters must not have indicator_unit.")

    def c_meta_ind_unit_validation(self):
        rows = self._meta_rownums(lambda r: not _blank(r.get("indicator_unit"))
                                  and r["indicator_unit"] not in INDICATOR_UNITS)
        return [self._meta_finding("meta_ind_unit_validation", FAIL, f"indicator_unit must be blank or one of "
                                   f"{_q(INDICATOR_UNITS)}.", rows, ("indicator_unit",))] if rows else []

    def c_meta_indicator_grouping(self):
        return self._filter_field_on("meta_indicator_grouping", "Filter", "indicator_grouping",
                                     "Filters must not have indicator_grouping.")

    # Check general ---------------------------------------------------------------------------------------------
    def c_general_null(self):
        out = []
        text_cols = [c for c in self.cols]
        null_cols = [c for c in text_cols if self.data[c].is_in(NULL_SYMBOLS).any()]
        meta_rows = self._meta_rownums(lambda r: any(v in NULL_SYMBOLS for v in r.values()))
        if null_cols or meta_rows:
            if null_cols:
                mask = pl.any_horizontal([pl.col(c).is_in(NULL_SYMBOLS) for c in null_cols])
                out.append(self._finding("general_null", FAIL, "Cells hold a null-like word (NULL, NA, null ...); use "
                                         "a GSS symbol such as x or z instead.", null_cols, mask))
            if meta_rows:
                out.append(self._meta_finding("general_null", FAIL, "The metadata holds a null-like word (NULL, NA "
                                              "...); leave the cell empty instead.", meta_rows, ()))
            return out
        legacy = [c for c in text_cols if self.data[c].is_in(LEGACY_NO_DATA).any()]
        if legacy:
            mask = pl.any_horizontal([pl.col(c).is_in(LEGACY_NO_DATA) for c in legacy])
            out.append(self._finding("general_null", WARNING, "Cells hold legacy no-data symbols (N/A, ., .., -); use "
                                     "GSS symbols (x, z, c).", legacy, mask))
        return out

    def c_general_dupes(self):
        keys = [c for c in dict.fromkeys([*OB_UNITS, *self.filters_and_groups()]) if c in self.cols]
        levels = self._levels_present()
        if len(levels) == 1 and levels[0] in ("School", "Provider"):
            excluded = ["Institution", "Planning area"]
        else:
            excluded = ["School", "Provider", "Institution", "Planning area"]
        f = self.data.filter(~pl.col("geographic_level").is_in(excluded).fill_null(False))
        mask = pl.struct(keys).is_duplicated()
        rows, n = self._rows(mask, f)
        if not n:
            return []
        return [Finding("general_dupes", FAIL, "", f"{n} rows repeat the same time period, geography and filter "
                        "values as another row; each combination must appear once.", tuple(keys), rows, n)]

    # Precheck filters ------------------------------------------------------------------------------------------
    def c_filter_not_singular(self):
        bad = [c for c in self.filters if c in self.cols and self.data[c].n_unique() < 2]
        return [self._finding("filter_not_singular", FAIL, f"Filter(s) {_q(bad)} have only one value; remove them "
                              "from the metadata.", bad)] if bad else []

    # Precheck time ---------------------------------------------------------------------------------------------
    def c_time_period_num(self):
        mask = ~pl.col("time_period").str.contains(r"^\d{4}(\d{2})?$").fill_null(False)
        rows, n = self._rows(mask)
        return [Finding("time_period_num", FAIL, "", "time_period must be a 4-digit year or 6 digits for two "
                        "consecutive years (e.g. 202425).", ("time_period",), rows, n)] if n else []

    def c_time_id_valid(self):
        mask = ~pl.col("time_identifier").is_in(sorted(TIME_IDENTIFIERS)).fill_null(False)
        rows, n = self._rows(mask)
        if not n:
            return []
        bad = [v for v in self.data.filter(mask)["time_identifier"].unique(maintain_order=True).to_list()]
        return [Finding("time_id_valid", FAIL, "", f"time_identifier value(s) {_q(map(str, bad))} are not EES time "
                        "identifiers (e.g. 'Academic year', 'Financial year').", ("time_identifier",), rows, n)]

    def _base_time_group(self) -> tuple[str | None, tuple[str, ...]]:
        ids = self.data["time_identifier"].unique(maintain_order=True).to_list()
        base = ids[0] if ids else None
        group = next((g for g in TIME_IDENTIFIER_GROUPS if base in g), ())
        return base, group

    def c_time_id_mix(self):
        base, group = self._base_time_group()
        mask = ~pl.col("time_identifier").is_in(list(group)).fill_null(False)
        rows, n = self._rows(mask)
        return [Finding("time_id_mix", FAIL, "", f"The file mixes time identifiers that cannot share a file; with "
                        f"'{base}' only {_q(group)} may appear.", ("time_identifier",), rows, n)] if n else []

    # Precheck geography ----------------------------------------------------------------------------------------
    def c_geog_level(self):
        mask = ~pl.col("geographic_level").is_in(list(GEOGRAPHY_LEVELS)).fill_null(False)
        rows, n = self._rows(mask)
        if not n:
            return []
        bad = self.data.filter(mask.fill_null(True))["geographic_level"].unique(maintain_order=True).to_list()
        return [Finding("geog_level", FAIL, "", f"geographic_level value(s) {_q(map(str, bad))} are not EES levels "
                        "(they are case-sensitive: 'Regional', 'Local authority').", ("geographic_level",), rows, n)]

    def c_geog_level_present(self):
        levels = self._levels_present()
        if all(level == "National" for level in levels):
            return []
        missing = [c for level in levels if level in GEOGRAPHY_LEVELS and level != "Planning area"
                   for c in GEOGRAPHY_LEVELS[level] if c and c not in self.cols]
        missing = list(dict.fromkeys(missing))
        return [self._finding("geog_level_present", FAIL, f"Rows at level(s) {_q(levels)} need the column(s) "
                              f"{_q(missing)}, which are missing.", missing)] if missing else []

    # Check time ------------------------------------------------------------------------------------------------
    def c_time_period(self):
        base, _ = self._base_time_group()
        if base in FOUR_DIGIT_IDENTIFIERS:
            digits = 4
        elif base in SIX_DIGIT_IDENTIFIERS:
            digits = 6
        else:
            return []
        mask = (pl.col("time_period").str.len_chars() != digits).fill_null(True)
        rows, n = self._rows(mask)
        return [Finding("time_period", FAIL, "", f"With time_identifier '{base}' every time_period must have "
                        f"{digits} digits.", ("time_period",), rows, n)] if n else []

    def c_time_period_six(self):
        tp = pl.col("time_period")
        six = tp.str.contains(r"^\d{6}$").fill_null(False)
        first = tp.str.slice(2, 2).cast(pl.Int32, strict=False)
        second = tp.str.slice(4, 2).cast(pl.Int32, strict=False)
        consecutive = ((first + 1) == second) | ((first == 99) & (second == 0))
        mask = tp.is_null() | (six & ~consecutive)
        rows, n = self._rows(mask)
        return [Finding("time_period_six", FAIL, "", "A 6-digit time_period must name two consecutive years, e.g. "
                        "202425 (and none may be empty).", ("time_period",), rows, n)] if n else []

    # Check filters ---------------------------------------------------------------------------------------------
    def c_filter_defaults(self):
        defaults: dict[str, str] = {}
        for r in self.meta_rows:
            if r.get("col_type") == "Filter" and not _blank(r.get("col_name")):
                d = r.get("filter_default")
                defaults[r["col_name"]] = "Total" if _blank(d) else d
        for g in self.groups:
            defaults.setdefault(g, "Total")
        missing = [c for c, d in defaults.items() if c in self.cols and not self.data[c].is_in([d]).any()]
        return [self._finding("filter_defaults", WARNING, f"Filter(s) {_q(missing)} have no 'Total' (or their "
                              "filter_default) in the data; EES needs a default item to show.", missing)] \
            if missing else []

    def c_filter_group_level(self):
        bad = []
        for r in self.meta_rows:
            g = r.get("filter_grouping_column")
            if r.get("col_type") == "Filter" and not _blank(g) and g in self.cols and r["col_name"] in self.cols:
                if self.data[g].n_unique() > self.data[r["col_name"]].n_unique():
                    bad.append(g)
        return [self._finding("filter_group_level", FAIL, f"Filter group(s) {_q(bad)} have more values than the "
                              "filter they group; the hierarchy is the wrong way round in the metadata.", bad)] \
            if bad else []

    def c_filter_item_limit(self):
        bad = [c for c in self.filters_and_groups() if c in self.cols and self.data[c].n_unique() > FILTER_ITEM_LIMIT]
        return [self._finding("filter_item_limit", FAIL, f"Filter(s) {_q(bad)} have more than {FILTER_ITEM_LIMIT:,} "
                              "values.", bad)] if bad else []

    def c_filter_whitespace(self):
        if not self.filters:
            return []
        cols = [c for c in dict.fromkeys([*self.filters, *GEOGRAPHY_COLUMNS]) if c in self.cols]
        bad = [c for c in cols if self.data[c].str.contains(r"^\s|\s$").any()]
        if not bad:
            return []
        mask = pl.any_horizontal([pl.col(c).str.contains(r"^\s|\s$") for c in bad])
        return [self._finding("filter_whitespace", FAIL, "Filter or geography values start or end with a space.",
                              bad, mask)]

    def c_filter_ob_total(self):
        obs = [c for c in OB_UNITS if c not in ("school_name", "provider_name") and c in self.cols]
        obs += [c for c in self.cols if OB_UNIT_REGEX.search(c) and c not in obs]
        if len(self.filters) == 1 and (self.filters[0] in ("school_name", "provider_name")
                                       or (self.groups and self.groups[0] in ("school_name", "provider_name"))):
            obs = [c for c in obs if c not in ("school_name", "provider_name")]
        totals = ["Total", "total", "All", "all"]
        bad = [c for c in obs if self.data[c].is_in(totals).any()]
        if not bad:
            return []
        mask = pl.any_horizontal([pl.col(c).is_in(totals) for c in bad])
        return [self._finding("filter_ob_total", FAIL, "'Total' or 'All' appears in time or geography columns; "
                              "aggregate rows use the geographic_level instead (leave lower-level columns blank).",
                              bad, mask)]

    def c_filter_blanks(self):
        cols = [c for c in self.filters_and_groups() if c in self.cols]
        bad = [c for c in cols if (self.data[c].is_null() | (self.data[c] == "")).any()]
        if not bad:
            return []
        mask = pl.any_horizontal([pl.col(c).is_null() | (pl.col(c) == "") for c in bad])
        return [self._finding("filter_blanks", FAIL, "Filter cells are empty; every filter cell needs a value "
                              "(use 'Total' for the aggregate).", bad, mask)]

    # Check geography -------------------------------------------------------------------------------------------
    def _combo_finding(self, rule: str, cols: Sequence[str], mask: pl.Expr) -> list[Finding]:
        rows, n = self._rows(mask)
        if not n:
            return []
        bad = self.data.filter(mask.fill_null(False)).select(cols).unique(maintain_order=True).head(10).rows()
        shown = "; ".join(" / ".join("" if v is None else v for v in b) for b in bad)
        return [Finding(rule, FAIL, "", f"{' / '.join(cols)} combinations not in the standard geography lookup "
                        f"(case-sensitive): {shown}.", tuple(cols), rows, n)]

    def _pairs_ok(self, cols: Sequence[str], allowed: Iterable[tuple]) -> pl.Expr:
        allowed = list(allowed)
        key = pl.concat_str([pl.col(c).fill_null("\x00") for c in cols], separator="\x1f")
        return key.is_in(["\x1f".join(a) for a in allowed])

    def c_geog_country_combos(self):
        cols = ("country_code", "country_name")
        allowed = set(COUNTRIES) | {("z", n) for n in EXTRA_GEOG_NAMES}
        mask = (pl.col("country_code") != "x") & ~self._pairs_ok(cols, allowed)
        return self._combo_finding("geog_country_combos", cols, mask)

    def c_geog_region_combos(self):
        cols = ("region_code", "region_name")
        if not all(c in self.cols for c in cols):
            return []
        allowed = set(REGIONS) | {("z", n) for n in EXTRA_GEOG_NAMES}
        ok = self._pairs_ok(cols, allowed)
        code = pl.col("region_code")
        regional = self._level("Regional")
        others = ~regional & code.is_not_null() & (code != "") & (code != "x")
        mask = (regional & ~ok) | (others & ~ok)
        return self._combo_finding("geog_region_combos", cols, mask)

    def c_geog_la_combos(self):
        cols = ("old_la_code", "new_la_code", "la_name")
        if not all(c in self.cols for c in cols):
            return []
        allowed = set(la_triples()) | {("z", "z", n) for n in EXTRA_GEOG_NAMES}
        mask = (pl.col("new_la_code") != "x") & pl.col("old_la_code").is_not_null() & ~self._pairs_ok(cols, allowed)
        return self._combo_finding("geog_la_combos", cols, mask)

    def c_geog_other_combos(self):
        out = []
        for rule, code, name in (("geog_ward_combos", "ward_code", "ward_name"),
                                 ("geog_pcon_combos", "pcon_code", "pcon_name"),
                                 ("geog_lad_combos", "lad_code", "lad_name"),
                                 ("geog_lep_combos", "local_enterprise_partnership_code",
                                  "local_enterprise_partnership_name"),
                                 ("geog_lsip_combos", "lsip_code", "lsip_name"),
                                 ("geog_eda_combos", "english_devolved_area_code", "english_devolved_area_name")):
            if code in self.cols and name in self.cols:
                out.append(self._finding(rule, WARNING, f"{code} / {name} combinations were not checked: this "
                                         "project does not package that lookup.", (code, name)))
        return out

    def c_geog_level_completed(self):
        out_cols, masks = [], []
        for level in self._levels_present():
            if level not in GEOGRAPHY_LEVELS or level == "Planning area":
                continue
            for c in GEOGRAPHY_LEVELS[level]:
                if not c or c == "new_la_code" or c not in self.cols:
                    continue
                m = self._level(level) & (pl.col(c).is_null() | (pl.col(c) == ""))
                if self.data.select(m.any()).item():
                    out_cols.append(c)
                    masks.append(m)
        if not out_cols:
            return []
        return [self._finding("geog_level_completed", FAIL, "Geography columns are empty on rows of their own "
                              f"level: {_q(dict.fromkeys(out_cols))}.", list(dict.fromkeys(out_cols)),
                              pl.any_horizontal(masks))]

    def c_geog_ignored_rows(self):
        levels = self._levels_present()
        if levels and all(level in ("Institution", "Planning area") for level in levels):
            return [self._finding("geog_ignored_rows", WARNING, "The file has only Institution or Planning area rows, "
                                  "which the EES table tool ignores.")]
        ignored = self._level(["School", "Provider", "Institution", "Planning area"])
        if not self.data.select(ignored.any()).item() or (len(levels) == 1 and levels[0] in ("School", "Provider")):
            return []
        if "School" in levels and "Provider" in levels:
            return [self._finding("geog_ignored_rows", FAIL, "School and Provider rows are mixed in one file.",
                                  ("geographic_level",), ignored)]
        return [self._finding("geog_ignored_rows", WARNING, "Some rows are at School, Provider, Institution or "
                              "Planning area level and will be ignored by the EES table tool.",
                              ("geographic_level",), ignored)]

    def c_geog_other_dupes(self):
        out = []
        for level in ("Opportunity area", "MAT", "Sponsor"):
            code, name, _ = GEOGRAPHY_LEVELS[level]
            if level not in self._levels_present() or code not in self.cols or name not in self.cols:
                continue
            f = self.data.filter(self._level(level) & pl.col(code).is_not_null() & (pl.col(code) != ""))
            pairs = f.select(code, name).unique()
            by_name = pairs.group_by(name).len().filter(pl.col("len") > 1)[name].to_list()
            by_code = pairs.group_by(code).len().filter(pl.col("len") > 1)[code].to_list()
            if by_name:
                out.append(self._finding("geog_other_dupes", FAIL, f"{level} names with more than one code: "
                                         f"{_q(map(str, by_name))}.", (code, name),
                                         self._level(level) & pl.col(name).is_in(by_name)))
            if by_code:
                out.append(self._finding("geog_other_code_dupes", FAIL, f"{level} codes with more than one name: "
                                         f"{_q(map(str, by_code))}.", (code, name),
                                         self._level(level) & pl.col(code).is_in(by_code)))
        return out

    def c_geog_la_col_present(self):
        la = ("new_la_code", "la_name", "old_la_code")
        present = [c for c in la if c in self.cols]
        missing = [c for c in la if c not in self.cols]
        return [self._finding("geog_la_col_present", FAIL, f"LA columns go together: {_q(missing)} missing while "
                              f"{_q(present)} present.", missing)] if present and missing else []

    def c_geog_region_col_present(self):
        rc = ("region_code", "region_name")
        present = [c for c in rc if c in self.cols]
        missing = [c for c in rc if c not in self.cols]
        return [self._finding("geog_region_col_present", FAIL, f"Region columns go together: {_q(missing)} missing "
                              f"while {_q(present)} present.", missing)] if present and missing else []

    def c_geog_region_for_la(self):
        out = []
        for level, rule in (("Local authority", "geog_region_for_la"),
                            ("Local authority district", "geog_region_for_lad")):
            if level not in self._levels_present():
                continue
            if not all(c in self.cols for c in ("region_code", "region_name")):
                out.append(self._finding(rule, WARNING, f"{level} rows should carry region_code and region_name."))
                continue
            m = self._level(level) & (pl.col("region_code").is_null() | (pl.col("region_code") == "")
                                      | pl.col("region_name").is_null() | (pl.col("region_name") == ""))
            if self.data.select(m.any()).item():
                out.append(self._finding(rule, WARNING, f"{level} rows should carry region_code and region_name.",
                                         ("region_code", "region_name"), m))
        return out

    _NA_EXCLUDED = ("National", "Regional", "Local authority", "Local authority district", "Parliamentary constituency",
                    "Ward", "Local enterprise partnership", "Local skills improvement plan area",
                    "English devolved area", "RSC region", "Institution", "Planning area")

    def _na_levels(self):
        for level in self._levels_present():
            if level in GEOGRAPHY_LEVELS and level not in self._NA_EXCLUDED:
                code, name, _ = GEOGRAPHY_LEVELS[level]
                if code and code in self.cols and name in self.cols:
                    yield level, code, name

    def c_geog_na(self):
        masks, cols = [], []
        for _level, code, name in self._na_levels():
            masks.append((pl.col(code) == "x") & (pl.col(name) != "Not available"))
            cols += [code, name]
        if not masks or not self.data.select(pl.any_horizontal(masks).any()).item():
            return []
        return [self._finding("geog_na", FAIL, "Locations with code 'x' must be named 'Not available'.", cols,
                              pl.any_horizontal(masks))]

    def c_geog_na_code(self):
        masks, cols = [], []
        for level, code, name in self._na_levels():
            masks.append(self._level(level) & (pl.col(name) == "Not available") & (pl.col(code) != "x"))
            cols += [code, name]
        if not masks or not self.data.select(pl.any_horizontal(masks).any()).item():
            return []
        return [self._finding("geog_na_code", FAIL, "Locations named 'Not available' must have code 'x'.", cols,
                              pl.any_horizontal(masks))]

    def c_geog_overcompleted_cols(self):
        levels = self._levels_present()
        bad, masks = [], []
        for level, cols in GEOGRAPHY_LEVELS.items():
            if level == "National" or level not in COMPATIBLE_LEVELS:
                continue
            cols = [c for c in cols if c and c in self.cols]
            if level in ("School", "Provider") and len(self.filters) == 1:
                name = GEOGRAPHY_LEVELS[level][1]
                if name in self.filters or name in self.groups:
                    cols = [c for c in cols if c != name]
            incompatible = [lv for lv in levels if lv not in COMPATIBLE_LEVELS[level]]
            if not cols or not incompatible:
                continue
            for c in cols:
                m = self._level(incompatible) & pl.col(c).is_not_null() & (pl.col(c) != "")
                if self.data.select(m.any()).item():
                    bad.append(c)
                    masks.append(m)
        if not bad:
            return []
        bad = list(dict.fromkeys(bad))
        return [self._finding("geog_overcompleted_cols", FAIL, f"Geography column(s) {_q(bad)} are filled on rows of "
                              "a higher level (e.g. region_code on National rows); leave them empty there.", bad,
                              pl.any_horizontal(masks))]

    # Check indicators ------------------------------------------------------------------------------------------
    def _indicator_cols(self) -> list[str]:
        return [c for c in self.indicators if c in self.cols]

    def c_ind_invalid_entry(self):
        bad_vals = [*LEGACY_GSS_SYMBOLS, ""]
        bad = [c for c in self._indicator_cols() if self.data[c].is_in(bad_vals).any()]
        if not bad:
            return []
        return [self._finding("ind_invalid_entry", FAIL, "Indicator cells hold an empty string or a legacy symbol "
                              "(':' or '~'); use x for not available and low or k for rounds to zero.", bad,
                              pl.any_horizontal([pl.col(c).is_in(bad_vals) for c in bad]))]

    def c_ind_blanks(self):
        bad = [c for c in self._indicator_cols() if self.data[c].is_null().any()]
        if not bad:
            return []
        return [self._finding("ind_blanks", FAIL, "Indicator cells are empty; every indicator cell needs a number or "
                              "a symbol (x not available, z not applicable, c confidential).", bad,
                              pl.any_horizontal([pl.col(c).is_null() for c in bad]))]

    def c_ind_not_number(self):
        def bad_expr(c: str) -> pl.Expr:
            v = pl.col(c)
            return v.is_not_null() & (v != "") & ~v.is_in([*INDICATOR_SYMBOLS, *LEGACY_GSS_SYMBOLS]) \
                & ~v.str.contains(NUMBER_PATTERN)
        bad = [c for c in self._indicator_cols() if self.data.select(bad_expr(c).any()).item()]
        if not bad:
            return []
        return [self._finding("ind_not_number", FAIL, "Indicator cells hold text that is neither a number nor a GSS "
                              f"symbol ({', '.join(INDICATOR_SYMBOLS)}), e.g. NaN or inf from a calculation.", bad,
                              pl.any_horizontal([bad_expr(c) for c in bad]))]

    # Check harmonised ------------------------------------------------------------------------------------------
    def c_harmonised_variables(self):
        names = list(dict.fromkeys([*self._meta_values("col_name"), *self.groups]))
        bad = [c for c in names if isinstance(c, str) and any(s in c.lower() for s in HARMONISED_SEARCH)
               and c not in HARMONISED_NAMES]
        if not bad:
            return []
        rows = self._meta_rownums(lambda r: r.get("col_name") in bad or r.get("filter_grouping_column") in bad)
        return [self._meta_finding("harmonised_variables", FAIL, f"Column(s) {_q(bad)} look like variables covered "
                                   "by DfE's harmonised data standards (SEN, establishment or school type, "
                                   f"ethnicity) but do not use a standard name ({', '.join(sorted(HARMONISED_NAMES))}).",
                                   rows, bad)]

    def c_harmonised_eth_vals(self):
        has_major, has_minor = "ethnicity_major" in self.cols, "ethnicity_minor" in self.cols
        if not (has_major or has_minor):
            return []
        if has_major and has_minor:
            cols = ("ethnicity_major", "ethnicity_minor")
            ok = self._pairs_ok(cols, ETHNICITY_PAIRS)
        elif has_major:
            cols = ("ethnicity_major",)
            ok = pl.col("ethnicity_major").is_in(sorted({a for a, _ in ETHNICITY_PAIRS}))
        else:
            cols = ("ethnicity_minor",)
            ok = pl.col("ethnicity_minor").is_in(sorted({b for _, b in ETHNICITY_PAIRS}))
        if self.data.select((~ok).any()).item():
            return [self._finding("harmonised_eth_vals", WARNING, "Ethnicity values do not follow the GSS standard "
                                  "names.", cols, ~ok)]
        return []

    def c_harmonised_eth_char_grp(self):
        if "characteristic_group" not in self.cols:
            return []
        g = pl.col("characteristic_group")
        m = g.str.contains("(?i)ethnic") & ~g.str.contains("|".join(ETHNICITY_CHARACTERISTIC_GROUPS))
        if not self.data.select(m.any()).item():
            return []
        return [self._finding("harmonised_eth_char_grp", FAIL, "characteristic_group values about ethnicity must use "
                              f"{_q(ETHNICITY_CHARACTERISTIC_GROUPS)}.", ("characteristic_group",), m)]

    def c_harmonised_eth_char_vals(self):
        if "characteristic_group" not in self.cols or "characteristic" not in self.cols:
            return []
        vals = sorted({a for a, _ in ETHNICITY_PAIRS} | {b for _, b in ETHNICITY_PAIRS})
        m = pl.col("characteristic_group").str.contains("(?i)ethnic") & ~pl.col("characteristic").is_in(vals)
        if not self.data.select(m.any()).item():
            return []
        return [self._finding("harmonised_eth_char_vals", WARNING, "Ethnicity characteristic values do not follow the "
                              "GSS standard names.", ("characteristic",), m)]

    # Check API -------------------------------------------------------------------------------------------------
    def c_api_char_col_name(self):
        bad = [c for c in self.cols if len(c) > API_LIMITS["column-name"]]
        return [self._finding("api_char_col_name", WARNING, f"Column names longer than {API_LIMITS['column-name']} "
                              f"characters: {_q(bad)}.", bad)] if bad else []

    def c_api_char_col_label(self):
        rows = self._meta_rownums(lambda r: isinstance(r.get("label"), str)
                                  and len(r["label"]) > API_LIMITS["column-label"])
        return [self._meta_finding("api_char_col_label", WARNING, f"Labels longer than {API_LIMITS['column-label']} "
                                   "characters.", rows, ("label",))] if rows else []

    def c_api_char_loc_code(self):
        code_cols = [c for cols in GEOGRAPHY_LEVELS.values() for c in (cols[0], cols[2]) if c and c in self.cols]
        lim = API_LIMITS["location-code"]
        bad = [c for c in code_cols if self.data.select((pl.col(c).str.len_chars() > lim).any()).item()]
        return [self._finding("api_char_loc_code", WARNING, f"Location codes longer than {lim} characters.", bad,
                              pl.any_horizontal([pl.col(c).str.len_chars() > lim for c in bad]))] if bad else []

    def c_api_char_filter_items(self):
        name_cols = [cols[1] for cols in GEOGRAPHY_LEVELS.values()]
        cols = [c for c in dict.fromkeys([*self.filters_and_groups(), *name_cols]) if c in self.cols]
        lim = API_LIMITS["column-item"]
        bad = [c for c in cols if self.data.select((pl.col(c).str.len_chars() > lim).any()).item()]
        return [self._finding("api_char_filter_items", WARNING, f"Filter items or location names longer than {lim} "
                              "characters.", bad, pl.any_horizontal([pl.col(c).str.len_chars() > lim for c in bad]))] \
            if bad else []

    def c_data_dict_fil_item(self):
        out = []
        for f, allowed in DICTIONARY_FILTER_ITEMS.items():
            if f in self.filters and f in self.cols:
                vals = [v for v in self.data[f].unique(maintain_order=True).to_list()
                        if v is not None and v != "Total" and v not in allowed]
                if vals:
                    out.append(self._finding("data_dict_fil_item", WARNING, f"{f} values not in the EES API data "
                                             f"dictionary: {_q(vals)}.", (f,), pl.col(f).is_in(vals)))
        return out


# --- metadata files -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MetaRow:
    """One row of a ``.meta.csv``: a filter or an indicator of the data file."""

    col_name: str
    col_type: str
    label: str
    indicator_grouping: str = ""
    indicator_unit: str = ""
    indicator_dp: int | None = None
    filter_hint: str = ""
    filter_grouping_column: str = ""
    filter_default: str = ""

    def __post_init__(self) -> None:
        if self.col_type not in ("Filter", "Indicator"):
            raise ValueError(f"{self.col_name}: col_type must be 'Filter' or 'Indicator'")
        if self.col_type == "Filter" and (self.indicator_unit or self.indicator_dp is not None
                                          or self.indicator_grouping):
            raise ValueError(f"{self.col_name}: a filter has no indicator unit, decimal places or grouping")
        if self.col_type == "Indicator" and (self.filter_hint or self.filter_grouping_column or self.filter_default):
            raise ValueError(f"{self.col_name}: an indicator has no filter hint, grouping column or default")


def filter_row(col_name: str, label: str, hint: str = "", *, grouping_column: str = "",
               default: str = "") -> MetaRow:
    """A filter's metadata row, e.g. ``filter_row("social_care_group", "Social care group")``."""
    return MetaRow(col_name, "Filter", label, filter_hint=hint, filter_grouping_column=grouping_column,
                   filter_default=default)


def indicator_row(col_name: str, label: str, *, dp: int | None, unit: str = "", grouping: str = "") -> MetaRow:
    """An indicator's metadata row, e.g. ``indicator_row("pt_l2basics_94", "Percentage ...", dp=1, unit="%")``."""
    if unit and unit not in INDICATOR_UNITS:
        raise ValueError(f"{col_name}: indicator_unit must be one of {', '.join(INDICATOR_UNITS)}")
    return MetaRow(col_name, "Indicator", label, indicator_grouping=grouping, indicator_unit=unit, indicator_dp=dp)


def meta_frame(rows: Sequence[MetaRow]) -> pl.DataFrame:
    """The metadata as an all-text frame in EES column order (``filter_default`` only when one is set)."""
    cols = list(REQUIRED_META_COLS)
    if any(r.filter_default for r in rows):
        cols.append("filter_default")
    records = [{c: ("" if getattr(r, c) is None else str(getattr(r, c))) for c in cols} for r in rows]
    return pl.DataFrame(records, schema={c: pl.Utf8 for c in cols})


def meta_path_for(data_csv: Path | str) -> Path:
    """``ks4_la.csv`` → ``ks4_la.meta.csv`` beside it."""
    p = Path(data_csv)
    return p.with_name(re.sub(r"\.csv$", ".meta.csv", p.name))


def write_meta(rows: Sequence[MetaRow], path: Path | str) -> Path:
    """Write a ``.meta.csv`` (UTF-8, LF, fields quoted only where needed) and return its path.

    ``path`` may be the data file's path; the ``.meta.csv`` name is then derived from it.
    """
    p = Path(path)
    if not p.name.endswith(".meta.csv"):
        p = meta_path_for(p)
    frame = meta_frame(rows)
    with p.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(frame.columns)
        w.writerows(frame.rows())
    return p
