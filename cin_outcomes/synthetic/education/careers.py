"""School careers: who is on roll where each year, with SEN provision, type of need and FSM eligibility.

Every state-school child of the population is on roll from reception (the September after their fourth birthday)
to year 11, at a school in the LA they live in at each term (so a move of LA is a move of school). They stay at
one primary and one secondary school while they live in the same LA; pupils with an EHC plan may go to a special
school (and then stay there while the plan lasts); a few secondary pupils spend a year at an alternative
provision (AP) school, more often after a permanent exclusion; a few are placed by the LA in alternative provision
outside state schools (AP census) and are not on a school roll that year.

Pupil characteristics are latent-threshold models: a persistent person effect driven by ``need`` (the
population's social care propensity) and ``ability``, a drift from year to year, and a bonus for last year's state
(hysteresis: EHC plans and special school places are rarely lost, SEN support and FSM more often). Each year the
thresholds are solved so that the national shares by social care group at 31 March (and of all pupils) equal the
targets (see :mod:`calibrate`); type of need follows each group's published mix exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.education.calibrate import cut_for_rate, group_cuts, group_rate_dict
from cin_outcomes.synthetic.education.draws import PupilDraws
from cin_outcomes.synthetic.education.schools import AP, PRIMARY, SECONDARY, SPECIAL, Chooser, build_register
from cin_outcomes.synthetic.education.targets import (ALL, GROUP_NAMES, Targets, group_array, group_codes,
                                                      la_effect_sd, la_index, la_list)
from cin_outcomes.synthetic.npd_columns import ETHNIC_MAJOR, SEN_TYPES
from cin_outcomes.synthetic.population import Population
from cin_outcomes.years import ReportingYear

#: Years simulated before the first output year, so that EVERFSM_6 and KS2 prior attainment for Progress 8 exist.
BURN_IN = 5
EPOCH = dt.date(1970, 1, 1)
#: Share of pupils with an EHC plan who attend a special school, for pupils outside the social care groups
#: (assumption; about 40% nationally).
SPECIAL_SHARE_OF_EHC = 0.40
#: Share of all pupils in state-funded AP schools on census day (assumption; about 13,000 of 8.3 million).
AP_SCHOOL_SHARE = 0.0016
#: Share of year 7-11 pupils placed by their LA in AP outside state schools (AP census; assumption).
AP_CENSUS_SHARE = 0.0012
#: SEN support: relative likelihood by NC year R..11 (latent shift; assumption: peaks in key stage 2).
SEN_SUPPORT_AGE = np.array([-0.55, -0.3, -0.15, -0.05, 0.05, 0.1, 0.12, 0.05, 0.0, -0.05, -0.1, -0.15],
                           dtype=np.float32)
#: Type-of-need weights by provision relative to the group mix (EHC plans: more ASD, SLD, PMLD, PD; SEN support:
#: NSA and fewer severe needs). Order as SEN_TYPES.
TYPE_WEIGHT_EHC = dict(zip(SEN_TYPES, [0.3, 0.8, 4.0, 4.0, 1.0, 0.5, 0.8, 0.8, 1.5, 1.5, 2.2, 0.6, 0.0]))
TYPE_WEIGHT_K = dict(zip(SEN_TYPES, [1.3, 1.1, 0.1, 0.05, 1.0, 1.2, 1.0, 1.0, 0.6, 0.6, 0.7, 1.1, 1.5]))
SEN_NONE, SEN_K, SEN_E = 0, 1, 2
#: Latent bonus for keeping last year's state (in standard deviations): plans and special school places are
#: rarely lost, SEN support and FSM eligibility more often.
HYSTERESIS_EHC, HYSTERESIS_SPECIAL, HYSTERESIS_K, HYSTERESIS_FSM = 2.5, 3.0, 0.8, 0.9
#: FSM eligibility of looked-after children (assumption; not published: eligibility follows the circumstances of
#: the household the child lives in, and most looked-after children live with foster carers).
CLA_FSM_SHARE = 0.35
CLA_CODES = (3, 4)
DRIFT_RHO = np.float32(0.7)  # year-to-year correlation of the drifting part of pupils' latent traits


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def _weekday_on_or_after(d: dt.date, weekday: int) -> dt.date:
    return d + dt.timedelta(days=(weekday - d.weekday()) % 7)


def term_dates(a: int) -> tuple[dt.date, dt.date, dt.date]:
    """Start of the autumn term, spring census day and start of the summer term of academic year ``a``."""
    autumn = dt.date(a, 9, 3)
    while autumn.weekday() >= 5:
        autumn += dt.timedelta(days=1)
    census = ReportingYear(a).school_census_date
    summer = _weekday_on_or_after(dt.date(a + 1, 4, 15), 0)
    return autumn, census, summer


@dataclass
class Roll:
    """Pupils on roll in one academic year (spring census) and what they carry into the modules.

    Arrays are aligned; ``idx`` indexes :attr:`Simulation.pupils`. Sites are rows of the year's school frame
    (``site_aut``/``site_sum`` are the autumn and summer term schools; -1 where not on roll).
    """

    year: int
    idx: np.ndarray
    ncy: np.ndarray
    group: np.ndarray
    group_la: np.ndarray
    la: np.ndarray            # LA index of residence on census day
    site_aut: np.ndarray
    site_spr: np.ndarray
    site_sum: np.ndarray
    phase: np.ndarray         # phase of the census school
    sen: np.ndarray
    sen_type: np.ndarray      # index into SEN_TYPES, -1 none
    fsm: np.ndarray
    ever6: np.ndarray
    entry: np.ndarray         # days since epoch
    ap_census: np.ndarray     # subset of idx placed in AP outside schools (not on roll)
    ap_census_la: np.ndarray
    ap_census_entry: np.ndarray
    ap_census_sen: np.ndarray
    ap_census_sen_type: np.ndarray
    ap_census_fsm: np.ndarray


class Simulation:
    """State of the education model across years (sticky EHC plans, special school places, FSM history,
    current school and entry date, prior attainment)."""

    def __init__(self, cfg: SyntheticConfig, population: Population, status: pl.DataFrame) -> None:
        self.cfg = cfg
        self.targets = Targets()
        self.first, self.last = cfg.first_year.start, cfg.last_year.start
        self.a0 = self.first - BURN_IN
        self.draw = PupilDraws(cfg.seed)
        ry = (pl.col("birth_date").dt.year() + (pl.col("birth_date").dt.month() >= 9).cast(pl.Int32) + 4)
        sub = population.children.lazy().filter(pl.col("state_school")).select(
            "person_id", "birth_date", "sex", "ethnicity", "need", "ability", "upn", ry.cast(pl.Int16).alias("ry"),
        ).filter(pl.col("ry").is_between(self.a0 - 11, self.last)).collect()
        if not sub["ry"].is_sorted():  # children are sorted by birth; keep each year's roll a contiguous slice
            sub = sub.sort("ry", maintain_order=True)
        self.pid = sub["person_id"].to_numpy().astype(np.uint32)
        self.ry = sub["ry"].to_numpy()
        self.n = len(self.pid)
        self.male = (sub["sex"] == "M").to_numpy()
        self.need = sub["need"].to_numpy().astype(np.float32)
        self.ability = sub["ability"].to_numpy().astype(np.float32)
        #: per-pupil attributes the modules print (row i <-> pupil i); codes held as categoricals
        self.pupils = sub.select(
            "person_id", pl.col("upn").alias("UPN"), pl.col("sex").cast(pl.Categorical).alias("Gender"),
            pl.col("ethnicity").cast(pl.Categorical).alias("EthnicGroupMinor"),
            pl.col("ethnicity").replace_strict(ETHNIC_MAJOR, return_dtype=pl.Utf8).cast(pl.Categorical)
            .alias("EthnicGroupMajor"),
            pl.col("birth_date").dt.year().cast(pl.Int16).alias("YearOfBirth"),
            pl.col("birth_date").dt.month().cast(pl.Int8).alias("MonthOfBirth"),
        )
        #: each pupil's position in UPN order (rows of every module are sorted by school, then UPN)
        self.upn_rank = np.empty(self.n, dtype=np.uint32)
        self.upn_rank[sub["upn"].arg_sort(nulls_last=True).to_numpy()] = np.arange(self.n, dtype=np.uint32)
        del sub
        self.index_of = np.full(int(population.children["person_id"].max()) + 1, -1, dtype=np.int32)
        self.index_of[self.pid.astype(np.int64)] = np.arange(self.n)
        # residence spells for fast (pupil, date) -> LA lookups
        res = population.residence.sort("person_id", "from_date")
        self.res_key = (res["person_id"].to_numpy().astype(np.int64) << 17) | res["from_date"].cast(
            pl.Int32).to_numpy().astype(np.int64)
        self.res_la = la_index(res["la_code"]).astype(np.int32)
        self.res_from = res["from_date"].cast(pl.Int32).to_numpy()
        self.codes = group_codes(status)
        self.las = la_list()
        self.n_las = len(self.las)
        rng = cfg.rng("education", "effects")
        self.la_att = rng.normal(0, la_effect_sd("attainment"), self.n_las).astype(np.float32)
        self.la_abs = rng.normal(0, la_effect_sd("absence"), self.n_las).astype(np.float32)
        self.la_abs_all = rng.normal(0, 0.08, self.n_las).astype(np.float32)
        self.la_exc = rng.normal(0, 0.25, self.n_las).astype(np.float32)
        self.register = build_register(cfg, self.a0, self.last)
        n_sites = self.register.sites.height
        self.site_att = rng.normal(0, 0.15, n_sites).astype(np.float32)
        self.site_abs = rng.normal(0, 0.08, n_sites).astype(np.float32)
        self.site_exc = rng.normal(0, 0.25, n_sites).astype(np.float32)
        self.site_cal = rng.integers(-3, 4, (n_sites, 3)).astype(np.int16)  # calendar variation in sessions
        # state carried across years
        self.sen_prev = np.zeros(self.n, dtype=np.int8)
        self.special = np.zeros(self.n, dtype=bool)
        self.fsm_hist = np.zeros(self.n, dtype=np.uint8)
        self.cur_site = np.full(self.n, -1, dtype=np.int32)   # global site id
        self.since = np.zeros(self.n, dtype=np.int32)
        self.perm_prev = np.zeros(self.n, dtype=bool)
        self.phonics_met = np.zeros(self.n, dtype=np.int8)    # 0 not taken, 1 met, 2 not met in year 1
        self.ks1_aps = np.full(self.n, np.nan, dtype=np.float32)
        self.ks2_prior = np.full(self.n, np.nan, dtype=np.float32)
        self.ks2_group_shift: dict[str, dict[int, float]] = {}
        #: national slope of KS4 Attainment 8 on KS2 prior attainment (points per scaled-score point), updated by
        #: each KS4 cohort; the starting value is the model's own at the default settings
        self.ks4_slope = 2.2
        #: pupils placed outside their LA because it had no school of their phase that year (expected: none)
        self.schools_outside_la = 0
        #: KS1 cohorts waiting for their KS2 results (year of KS1 -> attainment.PendingKS1), and KS1 modules
        #: completed but not yet collected (attainment.finished)
        self.pending_ks1: dict[int, object] = {}
        self.finished_ks1: list = []
        self._drift: dict[str, np.ndarray] = {}
        self._traits: dict[str, np.ndarray] = {}
        self._drift_year: dict[str, int] = {}

    # --- helpers ---------------------------------------------------------------------------------------------
    def trait(self, purpose: str, idx: np.ndarray) -> np.ndarray:
        """A pupil's persistent N(0, 1) term for ``purpose`` (drawn once per pupil, kept at half precision)."""
        arr = self._traits.get(purpose)
        if arr is None:
            arr = self._traits[purpose] = self.draw.normal(self.pid, "trait", purpose).astype(np.float16)
        return arr[idx].astype(np.float32)

    def drift(self, purpose: str, a: int, idx: np.ndarray) -> np.ndarray:
        """A pupil's year-to-year varying N(0, 1) term (AR(1), correlation DRIFT_RHO between years) in year ``a``
        for pupils ``idx`` (on roll in ``a``). Updated once per year for the year's whole roll."""
        state = self._drift.get(purpose)
        if state is None:
            state = self._drift[purpose] = np.full(self.n, np.nan, dtype=np.float32)
        if self._drift_year.get(purpose) != a:
            sl = self.slice(a)
            w = self.draw.normal(self.pid[sl], "drift", purpose, a)
            prev = state[sl]
            state[sl] = np.where(np.isnan(prev), w, DRIFT_RHO * prev + np.float32(np.sqrt(1 - DRIFT_RHO ** 2)) * w)
            self._drift_year[purpose] = a
        return state[idx]

    def la_on(self, idx: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray]:
        """(LA index, start of the residence spell) of pupils ``idx`` on ``day`` (days since epoch)."""
        key = (self.pid[idx].astype(np.int64) << 17) | np.int64(day)
        pos = np.searchsorted(self.res_key, key, side="right") - 1
        return self.res_la[pos], self.res_from[pos]

    def la_on_days(self, idx: np.ndarray, days: tuple[int, int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`la_on` for three increasing days: one search for the middle day, and neighbouring spells for the
        other two (a pupil rarely moves between them; the few who moved twice are searched for)."""
        d0, d1, d2 = days
        key = (self.pid[idx].astype(np.int64) << 17) | np.int64(d1)
        pos = np.searchsorted(self.res_key, key, side="right") - 1
        out = [None, (self.res_la[pos], self.res_from[pos]), None]
        last = len(self.res_key) - 1
        same_prev = (pos > 0) & ((self.res_key[np.maximum(pos - 1, 0)] >> 17) == (key >> 17))
        same_next = (pos < last) & ((self.res_key[np.minimum(pos + 1, last)] >> 17) == (key >> 17))
        p0 = np.where(self.res_from[pos] <= d0, pos, pos - 1)  # spell on d0: this one, or the one before
        p2 = np.where(same_next & (self.res_from[np.minimum(pos + 1, last)] <= d2), pos + 1, pos)
        # double moves between the days: search properly
        bad0 = (p0 != pos) & (~same_prev | (self.res_from[np.maximum(p0, 0)] > d0))
        bad2 = (p2 != pos) & (p2 < last) & ((self.res_key[np.minimum(p2 + 1, last)] >> 17) == (key >> 17)) \
            & (self.res_from[np.minimum(p2 + 1, last)] <= d2)
        for bad, p, d in ((bad0, p0, d0), (bad2, p2, d2)):
            if bad.any():
                k = (self.pid[idx[bad]].astype(np.int64) << 17) | np.int64(d)
                p[bad] = np.searchsorted(self.res_key, k, side="right") - 1
        out[0] = (self.res_la[p0], self.res_from[p0])
        out[2] = (self.res_la[p2], self.res_from[p2])
        return out

    def slice(self, a: int) -> np.ndarray:
        lo = np.searchsorted(self.ry, a - 11, side="left")
        hi = np.searchsorted(self.ry, a, side="right")
        return np.arange(lo, hi)

    def groups(self, a: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Social care group code and its LA index at 31 March of reporting year ``a`` for pupils ``idx``."""
        g_all, la_all = group_array(self.codes, a, self.index_of, self.n)
        return g_all[idx], la_all[idx]

    # --- one year --------------------------------------------------------------------------------------------
    def roll(self, a: int) -> Roll:
        T, d = self.targets, self.draw
        idx = self.slice(a)
        pid = self.pid[idx]
        ncy = (a - self.ry[idx]).astype(np.int8)
        g, g_la = self.groups(a, idx)
        n = len(idx)
        autumn, census, summer = term_dates(a)
        (la_aut, _), (la_spr, from_spr), (la_sum, from_sum) = self.la_on_days(
            idx, (_days(autumn), _days(census), _days(summer)))
        need, ability, male = self.need[idx], self.ability[idx], self.male[idx]

        # SEN: EHC plans, then SEN support among the rest; a pupil's previous state raises the latent value
        # (hysteresis), so plans, support and FSM persist while group cut-points keep the shares exact.
        prev_sen = self.sen_prev[idx]
        x_e = (0.45 * need - 0.35 * ability + 0.75 * self.trait("ehc", idx) + 0.25 * self.drift("ehc", a, idx)
               + 0.2 * male + 0.06 * ncy + HYSTERESIS_EHC * (prev_sen == SEN_E))
        cut = group_cuts(x_e, g, T.rate(a, ALL, "sen_ehc"), group_rate_dict(T, a, "sen_ehc"))
        ehc = x_e > cut
        x_k = (0.35 * need - 0.5 * ability + 0.6 * self.trait("senk", idx) + 0.55 * self.drift("senk", a, idx)
               + 0.25 * male + SEN_SUPPORT_AGE[ncy] + HYSTERESIS_K * (prev_sen == SEN_K))
        k_rates = {c: _conditional(r, _share(ehc, g == c)) for c, r in group_rate_dict(T, a, "sen_support").items()}
        k_all = _conditional(T.rate(a, ALL, "sen_support"), ehc.mean())
        cut = group_cuts(x_k, g, k_all, k_rates, mask=~ehc)
        sen = np.where(ehc, SEN_E, np.where(~ehc & (x_k > cut), SEN_K, SEN_NONE)).astype(np.int8)
        sen_type = self._sen_types(a, pid, g, sen)

        # FSM eligibility on census day, and the six-year history
        was_fsm = (self.fsm_hist[idx] & 1).astype(bool)
        x_f = (0.55 * need - 0.3 * ability + 0.7 * self.trait("fsm", idx) + 0.6 * self.drift("fsm", a, idx)
               + HYSTERESIS_FSM * was_fsm)
        f_rates = group_rate_dict(T, a, "fsm")
        for code in CLA_CODES:
            f_rates[code] = CLA_FSM_SHARE
        cut = group_cuts(x_f, g, T.rate(a, ALL, "fsm"), f_rates)
        fsm = x_f > cut
        hist = ((self.fsm_hist[idx].astype(np.uint16) << 1) | fsm).astype(np.uint8) & np.uint8(0x3F)
        ever6 = hist != 0

        # Placement: special school (pupils with an EHC plan, sticky), AP school (by year), AP census
        x_s = (self.trait("special", idx) + 0.8 * np.isin(sen_type, _idx(["SLD", "PMLD", "MSI", "ASD"]))
               + HYSTERESIS_SPECIAL * self.special[idx])
        s_rates = {c: None if r is None else min(1.0, r / max(_share(ehc, g == c), 1e-9))
                   for c, r in group_rate_dict(T, a, "school_special").items()}
        cut = group_cuts(x_s, g, SPECIAL_SHARE_OF_EHC, s_rates, mask=ehc)
        special = ehc & (x_s > cut)
        beh = self.behaviour(a, idx, sen, fsm)
        age = np.where(ncy >= 10, 1.3, np.where(ncy >= 7, 1.0, np.where(ncy >= 3, 0.0, -2.0))).astype(np.float32)
        x_a = beh + age + 2.5 * self.perm_prev[idx] + 0.5 * d.normal(pid, "apschool", a)
        ap_el = ~special & (ncy >= 1)
        cut = group_cuts(x_a, g, AP_SCHOOL_SHARE, group_rate_dict(T, a, "school_ap"), mask=ap_el,
                         share_of_all=True)
        ap_school = ap_el & (x_a > cut)
        x_c = beh + need + 2.0 * self.perm_prev[idx] + 0.7 * d.normal(pid, "apcensus", a)
        c_el = ~special & ~ap_school & (ncy >= 7)
        in_apc = np.zeros(n, dtype=bool)
        if c_el.any():
            in_apc[c_el] = x_c[c_el] > cut_for_rate(x_c[c_el], AP_CENSUS_SHARE)

        phase = np.where(special, SPECIAL, np.where(ap_school, AP, np.where(ncy >= 7, SECONDARY, PRIMARY)))
        phase = phase.astype(np.int8)
        frame = self.register.year(a)
        chooser = self._chooser(a)
        # a pupil's draw for each phase is fixed (the same primary, secondary, special school while in the LA);
        # AP placements are drawn afresh each year
        u = d.uniform(pid.astype(np.uint64) * np.uint64(4) + phase.astype(np.uint64), "school")
        ap_rows = phase == AP
        u[ap_rows] = d.uniform(pid[ap_rows], "school", AP, a)
        s_spr = chooser.choose(la_spr, phase, u)
        s_aut, s_sum = s_spr.copy(), s_spr.copy()
        for s_term, la_term in ((s_aut, la_aut), (s_sum, la_sum)):
            moved = la_term != la_spr
            if moved.any():
                s_term[moved] = chooser.choose(la_term[moved], phase[moved], u[moved])
        # LA created on 1 April (reorganisation): the summer term stays at the census school
        s_sum = np.where(s_sum < 0, s_spr, s_sum)
        s_aut = np.where(s_aut < 0, s_spr, s_aut)
        missing = s_spr < 0
        if missing.any():
            # every LA with residents has a school of every phase (schools.build_register); a pupil recorded as
            # living in an LA without one that year (a residence-spell edge case) goes to a school of the phase
            # anywhere in England rather than stopping the run
            self.schools_outside_la += int(missing.sum())
            s_spr[missing] = chooser.choose_anywhere(phase[missing], u[missing])
            s_aut[missing & (s_aut < 0)] = s_spr[missing & (s_aut < 0)]
            s_sum[missing & (s_sum < 0)] = s_spr[missing & (s_sum < 0)]
        site_ids = frame["site"].to_numpy()

        # entry date: the date the pupil joined their current school, followed term by term
        cur, since = self.cur_site[idx].copy(), self.since[idx].copy()
        first_start = np.where(phase == PRIMARY, self.ry[idx], np.where(phase == SECONDARY, self.ry[idx] + 7, a))
        new = cur < 0  # first year simulated: non-movers joined at the start of their phase
        since[new] = np.array([_days(term_dates(int(y))[0]) for y in range(a - 11, a + 1)],
                              dtype=np.int32)[np.clip(first_start[new] - (a - 11), 0, 11)]
        cur[new] = site_ids[s_aut[new]]
        moved = site_ids[s_aut] != cur
        since = np.where(moved, _days(autumn), since)
        cur = site_ids[s_aut]
        for s_term, start, prev_la, la_now, la_from in ((s_spr, census, la_aut, la_spr, from_spr),
                                                      (s_sum, summer, la_spr, la_sum, from_sum)):
            moved = site_ids[s_term] != cur
            home_move = la_now != prev_la  # joined a few days after moving home
            when = np.where(home_move, np.minimum(la_from + 5, _days(start)), _days(start)).astype(np.int32)
            since = np.where(moved, when, since)
            cur = site_ids[s_term]
            if start == census:
                entry = since.copy()
        # pupils in AP outside schools are not on roll this year
        keep = ~in_apc
        apc_idx, apc_la = idx[in_apc], la_spr[in_apc]
        apc_entry = np.full(int(in_apc.sum()), _days(autumn), dtype=np.int32)

        # commit state
        self.sen_prev[idx], self.special[idx], self.fsm_hist[idx] = sen, special, hist
        self.cur_site[idx[keep]], self.since[idx[keep]] = cur[keep], since[keep]
        return Roll(year=a, idx=idx[keep], ncy=ncy[keep], group=g[keep], group_la=g_la[keep], la=la_spr[keep],
                    site_aut=s_aut[keep], site_spr=s_spr[keep], site_sum=s_sum[keep], phase=phase[keep],
                    sen=sen[keep], sen_type=sen_type[keep], fsm=fsm[keep], ever6=ever6[keep], entry=entry[keep],
                    ap_census=apc_idx, ap_census_la=apc_la, ap_census_entry=apc_entry,
                    ap_census_sen=sen[in_apc], ap_census_sen_type=sen_type[in_apc], ap_census_fsm=fsm[in_apc])

    def behaviour(self, a: int, idx: np.ndarray, sen: np.ndarray, fsm: np.ndarray) -> np.ndarray:
        """Latent propensity to be suspended, excluded or placed in AP (persistent, drifting by year)."""
        pid = self.pid[idx]
        return (0.5 * self.need[idx] - 0.2 * self.ability[idx] + 0.35 * self.male[idx] + 0.15 * fsm
                + 0.25 * (sen == SEN_K) + 0.15 * (sen == SEN_E)
                + 0.7 * self.trait("behaviour", idx) + 0.5 * self.drift("behaviour", a, idx))

    def _chooser(self, a: int) -> Chooser:
        if getattr(self, "_chooser_year", None) != a:
            self._chooser_cache = Chooser(self.register.year(a), self.n_las)
            self._chooser_year = a
        return self._chooser_cache

    def _sen_types(self, a: int, pid: np.ndarray, g: np.ndarray, sen: np.ndarray) -> np.ndarray:
        """Primary type of need: each pupil's persistent uniform read through the type mix of their group
        (published shares of pupils with SEN) reweighted for their provision."""
        T = self.targets
        out = np.full(len(pid), -1, dtype=np.int8)
        u = self.draw.uniform(pid, "sentype")
        wE = np.array([TYPE_WEIGHT_EHC[t] for t in SEN_TYPES])
        wK = np.array([TYPE_WEIGHT_K[t] for t in SEN_TYPES])
        for code in [0, *GROUP_NAMES]:
            name = ALL if code == 0 else GROUP_NAMES[code]
            base = np.array([T.nearest(a, name, f"sen_type_{t}") or T.nearest(a, ALL, f"sen_type_{t}") or 0.0
                             for t in SEN_TYPES], dtype=float)
            base = base / base.sum()
            selE, selK = (g == code) & (sen == SEN_E), (g == code) & (sen == SEN_K)
            nE, nK = selE.sum(), selK.sum()
            if nE + nK == 0:
                continue
            # rake type weights so that the group's mix over all its pupils with SEN equals the published mix
            lam = np.ones(len(SEN_TYPES))
            for _ in range(30):
                pE = base * wE * lam
                pK = base * wK * lam
                pE, pK = pE / pE.sum(), pK / pK.sum()
                mix = (nE * pE + nK * pK) / (nE + nK)
                lam *= np.where(mix > 0, base / np.maximum(mix, 1e-12), 1.0)
            for sel, p in ((selE, pE), (selK, pK)):
                if sel.any():
                    # by rank of the pupil's uniform, so the shares are exact at any scale (and stable)
                    rank = np.empty(sel.sum())
                    rank[np.argsort(u[sel], kind="stable")] = (np.arange(sel.sum()) + 0.5) / sel.sum()
                    cdf = np.cumsum(p)
                    out[sel] = np.searchsorted(cdf / cdf[-1], rank, side="right").clip(0, len(SEN_TYPES) - 1)
        return out


def _idx(types: list[str]) -> list[int]:
    return [SEN_TYPES.index(t) for t in types]


def _share(flag: np.ndarray, sel: np.ndarray) -> float:
    return float(flag[sel].mean()) if sel.any() else 0.0


def _conditional(rate: float | None, taken: float) -> float | None:
    """Rate among pupils not already taken by a prior category (SEN support among pupils without a plan)."""
    if rate is None:
        return None
    return float(np.clip(rate / max(1e-9, 1.0 - taken), 0.0, 1.0))
