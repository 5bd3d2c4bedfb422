"""Periods of care and the SSDA903 episodes that record them.

A *period of care* runs from the day a child starts to be looked after to the day they cease (adoption, return home,
special guardianship, a child arrangements order, their 18th birthday, or another reason). Periods are drawn as
candidate starts (more often for infants and teenagers, and for children with higher need) and accepted by the
stock controller of :mod:`events` so each LA's children looked after at 31 March follow its published figure
(less UASC, who are modelled in :mod:`uasc`). The LA at the start looks after the child for the whole period, even
when placed out of area; if that LA is abolished the case passes to a successor.

Each period becomes a chain of 903 episodes: a new episode whenever the legal status or the placement changes,
linked by REC ``X1`` and RNE ``L``/``P``/``T``/``B``/``U`` (legal status only / placement and carer / placement,
same carer / both / both, same carer). Legal statuses follow the usual routes: section 20 (V2) or an interim care
order (C1, after police protection L1 or an emergency protection order L2 for some), a full care order (C2) some
months later, a placement order (E1) before placement for adoption (A5/A6) and adoption (E11/E12). Placements
change at a rate rising with age, with a reason on the episode that ends.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.draws import choice, choice_rows, lognormal_days, uniform_days
from cin_outcomes.synthetic.social_care.events import control, draw_candidates, kappa_for, la_index_at, successor_for
from cin_outcomes.synthetic.social_care.timeline import OPEN, LAFrame, add_years, day, reporting_year_of, year_end

ROUTE_CODE = {r: i for i, r in enumerate(P.ROUTES)}
FOSTER = ("U1", "U2", "U3", "U4", "U5", "U6")
ADOPTION_PLACES = ("A3", "A4", "A5", "A6")
#: Placement types whose provider is an establishment registered with Ofsted (URN "SC" + 6 digits).
REGISTERED = ("K1", "K2", "R3", "S1")


def uasc_share(y: np.ndarray | int) -> np.ndarray:
    ye = np.clip(np.asarray(y) + 1, min(P.UASC_SHARE), max(P.UASC_SHARE))
    return np.vectorize(P.UASC_SHARE.get)(ye)


def not_on_31_march(end: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Care that would end on 31 March ends the day before: DfE's rules count a period ending on 31 March as
    continuous for 12 months (OC2 due) yet forbid OC2 with the adoption or care leaver items it brings (rule 187)."""
    ye = year_end(reporting_year_of(end))
    return np.where((end == ye) & (end - 1 > start + 1), end - 1, end)


def present_share(y: int) -> float:
    """Share of the 0-17 population of reporting year ``y`` that the simulation holds (born from 1995), weighted
    towards older children as the care population is."""
    ages_present = min(max(y + 1 - P.CLA_SIM_START.year, 0), 18)
    w = P.AGE_CLA[1:] * np.arange(1, 19)  # stock at each age grows with time since entry
    return float(w[:ages_present].sum() / w.sum())


