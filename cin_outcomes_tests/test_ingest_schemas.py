"""Every rule check fails on a hand-made bad record and passes on the good return; results carry no identifiers."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from cin_outcomes import tables
from cin_outcomes.ingest import rules as R
from cin_outcomes.ingest.returns import SCHEMAS
from cin_outcomes.ingest.schemas import MODELS, validate_table
from cin_outcomes.ingest.ssda903 import asset_name
from cin_outcomes_tests.ingest_fixtures import cin_frames, ssda903_frames

D = dt.date


def _set(df: pl.DataFrame, row: int, **values) -> pl.DataFrame:
    """``df`` with the given columns replaced in one row."""
    out = df.to_dicts()
    out[row].update(values)
    return pl.DataFrame(out, schema=df.schema)


def _append(df: pl.DataFrame, **values) -> pl.DataFrame:
    row = {**df.to_dicts()[0], **values}
    return pl.concat([df, pl.DataFrame([row], schema=df.schema)])


def _cin(table, fn):
    frames = cin_frames()
    frames[table] = fn(frames[table])
    return table, frames


def _cla(table, fn, year="2024-25"):
    frames = {asset_name(t): df for t, df in ssda903_frames(year).items()}
    frames[table] = fn(frames[table])
    return table, frames


def _outcome(table, frames):
    return validate_table(table, frames[table], related=frames)


# rule, (table, frames with one bad record), expected failing rows (child records for CIN, CSV lines for 903)
CASES = [
    (R.CIN_8820, _cin("cin_episodes", lambda d: _set(d, 1, referral_date=D(2024, 9, 1))), [1]),
    (R.CIN_8805, _cin("cin_episodes", lambda d: _set(d, 0, closure_reason=None)), [1]),
    (R.CIN_8810, _cin("cin_episodes", lambda d: _set(d, 1, closure_reason="RC7")), [1]),
    (R.CIN_8600, _cin("cin_episodes", lambda d: _set(d, 3, referral_date=D(2025, 4, 1))), [3]),
    (R.CIN_8620, _cin("cin_episodes", lambda d: _set(d, 0, closure_date=D(2024, 3, 31))), [1]),
    (R.CIN_1105, _cin("child_protection_plans", lambda d: _set(d, 0, start_date=D(2024, 4, 30))), [1]),
    (R.CIN_8720, _cin("child_protection_plans", lambda d: _set(d, 0, start_date=D(2025, 4, 2))), [1]),
    (R.CIN_8930, _cin("child_protection_plans", lambda d: _set(d, 0, end_date=D(2025, 4, 1))), [1]),
    (R.CIN_4010, _cin("cin_plans", lambda d: _set(d, 0, start_date=None)), [3]),
    (R.CIN_4013, _cin("cin_plans", lambda d: _set(d, 0, end_date=D(2025, 4, 1))), [3]),
    (R.CIN_8715, _cin("section47", lambda d: _set(d, 0, icpc_date=D(2024, 3, 31))), [1]),
    (R.CIN_1510, _cin("cin_children", lambda d: _set(d, 0, upn="A318200012001")), [1]),
    (R.CIN_1520, _cin("cin_children", lambda d: _set(d, 2, upn="B318200012001")), [1, 3]),
    (R.CIN_8510, _cin("cin_children", lambda d: _set(d, 1, la_child_id="C0001")), [1, 2]),
    (R.CIN_1580, _cin("cin_children", lambda d: _set(d, 0, la_child_id="C-0001")), [1]),
    (R.CIN_8540, _cin("cin_children", lambda d: _set(d, 2, disabilities=["AUT", "XYZ"])), [3]),
    (R.CIN_8790, _cin("cin_children", lambda d: _set(d, 0, disabilities=["NONE", "LD"])), [1]),
    (R.CIN_8794, _cin("cin_children", lambda d: _set(d, 2, disabilities=["AUT", "AUT"])), [3]),
    (R.CIN_FACTORS, _cin("cin_assessments", lambda d: _set(d, 0, factors=["3A", "99Z"])), [1]),
    (R.CIN_8869, _cin("cin_assessments", lambda d: _set(d, 2, factors=["21", "3A"])), [3]),
    ("CIN 4220 ethnicity: code not in the list", _cin("cin_children", lambda d: _set(d, 1, ethnicity="WXYZ")), [2]),
    ("CIN 8568 referral_nfa: missing", _cin("cin_episodes", lambda d: _set(d, 2, referral_nfa=None)), [2]),
    ("CIN 1540/1550 upn: format", _cin("cin_children", lambda d: _set(d, 0, upn="I318200012001")), [1]),
    # SSDA903 episodes (lines): 2 CH1 open; 3 CH2 X1; 4 CH2 E13; 5 CH3 V3 respite; 6 CH4 open
    (R.LAC_501, _cla("cla_episodes", lambda d: _set(d, 2, decom=D(2024, 7, 15))), [4]),
    (R.LAC_501, _cla("cla_episodes", lambda d: _append(d, decom=D(2024, 9, 1), rne="P")), [7]),
    (R.LAC_388, _cla("cla_episodes", lambda d: _set(d, 1, dec=D(2024, 7, 31))), [3]),
    (R.LAC_388, _cla("cla_episodes", lambda d: _set(d, 1, rec="E4A")), [3]),
    (R.LAC_388, _cla("cla_episodes", lambda d: _set(d, 2, rec="X1")), [4]),
    (R.LAC_148, _cla("cla_episodes", lambda d: _set(d, 4, rec="E8")), [6]),
    (R.LAC_354, _cla("cla_episodes", lambda d: _set(d, 4, decom=D(2025, 4, 1))), [6]),
    (R.LAC_385, _cla("cla_episodes", lambda d: _set(d, 3, dec=D(2025, 4, 1))), [5]),
    (R.LAC_426, _cla("cla_episodes", lambda d: _set(_set(d, 1, ls="V3"), 2, ls="V4")), [3, 4]),
    (R.LAC_146, _cla("cla_episodes", lambda d: _set(d, 0, place="Z11")), [2]),
    (R.LAC_1510, _cla("cla_header", lambda d: _set(d, 0, upn="A318200012001")), [2]),
    (R.LAC_INT32, _cla("cla_header", lambda d: _set(d, 1, child="CH1")), [2, 3]),
    (R.LAC_UASC_UNIQUE, _cla("cla_uasc", lambda d: _append(d)), [2, 3]),
    ("903 143 rne: code not in the list", _cla("cla_episodes", lambda d: _set(d, 3, rne="X")), [5]),
    ("903 168 upn: format", _cla("cla_header", lambda d: _set(d, 1, upn="UN7")), [3]),
    ("903 180 sdq_score: out of range", _cla("cla_oc2", lambda d: _set(d, 0, sdq_score=41)), [2]),
]


@pytest.mark.parametrize("rule,case,rows", CASES, ids=[f"{c[0][:40]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fails_on_bad_record_and_passes_on_good(rule, case, rows):
    table, bad = case
    good = cin_frames() if not table.startswith("cla_") else {asset_name(t): df for t, df in
                                                              ssda903_frames().items()}
    ok = _outcome(table, good)
    assert ok.passed and ok.counts == {}
    out = _outcome(table, bad)
    assert not out.passed
    assert out.counts.get(rule) == len(rows), out.counts
    located = sorted(s["row"] for s in out.sample if s["rule"] == rule)
    assert located == rows
    unit = "line" if table.startswith("cla_") else "child record"
    assert {s["unit"] for s in out.sample if s["rule"] == rule} == {unit}
    assert {s["la_code"] for s in out.sample} == {"318"}


def test_episode_may_start_the_day_the_previous_closed():
    frames = cin_frames()
    frames["cin_episodes"] = _set(frames["cin_episodes"], 1, referral_date=D(2024, 9, 30))
    assert validate_table("cin_episodes", frames["cin_episodes"]).passed


def test_open_nfa_episode_does_not_make_an_overlap():
    frames = cin_frames()
    eps = _set(frames["cin_episodes"], 2, closure_date=None, closure_reason=None)  # C0002's NFA referral open
    eps = _append(eps, la_child_id="C0002", episode_number=2, referral_date=D(2025, 2, 1), referral_nfa=False,
                  closure_date=None, closure_reason=None)
    assert R.CIN_8820 not in validate_table("cin_episodes", eps).counts


def test_la_child_id_format_applies_from_2024_25():
    for year, fails in [("2023-24", False), ("2024-25", True)]:
        children = _set(cin_frames(year)["cin_children"], 0, la_child_id="C-0001")
        assert (R.CIN_1580 in validate_table("cin_children", children).counts) is fails


def test_place_codes_follow_the_year():
    ep = {asset_name(t): df for t, df in ssda903_frames("2025-26").items()}["cla_episodes"]
    assert validate_table("cla_episodes", _set(ep, 0, place="Z11")).passed
    assert R.LAC_146 in validate_table("cla_episodes", _set(ep, 0, place="H5")).counts


def test_rules_are_counted_within_each_la_return():
    """The same child identifier in two LAs' returns is two children: no uniqueness failure."""
    a = cin_frames("2024-25", "318")["cin_children"]
    b = cin_frames("2024-25", "319")["cin_children"]
    out = validate_table("cin_children", pl.concat([a, b]))
    assert out.passed
    both = pl.concat([a, _set(b, 1, la_child_id="C0001")])
    out = validate_table("cin_children", both, sources={"319": "2024-25/319/cin_census.xml"})
    assert out.counts == {R.CIN_8510: 2}
    assert {(s["la_code"], s["row"], s["file"]) for s in out.sample} == {
        ("319", 1, "2024-25/319/cin_census.xml"), ("319", 2, "2024-25/319/cin_census.xml")}


