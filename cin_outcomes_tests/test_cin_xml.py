"""The CIN census XML writer: structure and element order, code lists of each year, dates, a round trip back to
the canonical tables, and byte-identical files from two runs with the same seed and scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import build_population
from cin_outcomes.synthetic.social_care import build_social_care
from cin_outcomes.synthetic.writers.cin_xml import write_cin_census
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.code_lists import ETHNICITY_CODES
from cin_outcomes_tests.test_social_care import FEW_LAS, small_england

CHILD_ORDER = ["ChildIdentifiers", "ChildCharacteristics", "CINdetails"]
IDENTIFIER_ORDER = [
    "LAchildID",
    "UPN",
    "FormerUPN",
    "UPNunknown",
    "PersonBirthDate",
    "ExpectedPersonBirthDate",
    "GenderCurrent",
    "Sex",
    "PersonDeathDate",
]
DETAILS_ORDER = [
    "CINreferralDate",
    "ReferralSource",
    "PrimaryNeedCode",
    "CINclosureDate",
    "ReasonForClosure",
    "DateOfInitialCPC",
    "Assessments",
    "CINPlanDates",
    "Section47",
    "ReferralNFA",
    "ChildProtectionPlans",
]
CODES = {
    "ReferralSource": {
        "1A",
        "1B",
        "1C",
        "1D",
        "2A",
        "2B",
        "3A",
        "3B",
        "3C",
        "3D",
        "3E",
        "3F",
        "4",
        "5A",
        "5B",
        "5C",
        "5D",
        "6",
        "7",
        "8",
        "9",
        "10",
    },
    "PrimaryNeedCode": {f"N{i}" for i in range(10)},
    "ReasonForClosure": {f"RC{i}" for i in range(1, 10)},
    "InitialCategoryOfAbuse": {"NEG", "PHY", "SAB", "EMO", "MUL"},
    "LatestCategoryOfAbuse": {"NEG", "PHY", "SAB", "EMO", "MUL"},
    "Disability": {"NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA"},
    "Ethnicity": ETHNICITY_CODES,
    "UPNunknown": {f"UN{i}" for i in range(1, 8)},
    "ReferralNFA": {"true", "false"},
    "ICPCnotRequired": {"true", "false"},
}
DATE_TAGS = {
    "PersonBirthDate",
    "ExpectedPersonBirthDate",
    "PersonDeathDate",
    "CINreferralDate",
    "CINclosureDate",
    "DateOfInitialCPC",
    "AssessmentActualStartDate",
    "AssessmentInternalReviewDate",
    "AssessmentAuthorisationDate",
    "CINPlanStartDate",
    "CINPlanEndDate",
    "S47ActualStartDate",
    "InitialCPCtarget",
    "CPPstartDate",
    "CPPendDate",
    "CPPreviewDate",
    "ReferenceDate",
}


@pytest.fixture(scope="module")
def few():
    return small_england(0.004, 5, FEW_LAS)


def _is_ordered(tags: list[str], order: list[str]) -> bool:
    pos = [order.index(t) for t in tags]
    return pos == sorted(pos)


@pytest.mark.parametrize("label", ["2016-17", "2023-24", "2024-25"])
def test_structure_order_and_code_lists(few, tmp_path, label):
    _, _, sc = few
    year = ReportingYear.parse(label)
    path = tmp_path / "cin_census.xml"
    write_cin_census(sc.tables, year, "886", path)
    root = ET.parse(path).getroot()
    assert root.tag == "Message" and [c.tag for c in root] == ["Header", "Children"]
    assert root.findtext("Header/CollectionDetails/Collection") == "CIN"
    assert root.findtext("Header/CollectionDetails/Year") == str(year.end_year)
    assert root.findtext("Header/CollectionDetails/ReferenceDate") == year.end_date.isoformat()
    assert root.findtext("Header/Source/LEA") == "886"
    children = root.findall("Children/Child")
    expected = sc.tables["cin_children"].filter((pl.col("reporting_year") == label) & (pl.col("la_code") == "886"))
    assert len(children) == expected.height > 0
    ids = [c.findtext("ChildIdentifiers/LAchildID") for c in children]
    assert ids == sorted(ids)
    sex_tag = "Sex" if year.start >= 2024 else "GenderCurrent"
    sex_codes = {"M", "F", "U"} if year.start >= 2024 else {"0", "1", "2", "9"}
    for child in children:
        assert _is_ordered([c.tag for c in child], CHILD_ORDER)
        ident = child.find("ChildIdentifiers")
        assert _is_ordered([c.tag for c in ident], IDENTIFIER_ORDER)
        assert ident.findtext(sex_tag) in sex_codes
        assert ident.find("Sex" if sex_tag == "GenderCurrent" else "GenderCurrent") is None
        assert len(child.findall("CINdetails")) >= 1
        for d in child.findall("CINdetails"):
            assert _is_ordered([c.tag for c in d], DETAILS_ORDER)
            assert d.findtext("ReferralNFA") in {"true", "false"}
    for el in root.iter():
        if el.tag in CODES:
            assert el.text in CODES[el.tag], (el.tag, el.text)
        if el.tag in DATE_TAGS:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", el.text or ""), el.tag
        if el.tag == "AssessmentFactors":
            assert re.fullmatch(r"\d{1,2}[A-F]?", el.text)


def test_round_trip_to_the_canonical_tables(few, tmp_path):
    """Parsing the XML back gives the children, episodes and plans of the tables."""
    _, _, sc = few
    label = "2022-23"
    path = tmp_path / "c.xml"
    write_cin_census(sc.tables, ReportingYear.parse(label), "318", path)
    root = ET.parse(path).getroot()
    rows, eps, cpps = [], [], []
    for child in root.findall("Children/Child"):
        cid = child.findtext("ChildIdentifiers/LAchildID")
        rows.append(
            (
                cid,
                child.findtext("ChildIdentifiers/UPN"),
                child.findtext("ChildIdentifiers/PersonBirthDate"),
                child.findtext("ChildCharacteristics/Ethnicity"),
                tuple(sorted(d.text for d in child.findall("ChildCharacteristics/Disabilities/Disability"))),
            )
        )
        for n, d in enumerate(child.findall("CINdetails"), start=1):
            eps.append(
                (
                    cid,
                    n,
                    d.findtext("CINreferralDate"),
                    d.findtext("CINclosureDate"),
                    d.findtext("ReasonForClosure"),
                    d.findtext("ReferralNFA") == "true",
                )
            )
            for c in d.findall("ChildProtectionPlans"):
                cpps.append(
                    (
                        cid,
                        n,
                        c.findtext("CPPstartDate"),
                        c.findtext("CPPendDate"),
                        len(c.findall("Reviews/CPPreviewDate")),
                    )
                )
    t = {k: v.filter((pl.col("reporting_year") == label) & (pl.col("la_code") == "318")) for k, v in sc.tables.items()}
    fmt = lambda c: pl.col(c).dt.strftime("%Y-%m-%d")  # noqa: E731
    want_children = (
        t["cin_children"]
        .sort("la_child_id")
        .select("la_child_id", "upn", fmt("birth_date"), "ethnicity", pl.col("disabilities").list.sort())
    )
    assert rows == [(a, b, c, d, tuple(e)) for a, b, c, d, e in want_children.iter_rows()]
    want_eps = (
        t["cin_episodes"]
        .sort("la_child_id", "episode_number")
        .select(
            "la_child_id", "episode_number", fmt("referral_date"), fmt("closure_date"), "closure_reason", "referral_nfa"
        )
    )
    assert eps == list(want_eps.iter_rows())
    want_cpp = (
        t["child_protection_plans"]
        .sort("la_child_id", "episode_number", "start_date")
        .select("la_child_id", "episode_number", fmt("start_date"), fmt("end_date"), pl.col("review_dates").list.len())
    )
    assert cpps == list(want_cpp.iter_rows())


def test_an_la_without_children_gets_an_empty_return(few, tmp_path):
    _, _, sc = few
    path = tmp_path / "empty.xml"
    write_cin_census(sc.tables, ReportingYear.parse("2024-25"), "999", path)
    root = ET.parse(path).getroot()
    assert root.findall("Children/Child") == [] and root.findtext("Header/Source/LEA") == "999"


def test_same_seed_and_scale_give_byte_identical_files(few, tmp_path):
    _, _, sc = few
    cfg2 = SyntheticConfig(scale=0.004, seed=5, only_las=FEW_LAS)
    sc2 = build_social_care(cfg2, build_population(cfg2))
    for label in ("2018-19", "2024-25"):
        for la in ("886", "940", "928"):
            a, b = tmp_path / f"a{label}{la}.xml", tmp_path / f"b{label}{la}.xml"
            write_cin_census(sc.tables, ReportingYear.parse(label), la, a)
            write_cin_census(sc2.tables, ReportingYear.parse(label), la, b)
            assert a.read_bytes() == b.read_bytes()


def test_the_year_writer_gives_the_same_files_as_the_per_la_writer(few, tmp_path):
    from cin_outcomes.synthetic.writers.cin_xml import write_cin_census_year

    _, _, sc = few
    year = ReportingYear.parse("2023-24")
    las = [*FEW_LAS, "999"]
    written = write_cin_census_year(sc.tables, year, las, lambda la: tmp_path / "year" / la / "cin_census.xml")
    assert len(written) == len(las)
    for la in las:
        write_cin_census(sc.tables, year, la, tmp_path / "one" / la / "cin_census.xml")
        assert (tmp_path / "year" / la / "cin_census.xml").read_bytes() == (
            tmp_path / "one" / la / "cin_census.xml"
        ).read_bytes()
