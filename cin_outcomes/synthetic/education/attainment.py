"""Attainment: EYFSP, phonics, KS1, KS2 and KS4 results of the pupils at the end of each stage.

Each stage draws a latent attainment per pupil from the population's ``ability`` (correlated with ``need``),
a stage-specific pupil term, the school, SEN and FSM, and — for pupils in a social care group — an LA effect of
the size of the published between-LA spread. Results are thresholds on subject latents; the thresholds are solved
per year and social care group so that national rates equal the targets (:mod:`calibrate`). Prior attainment
carries forward: KS1 to KS2 progress, KS2 to KS4 Progress 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cin_outcomes.synthetic.education.calibrate import (cut_for_rate, group_cuts, group_rate_dict, mean_matching,
                                                        sample)
from cin_outcomes.synthetic.education.careers import SEN_E, SEN_K, Roll, Simulation
from cin_outcomes.synthetic.education.targets import ALL, GROUP_NAMES
from cin_outcomes.synthetic.npd_columns import ELGS_2012, ELGS_2021, module_available, progress8_produced

#: Scaled score points per standard deviation of a subject latent (KS2 tests; assumption giving national score
#: spreads of about 7-8 points and higher-standard rates of about a quarter to a third).
KS2_POINTS_PER_SD = 8.0
#: Teacher assessment bands below / above the expected standard, in latent standard deviations (assumption).
TA_BANDS = {"GDS": 1.7, "EXS": 0.0, "WTS": -1.3, "PKF": -2.3}
#: KS1 teacher assessment points for the KS1 average point score used as KS2 prior attainment.
KS1_POINTS = {"GDS": 21.0, "EXS": 17.0, "WTS": 13.0, "PKF": 7.0, "BLW": 3.0}
#: Nominal scaled scores of KS2 writing teacher assessments for writing progress.
KS2_WRITING_NOMINAL = {"GDS": 113.0, "EXS": 103.0, "WTS": 91.0, "PKF": 76.0, "BLW": 70.0}
NOMINAL_BELOW_TEST = 79.0  # prior attainment / progress score of pupils working below the test standard
#: GCSE grade cut-points relative to grade 4 (grades 1-3) and grade 5 (grades 6-9), in latent sd (assumption,
#: from a typical national grade distribution).
GRADE_BELOW_4 = np.array([-1.47, -0.90, -0.46])
GRADE_ABOVE_5 = np.array([0.49, 0.93, 1.39, 1.86])
KS4_SUBJECT_NOISE = 0.6
FILL_LIMIT = 6.0  # latent sd: beyond this, Attainment 8 rises through better grades rather than more entries
#: Stage latent = ABILITY_LOADING * ability + STAGE_LOADING * stage-specific term (+ school, SEN, FSM, LA):
#: correlation of about 0.65 between stages (assumption; KS2-KS4 pupil-level correlations are about 0.7).
ABILITY_LOADING, STAGE_LOADING = 0.75, 0.55

SUBJECT_SEX = {"read": -0.12, "writ": -0.2, "mat": 0.05, "gps": -0.15, "sci": 0.0}  # + for boys


def stage_latent(sim: Simulation, roll: Roll, sel: np.ndarray, stage: str, site: np.ndarray) -> np.ndarray:
    """Latent attainment at a stage for the roll rows ``sel``."""
    idx = roll.idx[sel]
    pid = sim.pid[idx]
    z = (ABILITY_LOADING * sim.ability[idx] + STAGE_LOADING * sim.draw.normal(pid, "stage", stage)
         - 0.15 * sim.need[idx]
         - 0.35 * (roll.sen[sel] == SEN_K) - 0.9 * (roll.sen[sel] == SEN_E) - 0.12 * roll.fsm[sel])
    z = z + sim.site_att[sim.register.year(roll.year)["site"].to_numpy()[site]]
    gl = roll.group_la[sel]
    has = (roll.group[sel] > 0) & (gl >= 0)
    z[has] += sim.la_att[gl[has]]
    return z.astype(np.float64)


def _school_cols(sim: Simulation, roll: Roll, site: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    f = sim.register.year(roll.year)
    site = pl.Series(site, dtype=pl.Int64)
    return {f"{prefix}LA": f["LA"].gather(site), f"{prefix}LAESTAB": f["LAESTAB"].gather(site),
            f"{prefix}URN": f["URN"].gather(site)}


def _ta(d: np.ndarray) -> np.ndarray:
    return np.select([d >= TA_BANDS["GDS"], d >= TA_BANDS["EXS"], d >= TA_BANDS["WTS"], d >= TA_BANDS["PKF"]],
                     ["GDS", "EXS", "WTS", "PKF"], "BLW")


def _rates(sim: Simulation, a: int, measure: str) -> tuple[float | None, dict[int, float | None]]:
    return sim.targets.rate(a, ALL, measure), group_rate_dict(sim.targets, a, measure)


def _progress(value: np.ndarray, prior: np.ndarray, bin_width: float) -> np.ndarray:
    """Value minus the national mean value of pupils with the same prior attainment (NaN without either)."""
    ok = ~np.isnan(value) & ~np.isnan(prior)
    out = np.full(len(value), np.nan)
    if ok.any():
        b = np.round(prior[ok] / bin_width).astype(np.int64)
        _, inv = np.unique(b, return_inverse=True)
        means = np.bincount(inv, weights=value[ok]) / np.bincount(inv)
        out[ok] = value[ok] - means[inv]
    return out


# --- EYFSP ------------------------------------------------------------------------------------------------------
def eyfsp(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame | None:
    if not module_available("eyfsp", a):
        return None
    sel = roll.ncy == 0
    site = roll.site_sum[sel]
    z = stage_latent(sim, roll, sel, "eyfsp", site) + 0.2 * ~sim.male[roll.idx[sel]]
    pid = sim.pid[roll.idx[sel]]
    eps = np.stack([sim.draw.normal(pid, "elg", j) for j in range(17)], axis=1).astype(np.float64)
    g = roll.group[sel]
    all_gld, grates = _rates(sim, a, "eyfsp_gld")
    avg_target = sim.targets.nearest(a, ALL, "eyfsp_avg_elg")

    def levels(kappa: float, rows: np.ndarray) -> np.ndarray:
        lat = z[rows, None] + kappa * eps[rows]
        cut = group_cuts(lat[:, :12].min(axis=1), g[rows], all_gld, grates)
        return lat - cut[:, None]

    # average ELGs at the expected level rises with the ELG-specific noise (GLD held at its target); solved on
    # an even sample of the cohort
    rows = sample(np.arange(len(z)))
    kappa = mean_matching(lambda k: float((levels(k, rows) > 0).sum(axis=1).mean()), 0.02, 3.0, avg_target, 22)
    d = levels(kappa, np.arange(len(z)))
    old = a < 2021
    lv = np.where(d > 0, np.where(old & (d > 1.3), 3, 2), 1).astype(np.int8)
    gld = (lv[:, :12] >= 2).all(axis=1)
    cols: dict[str, object] = {"FSP_ACADYR": np.full(len(pid), _acad(a)), "FSP_UPN": roll.idx[sel]}
    cols.update(_school_cols(sim, roll, site, "FSP_"))
    cols["FSP_SEX"] = sim.male[roll.idx[sel]]
    for j, c in enumerate(ELGS_2012):
        cols[c] = lv[:, j] if old else None
    for j, c in enumerate(ELGS_2021):
        cols[c] = None if old else lv[:, j]
    cols["FSP_GLD"] = gld
    return _frame(sim, cols, "FSP_UPN", "FSP_SEX")


# --- Phonics ----------------------------------------------------------------------------------------------------
def phonics(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame | None:
    y1 = roll.ncy == 1
    y2 = (roll.ncy == 2) & (sim.phonics_met[roll.idx] == 2)
    if not module_available("phonics", a):
        sim.phonics_met[roll.idx[y1]] = 0
        return None
    frames = []
    for ncy, sel in ((1, y1), (2, y2)):
        site = roll.site_sum[sel]
        idx = roll.idx[sel]
        pid = sim.pid[idx]
        z = stage_latent(sim, roll, sel, f"phonics{ncy}", site) + 0.15 * ~sim.male[idx]
        absent = sim.draw.uniform(pid, "phonics-absent", a) < 0.01
        disapplied = (roll.sen[sel] == SEN_E) & (sim.draw.uniform(pid, "phonics-disapplied", a) < 0.15)
        z = np.where(absent | disapplied, -np.inf, z)
        if ncy == 1:
            cut = group_cuts(z, roll.group[sel], sim.targets.rate(a, ALL, "phonics_y1"), {})
        else:
            cut = np.full(len(z), cut_for_rate(z, RETAKE_MET_SHARE) if len(z) else 0.0)
        d = z - cut
        met = d > 0
        mark = np.where(np.isfinite(d), np.clip(32 + np.floor(3.5 * d), 0, 40), -1).astype(np.int16)
        outcome = np.where(absent, "A", np.where(disapplied, "D", np.where(met, "Wa", "Wt")))
        if ncy == 1:
            sim.phonics_met[idx] = np.where(met, 1, np.where(absent | disapplied, 0, 2))
        cols = {"PHON_ACADYR": np.full(len(idx), _acad(a)), "PHON_UPN": idx}
        cols.update(_school_cols(sim, roll, site, "PHON_"))
        cols.update({"PHON_SEX": sim.male[idx], "PHON_NCYEAR": np.full(len(idx), str(ncy)),
                     "PHON_MARK": np.where(mark >= 0, mark, np.nan),
                     "PHON_OUTCOME": outcome})
        frames.append(_frame(sim, cols, "PHON_UPN", "PHON_SEX"))
    return pl.concat(frames)


RETAKE_MET_SHARE = 0.6  # of year 2 pupils retaking the check (assumption)


# --- KS1 --------------------------------------------------------------------------------------------------------
KS1_SUBJECTS = (("read", "ks1_read_exp"), ("writ", "ks1_writ_exp"), ("mat", "ks1_mat_exp"), ("sci", "ks1_sci_exp"))
#: KS1 -> KS2 progress measures positioned by a group's KS1 results (their mean is the target; one KS1 prior).
PROGRESS_MEASURES = ("ks2_read_prog", "ks2_writ_prog", "ks2_mat_prog")


@dataclass
class PendingKS1:
    """A KS1 cohort assessed in year ``a`` whose results are completed with its KS2 results four years on."""

    a: int
    idx: np.ndarray
    z: dict[str, np.ndarray]        # subject latents before any positioning shift (float32)
    rates: dict[str, float | None]  # all-pupils rates of the expected standard
    school: dict[str, pl.Series]


def ks1(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame | None:
    """KS1 teacher assessments of year ``a``. When this cohort sits KS2 within the simulated years, its results
    are completed then (:func:`_complete_ks1`, returned by :func:`finished`): pupils in a social care group at KS2
    get the KS1 attainment that gives their group its published KS1 -> KS2 progress."""
    if not module_available("ks1", a):
        return None
    sel = roll.ncy == 2
    idx, site = roll.idx[sel], roll.site_sum[sel]
    pid = sim.pid[idx]
    z0 = stage_latent(sim, roll, sel, "ks1", site)
    g = roll.group[sel]
    sexm = (sim.male[idx] - 0.5) * 2
    z = {}
    for s, _ in KS1_SUBJECTS:
        zs = z0 - SUBJECT_SEX[s] * sexm + 0.5 * sim.draw.normal(pid, "ks1", s)
        # no published KS1 figures by group: this year's groups sit where this year's KS2 puts them
        for code, shift in sim.ks2_group_shift.get(s if s != "sci" else "read", {}).items():
            zs[g == code] += shift
        z[s] = zs.astype(np.float32)
    p = PendingKS1(a=a, idx=idx, z=z, rates={s: sim.targets.rate(a, ALL, m) for s, m in KS1_SUBJECTS},
                   school=_school_cols(sim, roll, site, "KS1_"))
    if len(idx) and a + 4 <= sim.last and module_available("ks2", a + 4):
        sim.pending_ks1[a] = p
        return None
    return _ks1_frame(sim, p, np.zeros(len(idx)))


def finished(sim: Simulation) -> list[tuple[int, pl.DataFrame]]:
    """KS1 modules completed since the last call, as (year of the assessment, frame)."""
    out, sim.finished_ks1 = sim.finished_ks1, []
    return out


def _ks1_assess(p: PendingKS1, boost: np.ndarray | float, rows: np.ndarray | None = None,
                cuts: dict[str, float] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, float]]:
    """(outcomes per subject, KS1 average point score, cut per subject) of the rows ``rows`` (all by default)
    with latents raised by ``boost`` (per row, or one value); cuts are solved for the all-pupils rates unless
    given."""
    out, used = {}, {}
    for s, _ in KS1_SUBJECTS:
        zs = (p.z[s] if rows is None else p.z[s][rows]) + boost
        c = cuts[s] if cuts is not None else (cut_for_rate(zs, p.rates[s]) if len(zs) else 0.0)
        used[s] = c
        out[s] = np.where(zs - c >= 0, "EXS", "HNM") if s == "sci" else _ta(zs - c)
    pts = {s: _KS1_PTS[np.searchsorted(_KS1_BANDS, out[s])] for s in ("read", "writ", "mat")}
    return out, (pts["mat"] + (pts["read"] + pts["writ"]) / 2) / 2, used


_KS1_BANDS = np.array(sorted(KS1_POINTS))  # BLW, EXS, GDS, PKF, WTS (sorted for searchsorted)
_KS1_PTS = np.array([KS1_POINTS[b] for b in _KS1_BANDS])


def _complete_ks1(sim: Simulation, p: PendingKS1, a: int, idx: np.ndarray, g: np.ndarray,
                  values: dict[str, np.ndarray]) -> None:
    """Complete the KS1 cohort ``p`` with its KS2 results (year ``a``; pupils ``idx``, groups ``g``, KS2 values
    per subject as progress counts them): each social care group's KS1 latents move together by the shift that
    makes the group's mean KS1 -> KS2 progress (reading, writing and maths together) equal the mean of its
    published progress scores. Progress is against the national mean of pupils with the same KS1 score, which
    the shifts move a little, so the shifts are solved three times."""
    pos = np.full(sim.n, -1, dtype=np.int64)
    pos[p.idx] = np.arange(len(p.idx))
    r = pos[idx]  # KS1 row of each KS2 pupil (-1: not assessed at KS1)
    has = r >= 0
    boost = np.zeros(len(p.idx))
    groups = []
    for code, name in GROUP_NAMES.items():
        t = [v for v in (sim.targets.nearest(a, name, m) for m in PROGRESS_MEASURES) if v is not None]
        rows = np.flatnonzero(has & (g == code))
        if t and len(rows) >= 2:
            groups.append((rows, float(np.mean(t))))
    vals = np.stack([values[s] for s in ("read", "writ", "mat")])  # subject x KS2 pupil (NaN: no value)
    for _ in range(3 if groups else 0):
        _, aps, cuts = _ks1_assess(p, boost)
        prior = np.full(len(idx), np.nan)
        prior[has] = aps[r[has]]
        key = np.where(np.isnan(prior), 0, np.round(prior * 2)).astype(np.int64)
        ok = ~np.isnan(vals) & ~np.isnan(prior)
        n_bin = np.stack([np.bincount(key[ok[j]], minlength=64) for j in range(3)])
        s_bin = np.stack([np.bincount(key[ok[j]], weights=vals[j][ok[j]], minlength=64) for j in range(3)])
        mean_bin = np.where(n_bin > 0, s_bin / np.maximum(n_bin, 1), np.nan)
        for rows, target in groups:
            v, kr = vals[:, rows], r[rows]

            def progress(b: float) -> float:
                pts = _ks1_assess(p, b, kr, cuts)[1]
                exp = mean_bin[:, np.round(pts * 2).astype(np.int64)]
                d = v - exp
                return float(np.nanmean(d)) if np.isfinite(d).any() else target

            boost[kr] = mean_matching(lambda b: -progress(b), -4.0, 4.0, -target, 24)
    sim.finished_ks1.append((p.a, _ks1_frame(sim, p, boost)))


def _ks1_frame(sim: Simulation, p: PendingKS1, boost: np.ndarray) -> pl.DataFrame:
    """The KS1 module of cohort ``p`` with its latents raised by ``boost``; sets the pupils' KS1 prior."""
    out, aps, _ = _ks1_assess(p, boost)
    sim.ks1_aps[p.idx] = aps
    cols = {"KS1_ACADYR": np.full(len(p.idx), _acad(p.a)), "KS1_UPN": p.idx, **p.school}
    cols.update({"KS1_SEX": sim.male[p.idx], "KS1_READOUTCOME": out["read"], "KS1_WRITOUTCOME": out["writ"],
                 "KS1_MATOUTCOME": out["mat"], "KS1_SCIOUTCOME": out["sci"],
                 "KS1_READEXP": np.isin(out["read"], ["EXS", "GDS"]),
                 "KS1_WRITEXP": np.isin(out["writ"], ["EXS", "GDS"]),
                 "KS1_MATEXP": np.isin(out["mat"], ["EXS", "GDS"]), "KS1_SCIEXP": out["sci"] == "EXS"})
    return _frame(sim, cols, "KS1_UPN", "KS1_SEX")


