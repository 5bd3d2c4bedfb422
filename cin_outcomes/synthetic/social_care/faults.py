"""Data-quality faults, injected only when ``SyntheticConfig.fault_rate`` > 0 (``--fault-rate``).

Each fault below is applied to ``fault_rate`` of the records it can apply to (drawn independently per fault, per
year, from the ``faults`` random stream), after the clean returns are cut, so a clean run is unaffected. They are
the faults real returns show and DfE's validation rules catch:

==========================  ================================================================  ===============
fault                       what is changed                                                   DfE rule caught
==========================  ================================================================  ===============
``overlapping_episodes``    a child's later CIN episode starts before the earlier one closes  CIN 8820
``bad_upn_check_letter``    the UPN check letter is replaced by a wrong letter               CIN 1510
``closure_without_reason``  a closed CIN episode loses its reason for closure                 CIN 8805
``date_outside_year``       a CIN closure date is moved after 31 March                        CIN 8620
``duplicate_child_id``      a child in the CIN census takes another child's LA child ID       CIN 8510
``v3_with_v4``              a short-break child's V3 episode is recorded as V4                903 426
``broken_x1_chain``         the episode after an X1 starts a day late                         903 433, 388
``bad_code``                a 903 placement type becomes an invalid code (``ZZ``)             903 146
==========================  ================================================================  ===============
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.upn import CHECK_LETTERS
from cin_outcomes.years import ReportingYear

FAULTS = (
    "overlapping_episodes",
    "bad_upn_check_letter",
    "closure_without_reason",
    "date_outside_year",
    "duplicate_child_id",
    "v3_with_v4",
    "broken_x1_chain",
    "bad_code",
)


def _pick(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def inject_faults(cfg: SyntheticConfig, tables: dict[str, pl.DataFrame], year: ReportingYear) -> dict[str, pl.DataFrame]:
    """Return a copy of ``year``'s returns ``tables`` with every fault of :data:`FAULTS` applied at
    ``cfg.fault_rate``, drawn from that year's ``faults`` random stream."""
    rng = cfg.rng("faults", year.label)
    rate = cfg.fault_rate
    t = dict(tables)

    # overlapping CIN episodes: a later episode's referral before the earlier closure
    eps = t["cin_episodes"]
    prev_close = pl.col("closure_date").shift(1).over("reporting_year", "la_code", "la_child_id")
    eps = eps.with_columns(prev_close.alias("_prev"))
    elig = eps.select(
        (pl.col("_prev").is_not_null() & (pl.col("_prev") > pl.col("referral_date").dt.offset_by("-400d"))).alias("e")
    )["e"].to_numpy()
    hit = elig & _pick(rng, eps.height, rate)
    eps = eps.with_columns(
        pl.when(pl.Series(hit))
        .then(pl.col("_prev") - pl.duration(days=1))
        .otherwise(pl.col("referral_date"))
        .alias("referral_date")
    ).drop("_prev")

    # closure date without a reason
    closed = eps["closure_date"].is_not_null().to_numpy()
    hit = closed & _pick(rng, eps.height, rate)
    eps = eps.with_columns(
        pl.when(pl.Series(hit)).then(None).otherwise(pl.col("closure_reason")).alias("closure_reason")
    )
    # closure dates outside the collection year
    closed = eps["closure_date"].is_not_null().to_numpy()
    hit = closed & _pick(rng, eps.height, rate)
    year_end = pl.col("reporting_year").str.slice(0, 4).cast(pl.Int32) + 1
    eps = eps.with_columns(
        pl.when(pl.Series(hit)).then(pl.date(year_end, 4, 15)).otherwise(pl.col("closure_date")).alias("closure_date")
    )
    t["cin_episodes"] = eps

    # bad UPN check letters and duplicate child identifiers in the CIN census
    ch = t["cin_children"]
    has = ch["upn"].is_not_null().to_numpy()
    hit = has & _pick(rng, ch.height, rate)
    shift = pl.Series(rng.integers(1, 23, ch.height))
    letters = {c: i for i, c in enumerate(CHECK_LETTERS)}
    back = {i: c for i, c in enumerate(CHECK_LETTERS)}
    wrong = (
        (ch["upn"].str.slice(0, 1).replace_strict(letters, default=0, return_dtype=pl.Int64) + shift) % 23
    ).replace_strict(back, return_dtype=pl.Utf8) + ch["upn"].str.slice(1)
    ch = ch.with_columns(pl.when(pl.Series(hit)).then(wrong).otherwise(pl.col("upn")).alias("upn"))
    prev_id = pl.col("la_child_id").shift(1).over("reporting_year", "la_code")
    hit = _pick(rng, ch.height, rate)
    ch = ch.with_columns(
        pl.when(pl.Series(hit) & prev_id.is_not_null())
        .then(prev_id)
        .otherwise(pl.col("la_child_id"))
        .alias("la_child_id")
    )
    t["cin_children"] = ch

    # 903: V3 recorded as V4, a late start after X1, an invalid placement code
    ep = t["Episodes"]
    hit = (ep["ls"] == "V3").to_numpy() & _pick(rng, ep.height, rate)
    ep = ep.with_columns(pl.when(pl.Series(hit)).then(pl.lit("V4")).otherwise(pl.col("ls")).alias("ls"))
    after_x1 = (pl.col("rec").shift(1).over("reporting_year", "la_code", "child") == "X1").fill_null(False)
    elig = ep.select(after_x1.alias("e"))["e"].to_numpy()
    hit = elig & _pick(rng, ep.height, rate)
    ep = ep.with_columns(
        pl.when(pl.Series(hit)).then(pl.col("decom") + pl.duration(days=1)).otherwise(pl.col("decom")).alias("decom")
    )
    hit = _pick(rng, ep.height, rate)
    ep = ep.with_columns(pl.when(pl.Series(hit)).then(pl.lit("ZZ")).otherwise(pl.col("place")).alias("place"))
    t["Episodes"] = ep
    return t
