"""Social care careers of the synthetic England and the LA returns they produce (CIN census, SSDA903).

The same children as the population model move through referrals, assessments, child protection and care:
periods of care (:mod:`.cla`), short breaks (:mod:`.respite`), unaccompanied asylum-seeking children (:mod:`.uasc`),
child protection plans and other spells of need (:mod:`.cin`), calibrated per LA and year to the published
figures by the stock controller of :mod:`.events`, then kept as an LA keeps records (:mod:`.records`,
:mod:`.cla_records`) and cut into each year's returns (:mod:`.returns`). :mod:`.faults` injects documented
data-quality faults when asked.

``build_social_care(cfg, population)`` returns a :class:`SocialCare`:

* ``tables``: the canonical tables (:data:`cin_outcomes.tables.CIN_TABLES` and ``SSDA903_TABLES``) of every LA
  and every year of ``cfg.years``, exactly what the returns contain;
* ``identities``: which synthetic child each LA child identifier is (person_id, la_code, la_child_id);
* ``status``: each child's social care group at 31 March per year and LA, computed from the returns by the
  cohort rules (:func:`cin_outcomes.cohorts.rules.per_year_membership`);
* ``extra_children``: children not in the population (UASC), with the population's columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from cin_outcomes.geography import las_in_year
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.social_care import cla, cla_records, records
from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.cin import KIND, care_spells, draw_cpps, draw_nfa, draw_other_need
from cin_outcomes.synthetic.social_care.draws import choice
from cin_outcomes.synthetic.social_care.faults import inject_faults
from cin_outcomes.synthetic.social_care.identifiers import former_upns, la_child_ids
from cin_outcomes.synthetic.social_care.respite import draw_respite
from cin_outcomes.synthetic.social_care.returns import Truth, cin_year, cla_year
from cin_outcomes.synthetic.social_care.timeline import OPEN, LAFrame, add_years
from cin_outcomes.synthetic.social_care.uasc import draw_uasc
from cin_outcomes.tables import CIN_TABLES, SSDA903_TABLES, conform

__all__ = ["SocialCare", "build_social_care", "STATUS_GROUPS", "LAST_TIMINGS"]

#: Seconds (wall, CPU) and resident memory (MB) after each stage of the last :func:`build_social_care` call.
LAST_TIMINGS: dict[str, tuple[float, float, int]] = {}


class _Timer:
    def __init__(self):
        LAST_TIMINGS.clear()
        self.t, self.c = time.perf_counter(), time.process_time()

    def __call__(self, stage: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        LAST_TIMINGS[stage] = (round(t - self.t, 2), round(c - self.c, 2), _rss_mb())
        self.t, self.c = t, c


def _rss_mb() -> int:
    """Resident memory of this process in MB (0 where /proc is not available)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


#: Social care groups of ``SocialCare.status`` (the hierarchy CLA > CPP > CIN at 31 March).
STATUS_GROUPS = {
    "cino_at31": "CINO at 31 March",
    "cppo_at31": "CPPO at 31 March",
    "cla_12m_at31": "CLA 12 months at 31 March",
    "cla_lt12m_at31": "CLA less than 12 months at 31 March",
}
CARE_LEAVER_RECS = ("E4A", "E4B", "E13", "E5", "E6", "E7", "E8", "E9", "E14", "E16", "E17")


@dataclass
class SocialCare:
    """The social care half of a synthetic England (see the module docstring)."""

    tables: dict[str, pl.DataFrame]
    identities: pl.DataFrame
    status: pl.DataFrame
    extra_children: pl.DataFrame


def _kids(children: pl.DataFrame, las: LAFrame) -> pl.DataFrame:
    """The columns the career models read, one row per child (row = person_id)."""
    return children.select(
        "person_id",
        pl.col("birth_date").cast(pl.Int32).alias("birth"),
        "need",
        pl.Series("birth_la_idx", las.index(children["birth_la"]).astype(np.int32)),
    )