def _ks2_scores(ds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scaled score or NaN, working below the test standard, has a score) from a test's latent distance."""
    below = np.isfinite(ds) & (ds < -20 / KS2_POINTS_PER_SD)
    score = np.clip(100 + np.floor(KS2_POINTS_PER_SD * np.where(np.isfinite(ds), ds, 0)), 80, 120)
    has = np.isfinite(ds) & ~below
    return np.where(has, score, np.nan), below, has


def _ks2_prior(d: dict[str, np.ndarray]) -> np.ndarray:
    """KS2 prior attainment for KS4: the mean of the reading and maths scaled scores sat (79 for working below
    the test standard), NaN when absent from both."""
    parts = []
    for s in ("read", "mat"):
        score, below, _ = _ks2_scores(d[s])
        parts.append(np.where(below, NOMINAL_BELOW_TEST, score))
    both = np.stack(parts)
    n_sat = (~np.isnan(both)).sum(axis=0)
    return np.where(n_sat > 0, np.nansum(both, axis=0) / np.maximum(n_sat, 1), np.nan)


# --- KS2 --------------------------------------------------------------------------------------------------------
KS2_SUBJECTS = (("read", "ks2_read_exp", True), ("writ", "ks2_writ_exp", False), ("mat", "ks2_mat_exp", True),
                ("gps", "ks2_gps_exp", True), ("sci", "ks2_sci_exp", False))


