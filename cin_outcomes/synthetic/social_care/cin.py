"""Spells of need: the intervals during which children's social care works with a child, before they become
CIN census episodes.

* Care spells: each period of care sits inside a spell of need that starts with a referral some weeks or months
  before the child is looked after (the same day in an emergency), often with a child protection plan before care,
  and ends when care ends (adoption, SGO, child arrangements order, 18) or some months after a return home.
* Child protection spells: a plan (ICPC date = plan start) preceded by a referral, assessment and section 47
  enquiry, often followed by a CIN plan ("step-down"). Plans are drawn as candidates (younger children and higher
  need more often) and accepted by the stock controller to each LA's children on a plan at 31 March.
* Other spells of need: referrals assessed as in need (support, CIN plan) or closed after assessment (RC8 no
  further action, RC9 early help), accepted by the stock controller so that children in need at 31 March
  (every kind of spell together) follow each LA's published figure.
* Referrals requiring no further action (ReferralNFA): one-day referrals outside any spell.

Spells of one child overlap freely here; :mod:`records` merges them into non-overlapping CIN episodes per LA.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.draws import lognormal_days, uniform_days
from cin_outcomes.synthetic.social_care.events import (
    age_tilt,
    control,
    draw_candidates,
    inside,
    kappa_for,
    la_index_at,
    next_start,
    primary_share_target,
    successor_for,
    union_intervals,
)
from cin_outcomes.synthetic.social_care.timeline import (
    OPEN,
    LAFrame,
    add_years,
    day,
    reporting_year_of,
    to_weekday,
    year_end,
)

#: Kinds of spell, in the order that decides an episode's closure reason when spells end the same day.
KIND = {"cla": 0, "uasc": 1, "respite": 2, "cpp": 3, "long": 4, "short": 5}


class Coverage:
    """Children covered by spells of need (merged per child), for counting who is open on a day per LA."""

    def __init__(
        self, las: LAFrame, child: np.ndarray, start: np.ndarray, end: np.ndarray, la: np.ndarray, la_after: np.ndarray
    ):
        self.las = las
        c, s, e, grp = union_intervals(child, start, end)
        # the LA of a merged interval: the LA of its first spell
        first = (
            pl.DataFrame({"g": grp, "s": start, "la": la, "la_after": la_after})
            .sort("g", "s")
            .group_by("g", maintain_order=True)
            .agg(pl.col("la").first(), pl.col("la_after").first())
        )
        self.child, self.start, self.end = c, s, e
        self.la = first["la"].to_numpy()
        self.la_after = first["la_after"].to_numpy()

    def counts(self, ref: int) -> np.ndarray:
        m = (self.start <= ref) & (self.end > ref)
        la = np.where(ref >= self.las.abolished_day[self.la[m]], self.la_after[m], self.la[m])
        return np.bincount(la, minlength=self.las.n).astype(float)

    def covered(self, child: np.ndarray, ref: int) -> np.ndarray:
        return inside(child, np.full(len(child), ref), self.child, self.start, self.end) >= 0

    def external(self, ref: int):
        return self.counts(ref), self.covered


def care_spells(cfg: SyntheticConfig, periods: pl.DataFrame, kids: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The spell of need around each period of care, and the child protection plans some children had before care.

    Returns (spells, cpps). Spells: person_id, start, end, kind, la, la_after, period (row of ``periods``).
    CPPs: person_id, start (ICPC), end, la, la_after, spell_start.
    """
    rng = cfg.rng("social-care", "care-spells")
    n = periods.height
    S = periods["start"].to_numpy()
    E = periods["end"].to_numpy()
    route = periods["route"].to_numpy()
    uasc = periods["uasc"].to_numpy()
    birth = kids["birth"].to_numpy()[periods["person_id"].to_numpy().astype(np.int64)]
    emergency = (rng.random(n) < 0.22) | uasc
    lead = np.where(emergency, 0, lognormal_days(rng, 110, 0.9, n))
    start = np.maximum(S - lead, birth - 150)  # unborn referrals at most ~5 months before birth
    # the run-up to care starts after any earlier period of care of the child has ended
    prev_end = periods.select(pl.col("end").shift(1).over("person_id"))["end"].fill_null(-1).to_numpy()
    start = np.maximum(start, prev_end + 1)
    start = np.minimum(start, S)
    # after care: adoption, SGO, CAO and 18 close the case that day; a return home keeps support for months
    from cin_outcomes.synthetic.social_care.cla import ROUTE_CODE

    home = route == ROUTE_CODE["home"]
    tail = np.where(home & (rng.random(n) < 0.7), lognormal_days(rng, 120, 0.6, n), 0)
    tail = np.where((route == ROUTE_CODE["other"]) & (rng.random(n) < 0.3), uniform_days(rng, 1, 60, n), tail)
    end = E + tail
    b18 = add_years(birth, 18)
    end = np.where(E >= b18, E, np.minimum(end, b18))
    spells = pl.DataFrame(
        {
            "person_id": periods["person_id"],
            "start": start,
            "end": end,
            "kind": np.where(uasc, KIND["uasc"], KIND["cla"]).astype(np.int8),
            "la": periods["la"],
            "la_after": periods["la_after"],
            "period": np.arange(n),
        }
    )
    # a child protection plan before care for some children (not emergencies), ending soon after care starts
    cpp = (~emergency) & (lead >= 75) & (rng.random(n) < 0.55)
    icpc = to_weekday(start + uniform_days(rng, 15, 40, n))
    cpp &= icpc < S - 7
    cpp_end = S + np.where(rng.random(n) < 0.6, uniform_days(rng, 1, 45, n), uniform_days(rng, 46, 150, n))
    cpp_end = np.minimum(cpp_end, np.where(E > S + 2, E - 1, E))
    cpp &= cpp_end > icpc + 1
    k = np.flatnonzero(cpp)
    cpps = pl.DataFrame(
        {
            "person_id": periods["person_id"].to_numpy()[k],
            "start": icpc[k],
            "end": cpp_end[k],
            "la": periods["la"].to_numpy()[k],
            "la_after": periods["la_after"].to_numpy()[k],
            "spell_start": start[k],
            "care_start": S[k],
        }
    )
    return spells, cpps


