import datetime as dt

import polars as pl
import pytest

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import build_population
from cin_outcomes.upn import is_valid_upn


@pytest.fixture(scope="module")
def pop():
    return build_population(SyntheticConfig(scale=0.005, seed=7))


def test_size_follows_the_child_population(pop):
    # 0-17 population of England ~11.8-12.2M; at scale 0.005 about 60k children alive and under 18 on 31 March 2020
    under18 = pop.children.filter((pl.col("birth_date") <= dt.date(2020, 3, 31))
                                  & (pl.col("birth_date") > dt.date(2002, 3, 31))).height
    assert 0.005 * 11_000_000 < under18 < 0.005 * 13_000_000


def test_upns_are_valid_and_unique(pop):
    upns = pop.children["upn"].drop_nulls()
    assert upns.n_unique() == upns.len()
    assert all(is_valid_upn(u) for u in upns.sample(2000, seed=1))
    # no UPN for children not yet at school on 31 March 2025 (born after August 2020)
    assert pop.children.filter(pl.col("birth_date") >= dt.date(2020, 9, 1))["upn"].null_count() == \
        pop.children.filter(pl.col("birth_date") >= dt.date(2020, 9, 1)).height


def test_abolished_las_hand_their_children_to_successors(pop):
    q = pop.children.filter(pl.col("birth_date") < dt.date(2021, 4, 1)).select(
        "person_id", pl.lit(dt.date(2021, 4, 1)).alias("date"))
    las = set(pop.la_at(q)["la_code"].drop_nulls())
    assert "928" not in las and {"940", "941"} <= las  # Northamptonshire -> North and West Northamptonshire


def test_need_and_ability_are_negatively_correlated(pop):
    r = pop.children.select(pl.corr("need", "ability")).item()
    assert -0.6 < r < -0.3


def test_same_seed_same_population_other_seed_differs():
    a = build_population(SyntheticConfig(scale=0.001, seed=3)).children
    b = build_population(SyntheticConfig(scale=0.001, seed=3)).children
    c = build_population(SyntheticConfig(scale=0.001, seed=4)).children
    assert a.equals(b) and not a.equals(c)
