"""The annual run: every autumn, build the reporting year that ended on the last 31 March.

DfE receives the CIN census and SSDA903 returns in the summer after 31 March, so the schedule runs at 06:00 on
1 October (Europe/London), not on 1 April when the year's window closes (which is what a schedule derived from
the partitions would do; dagster-notes §6). Revisions of earlier years do not wait for it: the landing sensor and
the revision automation handle them as they arrive.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from cin_outcomes.years import ReportingYear

ANNUAL_CRON = "0 6 1 10 *"
TIMEZONE = "Europe/London"


def last_ended_year(when: dt.datetime | dt.date) -> ReportingYear:
    """The latest reporting year whose 31 March is on or before ``when``."""
    return ReportingYear(when.year - 1 if when.month >= 4 else when.year - 2)


def build_annual_schedule(job: dg.UnresolvedAssetJobDefinition | dg.JobDefinition, partitions_def: dg.PartitionsDefinition,
                          name: str = "annual_autumn_run") -> dg.ScheduleDefinition:
    """A schedule running ``job`` once a year for the reporting year that last ended."""

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=ANNUAL_CRON,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Every 1 October at 06:00: builds the reporting year that ended on the previous 31 March "
            "(on 1 October 2025, the year 2024-25)."
        ),
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        year = last_ended_year(context.scheduled_execution_time)
        if not partitions_def.has_partition_key(year.partition_key):
            return dg.SkipReason(
                f"{year.label} is not yet a configured reporting year: set CIN_OUTCOMES_LAST_YEAR={year.label} "
                "once its returns have landed"
            )
        return dg.RunRequest(
            run_key=f"annual-{year.partition_key}",
            partition_key=year.partition_key,
            tags={"cin_outcomes/reporting_year": year.label},
        )

    return _schedule
