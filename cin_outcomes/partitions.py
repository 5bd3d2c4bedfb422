"""Year partitions: one partition per reporting year, a yearly window opening on 1 April (Europe/London).

The partition key is the window start (``2024-04-01`` = reporting year 2024-25, the year ending 31 March 2025);
everything a statistician reads shows the label ``2024-25`` or the EES time period ``202425`` instead
(:mod:`cin_outcomes.years`). Social care inputs and cohorts start five years before the first published year so
that every "Ever ... in the last 6 years" window is whole; published assets start at the first published year.
"""

from __future__ import annotations

import os

import dagster as dg

from cin_outcomes.years import FIRST_INPUT_YEAR, FIRST_PUBLISHED_YEAR, LAST_YEAR, ReportingYear

#: The last reporting year with data; raise it (or set CIN_OUTCOMES_LAST_YEAR=2025-26) when a new year lands.
LAST_DATA_YEAR = ReportingYear.parse(os.environ.get("CIN_OUTCOMES_LAST_YEAR", str(LAST_YEAR)))


def _years(first: int) -> dg.TimeWindowPartitionsDefinition:
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 4 *",
        start=ReportingYear(first).partition_key,
        end=(LAST_DATA_YEAR + 1).partition_key,  # exclusive: the window that has not been collected yet
        fmt="%Y-%m-%d",
        timezone="Europe/London",
    )


#: Every reporting year with inputs: 2013-14 onwards.
input_years = _years(FIRST_INPUT_YEAR)
#: Every published reporting year: 2018-19 onwards.
published_years = _years(FIRST_PUBLISHED_YEAR)

#: "Ever ... in the last 6 years": the year itself and the five before it.
EVER_6_YEARS = dg.TimeWindowPartitionMapping(start_offset=-5, end_offset=0)


def year_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext) -> ReportingYear:
    """The reporting year a partitioned step is computing."""
    return ReportingYear.parse(context.partition_key)