def build_social_care(cfg: SyntheticConfig, population, on_year: Callable | None = None) -> SocialCare:
    """Draw every child's social care career and cut each LA's returns for ``cfg.years``.

    With ``on_year``, each year's returns go to ``on_year(year, tables)`` as soon as they are cut and are not kept
    (``SocialCare.tables`` is then empty): memory holds the careers and one year of returns, as a national run
    needs. Either way the returns, faults and status are the same."""
    tick = _Timer()
    truth, extra = _build_truth(cfg, population, tick)
    identities = truth.ids.select(pl.col("person_id").cast(pl.UInt32), "la_code", "la_child_id").sort(
        "la_code", "la_child_id"
    )
    kept: dict[str, list[pl.DataFrame]] = {k: [] for k in [*CIN_TABLES, *SSDA903_TABLES]}
    status = []
    for year in cfg.years:
        tables = returns_for_year(cfg, truth, year)
        if cfg.fault_rate > 0:
            tables = inject_faults(cfg, tables, year)
        status.append(compute_status(year, tables, identities))
        if on_year is None:
            for name, df in tables.items():
                kept[name].append(df)
        else:
            on_year(year, tables)
        del tables
    del truth
    tick("returns and status")
    schema = {**CIN_TABLES, **SSDA903_TABLES}
    tables = {name: pl.concat(frames) if frames else pl.DataFrame(schema=schema[name]) for name, frames in kept.items()}
    return SocialCare(tables=tables, identities=identities, status=pl.concat(status).sort(
        "year", "la_code", "person_id", "group"), extra_children=extra)


