"""Free school meals eligibility on the hand-built children (linkage_fixtures.py), figures by hand.

FSM is not published for children looked after: only CINO and CPPO (at 31 March and at any point) and the All
pupils comparison. Eligible on census day 2023/24: A, B, E (census) and S (AP census); not C_OLD, P, Q.
"""

from __future__ import annotations

import polars as pl
import pytest

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES, NOT_LOOKED_AFTER
from cin_outcomes_tests.linkage_fixtures import Y, census, cell, children
from cin_outcomes_tests.test_outcomes_sen import ap_rows

FSM = FAMILIES["fsm"]


@pytest.fixture(scope="module")
def ds() -> pl.DataFrame:
    return linked_dataset(FSM, children(), {"school_census": census(), "ap_census": ap_rows()}, Y)


def test_only_groups_without_looked_after_children(ds):
    assert set(FSM.groups) == set(NOT_LOOKED_AFTER)
    assert set(ds["social_care_group"].unique()) == {"CINO at 31 March", "CPPO at 31 March", "All pupils comparison"}


def test_eligibility(ds):
    agg = aggregate(ds, FSM.measures, levels=["National", "Local authority"])
    # CINO: A (once in England) and E, both eligible: 2 of 2. Richmond: A.
    c = cell(agg, "National", "CINO at 31 March")
    assert (c["t_pupils"], c["t_FSM_eligible"], c["pt_FSM_eligible"]) == (2, 2, 100.0)
    assert cell(agg, "Local authority", "CINO at 31 March", la="318")["t_FSM_eligible"] == 1
    assert cell(agg, "National", "CPPO at 31 March")["pt_FSM_eligible"] == 100.0
    # All pupils: A, B, E, S eligible of 7.
    a = cell(agg, "National", "All pupils comparison")
    assert (a["t_pupils"], a["t_FSM_eligible"]) == (7, 4) and a["pt_FSM_eligible"] == pytest.approx(400 / 7)
