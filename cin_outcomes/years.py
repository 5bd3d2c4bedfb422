"""Reporting years: 1 April to 31 March, shown to people as ``2024-25`` and to EES as ``202425``.

One value type, :class:`ReportingYear`, converts between every spelling the project meets: the label a
statistician reads (``2024-25``), the EES ``time_period`` (``202425``), the Dagster partition key (the window
start, ``2024-04-01``), the landing folder name (the label) and the collection ``Year`` of the CIN census XML
(the year the census ends, ``2025``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

#: First reporting year of social care inputs: five years before the first published year, so that every
#: "Ever ... in the last 6 years" window of a published year is whole.
FIRST_INPUT_YEAR = 2013
#: First and last reporting years of the published time series.
FIRST_PUBLISHED_YEAR = 2018
LAST_YEAR = 2024

_LABEL = re.compile(r"^(\d{4})-(\d{2})$")
_PERIOD = re.compile(r"^(\d{4})(\d{2})$")
_KEY = re.compile(r"^(\d{4})-04-01$")


@dataclass(frozen=True, order=True)
class ReportingYear:
    """The reporting year that starts on 1 April of ``start``."""

    start: int

    @classmethod
    def parse(cls, value: str | int | "ReportingYear") -> "ReportingYear":
        """Accept ``2024-25``, ``202425``, ``2024-04-01`` (partition key) or the start year ``2024``."""
        if isinstance(value, ReportingYear):
            return value
        if isinstance(value, int):
            return cls(value)
        s = str(value).strip()
        for pat in (_LABEL, _PERIOD):
            m = pat.match(s)
            if m:
                y, z = int(m.group(1)), int(m.group(2))
                if (y + 1) % 100 != z:
                    raise ValueError(f"{value!r} is not a reporting year: {z:02d} does not follow {y}")
                return cls(y)
        m = _KEY.match(s)
        if m:
            return cls(int(m.group(1)))
        if re.fullmatch(r"\d{4}", s):
            return cls(int(s))
        raise ValueError(f"{value!r} is not a reporting year; write it as 2024-25, 202425 or 2024-04-01")

    @property
    def label(self) -> str:
        """``2024-25``: how the year is shown everywhere a statistician reads it."""
        return f"{self.start}-{(self.start + 1) % 100:02d}"

    @property
    def time_period(self) -> str:
        """EES ``time_period`` for an academic or reporting year spanning two calendar years: ``202425``."""
        return f"{self.start}{(self.start + 1) % 100:02d}"

    @property
    def partition_key(self) -> str:
        """Dagster partition key: the window start, ``2024-04-01``."""
        return f"{self.start}-04-01"

    @property
    def end_year(self) -> int:
        """Calendar year in which the reporting year ends (the CIN census ``Year``)."""
        return self.start + 1

    @property
    def start_date(self) -> dt.date:
        return dt.date(self.start, 4, 1)

    @property
    def end_date(self) -> dt.date:
        """31 March: the reference date of the returns."""
        return dt.date(self.start + 1, 3, 31)

    @property
    def academic_year_start(self) -> dt.date:
        """1 September of the academic year that ends this reporting year (2024/25 for 2024-25)."""
        return dt.date(self.start, 9, 1)

    @property
    def school_census_date(self) -> dt.date:
        """Spring school census day: the third Thursday of January."""
        jan1 = dt.date(self.start + 1, 1, 1)
        first_thu = jan1 + dt.timedelta(days=(3 - jan1.weekday()) % 7)
        return first_thu + dt.timedelta(days=14)

    def __add__(self, n: int) -> "ReportingYear":
        return ReportingYear(self.start + n)

    def __sub__(self, n: int) -> "ReportingYear":
        return ReportingYear(self.start - n)

    def __str__(self) -> str:
        return self.label


def year_range(first: str | int | ReportingYear, last: str | int | ReportingYear) -> list[ReportingYear]:
    """Every reporting year from ``first`` to ``last`` inclusive."""
    a, b = ReportingYear.parse(first), ReportingYear.parse(last)
    if b < a:
        raise ValueError(f"last year {b} is before first year {a}")
    return [ReportingYear(y) for y in range(a.start, b.start + 1)]
