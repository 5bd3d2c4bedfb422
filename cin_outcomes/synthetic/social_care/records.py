"""From spells of need to the records an LA keeps: CIN episodes, assessments, section 47 enquiries, child
protection plans and CIN plans, all in days since 1970 (``OPEN`` = not closed by the end of the simulation).

* Overlapping spells of one child merge into one episode of need (referral at the first spell's start, closure
  at the last spell's end; closure reason from the spell that ends it: RC1 adoption, RC4 SGO, RC3 child
  arrangements order, RC8/RC9 closed after assessment, RC6 adult social care, RC7 otherwise).
* An episode is the LA's: the LA looking after the child for an episode with care; otherwise the LA the child
  lives in, so a family move closes the episode (RC5) and the new LA opens one with a referral from another LA
  (source 5C), carrying a child protection plan over through a transfer-in conference (ICPC recorded on the
  episode). When an LA is abolished its open cases pass whole to the successor, which returns them from then on.
* Within an episode: an assessment after the referral (and a re-assessment about yearly), a section 47 enquiry
  before every initial child protection conference (conference on a weekday, plan start = conference date), and
  CIN plans in the time not covered by a child protection plan or care (never concurrent with a CPP).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.cin import KIND
from cin_outcomes.synthetic.social_care.cla import ROUTE_CODE
from cin_outcomes.synthetic.social_care.draws import choice, uniform_days
from cin_outcomes.synthetic.social_care.events import inside, la_index_at, union_intervals
from cin_outcomes.synthetic.social_care.timeline import OPEN, LAFrame, add_working_days, to_weekday

CLOSURE_BY_ROUTE = {ROUTE_CODE["adoption"]: "RC1", ROUTE_CODE["sgo"]: "RC4", ROUTE_CODE["cao"]: "RC3"}


def merge_spells(spells: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Groups of overlapping spells per child: (groups: g, person_id, start, end; group of each spell)."""
    c, s, e, grp = union_intervals(
        spells["person_id"].to_numpy().astype(np.int64), spells["start"].to_numpy(), spells["end"].to_numpy()
    )
    groups = pl.DataFrame({"g": np.arange(len(c)), "person_id": c, "start": s, "end": e})
    return groups, grp


def residence_changes(population, las: LAFrame) -> pl.DataFrame:
    """Every move of LA: person_id, day, la (new, index), prev, reorg (the move is an LA reorganisation)."""
    person, day, prev, new = las.residence(population).moves()
    reorg = las.abolished_day[prev] == day
    for i in np.unique(prev[reorg]):
        m = reorg & (prev == i)
        reorg[m] = np.isin(new[m], las.successor_set(i))
    return pl.DataFrame({"person_id": person, "day": day, "la": new, "prev": prev, "reorg": reorg})


