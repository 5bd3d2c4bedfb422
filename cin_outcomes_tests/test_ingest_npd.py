"""NPD pupil modules: typed read, wrong columns or types reported by file and column, module checks."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cin_outcomes.ingest import IngestError, validate_table
from cin_outcomes.ingest.npd import npd_path, read_npd_module
from cin_outcomes.synthetic.npd_columns import MODULES

D = dt.date


def school_census(year_label: str = "2024/25") -> pl.DataFrame:
    """Two pupils on roll at the spring census: one in year 6 on SEN support, one in year 10 without SEN."""
    rows = [
        {"AcademicYear": year_label, "CensusDate": D(2025, 1, 16), "UPN": "B318200012001", "LA": "318",
         "LAESTAB": 3182001, "URN": 102900, "PhaseType": "State-funded primary",
         "TypeOfEstablishment": "Community school", "AcademyFlag": False, "EnrolStatus": "C",
         "EntryDate": D(2019, 9, 4), "NCyearActual": "6", "AgeAtStartOfAcademicYear": 10, "YearOfBirth": 2014,
         "MonthOfBirth": 3, "Gender": "F", "EthnicGroupMinor": "WBRI", "EthnicGroupMajor": "WHIT",
         "SENprovision": "K", "PrimarySENtype": "SLCN", "FSMeligible": True, "EVERFSM_6": True},
        {"AcademicYear": year_label, "CensusDate": D(2025, 1, 16), "UPN": "Q318200012002", "LA": "319",
         "LAESTAB": 3194001, "URN": 137000, "PhaseType": "State-funded secondary",
         "TypeOfEstablishment": "Academy converter", "AcademyFlag": True, "EnrolStatus": "C",
         "EntryDate": D(2021, 9, 2), "NCyearActual": "10", "AgeAtStartOfAcademicYear": 14, "YearOfBirth": 2010,
         "MonthOfBirth": 1, "Gender": "M", "EthnicGroupMinor": "BAFR", "EthnicGroupMajor": "BLAC",
         "SENprovision": "N", "PrimarySENtype": None, "FSMeligible": False, "EVERFSM_6": False},
    ]
    return pl.DataFrame(rows, schema=MODULES["school_census"])


def test_module_round_trip(tmp_path):
    df = school_census()
    path = npd_path(tmp_path, "2024-25", "school_census")
    path.parent.mkdir(parents=True)
    df.write_parquet(path)
    got = read_npd_module(path, "school_census")
    assert_frame_equal(got, df)
    assert validate_table("npd_school_census", got, year="2024-25").passed


def test_types_are_restored_when_values_fit(tmp_path):
    df = school_census().with_columns(pl.col("URN").cast(pl.Int64), pl.col("MonthOfBirth").cast(pl.Int64))
    df.select(reversed(df.columns)).write_parquet(tmp_path / "m.parquet")  # column order is free
    assert_frame_equal(read_npd_module(tmp_path / "m.parquet", "school_census"), school_census())


@pytest.mark.parametrize("change,column", [
    (lambda d: d.drop("FSMeligible"), "FSMeligible"),
    (lambda d: d.with_columns(pl.lit(1).alias("Extra")), "Extra"),
    (lambda d: d.with_columns(pl.lit("x").alias("URN")), "URN"),
])
def test_wrong_columns_or_types_name_file_and_column(tmp_path, change, column):
    change(school_census()).write_parquet(tmp_path / "school_census.parquet")
    with pytest.raises(IngestError) as e:
        read_npd_module(tmp_path / "school_census.parquet", "school_census", display_name="2024-25/npd/x.parquet")
    assert e.value.problem.column == column and e.value.problem.fatal
    assert "2024-25/npd/x.parquet" in str(e.value)


def test_module_checks_locate_rows_without_values():
    bad = school_census().with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("X")).otherwise(pl.col("Gender")).alias("Gender"),
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("A318200012001")).otherwise(pl.col("UPN")).alias("UPN"),
    )
    out = validate_table("npd_school_census", bad, year="2024-25")
    assert out.counts == {"Gender: code not in the list": 1, "NPD UPN check letter wrong": 1}
    assert sorted((s["rule"], s["row"], s["file"]) for s in out.sample) == [
        ("Gender: code not in the list", 2, "2024-25/npd/school_census.parquet"),
        ("NPD UPN check letter wrong", 1, "2024-25/npd/school_census.parquet")]
    assert "A318200012001" not in str(out.sample)
    wrong_year = validate_table("npd_school_census", school_census("2023/24"), year="2024-25")
    assert wrong_year.counts == {"NPD academic year is not 2024/25": 2}
