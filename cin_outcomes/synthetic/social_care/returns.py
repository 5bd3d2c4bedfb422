"""Each LA's returns for a reporting year, as the canonical tables of :mod:`cin_outcomes.tables`.

A return shows the LA's records as they stood on 31 March: records open at any time in the year, with dates after
31 March not yet known (a closure, a plan end, a DEC after 31 March is blank). What each return holds follows the
DfE rules of its collection:

* CIN census: every child with an episode open at some time in the year (NFA referrals in the year included);
  assessments completed in the year or still open; section 47 enquiries whose conference was in the year, still
  open, or (no conference needed) started in the year; child protection plans and CIN plans open at some time in
  the year (CIN plans from 2021-22), CPP reviews in the year. Sex as M/F/U (unborn children U, ethnicity NOBT).
* SSDA903: every child with an episode open at some time in the year, plus care leavers whose 17th to 21st
  birthday falls in the year (OC3, Header only otherwise); reviews, missing spells, social worker episodes (from
  2023-24) in the year; OC2 for children continuously looked after for 12 months (the DfE rule definition); AD1 for
  adoptions in the year; PlacedAdoption while a decision to place for adoption stands; PrevPerm for children
  starting care from 2016-17.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.draws import choice
from cin_outcomes.synthetic.social_care.timeline import OPEN, add_years, day, year_end, year_start
from cin_outcomes.tables import CIN_TABLES, SSDA903_TABLES, conform
from cin_outcomes.years import ReportingYear

FIRST_CIN_PLAN_YEAR = 2021  # CIN plan dates are collected from the 2021-22 census
FIRST_SW_YEAR = 2023  # SWEpisodes from 2023-24
FIRST_PREV_PERM_DAY = day(dt.date(2016, 4, 1))  # previous permanence for children starting care from April 2016
OC3_AGES = (17, 18, 19, 20, 21)
H5_REGISTERED = day(dt.date(2023, 10, 29))
H5_REGISTERED_YEAR = 2023


@dataclass
class Truth:
    """Everything the returns are cut from (days since 1970; ``la_code`` 3-digit strings)."""

    children: pl.DataFrame  # person_id, birth, sex, ethnicity, upn, upn_day, state_school, uasc
    ids: pl.DataFrame  # person_id, la_code, la_child_id, upn_recorded
    former: pl.DataFrame  # person_id, former_upn
    disabilities: pl.DataFrame  # person_id, disabilities
    episodes: pl.DataFrame  # ep, person_id, la_code, la_child_id, upn_recorded, start, end, closure_reason, ...
    assessments: pl.DataFrame  # ep, start, authorised, factors
    section47: pl.DataFrame  # ep, start, icpc_target, icpc, not_required
    cpps: pl.DataFrame  # ep, start, end, transfer_in, number_of_previous_cpp, initial/latest_category, review_days
    plans: pl.DataFrame  # ep, start, end
    cla_episodes: pl.DataFrame  # pid, person_id, la_code, child, upn_recorded, decom, dec, rne, ls, place, ...
    periods: pl.DataFrame  # pid, person_id, la_code, start, end, uasc, route
    reviews: pl.DataFrame
    missing: pl.DataFrame
    social_workers: pl.DataFrame
    adoptions: pl.DataFrame
    prev_perm: pl.DataFrame
    mothers: pl.DataFrame
    factor_pool: pl.Series  # factor combinations the assessments' ``factors`` index

    @property
    def factor_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"factors": np.arange(self.factor_pool.len(), dtype=np.int16), "factor_list": self.factor_pool}
        )


def _d(col: str, e: int | None = None) -> pl.Expr:
    """Day column as a Date; days after ``e`` (not yet happened on 31 March) and OPEN become null."""
    c = pl.col(col)
    cut = OPEN if e is None else e + 1
    return pl.when(c < cut).then(c).otherwise(None).cast(pl.Int32).cast(pl.Date).alias(col)


def _rank_in_runs(*keys: pl.Series) -> np.ndarray:
    """1, 2, ... within each run of equal keys of a sorted frame (Int16)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int16)
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        a = k.to_numpy()
        new[1:] |= a[1:] != a[:-1]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return (np.arange(n) - start + 1).astype(np.int16)


def _key(y: ReportingYear) -> list[pl.Expr]:
    return [pl.lit(y.label).alias("reporting_year")]


