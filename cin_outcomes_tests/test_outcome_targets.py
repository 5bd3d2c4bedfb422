"""The outcome targets derived from the published files (``scripts/derive_outcome_targets.py``).

The shipped tables must be what the script makes from the real files now, and their values must be the published
ones (read here straight from ``../shared/reference/published``), held or derived as documented.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import polars as pl
import pytest

from cin_outcomes.synthetic.education.targets import Targets, group_codes, la_effect_sd, outcome_targets

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT.parent / "shared" / "reference" / "published"


def _script():
    spec = importlib.util.spec_from_file_location("derive_outcome_targets", ROOT / "scripts" / "derive_outcome_targets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _national(file: str, tp: str, group: str, col: str, phase: str | None = None) -> float:
    df = pl.read_csv(PUBLISHED / file, infer_schema=False).filter(
        (pl.col("geographic_level") == "National") & (pl.col("time_period") == tp)
        & (pl.col("social_care_group") == group))
    if phase:
        df = df.filter(pl.col("phase_type_grouping") == phase)
    return float(df[col][0])


@pytest.fixture(scope="module")
def targets() -> pl.DataFrame:
    return outcome_targets()


def test_shipped_tables_are_what_the_script_makes(tmp_path):
    _script().main(["--published", str(PUBLISHED), "--out", str(tmp_path)])
    params = ROOT / "cin_outcomes" / "synthetic" / "params"
    for name in ("outcome_targets.csv", "la_spread.csv"):
        assert (tmp_path / name).read_bytes() == (params / name).read_bytes(), name


def test_published_values_are_carried_unchanged(targets):
    t = Targets(targets)
    assert t(2023, "CINO at 31 March", "ks4_att8") == _national("ks4_la.csv", "202324", "CINO at 31 March", "avg_att8")
    assert t(2024, "CLA 12 months at 31 March", "ks2_rwm_exp") == \
        _national("ks2_la.csv", "202425", "CLA 12 months at 31 March", "pt_rwm_met_expected_standard")
    assert t(2022, "CPPO at 31 March", "abs_pa10", "State-funded secondary") == _national(
        "absence_la.csv", "202223", "CPPO at 31 March", "pt_pupils_pa_10_exact", "State-funded secondary")
    assert t(2021, "CINO at 31 March", "sen_ehc") == \
        _national("sen_la.csv", "202122", "CINO at 31 March", "pt_statement_or_EHC_plan")
    assert t(2020, "CPPO at 31 March", "fsm") == _national("fsm_la.csv", "202021", "CPPO at 31 March", "pt_FSM_eligible")
    assert t(2016, "CLA 12 months at 31 March", "excl_susp") == _national(
        "permanent_exclusions_and_suspensions_la.csv", "201617", "CLA 12 months at 31 March", "pt_one_plus_sus")
    # school type: a share of t_pupils
    n = _national("school_type_la.csv", "202122", "CINO at 31 March", "t_pupils")
    sp = _national("school_type_la.csv", "202122", "CINO at 31 March", "t_special")
    assert t(2021, "CINO at 31 March", "school_special") == pytest.approx(100 * sp / n, abs=0.01)
    # all-pupils comparison figures of domain.md §5.4
    assert t(2024, "All pupils", "ks2_rwm_exp") == 62 and t(2022, "All pupils", "ks4_em94") == 65.1
    assert t(2023, "All pupils", "sen_ehc") == 4.7


def test_held_and_missing_years(targets):
    t = Targets(targets)
    # KS4 before 2018/19 holds 2018/19; SEN after 2021/22 holds 2021/22
    assert t(2014, "CINO at 31 March", "ks4_em95") == t(2018, "CINO at 31 March", "ks4_em95")
    assert t(2024, "CPPO at 31 March", "sen_support") == t(2021, "CPPO at 31 March", "sen_support")
    # exclusions after the pandemic hold the last pre-pandemic year
    assert t(2023, "CINO at 31 March", "excl_perm") == t(2018, "CINO at 31 March", "excl_perm")
    # not assessed: no KS2 targets in 2019-20 and 2020-21, no KS1 from 2023-24, no P8 in 2024-25
    assert t(2019, "CINO at 31 March", "ks2_read_exp") is None and t(2020, "All pupils", "ks2_rwm_exp") is None
    assert t(2023, "All pupils", "ks1_read_exp") is None and t(2024, "CINO at 31 March", "ks4_p8") is None
    bases = set(targets["basis"].unique().to_list())
    assert bases == {"published", "comparison", "held", "derived", "assumption"}
    assert targets.filter(pl.col("basis") == "published")["source"].str.contains("national row").all()


def test_derived_all_pupils_values_follow_the_groups_on_the_logit_scale(targets):
    t = Targets(targets)
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    groups = ("CINO at 31 March", "CPPO at 31 March", "CLA 12 months at 31 March")
    # 2018/19 KS2 reading: the 2021/22 comparison value moved by the groups' mean logit change 2021/22 -> 2018/19
    shift = sum(logit(t(2018, g, "ks2_read_exp") / 100) - logit(t(2021, g, "ks2_read_exp") / 100) for g in groups) / 3
    expect = 100 / (1 + math.exp(-(logit(0.75) + shift)))
    assert t(2018, "All pupils", "ks2_read_exp") == pytest.approx(expect, abs=0.01)
    row = targets.filter(pl.col("year") == "2018-19", pl.col("group") == "All pupils",
                         pl.col("measure") == "ks2_read_exp")
    assert row["basis"][0] == "derived"
    # CLA less than 12 months: KS4 from the 2018/19 ad-hoc gap; E&M 5+ 2018/19 is the published 5.1%
    assert t(2018, "CLA less than 12 months at 31 March", "ks4_em95") == pytest.approx(5.1, abs=0.01)


def test_la_spread_is_the_published_lea_rows(targets):
    from cin_outcomes.synthetic.education.targets import la_spread

    s = la_spread()
    att8 = s.filter(pl.col("measure") == "ks4_att8", pl.col("group") == "CINO at 31 March")
    assert att8["p50"][0] == pytest.approx(17.1, abs=0.05)  # domain.md §5.6
    assert 0.05 < la_effect_sd("attainment") < 0.4 and 0.05 < la_effect_sd("absence") < 0.4


def test_group_codes_take_the_highest_group_across_las():
    status = pl.DataFrame({"person_id": [1, 1, 2, 2], "year": [2020, 2020, 2020, 2021], "la_code": ["201", "202", "301", "301"],
                           "group": ["CINO at 31 March", "CLA 12 months at 31 March", "CPPO at 31 March",
                                     "CINO at 31 March"]})
    g = group_codes(status).sort("person_id", "year")
    assert g.rows() == [(1, 2020, "202", 4), (2, 2020, "301", 2), (2, 2021, "301", 1)]
