"""Who starts an episode and when: candidate events by age and need, thinned year by year to the LA targets.

Each kind of event (a period of care starting, a child protection plan, a referral) is a Poisson process per child
with intensity ``kappa[LA] * exp(beta * need) * g(age)``: ``g`` is the age profile (infants and teenagers more),
``kappa`` is high enough to give more candidates than any LA needs. A *stock controller* then walks the reporting
years in order and accepts each LA's candidates with the probability that brings the number of children open at
31 March to the LA's published figure (scaled), given what earlier years left open — the population analogue of
"starts = target stock - survivors". Acceptance is bounded around the published starts so flows stay plausible.
Years before the first published year accept at that year's rate per candidate (a warm-up), so the first returned
year starts in steady state.
"""

from __future__ import annotations

import numpy as np

from cin_outcomes.synthetic.social_care import params as P
from cin_outcomes.synthetic.social_care.params import DAYS_PER_YEAR
from cin_outcomes.synthetic.social_care.timeline import OPEN, LAFrame, reporting_year_of, year_end

AGE_BREAKS = np.concatenate([[-0.5], np.arange(0, 19, dtype=float)])  # unborn half year, then ages 0..17


def draw_candidates(
    rng: np.random.Generator,
    birth: np.ndarray,
    need: np.ndarray,
    kappa: np.ndarray,
    beta: float,
    profile: np.ndarray,
    lo_day: int,
    hi_day: int,
    min_age: float = -0.5,
    max_age: float = 18.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events per child between ``lo_day`` and ``hi_day`` and ages ``min_age`` to ``max_age``.

    Returns (child index, day), sorted by day then child. ``profile`` gives the relative rate per age band
    (:data:`AGE_BREAKS`), ``kappa`` the per-child scale (events per year at g = 1 and need 0).
    """
    width = np.diff(AGE_BREAKS)
    cum = np.concatenate([[0.0], np.cumsum(profile * width)])
    a_lo = np.clip((lo_day - birth) / DAYS_PER_YEAR, min_age, max_age)
    a_hi = np.clip((hi_day - birth) / DAYS_PER_YEAR, min_age, max_age)
    g_lo = np.interp(a_lo, AGE_BREAKS, cum)
    g_hi = np.interp(a_hi, AGE_BREAKS, cum)
    lam = kappa * np.exp(beta * need) * np.maximum(g_hi - g_lo, 0.0)
    k = rng.poisson(lam)
    child = np.repeat(np.arange(len(birth)), k)
    u = g_lo[child] + rng.random(len(child)) * (g_hi[child] - g_lo[child])
    # inverse of the piecewise-linear cumulative profile (bands with zero rate are skipped)
    pos = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(width) - 1)
    dens = profile[pos]
    age = AGE_BREAKS[pos] + np.where(dens > 0, (u - cum[pos]) / np.where(dens > 0, dens, 1.0), 0.0)
    d = birth[child] + np.floor(age * DAYS_PER_YEAR).astype(np.int64)
    d = np.clip(d, lo_day, hi_day)
    order = np.lexsort((child, d))
    return child[order], d[order]


def kappa_for(
    las: LAFrame,
    birth_la: np.ndarray,
    birth: np.ndarray,
    need: np.ndarray,
    beta: float,
    profile: np.ndarray,
    events_per_year: np.ndarray,
    oversample: float,
) -> np.ndarray:
    """Per-child intensity scale so that each LA gets ``oversample`` times its busiest year's events.

    ``events_per_year[la, y]`` are the scaled events needed; the LA's children carry their birth LA's kappa.
    """
    width = np.diff(AGE_BREAKS)
    g_mean = float((profile * width)[1:].sum() / 18.0)  # mean rate per year of age 0-17
    pop = las.targets["population_0_17"] * las.cfg.scale  # [la, y]
    rate = np.where(pop > 0, events_per_year / np.maximum(pop, 1e-9), 0.0).max(axis=1)
    w = np.exp(beta * need)
    wsum = np.bincount(birth_la, weights=w, minlength=las.n)
    cnt = np.bincount(birth_la, minlength=las.n)
    mean_w = np.where(cnt > 0, wsum / np.maximum(cnt, 1), 1.0)
    k_la = oversample * rate / (mean_w * g_mean)
    fallback = np.median(k_la[k_la > 0]) if np.any(k_la > 0) else 0.0
    k_la = np.where(k_la > 0, k_la, fallback)
    return k_la[birth_la]


def inside(
    q_child: np.ndarray, q_day: np.ndarray, i_child: np.ndarray, i_start: np.ndarray, i_end: np.ndarray
) -> np.ndarray:
    """For each query (child, day): index of the interval of that child with start <= day < end, else -1.

    Intervals must not overlap within a child and must be sorted by (child, start).
    """
    if len(i_child) == 0:
        return np.full(len(q_child), -1)
    key_i = i_child.astype(np.int64) * (1 << 21) + i_start
    key_q = q_child.astype(np.int64) * (1 << 21) + q_day
    pos = np.searchsorted(key_i, key_q, side="right") - 1
    ok = pos >= 0
    posc = np.clip(pos, 0, None)
    ok &= (i_child[posc] == q_child) & (q_day < i_end[posc])
    return np.where(ok, posc, -1)


def next_start(q_child: np.ndarray, q_day: np.ndarray, i_child: np.ndarray, i_start: np.ndarray) -> np.ndarray:
    """For each query: the first interval start of the same child strictly after ``day`` (OPEN if none)."""
    if len(i_child) == 0:
        return np.full(len(q_child), OPEN)
    key_i = i_child.astype(np.int64) * (1 << 21) + i_start
    key_q = q_child.astype(np.int64) * (1 << 21) + q_day
    pos = np.searchsorted(key_i, key_q, side="right")
    posc = np.clip(pos, 0, len(i_child) - 1)
    ok = (pos < len(i_child)) & (i_child[posc] == q_child)
    return np.where(ok, i_start[posc], OPEN)


def union_intervals(child: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Merge overlapping or touching intervals per child: (child, start, end, group of each input)."""
    child = np.asarray(child, dtype=np.int64)
    order = np.lexsort((start, child))
    c, s, e = child[order], np.asarray(start)[order], np.asarray(end)[order]
    if len(c) == 0:
        return c, s, e, np.zeros(0, dtype=np.int64)
    # running maximum of the ends within each child: offset each child's ends above all earlier children's
    span = int(max(e.max(), s.max()) - min(e.min(), s.min())) + 2
    base = int(min(e.min(), s.min()))
    shifted = (c - c.min()) * span + (e - base)
    run = np.maximum.accumulate(shifted)
    prev = np.concatenate([[np.iinfo(np.int64).min], run[:-1]])
    new = np.concatenate([[True], c[1:] != c[:-1]]) | ((c - c.min()) * span + (s - base) > prev)
    grp = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    gs = s[first]
    ge = np.maximum.reduceat(e, first)
    group = np.empty(len(c), dtype=np.int64)
    group[order] = grp
    return c[first], gs, ge, group


def current_la(las: LAFrame, la: np.ndarray, la_after: np.ndarray, ref_day: int) -> np.ndarray:
    """The LA responsible on ``ref_day``: an abolished LA's cases belong to the successor recorded for them."""
    return np.where(ref_day >= las.abolished_day[la], la_after, la)


def control(
    las: LAFrame,
    years: np.ndarray,
    cand_year: np.ndarray,
    cand_child: np.ndarray,
    cand_start: np.ndarray,
    cand_end: np.ndarray,
    cand_la: np.ndarray,
    cand_la_after: np.ndarray,
    u: np.ndarray,
    n_children: int,
    stock: np.ndarray,
    starts: np.ndarray,
    first_year: int,
    blocked: np.ndarray | None = None,
    external=None,
    bounds: tuple[float, float] = (0.5, 2.0),
    warm_stock=None,
    final: np.ndarray | None = None,
) -> np.ndarray:
    """Accept candidates year by year to hold each LA's stock at 31 March to ``stock[la, y - 1990]``.

    * A child already open (an accepted candidate not yet ended) is not eligible; at most one start per child per
      year; ``blocked`` marks candidates ruled out beforehand (e.g. a child looked after that day).
    * Before ``first_year`` candidates are accepted at the rate per candidate of ``first_year``'s starts, or, with
      ``warm_stock(y)`` (the share of the first year's stock that year's simulated population can hold), held to
      that share of the first year's stock.
    * ``external(ref_day)`` returns (children per LA already counted at ``ref_day`` from other sources, a function
      telling for given children whether they are among them): such children add nothing to the stock.
    * Acceptance per LA and year stays within ``bounds`` times the rate that reproduces the published starts.
    * ``final`` marks candidates after which the child is never eligible again (adoption).

    Returns a boolean mask over candidates, which must be sorted by reporting year.
    """
    accepted = np.zeros(len(cand_child), dtype=bool)
    busy = np.full(n_children, -1, dtype=np.int64)
    acc_idx: list[np.ndarray] = []
    lo_b, hi_b = bounds
    first = cand_year == first_year
    n_first = np.bincount(cand_la[first], minlength=las.n).astype(float)
    p_warm = np.where(n_first > 0, starts[:, first_year - 1990] / np.maximum(n_first, 1), 0.0)
    year_pos = np.searchsorted(cand_year, np.concatenate([years, [years[-1] + 1]]))
    for k, y in enumerate(years):
        lo, hi = year_pos[k], year_pos[k + 1]
        if hi <= lo:
            continue
        idx = np.arange(lo, hi)
        elig = cand_start[idx] > busy[cand_child[idx]]
        if blocked is not None:
            elig &= ~blocked[idx]
        idx = idx[elig]
        _, first_pos = np.unique(cand_child[idx], return_index=True)  # one start per child per year
        idx = idx[np.sort(first_pos)]
        la = cand_la[idx]
        if y < first_year and warm_stock is None:
            p = p_warm[la]
        else:
            ref = int(year_end(y))
            n_c = np.bincount(la, minlength=las.n).astype(float)
            p_start = np.where(n_c > 0, starts[:, y - 1990] / np.maximum(n_c, 1), 0.0)
            covered = None
            carried = np.zeros(las.n)
            if external is not None:
                ext_counts, covered = external(ref)
                carried += ext_counts
            if acc_idx:
                prev = np.concatenate(acc_idx)
                prev = prev[cand_end[prev] > ref]
                if covered is not None and len(prev):
                    prev = prev[~covered(cand_child[prev], ref)]
                carried += np.bincount(current_la(las, cand_la[prev], cand_la_after[prev], ref), minlength=las.n)
            opens = cand_end[idx] > ref
            if covered is not None and opens.any():
                oi = np.flatnonzero(opens)
                opens[oi[covered(cand_child[idx[oi]], ref)]] = False
            n_open = np.bincount(la[opens], minlength=las.n).astype(float)
            target = stock[:, y - 1990] if y >= first_year else stock[:, first_year - 1990] * warm_stock(y)
            if y < first_year:
                p_start = p_warm
                p_start = np.where(n_c > 0, p_start, 0.0)
            need = target - carried
            p_ctrl = np.where(n_open > 0, need / np.maximum(n_open, 1), p_start)
            p = np.clip(p_ctrl, lo_b * p_start, np.minimum(1.0, hi_b * p_start))[la]
        take = idx[u[idx] < p]
        accepted[take] = True
        busy[cand_child[take]] = cand_end[take] if final is None else np.where(final[take], OPEN, cand_end[take])
        acc_idx.append(take)
    return accepted


def la_index_at(population, las: LAFrame, child_person: np.ndarray, days: np.ndarray) -> np.ndarray:
    """LA index of residence of each (person, day) (before birth: the LA of birth)."""
    return las.residence(population).la_at(child_person, days)


def successor_for(population, las: LAFrame, person: np.ndarray, la: np.ndarray) -> np.ndarray:
    """For cases of an LA that is later abolished: the successor LA the child's case passes to (their residence
    on the changeover day if that is a successor, else the first successor)."""
    out = la.copy()
    abol = las.abolished_day[la] < OPEN
    if not abol.any():
        return out
    idx = np.flatnonzero(abol)
    res = la_index_at(population, las, person[idx], las.abolished_day[la[idx]])
    first = las.first_successor[la[idx]]
    ok = _is_successor(las, res, la[idx])
    out[idx] = np.where(ok, res, first)
    return out


def _is_successor(las: LAFrame, res: np.ndarray, la: np.ndarray) -> np.ndarray:
    ok = np.zeros(len(res), dtype=bool)
    for a in np.unique(la):
        m = la == a
        ok[m] = np.isin(res[m], las.successor_set(a))
    return ok


#: Age tilt of candidate events: rate x exp(theta * clip((age - TILT_PIVOT) / TILT_SPAN, -1, 1)), age at the start.
TILT_PIVOT, TILT_SPAN = 9.0, 9.0


def primary_share_target(group: str):
    """Published share of a social care group's school-age children at 31 March who are of primary age (NC years
    R-6), as a function of the reporting year (start year): from the school-type outcome targets (nearest
    published year elsewhere), primary / (all - P.SPECIAL_PRIMARY_RATIO x special), alternative provision being of
    secondary age."""
    from cin_outcomes.synthetic.education.targets import Targets

    t = Targets()

    def share(y: int) -> float | None:
        p, s, sp, ap = (t.nearest(y, group, f"school_{m}") for m in ("primary", "secondary", "special", "ap"))
        if p is None or s is None:
            return None
        return p / (p + s + (ap or 0.0) + (1 - P.SPECIAL_PRIMARY_RATIO) * (sp or 0.0))

    return share


def _reception_year(birth: np.ndarray) -> np.ndarray:
    """Academic year (start) in which a child born on ``birth`` (days) starts reception."""
    day = np.asarray(birth, dtype=np.int64).astype("datetime64[D]")
    yr = day.astype("datetime64[Y]").astype(np.int64) + 1970
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return yr + (month >= 9) + 4


def age_tilt(
    rng: np.random.Generator,
    birth: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    blocked: np.ndarray,
    target,
    last_year: int,
    stock: np.ndarray | None = None,
    external: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``blocked`` with the candidates thinned out so that the children of school age open at 31 March have the
    published age mix: the share of primary age (NC years R-6) among NC years R-11 equals ``target(year)``.

    Who starts an episode at what age is not published, but the school phase of each group's pupils is, and it
    drifts (older children on plans and in need in later years). Each year's candidates are kept with probability
    proportional to exp(theta_y * x), x = clip((age at start - TILT_PIVOT) / TILT_SPAN, -1, 1), theta_y solved in
    year order on the candidates open at 31 March (earlier years as kept, each year's candidates weighted by their
    count, as the stock controller takes them); the controller then fixes the numbers.

    ``external`` (birth, start, end of membership, end of counting in the stock) are children of the group drawn
    elsewhere (plans before care): they join the age mix while members, and with ``stock`` (the national number
    open at 31 March per year, indexed ``year - 1990``) set how many candidates the stock leaves room for.
    """
    blocked = blocked.copy()
    reception = _reception_year(birth)
    x = np.clip(((start - birth) / DAYS_PER_YEAR - TILT_PIVOT) / TILT_SPAN, -1.0, 1.0)
    cy = reporting_year_of(start)
    ok = ~blocked
    w = np.zeros(len(start))
    if external is not None:
        e_rec = _reception_year(external[0])
    for y in range(int(cy.min()), last_year + 1):
        cur = ok & (cy == y)
        if not cur.any():
            continue
        ref = int(year_end(y))
        ncy = y - reception
        open_ = ok & (start <= ref) & (end > ref) & (cy <= y)
        school = (ncy >= 0) & (ncy <= 11)
        sel, young = open_ & school, ncy <= 6
        prev, now = sel & (cy < y), sel & cur
        pw, py, p_all = w[prev].sum(), w[prev & young].sum(), w[open_ & (cy < y)].sum()
        xs, xall, ys, x_open = x[now], x[cur], young[now], x[open_ & cur]
        ext_n = ext_y = 0.0
        room = None
        if external is not None and stock is not None:
            eb, es, ee, ec = external
            e_ncy = y - e_rec
            member = (es <= ref) & (ee > ref) & (e_ncy >= 0) & (e_ncy <= 11)
            ext_n, ext_y = float(member.sum()), float((member & (e_ncy <= 6)).sum())
            total = float(stock[:, min(max(y, 1990), 1990 + stock.shape[1] - 1) - 1990].sum())
            room = max(total - float(((es <= ref) & (ec > ref)).sum()), 1.0)
        goal = target(y)

        def share(theta: float) -> float:
            norm = np.exp(theta * xall).mean()
            e = np.exp(theta * xs) / norm
            r = 1.0 if room is None else room / max(p_all + np.exp(theta * x_open).sum() / norm, 1e-12)
            return (r * (py + e[ys].sum()) + ext_y) / max(r * (pw + e.sum()) + ext_n, 1e-12)

        theta = 0.0
        if goal is not None and len(xs):
            lo, hi = -2.0, 2.0
            for _ in range(40):  # the young share falls as theta rises
                theta = (lo + hi) / 2
                lo, hi = (theta, hi) if share(theta) > goal else (lo, theta)
        e = np.exp(theta * xall)
        keep = rng.random(len(e)) < e / e.max()
        w[cur] = keep / max(keep.mean(), 1e-12)
        blocked[cur] = ~keep  # candidates of the year were all unblocked
        ok[cur] = keep
    return blocked