def segment(
    cfg: SyntheticConfig, las: LAFrame, population, spells: pl.DataFrame, periods: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CIN episodes per LA from spells. Returns (episodes, spells with their group ``g``).

    Episodes: ep (id), g, person_id, la, start, end, seq (0 = first segment of the group), last (bool),
    successor_copy (a copy returned by the LA that took over an abolished LA's case).
    """
    groups, grp = merge_spells(spells)
    spells = spells.with_columns(pl.Series("g", grp))
    first = (
        spells.sort("g", "start", "kind")
        .group_by("g", maintain_order=True)
        .agg(pl.col("la").first(), pl.col("la_after").first(), pl.col("kind").first().alias("first_kind"))
    )
    care = (
        spells.filter(pl.col("kind").is_in([KIND["cla"], KIND["uasc"]]))
        .sort("g", "start")
        .group_by("g", maintain_order=True)
        .agg(pl.col("la").first().alias("care_la"), pl.col("la_after").first().alias("care_la_after"))
    )
    groups = groups.join(first, on="g", how="left", maintain_order="left").join(
        care, on="g", how="left", maintain_order="left"
    )
    moves = residence_changes(population, las)
    # cut groups without care at moves of LA (not at reorganisations: the successor inherits the case)
    plain = groups.filter(pl.col("care_la").is_null()).select("g", "person_id", "start", "end")
    cuts = (
        plain.join(moves.filter(~pl.col("reorg")), on="person_id", maintain_order="left")
        .filter((pl.col("day") > pl.col("start")) & (pl.col("day") < pl.col("end")))
        .select("g", "day")
    )
    bounds = pl.concat([plain.select("g", pl.col("start").alias("day")), cuts]).unique().sort("g", "day")
    segs = bounds.join(plain.select("g", "person_id", "end"), on="g", maintain_order="left").with_columns(
        pl.col("day").shift(-1).over("g").fill_null(pl.col("end")).alias("seg_end"),
        pl.int_range(pl.len()).over("g").alias("seq"),
    )
    segs = segs.select("g", "person_id", pl.col("day").alias("start"), pl.col("seg_end").alias("end"), "seq")
    # LA of each plain segment: residence at its start
    seg_la = la_index_at(population, las, segs["person_id"].to_numpy(), segs["start"].to_numpy())
    segs = segs.with_columns(pl.Series("la", seg_la))
    care_segs = groups.filter(pl.col("care_la").is_not_null()).select(
        "g", "person_id", "start", "end", pl.lit(0, dtype=pl.Int64).alias("seq"), pl.col("care_la").alias("la")
    )
    eps = pl.concat(
        [
            segs.with_columns(pl.col("seq").cast(pl.Int64), pl.col("la").cast(pl.Int64)),
            care_segs.with_columns(pl.col("la").cast(pl.Int64)),
        ],
        how="vertical_relaxed",
    )
    eps = eps.with_columns((pl.col("seq") == pl.col("seq").max().over("g")).alias("last")).sort("person_id", "start")
    # successor LAs inherit cases open when an LA is abolished
    abol = las.abolished_day[eps["la"].to_numpy()]
    open_at = (eps["start"].to_numpy() < abol) & (eps["end"].to_numpy() > abol)
    inherit = eps.filter(pl.Series(open_at))
    if inherit.height:
        # the successor the child's residence moved to on the day, else the first successor
        known = inherit["person_id"].to_numpy() < population.children.height  # UASC are not in the population
        res = np.where(
            known,
            la_index_at(population, las, np.where(known, inherit["person_id"].to_numpy(), 0), abol[open_at]),
            las.n,
        )
        la0 = inherit["la"].to_numpy()
        ok = np.zeros(len(res), dtype=bool)
        for i in np.unique(la0):
            m = la0 == i
            ok[m] = np.isin(res[m], las.successor_set(i))
        succ = np.where(ok, res, las.first_successor[la0])
        eps = pl.concat(
            [
                eps.with_columns(pl.lit(False).alias("successor_copy")),
                inherit.with_columns(pl.Series("la", succ.astype(np.int64)), pl.lit(True).alias("successor_copy")),
            ]
        )
    else:
        eps = eps.with_columns(pl.lit(False).alias("successor_copy"))
    eps = eps.sort("person_id", "start", "la").with_columns(pl.int_range(pl.len()).alias("ep"))
    # care periods belong to the LA of their episode
    return eps, spells


def closure_reasons(
    cfg: SyntheticConfig, eps: pl.DataFrame, spells: pl.DataFrame, periods: pl.DataFrame, kids: pl.DataFrame
) -> pl.DataFrame:
    """Add referral source, primary need, closure reason and the episode's kind mix."""
    rng = cfg.rng("social-care", "episode-codes")
    per = periods.with_columns(pl.int_range(pl.len()).alias("period")).select("period", "route")
    closing = (
        spells.join(per, on="period", how="left", maintain_order="left")
        .sort("g", "end", "kind", descending=[False, False, True])
        .group_by("g", maintain_order=True)
        .agg(pl.col("kind").last().alias("close_kind"), pl.col("route").last().alias("close_route"))
    )
    mix = spells.group_by("g").agg(
        (pl.col("kind") == KIND["short"]).all().alias("only_short"),
        pl.col("kind").min().alias("top_kind"),
        pl.col("kind").filter(pl.col("start") == pl.col("start").min()).min().alias("first_kind"),
    )
    eps = eps.join(closing, on="g", how="left", maintain_order="left").join(
        mix, on="g", how="left", maintain_order="left"
    )
    n = eps.height
    birth = kids["birth"].to_numpy()[eps["person_id"].to_numpy().astype(np.int64)]
    age_end = (eps["end"].to_numpy() - birth) / P.DAYS_PER_YEAR
    ck = eps["close_kind"].to_numpy()
    cr = eps["close_route"].fill_null(-1).to_numpy()
    reason = np.full(n, "RC7", dtype=object)
    care = np.isin(ck, [KIND["cla"], KIND["uasc"]])
    for route, rc in CLOSURE_BY_ROUTE.items():
        reason[care & (cr == route)] = rc
    adult = (age_end >= 17.5) & (rng.random(n) < 0.25) & ~np.isin(reason, ["RC1", "RC3", "RC4"])
    reason[adult & np.isin(ck, [KIND["respite"], KIND["long"], KIND["cla"]])] = "RC6"
    only_short = eps["only_short"].to_numpy()
    reason[only_short] = np.where(rng.random(int(only_short.sum())) < P.RC9_SHARE_OF_SHORT, "RC9", "RC8")
    plain_long = ck == KIND["long"]
    u = rng.random(n)
    reason[plain_long & (u < 0.02)] = "RC3"
    reason[plain_long & (u >= 0.02) & (u < 0.035)] = "RC4"
    last = eps["last"].to_numpy()
    reason = np.where(last, reason, "RC5")
    seq = eps["seq"].to_numpy()
    source = np.where(seq > 0, "5C", choice(rng, P.REFERRAL_SOURCES, n))
    fk = eps["first_kind"].to_numpy()
    need_plain = choice(rng, P.PRIMARY_NEED_PLAIN, n)
    need_care = choice(rng, P.PRIMARY_NEED_CARE, n)
    need_cpp = choice(rng, {"N1": 0.82, "N4": 0.06, "N5": 0.10, "N3": 0.02}, n)
    need_uasc = np.where(rng.random(n) < 0.8, "N8", "N4")
    top = eps["top_kind"].to_numpy()
    need = np.where(
        np.isin(top, [KIND["cla"]]),
        need_care,
        np.where(
            top == KIND["uasc"],
            need_uasc,
            np.where(fk == KIND["respite"], "N2", np.where(top == KIND["cpp"], need_cpp, need_plain)),
        ),
    )
    return eps.with_columns(
        pl.Series("closure_reason", reason.astype(str)),
        pl.Series("referral_source", source),
        pl.Series("primary_need", need.astype(str)),
    )


def place_cpps(cfg: SyntheticConfig, eps: pl.DataFrame, cpps: pl.DataFrame) -> pl.DataFrame:
    """Child protection plans in their episodes; plans crossing an LA move continue in the new LA after a
    transfer-in conference. Columns: ep, person_id, start, end, transfer_in, number_of_previous_cpp."""
    rng = cfg.rng("social-care", "cpp-records")
    e = eps.filter(~pl.col("successor_copy")).sort("person_id", "start")
    ec = e["person_id"].to_numpy().astype(np.int64)
    es, ee, eid = e["start"].to_numpy(), e["end"].to_numpy(), e["ep"].to_numpy()
    c = cpps.sort("person_id", "start")
    cc = c["person_id"].to_numpy().astype(np.int64)
    cs, ce = c["start"].to_numpy(), c["end"].to_numpy()
    pos = inside(cc, cs, ec, es, ee)
    keep = pos >= 0
    cc, cs, ce, pos = cc[keep], cs[keep], ce[keep], pos[keep]
    rows = []
    transfer = np.zeros(len(cc), dtype=bool)
    cur_s, cur_e, cur_pos, cur_c = cs, ce, pos, cc
    for _ in range(6):  # a plan may cross several moves
        seg_end = ee[cur_pos]
        crosses = cur_e > seg_end
        part_e = np.where(crosses, seg_end, cur_e)
        ok = part_e > cur_s
        rows.append(
            pl.DataFrame(
                {
                    "ep": eid[cur_pos[ok]],
                    "person_id": cur_c[ok],
                    "start": cur_s[ok],
                    "end": part_e[ok],
                    "transfer_in": transfer[ok],
                }
            )
        )
        nxt = np.flatnonzero(crosses)
        if len(nxt) == 0:
            break
        new_pos = cur_pos[nxt] + 1
        valid = new_pos < len(ec)
        valid[valid] &= ec[new_pos[valid]] == cur_c[nxt[valid]]
        nxt, new_pos = nxt[valid], new_pos[valid]
        ns = to_weekday(add_working_days(es[new_pos], uniform_days(rng, 3, 12, len(nxt))))
        ok2 = ns < cur_e[nxt] - 7
        cur_s, cur_e, cur_pos, cur_c = ns[ok2], cur_e[nxt][ok2], new_pos[ok2], cur_c[nxt][ok2]
        transfer = np.ones(len(cur_s), dtype=bool)
    out = pl.concat(rows).sort("person_id", "start")
    out = out.with_columns(pl.int_range(pl.len()).over("person_id").cast(pl.Int16).alias("number_of_previous_cpp"))
    # plans of an inherited episode are the successor's too
    copies = eps.filter(pl.col("successor_copy")).select("ep", "person_id", "start")
    if copies.height:
        orig = eps.filter(~pl.col("successor_copy")).select(pl.col("ep").alias("orig_ep"), "person_id", "start")
        link = copies.join(orig, on=["person_id", "start"], maintain_order="left").select("ep", "orig_ep")
        dup = (
            out.join(link, left_on="ep", right_on="orig_ep", maintain_order="left")
            .drop("ep")
            .rename({"ep_right": "ep"})
        )
        out = pl.concat([out, dup.select(out.columns)])
    return out.sort("ep", "start")


def cpp_details(cfg: SyntheticConfig, plans: pl.DataFrame) -> pl.DataFrame:
    """Categories of abuse and review dates (first review within 3 months, then every 6 months)."""
    rng = cfg.rng("social-care", "cpp-details")
    n = plans.height
    init = choice(rng, P.ABUSE_CATEGORIES, n)
    latest = np.where(rng.random(n) < 0.85, init, choice(rng, P.ABUSE_CATEGORIES, n))
    s, e = plans["start"].to_numpy(), plans["end"].to_numpy()
    first = s + uniform_days(rng, 70, 90, n)
    k = np.where(first < e, 1 + np.maximum((e - first - 1) // 182, 0), 0)
    k = np.minimum(k, 12)
    idx = np.repeat(np.arange(n), k)
    j = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    rev = to_weekday(first[idx] + j * 182)
    rev = np.where((rev >= e[idx]) | (rev <= s[idx]), first[idx] + j * 182, rev)
    reviews = (
        pl.DataFrame({"i": idx, "review": rev})
        .filter(pl.col("review") < pl.Series(e[idx]))
        .group_by("i", maintain_order=True)
        .agg(pl.col("review"))
    )
    out = plans.with_columns(
        pl.Series("initial_category", init), pl.Series("latest_category", latest), pl.int_range(pl.len()).alias("i")
    )
    return (
        out.join(reviews, on="i", how="left", maintain_order="left")
        .drop("i")
        .with_columns(pl.col("review").fill_null(pl.lit([], dtype=pl.List(pl.Int64))).alias("review_days"))
        .drop("review")
    )


def assessments(cfg: SyntheticConfig, eps: pl.DataFrame) -> pl.DataFrame:
    """Assessments of every episode (not NFA): ep, start, authorised (OPEN if never), factors (an index into
    :func:`factor_pool`)."""
    rng = cfg.rng("social-care", "assessments")
    n = eps.height
    ref, clo = eps["start"].to_numpy(), eps["end"].to_numpy()
    s0 = ref + uniform_days(rng, 0, 7, n)
    a0 = s0 + uniform_days(rng, 10, 60, n)
    # a case closed after assessment closes the day it is authorised (set in the episode end already)
    short = eps["only_short"].to_numpy()
    a0 = np.where(short, clo, a0)
    s0 = np.minimum(s0, clo)
    a0 = np.minimum(np.maximum(a0, s0), clo)
    parts = [(np.arange(n), s0, a0)]
    prev = a0
    for _ in range(4):  # re-assessment about yearly while the case stays open
        s = prev + uniform_days(rng, 300, 540, n)
        ok = (s < clo - 60) & ~short
        a = np.minimum(s + uniform_days(rng, 15, 60, n), clo)
        parts.append((np.flatnonzero(ok), s[ok], a[ok]))
        prev = np.where(ok, a, OPEN)
    idx = np.concatenate([p[0] for p in parts])
    st = np.concatenate([p[1] for p in parts])
    au = np.concatenate([p[2] for p in parts])
    m = len(idx)
    # factors: each assessment takes one of a pool of drawn factor combinations (1-4 distinct codes); "21" (no
    # factors) for some cases closed after assessment (the last entry of the pool)
    pool = factor_pool(cfg)
    fidx = rng.integers(0, pool.len() - 1, m).astype(np.int16)
    none = short[idx] & (rng.random(m) < 0.3)
    fidx = np.where(none, pool.len() - 1, fidx).astype(np.int16)
    ep = eps["ep"].to_numpy()[idx]
    out = pl.DataFrame({"ep": ep, "start": st, "authorised": au, "factors": fidx})
    return out.sort("ep", "start")


FACTOR_POOL_SIZE = 4096


def factor_pool(cfg: SyntheticConfig) -> pl.Series:
    """Combinations of factors identified at assessment (sorted, distinct codes), drawn with the factor shares;
    the last entry is ``["21"]`` (no factors identified)."""
    rng = cfg.rng("social-care", "assessment-factors")
    n = FACTOR_POOL_SIZE
    k = rng.choice([1, 2, 3, 4], size=n, p=[0.35, 0.35, 0.2, 0.1])
    codes = np.array(list(P.ASSESSMENT_FACTORS))
    p = np.array(list(P.ASSESSMENT_FACTORS.values()))
    fi = np.repeat(np.arange(n), k)
    draws = codes[rng.choice(len(codes), size=len(fi), p=p / p.sum())]
    fac = (
        pl.DataFrame({"i": fi, "f": draws})
        .unique(["i", "f"], maintain_order=True)
        .sort("i", "f")
        .group_by("i", maintain_order=True)
        .agg(pl.col("f"))
    )
    return pl.concat([fac["f"], pl.Series("f", [["21"]])])


def section47(cfg: SyntheticConfig, eps: pl.DataFrame, plans: pl.DataFrame) -> pl.DataFrame:
    """Section 47 enquiries: one before every initial conference, and some that needed no conference."""
    rng = cfg.rng("social-care", "s47")
    icpc = plans.filter(~pl.col("transfer_in")).join(
        eps.select("ep", pl.col("start").alias("ref")), on="ep", maintain_order="left"
    )
    n = icpc.height
    conf = icpc["start"].to_numpy()
    st = np.maximum(conf - uniform_days(rng, 7, 18, n), icpc["ref"].to_numpy())
    st = np.minimum(st, conf)
    target = to_weekday(add_working_days(st, 15))
    with_conf = pl.DataFrame(
        {"ep": icpc["ep"], "start": st, "icpc_target": target, "icpc": conf, "not_required": np.zeros(n, dtype=bool)}
    )
    # enquiries that found no need for a conference, early in some longer episodes
    cand = eps.filter((pl.col("first_kind") == KIND["long"]) & ~pl.col("only_short"))
    m = cand.height
    pick = rng.random(m) < 0.25
    s2 = cand["start"].to_numpy() + uniform_days(rng, 1, 20, m)
    ok = pick & (s2 < cand["end"].to_numpy())
    nr = pl.DataFrame(
        {
            "ep": cand["ep"].to_numpy()[ok],
            "start": s2[ok],
            "icpc_target": to_weekday(add_working_days(s2[ok], 15)),
            "icpc": np.full(int(ok.sum()), OPEN),
            "not_required": np.ones(int(ok.sum()), dtype=bool),
        }
    )
    # an enquiry needing no conference must not fall within another enquiry of the episode
    nr = (
        nr.join(
            with_conf.select("ep", pl.col("start").alias("s"), pl.col("icpc").alias("c")),
            on="ep",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            ((pl.col("start") >= pl.col("s") - 30) & (pl.col("start") <= pl.col("c") + 30))
            .fill_null(False)
            .alias("clash")
        )
        .group_by("ep", "start", "icpc_target", "icpc", "not_required")
        .agg(pl.col("clash").any())
        .filter(~pl.col("clash"))
        .drop("clash")
    )
    # nor in an episode whose plan was transferred in (its conference is on the episode)
    transfer = plans.filter(pl.col("transfer_in")).select("ep").unique()
    nr = nr.join(transfer, on="ep", how="anti")
    return pl.concat([with_conf, nr.select(with_conf.columns)]).sort("ep", "start")


def cin_plans(
    cfg: SyntheticConfig, eps: pl.DataFrame, plans: pl.DataFrame, assess: pl.DataFrame, care_in_eps: pl.DataFrame
) -> pl.DataFrame:
    """CIN plans: the time of an episode not covered by a child protection plan or care, from the first
    assessment, for some episodes (ep, start, end; end = closure or the next plan/care start)."""
    rng = cfg.rng("social-care", "cin-plans")
    e = eps.filter(~pl.col("only_short") & (pl.col("closure_reason") != "RC8"))
    first_auth = assess.group_by("ep").agg(pl.col("authorised").min())
    e = e.join(first_auth, on="ep", how="left", maintain_order="left")
    n = e.height
    window = e["authorised"].fill_null(e["start"]).to_numpy() + uniform_days(rng, 0, 10, n)
    p_plan = np.where(
        e["first_kind"].to_numpy() == KIND["respite"],
        0.3,
        np.where(e["top_kind"].to_numpy() == KIND["long"], 0.65, 0.9),
    )
    has = rng.random(n) < p_plan
    e = e.with_columns(pl.Series("w", window)).filter(pl.Series(has))
    blocks = (
        pl.concat([plans.select("ep", "start", "end"), care_in_eps.select("ep", "start", "end")])
        .join(e.select("ep"), on="ep", how="semi")
        .sort("ep", "start")
    )
    # gaps between blocks (blocks of one episode do not overlap: CPPs end before care or at it)
    b = blocks.with_columns(pl.col("end").cum_max().over("ep").alias("cm"))
    gaps_mid = (
        b.with_columns(pl.col("start").shift(-1).over("ep").alias("next"))
        .filter(pl.col("next").is_not_null())
        .select("ep", pl.col("cm").alias("start"), pl.col("next").alias("end"))
    )
    first_b = b.group_by("ep").agg(pl.col("start").min().alias("b0"), pl.col("cm").max().alias("bl"))
    ee = e.select("ep", "w", pl.col("end").alias("close")).join(first_b, on="ep", how="left", maintain_order="left")
    gaps_first = ee.select("ep", pl.col("w").alias("start"), pl.col("b0").fill_null(pl.col("close")).alias("end"))
    gaps_last = ee.filter(pl.col("bl").is_not_null()).select(
        "ep", pl.col("bl").alias("start"), pl.col("close").alias("end")
    )
    gaps = pl.concat([gaps_first, gaps_mid, gaps_last]).join(
        e.select("ep", "w", pl.col("end").alias("close")), on="ep", maintain_order="left"
    )
    gaps = gaps.with_columns(
        pl.max_horizontal("start", "w").alias("start"), pl.min_horizontal("end", "close").alias("end")
    )
    gaps = gaps.filter(pl.col("end") - pl.col("start") >= 14).select("ep", "start", "end").unique().sort("ep", "start")
    return gaps


def nfa_referrals(nfa: pl.DataFrame, groups_by_person: pl.DataFrame) -> pl.DataFrame:
    """NFA referrals outside every episode of the child (none on an episode's first or last day either)."""
    g = groups_by_person.sort("person_id", "start")
    gc = g["person_id"].to_numpy().astype(np.int64)
    gs, ge = g["start"].to_numpy(), g["end"].to_numpy() + 1
    gc, gs, ge, _ = union_intervals(gc, gs, ge)
    c = nfa["person_id"].to_numpy().astype(np.int64)
    d = nfa["day"].to_numpy()
    ok = inside(c, d, gc, gs, ge) < 0
    return nfa.filter(pl.Series(ok)).unique(["person_id", "day"], keep="first", maintain_order=True)
