"""Unaccompanied asylum-seeking children (UASC): children who arrive in England alone and are looked after.

They are not in the population model (they were not born or schooled here), so they are extra children: mostly
boys, aged 14 to 17 on arrival, looked after under section 20 (V2) by the LA they arrive in (ports of entry such as
Kent and Croydon more than their size), usually until their 18th birthday. Their share of children looked after
at 31 March follows the CLA publication by year (``params.UASC_SHARE``). They have no UPN (UN2: never attended a
maintained school in England).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.cla import ROUTE_CODE, not_on_31_march, uasc_share
from cin_outcomes.synthetic.social_care.draws import choice, lognormal_days
from cin_outcomes.synthetic.social_care.timeline import LAFrame, add_years, year_end, year_start

ARRIVAL_AGE = {14: 0.08, 15: 0.17, 16: 0.35, 17: 0.40}
EARLY_EXIT_SHARE = 0.1
ETHNICITY = {"AOTH": 0.25, "BAFR": 0.20, "OOTH": 0.25, "WOTH": 0.08, "MOTH": 0.05, "BOTH": 0.12, "NOBT": 0.05}
FIRST_ARRIVAL_YEAR = 2008


def _mean_stay_years() -> float:
    ages = np.array(list(ARRIVAL_AGE)) + 0.45
    p = np.array(list(ARRIVAL_AGE.values()))
    return float((1 - EARLY_EXIT_SHARE) * (p * (18 - ages)).sum() + EARLY_EXIT_SHARE * 0.6)


def draw_uasc(cfg: SyntheticConfig, las: LAFrame, first_person_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(extra children with the population's columns, their periods of care with the columns of
    :func:`cla.draw_periods`)."""
    rng = cfg.rng("social-care", "uasc")
    weight = np.ones(las.n)
    for code, w in P.UASC_PORT_WEIGHT.items():
        weight[las.index(np.array([code]))] = w
    stay = _mean_stay_years()
    la_l, arr_l = [], []
    for y in range(FIRST_ARRIVAL_YEAR, cfg.last_year.start + 1):
        cla = las.target("cla_at31", y)
        total = float(uasc_share(y)) * cla.sum()
        share = cla * weight
        expected = total * share / max(share.sum(), 1e-9) / stay
        k = rng.poisson(expected)
        la = np.repeat(np.arange(las.n), k)
        lo, hi = year_start(y), year_end(y)
        la_l.append(la)
        arr_l.append(lo + (rng.random(len(la)) * (hi - lo + 1)).astype(np.int64))
    la = np.concatenate(la_l)
    arrive = np.concatenate(arr_l)
    n = len(la)
    ages = np.array(list(ARRIVAL_AGE))
    age = ages[rng.choice(len(ages), size=n, p=np.array(list(ARRIVAL_AGE.values())))] + rng.random(n) * 0.9
    birth = arrive - np.floor(age * P.DAYS_PER_YEAR).astype(np.int64)
    b18 = add_years(birth, 18)
    early = rng.random(n) < EARLY_EXIT_SHARE
    end = np.where(early, np.minimum(arrive + lognormal_days(rng, 200, 0.6, n), b18), b18)
    end = not_on_31_march(np.maximum(end, arrive + 2), arrive)
    order = np.lexsort((la, arrive))
    la, arrive, birth, end, early, age = (a[order] for a in (la, arrive, birth, end, early, age))
    pid = (first_person_id + np.arange(n)).astype(np.uint32)
    codes = las.codes[la]
    kids = pl.DataFrame(
        {
            "person_id": pid,
            "birth_date": pl.Series(birth.astype(np.int32)).cast(pl.Date),
            "sex": np.where(rng.random(n) < 0.9, "M", "F"),
            "ethnicity": choice(rng, ETHNICITY, n),
            "birth_la": codes,
            "need": (0.3 + 0.8 * rng.standard_normal(n)).astype(np.float32),
            "ability": (-0.2 + 0.9 * rng.standard_normal(n)).astype(np.float32),
            "state_school": np.ones(n, dtype=bool),
            "upn_date": pl.Series([None] * n, dtype=pl.Date),
            "upn_la": pl.Series([None] * n, dtype=pl.Utf8),
            "upn": pl.Series([None] * n, dtype=pl.Utf8),
        }
    )
    periods = pl.DataFrame(
        {
            "person_id": pid,
            "la": la.astype(np.int32),
            "la_after": las.first_successor[la].astype(np.int32),
            "start": arrive,
            "end": end,
            "route": np.where(early, ROUTE_CODE["other"], ROUTE_CODE["age18"]).astype(np.int8),
            "age_start": age.astype(np.float32),
            "uasc": np.ones(n, dtype=bool),
        }
    )
    return kids, periods
