"""CIN census XML -> canonical CIN tables: round trips in both sex-code eras, header checks, bad values, streaming."""

from __future__ import annotations

import gc
import tracemalloc
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cin_outcomes import tables
from cin_outcomes.ingest import IngestError, parse_cin_census
from cin_outcomes_tests.ingest_fixtures import cin_frames, cin_xml, write_cin_xml


@pytest.mark.parametrize("year", ["2023-24", "2024-25"])
def test_round_trip_is_identity(tmp_path, year):
    known = cin_frames(year)
    path = write_cin_xml(known, tmp_path / "cin_census.xml", year, "318")
    got = parse_cin_census(path, year, "318")
    assert list(got) == list(tables.CIN_TABLES)
    for name, df in known.items():
        assert_frame_equal(got[name], df)
        assert got[name].schema == pl.Schema(tables.CIN_TABLES[name])


def test_both_sex_code_eras_normalise_to_m_f_u(tmp_path):
    known = cin_frames("2023-24")
    text = cin_xml(known, "2023-24", "318")
    assert "<GenderCurrent>2</GenderCurrent>" in text and "<GenderCurrent>0</GenderCurrent>" in text
    assert "<Sex>" not in text
    (tmp_path / "a.xml").write_text(text)
    got = parse_cin_census(tmp_path / "a.xml", "2023-24", "318")["cin_children"]
    assert got["sex"].to_list() == ["F", "U", "M"]
    # 9 (indeterminate) is U as well; the Sex element is read in any year.
    (tmp_path / "b.xml").write_text(text.replace("<GenderCurrent>1</GenderCurrent>", "<GenderCurrent>9</GenderCurrent>"))
    assert parse_cin_census(tmp_path / "b.xml", "2023-24", "318")["cin_children"]["sex"].to_list() == ["F", "U", "U"]
    (tmp_path / "c.xml").write_text(cin_xml(known, "2023-24", "318", sex_element="Sex"))
    assert parse_cin_census(tmp_path / "c.xml", "2023-24", "318")["cin_children"]["sex"].to_list() == ["F", "U", "M"]


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False), ("1", True), ("0", False),
                                           ("TRUE", True), ("False", False)])
def test_referral_nfa_spellings(tmp_path, text, expected):
    xml = cin_xml(cin_frames(), "2024-25", "318").replace("<ReferralNFA>true</ReferralNFA>",
                                                          f"<ReferralNFA>{text}</ReferralNFA>")
    (tmp_path / "f.xml").write_text(xml)
    nfa = parse_cin_census(tmp_path / "f.xml", "2024-25", "318")["cin_episodes"]["referral_nfa"].to_list()
    assert nfa == [False, False, expected, False]


def test_repeated_elements_and_episode_order(tmp_path):
    got = parse_cin_census(write_cin_xml(cin_frames(), tmp_path / "x.xml", "2024-25", "318"), "2024-25", "318")
    ep = got["cin_episodes"]
    assert ep.select("la_child_id", "episode_number").rows() == [("C0001", 1), ("C0001", 2), ("C0002", 1),
                                                                    ("C0003", 1)]
    assert got["cin_children"]["disabilities"].to_list() == [["NONE"], None, ["AUT", "LD"]]
    assert got["cin_assessments"]["factors"].to_list() == [["3A", "4B"], None, ["21"]]
    assert len(got["child_protection_plans"]["review_dates"][0]) == 2


def test_reviews_in_separate_blocks_and_namespaced_files_are_read(tmp_path):
    xml = cin_xml(cin_frames(), "2024-25", "318")
    start = xml.index("<Reviews>")
    end = xml.index("</Reviews>") + len("</Reviews>")
    dates = ET.fromstring(xml[start:end]).findall("CPPreviewDate")
    split = "".join(f"<Reviews>{ET.tostring(d, encoding='unicode')}</Reviews>" for d in dates)
    xml = xml[:start] + split + xml[end:]
    xml = xml.replace("<Message>", '<Message xmlns="http://www.dfe.gov.uk/CIN">', 1)
    (tmp_path / "n.xml").write_text(xml)
    got = parse_cin_census(tmp_path / "n.xml", "2024-25", "318")
    assert_frame_equal(got["child_protection_plans"], cin_frames()["child_protection_plans"])


@pytest.mark.parametrize("override,rule", [
    ({"lea": "319"}, "header LEA"),
    ({"census_year": 2024}, "header Year"),
    ({"reference_date": "2025-03-30"}, "100"),
    ({"collection": "CLA"}, "header Collection"),
])
def test_header_must_be_this_las_census_for_this_year(tmp_path, override, rule):
    path = write_cin_xml(cin_frames(), tmp_path / "2024-25" / "318" / "cin_census.xml", "2024-25", "318", **override)
    with pytest.raises(IngestError) as e:
        parse_cin_census(path, "2024-25", "318", display_name="2024-25/318/cin_census.xml")
    assert e.value.problem.rule == rule and e.value.problem.fatal
    assert "2024-25/318/cin_census.xml" in str(e.value) and f"[rule {rule}]" in str(e.value)


