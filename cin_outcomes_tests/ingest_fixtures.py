"""Hand-built returns for the ingest tests, and writers that put canonical frames into the exact landing formats.

The writers here are the tests' own, written from ``input-formats.md`` (CIN census XML element order and names,
903 CSV column sets and ``dd/mm/YYYY`` dates), independently of the synthetic generator's writers, so a round trip
(frame -> file -> parse) tests the parser against the format rather than against itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from cin_outcomes import tables
from cin_outcomes.years import ReportingYear

D = dt.date


# --- CIN census XML ----------------------------------------------------------------------------------------------
def _el(tag: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, dt.date):
        value = value.isoformat()
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _rows(df: pl.DataFrame, child: str, episode: int | None = None) -> list[dict]:
    f = pl.col("la_child_id") == child
    if episode is not None:
        f = f & (pl.col("episode_number") == episode)
    return df.filter(f).to_dicts()


def cin_xml(frames: dict[str, pl.DataFrame], year: ReportingYear | str, la_code: str, *,
            sex_element: str | None = None, lea: str | None = None, collection: str = "CIN",
            census_year: int | None = None, reference_date: str | None = None) -> str:
    """A CIN census return in the exact XML layout, from canonical frames of one LA.

    ``sex_element`` defaults to the year's: ``GenderCurrent`` (1/2/0) before 2024-25, ``Sex`` (M/F/U) after.
    The header fields can be overridden to make a return that is not this LA's or this year's.
    """
    year = ReportingYear.parse(year)
    sex_element = sex_element or ("Sex" if year.start >= 2024 else "GenderCurrent")
    gender = {"M": "1", "F": "2", "U": "0"}
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<Message>",
        "<Header><CollectionDetails>",
        _el("Collection", collection), _el("Year", census_year or year.end_year),
        _el("ReferenceDate", reference_date or year.end_date.isoformat()),
        "</CollectionDetails><Source>",
        _el("SourceLevel", "L"), _el("LEA", lea or la_code), _el("SoftwareCode", "tests"), _el("Release", "1"),
        _el("SerialNo", "001"), _el("DateTime", f"{year.end_year}-05-01T09:00:00"),
        "</Source></Header>",
        "<Children>",
    ]
    for c in frames["cin_children"].to_dicts():
        cid = c["la_child_id"]
        sex = c["sex"] if sex_element == "Sex" else (gender[c["sex"]] if c["sex"] else None)
        out += ["<Child><ChildIdentifiers>",
                _el("LAchildID", cid), _el("UPN", c["upn"]), _el("FormerUPN", c["former_upn"]),
                _el("UPNunknown", c["upn_unknown"]), _el("PersonBirthDate", c["birth_date"]),
                _el("ExpectedPersonBirthDate", c["expected_birth_date"]), _el(sex_element, sex),
                _el("PersonDeathDate", c["death_date"]),
                "</ChildIdentifiers><ChildCharacteristics>", _el("Ethnicity", c["ethnicity"])]
        if c["disabilities"] is not None:
            out += ["<Disabilities>", *[_el("Disability", d) for d in c["disabilities"]], "</Disabilities>"]
        out.append("</ChildCharacteristics>")
        for e in _rows(frames["cin_episodes"], cid):
            n = e["episode_number"]
            out += ["<CINdetails>", _el("CINreferralDate", e["referral_date"]),
                    _el("ReferralSource", e["referral_source"]), _el("PrimaryNeedCode", e["primary_need"]),
                    _el("CINclosureDate", e["closure_date"]), _el("ReasonForClosure", e["closure_reason"]),
                    _el("DateOfInitialCPC", e["date_of_initial_cpc"])]
            for a in _rows(frames["cin_assessments"], cid, n):
                out += ["<Assessments>", _el("AssessmentActualStartDate", a["start_date"]),
                        _el("AssessmentInternalReviewDate", a["internal_review_date"]),
                        _el("AssessmentAuthorisationDate", a["authorisation_date"])]
                if a["factors"] is not None:
                    out += ["<FactorsIdentifiedAtAssessment>",
                            *[_el("AssessmentFactors", f) for f in a["factors"]], "</FactorsIdentifiedAtAssessment>"]
                out.append("</Assessments>")
            for p in _rows(frames["cin_plans"], cid, n):
                out += ["<CINPlanDates>", _el("CINPlanStartDate", p["start_date"]),
                        _el("CINPlanEndDate", p["end_date"]), "</CINPlanDates>"]
            for s in _rows(frames["section47"], cid, n):
                out += ["<Section47>", _el("S47ActualStartDate", s["start_date"]),
                        _el("InitialCPCtarget", s["icpc_target_date"]), _el("DateOfInitialCPC", s["icpc_date"]),
                        _el("ICPCnotRequired", s["icpc_not_required"]), "</Section47>"]
            out.append(_el("ReferralNFA", e["referral_nfa"]))
            for p in _rows(frames["child_protection_plans"], cid, n):
                out += ["<ChildProtectionPlans>", _el("CPPstartDate", p["start_date"]),
                        _el("CPPendDate", p["end_date"]), _el("InitialCategoryOfAbuse", p["initial_category"]),
                        _el("LatestCategoryOfAbuse", p["latest_category"]),
                        _el("NumberOfPreviousCPP", p["number_of_previous_cpp"])]
                if p["review_dates"] is not None:
                    out += ["<Reviews>", *[_el("CPPreviewDate", r) for r in p["review_dates"]], "</Reviews>"]
                out.append("</ChildProtectionPlans>")
            out.append("</CINdetails>")
        out.append("</Child>")
    out += ["</Children>", "</Message>"]
    return "\n".join(out)


def write_cin_xml(frames: dict[str, pl.DataFrame], path: Path, year, la_code: str, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cin_xml(frames, year, la_code, **kw), encoding="utf-8")
    return path


def cin_frames(year: ReportingYear | str = "2024-25", la_code: str = "318") -> dict[str, pl.DataFrame]:
    """A small CIN census return covering every table and element: two episodes (one NFA), an unborn child,
    assessments with and without factors, a CIN plan, a section 47 with its conference, a CPP with reviews."""
    y = ReportingYear.parse(year)
    s = y.start
    key = {"reporting_year": y.label, "la_code": la_code}

    def frame(name, rows):
        return tables.conform(pl.DataFrame([{**key, **r} for r in rows], infer_schema_length=None),
                              tables.CIN_TABLES[name]) if rows else tables.empty(tables.CIN_TABLES[name])

    children = frame("cin_children", [
        {"la_child_id": "C0001", "upn": "B318200012001", "former_upn": None, "upn_unknown": None,
         "birth_date": D(2012, 6, 3), "expected_birth_date": None, "sex": "F", "death_date": None,
         "ethnicity": "WBRI", "disabilities": ["NONE"]},
        {"la_child_id": "C0002", "upn": None, "former_upn": None, "upn_unknown": "UN1",
         "birth_date": None, "expected_birth_date": D(s + 1, 5, 20), "sex": "U", "death_date": None,
         "ethnicity": "NOBT", "disabilities": None},
        {"la_child_id": "C0003", "upn": "Q318200012002", "former_upn": "E318200012003", "upn_unknown": None,
         "birth_date": D(2008, 1, 31), "expected_birth_date": None, "sex": "M", "death_date": None,
         "ethnicity": "MWBA", "disabilities": ["AUT", "LD"]},
    ])
    episodes = frame("cin_episodes", [
        {"la_child_id": "C0001", "episode_number": 1, "referral_date": D(s, 5, 1), "referral_source": "2A",
         "primary_need": "N1", "closure_date": D(s, 9, 30), "closure_reason": "RC7", "referral_nfa": False,
         "date_of_initial_cpc": D(s, 6, 1)},
        {"la_child_id": "C0001", "episode_number": 2, "referral_date": D(s, 11, 5), "referral_source": "6",
         "primary_need": "N4", "closure_date": None, "closure_reason": None, "referral_nfa": False,
         "date_of_initial_cpc": None},
        {"la_child_id": "C0002", "episode_number": 1, "referral_date": D(s + 1, 1, 10), "referral_source": "3B",
         "primary_need": None, "closure_date": D(s + 1, 1, 12), "closure_reason": "RC8", "referral_nfa": True,
         "date_of_initial_cpc": None},
        {"la_child_id": "C0003", "episode_number": 1, "referral_date": D(s - 2, 3, 14), "referral_source": "1A",
         "primary_need": "N2", "closure_date": None, "closure_reason": None, "referral_nfa": False,
         "date_of_initial_cpc": None},
    ])
    assessments = frame("cin_assessments", [
        {"la_child_id": "C0001", "episode_number": 1, "start_date": D(s, 5, 2), "internal_review_date": None,
         "authorisation_date": D(s, 5, 30), "factors": ["3A", "4B"]},
        {"la_child_id": "C0001", "episode_number": 2, "start_date": D(s, 11, 6), "internal_review_date": None,
         "authorisation_date": None, "factors": None},
        {"la_child_id": "C0003", "episode_number": 1, "start_date": D(s - 2, 3, 15),
         "internal_review_date": D(s - 2, 4, 1), "authorisation_date": D(s - 2, 4, 20), "factors": ["21"]},
    ])
    plans = frame("cin_plans", [
        {"la_child_id": "C0003", "episode_number": 1, "start_date": D(s - 2, 4, 25), "end_date": None},
    ])
    s47 = frame("section47", [
        {"la_child_id": "C0001", "episode_number": 1, "start_date": D(s, 5, 10), "icpc_target_date": D(s, 6, 3),
         "icpc_date": D(s, 6, 1), "icpc_not_required": False},
    ])
    cpp = frame("child_protection_plans", [
        {"la_child_id": "C0001", "episode_number": 1, "start_date": D(s, 6, 1), "end_date": D(s, 9, 30),
         "initial_category": "NEG", "latest_category": "EMO", "number_of_previous_cpp": 0,
         "review_dates": [D(s, 8, 20), D(s, 9, 15)]},
    ])
    return {"cin_children": children, "cin_episodes": episodes, "cin_assessments": assessments,
            "cin_plans": plans, "section47": s47, "child_protection_plans": cpp}


# --- SSDA903 CSV ---------------------------------------------------------------------------------------------
def ssda903_csv(df: pl.DataFrame, table: str, year: ReportingYear | str) -> str:
    """One 903 table as DfE's CSV: upper-case column names (in reverse order: order is free), dd/mm/YYYY dates,
    SEX as the year's codes, blanks for missing."""
    year = ReportingYear.parse(year)
    sex = {"M": "1", "F": "2"} if year.start < 2024 else {"M": "M", "F": "F", "U": "U"}
    cols = tables.ssda903_csv_columns(table)
    out = []
    for c in cols:
        e = pl.col(c.lower())
        if df.schema[c.lower()] == pl.Date:
            e = e.dt.strftime("%d/%m/%Y")
        elif c == "SEX":
            e = e.replace_strict(sex, default=None)
        out.append(e.cast(pl.Utf8).alias(c))
    return df.select(list(reversed(out))).write_csv(null_value="")


