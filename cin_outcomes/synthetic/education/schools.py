"""The state-funded schools of the synthetic England: sites, their URNs and LAESTABs year by year, and the
vectorised choice of a school for each pupil.

A *site* is a school building with its pupils. Each site belongs to an LA, has a phase (state-funded primary,
secondary, special, alternative provision) and a size weight. Its identity in the NPD changes as in GIAS:
a converter or sponsored academy is a new establishment (new URN, new establishment number) from its conversion
date, and when an LA is reorganised (Northamptonshire 2021, Dorset/Bournemouth/Poole 2019, Cumbria 2023) its
schools keep their URN but take the successor LA's number and a new establishment number.

Site counts per LA are England's (about 16,800 primary, 3,400 secondary, 1,000 special and 350 AP schools) times
the scale, shared by child population, with at least one school of each phase in every LA.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from cin_outcomes.geography import all_las
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.education.targets import la_list
from cin_outcomes.synthetic.npd_columns import PHASES, SCHOOLS, academic_year_label

PRIMARY, SECONDARY, SPECIAL, AP = 0, 1, 2, 3
#: State-funded schools in England at scale 1.0 (rounded national counts, schools census 2024).
NATIONAL_SCHOOLS = {PRIMARY: 16_800, SECONDARY: 3_400, SPECIAL: 1_000, AP: 350}
#: First establishment number of each phase (DfE convention: 2xxx primary, 4xxx secondary, 7xxx special,
#: 11xx pupil referral units).
ESTAB_BASE = {PRIMARY: 2000, SECONDARY: 4000, SPECIAL: 7000, AP: 1100}
SIZE_SPREAD = {PRIMARY: 0.45, SECONDARY: 0.35, SPECIAL: 0.3, AP: 0.3}  # sd of log size weight
#: Share of each phase's schools that are academies on January census day, by census year (assumption:
#: approximate national shares from DfE's schools statistics; interpolated between the points).
ACADEMY_SHARE = {
    PRIMARY: {2010: 0.0, 2012: 0.02, 2013: 0.06, 2014: 0.11, 2016: 0.17, 2018: 0.27, 2020: 0.35, 2022: 0.39,
              2024: 0.43, 2025: 0.45},
    SECONDARY: {2010: 0.06, 2011: 0.12, 2012: 0.45, 2013: 0.52, 2014: 0.57, 2016: 0.65, 2018: 0.72, 2020: 0.77,
                2022: 0.80, 2024: 0.82, 2025: 0.83},
    SPECIAL: {2010: 0.0, 2012: 0.02, 2014: 0.10, 2016: 0.20, 2018: 0.30, 2020: 0.38, 2022: 0.43, 2024: 0.47,
              2025: 0.49},
    AP: {2010: 0.0, 2012: 0.03, 2014: 0.10, 2016: 0.25, 2018: 0.35, 2020: 0.42, 2022: 0.48, 2024: 0.52,
         2025: 0.54},
}
SPONSOR_LED_SHARE = 0.25  # of conversions; the rest are converters
MAINTAINED_TYPES = {
    PRIMARY: (["Community school", "Voluntary aided school", "Voluntary controlled school", "Foundation school"],
              [0.60, 0.15, 0.10, 0.15]),
    SECONDARY: (["Community school", "Voluntary aided school", "Voluntary controlled school", "Foundation school"],
                [0.55, 0.18, 0.05, 0.22]),
    SPECIAL: (["Community special school", "Foundation special school"], [0.9, 0.1]),
    AP: (["Pupil referral unit"], [1.0]),
}
ACADEMY_TYPES = {
    PRIMARY: ("Academy converter", "Academy sponsor led"),
    SECONDARY: ("Academy converter", "Academy sponsor led"),
    SPECIAL: ("Academy special converter", "Academy special sponsor led"),
    AP: ("Academy alternative provision converter", "Academy alternative provision sponsor led"),
}
FIRST_URN, FIRST_ACADEMY_URN = 100_000, 136_000


def academy_share(phase: int, census_year: int) -> float:
    pts = ACADEMY_SHARE[phase]
    xs = sorted(pts)
    return float(np.interp(census_year, xs, [pts[x] for x in xs]))


@dataclass
class SchoolRegister:
    """Sites and their NPD identity per academic year.

    ``sites``: site (i32), phase (0-3), weight. ``by_year``: {academic year start: frame of the sites open that
    year with site, la_idx (index into :func:`la_list`), phase, weight and the ``SCHOOLS`` columns}.
    """

    sites: pl.DataFrame
    by_year: dict[int, pl.DataFrame]

    def year(self, a: int) -> pl.DataFrame:
        return self.by_year[a]

    def schools_frame(self, years: list[int]) -> pl.DataFrame:
        """The ``SCHOOLS`` table for the academic years ``years`` (sorted by year, LA, URN)."""
        return pl.concat([self.by_year[a].select(list(SCHOOLS)) for a in years]).sort("AcademicYear", "LA", "URN")


class Chooser:
    """Vectorised school choice for one academic year: pupils of an LA and phase are shared among that LA's open
    sites of the phase in proportion to size, by a per-pupil uniform number (stable across years, so a pupil stays
    at a school while they live in the same LA and the school is open)."""

    def __init__(self, year_frame: pl.DataFrame, n_las: int) -> None:
        f = year_frame  # sorted by la_idx, phase, site (rows are what ``choose`` returns)
        self.frame = f
        key = f["la_idx"].to_numpy().astype(np.int64) * 4 + f["phase"].to_numpy()
        w = f["weight"].to_numpy().astype(np.float64)
        self.cum = np.cumsum(w)
        nkeys = n_las * 4
        starts = np.searchsorted(key, np.arange(nkeys), side="left")
        ends = np.searchsorted(key, np.arange(nkeys), side="right")
        cum0 = np.concatenate([[0.0], self.cum])
        self.lo = cum0[starts]
        self.span = cum0[ends] - cum0[starts]
        self.count = ends - starts
        self.rows = len(f)

    def choose_anywhere(self, phase: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Row of a site of the pupil's phase anywhere in England (by size, from the pupil's uniform)."""
        ph = self.frame["phase"].to_numpy()
        out = np.full(len(phase), -1, dtype=np.int32)
        for p in np.unique(phase):
            rows = np.flatnonzero(ph == p)
            cum = np.cumsum(self.frame["weight"].to_numpy()[rows].astype(np.float64))
            sel = phase == p
            out[sel] = rows[np.searchsorted(cum, u[sel] * cum[-1], side="right").clip(0, len(rows) - 1)]
        return out

    def choose(self, la_idx: np.ndarray, phase: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Row of ``self.frame`` for each pupil (-1 where the LA has no open site of the phase)."""
        key = la_idx.astype(np.int64) * 4 + phase
        ok = (la_idx >= 0) & (self.count[np.clip(key, 0, len(self.count) - 1)] > 0)
        target = self.lo[key[ok]] + u[ok] * self.span[key[ok]]
        pos = np.searchsorted(self.cum, target, side="right")
        pos = np.minimum(pos, self.rows - 1)
        out = np.full(len(la_idx), -1, dtype=np.int32)
        out[ok] = pos
        return out


def _la_sizes() -> dict[str, float]:
    """Child population per LA code (mean over the years it makes returns) from the LA calibration table."""
    from cin_outcomes.synthetic.population import la_targets
    t = la_targets().group_by("old_la_code").agg(pl.col("population_0_17").mean()).sort("old_la_code")
    return dict(zip(t["old_la_code"].to_list(), t["population_0_17"].to_list()))


def build_register(cfg: SyntheticConfig, first_year: int, last_year: int) -> SchoolRegister:
    """Sites for every LA and their identity in each academic year ``first_year`` .. ``last_year`` (starts)."""
    rng = cfg.rng("education", "schools")
    las = all_las()
    codes = la_list()
    lidx = {c: i for i, c in enumerate(codes)}
    succ_rows = las.filter(pl.col("predecessors") != "").select("old_la_code", "first_year_end", "predecessors")
    successors: dict[str, list[tuple[str, int]]] = {}
    for code, fye, preds in succ_rows.sort("old_la_code").iter_rows():
        for p in preds.split(" "):
            successors.setdefault(p, []).append((code, int(fye)))
    is_successor = set(succ_rows["old_la_code"].to_list())
    roots = [c for c in codes if c not in is_successor]
    sizes = _la_sizes()
    total = sum(sizes.get(c, 0.0) for c in roots)

    # --- sites per root LA and phase
    site_la, site_phase = [], []
    for c in roots:
        floor = max(1, len(successors.get(c, [])))  # every successor LA inherits at least one of each phase
        for ph in (PRIMARY, SECONDARY, SPECIAL, AP):
            n = max(floor, int(round(NATIONAL_SCHOOLS[ph] * cfg.scale * sizes.get(c, 0.0) / total)))
            site_la += [c] * n
            site_phase += [ph] * n
    n_sites = len(site_la)
    site_phase_a = np.asarray(site_phase, dtype=np.int8)
    weight = np.exp(rng.normal(0, 1, n_sites) * np.vectorize(SIZE_SPREAD.get)(site_phase_a))
    u_conv = rng.random(n_sites)
    u_type = rng.random(n_sites)
    u_sponsor = rng.random(n_sites)
    u_month = rng.integers(0, 12, n_sites)
    u_succ = rng.random(n_sites)

    # --- reorganisation: the successor LA each site moves to, and when (academic year start)
    move_to: list[str | None] = [None] * n_sites
    move_year = np.full(n_sites, 10**6, dtype=np.int64)
    for c, succ in sorted(successors.items()):
        idx = [i for i in range(n_sites) if site_la[i] == c]
        names = [s for s, _ in succ]
        w = np.asarray([sizes.get(s, 1.0) for s in names], dtype=float)
        cw = np.cumsum(w / w.sum())
        pick = np.searchsorted(cw, u_succ[idx], side="right").clip(0, len(names) - 1)
        # every successor gets at least one site of each phase
        for ph in (PRIMARY, SECONDARY, SPECIAL, AP):
            ph_idx = [k for k, i in enumerate(idx) if site_phase[i] == ph]
            for j in range(len(names)):
                if not any(pick[k] == j for k in ph_idx):
                    # take a site from the successor with the most sites of this phase
                    counts = np.bincount(pick[ph_idx], minlength=len(names))
                    donor = int(np.argmax(counts))
                    k = next(k for k in ph_idx if pick[k] == donor)
                    pick[k] = j
        for k, i in enumerate(idx):
            move_to[i] = names[pick[k]]
            move_year[i] = succ[pick[k]][1] - 1  # LA exists from 1 April of (first year end - 1)

    # --- academy conversion: academic year (census year - 1) and date
    conv_year = np.full(n_sites, 10**6, dtype=np.int64)
    for i in range(n_sites):
        for cy in range(2010, 2026):
            if u_conv[i] < academy_share(int(site_phase_a[i]), cy):
                conv_year[i] = cy - 1
                break
    # conversion on the 1st of a month from February of the academic year to January (before the census)
    conv_month = u_month + 2  # 2..13 -> Feb .. Jan next year

    def conv_date(i: int) -> dt.date:
        y, m = int(conv_year[i]), int(conv_month[i])
        return dt.date(y + (m > 12), (m - 1) % 12 + 1, 1)

    # --- identities: maintained URN by site order; academy URN by conversion order
    order_conv = sorted((i for i in range(n_sites) if conv_year[i] < 10**6),
                        key=lambda i: (conv_date(i), i))
    academy_urn = {i: FIRST_ACADEMY_URN + k for k, i in enumerate(order_conv)}
    mtypes = {}
    for i in range(n_sites):
        names, p = MAINTAINED_TYPES[int(site_phase_a[i])]
        mtypes[i] = names[int(np.searchsorted(np.cumsum(p), u_type[i] * sum(p), side="right").clip(0, len(names) - 1))]

    # establishment numbers: allocated in event order per (LA, phase)
    counters: dict[tuple[str, int], int] = {}

    def next_estab(la: str, ph: int) -> int:
        k = counters.get((la, ph), 0)
        counters[(la, ph)] = k + 1
        return ESTAB_BASE[ph] + k

    estab_initial = [next_estab(site_la[i], int(site_phase_a[i])) for i in range(n_sites)]
    # events (date, kind, site): conversions and LA transfers, processed chronologically
    events = []
    for i in range(n_sites):
        if conv_year[i] < 10**6:
            events.append((conv_date(i), 0, i))
        if move_to[i] is not None:
            events.append((dt.date(int(move_year[i]), 4, 1), 1, i))
    events.sort()
    # per site: list of (from_date, la, estab, urn, type, academy)
    hist: list[list[tuple[dt.date, str, int, int, str, bool]]] = [
        [(dt.date(1900, 1, 1), site_la[i], estab_initial[i], FIRST_URN + i, mtypes[i], False)]
        for i in range(n_sites)]
    for d, kind, i in events:
        _, la, estab, urn, typ, acad = hist[i][-1]
        ph = int(site_phase_a[i])
        if kind == 0:  # academy conversion: new URN and establishment number
            typ = ACADEMY_TYPES[ph][1 if u_sponsor[i] < SPONSOR_LED_SHARE else 0]
            hist[i].append((d, la, next_estab(la, ph), academy_urn[i], typ, True))
        else:  # LA reorganisation: same URN, the successor's LA number, a new establishment number
            la2 = move_to[i]
            hist[i].append((d, la2, next_estab(la2, ph), urn, typ, acad))

    sites = pl.DataFrame({"site": np.arange(n_sites, dtype=np.int32), "phase": site_phase_a,
                          "weight": weight.astype(np.float32)})
    by_year: dict[int, pl.DataFrame] = {}
    for a in range(first_year, last_year + 1):
        census = _census_date(a)
        rows = []
        for i in range(n_sites):
            h = [s for s in hist[i] if s[0] <= census][-1]
            first = min(s[0] for s in hist[i] if s[3] == h[3])  # the date this URN opened
            opened = first if first.year > 1900 else None
            rows.append((i, lidx[h[1]], h[1], h[2], h[1], h[3], h[4], h[5], opened))
        f = pl.DataFrame(rows, schema={"site": pl.Int32, "la_idx": pl.Int32, "LA": pl.Utf8, "ESTAB": pl.Int16,
                                       "_la": pl.Utf8, "URN": pl.Int32, "TypeOfEstablishment": pl.Utf8,
                                       "AcademyFlag": pl.Boolean, "OpenDate": pl.Date}, orient="row")
        f = f.with_columns(
            pl.lit(academic_year_label(a)).alias("AcademicYear"),
            (pl.col("_la").cast(pl.Int32) * 10000 + pl.col("ESTAB").cast(pl.Int32)).alias("LAESTAB"),
            pl.Series("phase", site_phase_a), pl.Series("weight", weight.astype(np.float32)),
            pl.Series("PhaseType", np.asarray(PHASES)[site_phase_a]),
        ).drop("_la")
        by_year[a] = f.select("site", "la_idx", "phase", "weight", *SCHOOLS).sort("la_idx", "phase", "site")
    return SchoolRegister(sites=sites, by_year=by_year)


def _census_date(a: int) -> dt.date:
    from cin_outcomes.years import ReportingYear
    return ReportingYear(a).school_census_date
