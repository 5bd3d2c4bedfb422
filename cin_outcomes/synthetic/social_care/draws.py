"""Small vectorised random helpers shared by the social care modules."""

from __future__ import annotations

import numpy as np


def choice(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    """``n`` codes drawn with the given (unnormalised) shares; keys in a fixed order, so draws are reproducible."""
    keys = np.array(list(shares.keys()))
    p = np.array(list(shares.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category index per element, with the probability row ``probs[rows[i]]`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1)


def lognormal_days(
    rng: np.random.Generator, median: float | np.ndarray, sigma: float | np.ndarray, n: int
) -> np.ndarray:
    """Durations in whole days (at least 1) from a lognormal with the given median."""
    return np.maximum(1, np.round(np.asarray(median) * np.exp(np.asarray(sigma) * rng.standard_normal(n)))).astype(
        np.int64
    )


def uniform_days(rng: np.random.Generator, lo, hi, n: int) -> np.ndarray:
    """Whole days uniformly in [lo, hi] (arrays or scalars)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    return lo + np.floor(rng.random(n) * (np.maximum(hi - lo, 0) + 1)).astype(np.int64)