def write_ssda903(frames: dict[str, pl.DataFrame], folder: Path, year, *, names: dict[str, str] | None = None
                  ) -> list[Path]:
    """Write the non-empty 903 tables of one LA, one CSV each (file names from ``names`` or ``<Table>.csv``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, df in frames.items():
        if df.height:
            p = folder / (names or {}).get(table, f"{table}.csv")
            p.write_text(ssda903_csv(df, table, year), encoding="utf-8")
            paths.append(p)
    return paths


def ssda903_frames(year: ReportingYear | str = "2024-25", la_code: str = "318") -> dict[str, pl.DataFrame]:
    """A small 903 return: a child in care all year, one who left (X1 chain then E13), a respite child and a UASC,
    with reviews, missing episodes, OC2 and previous permanence; every other table empty."""
    y = ReportingYear.parse(year)
    s = y.start
    key = {"reporting_year": y.label, "la_code": la_code}

    def frame(name, rows):
        schema = tables.SSDA903_TABLES[name]
        return tables.conform(pl.DataFrame([{**key, **r} for r in rows], infer_schema_length=None), schema) \
            if rows else tables.empty(schema)

    header = frame("Header", [
        {"child": "CH1", "sex": "F", "dob": D(2010, 4, 5), "ethnic": "WBRI", "upn": "B318200012001",
         "mother": 0, "mc_dob": None},
        {"child": "CH2", "sex": "M", "dob": D(2014, 12, 1), "ethnic": "BAFR", "upn": "UN4", "mother": None,
         "mc_dob": None},
        {"child": "CH3", "sex": "M", "dob": D(2016, 2, 29), "ethnic": "AIND", "upn": None, "mother": None,
         "mc_dob": None},
        {"child": "CH4", "sex": "M", "dob": D(2008, 7, 7), "ethnic": "OOTH", "upn": "UN2", "mother": None,
         "mc_dob": None},
    ])
    ep = dict(cin="N1", place_provider="PR1", reason_place_change=None, home_post="TW1 1AA", pl_post="TW1 1AF",
              urn="XXXXXXX")
    episodes = frame("Episodes", [
        {"child": "CH1", "decom": D(s - 3, 2, 1), "rne": "S", "ls": "C2", "place": "U4", "dec": None, "rec": None,
         **ep},
        {"child": "CH2", "decom": D(s, 6, 1), "rne": "S", "ls": "V2", "place": "U6", "dec": D(s, 8, 1),
         "rec": "X1", **ep},
        {"child": "CH2", "decom": D(s, 8, 1), "rne": "P", "ls": "V2", "place": "U3", "dec": D(s, 12, 24),
         "rec": "E13", **{**ep, "reason_place_change": None}},
        {"child": "CH3", "decom": D(s, 10, 3), "rne": "S", "ls": "V3", "place": "R1", "dec": D(s, 10, 5),
         "rec": "E13", **{**ep, "cin": "N2", "home_post": None, "pl_post": None, "urn": "SC123456"}},
        {"child": "CH4", "decom": D(s, 4, 20), "rne": "S", "ls": "V2", "place": "K2", "dec": None, "rec": None,
         **{**ep, "place_provider": "PR4", "urn": "1234567"}},
    ])
    uasc = frame("UASC", [{"child": "CH4", "sex": "M", "dob": D(2008, 7, 7), "duc": D(2026, 7, 7)}])
    reviews = frame("Reviews", [
        {"child": "CH1", "dob": D(2010, 4, 5), "review": D(s, 9, 1), "review_code": "PN1"},
        {"child": "CH1", "dob": D(2010, 4, 5), "review": D(s + 1, 2, 1), "review_code": "PN0"},
    ])
    oc2 = frame("OC2", [
        {"child": "CH1", "dob": D(2010, 4, 5), "sdq_score": 14, "sdq_reason": None, "convicted": 0,
         "health_check": None, "immunisations": 1, "teeth_check": 1, "health_assessment": 1,
         "substance_misuse": 0, "intervention_received": None, "intervention_offered": None},
    ])
    missing = frame("Missing", [
        {"child": "CH2", "dob": D(2014, 12, 1), "missing": "M", "mis_start": D(s, 9, 3), "mis_end": D(s, 9, 4)},
    ])
    prev = frame("PrevPerm", [
        {"child": "CH2", "dob": D(2014, 12, 1), "prev_perm": "Z1", "la_perm": None, "date_perm": None},
        {"child": "CH3", "dob": D(2016, 2, 29), "prev_perm": "Z1", "la_perm": None, "date_perm": None},
        {"child": "CH4", "dob": D(2008, 7, 7), "prev_perm": "Z1", "la_perm": None, "date_perm": None},
    ])
    out = {t: tables.empty(sc) for t, sc in tables.SSDA903_TABLES.items()}
    out.update({"Header": header, "Episodes": episodes, "UASC": uasc, "Reviews": reviews, "OC2": oc2,
                "Missing": missing, "PrevPerm": prev})
    return out