def draw_periods(cfg: SyntheticConfig, las: LAFrame, kids: pl.DataFrame, population) -> pl.DataFrame:
    """Periods of care of the population's children (not UASC, not short breaks), every year to the horizon.

    Columns: person_id, la (index), la_after (successor index if the LA is abolished), start, end (days; end may
    lie after the horizon: still looked after), route, age_start (years).
    """
    rng = cfg.rng("social-care", "cla-periods")
    birth = kids["birth"].to_numpy()
    need = kids["need"].to_numpy()
    birth_la = kids["birth_la_idx"].to_numpy()
    years = np.arange(reporting_year_of(np.array([day(P.CLA_SIM_START)]))[0], cfg.last_year.start + 1)
    grid_years = np.arange(1990, 2031)
    share = 1.0 - uasc_share(grid_years)
    stock = las.targets["cla_at31"] * share[None, :]
    starts = np.maximum(las.targets["cla_started"], las.targets["cla_at31"] / 2.6) * share[None, :]
    kappa = kappa_for(las, birth_la, birth, need, P.BETA_CLA, P.AGE_CLA, starts, P.OVERSAMPLE["cla"])
    horizon = int(year_end(cfg.last_year.start))
    child, start = draw_candidates(
        rng, birth, need, kappa, P.BETA_CLA, P.AGE_CLA, day(P.CLA_SIM_START), horizon, min_age=0.0, max_age=17.8
    )
    n = len(child)
    person = kids["person_id"].to_numpy()[child]
    la = la_index_at(population, las, person, start)
    age = (start - birth[child]) / P.DAYS_PER_YEAR
    band = np.searchsorted(P.ROUTE_AGE_BANDS, age, side="right") - 1
    route = choice_rows(rng, P.ROUTE_SHARES, band)
    dur = np.ones(n, dtype=np.int64)
    for name, (med, sig) in P.ROUTE_DURATION.items():
        m = route == ROUTE_CODE[name]
        dur[m] = lognormal_days(rng, med, sig, int(m.sum()))
    adopt = route == ROUTE_CODE["adoption"]
    dur[adopt] = np.maximum(dur[adopt], P.MIN_ADOPTION_DAYS)
    b18 = add_years(birth[child], 18)
    end = start + dur
    # stays to 18: most until the birthday, some leave at 16-17 for independent living
    stay = route == ROUTE_CODE["age18"]
    early = stay & (rng.random(n) < 0.3) & (age < 16.5)
    leave = add_years(birth[child], 16) + (rng.random(n) * 700).astype(np.int64)
    end = np.where(stay, np.where(early, leave, b18), end)
    capped = end >= b18
    end = np.minimum(end, b18)
    route = np.where(capped & ~stay, ROUTE_CODE["age18"], route)
    end = np.maximum(end, start + 2)
    end = not_on_31_march(end, start)
    ok = end <= b18
    child, start, end, la, route, age, person = (a[ok] for a in (child, start, end, la, route, age, person))
    la_after = successor_for(population, las, person, la)
    cy = reporting_year_of(start)
    order = np.argsort(cy, kind="stable")
    child, start, end, la, la_after, route, age, person, cy = (
        a[order] for a in (child, start, end, la, la_after, route, age, person, cy)
    )
    u = rng.random(len(child))
    accepted = control(
        las,
        years,
        cy,
        child,
        start,
        end,
        la,
        la_after,
        u,
        len(birth),
        stock,
        starts,
        first_year=P.FIRST_TARGET_YEAR_END - 1,
        bounds=(0.25, 2.5),
        warm_stock=present_share,
        final=route == ROUTE_CODE["adoption"],
    )
    k = np.flatnonzero(accepted)
    return pl.DataFrame(
        {
            "person_id": person[k].astype(np.uint32),
            "la": la[k].astype(np.int32),
            "la_after": la_after[k].astype(np.int32),
            "start": start[k],
            "end": end[k],
            "route": route[k].astype(np.int8),
            "age_start": age[k].astype(np.float32),
            "uasc": np.zeros(len(k), dtype=bool),
        }
    ).sort("person_id", "start")


