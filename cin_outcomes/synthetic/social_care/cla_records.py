"""What an LA records about its looked-after children beyond episodes (days since 1970; per period of care).

* Reviews: 20 working days after care starts, three months later, then every six months (participation PN0 under 4,
  else PN1-PN7).
* Missing / away from placement: teenagers go missing more often; short spells inside one placement and one
  reporting year.
* Social worker episodes: allocations over the period with a change every several months (SW_ID from the LA's pool
  of workers, "SW" + 6 digits), reported from 2023-24.
* Adoption: the decision that the child should be placed for adoption (before the placement order), matching
  with adopters (before placement), the adopters (single/couple, sexes, legal status, former foster carers).
* Previous permanence (children starting care): an adoption, SGO or child arrangements order that ended an earlier
  period of care of the same child, else Z1.
* Mothers: a few looked-after girls aged 14+ have a child (MOTHER, MC_DOB).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.draws import choice, uniform_days
from cin_outcomes.synthetic.social_care.timeline import (
    OPEN,
    LAFrame,
    add_working_days,
    add_years,
    reporting_year_of,
    year_end,
)


def reviews(cfg: SyntheticConfig, periods: pl.DataFrame, birth: np.ndarray) -> pl.DataFrame:
    """pid, review (day), review_code."""
    rng = cfg.rng("social-care", "cla-reviews")
    S, E = periods["start"].to_numpy(), periods["end"].to_numpy()
    n = len(S)
    first = add_working_days(S, 20)
    second = first + uniform_days(rng, 85, 95, n)
    k = np.where(first < E, 1, 0) + np.where(second < E, 1 + np.maximum((E - second - 1) // 182, 0), 0)
    k = np.minimum(k, 40)
    idx = np.repeat(np.arange(n), k)
    j = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    day = np.where(j == 0, first[idx], second[idx] + (j - 1) * 182 + rng.integers(-7, 8, len(idx)))
    day = np.minimum(day, E[idx] - 1)
    age = (day - birth[idx]) / P.DAYS_PER_YEAR
    code = np.where(
        age < 4,
        "PN0",
        choice(rng, {"PN1": 0.45, "PN2": 0.1, "PN3": 0.1, "PN4": 0.15, "PN5": 0.05, "PN6": 0.1, "PN7": 0.05}, len(idx)),
    )
    # a 4th birthday falls between the review date and the date the age was worked out: keep the rule's view
    b4 = add_years(birth[idx], 4)
    code = np.where(day < b4, "PN0", np.where(code == "PN0", "PN1", code))
    return (
        pl.DataFrame({"pid": idx, "review": day, "review_code": code}).unique(["pid", "review"]).sort("pid", "review")
    )


def missing(cfg: SyntheticConfig, periods: pl.DataFrame, episodes: pl.DataFrame, birth: np.ndarray) -> pl.DataFrame:
    """pid, missing (M/A), mis_start, mis_end: inside one episode, not across 31 March."""
    rng = cfg.rng("social-care", "cla-missing")
    S, E = periods["start"].to_numpy(), periods["end"].to_numpy()
    age0 = (S - birth) / P.DAYS_PER_YEAR
    rate = np.where(age0 >= 12, 0.9, np.where(age0 >= 9, 0.15, 0.0))
    k = rng.poisson(rate * np.maximum(E - S - 20, 0) / P.DAYS_PER_YEAR)
    k = np.minimum(k, 20)
    idx = np.repeat(np.arange(len(S)), k)
    start = S[idx] + 10 + (rng.random(len(idx)) * np.maximum(E[idx] - S[idx] - 20, 1)).astype(np.int64)
    end = start + rng.integers(0, 6, len(idx))
    m = pl.DataFrame(
        {"pid": idx, "mis_start": start, "mis_end": end, "missing": np.where(rng.random(len(idx)) < 0.6, "M", "A")}
    )
    # inside a single episode, and not over 31 March (a return covers one year)
    ep = episodes.select("pid", "decom", "dec").sort("pid", "decom")
    m = m.sort("mis_start").join_asof(
        ep.sort("decom"), left_on="mis_start", right_on="decom", by="pid", check_sortedness=False
    )
    m = m.filter((pl.col("mis_end") < pl.col("dec")) & (pl.col("mis_start") > pl.col("decom")))
    ys = reporting_year_of(m["mis_start"].to_numpy())
    ye = reporting_year_of(m["mis_end"].to_numpy())
    m = m.filter(pl.Series(ys == ye))
    # no overlapping spells of one child
    m = m.sort("pid", "mis_start").with_columns(pl.col("mis_end").shift(1).over("pid").alias("prev_end"))
    m = m.filter(pl.col("prev_end").is_null() | (pl.col("mis_start") > pl.col("prev_end")))
    return m.select("pid", "missing", "mis_start", "mis_end")


def social_workers(cfg: SyntheticConfig, las: LAFrame, periods: pl.DataFrame) -> pl.DataFrame:
    """pid, sw_id, sw_decom, sw_dec (OPEN while allocated past the period), sw_reason."""
    rng = cfg.rng("social-care", "cla-social-workers")
    S, E = periods["start"].to_numpy(), periods["end"].to_numpy()
    n = len(S)
    mean = 300.0
    k = 1 + rng.poisson(np.maximum(E - S, 0) / mean)
    k = np.minimum(k, 30)
    idx = np.repeat(np.arange(n), k)
    j = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    u = rng.random(len(idx))
    # change days: sorted uniform draws within the period, the first allocation on the first day
    df = (
        pl.DataFrame({"pid": idx, "j": j, "u": u})
        .with_columns(pl.when(pl.col("j") == 0).then(0.0).otherwise(pl.col("u")).alias("u"))
        .sort("pid", "u")
    )
    pidx = df["pid"].to_numpy()
    d = S[pidx] + np.floor(df["u"].to_numpy() * (E[pidx] - S[pidx])).astype(np.int64)
    # no change of worker in the last five days of a reporting year (DfE rule SW11b reads an allocation ending
    # then as one with no successor): such changes happen in early April
    ye = year_end(reporting_year_of(d))
    late = (df["u"].to_numpy() > 0) & (ye - d <= 5)
    d = np.where(late, ye + 1 + (df["u"].to_numpy() * 1000).astype(np.int64) % 5, d)
    df = df.with_columns(pl.Series("sw_decom", d)).filter((pl.col("u") == 0) | pl.Series(d < E[pidx]))
    df = df.unique(["pid", "sw_decom"], keep="first").sort("pid", "sw_decom")
    df = df.with_columns(pl.col("sw_decom").shift(-1).over("pid").alias("sw_dec"))
    df = df.with_columns(
        pl.when(pl.col("sw_dec").is_null())
        .then(pl.Series(E[df["pid"].to_numpy()]))
        .otherwise(pl.col("sw_dec"))
        .alias("sw_dec")
    )
    df = df.filter(pl.col("sw_dec") > pl.col("sw_decom"))
    # the last allocation outlasts the care period a little (the case stays open for a while)
    last = df.select(pl.col("sw_decom") == pl.col("sw_decom").max().over("pid"))["sw_decom"].to_numpy()
    end = df["sw_dec"].to_numpy() + np.where(last, uniform_days(rng, 14, 120, df.height), 0)
    # an allocation that ends is followed by another unless it ends well before 31 March (DfE rule SW11b looks
    # for a next episode after any end in the last five days of the year): such last ends move into April
    ye = year_end(reporting_year_of(end))
    end = np.where(last & (ye - end <= 5), ye + 1 + uniform_days(rng, 0, 10, df.height), end)
    df = df.with_columns(pl.Series("sw_dec", end))
    la = periods["la"].to_numpy()[df["pid"].to_numpy()]
    pool = np.maximum(5, (las.target("cla_at31", 2022) / 12).astype(np.int64))[la]
    # a change of social worker is a different worker: step through the LA's pool
    step = 1 + (rng.random(df.height) * np.maximum(pool - 1, 1)).astype(np.int64)
    first = (rng.random(df.height) * pool).astype(np.int64)
    offs = pl.DataFrame({"pid": df["pid"], "f": first, "st": step}).select(
        pl.col("f").first().over("pid") + pl.col("st").cum_sum().over("pid") - pl.col("st").first().over("pid")
    )
    worker = offs.to_series().to_numpy() % pool
    sw_id = np.char.add("SW", np.char.zfill((la * 1000 + worker + 100000).astype(str), 6))
    return df.select("pid", "sw_decom", "sw_dec").with_columns(
        pl.Series("sw_id", sw_id), pl.Series("sw_reason", choice(rng, P.SW_REASONS, df.height))
    )


def adoptions(cfg: SyntheticConfig, periods: pl.DataFrame, episodes: pl.DataFrame) -> pl.DataFrame:
    """Per adopted period: pid, date_placed (decision), date_int (= decision, rule 523), date_match,
    foster_care, nb_adoptr, sex_adoptr, ls_adoptr, adopted (the adoption day, OPEN if not yet)."""
    rng = cfg.rng("social-care", "adoption")
    e = episodes.sort("pid", "decom")
    e1 = e.filter(pl.col("ls") == "E1").group_by("pid").agg(pl.col("decom").min().alias("e1"))
    placed = (
        e.filter(pl.col("place").is_in(["A5", "A6"]))
        .group_by("pid")
        .agg(pl.col("decom").min().alias("placed"), pl.col("place").first().alias("a_place"))
    )
    adopted = e.filter(pl.col("rec").is_in(["E11", "E12"])).group_by("pid").agg(pl.col("dec").max().alias("adopted"))
    a = (
        e1.join(placed, on="pid", how="inner", maintain_order="left")
        .join(adopted, on="pid", how="left", maintain_order="left")
        .sort("pid")
    )
    a = a.join(
        periods.with_columns(pl.int_range(pl.len()).alias("pid")).select("pid", "start"),
        on="pid",
        maintain_order="left",
    )
    n = a.height
    decision = np.maximum(a["e1"].to_numpy() - uniform_days(rng, 20, 90, n), a["start"].to_numpy() + 1)
    decision = np.minimum(decision, a["e1"].to_numpy())
    match = a["placed"].to_numpy() - uniform_days(rng, 7, 45, n)
    match = np.maximum(match, decision)
    u = rng.random(n)
    nb = np.where(u < 0.12, 1, 2)
    sex = np.where(
        nb == 1,
        np.where(rng.random(n) < 0.85, "F1", "M1"),
        np.where(rng.random(n) < 0.88, "MF", np.where(rng.random(n) < 0.5, "MM", "FF")),
    )
    same = np.isin(sex, ["MM", "FF"])
    ls = np.where(
        nb == 1,
        "L0",
        np.where(same, np.where(rng.random(n) < 0.5, "L12", "L2"), np.where(rng.random(n) < 0.8, "L11", "L3")),
    )
    return a.select("pid", pl.col("adopted").fill_null(OPEN)).with_columns(
        pl.Series("date_placed", decision),
        pl.Series("date_int", decision),
        pl.Series("date_match", match),
        pl.Series("foster_care", (a["a_place"] == "A5").cast(pl.Int8)),
        pl.Series("nb_adoptr", nb.astype(np.int8)),
        pl.Series("sex_adoptr", sex),
        pl.Series("ls_adoptr", ls),
    )


def previous_permanence(
    cfg: SyntheticConfig, las: LAFrame, periods: pl.DataFrame, episodes: pl.DataFrame
) -> pl.DataFrame:
    """pid, prev_perm (P1 adoption, P2 SGO, P3 child arrangements order, Z1 none/not known), la_perm, date_perm."""
    last = (
        episodes.sort("pid", "decom")
        .group_by("pid", maintain_order=True)
        .agg(pl.col("rec").last(), pl.col("dec").last())
    )
    p = (
        periods.with_columns(pl.int_range(pl.len()).alias("pid"))
        .join(last, on="pid", maintain_order="left")
        .sort("person_id", "start")
    )
    p = p.with_columns(
        pl.col("rec").shift(1).over("person_id").alias("prev_rec"),
        pl.col("dec").shift(1).over("person_id").alias("prev_dec"),
        pl.col("la").shift(1).over("person_id").alias("prev_la"),
    )
    perm = (
        pl.when(pl.col("prev_rec").is_in(["E11", "E12"]))
        .then(pl.lit("P1"))
        .when(pl.col("prev_rec").is_in(["E45", "E46", "E47", "E48"]))
        .then(pl.lit("P2"))
        .when(pl.col("prev_rec") == "E41")
        .then(pl.lit("P3"))
        .otherwise(pl.lit("Z1"))
    )
    p = p.with_columns(perm.alias("prev_perm"))
    has = pl.col("prev_perm") != "Z1"
    codes = {i: c for i, c in enumerate(las.codes.tolist())}
    return p.select(
        "pid",
        "prev_perm",
        pl.when(has)
        .then(pl.col("prev_la").cast(pl.Int64).replace_strict(codes, default=None, return_dtype=pl.Utf8))
        .otherwise(None)
        .alias("la_perm"),
        pl.when(has).then(pl.col("prev_dec")).otherwise(None).alias("date_perm"),
    )


def mothers(cfg: SyntheticConfig, periods: pl.DataFrame, birth: np.ndarray, sex: np.ndarray) -> pl.DataFrame:
    """person_id, mc_dob: girls who have a (first) child while looked after (aged 14+)."""
    rng = cfg.rng("social-care", "cla-mothers")
    S, E = periods["start"].to_numpy(), periods["end"].to_numpy()
    b14 = add_years(birth, 14) + 180
    lo = np.maximum(S, b14)
    ok = (sex == "F") & (E > lo + 30) & (rng.random(len(S)) < 0.06)
    d = lo + (rng.random(len(S)) * np.maximum(E - lo - 1, 1)).astype(np.int64)
    idx = np.flatnonzero(ok)
    return (
        pl.DataFrame({"person_id": periods["person_id"].to_numpy()[idx].astype(np.int64), "mc_dob": d[idx]})
        .group_by("person_id")
        .agg(pl.col("mc_dob").min())
        .sort("person_id")
    )
