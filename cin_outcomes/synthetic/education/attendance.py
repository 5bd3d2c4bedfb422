"""Attendance and behaviour: absence sessions by term, suspensions and permanent exclusions, and the rolls
(school census, AP census) that frame them.

Absence: each pupil aged 5-15 has an absence rate ``expit(mu + sigma * x)`` from a persistent latent ``x`` (need,
ability, SEN, FSM, LA and school effects, a year-to-year drift). For every social care group and school phase,
``mu`` and ``sigma`` are solved each year so that the shares of persistent (10%+) and severe (50%+) absentees equal
the published ones, and the slope of the tails beyond those lines so that the group's overall absence rate does;
authorised and unauthorised absence split by a pupil-level share whose level is solved for the published
unauthorised rate. Sessions are counted per term and enrolment (a pupil who changes school mid-year has
one row per school). 2019/20 holds the autumn term only, as collected.

Exclusions: a behaviour latent (need, sex, SEN, FSM, age, LA and school practice) gives permanent exclusions and
suspensions per pupil with the group rates of the published tables; suspended pupils have one or more suspensions
of one or more sessions on school days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from cin_outcomes.synthetic.education.attainment import _acad
from cin_outcomes.synthetic.education.calibrate import (cut_for_rate, group_cuts, group_rate_dict, mean_matching,
                                                        sample)
from cin_outcomes.synthetic.education.careers import SEN_E, SEN_K, Roll, Simulation, _days, term_dates
from cin_outcomes.synthetic.education.targets import ALL, GROUP_NAMES
from cin_outcomes.synthetic.npd_columns import MODULES, PHASES, SEN_TYPES
from cin_outcomes.years import ReportingYear

#: Sessions possible per term for a pupil on roll all term (two a day; autumn, spring, summer incl. both halves).
TERM_SESSIONS = (140, 118, 128)
PA_THRESHOLD, SEVERE_THRESHOLD = 0.10, 0.50
#: Bound on the log of the tail-slope factor that fits a group's mean absence rate (see _fit_rates).
TAIL_LOG_K = 2.0
#: Persistent and severe absence over all school types may differ from the published totals by this much before
#: the rates of every school type are moved together (differences come from a group's mix of school types).
TOTAL_BAND = 0.015
#: Suspension and exclusion propensity by NC year R..11 (latent shift; assumption: peaks in years 9-10).
EXCLUSION_AGE = np.array([-2.2, -1.6, -1.3, -1.1, -0.9, -0.7, -0.5, 0.0, 0.35, 0.55, 0.6, 0.35], dtype=np.float32)
SUSPENSION_SESSIONS = (np.array([1, 2, 3, 4, 5, 6, 8, 10]), np.array([.35, .3, .1, .1, .06, .04, .03, .02]))
REASONS = ["PD", "VP", "PA", "PP", "VA", "DA", "DM", "BU", "TH", "OT"]
SUSPENSION_REASONS = np.array([.35, .12, .10, .05, .08, .03, .05, .02, .01, .19])
PERMANENT_REASONS = np.array([.30, .08, .15, .10, .04, .02, .12, .01, .01, .17])
AP_SETTINGS = (np.array(["IND", "UNR", "FE", "OTH"]), np.array([.35, .30, .15, .20]))
SEN_CODES = np.array(["N", "K", "E"])
SEN_LABELS = pl.Series(["N", "K", "E"])
NC_YEARS = pl.Series(["R", *[str(i) for i in range(1, 12)]])


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _date(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def _sen_type(codes: np.ndarray) -> pl.Series:
    return pl.Series(codes.astype(np.int16)).replace_strict(dict(enumerate(SEN_TYPES)), default=None,
                                                               return_dtype=pl.Utf8)


def _sites(sim: Simulation, a: int) -> pl.DataFrame:
    return sim.register.year(a)


def _school(f: pl.DataFrame, rows: np.ndarray, cols=("LA", "LAESTAB", "URN", "PhaseType")) -> dict[str, pl.Series]:
    """Columns of the year's school frame for each row number in ``rows``."""
    r = pl.Series(np.asarray(rows), dtype=pl.Int64)
    return {c: f[c].gather(r) for c in cols}


