"""School type attended on the hand-built children (linkage_fixtures.py), figures by hand.

Spring census 2023/24, one record per pupil (E's subsidiary registration at a special academy is not used):
A primary (LA maintained), B secondary (academy), C_OLD secondary (academy), E primary (LA maintained),
P primary (academy), Q secondary (LA maintained).
"""

from __future__ import annotations

import pytest

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes_tests.linkage_fixtures import Y, census, cell, children

ST = FAMILIES["school_type"]


@pytest.fixture(scope="module")
def agg():
    ds = linked_dataset(ST, children(), {"school_census": census()}, Y)
    return aggregate(ds, ST.measures, by=["sex"], levels=["National", "Local authority"])


def _types(r):
    return r["t_pupils"], r["t_primary"], r["t_secondary"], r["t_special"], r["t_pru"], r["t_academy"], \
        r["t_la_maintained"]


def test_all_pupils(agg):
    a = cell(agg, "National", "All pupils comparison")
    assert _types(a) == (6, 3, 3, 0, 0, 3, 3)
    assert (a["pt_primary"], a["pt_special"], a["pt_academy"]) == (50.0, 0.0, 50.0)


def test_groups(agg):
    # CIN in England: A, B, C, E: primary A, E; secondary B, C; academies B, C.
    assert _types(cell(agg, "National", "CIN at 31 March")) == (4, 2, 2, 0, 0, 2, 2)
    # Birmingham CIN: C (secondary academy) and E (primary, LA maintained); D has no UPN.
    assert _types(cell(agg, "Local authority", "CIN at 31 March", la="330")) == (2, 1, 1, 0, 0, 1, 1)
    assert _types(cell(agg, "National", "CLA 12 months at 31 March")) == (1, 0, 1, 0, 0, 1, 0)
    # By sex: CIN female A, E (both primary).
    assert _types(cell(agg, "National", "CIN at 31 March", sex="Female")) == (2, 2, 0, 0, 0, 0, 2)
