"""The SSDA903 CSV writer: exact column sets, dd/mm/YYYY dates, the code lists of each year, which tables are
written, a round trip back to the canonical tables, and byte-identical files from two runs."""

from __future__ import annotations

import csv
import re

import polars as pl
import pytest

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import build_population
from cin_outcomes.synthetic.social_care import build_social_care
from cin_outcomes.synthetic.writers.ssda903 import write_ssda903
from cin_outcomes.tables import SSDA903_TABLES, ssda903_csv_columns
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.code_lists import ETHNICITY_CODES
from cin_outcomes_tests.test_social_care import FEW_LAS, small_england

# the DfE code lists (lac_validator rules 101-178, 1009, 167, 1006, 131-133, SW13STG1; lac2024_25 PLACE list)
CODES = {
    "ETHNIC": ETHNICITY_CODES,
    "RNE": {"S", "P", "L", "T", "U", "B"},
    "LS": {"C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3"},
    "CIN": {f"N{i}" for i in range(1, 9)},
    "PLACE": {
        "A3",
        "A4",
        "A5",
        "A6",
        "H5",
        "K1",
        "K2",
        "P1",
        "P2",
        "P3",
        "R1",
        "R2",
        "R3",
        "R5",
        "S1",
        "T0",
        "T1",
        "T2",
        "T3",
        "T4",
        "U1",
        "U2",
        "U3",
        "U4",
        "U5",
        "U6",
        "Z1",
    },
    "PLACE_PROVIDER": {"PR0", "PR1", "PR2", "PR3", "PR4", "PR5"},
    "REC": {
        "E11",
        "E12",
        "E2",
        "E3",
        "E4A",
        "E4B",
        "E13",
        "E41",
        "E45",
        "E46",
        "E47",
        "E48",
        "E5",
        "E6",
        "E7",
        "E8",
        "E9",
        "E14",
        "E15",
        "E16",
        "E17",
        "X1",
    },
    "REASON_PLACE_CHANGE": {
        "CARPL",
        "CLOSE",
        "ALLEG",
        "STAND",
        "APPRR",
        "CREQB",
        "CREQO",
        "CHILD",
        "LAREQ",
        "PLACE",
        "CUSTOD",
        "OTHER",
    },
    "REVIEW_CODE": {f"PN{i}" for i in range(8)},
    "MISSING": {"M", "A"},
    "IN_TOUCH": {"YES", "NO", "DIED", "REFU", "NREQ", "RHOM"},
    "ACTIV": {"F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5", "G4", "G5", "G6", "0"},
    "ACCOM": {
        "B1",
        "B2",
        "C1",
        "C2",
        "D1",
        "D2",
        "E1",
        "E2",
        "G1",
        "G2",
        "H1",
        "H2",
        "K1",
        "K2",
        "R1",
        "R2",
        "S2",
        "T1",
        "T2",
        "U1",
        "U2",
        "V1",
        "V2",
        "W1",
        "W2",
        "X2",
        "Y1",
        "Y2",
        "Z1",
        "Z2",
        "0",
    },
    "SDQ_REASON": {"SDQ1", "SDQ2", "SDQ3", "SDQ4", "SDQ5"},
    "PREV_PERM": {"P1", "P2", "P3", "P4", "Z1"},
    "SEX_ADOPTR": {"M1", "F1", "MM", "FF", "MF"},
    "LS_ADOPTR": {"L0", "L11", "L12", "L2", "L3", "L4"},
    "SW_REASON": {"MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN", "PCCHAN", "SWDIED", "OTHERS"},
    "FOSTER_CARE": {"0", "1"},
    "NB_ADOPTR": {"1", "2"},
    "MOTHER": {"0", "1"},
}
UPN = re.compile(r"^[A-HJ-NP-RT-Z]\d{12}$|^[A-HJ-NP-RT-Z]\d{11}[A-Z]$|^UN[1-5]$")
DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


@pytest.fixture(scope="module")
def few():
    return small_england(0.004, 5, FEW_LAS)


