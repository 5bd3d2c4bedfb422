"""Revisions on a small synthetic England: the generator's returns, the code location's own ingest and cohort
layers, the landing sensor and the revision automation, tick by tick as the daemon runs them.

Resubmitting one LA's 2019-20 CIN return re-runs ingest 2019-20, the at-31-March and at-any-point cohorts for
2019-20 only, and the Ever-6 cohorts for 2019-20 to 2024-25 only; re-delivering identical files re-runs nothing.
"""

import datetime as dt

import polars as pl
import pytest

from cin_outcomes.ingest.cin_census import parse_cin_census
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.generate import generate
from cin_outcomes.synthetic.writers.cin_xml import write_cin_census
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.test_revisions import AT31, YEARS, RealPipeline, add_rows

pytestmark = pytest.mark.slow
LAS = ("318", "202")


def test_resubmitted_synthetic_return_recomputes_only_what_depends_on_it(tmp_path):
    p = RealPipeline(tmp_path)
    generate(SyntheticConfig(scale=0.002, seed=3, only_las=LAS), p.landing, progress=False)

    # Every year lands: the sensor ingests it, the automation builds every cohort of every year.
    assert p.sensor_tick() == {pk: True for pk in YEARS}
    assert p.automation_ticks() == {k: set(YEARS) for k in p.cohorts}
    before = p.value(AT31, "2019-04-01").filter(pl.col("la_code") == "318").height

    # LA 318 resubmits 2019-20 with one more child in need, referred in June 2019 and open at 31 March 2020.
    y = ReportingYear(2019)
    path = p.landing / y.label / "318" / "cin_census.xml"
    tables = parse_cin_census(path, y, "318")
    tables = add_rows(tables, "cin_children", [{
        "la_child_id": "RESUB0001", "upn_unknown": "UN1", "birth_date": dt.date(2016, 2, 2), "sex": "M",
        "ethnicity": "WBRI", "disabilities": ["NONE"]}])
    tables = add_rows(tables, "cin_episodes", [{
        "la_child_id": "RESUB0001", "episode_number": 1, "referral_date": dt.date(2019, 6, 3),
        "referral_source": "2A", "primary_need": "N1", "referral_nfa": False}])
    write_cin_census(tables, y, "318", path)
    p.assert_2019_20_resubmission_recomputes_only_its_years()
    assert p.value(AT31, "2019-04-01").filter(pl.col("la_code") == "318").height == before + 1

    # The same files again (every year, every LA, the NPD modules): nothing runs.
    for f in sorted(p.landing.rglob("*")):
        if f.is_file() and f.name != "SYNTHETIC.json":
            f.write_bytes(f.read_bytes())
    assert p.sensor_tick() == {}
    assert p.automation_ticks() == {}