def _episode_events(rng: np.random.Generator, periods: pl.DataFrame, birth: np.ndarray) -> pl.DataFrame:
    """Legal status and placement changes of every period: one row per (period, day) with what changed."""
    n = periods.height
    pid = np.arange(n)
    S = periods["start"].to_numpy()
    E = periods["end"].to_numpy()
    route = periods["route"].to_numpy()
    age0 = periods["age_start"].to_numpy().astype(float)
    uasc = periods["uasc"].to_numpy()
    b = birth
    length = E - S
    R = {k: route == v for k, v in ROUTE_CODE.items()}
    permanence = R["adoption"] | R["sgo"] | R["cao"] | (R["age18"] & (age0 < 12))

    # --- legal statuses -----------------------------------------------------------------------------------
    u = rng.random(n)
    ls0 = np.where(u < 0.05, "L1", np.where(u < 0.12, "L2", np.where(u < 0.55, "C1", "V2")))
    teen = age0 >= 12
    ls0 = np.where(R["home"] & (u >= 0.12) & (rng.random(n) < 0.55), "V2", ls0)
    ls0 = np.where(teen & R["age18"] & (rng.random(n) < 0.55), "V2", ls0)
    remand = R["other"] & teen & (rng.random(n) < 0.25)
    ls0 = np.where(remand, "J1", ls0)
    ls0 = np.where(uasc, "V2", ls0)
    ls0 = np.where((length <= 3) & np.isin(ls0, ["L1", "L2"]), "V2", ls0)  # too short for a protection order
    ev = [(pid, S, ls0)]
    # L1 lasts 1-2 days, L2 3-14 days; then an interim care order or accommodation under s20
    after_prot = np.where(permanence | (rng.random(n) < 0.6), "C1", "V2")
    t_prot = S + np.where(ls0 == "L1", uniform_days(rng, 1, 2, n), uniform_days(rng, 3, 14, n))
    m = np.isin(ls0, ["L1", "L2"]) & (t_prot < E - 1)
    ev.append((pid[m], t_prot[m], after_prot[m]))
    cur = np.where(m, after_prot, ls0)
    t_cur = np.where(m, t_prot, S)
    # s20 becomes an interim care order for children heading for permanence
    t_c1 = t_cur + uniform_days(rng, 30, 200, n)
    m = (cur == "V2") & ~uasc & (permanence | (R["age18"] & (rng.random(n) < 0.3))) & (t_c1 < E - 30)
    ev.append((pid[m], t_c1[m], np.full(m.sum(), "C1")))
    t_cur = np.where(m, t_c1, t_cur)
    cur = np.where(m, "C1", cur)
    # interim care order -> full care order after proceedings (about 26 weeks)
    t_c2 = t_cur + uniform_days(rng, 150, 330, n)
    # adoption chain, backwards from the adoption order
    t_place = E - uniform_days(rng, 84, 300, n)
    t_e1 = t_place - uniform_days(rng, 14, 150, n)
    t_e1 = np.maximum(t_e1, t_cur + 30)
    t_place = np.maximum(t_place, t_e1 + 7)
    adopt = R["adoption"] & (t_place < E - 30)
    t_c2 = np.where(adopt, np.minimum(t_c2, t_e1 - 14), t_c2)
    m = (cur == "C1") & (t_c2 > t_cur + 14) & (t_c2 < E - 14)
    ev.append((pid[m], t_c2[m], np.full(m.sum(), "C2")))
    cur = np.where(m, "C2", cur)
    ev.append((pid[adopt], t_e1[adopt], np.full(adopt.sum(), "E1")))
    legal = pl.DataFrame(
        {
            "pid": np.concatenate([e[0] for e in ev]),
            "t": np.concatenate([e[1] for e in ev]),
            "ls": np.concatenate([e[2] for e in ev]),
        }
    )

    # --- placements ---------------------------------------------------------------------------------------
    def band_of(a):
        return np.where(a < 10, 0, np.where(a < 16, 1, 2))

    bands = ["young", "teen", "older"]
    pools = {bname: P.PLACEMENTS[bname] for bname in bands}
    foster_only = {k: v for k, v in P.PLACEMENTS["young"].items() if k in FOSTER}

    def draw_place(ages: np.ndarray, foster: np.ndarray) -> np.ndarray:
        out = np.empty(len(ages), dtype=object)
        bb = band_of(ages)
        for i, bname in enumerate(bands):
            mm = (bb == i) & ~foster
            out[mm] = choice(rng, pools[bname], int(mm.sum()))
        out[foster] = choice(rng, foster_only, int(foster.sum()))
        return out.astype(str)

    adopt_or_young_perm = R["adoption"] | (permanence & (age0 < 5))
    p0 = draw_place(age0, adopt_or_young_perm)
    p0 = np.where(
        uasc,
        np.where(
            age0 >= 16, choice(rng, {"H5": 0.45, "U6": 0.4, "K2": 0.15}, n), choice(rng, {"U6": 0.75, "K2": 0.25}, n)
        ),
        p0,
    )
    # H5 (supported accommodation) only from 16; S1 (residential school) from 4 (rules 371, 373)
    p0 = np.where((p0 == "H5") & (age0 < 16), "U6", p0)
    p0 = np.where((p0 == "S1") & (age0 < 4), "U6", p0)
    pev = [(pid, S, p0, np.zeros(n, dtype=bool))]
    band0 = band_of(age0)
    rate = np.array([P.PLACEMENT_MOVE_RATE[bn] for bn in bands])[band0]
    k = rng.poisson(rate * np.maximum(length - 14, 0) / P.DAYS_PER_YEAR)
    k = np.minimum(k, 12)
    mp = np.repeat(pid, k)
    tm = S[mp] + 7 + (rng.random(len(mp)) * np.maximum(length[mp] - 14, 1)).astype(np.int64)
    am = (tm - b[mp]) / P.DAYS_PER_YEAR
    pm = draw_place(am, adopt_or_young_perm[mp])
    pm = np.where((pm == "H5") & (am < 16), "U6", pm)
    pm = np.where((pm == "S1") & (am < 4), "U6", pm)
    pm = np.where(uasc[mp], np.where(am >= 16, "H5", "U6"), pm)
    same = rng.random(len(mp)) < 0.08
    pev.append((mp, tm, pm, same))
    # long-term foster care with the same carer after about a year (U6 -> U4, U3 -> U1): marker "LT"
    t_lt = S + uniform_days(rng, 300, 500, n)
    m = (R["age18"] | R["cao"] | R["sgo"]) & (t_lt < E - 60)
    pev.append((pid[m], t_lt[m], np.full(m.sum(), "LT"), np.ones(m.sum(), dtype=bool)))
    # placed for adoption: A5 with the current foster carer (fostering for adoption), else A6
    ffa = rng.random(n) < 0.15
    pev.append((pid[adopt], t_place[adopt], np.where(ffa[adopt], "A5", "A6"), ffa[adopt]))
    # return home under a care order: placed with parents for the last months (not under s20, rule 378)
    t_p1 = E - uniform_days(rng, 60, 180, n)
    m = R["home"] & (rng.random(n) < 0.35) & (t_p1 > S + 30)
    pev.append((pid[m], t_p1[m], np.full(m.sum(), "P1"), np.zeros(m.sum(), dtype=bool)))
    place = pl.DataFrame(
        {
            "pid": np.concatenate([e[0] for e in pev]),
            "t": np.concatenate([e[1] for e in pev]),
            "place": np.concatenate([e[2] for e in pev]),
            "same_carer": np.concatenate([e[3] for e in pev]),
        }
    )
    # no placement changes after placement for adoption (A5/A6 is the last placement)
    place = (
        place.join(
            pl.DataFrame({"pid": pid[adopt], "t_a": t_place[adopt]}), on="pid", how="left", maintain_order="left"
        )
        .filter(pl.col("t_a").is_null() | (pl.col("t") <= pl.col("t_a")) | pl.col("place").is_in(["A5", "A6"]))
        .filter(pl.col("t_a").is_null() | (pl.col("t") != pl.col("t_a")) | pl.col("place").is_in(["A5", "A6"]))
        .drop("t_a")
    )
    ends = pl.DataFrame({"pid": pid, "S": S, "E": E})
    legal = legal.join(ends, on="pid", maintain_order="left").filter(
        (pl.col("t") >= pl.col("S")) & (pl.col("t") < pl.col("E"))
    )
    place = place.join(ends, on="pid", maintain_order="left").filter(
        (pl.col("t") >= pl.col("S")) & (pl.col("t") < pl.col("E"))
    )
    legal = legal.group_by("pid", "t").agg(pl.col("ls").last())
    place = (
        place.sort("pid", "t")
        .group_by("pid", "t", maintain_order=True)
        .agg(pl.col("place").last(), pl.col("same_carer").last())
    )
    return legal.join(place, on=["pid", "t"], how="full", coalesce=True, maintain_order="left").sort("pid", "t")


