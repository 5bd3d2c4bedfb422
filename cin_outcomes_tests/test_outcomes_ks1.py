"""Key stage 1 teacher assessment on the hand-built children (linkage_fixtures.py), figures by hand.

KS1 is statutory to 2022/23, so the children are taken in reporting year 2022-23. Records:

| pupil | reading | writing   | maths | science |
|-------|---------|-----------|-------|---------|
| A     | EXS     | WTS       | GDS   | EXS     |
| E     | WTS     | (missing) | EXS   | HNM     |
| P     | GDS     | EXS       | EXS   | EXS     |
"""

from __future__ import annotations

import pytest

from cin_outcomes.outcomes.aggregate import aggregate
from cin_outcomes.outcomes.datasets import linked_dataset
from cin_outcomes.outcomes.families import FAMILIES
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.linkage_fixtures import UPN, census, cell, children, module

KS1 = FAMILIES["ks1"]
Y22 = ReportingYear(2022)
TA = ("EXS", "GDS")


def _r(upn, read, wri, mat, sci):
    return dict(KS1_ACADYR="2022/23", KS1_UPN=upn, KS1_LAESTAB=1, KS1_URN=1, KS1_SEX="F", KS1_READOUTCOME=read,
                KS1_WRITOUTCOME=wri, KS1_MATOUTCOME=mat, KS1_SCIOUTCOME=sci, KS1_READEXP=read in TA,
                KS1_WRITEXP=wri in TA, KS1_MATEXP=mat in TA, KS1_SCIEXP=sci == "EXS")


@pytest.fixture(scope="module")
def agg():
    rows = module("ks1", [_r(UPN["A"], "EXS", "WTS", "GDS", "EXS"), _r(UPN["E"], "WTS", None, "EXS", "HNM"),
                          _r(UPN["P"], "GDS", "EXS", "EXS", "EXS")])
    ds = linked_dataset(KS1, children(Y22), {"school_census": census("2022/23"), "ks1": rows}, Y22)
    return aggregate(ds, KS1.measures, levels=["National", "Local authority"])


def _f(r, s):
    return r[f"t_{s}_eligible_pupils"], r[f"t_{s}_met_expected_standard"], r[f"pt_{s}_met_expected_standard"]


def test_all_pupils(agg):
    a = cell(agg, "National", "All pupils comparison")
    n, m, p = _f(a, "readta")
    assert (n, m) == (3, 2) and p == pytest.approx(200 / 3)          # A, P of A, E, P
    assert _f(a, "writta") == (2, 1, 50.0)                           # E missing; P
    assert _f(a, "matta") == (3, 3, 100.0)
    assert _f(a, "scita")[:2] == (3, 2)


def test_cino(agg):
    c = cell(agg, "National", "CINO at 31 March")                   # A (once) and E
    assert _f(c, "readta") == (2, 1, 50.0)
    assert _f(c, "writta") == (1, 0, 0.0)                            # only A assessed, working towards
    assert _f(c, "matta") == (2, 2, 100.0)
    assert _f(cell(agg, "Local authority", "CINO at 31 March", la="318"), "readta") == (1, 1, 100.0)


def test_not_produced_from_2023_24():
    assert not KS1.available(ReportingYear(2023)) and not KS1.available(ReportingYear(2020))
    assert KS1.available(Y22)