def cin_year(cfg: SyntheticConfig, t: Truth, y: ReportingYear, las: list[str]) -> dict[str, pl.DataFrame]:
    """The CIN census tables of every LA in ``las`` for reporting year ``y``."""
    s, e = year_start(y.start), year_end(y.start)
    eps = t.episodes.filter(pl.col("la_code").is_in(las) & (pl.col("start") <= e) & (pl.col("end") >= s))
    # episodes numbered in referral order within the child's record (a child is one person in one LA)
    eps = eps.sort("person_id", "la_code", "start", "ep")
    eps = eps.with_columns(pl.Series("episode_number", _rank_in_runs(eps["person_id"], eps["la_code"])))
    icpc_cin = (
        t.cpps.filter(pl.col("transfer_in") & (pl.col("start") <= e))
        .group_by("ep")
        .agg(pl.col("start").min().alias("icpc_cin"))
    )
    eps = eps.join(icpc_cin, on="ep", how="left", maintain_order="left")
    episodes = eps.select(
        *_key(y),
        "la_code",
        "la_child_id",
        "episode_number",
        _d("start").alias("referral_date"),
        "referral_source",
        "primary_need",
        _d("end", e).alias("closure_date"),
        pl.when(pl.col("end") <= e).then(pl.col("closure_reason")).otherwise(None).alias("closure_reason"),
        pl.col("nfa").alias("referral_nfa"),
        _d("icpc_cin").alias("date_of_initial_cpc"),
    )
    ep_key = eps.select("ep", "la_code", "la_child_id", "episode_number")

    # children
    kids = eps.group_by("la_code", "la_child_id", "person_id", "upn_recorded").agg(pl.col("nfa").all().alias("all_nfa"))
    kids = (
        kids.join(t.children, on="person_id", how="left", maintain_order="left")
        .join(t.former, on="person_id", how="left", maintain_order="left")
        .join(t.disabilities, on="person_id", how="left", maintain_order="left")
    )
    five = int(add_years(np.array([e]), -5)[0])
    has_upn = (pl.col("upn_day") <= e) & pl.col("upn").is_not_null()
    upn = pl.when(has_upn & pl.col("upn_recorded")).then(pl.col("upn")).otherwise(None)
    unborn = pl.col("birth") > e
    reason = (
        pl.when(unborn | (pl.col("birth") > five))
        .then(pl.lit("UN1"))
        .when(pl.col("all_nfa"))
        .then(pl.lit("UN7"))
        .when(pl.col("uasc") | ~pl.col("state_school"))
        .then(pl.lit("UN2"))
        .otherwise(pl.lit("UN5"))
    )
    children = kids.select(
        *_key(y),
        "la_code",
        "la_child_id",
        upn.alias("upn"),
        pl.when(has_upn & pl.col("upn_recorded")).then(pl.col("former_upn")).otherwise(None).alias("former_upn"),
        pl.when(upn.is_null()).then(reason).otherwise(None).alias("upn_unknown"),
        pl.when(~unborn).then(pl.col("birth")).otherwise(None).cast(pl.Int32).cast(pl.Date).alias("birth_date"),
        pl.when(unborn).then(pl.col("birth")).otherwise(None).cast(pl.Int32).cast(pl.Date).alias("expected_birth_date"),
        pl.when(unborn).then(pl.lit("U")).otherwise(pl.col("sex")).alias("sex"),
        pl.lit(None, dtype=pl.Date).alias("death_date"),
        pl.when(unborn).then(pl.lit("NOBT")).otherwise(pl.col("ethnicity")).alias("ethnicity"),
        pl.col("disabilities").fill_null(pl.lit(["NONE"])).alias("disabilities"),
    )

    a = (
        t.assessments.filter((pl.col("start") <= e) & (pl.col("authorised") >= s))
        .join(ep_key, on="ep", maintain_order="left")
        .join(t.factor_frame, on="factors", how="left", maintain_order="left")
    )
    assessments = a.select(
        *_key(y),
        "la_code",
        "la_child_id",
        "episode_number",
        _d("start", e).alias("start_date"),
        pl.lit(None, dtype=pl.Date).alias("internal_review_date"),
        _d("authorised", e).alias("authorisation_date"),
        pl.when(pl.col("authorised") <= e).then(pl.col("factor_list")).otherwise(None).alias("factors"),
    )

    s47 = t.section47.filter(
        (pl.col("start") <= e)
        & ((~pl.col("not_required") & (pl.col("icpc") >= s)) | (pl.col("not_required") & (pl.col("start") >= s)))
    ).join(ep_key, on="ep", maintain_order="left")
    section47 = s47.select(
        *_key(y),
        "la_code",
        "la_child_id",
        "episode_number",
        _d("start").alias("start_date"),
        _d("icpc_target").alias("icpc_target_date"),
        _d("icpc", e).alias("icpc_date"),
        pl.col("not_required").alias("icpc_not_required"),
    )

    c = t.cpps.filter((pl.col("start") <= e) & (pl.col("end") >= s)).join(ep_key, on="ep", maintain_order="left")
    cpps = c.select(
        *_key(y),
        "la_code",
        "la_child_id",
        "episode_number",
        _d("start").alias("start_date"),
        _d("end", e).alias("end_date"),
        "initial_category",
        "latest_category",
        "number_of_previous_cpp",
        pl.col("review_days")
        .list.eval(pl.element().filter((pl.element() >= s) & (pl.element() <= e)).cast(pl.Int32).cast(pl.Date))
        .alias("review_dates"),
    )

    if y.start >= FIRST_CIN_PLAN_YEAR:
        p = t.plans.filter((pl.col("start") <= e) & (pl.col("end") >= s)).join(ep_key, on="ep", maintain_order="left")
        plans = p.select(
            *_key(y),
            "la_code",
            "la_child_id",
            "episode_number",
            _d("start").alias("start_date"),
            _d("end", e).alias("end_date"),
        )
    else:
        plans = pl.DataFrame(schema=CIN_TABLES["cin_plans"])
    out = {
        "cin_children": children,
        "cin_episodes": episodes,
        "cin_assessments": assessments,
        "cin_plans": plans,
        "section47": section47,
        "child_protection_plans": cpps,
    }
    order = {"cin_children": ["la_code", "la_child_id"]}
    return {
        k: conform(v, CIN_TABLES[k]).sort(
            order.get(k, ["la_code", "la_child_id", "episode_number"])
            + (["start_date"] if "start_date" in CIN_TABLES[k] else [])
        )
        for k, v in out.items()
    }


