"""How close a synthetic England is to the real one: generated national figures against published figures.

Counts (children in need, on a child protection plan and looked after at 31 March) are computed from the generated
returns by the cohort rules of ``cin_outcomes.cohorts.rules`` — no other pipeline logic — and divided by the scale
to compare with England. Rates (KS2, KS4, absence by social care group, and all pupils) come from the education
model's own report. Tolerances (issue 2): counts within 5 %, rates within 3 percentage points, for 2018-19 to
2024-25 at scale 1.0; smaller scales carry sampling noise (small LAs especially) and are judged looser.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import polars as pl
from tqdm import tqdm

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.years import FIRST_PUBLISHED_YEAR, ReportingYear

COUNT_TOLERANCE = 0.05  # relative
RATE_TOLERANCE = 3.0  # percentage points
COUNT_MEASURES = {  # published national target column -> cohort flag of the rules
    "cin_at31": "cin_at31",
    "cpp_at31": "cpp_at31",
    "cla_at31": "cla_at31",
}
REPORT_COLUMNS = ["year", "measure", "group", "generated", "published", "difference", "unit", "within_tolerance"]


@lru_cache(maxsize=1)
def national_targets() -> pl.DataFrame:
    path = resources.files("cin_outcomes.synthetic").joinpath("params/national_targets.csv")
    with path.open("rb") as f:
        return pl.read_csv(f)


def year_counts(year: ReportingYear, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One year's national CIN, CPP and CLA at 31 March from that year's returns, by the cohort rules."""
    from cin_outcomes.cohorts.rules import national_count, per_year_membership

    m = per_year_membership(year, tables)
    return pl.DataFrame([{"year": year.label, "year_end": year.end_year, "measure": measure,
                          "generated_count": national_count(m.filter(pl.col(flag)))}
                         for measure, flag in COUNT_MEASURES.items()])


def count_report(cfg: SyntheticConfig, counts: pl.DataFrame) -> pl.DataFrame:
    """Generated counts scaled up to England against the published national counts."""
    t = national_targets().unpivot(index="year_end", variable_name="measure", value_name="published")
    r = counts.join(t, on=["year_end", "measure"], how="left").with_columns(
        (pl.col("generated_count") / cfg.scale).round(0).alias("generated"),
    ).with_columns(
        ((pl.col("generated") / pl.col("published") - 1) * 100).round(1).alias("difference"),
        pl.lit("%").alias("unit"), pl.lit("England").alias("group"),
    ).with_columns((pl.col("difference").abs() <= COUNT_TOLERANCE * 100).alias("within_tolerance"))
    return r.select(REPORT_COLUMNS)


def calibration_report(cfg: SyntheticConfig, progress: bool = True) -> pl.DataFrame:
    """The whole comparison for the years ``cfg`` covers, one row per year, measure and group."""
    from cin_outcomes.synthetic.education import Simulation, simulate, calibration_report as education_report
    from cin_outcomes.synthetic.generate import pupil_status
    from cin_outcomes.synthetic.population import build_population
    from cin_outcomes.synthetic.social_care import build_social_care

    with tqdm(total=4, desc="calibration", unit="stage", disable=not progress, leave=False) as bar:
        population = build_population(cfg)
        bar.update(1)
        counted: list[pl.DataFrame] = []  # each year's returns are counted as they are cut, then dropped
        sc = build_social_care(cfg, population, lambda year, tables: counted.append(year_counts(year, tables)))
        bar.update(1)
        counts = count_report(cfg, pl.concat(counted))
        bar.update(1)
        status = pupil_status(population, sc)
        sim = Simulation(cfg, population, status)
        del population, sc  # the simulation holds what it needs: at scale 1.0 this frees gigabytes
        rates = education_report(simulate(sim), status, None)
        bar.update(1)
    rates = rates.with_columns(
        pl.col("year").cast(pl.Utf8), (pl.col("difference").abs() <= RATE_TOLERANCE).alias("within_tolerance"),
        pl.lit("pp").alias("unit")).select(REPORT_COLUMNS) if "unit" not in rates.columns else rates.select(
        REPORT_COLUMNS)
    schema = {"year": pl.Utf8, "measure": pl.Utf8, "group": pl.Utf8, "generated": pl.Float64,
              "published": pl.Float64, "difference": pl.Float64, "unit": pl.Utf8, "within_tolerance": pl.Boolean}
    return pl.concat([counts.cast(schema), rates.cast(schema)]).sort("measure", "group", "year")


def format_report(report: pl.DataFrame, cfg: SyntheticConfig) -> str:
    """A plain-text table for the terminal, with a verdict for the published years."""
    published = report.filter(pl.col("year") >= ReportingYear(FIRST_PUBLISHED_YEAR).label)
    judged = published.filter(pl.col("published").is_not_null())
    ok = judged["within_tolerance"].sum()
    lines = [f"Synthetic England (scale {cfg.scale}, seed {cfg.seed}) against published national figures",
             f"counts: generated / scale vs published, difference in %; rates: difference in percentage points",
             ""]
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=140, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, float_precision=1):
        lines.append(str(report))
    lines.append("")
    lines.append(f"{ok} of {judged.height} published-year comparisons within tolerance "
                 f"(counts ±{COUNT_TOLERANCE:.0%}, rates ±{RATE_TOLERANCE:g} pp)"
                 + ("" if cfg.scale == 1.0 else "; tolerances are set for scale 1.0"))
    return "\n".join(lines)
