"""Days, reporting years and LAs as the model handles them: dates are whole days since 1 January 1970 (int64).

Also the LA frame of the model: every DfE LA number with the reporting years it returned, which LA took over its
children when it was abolished (Northamptonshire, Cumbria, Bournemouth, Poole, Dorset), and its calibration
targets per reporting year scaled to the synthetic England.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from cin_outcomes.geography import all_las
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import la_targets
from cin_outcomes.synthetic.social_care.params import EPOCH, FIRST_TARGET_YEAR_END

#: A date after every simulated event: "still open".
OPEN = 1_000_000
WEEKDAY_OFFSET = 3  # 1 January 1970 was a Thursday: (day + 3) % 7 is 0 on Mondays
#: GSS codes changed since the LA lookup's era (Barnsley and Sheffield were recoded in 2021).
GSS_RECODED = {"E08000016": "E08000038", "E08000019": "E08000039"}


def day(d: dt.date) -> int:
    return (d - EPOCH).days


def date_expr(col: str) -> pl.Expr:
    """An integer day column as a polars Date; OPEN (still open) becomes null."""
    c = pl.col(col)
    return pl.when(c < OPEN).then(c).otherwise(None).cast(pl.Int32).cast(pl.Date).alias(col)


def reporting_year_of(days: np.ndarray) -> np.ndarray:
    """Start year of the reporting year (1 April to 31 March) containing each day."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)  # months since January 1970
    return (months - 3) // 12 + 1970


def year_start(y):
    """1 April of reporting year ``y`` as days (scalar or array)."""
    a = np.asarray(y, dtype=np.int64)
    out = ((a - 1970) * 12 + 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return int(out) if np.ndim(y) == 0 else out


def year_end(y):
    """31 March ending reporting year ``y`` as days."""
    a = np.asarray(y, dtype=np.int64)
    out = year_start(a + 1) - 1
    return int(out) if np.ndim(y) == 0 else out


def add_years(days: np.ndarray, years) -> np.ndarray:
    """The same calendar day ``years`` years later (29 February becomes 28 February, as pandas DateOffset)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    tm = m + (np.asarray(years, dtype=np.int64) * 12)
    last = (tm + 1).astype("datetime64[D]").astype(np.int64) - 1
    return np.minimum(tm.astype("datetime64[D]").astype(np.int64) + dom, last)


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday."""
    return (np.asarray(days) + WEEKDAY_OFFSET) % 7


def to_weekday(days: np.ndarray, forward: bool = True) -> np.ndarray:
    """Move weekend days to the next Monday (or back to the Friday)."""
    d = np.asarray(days).copy()
    wd = weekday(d)
    if forward:
        d = d + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
    else:
        d = d - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))
    return d