def _build_truth(cfg: SyntheticConfig, population, tick) -> tuple[Truth, pl.DataFrame]:
    """Every career and record in days (see :class:`returns.Truth`), and the extra (UASC) children."""
    las = LAFrame(cfg)
    pop_children = population.children
    n_pop = pop_children.height
    if not (pop_children["person_id"].to_numpy() == np.arange(n_pop)).all():
        raise ValueError("population.children must be ordered by person_id 0..n-1")
    uasc_kids, uasc_periods = draw_uasc(cfg, las, n_pop)
    extra = conform(uasc_kids, dict(pop_children.schema))
    kids_pop = _kids(pop_children, las)
    # birth day of every child (population and UASC), by person_id
    kids = pl.DataFrame(
        {"birth": np.concatenate([kids_pop["birth"].to_numpy(), extra["birth_date"].cast(pl.Int32).to_numpy()])}
    )
    tick("children")

    # careers
    periods = pl.concat([cla.draw_periods(cfg, las, kids_pop, population), uasc_periods]).sort("person_id", "start")
    tick("periods of care")
    care_sp, care_cpps = care_spells(cfg, periods, kids)
    cpp_sp, cpps = draw_cpps(cfg, las, kids_pop, population, care_sp, care_cpps)
    tick("child protection")
    resp_sp, breaks = draw_respite(cfg, las, kids_pop, population, periods)
    other_sp = draw_other_need(
        cfg, las, kids_pop, population, pl.concat([care_sp, cpp_sp, resp_sp], how="vertical_relaxed")
    )
    tick("other need")
    nfa = draw_nfa(cfg, las, kids_pop, population)
    del kids_pop
    spells = pl.concat([care_sp, cpp_sp, resp_sp, other_sp], how="vertical_relaxed").with_columns(
        pl.col("person_id").cast(pl.Int64),
        pl.col("la").cast(pl.Int64),
        pl.col("la_after").cast(pl.Int64),
        pl.col("period").cast(pl.Int64),
    )
    del care_sp, cpp_sp, resp_sp, other_sp

    # records as the LA keeps them
    eps, spells = records.segment(cfg, las, population, spells, periods)
    tick("episodes")
    eps = records.closure_reasons(cfg, eps, spells, periods, kids)
    all_cpps = pl.concat([care_cpps.drop("spell_start"), cpps.drop("spell_start")], how="vertical_relaxed")
    plans_cpp = records.cpp_details(
        cfg, records.place_cpps(cfg, eps, all_cpps.with_columns(pl.col("person_id").cast(pl.Int64)))
    )
    del all_cpps, care_cpps, cpps
    assess = records.assessments(cfg, eps)
    s47 = records.section47(cfg, eps, plans_cpp)
    # periods belong to the LA of their episode (and its successor copy)
    period_ep = (
        spells.filter(pl.col("period") >= 0)
        .select("period", "g")
        .join(eps.filter(~pl.col("successor_copy")).select("g", "ep", "la"), on="g", maintain_order="left")
    )
    periods = periods.with_columns(pl.int_range(pl.len()).alias("pid")).join(
        period_ep.select(pl.col("period").alias("pid"), pl.col("la").alias("ep_la"), "ep"),
        on="pid",
        how="left",
        maintain_order="left",
    )
    periods = periods.with_columns(pl.col("ep_la").fill_null(pl.col("la")).cast(pl.Int32).alias("la")).drop("ep_la")
    care_in_eps = periods.select("ep", "start", "end").filter(pl.col("ep").is_not_null())
    cin_plans = records.cin_plans(cfg, eps, plans_cpp, assess, care_in_eps)
    nfa = records.nfa_referrals(nfa, eps.select("person_id", "start", "end"))
    disab = _disabilities(cfg, eps, spells)
    del spells, period_ep, care_in_eps
    tick("activities")

    # 903 episodes and records
    periods_nopid = periods.drop("pid", "ep")
    cla_eps = cla.finish_episodes(cfg, las, periods_nopid, cla.build_episodes(cfg, las, periods_nopid, kids), kids)
    person = periods["person_id"].to_numpy().astype(np.int64)
    p_birth = kids["birth"].to_numpy().astype(np.int64)[person]
    p_sex = np.where(
        person < n_pop,
        pop_children["sex"].gather(np.minimum(person, n_pop - 1)).to_numpy(),
        extra["sex"].gather(np.maximum(person - n_pop, 0)).to_numpy(),
    ).astype(str)
    reviews = cla_records.reviews(cfg, periods_nopid, p_birth)
    missing = cla_records.missing(cfg, periods_nopid, cla_eps, p_birth)
    social_workers = cla_records.social_workers(cfg, las, periods_nopid)
    adoptions = cla_records.adoptions(cfg, periods_nopid, cla_eps)
    prev_perm = cla_records.previous_permanence(cfg, las, periods_nopid, cla_eps)
    mothers = cla_records.mothers(cfg, periods_nopid, p_birth, p_sex)
    del periods_nopid, kids
    tick("903 records")

    periods_t, cla_all = _903_by_la(las, eps, periods, cla_eps, breaks, p_birth)
    del cla_eps, breaks
    episodes_t = _episodes_by_la(cfg, las, eps, nfa)
    del eps, nfa

    # identifiers and child attributes
    pairs = (
        pl.concat(
            [
                episodes_t.select("person_id", "la_code"),
                cla_all.select("person_id", "la_code"),
                periods_t.select("person_id", "la_code"),
            ],
            how="vertical_relaxed",
        )
        .unique()
        .with_columns(pl.col("person_id").cast(pl.UInt32))
    )
    ids = la_child_ids(cfg, pairs).with_columns(pl.col("person_id").cast(pl.Int64))
    del pairs
    id_cols = ids.select("person_id", "la_code", "la_child_id", "upn_recorded")
    episodes_t = episodes_t.join(id_cols, on=["person_id", "la_code"], maintain_order="left")
    cla_all = cla_all.join(id_cols.rename({"la_child_id": "child"}), on=["person_id", "la_code"], maintain_order="left")
    # only the children some LA returns
    returned = np.unique(ids["person_id"].to_numpy())
    returned_children = pl.concat(
        [pop_children.gather(returned[returned < n_pop]), extra.filter(pl.col("person_id").is_in(returned))]
    )
    children_t = returned_children.select(
        pl.col("person_id").cast(pl.Int64),
        pl.col("birth_date").cast(pl.Int32).cast(pl.Int64).alias("birth"),
        "sex",
        "ethnicity",
        "upn",
        pl.col("upn_date").cast(pl.Int32).cast(pl.Int64).fill_null(OPEN).alias("upn_day"),
        "state_school",
        (pl.col("person_id") >= n_pop).alias("uasc"),
    )
    former = former_upns(cfg, returned_children).with_columns(pl.col("person_id").cast(pl.Int64))
    truth = Truth(
        children=children_t,
        ids=ids,
        former=former,
        disabilities=disab,
        episodes=episodes_t,
        assessments=assess,
        section47=s47,
        cpps=plans_cpp,
        plans=cin_plans,
        cla_episodes=cla_all,
        periods=periods_t,
        reviews=reviews,
        missing=missing,
        social_workers=social_workers,
        adoptions=adoptions,
        prev_perm=prev_perm,
        mothers=mothers,
        factor_pool=records.factor_pool(cfg),
    )
    tick("identifiers")
    return truth, extra