# --- School census ----------------------------------------------------------------------------------------------
def school_census(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame:
    f = _sites(sim, a)
    # rows in their final order (school, then UPN) before any string column is built
    order = np.lexsort((sim.upn_rank[roll.idx], f["URN"].to_numpy()[roll.site_spr],
                        f["LAESTAB"].to_numpy()[roll.site_spr]))
    s, idx, ncy = roll.site_spr[order], roll.idx[order], roll.ncy[order]
    p = sim.pupils[idx]
    df = pl.DataFrame({
        "UPN": p["UPN"],
        **_school(f, s, ("LA", "LAESTAB", "URN", "PhaseType", "TypeOfEstablishment", "AcademyFlag")),
        "EntryDate": _date(roll.entry[order]),
        "NCyearActual": NC_YEARS.gather(ncy),
        "AgeAtStartOfAcademicYear": (ncy + 4).astype(np.int8),
        "YearOfBirth": p["YearOfBirth"], "MonthOfBirth": p["MonthOfBirth"], "Gender": p["Gender"],
        "EthnicGroupMinor": p["EthnicGroupMinor"], "EthnicGroupMajor": p["EthnicGroupMajor"],
        "SENprovision": SEN_LABELS.gather(roll.sen[order]),
        "PrimarySENtype": _sen_type(roll.sen_type[order]),
        "FSMeligible": roll.fsm[order], "EVERFSM_6": roll.ever6[order],
    }).with_columns(pl.lit(_acad(a)).alias("AcademicYear"),
                    pl.lit(ReportingYear(a).school_census_date).alias("CensusDate"),
                    pl.lit("C").alias("EnrolStatus"))
    return conform(df, "school_census")


def ap_census(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame:
    n = len(roll.ap_census)
    idx = roll.ap_census
    pid = sim.pid[idx]
    p = sim.pupils[idx]
    setting = AP_SETTINGS[0][np.searchsorted(np.cumsum(AP_SETTINGS[1]), sim.draw.uniform(pid, "apc-setting", a),
                                             side="right").clip(0, 3)]
    reason = np.where(sim.perm_prev[idx], "PEX", np.where(roll.ap_census_sen == SEN_E, "SEN",
                      np.where(sim.draw.uniform(pid, "apc-reason", a) < 0.35, "MED", "OTH")))
    urn = np.where(setting == "IND", 150_000 + (sim.draw.uniform(pid, "apc-urn") * 900).astype(np.int64), -1)
    df = pl.DataFrame({
        "AcademicYear": np.full(n, _acad(a)), "CensusDate": _date(np.full(n, _days(ReportingYear(a).school_census_date))),
        "UPN": p["UPN"], "_order": sim.upn_rank[idx],
        "LA": np.asarray(sim.las)[roll.ap_census_la] if n else np.zeros(0, dtype=str),
        "URN": pl.Series(urn).replace(-1, None), "SettingType": setting, "PlacementReason": reason,
        "EntryDate": _date(roll.ap_census_entry),
        "AgeAtStartOfAcademicYear": (a - sim.ry[idx] + 4).astype(np.int8),
        "Gender": p["Gender"], "EthnicGroupMajor": p["EthnicGroupMajor"],
        "SENprovision": SEN_CODES[roll.ap_census_sen],
        "PrimarySENtype": _sen_type(roll.ap_census_sen_type),
        "FSMeligible": roll.ap_census_fsm,
    })
    return conform(df, "ap_census")


# --- Absence ----------------------------------------------------------------------------------------------------
def absence(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame | None:
    """Absence per enrolment of pupils aged 5-15 (NC years 1-11)."""
    T, d = sim.targets, sim.draw
    sel = roll.ncy >= 1
    idx = roll.idx[sel]
    pid = sim.pid[idx]
    g, ph = roll.group[sel], roll.phase[sel]
    sites_year = _sites(sim, a)
    site_ids = sites_year["site"].to_numpy()
    school_la = sites_year["la_idx"].to_numpy()[roll.site_spr[sel]]
    x = (0.45 * sim.need[idx] - 0.2 * sim.ability[idx] + 0.8 * sim.trait("abs", idx)
         + 0.6 * sim.drift("abs", a, idx) + 0.3 * (roll.sen[sel] == SEN_E) + 0.2 * (roll.sen[sel] == SEN_K)
         + 0.3 * roll.fsm[sel] + sim.la_abs_all[school_la] + sim.site_abs[site_ids[roll.site_spr[sel]]])
    gl = roll.group_la[sel]
    has = (g > 0) & (gl >= 0)
    x[has] += sim.la_abs[gl[has]] * 1.5
    x = x.astype(np.float64)
    rate = np.zeros(len(x))
    cells = _cells(T, a, g, ph, "abs_pa10", "abs_severe50")
    for p_code, phase in enumerate(PHASES):
        if p_code not in cells:
            continue
        group_rows, rest_rows = cells[p_code]
        pa_all, sev_all = T.rate(a, ALL, "abs_pa10", phase), T.rate(a, ALL, "abs_severe50", phase)
        n_ph = len(rest_rows) + sum(len(r) for r in group_rows.values())
        need_pa, need_sev = pa_all * n_ph, sev_all * n_ph
        for code, cell in group_rows.items():
            name = GROUP_NAMES[code]
            rate[cell] = _fit_rates(x[cell], T.rate(a, name, "abs_pa10", phase), T.rate(a, name, "abs_severe50", phase),
                                    T.rate(a, name, "abs_overall", phase))
            need_pa -= (rate[cell] >= PA_THRESHOLD).sum()
            need_sev -= (rate[cell] >= SEVERE_THRESHOLD).sum()
        if len(rest_rows) >= 2:
            rate[rest_rows] = _fit_rates(x[rest_rows], max(need_pa, 1) / len(rest_rows),
                                         max(need_sev, 0.5) / len(rest_rows))
    rate = _match_totals(T, a, g, rate)
    # sessions possible per term at the term's school; absence sessions per term
    cal = sim.site_cal
    s_terms = [roll.site_aut[sel], roll.site_spr[sel], roll.site_sum[sel]]
    possible = [np.clip(TERM_SESSIONS[t] + cal[site_ids[s_terms[t]], t], 1, None).astype(np.int32) for t in range(3)]
    total = possible[0] + possible[1] + possible[2]
    absent_total = np.ceil(rate * total - 1e-9).astype(np.int32)  # never below the pupil's rate (10%/50% lines)
    w = [possible[t] * np.exp(0.3 * d.normal(pid, "abs-term", a, t)) for t in range(3)]
    a_aut = np.minimum(possible[0], np.rint(absent_total * w[0] / (w[0] + w[1] + w[2]))).astype(np.int32)
    left = absent_total - a_aut
    a_spr = np.minimum(possible[1], np.rint(left * w[1] / (w[1] + w[2]))).astype(np.int32)
    a_sum = np.minimum(possible[2], left - a_spr)
    over = left - a_spr - a_sum  # capacity overflow (rates near 100%): back to the other terms
    a_aut = np.minimum(possible[0], a_aut + over)
    absent = [a_aut, a_spr, a_sum]
    # unauthorised share: higher for pupils who miss more; level solved per group for the published rate
    xs = (x - x.mean()) / (x.std() + 1e-9)
    noise = 0.5 * d.normal(pid, "abs-unauth", a)
    tot_abs = a_aut + a_spr + a_sum
    nu = np.zeros(len(x))
    cells = _cells(T, a, g, ph, "abs_overall", "abs_unauth")
    for p_code, phase in enumerate(PHASES):
        if p_code not in cells:
            continue
        group_rows, rest_rows = cells[p_code]
        for code, cell in [*group_rows.items(), (0, rest_rows)]:
            name = GROUP_NAMES.get(code, ALL)
            ov, un = T.rate(a, name, "abs_overall", phase), T.rate(a, name, "abs_unauth", phase)
            if ov is None or un is None or not len(cell):
                continue
            some = sample(cell)
            w_c, lin = tot_abs[some].astype(np.float64), 0.6 * xs[some] + noise[some]
            if w_c.sum() == 0:
                continue
            nu[cell] = mean_matching(lambda v: float((w_c * _expit(v + lin)).sum() / w_c.sum()), -8.0, 8.0,
                                     un / ov, 22)
    share = _expit(nu + 0.6 * xs + noise)
    unauth = [np.rint(absent[t] * share).astype(np.int32) for t in range(3)]
    autumn_only = a == 2019
    # one row per enrolment (pupil x school): most pupils have one; movers have one per school
    terms = ["Autumn", "Spring", "Summer"]
    n_terms = 1 if autumn_only else 3
    single = np.ones(len(x), dtype=bool) if autumn_only else (s_terms[0] == s_terms[1]) & (s_terms[1] == s_terms[2])
    cols: dict[str, object] = {"_i": np.flatnonzero(single), "_site": s_terms[1 if not autumn_only else 0][single]}
    for t, name in enumerate(terms):
        for key, arr in (("SessionsPossible", possible[t]), ("AuthorisedAbsence", absent[t] - unauth[t]),
                         ("UnauthorisedAbsence", unauth[t])):
            cols[f"{key}_{name}"] = arr[single] if t < n_terms else None
    parts = [pl.DataFrame({k: (v if v is not None else pl.Series(k, [None] * int(single.sum()), dtype=pl.Int64))
                           for k, v in cols.items()})]
    movers = np.flatnonzero(~single)
    if len(movers):
        long = pl.concat([pl.DataFrame({"_i": movers, "_t": np.full(len(movers), t, dtype=np.int8),
                                        "_site": s_terms[t][movers], "_poss": possible[t][movers],
                                        "_auth": (absent[t] - unauth[t])[movers], "_unauth": unauth[t][movers]})
                          for t in range(3)])
        agg = []
        for t, name in enumerate(terms):
            m = pl.col("_t") == t
            agg += [pl.col("_poss").filter(m).first().alias(f"SessionsPossible_{name}"),
                    pl.col("_auth").filter(m).first().alias(f"AuthorisedAbsence_{name}"),
                    pl.col("_unauth").filter(m).first().alias(f"UnauthorisedAbsence_{name}")]
        parts.append(long.group_by("_i", "_site").agg(agg))
    enr = pl.concat(parts, how="diagonal_relaxed")
    for name in terms:
        enr = enr.with_columns((pl.col(f"AuthorisedAbsence_{name}") + pl.col(f"UnauthorisedAbsence_{name}"))
                               .alias(f"OverallAbsence_{name}"))
    tot = {k: pl.sum_horizontal([pl.col(f"{k}_{t}") for t in terms]) for k in
           ("SessionsPossible", "AuthorisedAbsence", "UnauthorisedAbsence", "OverallAbsence")}
    enr = enr.with_columns([(pl.lit(None) if autumn_only else v).alias(k) for k, v in tot.items()])
    # rows in their final order (school, then UPN) while the frame holds numbers only
    i0, s0 = enr["_i"].to_numpy(), enr["_site"].to_numpy()
    order = np.lexsort((sim.upn_rank[idx[i0]], sites_year["URN"].to_numpy()[s0], sites_year["LAESTAB"].to_numpy()[s0]))
    enr = enr[order]
    i, s = i0[order], s0[order]
    ncy = roll.ncy[sel][i]
    df = enr.with_columns(
        pl.lit(_acad(a)).alias("AcademicYear"), sim.pupils["UPN"].gather(idx[i]).alias("UPN"),
        *_school(sites_year, s).values(), NC_YEARS.gather(ncy).alias("NCyearActual"),
    )
    return conform(df, "absence")


def _cells(T, a: int, g: np.ndarray, ph: np.ndarray, *measures: str) -> dict[int, tuple[dict[int, np.ndarray],
                                                                                         np.ndarray]]:
    """Row numbers per school phase: {phase: ({group code: rows}, rows of everyone else)}, a group having its own
    rows where it has targets for every measure in that phase."""
    in_group = np.flatnonzero(g > 0)
    out = {}
    order = np.argsort(ph, kind="stable")
    bounds = np.searchsorted(ph[order], np.arange(len(PHASES) + 1))
    for p_code, phase in enumerate(PHASES):
        rows = order[bounds[p_code]:bounds[p_code + 1]]
        if not len(rows):
            continue
        group_rows = {}
        gp = in_group[ph[in_group] == p_code]
        for code, name in GROUP_NAMES.items():
            cell = gp[g[gp] == code]
            if len(cell) >= 2 and all(T.rate(a, name, m, phase) is not None for m in measures):
                group_rows[code] = cell
        taken = np.concatenate(list(group_rows.values())) if group_rows else np.zeros(0, dtype=np.int64)
        rest = rows[~np.isin(rows, taken)] if len(taken) else rows
        out[p_code] = (group_rows, rest)
    return out


def _match_totals(T, a: int, g: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Move each group's rates (all phases together) so that its persistent and severe absence over all school
    types equal the published totals too: a monotone map of the logit that pivots on the 10% line."""
    l10 = _logit(PA_THRESHOLD)
    lg = np.log(np.clip(rate, 1e-9, 1 - 1e-9) / (1 - np.clip(rate, 1e-9, 1 - 1e-9)))
    n = len(rate)
    pa_all, sev_all = T.rate(a, ALL, "abs_pa10"), T.rate(a, ALL, "abs_severe50")
    need_pa, need_sev = pa_all * n, sev_all * n
    rest = np.ones(n, dtype=bool)
    cells = []
    for code, name in GROUP_NAMES.items():
        cell = g == code
        pa, sev = T.rate(a, name, "abs_pa10"), T.rate(a, name, "abs_severe50")
        if pa is None or sev is None or cell.sum() < 2:
            continue
        rest &= ~cell
        cells.append((cell, pa, sev))
        need_pa -= pa * cell.sum()
        need_sev -= sev * cell.sum()
    if rest.sum() >= 2:
        cells.append((rest, max(need_pa, 1) / rest.sum(), max(need_sev, 0.5) / rest.sum()))
    out = lg.copy()
    for cell, pa, sev in cells:
        # only as far as needed to bring the totals within TOTAL_BAND of the published ones: each school type's
        # rates stay exact when the group's mix of school types is close to the real one
        now_pa, now_sev = (lg[cell] >= l10).mean(), (lg[cell] >= 0).mean()
        pa = float(np.clip(now_pa, pa - TOTAL_BAND, pa + TOTAL_BAND))
        sev = float(np.clip(now_sev, sev - TOTAL_BAND, sev + TOTAL_BAND))
        l1 = lg[cell] + (l10 - cut_for_rate(lg[cell], min(max(pa, 1e-4), 0.999)))
        t_s = cut_for_rate(l1, min(max(sev, 1e-5), max(pa, 1e-4) * 0.999))
        kappa = (0.0 - l10) / max(t_s - l10, 1e-6)
        out[cell] = l10 + (l1 - l10) * kappa
    return _expit(out) * (1 + 1e-9)


def _fit_rates(x: np.ndarray, pa: float, severe: float, overall: float | None = None) -> np.ndarray:
    """Absence rates expit(l(x)) with exactly the shares ``pa`` at 10%+ and ``severe`` at 50%+ and, given
    ``overall``, that mean rate: l is linear between the pupils at the 10% and the 50% lines (mu + sigma x) and
    continues with slope sigma / k below the 10% line and sigma * k above the 50% line, k solved for the mean
    (k > 1 raises both tails: pupils who miss little miss a little more and those who miss most miss more)."""
    q_pa = cut_for_rate(x, min(max(pa, 1e-4), 0.999))
    q_sev = cut_for_rate(x, min(max(severe, 1e-5), max(pa, 1e-4) * 0.999))
    if q_sev <= q_pa:
        q_sev = q_pa + 1e-3
    sigma = (_logit(SEVERE_THRESHOLD) - _logit(PA_THRESHOLD)) / (q_sev - q_pa)
    mu = _logit(SEVERE_THRESHOLD) - sigma * q_sev

    def rates(log_k: float, xs: np.ndarray) -> np.ndarray:
        k = np.exp(log_k)
        lin = mu + sigma * xs
        lin = np.where(xs < q_pa, _logit(PA_THRESHOLD) + sigma / k * (xs - q_pa), lin)
        lin = np.where(xs > q_sev, _logit(SEVERE_THRESHOLD) + sigma * k * (xs - q_sev), lin)
        return _expit(lin) * (1 + 1e-9)

    log_k = 0.0
    if overall is not None and len(x) >= 2:
        some = sample(np.arange(len(x)))
        log_k = mean_matching(lambda v: float(rates(v, x[some]).mean()), -TAIL_LOG_K, TAIL_LOG_K, overall, 24)
    return rates(log_k, x)


# --- Exclusions -------------------------------------------------------------------------------------------------
def exclusions(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame:
    """Suspensions and permanent exclusions (one row each); also sets who was permanently excluded this year."""
    T, d = sim.targets, sim.draw
    pid = sim.pid[roll.idx]
    # The publication pairs the exclusions of an academic year with the social care groups at 31 March of the
    # following reporting year (its exclusions tables run a year behind), so the rates are calibrated that way.
    g = sim.groups(a + 1, roll.idx)[0] if a + 1 <= sim.last else roll.group
    sites_year = _sites(sim, a)
    site_ids = sites_year["site"].to_numpy()
    school_la = sites_year["la_idx"].to_numpy()[roll.site_spr]
    b = (sim.behaviour(a, roll.idx, roll.sen, roll.fsm) + EXCLUSION_AGE[roll.ncy] + sim.la_exc[school_la]
         + sim.site_exc[site_ids[roll.site_spr]]).astype(np.float64)
    xp = b + 0.6 * d.normal(pid, "perm", a)
    perm = xp > group_cuts(xp, g, T.rate(a, ALL, "excl_perm"), group_rate_dict(T, a, "excl_perm"))
    xs = np.where(perm, np.inf, b + 0.6 * d.normal(pid, "susp", a))
    cut_s = group_cuts(xs, g, T.rate(a, ALL, "excl_susp"), group_rate_dict(T, a, "excl_susp"))
    susp = xs > cut_s
    sim.perm_prev[:] = False
    sim.perm_prev[roll.idx[perm]] = True
    if a < sim.first:
        return None  # burn-in years: only who was excluded matters
    excess = np.clip(np.where(np.isfinite(xs), xs - cut_s, 2.0), 0, 4)
    rng = sim.cfg.rng("education", "exclusions", a)
    n_susp = np.where(susp, 1 + rng.poisson(0.9 * np.exp(0.4 * excess)), 0)
    days = _school_days(a)
    ev_i = np.concatenate([np.repeat(np.arange(len(g)), n_susp), np.flatnonzero(perm)])
    n_s = int(n_susp.sum())
    cat = pl.Series(["SUSP", "PERM"]).gather(np.concatenate([np.zeros(n_s, np.int8), np.ones(int(perm.sum()), np.int8)]))
    date = days[rng.integers(0, len(days), len(ev_i))]
    sessions = np.concatenate([rng.choice(SUSPENSION_SESSIONS[0], n_s, p=SUSPENSION_SESSIONS[1]).astype(float),
                               np.full(int(perm.sum()), np.nan)])
    reason = pl.Series(REASONS).gather(np.concatenate([rng.choice(len(REASONS), n_s, p=SUSPENSION_REASONS),
                                                       rng.choice(len(REASONS), int(perm.sum()), p=PERMANENT_REASONS)]))
    autumn, census, summer = term_dates(a)
    spring_start = _days(dt.date(a + 1, 1, 1))
    site = np.where(date < spring_start, roll.site_aut[ev_i],
                    np.where(date < _days(summer), roll.site_spr[ev_i], roll.site_sum[ev_i]))
    ncy = roll.ncy[ev_i]
    df = pl.DataFrame({
        "UPN": sim.pupils["UPN"].gather(roll.idx[ev_i]),
        "_order": sim.upn_rank[roll.idx[ev_i]],
        **_school(sites_year, site),
        "NCyearActual": NC_YEARS.gather(ncy), "Category": cat, "ExclusionReason": reason,
        "ExclusionStartDate": _date(date), "ExclusionSessions": pl.Series(sessions, nan_to_null=True),
    }).with_columns(pl.lit(_acad(a)).alias("AcademicYear"))
    return conform(df, "exclusions")


def _school_days(a: int) -> np.ndarray:
    """Days (since epoch) schools are open in academic year ``a``: weekdays from the autumn start to 20 July,
    less the Christmas and Easter holidays (and the COVID closures of 2019/20 and 2020/21)."""
    autumn, _, summer = term_dates(a)
    start, end = _days(autumn), _days(dt.date(a + 1, 7, 20))
    days = np.arange(start, end + 1)
    wd = (days + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    keep = wd < 5
    keep &= ~((days >= _days(dt.date(a, 12, 20))) & (days <= _days(dt.date(a + 1, 1, 3))))
    keep &= ~((days >= _days(summer) - 14) & (days < _days(summer)))
    if a == 2019:
        keep &= days < _days(dt.date(2020, 3, 20))
    if a == 2020:
        keep &= ~((days >= _days(dt.date(2021, 1, 5))) & (days < _days(dt.date(2021, 3, 8))))
    return days[keep]


def conform(df: pl.DataFrame, module: str) -> pl.DataFrame:
    """Exactly the module's columns, in order, with its dtypes."""
    schema = MODULES[module]
    obj = [c for c in df.columns if df[c].dtype == pl.Object]
    if obj:  # numpy object arrays (strings with None): rebuild as typed columns
        df = df.with_columns([pl.Series(c, df[c].to_list(), dtype=schema.get(c, pl.Utf8)) for c in obj])
    keep = [pl.col("_order")] if "_order" in df.columns else []  # row order key, dropped when finished
    return df.select([pl.col(c).cast(t, strict=False) if c in df.columns else pl.lit(None, dtype=t).alias(c)
                      for c, t in schema.items()] + keep)