def build_episodes(cfg: SyntheticConfig, las: LAFrame, periods: pl.DataFrame, kids: pl.DataFrame) -> pl.DataFrame:
    """The 903 episodes of every period: pid (row of ``periods``), decom, dec, rne, ls, place, place_provider,
    rec, reason_place_change, pl_post, urn (home_post is per period). dec of the last episode is the period end."""
    rng = cfg.rng("social-care", "cla-episodes")
    birth_all = kids["birth"].to_numpy()
    person = periods["person_id"].to_numpy().astype(np.int64)
    birth = birth_all[person]
    ev = _episode_events(rng, periods, birth)
    # forward-fill the state; resolve "LT" (long-term with the same carer) against the current placement
    ev = ev.with_columns(pl.col("place").alias("place_event"))
    ev = ev.with_columns(
        pl.col("ls").forward_fill().over("pid"),
        pl.col("place").replace("LT", None).forward_fill().over("pid").alias("prev_place_ff"),
    )
    ev = ev.with_columns(pl.col("prev_place_ff").shift(1).over("pid").alias("before"))
    lt = pl.col("place_event") == "LT"
    ev = ev.with_columns(
        pl.when(lt & (pl.col("before") == "U6"))
        .then(pl.lit("U4"))
        .when(lt & (pl.col("before") == "U3"))
        .then(pl.lit("U1"))
        .when(lt)
        .then(None)
        .otherwise(pl.col("place_event"))
        .alias("place_event")
    )
    ev = ev.with_columns(pl.col("place_event").forward_fill().over("pid").alias("place"))
    ev = ev.with_columns(
        pl.col("ls").shift(1).over("pid").alias("prev_ls"),
        pl.col("place").shift(1).over("pid").alias("prev_place"),
        pl.int_range(pl.len()).over("pid").alias("k"),
    )
    first = pl.col("k") == 0
    ls_changed = (pl.col("ls") != pl.col("prev_ls")).fill_null(False)
    pl_changed = pl.col("place_event").is_not_null() & ~first
    # a day on which nothing changed (a long-term marker that found no foster placement) is no new episode
    ev = ev.filter(first | ls_changed | pl_changed)
    ev = ev.with_columns(
        pl.when(first)
        .then(pl.lit("S"))
        .when(ls_changed & pl_changed & pl.col("same_carer").fill_null(False))
        .then(pl.lit("U"))
        .when(ls_changed & pl_changed)
        .then(pl.lit("B"))
        .when(ls_changed)
        .then(pl.lit("L"))
        .when(pl.col("same_carer").fill_null(False))
        .then(pl.lit("T"))
        .otherwise(pl.lit("P"))
        .alias("rne")
    )
    # P1 under V2 is not allowed: such a move becomes a move to another foster placement
    ev = ev.with_columns(
        pl.when((pl.col("place") == "P1") & pl.col("ls").is_in(["V2", "L1", "L2", "J1"]))
        .then(pl.lit("U6"))
        .otherwise(pl.col("place"))
        .alias("place")
    )
    ev = ev.join(
        pl.DataFrame({"pid": np.arange(periods.height), "E": periods["end"].to_numpy()}),
        on="pid",
        maintain_order="left",
    )
    ev = ev.with_columns(
        pl.col("t").alias("decom"),
        pl.col("t").shift(-1).over("pid").fill_null(pl.col("E")).alias("dec"),
        pl.col("rne").shift(-1).over("pid").alias("next_rne"),
    )
    m = ev.height
    # providers, postcodes and URNs per placement (an episode that only changes legal status keeps them)
    place = ev["place"].to_numpy().astype(str)
    provider = np.full(m, "PR1", dtype=object)
    for codes, shares in (
        (("U1", "U2", "U3"), {"PR1": 0.85, "PR2": 0.05, "PR4": 0.10}),
        (("U4", "U5", "U6"), {"PR1": 0.55, "PR4": 0.40, "PR5": 0.05}),
        (ADOPTION_PLACES, {"PR1": 0.70, "PR2": 0.20, "PR5": 0.10}),
        (("K1",), {"PR1": 0.5, "PR2": 0.5}),
        (("K2",), {"PR4": 0.75, "PR1": 0.15, "PR5": 0.10}),
        (("H5",), {"PR4": 0.70, "PR1": 0.20, "PR5": 0.10}),
        (("R1", "S1"), {"PR4": 0.60, "PR5": 0.40}),
        (("R3",), {"PR4": 0.6, "PR1": 0.4}),
        (("P1",), {"PR0": 1.0}),
    ):
        mm = np.isin(place, codes)
        provider[mm] = choice(rng, shares, int(mm.sum()))
    ev = ev.with_columns(
        pl.Series("new_provider", provider.astype(str)),
        pl.Series("u_out", rng.random(m)),
        pl.Series("u_pc", rng.random(m)),
        pl.Series("u_urn", rng.integers(100000, 999999, m)),
    )
    placement_starts = pl.col("rne").is_in(["S", "P", "T", "B", "U"])
    for c in ["new_provider", "u_out", "u_pc", "u_urn"]:
        ev = ev.with_columns(
            pl.when(placement_starts).then(pl.col(c)).otherwise(None).forward_fill().over("pid").alias(c)
        )
    ev = ev.with_columns(
        pl.when(pl.col("next_rne").is_in(["P", "B", "T", "U"])).then(pl.lit("X")).otherwise(None).alias("needs_reason")
    )
    reasons = choice(rng, P.REASON_PLACE_CHANGE, m)
    ev = ev.with_columns(
        pl.when(pl.col("needs_reason").is_not_null())
        .then(pl.Series(reasons))
        .otherwise(None)
        .alias("reason_place_change")
    )
    return ev.select(
        "pid",
        "decom",
        "dec",
        "rne",
        "ls",
        "place",
        pl.col("new_provider").alias("place_provider"),
        "reason_place_change",
        "u_out",
        "u_pc",
        "u_urn",
        pl.col("next_rne"),
    )


