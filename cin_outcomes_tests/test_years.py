import datetime as dt

import pytest

from cin_outcomes.years import ReportingYear, year_range


@pytest.mark.parametrize("spelling", ["2024-25", "202425", "2024-04-01", "2024", 2024])
def test_every_spelling_means_the_year_ending_31_march_2025(spelling):
    y = ReportingYear.parse(spelling)
    assert (y.label, y.time_period, y.partition_key, y.end_year) == ("2024-25", "202425", "2024-04-01", 2025)
    assert (y.start_date, y.end_date) == (dt.date(2024, 4, 1), dt.date(2025, 3, 31))


def test_century_wrap_and_bad_years():
    assert ReportingYear.parse("1999-00").time_period == "199900"
    with pytest.raises(ValueError, match="does not follow"):
        ReportingYear.parse("2024-26")
    with pytest.raises(ValueError, match="not a reporting year"):
        ReportingYear.parse("24/25")


def test_school_census_is_third_thursday_of_january():
    # January 2025: Thursdays fall on 2, 9, 16 -> census day 16 January 2025
    assert ReportingYear(2024).school_census_date == dt.date(2025, 1, 16)
    assert ReportingYear(2024).school_census_date.weekday() == 3


def test_year_range_is_inclusive():
    assert [y.label for y in year_range("2018-19", "2020-21")] == ["2018-19", "2019-20", "2020-21"]
    with pytest.raises(ValueError):
        year_range("2020-21", "2018-19")
