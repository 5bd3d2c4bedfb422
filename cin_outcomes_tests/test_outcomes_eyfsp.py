"""Early years foundation stage profile on the hand-built children (linkage_fixtures.py), figures by hand.

2021 framework (2023/24): 17 early learning goals, 1 emerging / 2 expected. GLD = expected in the 12 goals of
communication and language, PSED, physical development, literacy and maths (E01-E12). Communication and
language and literacy = E01, E02, E08, E09, E10.

| pupil | goals at the expected level                        | count | GLD | all 17 | CLL |
|-------|----------------------------------------------------|-------|-----|--------|-----|
| A     | all                                                | 17    | yes | yes    | yes |
| C_OLD | all but E13 (understanding the world)              | 16    | yes | no     | yes |
| E     | all but E09 (literacy: word reading)               | 16    | no  | no     | no  |
| P     | E01-E05 only                                       | 5     | no  | no     | no  |
"""

from __future__ import annotations

import pytest

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.synthetic.npd_columns import ELGS_2012, ELGS_2021
from cin_outcomes.linkage.children import cohort_children
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.linkage_fixtures import UPN, Y, census, cell, children, cohort_frame, module

EY = FAMILIES["eyfsp"]


def _row(upn, below=(), first_n=None, gld=False, ay="2023/24", cols=ELGS_2021, levels=(1, 2)):
    low, ok = levels
    vals = {c: (ok if (first_n is None or i < first_n) and c not in below else low) for i, c in enumerate(cols)}
    return dict(FSP_ACADYR=ay, FSP_UPN=upn, FSP_LAESTAB=1, FSP_URN=1, FSP_SEX="F", FSP_GLD=gld, **vals)


@pytest.fixture(scope="module")
def agg():
    rows = module("eyfsp", [
        _row(UPN["A"], gld=True), _row(UPN["C_OLD"], below=("FSP_UTW_E13",), gld=True),
        _row(UPN["E"], below=("FSP_LIT_E09",)), _row(UPN["P"], first_n=5),
    ])
    ds = linked_dataset(EY, children(), {"school_census": census(), "eyfsp": rows}, Y)
    return aggregate(ds, EY.measures, levels=["National", "Local authority"])


def _f(r):
    return r["t_pupils"], r["t_gld"], r["t_elg"], r["t_elgs_expected"], r["t_comm_lang_lit"]


def test_all_pupils(agg):
    a = cell(agg, "National", "All pupils comparison")
    # GLD A, C (2 of 4); all goals A; goals 17 + 16 + 16 + 5 = 54, average 13.5; CLL A, C.
    assert _f(a) == (4, 2, 1, 54.0, 2)
    assert (a["pt_gld"], a["pt_elg"], a["avg_elgs"], a["pt_comm_lang_lit"]) == (50.0, 25.0, 13.5, 50.0)


def test_groups(agg):
    # CIN: A (once), C, E: GLD 2 of 3; goals 17 + 16 + 16 = 49, average 16.33.
    c = cell(agg, "National", "CIN at 31 March")
    assert _f(c) == (3, 2, 1, 49.0, 2)
    assert c["avg_elgs"] == pytest.approx(49 / 3) and c["pt_gld"] == pytest.approx(200 / 3)
    # CINO: A, E: GLD 1 of 2, average 16.5; in Birmingham E alone: no GLD (0%), 16 goals.
    assert (cell(agg, "National", "CINO at 31 March")["pt_gld"],
            cell(agg, "National", "CINO at 31 March")["avg_elgs"]) == (50.0, 16.5)
    e = cell(agg, "Local authority", "CINO at 31 March", la="330")
    assert (e["pt_gld"], e["avg_elgs"], e["pt_comm_lang_lit"]) == (0.0, 16.0, 0.0)


def test_2012_framework_counts_exceeding_as_at_least_expected():
    y = ReportingYear(2018)
    kids = cohort_children({"cino_at_31_march": cohort_frame(["A202", "E"], y)}, y)
    # A exceeding (3) in every goal: 17 goals, CLL. E expected in all but LIT_G09: 16 goals, no CLL.
    rows = module("eyfsp", [_row(UPN["A"], ay="2018/19", cols=ELGS_2012, levels=(1, 3), gld=True),
                            _row(UPN["E"], below=("FSP_LIT_G09",), ay="2018/19", cols=ELGS_2012)])
    ds = linked_dataset(EY, kids, {"school_census": census("2018/19"), "eyfsp": rows}, y)
    c = cell(aggregate(ds, EY.measures, levels=["National"]), "National", "CINO at 31 March")
    assert _f(c) == (2, 1, 1, 33.0, 1)