def _read(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("label", ["2016-17", "2023-24", "2024-25"])
def test_column_sets_dates_and_code_lists(few, tmp_path, label):
    _, _, sc = few
    year = ReportingYear.parse(label)
    files = write_ssda903(sc.tables, year, "886", tmp_path)
    names = {p.stem for p in files}
    assert {"Header", "Episodes"} <= names and ("SWEpisodes" in names) == (year.start >= 2023)
    sex = {"M", "F", "U"} if year.start >= 2024 else {"1", "2"}
    for path in files:
        rows = _read(path)
        header, body = rows[0], rows[1:]
        assert header == ssda903_csv_columns(path.stem), path.stem
        expected = sc.tables[path.stem].filter((pl.col("reporting_year") == label) & (pl.col("la_code") == "886"))
        assert len(body) == expected.height
        dates = [
            i
            for i, (c, t) in enumerate(
                (c, t) for c, t in SSDA903_TABLES[path.stem].items() if c not in ("reporting_year", "la_code")
            )
            if t == pl.Date
        ]
        for row in body:
            for i in dates:
                assert row[i] == "" or DATE.match(row[i]), (path.stem, header[i], row[i])
            for col, value in zip(header, row):
                if col in CODES and value:
                    assert value in CODES[col], (path.stem, col, value)
                if col == "SEX":
                    assert value in sex
                if col == "UPN" and path.stem == "Header":
                    assert UPN.match(value), value
                if col in ("HOME_POST", "PL_POST") and value:
                    assert re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", value), value


def test_only_tables_with_rows_are_written_except_header_and_episodes(few, tmp_path):
    _, _, sc = few
    files = write_ssda903(sc.tables, ReportingYear.parse("2024-25"), "999", tmp_path)
    assert sorted(p.stem for p in files) == ["Episodes", "Header"]
    for p in files:
        assert _read(p) == [ssda903_csv_columns(p.stem)]
    small = write_ssda903(sc.tables, ReportingYear.parse("2016-17"), "201", tmp_path / "201")
    for p in small:
        assert len(_read(p)) > 1 or p.stem in ("Header", "Episodes")


def test_round_trip_to_the_canonical_tables(few, tmp_path):
    """Reading the CSVs back with the canonical types gives the table rows for the LA and year."""
    _, _, sc = few
    label, la = "2022-23", "940"
    for path in write_ssda903(sc.tables, ReportingYear.parse(label), la, tmp_path):
        schema = {c: t for c, t in SSDA903_TABLES[path.stem].items() if c not in ("reporting_year", "la_code")}
        raw = pl.read_csv(path, infer_schema=False)
        back = raw.select(
            [
                (
                    pl.col(c.upper()).str.to_date("%d/%m/%Y")
                    if t == pl.Date
                    else (
                        pl.col(c.upper()).str.replace_all("^1$", "M").str.replace_all("^2$", "F")
                        if c == "sex"
                        else pl.col(c.upper()).cast(t)
                    )
                ).alias(c)
                for c, t in schema.items()
            ]
        )
        want = (
            sc.tables[path.stem]
            .filter((pl.col("reporting_year") == label) & (pl.col("la_code") == la))
            .drop("reporting_year", "la_code")
        )
        sort = [c for c in ("child", "decom", "review", "mis_start", "sw_decom") if c in want.columns]
        assert back.sort(sort, nulls_last=True).equals(want.sort(sort, nulls_last=True)), path.stem


def test_same_seed_and_scale_give_byte_identical_files(few, tmp_path):
    _, _, sc = few
    cfg2 = SyntheticConfig(scale=0.004, seed=5, only_las=FEW_LAS)
    sc2 = build_social_care(cfg2, build_population(cfg2))
    for label in ("2019-20", "2023-24"):
        for la in ("886", "941"):
            a = write_ssda903(sc.tables, ReportingYear.parse(label), la, tmp_path / "a" / label / la)
            b = write_ssda903(sc2.tables, ReportingYear.parse(label), la, tmp_path / "b" / label / la)
            assert [p.name for p in a] == [p.name for p in b]
            for pa, pb in zip(a, b):
                assert pa.read_bytes() == pb.read_bytes(), pa.name


def test_the_year_writer_gives_the_same_files_as_the_per_la_writer(few, tmp_path):
    from cin_outcomes.synthetic.writers.ssda903 import write_ssda903_year

    _, _, sc = few
    year = ReportingYear.parse("2024-25")
    las = [*FEW_LAS, "999"]
    bulk = write_ssda903_year(sc.tables, year, las, lambda la: tmp_path / "year" / la)
    one = [p for la in las for p in write_ssda903(sc.tables, year, la, tmp_path / "one" / la)]
    assert sorted(p.relative_to(tmp_path / "year") for p in bulk) == sorted(
        p.relative_to(tmp_path / "one") for p in one
    )
    for p in bulk:
        assert p.read_bytes() == (tmp_path / "one" / p.relative_to(tmp_path / "year")).read_bytes()
