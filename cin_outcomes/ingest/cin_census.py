"""Reading a local authority's children in need census return (CIN census XML) into the canonical CIN tables.

One return holds every child in need during the reporting year (1 April to 31 March): their identifiers and
characteristics, and each episode of need (``CINdetails``, a referral to its closure) with its assessments, CIN
plans, section 47 enquiries and child protection plans. The file is read as a stream, one ``<Child>`` at a time,
and each child's elements are released once read, so a national-size return never sits in memory as a tree.

Sex is normalised to ``M``/``F``/``U``: returns before 2024-25 carry ``GenderCurrent`` (1 male, 2 female,
0 not recorded or unborn, 9 indeterminate), later ones ``Sex`` (M, F, U). ``episode_number`` is the position of
the ``CINdetails`` element within its child (1 = first), as DfE's tools number them.

Repeated elements become lists: a plan without ``<Reviews>`` has no review dates (an empty list), while a child
without ``<Disabilities>`` or an assessment without ``<FactorsIdentifiedAtAssessment>`` has them missing (null),
as distinct from an empty block.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl

from cin_outcomes import tables
from cin_outcomes.ingest import values as V
from cin_outcomes.ingest.report import CHILD_RECORD, IngestError, Problem, collect_or_raise
from cin_outcomes.years import ReportingYear

#: ``GenderCurrent`` codes (returns to 2023-24) and ``Sex`` codes (2024-25 on) -> canonical sex.
GENDER_CURRENT = {"1": "M", "2": "F", "0": "U", "9": "U"}
SEX = {"M": "M", "F": "F", "U": "U"}

_DATE = "%Y-%m-%d"
_CHUNK = 5_000  # children per chunk of raw text turned into a frame

# Leaf elements of each block -> canonical column.
_IDENTIFIERS = {"LAchildID": "la_child_id", "UPN": "upn", "FormerUPN": "former_upn", "UPNunknown": "upn_unknown",
                "PersonBirthDate": "birth_date", "ExpectedPersonBirthDate": "expected_birth_date",
                "Sex": "_sex", "GenderCurrent": "_gender_current", "PersonDeathDate": "death_date"}
_EPISODE = {"CINreferralDate": "referral_date", "ReferralSource": "referral_source",
            "PrimaryNeedCode": "primary_need", "CINclosureDate": "closure_date",
            "ReasonForClosure": "closure_reason", "DateOfInitialCPC": "date_of_initial_cpc",
            "ReferralNFA": "referral_nfa"}
_ASSESSMENT = {"AssessmentActualStartDate": "start_date", "AssessmentInternalReviewDate": "internal_review_date",
               "AssessmentAuthorisationDate": "authorisation_date"}
_PLAN = {"CINPlanStartDate": "start_date", "CINPlanEndDate": "end_date"}
_S47 = {"S47ActualStartDate": "start_date", "InitialCPCtarget": "icpc_target_date",
        "DateOfInitialCPC": "icpc_date", "ICPCnotRequired": "icpc_not_required"}
_CPP = {"CPPstartDate": "start_date", "CPPendDate": "end_date", "InitialCategoryOfAbuse": "initial_category",
        "LatestCategoryOfAbuse": "latest_category", "NumberOfPreviousCPP": "number_of_previous_cpp"}

_CHILD_COLS = [*_IDENTIFIERS.values(), "ethnicity", "disabilities"]
_EPISODE_KEY = ["la_child_id", "episode_number"]
_RAW_COLUMNS = {
    "cin_children": _CHILD_COLS,
    "cin_episodes": [*_EPISODE_KEY, *_EPISODE.values()],
    "cin_assessments": [*_EPISODE_KEY, *_ASSESSMENT.values(), "factors"],
    "cin_plans": [*_EPISODE_KEY, *_PLAN.values()],
    "section47": [*_EPISODE_KEY, *_S47.values()],
    "child_protection_plans": [*_EPISODE_KEY, *_CPP.values(), "review_dates"],
}
_LIST_COLS = {"disabilities", "factors", "review_dates"}

# Text -> canonical type, with the rule a failure breaks: the XSD type, or DfE's CIN rule code where one applies.
_CONVERSIONS: dict[str, dict[str, V.Conversion]] = {
    "cin_children": {
        "birth_date": V.date(_DATE, "date format", "PersonBirthDate"),
        "expected_birth_date": V.date(_DATE, "date format", "ExpectedPersonBirthDate"),
        "death_date": V.date(_DATE, "date format", "PersonDeathDate"),
        "_sex_from_sex": V.codes(SEX, "4180", "Sex", source="_sex"),
        "_sex_from_gender": V.codes(GENDER_CURRENT, "4180", "GenderCurrent", source="_gender_current"),
    },
    "cin_episodes": {
        "referral_date": V.date(_DATE, "date format", "CINreferralDate"),
        "closure_date": V.date(_DATE, "date format", "CINclosureDate"),
        "date_of_initial_cpc": V.date(_DATE, "date format", "DateOfInitialCPC"),
        "referral_nfa": V.boolean("8568", "ReferralNFA"),
        "episode_number": V.integer(pl.Int16, "episode number", "CINdetails position"),
    },
    "cin_assessments": {
        "start_date": V.date(_DATE, "date format", "AssessmentActualStartDate"),
        "internal_review_date": V.date(_DATE, "date format", "AssessmentInternalReviewDate"),
        "authorisation_date": V.date(_DATE, "date format", "AssessmentAuthorisationDate"),
        "episode_number": V.integer(pl.Int16, "episode number", "CINdetails position"),
    },
    "cin_plans": {
        "start_date": V.date(_DATE, "date format", "CINPlanStartDate"),
        "end_date": V.date(_DATE, "date format", "CINPlanEndDate"),
        "episode_number": V.integer(pl.Int16, "episode number", "CINdetails position"),
    },
    "section47": {
        "start_date": V.date(_DATE, "date format", "S47ActualStartDate"),
        "icpc_target_date": V.date(_DATE, "date format", "InitialCPCtarget"),
        "icpc_date": V.date(_DATE, "date format", "DateOfInitialCPC"),
        "icpc_not_required": V.boolean("boolean", "ICPCnotRequired"),
        "episode_number": V.integer(pl.Int16, "episode number", "CINdetails position"),
    },
    "child_protection_plans": {
        "start_date": V.date(_DATE, "date format", "CPPstartDate"),
        "end_date": V.date(_DATE, "date format", "CPPendDate"),
        "number_of_previous_cpp": V.integer(pl.Int16, "integer", "NumberOfPreviousCPP"),
        "review_dates": V.date_list(_DATE, "date format", "CPPreviewDate"),
        "episode_number": V.integer(pl.Int16, "episode number", "CINdetails position"),
    },
}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(el: ET.Element) -> str | None:
    t = el.text
    if t is None:
        return None
    t = t.strip()
    return t or None


class _Rows:
    """Raw text rows of one table, turned into a polars frame every few thousand children to bound memory."""

    def __init__(self, columns: list[str]):
        self.columns = [V.POSITION, *columns]
        self.data: dict[str, list] = {c: [] for c in self.columns}
        self.chunks: list[pl.DataFrame] = []

    def add(self, position: int, values: dict) -> None:
        for c in self.columns:
            self.data[c].append(values.get(c) if c != V.POSITION else position)

    def flush(self) -> None:
        if self.data[V.POSITION]:
            schema = {c: (pl.List(pl.Utf8) if c in _LIST_COLS else pl.Utf8) for c in self.columns}
            schema[V.POSITION] = pl.Int64
            self.chunks.append(pl.DataFrame(self.data, schema=schema))
            self.data = {c: [] for c in self.columns}

    def frame(self) -> pl.DataFrame:
        self.flush()
        if not self.chunks:
            schema = {c: (pl.List(pl.Utf8) if c in _LIST_COLS else pl.Utf8) for c in self.columns}
            schema[V.POSITION] = pl.Int64
            return pl.DataFrame(schema=schema)
        return pl.concat(self.chunks, how="vertical")


def _leaves(block: ET.Element, fields: dict[str, str], out: dict) -> None:
    for el in block:
        col = fields.get(_local(el.tag))
        if col is not None:
            out[col] = _text(el)


def _codes(block: ET.Element | None, tag: str) -> list[str] | None:
    """The texts of repeated ``tag`` elements anywhere in ``block`` (None when the block is absent)."""
    if block is None:
        return None
    return [t for el in block.iter() if _local(el.tag) == tag and (t := _text(el)) is not None]


class _ChildReader:
    """Turns each ``<Child>`` element into rows of the six CIN tables."""

    def __init__(self) -> None:
        self.rows = {name: _Rows(cols) for name, cols in _RAW_COLUMNS.items()}

    def read(self, child: ET.Element, record: int) -> None:
        ident: dict = {}
        chars: dict = {}
        episodes = []
        for block in child:
            tag = _local(block.tag)
            if tag == "ChildIdentifiers":
                _leaves(block, _IDENTIFIERS, ident)
            elif tag == "ChildCharacteristics":
                for el in block:
                    t = _local(el.tag)
                    if t == "Ethnicity":
                        chars["ethnicity"] = _text(el)
                    elif t == "Disabilities":
                        chars["disabilities"] = _codes(el, "Disability")
            elif tag == "CINdetails":
                episodes.append(block)
        la_child_id = ident.get("la_child_id")
        self.rows["cin_children"].add(record, {**ident, **chars})
        for number, ep in enumerate(episodes, start=1):
            key = {"la_child_id": la_child_id, "episode_number": str(number)}
            row = dict(key)
            for el in ep:
                t = _local(el.tag)
                col = _EPISODE.get(t)
                if col is not None:
                    row[col] = _text(el)
                elif t == "Assessments":
                    a = dict(key)
                    _leaves(el, _ASSESSMENT, a)
                    factors = None
                    for sub in el:
                        if _local(sub.tag) == "FactorsIdentifiedAtAssessment":
                            factors = (factors or []) + _codes(sub, "AssessmentFactors")
                    a["factors"] = factors
                    self.rows["cin_assessments"].add(record, a)
                elif t == "CINPlanDates":
                    p = dict(key)
                    _leaves(el, _PLAN, p)
                    self.rows["cin_plans"].add(record, p)
                elif t == "Section47":
                    s = dict(key)
                    _leaves(el, _S47, s)
                    self.rows["section47"].add(record, s)
                elif t == "ChildProtectionPlans":
                    c = dict(key)
                    _leaves(el, _CPP, c)
                    reviews = []  # a plan without <Reviews> has had no review
                    for sub in el:
                        if _local(sub.tag) == "Reviews":
                            reviews += _codes(sub, "CPPreviewDate")
                    c["review_dates"] = reviews
                    self.rows["child_protection_plans"].add(record, c)
            self.rows["cin_episodes"].add(record, row)

    def flush(self) -> None:
        for r in self.rows.values():
            r.flush()


def _check_header(header: ET.Element, year: ReportingYear, la_code: str, fail) -> None:
    """Rule 100 and the identity of the return: a CIN collection for this year and this LA."""
    found = {_local(el.tag): _text(el) for el in header.iter()}
    expected = {
        "Collection": ("CIN", "header Collection", "the return is not a CIN census (Collection must be CIN)"),
        "Year": (str(year.end_year), "header Year",
                 f"the census Year is not {year.end_year}, the year ending {year.label}"),
        "ReferenceDate": (year.end_date.isoformat(), "100",
                          f"ReferenceDate is not {year.end_date.isoformat()} (31 March of the census year)"),
        "LEA": (la_code, "header LEA", f"the return's LEA is not {la_code}, the LA it was delivered for"),
    }
    for tag, (want, rule, message) in expected.items():
        if found.get(tag) != want:
            fail(rule, message)


def parse_cin_census(
    path: str | os.PathLike,
    year: ReportingYear | str,
    la_code: str,
    *,
    problems: list[Problem] | None = None,
    display_name: str | None = None,
) -> dict[str, pl.DataFrame]:
    """Read one LA's CIN census XML into the six canonical CIN tables (:data:`cin_outcomes.tables.CIN_TABLES`).

    A file that is not well-formed XML, or whose header is not the CIN census of ``year`` for ``la_code``, raises
    :class:`IngestError` naming the file, the position and the rule. Values that cannot be read as their type are
    set to missing and reported: appended to ``problems`` when a list is given, otherwise the first one raises.
    Rows keep the order of the file.
    """
    year = ReportingYear.parse(year)
    name = display_name or str(path)

    def fail(rule: str, message: str, position: int | None = None, unit: str | None = None):
        raise IngestError(Problem(file=name, la_code=la_code, rule=rule, message=message, unit=unit,
                                  position=position, fatal=True))

    reader = _ChildReader()
    depth = 0
    record = 0
    header_ok = False
    children_el: ET.Element | None = None
    try:
        for event, el in ET.iterparse(os.fspath(path), events=("start", "end")):
            if event == "start":
                depth += 1
                if depth == 1 and _local(el.tag) != "Message":
                    fail("XML structure", "the root element is not <Message>")
                elif depth == 2 and _local(el.tag) == "Children":
                    if not header_ok:
                        fail("XML structure", "<Children> comes before a <Header>")
                    children_el = el
                continue
            depth -= 1
            tag = _local(el.tag)
            if depth == 2 and tag == "Child" and children_el is not None:
                record += 1
                reader.read(el, record)
                children_el.remove(el)  # release the child's elements: the tree never grows
                if record % _CHUNK == 0:
                    reader.flush()
            elif depth == 1 and tag == "Children":
                children_el = None
            elif depth == 1 and tag == "Header":
                _check_header(el, year, la_code, fail)
                header_ok = True
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        reason = str(e).split(": line")[0]
        fail("XML well-formed", f"the file is not well-formed XML ({reason})", position=line, unit="line")
    except OSError as e:
        fail("file readable", f"the file cannot be read ({e.strerror or type(e).__name__})")
    if not header_ok:
        fail("XML structure", "the return has no <Header>")

    found: list[Problem] = []
    out: dict[str, pl.DataFrame] = {}
    for table, rows in reader.rows.items():
        raw = rows.frame()
        df, probs = V.convert(raw, _CONVERSIONS[table], file=name, la_code=la_code, unit=CHILD_RECORD,
                               table=table)
        found.extend(probs)
        if table == "cin_children":
            df = df.with_columns(pl.coalesce("_sex_from_sex", "_sex_from_gender").alias("sex"))
        df = df.with_columns(pl.lit(year.label).alias("reporting_year"), pl.lit(la_code).alias("la_code"))
        out[table] = tables.conform(df, tables.CIN_TABLES[table])
    collect_or_raise(found, problems)
    return out


def cin_census_path(landing: str | os.PathLike, year: ReportingYear | str, la_code: str) -> Path:
    """Where an LA's CIN census return for a year lands: ``<landing>/<2024-25>/<la_code>/cin_census.xml``."""
    return Path(landing) / ReportingYear.parse(year).label / la_code / "cin_census.xml"


__all__ = ["GENDER_CURRENT", "SEX", "cin_census_path", "parse_cin_census"]
