"""Phonics screening check on the hand-built children (linkage_fixtures.py), figures by hand.

Records 2023/24: A year 1 met (Wa); E year 1 working towards (Wt); P year 1 absent (A); C_OLD year 1 disapplied
(D); Q year 2 retake, met (not a year 1 pupil: not in the year 1 measure). Every year 1 pupil with an outcome is
in the denominator, absent and disapplied included.
"""

from __future__ import annotations

import pytest

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes_tests.linkage_fixtures import UPN, Y, census, cell, children, module

PH = FAMILIES["phonics"]


@pytest.fixture(scope="module")
def agg():
    rows = module("phonics", [dict(PHON_ACADYR="2023/24", PHON_UPN=u, PHON_LAESTAB=1, PHON_URN=1, PHON_SEX="F",
                                   PHON_NCYEAR=y, PHON_OUTCOME=o, PHON_MARK=m)
                              for u, y, o, m in ((UPN["A"], "1", "Wa", 35), (UPN["E"], "1", "Wt", 20),
                                                 (UPN["P"], "1", "A", None), (UPN["C_OLD"], "1", "D", None),
                                                 (UPN["Q"], "2", "Wa", 33))])
    ds = linked_dataset(PH, children(), {"school_census": census(), "phonics": rows}, Y)
    return aggregate(ds, PH.measures, levels=["National", "Local authority"])


def _f(r):
    return r["t_phonics_eligible_pupils"], r["t_phonics_met_expected_standard"], r["pt_phonics_met_expected_standard"]


def test_year_1_check(agg):
    # All pupils: A, E, P, C in year 1; A met: 1 of 4.
    assert _f(cell(agg, "National", "All pupils comparison")) == (4, 1, 25.0)
    # CIN: A (once), C (disapplied), E: 1 of 3. CINO: A, E: 1 of 2; Birmingham's CINO: E, 0 of 1.
    n, m, p = _f(cell(agg, "National", "CIN at 31 March"))
    assert (n, m) == (3, 1) and p == pytest.approx(100 / 3)
    assert _f(cell(agg, "National", "CINO at 31 March")) == (2, 1, 50.0)
    assert _f(cell(agg, "Local authority", "CINO at 31 March", la="330")) == (1, 0, 0.0)
    assert _f(cell(agg, "National", "CLA at 31 March")) == (1, 0, 0.0)