def test_results_carry_no_identifiers():
    frames = cin_frames()
    children = frames["cin_children"]
    bad = _set(_set(children, 0, upn="A318200012001", ethnicity="XXXX"), 1, la_child_id="C0003")
    out = validate_table("cin_children", bad, related=frames)
    assert not out.passed
    assert all(set(s) == {"rule", "la_code", "file", "unit", "row"} for s in out.sample)
    text = json.dumps({"counts": out.counts, "sample": out.sample}) + out.summary()
    for value in [*children["la_child_id"].to_list(), "A318200012001", "B318200012001", "XXXX", "2012-06-03"]:
        assert value not in text


def test_wrong_columns_and_types_are_reported_by_column_name():
    df = ssda903_frames()["Episodes"].drop("urn").with_columns(pl.col("decom").cast(pl.Utf8))
    out = validate_table("cla_episodes", df)
    assert out.counts["urn: column missing"] == 1
    assert out.counts["903 141 decom: type"] == 1


def test_cpp_needs_its_episodes():
    frames = cin_frames()
    with pytest.raises(ValueError, match="1105"):
        validate_table("child_protection_plans", frames["child_protection_plans"])


def test_models_match_the_canonical_schemas():
    assert set(MODELS) == set(SCHEMAS)
    for name, model in MODELS.items():
        schema = model.to_schema()
        assert list(schema.columns) == list(SCHEMAS[name]), name
        for col, dtype in SCHEMAS[name].items():
            assert schema.columns[col].dtype.type == dtype, (name, col)
    assert SCHEMAS["cla_episodes"] == tables.CLA_EPISODES
