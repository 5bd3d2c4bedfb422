"""Solving for the cut-points that make generated national rates equal their targets.

Every binary outcome is ``latent > cut``. Each social care group with a target gets its own cut (the quantile of
its pupils' latent values), and pupils outside the groups share one cut chosen so that the all-pupils rate — groups
included — equals the all-pupils target. Both are exact for the generated pupils, so the national rates match at
any scale, whatever the social care model puts in each group; LA effects and everything else in the latent values
are kept, which is what gives LAs their spread.
"""

from __future__ import annotations

import numpy as np

from cin_outcomes.synthetic.education.targets import GROUP_NAMES, NONE

BIG = 1e9  # a cut no pupil passes (or every pupil passes, negated); pupils who cannot pass sit at -inf


def cut_for_rate(x: np.ndarray, rate: float) -> float:
    """The cut c with mean(x > c) == rate (to one pupil)."""
    n = len(x)
    if n == 0:
        return 0.0
    rate = float(np.clip(rate, 0.0, 1.0))
    k = int(round(rate * n))  # pupils above the cut
    if k <= 0:
        top = float(np.max(x))
        return top + 1e-6 if np.isfinite(top) else BIG
    if k >= n:
        low = float(np.min(x))
        return low - 1e-6 if np.isfinite(low) else -BIG
    srt = np.partition(x, n - k - 1)
    lo = float(srt[n - k - 1])  # the (n-k)th smallest: everything above it is in the top k
    hi = float(np.min(srt[n - k:]))
    if np.isfinite(hi) and np.isfinite(lo):
        return lo + (hi - lo) / 2
    return lo if np.isfinite(lo) else (hi - 1e-6 if np.isfinite(hi) else -BIG)


def group_cuts(x: np.ndarray, group: np.ndarray, all_rate: float | None,
               group_rates: dict[int, float | None], mask: np.ndarray | None = None,
               share_of_all: bool = False) -> np.ndarray:
    """Per-pupil cut such that ``x > cut`` hits each group's rate and the all-pupils rate.

    ``group`` holds group codes (0 none); ``group_rates`` maps code -> target proportion (None: no target, the
    group shares the cut of pupils outside the groups). ``mask`` restricts who can be selected (others get +inf);
    rates are proportions of the masked pupils, or of all pupils (masked or not) with ``share_of_all``.
    """
    n = len(x)
    m = np.ones(n, dtype=bool) if mask is None else mask
    in_group = np.flatnonzero(group > 0)  # few pupils: work on their row numbers
    rows = {c: in_group[group[in_group] == c] for c in sorted(group_rates)}
    if share_of_all and mask is not None:
        group_rates = {c: None if r is None or not len(rows[c]) else
                       min(1.0, r * len(rows[c]) / max(1, int(m[rows[c]].sum())))
                       for c, r in group_rates.items()}
        all_rate = None if all_rate is None else all_rate * n / max(1, int(m.sum()))
    cut = np.full(n, np.inf)
    rest = m.copy()
    need = None if all_rate is None else all_rate * int(m.sum())
    for code in sorted(group_rates):
        r = group_rates[code]
        sel = rows[code][m[rows[code]]]
        if r is None or not len(sel):
            continue
        xs = x[sel]
        c = cut_for_rate(xs, r)
        cut[sel] = c
        rest[sel] = False
        if need is not None:
            need -= float((xs > c).sum())
    rest_rows = np.flatnonzero(rest)
    if len(rest_rows):
        if need is None:
            raise ValueError("no all-pupils target for the pupils outside the social care groups")
        cut[rest_rows] = cut_for_rate(x[rest_rows], need / len(rest_rows))
    return cut


def mean_matching(values_at, lo: float, hi: float, target: float, iters: int = 40) -> float:
    """Bisection for p in [lo, hi] with mean(values_at(p)) == target, ``values_at`` increasing in p."""
    for _ in range(iters):
        mid = (lo + hi) / 2
        if values_at(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def sample(rows: np.ndarray, at_most: int = 150_000) -> np.ndarray:
    """Evenly spaced rows (deterministic) to solve a smooth parameter on, when there are many."""
    step = max(1, len(rows) // at_most)
    return rows[::step]


def group_rate_dict(targets, year: int, measure: str, phase: str = "Total") -> dict[int, float | None]:
    """{group code: target proportion or None} for the four social care groups."""
    return {code: targets.rate(year, name, measure, phase) for code, name in GROUP_NAMES.items()}


__all__ = ["cut_for_rate", "group_cuts", "mean_matching", "group_rate_dict", "sample", "NONE"]