def _903_by_la(
    las: LAFrame,
    eps: pl.DataFrame,
    periods: pl.DataFrame,
    cla_eps: pl.DataFrame,
    breaks: pl.DataFrame,
    p_birth: np.ndarray,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Periods and 903 episodes per returning LA (LA codes), with the copies a successor LA returns for the
    periods it took over, care leavers marked and the category of need of each period."""
    codes = las.codes
    # successor LAs inherit periods open when an LA is abolished (the copy of the care episode carries the LA)
    copies = eps.filter(pl.col("successor_copy")).select("person_id", "start", pl.col("la").alias("succ"))
    orig = eps.filter(~pl.col("successor_copy")).select("ep", "person_id", "start")
    succ_of_ep = copies.join(orig, on=["person_id", "start"], maintain_order="left").select("ep", "succ")
    last_rec = cla_eps.sort("pid", "decom").group_by("pid", maintain_order=True).agg(pl.col("rec").last())
    ep_need = eps.select("ep", pl.col("primary_need"))
    per_t = (
        periods.join(succ_of_ep, on="ep", how="left", maintain_order="left")
        .join(last_rec, on="pid", how="left", maintain_order="left")
        .join(ep_need, on="ep", how="left", maintain_order="left")
    )
    age_end = (per_t["end"].to_numpy() - p_birth) / P.DAYS_PER_YEAR
    b14 = add_years(p_birth, 14)
    care_leaver = (
        (age_end >= 16)
        & ((per_t["end"].to_numpy() - np.maximum(per_t["start"].to_numpy(), b14)) >= 91)
        & per_t["rec"].is_in(CARE_LEAVER_RECS).to_numpy()
    )
    need_code = per_t["primary_need"].fill_null("N1").to_numpy().astype(str)
    need_code = np.where(np.isin(need_code, ["N0", "N9"]), "N1", need_code)
    per_t = per_t.with_columns(
        pl.Series("care_leaver", care_leaver),
        pl.Series("cin", need_code),
        pl.Series("la_code", codes[per_t["la"].to_numpy()]),
    )
    succ_rows = per_t.filter(pl.col("succ").is_not_null())
    succ_rows = succ_rows.with_columns(pl.Series("la_code", codes[succ_rows["succ"].to_numpy()]))
    periods_t = (
        pl.concat([per_t, succ_rows])
        .with_columns(pl.col("person_id").cast(pl.Int64))
        .select("pid", "person_id", "la_code", "start", "end", "uasc", "route", "cin", "care_leaver")
    )
    cla_eps_t = cla_eps.drop("person_id", "la").join(
        periods_t.select("pid", "person_id", "la_code"), on="pid", maintain_order="left"
    )
    breaks_t = breaks.select(
        pl.lit(-1, dtype=pl.Int64).alias("pid"),
        pl.col("person_id").cast(pl.Int64),
        pl.Series("la_code", codes[breaks["la"].to_numpy()]),
        "decom",
        "dec",
        pl.lit("S").alias("rne"),
        "ls",
        "place",
        "place_provider",
        pl.lit("E4A").alias("rec"),
        pl.lit(None, dtype=pl.Utf8).alias("reason_place_change"),
        pl.lit(None, dtype=pl.Utf8).alias("home_post"),
        pl.lit(None, dtype=pl.Utf8).alias("pl_post"),
        pl.lit(None, dtype=pl.Utf8).alias("urn"),
    )
    cla_all = pl.concat([cla_eps_t.select(breaks_t.columns).with_columns(pl.col("person_id").cast(pl.Int64)), breaks_t])
    return periods_t, cla_all


def _episodes_by_la(cfg: SyntheticConfig, las: LAFrame, eps: pl.DataFrame, nfa: pl.DataFrame) -> pl.DataFrame:
    """CIN episodes and NFA referrals (closed the day they are made, reason RC7, no primary need) per LA."""
    codes = las.codes
    ep_t = eps.select(
        "ep",
        pl.col("person_id").cast(pl.Int64),
        pl.Series("la_code", codes[eps["la"].to_numpy()]),
        "start",
        "end",
        "closure_reason",
        "referral_source",
        "primary_need",
        pl.lit(False).alias("nfa"),
    )
    nfa_rng = cfg.rng("social-care", "nfa-codes")
    nfa_t = nfa.select(
        (pl.int_range(pl.len()) + (eps["ep"].max() or 0) + 1).alias("ep"),
        pl.col("person_id").cast(pl.Int64),
        pl.Series("la_code", codes[nfa["la"].to_numpy()]),
        pl.col("day").alias("start"),
        pl.col("day").alias("end"),
        pl.lit("RC7").alias("closure_reason"),
        pl.Series("referral_source", choice(nfa_rng, P.REFERRAL_SOURCES, nfa.height)),
        pl.lit(None, dtype=pl.Utf8).alias("primary_need"),
        pl.lit(True).alias("nfa"),
    )
    return pl.concat([ep_t, nfa_t], how="vertical_relaxed")


def _disabilities(cfg: SyntheticConfig, eps: pl.DataFrame, spells: pl.DataFrame) -> pl.DataFrame:
    """person_id, disabilities: children with short breaks or a disability need, and some others in need."""
    rng = cfg.rng("social-care", "disabilities")
    people = (
        eps.select(pl.col("person_id").cast(pl.Int64), "primary_need")
        .group_by("person_id")
        .agg((pl.col("primary_need") == "N2").any().alias("n2"))
        .sort("person_id")
    )
    resp = spells.filter(pl.col("kind") == KIND["respite"]).select(pl.col("person_id").cast(pl.Int64)).unique()
    people = people.join(
        resp.with_columns(pl.lit(True).alias("resp")), on="person_id", how="left", maintain_order="left"
    )
    n = people.height
    disabled = (
        people["n2"].to_numpy()
        | people["resp"].fill_null(False).to_numpy()
        | (rng.random(n) < P.DISABILITY_SHARE * 0.5)
    )
    idx = np.flatnonzero(disabled)
    k = rng.choice([1, 2, 3], size=len(idx), p=[0.5, 0.35, 0.15])
    rows = np.repeat(idx, k)
    codes = choice(rng, P.DISABILITIES, len(rows))
    d = (
        pl.DataFrame({"person_id": people["person_id"].to_numpy()[rows], "d": codes})
        .unique(maintain_order=True)
        .sort("person_id", "d")
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("d").alias("disabilities"))
    )
    return d


def returns_for_year(cfg: SyntheticConfig, truth: Truth, year) -> dict[str, pl.DataFrame]:
    """The canonical tables of every LA's returns for ``year`` (CIN census and SSDA903)."""
    las = las_in_year(year)["old_la_code"].unique().sort().to_list()
    if cfg.only_las is not None:
        las = [c for c in las if c in cfg.only_las]
    return {**cin_year(cfg, truth, year, las), **cla_year(cfg, truth, year, las)}


def compute_status(year, tables: dict[str, pl.DataFrame], identities: pl.DataFrame) -> pl.DataFrame:
    """person_id, year (start of the reporting year), la_code, group — by the cohort rules, from the year's returns.

    Uses the rules' own flag functions (:func:`cin_outcomes.cohorts.rules.cin_flags` and ``cla_flags``) combined
    as :func:`~cin_outcomes.cohorts.rules.per_year_membership` combines them (CIN = an episode of need, a plan or
    looked after; CLA > CPP > CIN), without the UPN checks and national linking that the status does not need;
    the tests check the result against ``per_year_membership``.
    """
    from cin_outcomes.cohorts.rules import cin_flags, cla_flags

    key = ["la_code", "la_child_id"]
    f = cin_flags(year, tables).join(cla_flags(year, tables), on=key, how="full", coalesce=True)
    f = f.select(*key, *[pl.col(c).fill_null(False) for c in ("cin_ep_at31", "cpp_at31", "cla_at31", "cla_12m_at31")])
    cin = pl.col("cin_ep_at31") | pl.col("cpp_at31") | pl.col("cla_at31")
    groups = {
        "cino_at31": cin & ~pl.col("cpp_at31") & ~pl.col("cla_at31"),
        "cppo_at31": pl.col("cpp_at31") & ~pl.col("cla_at31"),
        "cla_12m_at31": pl.col("cla_at31") & pl.col("cla_12m_at31"),
        "cla_lt12m_at31": pl.col("cla_at31") & ~pl.col("cla_12m_at31"),
    }
    s = pl.concat([
        f.filter(groups[flag]).select(key).with_columns(pl.lit(year.start, dtype=pl.Int16).alias("year"),
                                                        pl.lit(group).alias("group"))
        for flag, group in STATUS_GROUPS.items()
    ]).join(identities, on=key, how="inner")
    return s.select("person_id", "year", "la_code", "group").unique().sort("year", "la_code", "person_id", "group")