def ks2(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame | None:
    sel = roll.ncy == 6
    idx = roll.idx[sel]
    if not module_available("ks2", a):
        return None
    site = roll.site_sum[sel]
    pid = sim.pid[idx]
    g = roll.group[sel]
    z0 = stage_latent(sim, roll, sel, "ks2", site)
    eps = {s: sim.draw.normal(pid, "ks2", s).astype(np.float64) for s, _, _ in KS2_SUBJECTS}
    absent = sim.draw.uniform(pid, "ks2-absent", a) < np.where(g > 0, 0.03, 0.008)
    sexm = (sim.male[idx] - 0.5) * 2
    z = z0

    def subject_d(kappa, s: str, m: str, test: bool, with_cut: bool = False):
        zs = z - SUBJECT_SEX[s] * sexm + kappa * eps[s]
        if test:
            zs = np.where(absent, -np.inf, zs)
        all_r, grates = _rates(sim, a, m)
        cut = group_cuts(zs, g, all_r, grates)
        return (zs - cut, cut) if with_cut else zs - cut

    def rwm(kappa, rows: np.ndarray) -> float:
        ok = np.ones(len(rows), dtype=bool)
        for s, m, test in KS2_SUBJECTS[:3]:
            zs = z[rows] - SUBJECT_SEX[s] * sexm[rows] + kappa[rows] * eps[s][rows]
            if test:
                zs = np.where(absent[rows], -np.inf, zs)
            all_r, grates = _rates(sim, a, m)
            ok &= zs > group_cuts(zs, g[rows], all_r, grates)
        return float(ok.mean())

    def rwm_group(code: int, k: float) -> float:
        sel_g = g == code
        ok = np.ones(sel_g.sum(), dtype=bool)
        for s, m, test in KS2_SUBJECTS[:3]:
            zs = z[sel_g] - SUBJECT_SEX[s] * sexm[sel_g] + k * eps[s][sel_g]
            if test:
                zs = np.where(absent[sel_g], -np.inf, zs)
            ok &= zs > cut_for_rate(zs, sim.targets.rate(a, GROUP_NAMES[code], m))
        return float(ok.mean())

    def calibrate() -> tuple[np.ndarray, dict[str, np.ndarray]]:
        # Subject-specific noise (kappa) sets how often pupils meet one standard but not another, i.e. the
        # reading, writing and maths combined rate: solved for each group's published rate, then for all pupils.
        kap = np.full(len(z), 0.5)
        rwm_target = sim.targets.rate(a, ALL, "ks2_rwm_exp")
        if len(z):
            solved = []
            for code in GROUP_NAMES:
                t = sim.targets.rate(a, GROUP_NAMES[code], "ks2_rwm_exp")
                if t is not None and (g == code).sum() >= 2 and all(
                        sim.targets.rate(a, GROUP_NAMES[code], m) is not None for _, m, _ in KS2_SUBJECTS[:3]):
                    kap[g == code] = mean_matching(lambda k, c=code: -rwm_group(c, k), 0.05, 2.5, -t, 22)
                    solved.append(code)
            rest = ~np.isin(g, solved)

            def with_rest(k: float) -> np.ndarray:
                kk = kap.copy()
                kk[rest] = k
                return kk

            rows = sample(np.arange(len(z)), 200_000)
            kap = with_rest(mean_matching(lambda k: -rwm(with_rest(k), rows), 0.05, 2.5, -rwm_target, 22))
        return kap, {s: subject_d(kap, s, m, test) for s, m, test in KS2_SUBJECTS}

    kappa, d = calibrate()
    if a + 5 <= sim.last and len(z):
        # Pupils in a social care group at KS4 (five years on) fall further behind between KS2 and KS4 than
        # their KS2 results predict (the published Progress 8). Their KS2 latents are raised so that their mean
        # prior attainment is where that Progress 8 puts it, given their KS4 Attainment 8 target and the
        # national slope of Attainment 8 on prior attainment; the KS2 rates of this year's groups stay exact.
        g_ks4, _ = sim.groups(a + 5, idx)
        for _ in range(2):
            prior = _ks2_prior(d)
            nat = float(np.nanmean(prior))
            boost = np.zeros(len(z))
            for code, name in GROUP_NAMES.items():
                fut = (g_ks4 == code) & ~np.isnan(prior)
                a8_g, a8_n = sim.targets.nearest(a + 5, name, "ks4_att8"), sim.targets.nearest(a + 5, ALL, "ks4_att8")
                p8 = sim.targets.nearest(a + 5, name, "ks4_p8")
                if fut.sum() < 2 or a8_g is None or a8_n is None or p8 is None:
                    continue
                want = nat + (a8_g - a8_n - 10 * p8) / sim.ks4_slope
                boost[g_ks4 == code] = (want - float(prior[fut].mean())) / KS2_POINTS_PER_SD
            if not boost.any():
                break
            z = z + boost
            kappa, d = calibrate()
    # the groups' shifts relative to pupils outside the groups (latent units), for KS1 of the same year
    for s, m, test in KS2_SUBJECTS[:3]:
        cut = subject_d(kappa, s, m, test, with_cut=True)[1]
        rest_cut = np.median(cut[g == 0]) if (g == 0).any() else 0.0
        sim.ks2_group_shift[s] = {code: float(rest_cut - np.median(cut[g == code]))
                                  for code in GROUP_NAMES if (g == code).any() and np.isfinite(rest_cut)}
    cols = {"KS2_ACADYR": np.full(len(idx), _acad(a)), "KS2_UPN": idx}
    cols.update(_school_cols(sim, roll, site, "KS2_"))
    cols["KS2_SEX"] = sim.male[idx]
    scores = {}
    for s in ("read", "mat", "gps"):
        ds = d[s]
        score, below, has = _ks2_scores(ds)
        outcome = np.where(~np.isfinite(ds), "A", np.where(below, "B", np.where(ds > 0, "AS", "NS")))
        up = s.upper()
        cols[f"KS2_{up}OUTCOME"] = outcome
        cols[f"KS2_{up}SCORE"] = score
        scores[s] = np.where(below, NOMINAL_BELOW_TEST, score)
    writ = _ta(d["writ"])
    cols["KS2_WRITTAOUTCOME"] = writ
    cols["KS2_SCITAOUTCOME"] = np.where(d["sci"] >= 0, "EXS", "HNM")
    exp = {s: d[s] > 0 for s in ("read", "mat", "gps")}
    high = {s: np.nan_to_num(cols[f"KS2_{s.upper()}SCORE"], nan=0) >= 110 for s in ("read", "mat", "gps")}
    cols.update({"KS2_READEXP": exp["read"], "KS2_MATEXP": exp["mat"], "KS2_GPSEXP": exp["gps"],
                 "KS2_WRITTAEXP": np.isin(writ, ["EXS", "GDS"]), "KS2_SCITAEXP": d["sci"] >= 0,
                 "KS2_RWMEXP": exp["read"] & exp["mat"] & np.isin(writ, ["EXS", "GDS"]),
                 "KS2_READHIGH": high["read"], "KS2_MATHIGH": high["mat"], "KS2_GPSHIGH": high["gps"],
                 "KS2_WRITTAHIGH": writ == "GDS",
                 "KS2_RWMHIGH": high["read"] & high["mat"] & (writ == "GDS")})
    values = {"read": scores["read"], "writ": np.vectorize(KS2_WRITING_NOMINAL.get)(writ).astype(float),
              "mat": scores["mat"]}
    pending = sim.pending_ks1.pop(a - 4, None)
    if pending is not None:  # this cohort's KS1 results, completed now (see ks1)
        _complete_ks1(sim, pending, a, idx, g, values)
    prior = sim.ks1_aps[idx].astype(np.float64)
    cols["KS2_KS1AVERAGE"] = prior
    cols["KS2_KS1GROUP"] = np.where(np.isnan(prior), None, np.where(prior < 13, "L", np.where(prior < 18, "M", "H")))
    for s in ("read", "writ", "mat"):
        cols[f"KS2_{s.upper()}PROGSCORE"] = _progress(values[s], prior, 0.5)
    # prior attainment for KS4: mean of reading and maths scaled scores (or the one sat)
    sim.ks2_prior[idx] = _ks2_prior(d)
    return _frame(sim, cols, "KS2_UPN", "KS2_SEX")


# --- KS4 --------------------------------------------------------------------------------------------------------
def ks4(sim: Simulation, roll: Roll, a: int) -> pl.DataFrame | None:
    sel = roll.ncy == 11
    idx, site = roll.idx[sel], roll.site_sum[sel]
    if len(idx) == 0:
        return None
    pid = sim.pid[idx]
    g = roll.group[sel]
    T = sim.targets
    z = stage_latent(sim, roll, sel, "ks4", site)
    sexm = (sim.male[idx] - 0.5) * 2
    zE = z - 0.15 * sexm + KS4_SUBJECT_NOISE * sim.draw.normal(pid, "ks4", "eng")
    zM = z + 0.05 * sexm + KS4_SUBJECT_NOISE * sim.draw.normal(pid, "ks4", "mat")
    m = np.minimum(zE, zM)  # English and maths both at a grade <=> the lower of the two latents passes it
    # Pupils outside the groups set the grade 4 and 5 boundaries (after the groups' pupils are counted); each
    # group's latents are then mapped (location and spread) so that its grade 4+ and 5+ shares are exact.
    r4, r5 = T.rate(a, ALL, "ks4_em94"), T.rate(a, ALL, "ks4_em95")
    g4, g5 = group_rate_dict(T, a, "ks4_em94"), group_rate_dict(T, a, "ks4_em95")
    rest = np.ones(len(z), dtype=bool)
    n4, n5 = r4 * len(z), r5 * len(z)
    maps = {}
    for code in GROUP_NAMES:
        sel_g = g == code
        if g4.get(code) is None or g5.get(code) is None or sel_g.sum() < 2:
            continue
        rest &= ~sel_g
        q4, q5 = cut_for_rate(m[sel_g], g4[code]), cut_for_rate(m[sel_g], g5[code])
        maps[code] = (sel_g, q4, max(q5, q4 + 1e-3))
        n4 -= round(g4[code] * sel_g.sum())
        n5 -= round(g5[code] * sel_g.sum())
    base = m[rest] if rest.any() else m
    c4 = cut_for_rate(base, np.clip(n4 / max(1, rest.sum()), 0, 1))
    c5 = max(cut_for_rate(base, np.clip(n5 / max(1, rest.sum()), 0, 1)), c4 + 0.05)
    for code, (sel_g, q4, q5) in maps.items():
        lam = (c5 - c4) / (q5 - q4)
        for arr in (z, zE, zM, m):
            arr[sel_g] = c4 + (arr[sel_g] - q4) * lam
    cuts = np.concatenate([c4 + GRADE_BELOW_4, [c4, c5], c5 + GRADE_ABOVE_5])

    def grade(x: np.ndarray) -> np.ndarray:
        return np.searchsorted(cuts, x, side="left").astype(np.int8)  # number of boundaries passed

    gE, gM = grade(zE), grade(zM)
    x_eb = z + 0.8 * sim.draw.normal(pid, "ks4", "ebacc")
    ebacc = x_eb > group_cuts(x_eb, g, T.rate(a, ALL, "ks4_ebacc_entry"), group_rate_dict(T, a, "ks4_ebacc_entry"))
    slot_lat = np.stack([z + KS4_SUBJECT_NOISE * sim.draw.normal(pid, "ks4", "slot", j) for j in range(6)], 1)
    slot_g0 = grade(slot_lat)
    fill_x = np.stack([z + sim.draw.normal(pid, "ks4", "fill", j) for j in range(6)], 1)
    lang = grade(z + KS4_SUBJECT_NOISE * sim.draw.normal(pid, "ks4", "lang"))

    # Attainment 8 rises with one parameter v: up to FILL_LIMIT more of the six other slots are filled
    # (qualifications entered); beyond it the grades in those slots rise. Solved per group for its average.
    def fill_and_grades(v: np.ndarray | float, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(v, dtype=np.float64)
        f = -np.minimum(v, FILL_LIMIT)
        boost = np.maximum(v - FILL_LIMIT, 0.0) * 0.25
        filled = fill_x[rows] > (f[:, None] if f.ndim else f)
        filled[:, :3] |= ebacc[rows][:, None]
        sg = slot_g0[rows] if not np.any(boost) else grade(slot_lat[rows] + (boost[:, None] if boost.ndim else boost))
        return filled, sg

    def att8(v, rows: np.ndarray) -> np.ndarray:
        filled, sg = fill_and_grades(v, rows)
        return 2 * gE[rows] + 2 * gM[rows] + (sg * filled).sum(axis=1)

    v_all = np.zeros(len(z))
    att_all = T.nearest(a, ALL, "ks4_att8")
    total_needed = att_all * len(z)
    rest = np.ones(len(z), dtype=bool)
    for code, name in GROUP_NAMES.items():
        rows = np.flatnonzero(g == code)
        t = T.nearest(a, name, "ks4_att8")
        if t is None or len(rows) == 0:
            continue
        rest[rows] = False
        vc = mean_matching(lambda v: float(att8(v, rows).mean()), -8.0, 16.0, t, 30)
        v_all[rows] = vc
        total_needed -= float(att8(vc, rows).sum())
    rows = np.flatnonzero(rest)
    if len(rows):
        target = total_needed / len(rows)
        some = sample(rows)
        v_all[rows] = mean_matching(lambda v: float(att8(v, some).mean()), -8.0, 16.0, target, 30)
    filled, slot_g = fill_and_grades(v_all, np.arange(len(z)))
    a8 = (2 * gE + 2 * gM + (slot_g * filled).sum(axis=1)).astype(np.float64)
    sci1 = np.where(filled[:, 0], slot_g[:, 0], 0)
    sci2 = np.where(filled[:, 1], slot_g[:, 1], 0)
    hum = np.where(filled[:, 2], slot_g[:, 2], 0)
    lan = np.where(ebacc, lang, 0)
    # EBacc pillars: entrants have all of them; other pupils a second science or a humanity only sometimes
    sci2 = np.where(ebacc | (sim.draw.uniform(pid, "ks4", "sci2") < 0.5), sci2, 0)
    hum = np.where(ebacc | (sim.draw.uniform(pid, "ks4", "hum") < 0.6), hum, 0)
    aps = (gE + gM + sci1 + sci2 + hum + lan) / 6.0
    pillars = np.stack([gE, gM, sci1, sci2, hum, lan], 1)
    prior = sim.ks2_prior[idx].astype(np.float64)
    has_prior = ~np.isnan(prior)
    if has_prior.sum() > 10:  # national slope of Attainment 8 on KS2 prior attainment, for later KS2 cohorts
        sim.ks4_slope = float(np.polyfit(prior[has_prior], a8[has_prior], 1)[0])
    inp8 = has_prior & progress8_produced(a)
    p8 = np.where(inp8, _progress(np.where(inp8, a8, np.nan), np.where(inp8, prior, np.nan), 0.5) / 10, np.nan)
    cols = {"KS4_ACADYR": np.full(len(idx), _acad(a)), "KS4_UPN": idx}
    cols.update(_school_cols(sim, roll, site, "KS4_"))
    cols.update({"KS4_SEX": sim.male[idx], "KS4_ATT8": a8, "KS4_APENG_91": gE, "KS4_HGMATH_91": gM,
                 "KS4_L2BASICS_94": (gE >= 4) & (gM >= 4), "KS4_L2BASICS_95": (gE >= 5) & (gM >= 5),
                 "KS4_EBACC_E_PTQ_EE": ebacc, "KS4_EBACC_94": ebacc & (pillars >= 4).all(axis=1),
                 "KS4_EBACC_95": ebacc & (pillars >= 5).all(axis=1), "KS4_EBACCAPS": np.round(aps, 2),
                 "KS4_KS2EMFG": prior,
                 "KS4_PRIORBAND_PTQ_EE": np.where(np.isnan(prior), None,
                                                  np.where(prior < 100, "L", np.where(prior < 110, "M", "H"))),
                 "KS4_INP8CALC": inp8, "KS4_P8SCORE": np.round(p8, 2)})
    return _frame(sim, cols, "KS4_UPN", "KS4_SEX")


def _acad(a: int) -> str:
    return f"{a}/{(a + 1) % 100:02d}"


def _frame(sim: Simulation, cols: dict[str, object], upn_col: str, sex_col: str) -> pl.DataFrame:
    """Assemble a module frame: pupil index -> UPN, boolean sex -> M/F, NaN -> null."""
    idx = np.asarray(cols[upn_col])
    n = len(idx)
    data = {"_order": sim.upn_rank[idx]}
    for c, v in cols.items():
        if c == upn_col:
            data[c] = sim.pupils["UPN"].gather(idx).alias(c) if n else pl.Series(c, [], dtype=pl.Utf8)
        elif c == sex_col:
            data[c] = pl.Series(["F", "M"]).gather(np.asarray(v, dtype=np.int8)).alias(c)
        elif c.endswith("_ACADYR"):
            data[c] = pl.repeat(str(np.asarray(v)[0]) if n else "", n, eager=True).alias(c)
        elif v is None:
            data[c] = pl.Series(c, [None] * n)
        elif isinstance(v, pl.Series):
            data[c] = v.alias(c)
        else:
            arr = np.asarray(v)
            if arr.dtype.kind == "f":
                data[c] = pl.Series(c, arr, nan_to_null=True)
            else:
                data[c] = arr
    return pl.DataFrame(data)