def finish_episodes(
    cfg: SyntheticConfig, las: LAFrame, periods: pl.DataFrame, eps: pl.DataFrame, kids: pl.DataFrame
) -> pl.DataFrame:
    """Reasons an episode ceased, postcodes and URNs.

    * REC: ``X1`` when another episode of the period follows the same day; the period's last episode carries the
      route out of care (E11/E12 adoption; E45-E48 special guardianship, E45/E46 by former foster carers; E41
      child arrangements order; E4A/E4B/E13 home; at 18 E17 staying put with foster carers, E5/E6 independent
      living, E8; E3/E8/E9/E14/E16 other; UASC leaving for independent living at 18).
    * HOME_POST: a real postcode in the LA where the child lived; PL_POST: in the LA for own provision that is not
      foster care (rule 1015) and for most other placements, otherwise in another LA of the region (out of area);
      the home postcode when placed with parents (P1). UASC have no home postcode, so no distance (rules 392b,
      406), but a placement postcode (rule 169).
    * URN: Ofsted URN ("SC" + 6 digits) for registered settings and agency foster care, ``XXXXXXX`` for the LA's
      own foster and adoption placements and supported accommodation; blank where no URN is expected (P1, R1).
    """
    rng = cfg.rng("social-care", "cla-finish")
    n_p = periods.height
    per = periods.with_columns(pl.int_range(pl.len()).alias("pid"))
    # home postcode per period
    home = np.empty(n_p, dtype=object)
    # an LA later abolished: postcodes of the successor taking the case (its area, its lookup)
    la_p = np.where(las.abolished_day[per["la"].to_numpy()] < OPEN, per["la_after"].to_numpy(), per["la"].to_numpy())
    u_home = rng.random(n_p)
    for i in np.unique(la_p):
        pool = las.postcodes[int(i)]
        m = la_p == i
        home[m] = pool[(u_home[m] * len(pool)).astype(np.int64)]
    per = per.with_columns(pl.Series("home_post", home.astype(str)))
    e = eps.join(
        per.select("pid", "person_id", "la", "la_after", "end", "route", "uasc", "home_post", "age_start"),
        on="pid",
        maintain_order="left",
    )
    last = e["next_rne"].is_null().to_numpy() & (e["dec"] == e["end"]).to_numpy()
    m = e.height
    birth = kids["birth"].to_numpy()[e["person_id"].to_numpy().astype(np.int64)]
    age_end = (e["dec"].to_numpy() - birth) / P.DAYS_PER_YEAR
    route = e["route"].to_numpy()
    place = e["place"].to_numpy().astype(str)
    ls = e["ls"].to_numpy().astype(str)
    uasc = e["uasc"].to_numpy()
    rec = np.full(m, "X1", dtype=object)
    u = rng.random(m)
    foster = np.isin(place, FOSTER)
    kin = np.isin(place, ("U1", "U2", "U3"))
    at18 = age_end >= 17.99
    r_home = np.where(u < 0.75, "E4A", np.where(u < 0.85, "E4B", "E13"))
    r_adopt = np.where(u < 0.55, "E11", "E12")
    r_sgo = np.where(foster, np.where(kin, "E45", "E46"), np.where(u < 0.7, "E47", "E48"))
    r_18 = np.where(foster & (u < 0.45), "E17", np.where(u < 0.8, "E5", np.where(u < 0.9, "E6", "E8")))
    r_early_indep = np.where(u < 0.7, "E5", np.where(u < 0.85, "E6", "E8"))
    r_other = np.where(
        ls == "J1",
        "E14",
        np.where(
            u < 0.55,
            "E8",
            np.where(
                u < 0.7,
                "E3",
                np.where(
                    (u < 0.78) & (age_end >= 10),
                    "E9",
                    np.where(u < 0.85, "E16", np.where((u < 0.9) & (age_end >= 16), "E7", "E13")),
                ),
            ),
        ),
    )
    r_uasc = np.where(
        at18,
        np.where(u < 0.8, "E5", np.where(u < 0.9, "E6", "E8")),
        np.where(u < 0.5, "E8", np.where(u < 0.75, "E16", "E15")),
    )
    final = np.select(
        [
            uasc,
            route == ROUTE_CODE["home"],
            route == ROUTE_CODE["adoption"],
            route == ROUTE_CODE["sgo"],
            route == ROUTE_CODE["cao"],
            (route == ROUTE_CODE["age18"]) & at18,
            route == ROUTE_CODE["age18"],
        ],
        [r_uasc, r_home, r_adopt, r_sgo, np.full(m, "E41"), r_18, r_early_indep],
        r_other,
    )
    # adoption only from a placement for adoption (rule 390); SGO/CAO only before 18 (rule 407)
    final = np.where((route == ROUTE_CODE["adoption"]) & ~np.isin(place, ADOPTION_PLACES), "E8", final)
    final = np.where(np.isin(final, ["E45", "E46", "E47", "E48", "E41", "E11", "E12"]) & at18, "E8", final)
    rec = np.where(last, final, rec)
    # postcodes and URNs per placement (the draws were carried along each placement's episodes)
    la = e["la"].to_numpy()
    la = np.where(las.abolished_day[la] < OPEN, e["la_after"].to_numpy(), la)
    provider = e["place_provider"].to_numpy().astype(str)
    u_out = e["u_out"].to_numpy()
    u_pc = e["u_pc"].to_numpy()
    region = las.region[la]
    out_area = (u_out < 0.25) & ~((provider == "PR1") & ~np.isin(place, FOSTER + ADOPTION_PLACES)) & (place != "P1")
    pl_la = la.copy()
    if out_area.any():
        # another LA of the same region (any, for the few LAs alone in their region)
        for r in np.unique(region[out_area]):
            mm = out_area & (region == r)
            others = np.flatnonzero((las.region == r) & (las.abolished_day >= 10**6))
            pl_la[mm] = others[(u_pc[mm] * 7919 % 1 * len(others)).astype(np.int64) % len(others)]
    pl_post = np.empty(m, dtype=object)
    home_post = e["home_post"].to_numpy().astype(str)
    for i in np.unique(pl_la):
        pool = las.postcodes[int(i)]
        mm = pl_la == i
        pick = (u_pc[mm] * len(pool)).astype(np.int64)
        cand = pool[pick]
        clash = cand == home_post[mm]
        cand[clash] = pool[(pick[clash] + 1) % len(pool)]
        pl_post[mm] = cand
    pl_post = np.where(place == "P1", home_post, pl_post)
    urn_num = e["u_urn"].to_numpy()
    own = np.isin(provider, ["PR1", "PR2"])
    urn = np.where(
        np.isin(place, REGISTERED),
        np.char.add("SC", urn_num.astype(str)),
        np.where(
            np.isin(place, FOSTER + ADOPTION_PLACES) & ~own,
            np.char.add("SC", urn_num.astype(str)),
            np.where(np.isin(place, FOSTER + ADOPTION_PLACES + ("H5",)), "XXXXXXX", ""),
        ),
    )
    # supported accommodation is Ofsted-registered from 29 October 2023 (rule 230): its URN, shown from the
    # 2023-24 return on (before that XXXXXXX, rule 222; see returns.cla_year)
    urn = np.where(place == "H5", np.char.add("SC", urn_num.astype(str)), urn)
    out = e.with_columns(
        pl.Series("rec", rec.astype(str)),
        pl.Series(pl_post.astype(str)).alias("pl_post"),
        pl.when(pl.Series(uasc)).then(None).otherwise(pl.col("home_post")).alias("home_post"),
        pl.when(pl.Series(urn) == "").then(None).otherwise(pl.Series(urn)).alias("urn"),
    )
    return out.select(
        "pid",
        "person_id",
        "la",
        "decom",
        "dec",
        "rne",
        "ls",
        "place",
        "place_provider",
        "rec",
        "reason_place_change",
        "home_post",
        "pl_post",
        "urn",
    ).sort("pid", "decom")