def draw_cpps(
    cfg: SyntheticConfig, las: LAFrame, kids: pl.DataFrame, population, care: pl.DataFrame, care_cpps: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Child protection plans outside care, and their spells of need (referral before, step-down after).

    Returns (spells, cpps) like :func:`care_spells`.
    """
    rng = cfg.rng("social-care", "cpp")
    birth = kids["birth"].to_numpy()
    need = kids["need"].to_numpy()
    birth_la = kids["birth_la_idx"].to_numpy()
    starts_t = las.targets["cpp_at31"] * 365.25 / (P.CPP_MEDIAN * np.exp(P.CPP_SIGMA**2 / 2))
    kappa = kappa_for(las, birth_la, birth, need, P.BETA_CPP, P.AGE_CPP, starts_t, P.OVERSAMPLE["cpp"])
    horizon = int(year_end(cfg.last_year.start))
    child, start = draw_candidates(
        rng, birth, need, kappa, P.BETA_CPP, P.AGE_CPP, day(P.CIN_SIM_START), horizon, min_age=-0.4, max_age=17.7
    )
    start = to_weekday(start)
    n = len(child)
    dur = lognormal_days(rng, P.CPP_MEDIAN, P.CPP_SIGMA, n)
    end = start + np.maximum(dur, 14)
    b18 = add_years(birth[child], 18)
    end = np.minimum(end, b18 - 1)
    # not while looked after or in the run-up to care; end by the next such spell
    cs = care.sort("person_id", "start")
    cc, cst, cen = (cs["person_id"].to_numpy().astype(np.int64), cs["start"].to_numpy() - 30, cs["end"].to_numpy())
    cc, cst, cen, _ = union_intervals(cc, cst, cen)
    blocked = inside(child, start, cc, cst, cen) >= 0
    nxt = next_start(child, start, cc, cst)
    end = np.minimum(end, nxt - 1)
    # nor during a plan before care
    pc = care_cpps.sort("person_id", "start")
    pcc, pst, pen = (pc["person_id"].to_numpy().astype(np.int64), pc["start"].to_numpy() - 60, pc["end"].to_numpy() + 1)
    pcc, pst, pen, _ = union_intervals(pcc, pst, pen)
    blocked |= inside(child, start, pcc, pst, pen) >= 0
    end = np.minimum(end, next_start(child, start, pcc, pst) - 1)
    blocked |= end < start + 14
    # the age mix of children on a plan follows the published school phases of the CPPO group
    # (with the plans before care of the population's children: members until care starts, in the stock to the end)
    pre = care_cpps.filter(pl.col("person_id") < len(birth))
    ext = (birth[pre["person_id"].to_numpy().astype(np.int64)], pre["start"].to_numpy(),
           np.minimum(pre["end"].to_numpy(), pre["care_start"].to_numpy()), pre["end"].to_numpy())
    blocked = age_tilt(cfg.rng("social-care", "cpp-age"), birth[child], start, end, blocked,
                       primary_share_target("CPPO at 31 March"), cfg.last_year.start, las.targets["cpp_at31"], ext)
    k, person, la, la_after = _held_to_stock(cfg, las, population, kids, rng, child, start, end, blocked,
                                             care_cpps, las.targets["cpp_at31"], starts_t)
    lead = uniform_days(rng, 14, 45, len(k))
    step_down = rng.random(len(k)) < P.CPP_STEP_DOWN_SHARE
    tail = np.where(step_down, lognormal_days(rng, P.CPP_STEP_DOWN_MEDIAN, 0.6, len(k)), 0)
    sp_start = np.maximum(start[k] - lead, birth[child[k]] - 150)
    sp_end = np.minimum(end[k] + tail, np.maximum(add_years(birth[child[k]], 18) - 1, end[k]))
    sp_end = np.minimum(sp_end, next_start(child[k], start[k], cc, cst) - 1)
    sp_end = np.maximum(sp_end, end[k])
    cpps = pl.DataFrame(
        {
            "person_id": person[k],
            "start": start[k],
            "end": end[k],
            "la": la[k],
            "la_after": la_after[k],
            "spell_start": sp_start,
            "care_start": np.full(len(k), OPEN, dtype=np.int64),
        }
    )
    spells = pl.DataFrame(
        {
            "person_id": person[k],
            "start": sp_start,
            "end": sp_end,
            "kind": np.full(len(k), KIND["cpp"], dtype=np.int8),
            "la": la[k],
            "la_after": la_after[k],
            "period": np.full(len(k), -1),
        }
    )
    return spells, cpps


def _held_to_stock(cfg: SyntheticConfig, las: LAFrame, population, kids: pl.DataFrame, rng: np.random.Generator,
                   child: np.ndarray, start: np.ndarray, end: np.ndarray, blocked: np.ndarray,
                   external: pl.DataFrame, stock: np.ndarray, starts: np.ndarray):
    """Candidate spells accepted by the stock controller so each LA's children open at 31 March (with the children
    ``external`` spells already cover) and its starts follow ``stock`` and ``starts`` per year.

    Returns (accepted candidate indexes, person, LA index and successor LA index of every candidate)."""
    person = kids["person_id"].to_numpy()[child]
    la = la_index_at(population, las, person, start)
    la_after = successor_for(population, las, person, la)
    cy = reporting_year_of(start)
    years = np.arange(int(cy.min()), cfg.last_year.start + 1)
    cover = Coverage(las, external["person_id"].to_numpy().astype(np.int64), external["start"].to_numpy(),
                     external["end"].to_numpy(), external["la"].to_numpy(), external["la_after"].to_numpy())
    acc = control(las, years, cy, child, start, end, la, la_after, rng.random(len(child)), len(kids), stock, starts,
                  first_year=P.FIRST_TARGET_YEAR_END - 1, blocked=blocked, external=cover.external,
                  bounds=(0.3, 3.0))
    return np.flatnonzero(acc), person, la, la_after


def draw_other_need(
    cfg: SyntheticConfig, las: LAFrame, kids: pl.DataFrame, population, external_spells: pl.DataFrame
) -> pl.DataFrame:
    """Spells of need without a plan or care: held so that children in need at 31 March follow each LA's figure.

    ``external_spells`` are the spells already drawn (care, child protection, short breaks); their children count
    towards the stock. Returns spells (kind ``long`` or ``short``).
    """
    rng = cfg.rng("social-care", "cin")
    birth = kids["birth"].to_numpy()
    need = kids["need"].to_numpy()
    birth_la = kids["birth_la_idx"].to_numpy()
    starts_t = las.targets["cin_started"] * 0.88
    kappa = kappa_for(las, birth_la, birth, need, P.BETA_CIN, P.AGE_CIN, starts_t, P.OVERSAMPLE["cin"])
    horizon = int(year_end(cfg.last_year.start))
    child, start = draw_candidates(
        rng, birth, need, kappa, P.BETA_CIN, P.AGE_CIN, day(P.CIN_SIM_START), horizon, min_age=-0.4, max_age=17.8
    )
    n = len(child)
    short = rng.random(n) < P.SHORT_EPISODE_SHARE
    dur = np.where(short, uniform_days(rng, 10, 70, n), lognormal_days(rng, P.CIN_LONG_MEDIAN, P.CIN_LONG_SIGMA, n))
    end = np.minimum(start + dur, add_years(birth[child], 18) - 1)
    blocked = end <= start
    # the age mix of children in need follows the published school phases of the CINO group
    blocked = age_tilt(cfg.rng("social-care", "cin-age"), birth[child], start, end, blocked,
                       primary_share_target("CINO at 31 March"), cfg.last_year.start)
    k, person, la, la_after = _held_to_stock(cfg, las, population, kids, rng, child, start, end, blocked,
                                             external_spells, las.targets["cin_at31"], starts_t)
    return pl.DataFrame(
        {
            "person_id": person[k],
            "start": start[k],
            "end": end[k],
            "kind": np.where(short[k], KIND["short"], KIND["long"]).astype(np.int8),
            "la": la[k],
            "la_after": la_after[k],
            "period": np.full(len(k), -1),
        }
    )


def draw_nfa(cfg: SyntheticConfig, las: LAFrame, kids: pl.DataFrame, population) -> pl.DataFrame:
    """Referrals requiring no further action: person_id, day, la (dropped later if inside a spell of need)."""
    rng = cfg.rng("social-care", "nfa")
    birth = kids["birth"].to_numpy()
    need = kids["need"].to_numpy()
    birth_la = kids["birth_la_idx"].to_numpy()
    per_year = las.targets["cin_started"] * P.NFA_PER_EPISODE
    kappa = kappa_for(las, birth_la, birth, need, 0.5, P.AGE_CIN, per_year, 1.0)
    horizon = int(year_end(cfg.last_year.start))
    lo = int(year_end(cfg.first_year.start - 1)) + 1
    child, d = draw_candidates(rng, birth, need, kappa, 0.5, P.AGE_CIN, lo, horizon, min_age=-0.4, max_age=17.9)
    person = kids["person_id"].to_numpy()[child]
    la = la_index_at(population, las, person, d)
    return pl.DataFrame({"person_id": person, "day": d, "la": la})
