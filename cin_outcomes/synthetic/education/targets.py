"""Calibration targets of the education model and the social care groups pupils are conditioned on.

Targets are national rates (or averages) per reporting year, social care group, measure and school phase, derived
from the published files by ``scripts/derive_outcome_targets.py`` into ``params/outcome_targets.csv``; the LA
spread of the published LA rows is in ``params/la_spread.csv``. Group codes order the hierarchy CLA > CPP > CIN.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import polars as pl

from cin_outcomes.years import ReportingYear

ALL = "All pupils"
#: Social care group at 31 March -> code; a child in two LAs takes the highest code.
GROUPS = {"CINO at 31 March": 1, "CPPO at 31 March": 2, "CLA less than 12 months at 31 March": 3,
          "CLA 12 months at 31 March": 4}
GROUP_NAMES = {v: k for k, v in GROUPS.items()}
NONE = 0


@lru_cache(maxsize=1)
def outcome_targets() -> pl.DataFrame:
    """year, group, measure, phase, value, unit, basis, source (see the derivation script)."""
    path = resources.files("cin_outcomes.synthetic").joinpath("params/outcome_targets.csv")
    with path.open("rb") as f:
        return pl.read_csv(f)


@lru_cache(maxsize=1)
def la_spread() -> pl.DataFrame:
    """Between-LA spread of the published LA rows (2023/24): p10, p50, p90, sd_between, sd_latent."""
    path = resources.files("cin_outcomes.synthetic").joinpath("params/la_spread.csv")
    with path.open("rb") as f:
        return pl.read_csv(f)


def la_effect_sd(domain: str) -> float:
    """Between-LA standard deviation (probit scale) of a domain's LA effects for social care groups.

    ``attainment``: KS2 RWM and KS4 English and maths 4+ rows; ``absence``: persistent absence rows. The mean of
    the published rows' sampling-corrected spread (rows where it is estimable).
    """
    s = la_spread().filter(pl.col("sd_latent").is_not_null() & (pl.col("sd_latent") > 0))
    pick = {"attainment": ("ks2_", "ks4_"), "absence": ("abs_",)}[domain]
    v = s.filter(pl.col("measure").str.starts_with(pick[0]) | pl.col("measure").str.starts_with(pick[-1]))
    return float(v["sd_latent"].mean())


class Targets:
    """Fast lookup of target values: ``t(year, group, measure, phase="Total")`` -> value or None."""

    def __init__(self, df: pl.DataFrame | None = None) -> None:
        df = outcome_targets() if df is None else df
        self.df = df
        self._v: dict[tuple[int, str, str, str], float] = {}
        for y, g, m, p, v in df.select("year", "group", "measure", "phase", "value").iter_rows():
            self._v[(ReportingYear.parse(y).start, g, m, p)] = float(v)
        self._years: dict[tuple[str, str, str], list[int]] = {}
        for (y, g, m, p) in self._v:
            self._years.setdefault((g, m, p), []).append(y)
        for k in self._years:
            self._years[k].sort()

    def __call__(self, year: int, group: str, measure: str, phase: str = "Total") -> float | None:
        return self._v.get((year, group, measure, phase))

    def nearest(self, year: int, group: str, measure: str, phase: str = "Total") -> float | None:
        """The target of ``year``, else of the nearest year that has one (used for years outside the series,
        e.g. the burn-in years before 2013-14 and the autumn-only absence of 2019-20)."""
        v = self(year, group, measure, phase)
        if v is not None:
            return v
        ys = self._years.get((group, measure, phase))
        if not ys:
            return None
        near = min(ys, key=lambda y: (abs(y - year), -y))
        return self._v[(near, group, measure, phase)]

    def rate(self, year: int, group: str, measure: str, phase: str = "Total") -> float | None:
        """A percentage target as a proportion (nearest year)."""
        v = self.nearest(year, group, measure, phase)
        return None if v is None else v / 100.0


def group_codes(status: pl.DataFrame) -> pl.DataFrame:
    """One row per (person_id, year): the highest social care group at 31 March (code) and its LA.

    ``status`` has person_id, year (reporting-year start), la_code, group; a child may have rows in two LAs, and
    takes the highest group (CLA > CPP > CIN); ties between LAs go to the lowest LA code.
    """
    if status.height == 0:
        return pl.DataFrame(schema={"person_id": pl.UInt32, "year": pl.Int16, "la_code": pl.Utf8,
                                    "group_code": pl.Int8})
    s = status.select(
        pl.col("person_id").cast(pl.UInt32), pl.col("year").cast(pl.Int16), pl.col("la_code").cast(pl.Utf8),
        pl.col("group").replace_strict(GROUPS, return_dtype=pl.Int8).alias("group_code"),
    )
    return (s.sort(["person_id", "year", "group_code", "la_code"], descending=[False, False, True, False])
            .unique(["person_id", "year"], keep="first", maintain_order=True))


def group_array(codes: pl.DataFrame, year: int, index_of: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(group code per pupil, LA code index per pupil or -1) for ``year``; ``index_of`` maps person_id -> pupil."""
    g = np.zeros(n, dtype=np.int8)
    la = np.full(n, -1, dtype=np.int32)
    # children outside the population (UASC arriving from abroad) have no school record
    sub = codes.filter((pl.col("year") == year) & (pl.col("person_id") < len(index_of)))
    if sub.height:
        idx = index_of[sub["person_id"].to_numpy().astype(np.int64)]
        ok = idx >= 0
        g[idx[ok]] = sub["group_code"].to_numpy()[ok]
        la[idx[ok]] = la_index(sub["la_code"])[ok]
    return g, la


@lru_cache(maxsize=1)
def _la_list() -> tuple[str, ...]:
    from cin_outcomes.geography import all_las
    return tuple(sorted(set(all_las()["old_la_code"].to_list())))


def la_list() -> list[str]:
    """Every LA code, sorted: the index used for LA effects and school LAs."""
    return list(_la_list())


def la_index(codes: pl.Series) -> np.ndarray:
    """Index of each LA code in :func:`la_list` (-1 when unknown)."""
    lut = {c: i for i, c in enumerate(_la_list())}
    return codes.replace_strict(lut, default=-1, return_dtype=pl.Int32).to_numpy()