def add_working_days(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """``days`` plus ``n`` working days (Monday to Friday; bank holidays ignored)."""
    d = to_weekday(np.asarray(days))
    n = np.asarray(n)
    weeks, rest = n // 5, n % 5
    wd = weekday(d)
    extra = np.where(wd + rest >= 5, 2, 0)
    return d + weeks * 7 + rest + extra


@dataclass
class LAFrame:
    """The LAs of the model, indexed 0..n-1 in DfE number order, with scaled targets per reporting year."""

    cfg: SyntheticConfig

    @cached_property
    def las(self) -> pl.DataFrame:
        """One row per LA number: first/last reporting year end, region, the LAs it became."""
        a = all_las()
        g = a.group_by("old_la_code").agg(
            pl.col("first_year_end").min(),
            pl.col("last_year_end").max(),
            pl.col("region_code").first(),
            pl.col("new_la_code"),
            pl.col("la_name").last(),
        )
        succ = (
            a.filter(pl.col("predecessors") != "")
            .select("old_la_code", pl.col("predecessors").str.split(" ").alias("pred"))
            .explode("pred")
            .group_by("pred")
            .agg(pl.col("old_la_code").sort().alias("successors"))
            .rename({"pred": "old_la_code"})
        )
        return g.join(succ, on="old_la_code", how="left", maintain_order="left").sort("old_la_code")

    @property
    def codes(self) -> np.ndarray:
        return self.las["old_la_code"].to_numpy().astype(str)

    @property
    def n(self) -> int:
        return self.las.height

    @cached_property
    def _code_index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.codes.tolist())}

    def index(self, codes: np.ndarray | pl.Series | list) -> np.ndarray:
        """LA index of each 3-digit code (``n`` for an unknown code)."""
        s = codes if isinstance(codes, pl.Series) else pl.Series(np.asarray(codes).astype(str))
        return s.cast(pl.Utf8).replace_strict(self._code_index, default=self.n, return_dtype=pl.Int64).to_numpy()

    def residence(self, population) -> "Residence":
        """The population's residence spells as sorted arrays (cached per population)."""
        cache = self.__dict__.setdefault("_residence", {})
        if id(population) not in cache:
            cache.clear()
            cache[id(population)] = Residence(population, self)
        return cache[id(population)]

    @cached_property
    def abolished_day(self) -> np.ndarray:
        """1 April from which an LA no longer exists (OPEN if it still does)."""
        last = self.las["last_year_end"].to_numpy()
        has_succ = self.las["successors"].is_not_null().to_numpy()
        return np.where(has_succ, year_start(last), OPEN).astype(np.int64)

    @cached_property
    def first_successor(self) -> np.ndarray:
        """Index of the (first) successor of each abolished LA, else the LA itself."""
        out = np.arange(self.n)
        for i, succ in enumerate(self.las["successors"].to_list()):
            if succ:
                out[i] = self.index(np.array([succ[0]]))[0]
        return out

    def successor_set(self, i: int) -> np.ndarray:
        succ = self.las["successors"][int(i)]
        return self.index(np.array(succ)) if succ is not None else np.array([i])

    @cached_property
    def region(self) -> np.ndarray:
        return self.las["region_code"].to_numpy().astype(str)

    @cached_property
    def active(self) -> np.ndarray:
        """active[i, y - 1990]: LA i makes returns in reporting year y (warm-up years count as 2012-13)."""
        first = self.las["first_year_end"].to_numpy() - 1
        last = self.las["last_year_end"].to_numpy() - 1
        ys = np.arange(1990, 2031)
        eff = np.maximum(ys, FIRST_TARGET_YEAR_END - 1)
        return (first[:, None] <= eff[None, :]) & (eff[None, :] <= last[:, None])

    @cached_property
    def targets(self) -> dict[str, np.ndarray]:
        """Scaled targets[measure][la, y - 1990] per reporting year start y (clamped to the published years)."""
        t = la_targets()
        ye_min, ye_max = int(t["year_end"].min()), int(t["year_end"].max())
        out = {}
        idx = self.index(t["old_la_code"].to_numpy())
        ys = np.arange(1990, 2031)
        for m in [
            "population_0_17",
            "cin_at31",
            "cin_anypoint",
            "cin_started",
            "cpp_at31",
            "cla_at31",
            "cla_started",
            "cla_ceased",
        ]:
            grid = np.full((self.n, ye_max - ye_min + 1), np.nan)
            grid[idx, t["year_end"].to_numpy() - ye_min] = t[m].to_numpy().astype(float)
            col = np.clip(ys + 1, ye_min, ye_max) - ye_min
            arr = grid[:, col]
            out[m] = np.nan_to_num(arr) * (1.0 if m == "population_0_17" else self.cfg.scale)
        return out

    def target(self, measure: str, y: int | np.ndarray) -> np.ndarray:
        return self.targets[measure][:, np.asarray(y) - 1990]

    @cached_property
    def postcodes(self) -> dict[int, np.ndarray]:
        """Real postcodes per LA index (abolished LAs use their successors' postcodes)."""
        from importlib import resources

        with resources.files("cin_outcomes.reference").joinpath("postcodes_by_la.csv").open("rb") as f:
            pc = pl.read_csv(f).sort("utla_code", "postcode")
        by_code = {
            k[0]: v["postcode"].to_numpy().astype(str) for k, v in pc.partition_by("utla_code", as_dict=True).items()
        }
        out: dict[int, np.ndarray] = {}
        for i, codes in enumerate(self.las["new_la_code"].to_list()):
            codes = {GSS_RECODED.get(c, c) for c in codes}
            found = [by_code[c] for c in sorted(codes) if c in by_code]
            if found:
                out[i] = np.unique(np.concatenate(found))
        for i in range(self.n):
            if i not in out:
                succ = self.successor_set(i)
                out[i] = np.unique(np.concatenate([out[j] for j in succ if j in out]))
        return out


class Residence:
    """Where each child lived: residence spells sorted by (person, from day), for fast vectorised look-ups."""

    def __init__(self, population, las: LAFrame):
        r = population.residence.sort("person_id", "from_date")
        self.person = r["person_id"].to_numpy().astype(np.int64)
        self.day = r["from_date"].cast(pl.Int32).to_numpy().astype(np.int64)
        self.la = las.index(r["la_code"])
        self.key = (self.person << 22) + self.day
        # per person (persons are 0..n-1): first spell and number of spells, for the common case of no move
        n = int(self.person.max()) + 1 if len(self.person) else 0
        self.first = np.searchsorted(self.person, np.arange(n), side="left")
        self.count = np.bincount(self.person, minlength=n)

    def la_at(self, person: np.ndarray, days: np.ndarray) -> np.ndarray:
        """LA index of residence of each (person, day); before birth, the LA the child is born in."""
        person = np.asarray(person, dtype=np.int64)
        out = self.la[self.first[person]]
        moved = np.flatnonzero(self.count[person] > 1)
        if len(moved):
            p = person[moved]
            pos = np.searchsorted(self.key, (p << 22) + np.asarray(days, dtype=np.int64)[moved], side="right") - 1
            posc = np.clip(pos, 0, len(self.key) - 1)
            ok = (pos >= 0) & (self.person[posc] == p)
            out[moved] = np.where(ok, self.la[posc], out[moved])
        return out

    def moves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every change of LA: (person, day, previous LA, new LA)."""
        same = np.concatenate([[False], self.person[1:] == self.person[:-1]])
        idx = np.flatnonzero(same)
        return self.person[idx], self.day[idx], self.la[idx - 1], self.la[idx]