def continuously_looked_after(eps: pl.DataFrame, s: int, e: int) -> pl.DataFrame:
    """DfE rule definition (lac_validator ``add_col_to_episodes_CONTINUOUSLY_LOOKED_AFTER``) per child."""
    during = (pl.col("decom") <= e) & (pl.col("dec_full").is_null() | (pl.col("dec_full") >= s))
    enters = (pl.col("rne") == "S") & (pl.col("decom") > s) & (pl.col("decom") <= e)
    leaves = (pl.col("rec_shown").fill_null("") != "X1") & (pl.col("dec_shown") >= s) & (pl.col("dec_shown") < e)
    respite = pl.col("ls").is_in(["V3", "V4"]) & during
    return (
        eps.group_by("la_code", "child")
        .agg(
            during.any().alias("any"),
            (enters | leaves.fill_null(False) | respite).any().alias("broken"),
            (pl.col("decom") <= e).any().alias("x"),
        )
        .filter(pl.col("any") & ~pl.col("broken"))
        .select("la_code", "child")
    )


def cla_year(cfg: SyntheticConfig, t: Truth, y: ReportingYear, las: list[str]) -> dict[str, pl.DataFrame]:
    """The SSDA903 tables of every LA in ``las`` for reporting year ``y``."""
    rng = cfg.rng("social-care", "903-year", y.start)
    s, e = year_start(y.start), year_end(y.start)
    ep = t.cla_episodes.filter(pl.col("la_code").is_in(las) & (pl.col("decom") <= e) & (pl.col("dec") >= s))
    ep = ep.with_columns(
        pl.when(pl.col("dec") <= e).then(pl.col("dec")).otherwise(None).alias("dec_shown"),
        pl.when(pl.col("dec") <= e).then(pl.col("rec")).otherwise(None).alias("rec_shown"),
        pl.when(pl.col("dec") <= e).then(pl.col("dec")).otherwise(None).alias("dec_full"),
    )
    episodes = ep.select(
        *_key(y),
        "la_code",
        "child",
        _d("decom"),
        "rne",
        "ls",
        pl.lit(None, dtype=pl.Utf8).alias("cin"),
        "place",
        "place_provider",
        _d("dec", e),
        pl.col("rec_shown").alias("rec"),
        pl.when(pl.col("dec") <= e).then(pl.col("reason_place_change")).otherwise(None).alias("reason_place_change"),
        "home_post",
        "pl_post",
        # supported accommodation (H5) has an Ofsted URN from 29 October 2023 (rules 222 and 230)
        pl.when((pl.col("place") == "H5") & ((y.start < H5_REGISTERED_YEAR) | (pl.col("dec") < H5_REGISTERED)))
        .then(pl.lit("XXXXXXX"))
        .otherwise(pl.col("urn"))
        .alias("urn"),
        "pid",
    )
    # category of need at the start of the period: the CIN episode's primary need (N1-N8)
    need = t.periods.select("pid", "cin").unique("pid", keep="first", maintain_order=True)
    episodes = (
        episodes.drop("cin")
        .join(need, on="pid", how="left", maintain_order="left")
        .with_columns(pl.col("cin").fill_null("N2"))
    )

    # care leavers (OC3): 17th to 21st birthday in the year, after leaving care at 16+
    leavers = t.periods.filter(pl.col("la_code").is_in(las) & pl.col("care_leaver") & (pl.col("end") < e))
    leavers = leavers.join(t.children.select("person_id", "birth"), on="person_id", maintain_order="left")
    bdays = []
    for age in OC3_AGES:
        b = pl.col("birth").map_batches(lambda x, a=age: pl.Series(add_years(x.to_numpy(), a)), return_dtype=pl.Int64)
        bdays.append(leavers.with_columns(b.alias("bday"), pl.lit(age).alias("age")))
    oc3 = pl.concat(bdays).filter((pl.col("bday") >= s) & (pl.col("bday") <= e) & (pl.col("end") < pl.col("bday")))
    # not if looked after again on the birthday (in any period of the LA)
    again = t.periods.select("person_id", "la_code", pl.col("start").alias("s2"), pl.col("end").alias("e2"))
    oc3 = (
        oc3.join(again, on=["person_id", "la_code"], how="left", maintain_order="left")
        .with_columns(
            ((pl.col("s2") <= pl.col("bday")) & (pl.col("e2") >= pl.col("bday"))).fill_null(False).alias("lac")
        )
        .group_by("person_id", "la_code", "bday", "age")
        .agg(pl.col("lac").any(), pl.col("end").max())
        .filter(~pl.col("lac"))
    )
    oc3 = oc3.sort("la_code", "person_id", "bday").unique(["person_id", "la_code"], keep="last", maintain_order=True)
    oc3 = oc3.join(
        t.ids.select("person_id", "la_code", pl.col("la_child_id").alias("child"), "upn_recorded"),
        on=["person_id", "la_code"],
        maintain_order="left",
    )

    # header: children with episodes, and care leavers
    with_eps = ep.group_by("la_code", "child", "person_id", "upn_recorded").agg(
        (~pl.col("ls").is_in(["V3", "V4"])).any().alias("non_respite")
    )
    only_oc3 = (
        oc3.select("la_code", "child", "person_id", "upn_recorded")
        .join(with_eps.select("la_code", "child"), on=["la_code", "child"], how="anti")
        .with_columns(pl.lit(False).alias("non_respite"), pl.lit(True).alias("oc3_only"))
    )
    heads = pl.concat([with_eps.with_columns(pl.lit(False).alias("oc3_only")), only_oc3])
    heads = heads.join(t.children, on="person_id", how="left", maintain_order="left")
    mothers = t.mothers.filter(pl.col("mc_dob") <= e)
    heads = heads.join(mothers, on="person_id", how="left", maintain_order="left")
    has_upn = (pl.col("upn_day") <= e) & pl.col("upn").is_not_null() & pl.col("upn_recorded")
    aug31 = day(dt.date(y.start - 1, 8, 31))
    under_school = (
        pl.col("birth").map_batches(lambda x: pl.Series(add_years(x.to_numpy(), 4)), return_dtype=pl.Int64) > aug31
    )
    upn903 = (
        pl.when(has_upn)
        .then(pl.col("upn"))
        .when(under_school)
        .then(pl.lit("UN1"))
        .when(pl.col("uasc") | ~pl.col("state_school"))
        .then(pl.lit("UN2"))
        .otherwise(pl.lit("UN5"))
    )
    mother = (
        pl.when((pl.col("sex") == "F") & pl.col("non_respite"))
        .then(pl.col("mc_dob").is_not_null().cast(pl.Int8))
        .otherwise(None)
    )
    header = heads.select(
        *_key(y),
        "la_code",
        "child",
        "sex",
        _d("birth").alias("dob"),
        pl.col("ethnicity").alias("ethnic"),
        upn903.alias("upn"),
        mother.alias("mother"),
        pl.when(mother == 1).then(pl.col("mc_dob")).otherwise(None).cast(pl.Int32).cast(pl.Date).alias("mc_dob"),
    )
    dob = heads.select("la_code", "child", "person_id", "birth", "oc3_only", "uasc", "sex")

    uasc = dob.filter(pl.col("uasc") & ~pl.col("oc3_only")).with_columns(
        pl.col("birth")
        .map_batches(lambda x: pl.Series(add_years(x.to_numpy(), 18)), return_dtype=pl.Int64)
        .alias("b18")
    )
    uasc_t = uasc.select(
        *_key(y),
        "la_code",
        "child",
        "sex",
        _d("birth").alias("dob"),
        pl.col("b18").cast(pl.Int32).cast(pl.Date).alias("duc"),
    )

    pids = ep.select("pid", "la_code", "child").unique().filter(pl.col("pid") >= 0)
    pid_dob = pids.join(dob.select("la_code", "child", "birth"), on=["la_code", "child"], maintain_order="left")
    rv = t.reviews.filter((pl.col("review") >= s) & (pl.col("review") <= e)).join(
        pid_dob, on="pid", maintain_order="left"
    )
    reviews = rv.select(*_key(y), "la_code", "child", _d("birth").alias("dob"), _d("review"), "review_code")
    ms = t.missing.filter((pl.col("mis_start") >= s) & (pl.col("mis_start") <= e)).join(
        pid_dob, on="pid", maintain_order="left"
    )
    missing = ms.select(
        *_key(y), "la_code", "child", _d("birth").alias("dob"), "missing", _d("mis_start"), _d("mis_end", e)
    )

    # OC2: continuously looked after for 12 months
    cont = (
        continuously_looked_after(ep, s, e)
        .join(dob, on=["la_code", "child"], maintain_order="left")
        .sort("la_code", "child")
    )
    n2 = cont.height
    b = cont["birth"].to_numpy()
    age_s = (s - b) / P.DAYS_PER_YEAR
    age_e = (e - b) / P.DAYS_PER_YEAR
    four_at_s = add_years(b, 4) <= s
    under17_e = add_years(b, 17) > e
    # rule 186 (4 at the start, under 17 at the end) and 197B (4th or 17th birthday in the year)
    sdq_due = (four_at_s & under17_e) | ((add_years(b, 4) <= e) & (add_years(b, 17) > s))
    has_score = sdq_due & (rng.random(n2) < 0.8)
    score = np.clip(np.round(13 + 7 * rng.standard_normal(n2)), 0, 40).astype(np.int16)
    sdq_reason = choice(rng, {"SDQ2": 0.2, "SDQ3": 0.2, "SDQ4": 0.4, "SDQ5": 0.2}, n2)
    ten = add_years(b, 10) <= e
    five = add_years(b, 5) > e
    sub = (age_e >= 11) & (rng.random(n2) < 0.04)
    received = np.where(sub, (rng.random(n2) < 0.7).astype(np.int8), -1)

    def opt(mask, values):
        return pl.Series(np.where(mask, values, -1)).replace(-1, None)

    oc2 = cont.select(*_key(y), "la_code", "child", _d("birth").alias("dob")).with_columns(
        opt(has_score, score).cast(pl.Int16).alias("sdq_score"),
        pl.Series("sdq_reason", sdq_reason.astype(str)).zip_with(
            pl.Series(sdq_due & ~has_score), pl.Series([None] * n2, dtype=pl.Utf8)
        ),
        opt(ten, (rng.random(n2) < 0.03).astype(np.int8)).cast(pl.Int8).alias("convicted"),
        opt(five, (rng.random(n2) < 0.88).astype(np.int8)).cast(pl.Int8).alias("health_check"),
        pl.Series((rng.random(n2) < 0.9).astype(np.int8)).alias("immunisations"),
        pl.Series((rng.random(n2) < 0.85).astype(np.int8)).alias("teeth_check"),
        pl.Series((rng.random(n2) < 0.9).astype(np.int8)).alias("health_assessment"),
        pl.Series(sub.astype(np.int8)).alias("substance_misuse"),
        opt(sub, received).cast(pl.Int8).alias("intervention_received"),
        opt(sub & (received == 0), (rng.random(n2) < 0.5).astype(np.int8)).cast(pl.Int8).alias("intervention_offered"),
    )
    del age_s

    n3 = oc3.height
    u = rng.random(n3)
    in_touch = np.where(u < 0.86, "YES", np.where(u < 0.95, "NO", "REFU"))
    activ = choice(
        rng,
        {
            "F1": 0.08,
            "P1": 0.01,
            "F2": 0.25,
            "P2": 0.04,
            "F4": 0.06,
            "P4": 0.02,
            "F5": 0.06,
            "P5": 0.03,
            "G4": 0.08,
            "G5": 0.05,
            "G6": 0.32,
        },
        n3,
    )
    age3 = oc3["age"].to_numpy()
    accom = choice(
        rng,
        {
            "B1": 0.14,
            "B2": 0.02,
            "C1": 0.02,
            "D1": 0.18,
            "E1": 0.07,
            "K1": 0.04,
            "U1": 0.3,
            "U2": 0.02,
            "V1": 0.02,
            "W1": 0.01,
            "Y1": 0.04,
            "Z1": 0.12,
            "X2": 0.02,
        },
        n3,
    )
    accom = np.where((age3 == 17) & np.isin(accom, ["Z1", "Z2"]), "D1", accom)
    oc3_t = (
        oc3.join(dob.select("la_code", "child", "birth"), on=["la_code", "child"], maintain_order="left")
        .select(*_key(y), "la_code", "child", _d("birth").alias("dob"))
        .with_columns(
            pl.Series(in_touch).alias("in_touch"),
            pl.Series(np.where(in_touch == "YES", activ, "0")).alias("activ"),
            pl.Series(np.where(in_touch == "YES", accom, "0")).alias("accom"),
        )
    )

    ad = t.adoptions.join(pid_dob, on="pid", maintain_order="left")
    ad1 = ad.filter((pl.col("adopted") >= s) & (pl.col("adopted") <= e)).select(
        *_key(y),
        "la_code",
        "child",
        _d("birth").alias("dob"),
        _d("date_int"),
        _d("date_match"),
        "foster_care",
        "nb_adoptr",
        "sex_adoptr",
        "ls_adoptr",
    )
    placed = ad.filter((pl.col("date_placed") <= e) & (pl.col("adopted") >= s)).select(
        *_key(y),
        "la_code",
        "child",
        _d("birth").alias("dob"),
        _d("date_placed"),
        pl.lit(None, dtype=pl.Date).alias("date_placed_ceased"),
        pl.lit(None, dtype=pl.Utf8).alias("reason_placed_ceased"),
    )

    # every child starting to be looked after in the year (short breaks included, rule 630): the first start
    starts = ep.filter((pl.col("rne") == "S") & (pl.col("decom") >= s) & (pl.col("decom") >= FIRST_PREV_PERM_DAY))
    starts = starts.sort("la_code", "child", "decom").unique(["la_code", "child"], keep="first", maintain_order=True)
    prev = (
        starts.select("la_code", "child", "pid")
        .join(dob.select("la_code", "child", "birth"), on=["la_code", "child"], maintain_order="left")
        .join(t.prev_perm, on="pid", how="left", maintain_order="left")
        .select(
            *_key(y),
            "la_code",
            "child",
            _d("birth").alias("dob"),
            pl.col("prev_perm").fill_null("Z1"),
            "la_perm",
            _d("date_perm"),
        )
    )

    if y.start >= FIRST_SW_YEAR:
        sw = t.social_workers.filter((pl.col("sw_decom") <= e) & (pl.col("sw_dec") >= s)).join(
            pid_dob, on="pid", maintain_order="left"
        )
        sw_t = sw.select(
            *_key(y),
            "la_code",
            "child",
            _d("birth").alias("dob"),
            "sw_id",
            _d("sw_decom"),
            _d("sw_dec", e),
            "sw_reason",
        )
    else:
        sw_t = pl.DataFrame(schema=SSDA903_TABLES["SWEpisodes"])
    out = {
        "Header": header,
        "Episodes": episodes.drop("pid"),
        "UASC": uasc_t,
        "Reviews": reviews,
        "OC2": oc2,
        "OC3": oc3_t,
        "AD1": ad1,
        "PlacedAdoption": placed,
        "PrevPerm": prev,
        "Missing": missing,
        "SWEpisodes": sw_t,
    }
    sort_by = {
        "Episodes": ["decom", "dec"],
        "Reviews": ["review"],
        "Missing": ["mis_start"],
        "SWEpisodes": ["sw_decom"],
    }
    return {
        k: conform(v, SSDA903_TABLES[k]).sort(["la_code", "child"] + sort_by.get(k, []), nulls_last=True)
        for k, v in out.items()
    }
