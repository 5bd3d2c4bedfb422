"""``cin-outcomes run`` on a small synthetic England: every year of every layer builds, every check passes, and the
publication holds EES files that pass the screener and carry no child-level data."""

import os
import re
from pathlib import Path

import polars as pl
import pytest

from cin_outcomes.publication.screener import screen
from cin_outcomes.run import format_summary, run_pipeline
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.generate import generate

pytestmark = pytest.mark.slow
LAS = ("202", "318", "850")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    landing = root / "landing"
    generate(SyntheticConfig(scale=0.003, seed=5, only_las=LAS), landing, progress=False)
    saved = {k: os.environ.get(k) for k in ("CIN_OUTCOMES_LANDING", "CIN_OUTCOMES_WAREHOUSE",
                                            "CIN_OUTCOMES_OUTPUT", "DAGSTER_HOME")}
    try:
        summary = run_pipeline(landing=landing, warehouse=root / "warehouse", output=root / "output",
                               dagster_home=root / "dagster_home", scale=0.003, seed=5, progress=False, workers=2)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return summary, landing


def test_every_year_of_every_layer_builds(built):
    summary, _ = built
    assert not summary.generated  # the landing folder was reused, not regenerated
    assert summary.ok, format_summary(summary)
    years = {layer.name: layer.years_ok for layer in summary.layers}
    assert len(years["social care: ingest and cohorts"]) == 12
    assert years["outcomes and tables"] == [f"{y}-{(y + 1) % 100:02d}" for y in range(2018, 2025)]
    assert years["publication"] == ["all years"]


def test_publication_files_pass_the_screener(built):
    summary, _ = built
    pub = summary.output / "publication"
    data = sorted(p for p in pub.glob("*.csv") if not p.name.endswith(".meta.csv"))
    assert {"ks2_la.csv", "ks4_la.csv", "absence_la.csv", "sen_la.csv", "match_rates.csv"} <= {p.name for p in data}
    assert (pub / "data-guidance.txt").is_file()
    for p in data:
        result = screen(p, p.with_name(p.stem + ".meta.csv"), harmonised=not p.name.startswith("sen_"))
        assert result.passed, f"{p.name}: {result.rules_failed()}"


def test_no_child_level_data_leaves_the_warehouse(built):
    summary, landing = built
    upns = set(pl.read_parquet(landing / "2024-25" / "npd" / "school_census.parquet")["UPN"].head(2000))
    upn = re.compile(r"[A-HJ-NP-RT-Z]\d{12}")
    date = re.compile(r"\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}")
    for p in (summary.output / "publication").rglob("*"):
        if p.is_file():
            text = p.read_text(errors="ignore")
            assert not upn.search(text), p.name
            assert not (set(upn.findall(text)) & upns)
            if p.suffix == ".csv":
                assert not date.search(text), p.name