def test_malformed_xml_names_file_and_line(tmp_path):
    xml = cin_xml(cin_frames(), "2024-25", "318").replace("</ChildIdentifiers>", "</ChildIdentifier>", 1)
    (tmp_path / "bad.xml").write_text(xml)
    with pytest.raises(IngestError) as e:
        parse_cin_census(tmp_path / "bad.xml", "2024-25", "318")
    p = e.value.problem
    assert p.rule == "XML well-formed" and p.unit == "line" and p.position == xml.count("\n", 0, xml.index(
        "</ChildIdentifier>")) + 1
    assert str(tmp_path / "bad.xml") in str(e.value)


def test_bad_values_are_reported_by_record_and_rule_without_values(tmp_path):
    frames = cin_frames()
    xml = cin_xml(frames, "2024-25", "318")
    # child record 3: an impossible birth date; child record 2: an unknown sex code
    xml = xml.replace("<PersonBirthDate>2008-01-31</PersonBirthDate>", "<PersonBirthDate>2008-02-30</PersonBirthDate>")
    xml = xml.replace("<Sex>U</Sex>", "<Sex>X</Sex>")
    (tmp_path / "v.xml").write_text(xml)
    problems = []
    got = parse_cin_census(tmp_path / "v.xml", "2024-25", "318", problems=problems, display_name="v.xml")
    assert {(p.rule, p.column, p.position, p.unit, p.fatal) for p in problems} == {
        ("date format", "PersonBirthDate", 3, "child record", False),
        ("4180", "Sex", 2, "child record", False),
    }
    text = " ".join(str(p) for p in problems)
    assert "2008-02-30" not in text and "C0003" not in text and "v.xml, child record 3" in text
    children = got["cin_children"]
    assert children["birth_date"][2] is None and children["sex"][1] is None and children.height == 3
    with pytest.raises(IngestError):  # without a problems list the first problem raises
        parse_cin_census(tmp_path / "v.xml", "2024-25", "318")


def test_header_must_come_first_and_root_is_message(tmp_path):
    (tmp_path / "r.xml").write_text("<Return><Children/></Return>")
    with pytest.raises(IngestError, match="root element"):
        parse_cin_census(tmp_path / "r.xml", "2024-25", "318")
    (tmp_path / "h.xml").write_text("<Message><Children><Child/></Children></Message>")
    with pytest.raises(IngestError, match="before a <Header>"):
        parse_cin_census(tmp_path / "h.xml", "2024-25", "318")


def _big_xml(path, n):
    child = ("<Child><ChildIdentifiers><LAchildID>C{i:07d}</LAchildID><PersonBirthDate>2012-06-03</PersonBirthDate>"
             "<Sex>F</Sex></ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity><Disabilities>"
             "<Disability>NONE</Disability></Disabilities></ChildCharacteristics><CINdetails>"
             "<CINreferralDate>2024-05-01</CINreferralDate><ReferralSource>2A</ReferralSource>"
             "<PrimaryNeedCode>N1</PrimaryNeedCode><Assessments><AssessmentActualStartDate>2024-05-02"
             "</AssessmentActualStartDate><FactorsIdentifiedAtAssessment><AssessmentFactors>3A</AssessmentFactors>"
             "</FactorsIdentifiedAtAssessment></Assessments><ReferralNFA>false</ReferralNFA></CINdetails></Child>\n")
    with open(path, "w") as f:
        f.write('<?xml version="1.0"?><Message><Header><CollectionDetails><Collection>CIN</Collection>'
                "<Year>2025</Year><ReferenceDate>2025-03-31</ReferenceDate></CollectionDetails><Source><LEA>318</LEA>"
                "</Source></Header><Children>\n")
        for i in range(n):
            f.write(child.format(i=i))
        f.write("</Children></Message>")


def test_streams_a_large_return(tmp_path):
    """50,000 children in one return are all read, in file order."""
    path = tmp_path / "big.xml"
    n = 50_000
    _big_xml(path, n)
    got = parse_cin_census(path, "2024-25", "318")
    assert got["cin_children"].height == n and got["cin_episodes"].height == n
    assert got["cin_children"]["la_child_id"][-1] == f"C{n - 1:07d}"
    assert got["cin_assessments"]["factors"].list.len().sum() == n


def test_does_not_hold_the_element_tree(tmp_path):
    """The parser's Python memory stays a fraction of the element tree's (both measured here with tracemalloc),
    because each child's elements are released once read. 10,000 children keep the traced run short."""
    path = tmp_path / "big.xml"
    n = 10_000
    _big_xml(path, n)
    gc.collect()
    tracemalloc.start()
    got = parse_cin_census(path, "2024-25", "318")
    stream_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got["cin_children"].height == n
    del got
    gc.collect()
    tracemalloc.start()
    tree = ET.parse(path)
    tree_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(tree.getroot().find("Children")) == n
    assert stream_peak < tree_peak / 3, (stream_peak, tree_peak)
