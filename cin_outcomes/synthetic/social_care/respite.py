"""Short breaks (respite care): disabled children looked after for a few nights at a time.

An LA records short breaks either as individual episodes (legal status V3, each break at most 17 days and at most
75 days in 12 months: Children Act 1989 regulation 48, 903 rules 365 and 367) or as agreements (V4, one episode per
agreement) — one style per LA, so no child has both in a year (rule 426). Children with short breaks are children
in need (primary need N2, disability) throughout; they are not counted as looked after (2020 data guidance).
Breaks never overlap the child's periods of care, and a series ends when the family moves LA.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.cin import KIND
from cin_outcomes.synthetic.social_care.draws import uniform_days
from cin_outcomes.synthetic.social_care.events import (
    draw_candidates,
    inside,
    kappa_for,
    la_index_at,
    next_start,
    successor_for,
    union_intervals,
)
from cin_outcomes.synthetic.social_care.timeline import LAFrame, add_years, day, year_end

AGE_RESPITE = np.array([0.0, 0.0, 0.0, 0.3, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.6])
MAX_BREAK_DAYS = 17
MAX_DAYS_IN_12_MONTHS = 75


def la_styles(cfg: SyntheticConfig, las: LAFrame) -> np.ndarray:
    """Per LA: "V3" (individual breaks recorded) or "V4" (agreements recorded)."""
    rng = cfg.rng("social-care", "respite-style")
    return np.where(rng.random(las.n) < P.RESPITE_V3_LA_SHARE, "V3", "V4")


def draw_respite(
    cfg: SyntheticConfig, las: LAFrame, kids: pl.DataFrame, population, care: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(spells of need of children with short breaks, the break episodes).

    Break episodes: person_id, la, la_after, decom, dec, ls, place, place_provider.
    """
    rng = cfg.rng("social-care", "respite")
    birth = kids["birth"].to_numpy()
    need = kids["need"].to_numpy()
    birth_la = kids["birth_la_idx"].to_numpy()
    pop = las.targets["population_0_17"] * cfg.scale
    mean_years = 2.5
    per_year = P.RESPITE_RATE * pop / mean_years
    kappa = kappa_for(las, birth_la, birth, need, 0.6, AGE_RESPITE, per_year, 1.0)
    horizon = int(year_end(cfg.last_year.start))
    child, start = draw_candidates(
        rng, birth, need, kappa, 0.6, AGE_RESPITE, day(P.CIN_SIM_START), horizon, min_age=3.0, max_age=17.0
    )
    n = len(child)
    end = start + uniform_days(rng, 365, 4 * 365, n)
    end = np.minimum(end, add_years(birth[child], 18) - 1)
    person = kids["person_id"].to_numpy()[child]
    # a series ends when the child moves LA
    res = population.residence.sort("person_id", "from_date")
    rc = res["person_id"].to_numpy().astype(np.int64)
    rs = res["from_date"].cast(pl.Int32).to_numpy().astype(np.int64)
    end = np.minimum(end, next_start(person.astype(np.int64), start, rc, rs) - 1)
    keep = end > start + 60
    child, start, end, person = child[keep], start[keep], end[keep], person[keep]
    # one series at a time per child (keep the first of overlapping ones)
    df = (
        pl.DataFrame({"c": child, "s": start, "e": end})
        .sort("c", "s")
        .with_columns(pl.col("e").cum_max().shift(1).over("c").alias("prev"))
    )
    df = df.filter(pl.col("prev").is_null() | (pl.col("s") > pl.col("prev")))
    child, start, end = df["c"].to_numpy(), df["s"].to_numpy(), df["e"].to_numpy()
    person = kids["person_id"].to_numpy()[child]
    la = la_index_at(population, las, person, start)
    la_after = successor_for(population, las, person, la)
    style = la_styles(cfg, las)[la]
    m = len(child)
    place = np.where(rng.random(m) < 0.55, "K2", "U6")
    provider = np.where(rng.random(m) < 0.7, "PR1", np.where(rng.random(m) < 0.6, "PR4", "PR5"))
    # V3: a break of 1-4 nights every 4-6 weeks; V4: agreements of 5-10 months
    gap = uniform_days(rng, 28, 42, m)
    nb = np.where(style == "V3", np.maximum((end - start - 14) // gap, 1), 0)
    agreement = uniform_days(rng, 150, 300, m)
    na = np.where(style == "V4", np.maximum((end - start) // (agreement + 1), 1), 0)
    k = nb + na
    s_idx = np.repeat(np.arange(m), k)
    j = np.arange(len(s_idx)) - np.repeat(np.cumsum(k) - k, k)
    v3 = style[s_idx] == "V3"
    decom = np.where(
        v3,
        start[s_idx] + 14 + j * gap[s_idx] + rng.integers(0, 7, len(s_idx)),
        start[s_idx] + j * (agreement[s_idx] + 1),
    )
    dec = np.where(v3, decom + rng.integers(1, 5, len(s_idx)), decom + agreement[s_idx])
    ok = dec <= end[s_idx]
    # never while looked after (any LA)
    cs = care.sort("person_id", "start")
    cc, cst, cen, _ = union_intervals(
        cs["person_id"].to_numpy().astype(np.int64), cs["start"].to_numpy(), cs["end"].to_numpy() + 1
    )
    pc = person[s_idx].astype(np.int64)
    ok &= inside(pc, decom, cc, cst, cen) < 0
    ok &= next_start(pc, decom, cc, cst) > dec + 1
    s_idx, decom, dec = s_idx[ok], decom[ok], dec[ok]
    breaks = pl.DataFrame(
        {
            "person_id": person[s_idx],
            "la": la[s_idx].astype(np.int32),
            "la_after": la_after[s_idx].astype(np.int32),
            "decom": decom,
            "dec": dec,
            "ls": style[s_idx],
            "place": place[s_idx],
            "place_provider": provider[s_idx],
        }
    ).sort("person_id", "decom")
    # the spell of need around the series (only series that kept a break)
    has = np.unique(s_idx)
    lead = uniform_days(rng, 30, 200, len(has))
    tail = uniform_days(rng, 0, 60, len(has))
    sp_start = np.maximum(start[has] - lead, birth[child[has]])
    sp_end = np.minimum(end[has] + tail, add_years(birth[child[has]], 18) - 1)
    spells = pl.DataFrame(
        {
            "person_id": person[has],
            "start": sp_start,
            "end": sp_end,
            "kind": np.full(len(has), KIND["respite"], dtype=np.int8),
            "la": la[has].astype(np.int32),
            "la_after": la_after[has].astype(np.int32),
            "period": np.full(len(has), -1),
        }
    )
    return spells, breaks
