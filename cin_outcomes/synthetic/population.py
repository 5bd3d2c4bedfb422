"""The population model: every child in England once, born in an LA, moving between LAs, with a UPN from school.

Everything else in the synthetic England (schools, social care careers, pupil records) is drawn for these
children, so the same child moves through years, schools, LAs and social care. Two latent traits per child drive
the rest: ``need`` (the propensity to come to children's social care) and ``ability`` (attainment before any
effect of social care), negatively correlated, each with an LA component so LAs differ as real LAs do.

Scale: ``scale`` 1.0 gives England's 0-17 population by LA (from the CLA publication's population estimates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import polars as pl

from cin_outcomes.geography import all_las
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.upn import CHECK_LETTERS

#: Children born in these calendar years can be 0-17 (or unborn) in some reporting year from 2013-14 to 2024-25.
FIRST_BIRTH_YEAR = 1995
LAST_BIRTH_DATE = dt.date(2025, 9, 30)  # unborn children referred before 31 March 2025 are due by then
MOVE_RATE_PER_YEAR = 0.025  # share of children changing LA of residence each year
SAME_REGION_MOVE_SHARE = 0.6
STATE_SCHOOL_SHARE = 0.935  # the rest attend independent schools or are educated at home: no UPN in NPD
NEED_ABILITY_CORRELATION = -0.45

# Ethnicity of pupils (20 census codes), outside and inside London: school census shares, rounded.
ETHNICITY_CODES = ["WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
                   "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"]
ETHNICITY_SHARES = {
    "rest": [68.0, 0.3, 0.1, 6.0, 0.5, 1.6, 0.8, 1.9, 2.1, 3.0, 5.0, 1.4, 1.6, 0.6, 2.6, 0.4, 0.4, 1.5, 0.6, 0.3],
    "london": [27.0, 1.0, 0.2, 12.0, 0.8, 2.5, 2.2, 2.6, 4.4, 6.5, 4.2, 6.2, 5.8, 3.4, 11.5, 1.8, 1.0, 5.1, 1.0, 0.4],
}


@dataclass
class Population:
    """The children of a synthetic England.

    ``children``: person_id, birth_date, sex (M/F), ethnicity, birth_la, need, ability, state_school, upn,
    upn_date (when the UPN was allocated, on entry to reception), upn_la.
    ``residence``: spells person_id, from_date, la_code (until the child's next spell starts).
    """

    children: pl.DataFrame
    residence: pl.DataFrame

    def la_at(self, queries: pl.DataFrame, date_col: str = "date") -> pl.DataFrame:
        """Add ``la_code``: the LA each (person_id, date) query row's child lived in on that date (null before
        birth). ``residence`` is sorted by child and date, so this is a binary search per query."""
        res_key = _day_key(self.residence["person_id"], self.residence["from_date"])
        q_key = _day_key(queries["person_id"], queries[date_col])
        idx = np.searchsorted(res_key, q_key, side="right") - 1
        same = (idx >= 0) & (res_key[np.maximum(idx, 0)] >> 32 == q_key >> 32)
        la = self.residence["la_code"].gather(np.maximum(idx, 0))
        return queries.with_columns(pl.when(pl.Series(same)).then(la).alias("la_code"))


def _day_key(person_id: pl.Series, day: pl.Series) -> np.ndarray:
    """person_id and date packed in one sortable integer (days since 1970 shifted to be positive)."""
    return (person_id.cast(pl.Int64).to_numpy() << 32) + (day.cast(pl.Int32).cast(pl.Int64).to_numpy() + (1 << 31))


@lru_cache(maxsize=1)
def la_targets() -> pl.DataFrame:
    """Calibration targets per LA and year (see ``scripts/derive_calibration.py``)."""
    path = resources.files("cin_outcomes.synthetic").joinpath("params/la_targets.csv")
    with path.open("rb") as f:
        return pl.read_csv(f, schema_overrides={"old_la_code": pl.Utf8, "imputed": pl.Utf8})


def active_las(year_end: int) -> pl.DataFrame:
    """LAs making returns in the reporting year ending 31 March ``year_end`` (clamped to the published range)."""
    las = all_las()
    y = min(max(year_end, las["first_year_end"].min()), las["last_year_end"].max())
    return las.filter((pl.col("first_year_end") <= y) & (pl.col("last_year_end") >= y)).unique(
        "old_la_code", keep="first", maintain_order=True).sort("old_la_code")


def _la_weights(year_end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(LA codes, child population 0-17, London flag) for LAs active in ``year_end``."""
    las = active_las(year_end)
    t = la_targets()
    y = min(max(year_end, t["year_end"].min()), t["year_end"].max())
    pop = las.join(t.filter(pl.col("year_end") == y).select("old_la_code", "population_0_17"),
                   on="old_la_code", how="left").with_columns(pl.col("population_0_17").fill_null(1000))
    london = pop["region_code"].is_in(["E13000001", "E13000002"]).to_numpy()
    return pop["old_la_code"].to_numpy(), pop["population_0_17"].to_numpy().astype(float), london


def _epoch_days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _all_la_codes() -> np.ndarray:
    """Every LA code that ever made a return, sorted: LA columns are built as indexes into this array."""
    return np.asarray(sorted(set(all_las()["old_la_code"].to_list())))


def _codes(values: np.ndarray, index: np.ndarray, name: str) -> pl.Series:
    """A text column ``values[index]`` built in polars (no Python string per child at national scale)."""
    return pl.Series(name, values.astype(str)).gather(index)


def build_population(cfg: SyntheticConfig) -> Population:
    """Draw every child of the synthetic England (deterministic for a given scale and seed)."""
    rng = cfg.rng("population")
    all_codes = _all_la_codes()
    parts = []
    for by in range(FIRST_BIRTH_YEAR - 1, LAST_BIRTH_DATE.year + 1):  # births by reporting year (April to March)
        codes, pop, london = _la_weights(by + 1)
        start = _epoch_days(max(dt.date(by, 4, 1), dt.date(FIRST_BIRTH_YEAR, 1, 1)))
        end = _epoch_days(min(dt.date(by + 1, 3, 31), LAST_BIRTH_DATE))
        counts = rng.poisson(pop / 18.0 * cfg.scale * (end - start + 1) / 365.25)
        n = int(counts.sum())
        birth = rng.integers(start, end + 1, size=n)
        la_idx = np.repeat(np.arange(len(codes)), counts)
        parts.append((birth, np.searchsorted(all_codes, codes.astype(str))[la_idx], london[la_idx]))
    birth = np.concatenate([p[0] for p in parts])
    birth_la = np.concatenate([p[1] for p in parts]).astype(np.int16)  # index into all_codes (sorted like codes)
    in_london = np.concatenate([p[2] for p in parts])
    order = np.lexsort((birth_la, birth))
    birth, birth_la, in_london = birth[order], birth_la[order], in_london[order]
    n = len(birth)

    male = rng.random(n) < 0.512
    eth = np.empty(n, dtype=np.int8)
    for key, mask in (("london", in_london), ("rest", ~in_london)):
        p = np.asarray(ETHNICITY_SHARES[key])
        eth[mask] = rng.choice(len(p), size=int(mask.sum()), p=p / p.sum())

    # LA components of the latent traits, drawn once per LA code.
    la_rng = cfg.rng("la-effects")
    la_need = la_rng.normal(0, 0.25, len(all_codes))
    la_ability = la_rng.normal(0, 0.15, len(all_codes))
    need = rng.normal(0, 1, n) + la_need[birth_la]
    r = NEED_ABILITY_CORRELATION
    ability = r * need + np.sqrt(1 - r * r) * rng.normal(0, 1, n) + la_ability[birth_la]
    state_school = rng.random(n) < STATE_SCHOOL_SHARE + 0.03 * np.tanh(need)  # needier children rarely private

    children = pl.DataFrame([
        pl.Series("person_id", np.arange(n, dtype=np.uint32)),
        pl.Series("birth_date", birth, dtype=pl.Int32).cast(pl.Date),
        _codes(np.asarray(["F", "M"]), male.astype(np.int8), "sex"),
        _codes(np.asarray(ETHNICITY_CODES), eth, "ethnicity"),
        _codes(all_codes, birth_la, "birth_la"),
        pl.Series("need", need.astype(np.float32)),
        pl.Series("ability", ability.astype(np.float32)),
        pl.Series("state_school", state_school),
    ])
    del birth, birth_la, in_london, male, eth, need, ability, state_school
    residence = _residence(cfg, children)
    children = _allocate_upns(children, residence)
    return Population(children=children, residence=residence)


def _residence(cfg: SyntheticConfig, children: pl.DataFrame) -> pl.DataFrame:
    """Residence spells: birth LA, random moves between LAs, and moves forced by LA reorganisations."""
    rng = cfg.rng("moves")
    all_codes = _all_la_codes()
    birth = children["birth_date"].cast(pl.Int32).to_numpy()
    horizon = np.minimum(birth + int(18.5 * 365.25), _epoch_days(dt.date(2025, 9, 30)))
    years = np.clip((horizon - birth) / 365.25, 0, None)
    k = rng.poisson(MOVE_RATE_PER_YEAR * years)
    pid = np.repeat(children["person_id"].to_numpy(), k)
    b = np.repeat(birth, k)
    h = np.repeat(horizon, k)
    when = b + (rng.random(len(pid)) * (h - b)).astype(np.int64) + 1
    del b, h, birth, horizon
    # destination: an LA active in that reporting year, weighted by size, often in the same region
    dates = pl.Series(when, dtype=pl.Int32).cast(pl.Date)
    moves = pl.DataFrame({"person_id": pid, "from_date": dates})
    ye = (moves["from_date"].dt.year() + (moves["from_date"].dt.month() >= 4).cast(pl.Int32)).to_numpy()
    dest = np.zeros(len(pid), dtype=np.int16)
    for y in np.unique(ye):
        codes, pop, _ = _la_weights(int(y))
        m = ye == y
        dest[m] = np.searchsorted(all_codes, codes.astype(str))[rng.choice(len(codes), size=int(m.sum()),
                                                                           p=pop / pop.sum())]
    moves = moves.with_columns(_codes(all_codes, dest, "la_code"))
    born = children.select("person_id", pl.col("birth_date").alias("from_date"), pl.col("birth_la").alias("la_code"))
    spells = pl.concat([born, moves]).sort("person_id", "from_date", maintain_order=True)
    # drop moves to the LA already lived in (rows are sorted by child: compare with the row before, same child)
    same_child = pl.col("person_id") == pl.col("person_id").shift(1)
    spells = spells.filter(~(same_child & (pl.col("la_code") == pl.col("la_code").shift(1))).fill_null(False))
    return _reorganise(cfg, spells)


def _reorganise(cfg: SyntheticConfig, spells: pl.DataFrame) -> pl.DataFrame:
    """Children living in an LA when it is abolished move, on 1 April, to one of its successors.

    ``spells`` sorted by person_id and from_date. Abolished LAs are distinct and their successors are new LAs, so
    each abolition's movers are found in the original spells and all the new spells are added in one go."""
    rng = cfg.rng("reorganisation")
    las = all_las()
    successors = las.filter(pl.col("predecessors") != "").select(
        "old_la_code", "first_year_end", pl.col("predecessors").str.split(" ").alias("pred")).explode("pred")
    s = spells.with_columns(
        pl.when(pl.col("person_id") == pl.col("person_id").shift(-1)).then(pl.col("from_date").shift(-1))
        .alias("to_date"))
    new_spells, late = [], []
    for pred, grp in successors.group_by("pred", maintain_order=True):
        pred = pred[0]
        year_end = int(grp["first_year_end"][0])
        change = dt.date(year_end - 1, 4, 1)
        succ = grp["old_la_code"].to_list()
        late.append((pred, change, succ[0]))
        hit = s.filter((pl.col("la_code") == pred) & (pl.col("from_date") < change)
                       & (pl.col("to_date").is_null() | (pl.col("to_date") > change)))
        if hit.height == 0:
            continue
        # successors by size (Dorset keeps Dorset; Poole and Bournemouth both go to BCP)
        codes, pop, _ = _la_weights(year_end)
        pops = np.array([pop[list(codes).index(c)] for c in succ])
        pick = np.asarray(succ)[rng.choice(len(succ), size=hit.height, p=pops / pops.sum())]
        new_spells.append(hit.select("person_id").with_columns(pl.lit(change).alias("from_date"),
                                                               pl.Series("la_code", pick)))
    del s
    # later random moves into an abolished LA go to its (first) successor instead
    late = pl.DataFrame(late, schema={"la_code": pl.Utf8, "_change": pl.Date, "_succ": pl.Utf8}, orient="row")
    change = pl.col("la_code").replace_strict(late["la_code"], late["_change"], default=None)
    spells = spells.with_columns(
        pl.when(pl.col("from_date") >= change)
        .then(pl.col("la_code").replace_strict(late["la_code"], late["_succ"], default=None))
        .otherwise(pl.col("la_code")).alias("la_code"))
    # a child's spells in date order; where two start the same day the later-added one stands
    spells = pl.concat([spells, *new_spells]).sort("person_id", "from_date", maintain_order=True)
    superseded = (pl.col("person_id") == pl.col("person_id").shift(-1)) & (
        pl.col("from_date") == pl.col("from_date").shift(-1))
    return spells.filter(~superseded.fill_null(False))


def _allocate_upns(children: pl.DataFrame, residence: pl.DataFrame) -> pl.DataFrame:
    """A UPN for every state-school child, allocated by the LA they live in when they start reception."""
    # reception starts 1 September after the 4th birthday (academic year of birth: September to August)
    c = children.with_columns(
        (pl.col("birth_date").dt.year() + (pl.col("birth_date").dt.month() >= 9).cast(pl.Int32) + 4).alias("_ry"))
    c = c.with_columns(pl.date(pl.col("_ry"), 9, 1).alias("upn_date"))
    c = c.with_columns(pl.when(pl.col("state_school") & (pl.col("upn_date") <= dt.date(2025, 3, 31)))
                       .then(pl.col("upn_date")).otherwise(None).alias("upn_date"))
    q = c.select("person_id", pl.col("upn_date").fill_null(pl.col("birth_date")).alias("date"))
    la = Population(children=c, residence=residence).la_at(q)["la_code"]
    c = c.with_columns(la.alias("upn_la"))
    c = c.with_columns(pl.when(pl.col("upn_date").is_not_null()).then(pl.col("upn_la")).otherwise(None).alias("upn_la"))
    # serial within (LA, year of allocation): establishment 2000+k//1000, serial k%1000 -> unique UPNs
    c = c.with_columns(pl.int_range(pl.len()).over("upn_la", "_ry").alias("_k"))
    # 12 digits: LA number (3), establishment 2000 + k // 1000 (4), year of allocation (2), serial k % 1000 (3);
    # check letter: digits weighted 2..13, sum mod 23 (computed column-wise, no 12-wide matrix at national scale)
    la_num = pl.col("upn_la").fill_null("0").cast(pl.Int64)
    estab = 2000 + pl.col("_k") // 1000
    yy = pl.col("_ry") % 100
    serial = pl.col("_k") % 1000
    digits = [la_num // 100, la_num // 10 % 10, la_num % 10, estab // 1000, estab // 100 % 10, estab // 10 % 10,
              estab % 10, yy // 10, yy % 10, serial // 100, serial // 10 % 10, serial % 10]
    weighted = pl.sum_horizontal([d * w for d, w in zip(digits, range(2, 14))]) % 23
    body = la_num * 10**9 + estab * 10**5 + yy * 10**3 + serial
    letters = pl.Series(list(CHECK_LETTERS))
    upn = pl.concat_str([weighted.map_batches(lambda s: letters.gather(s), return_dtype=pl.Utf8),
                         body.cast(pl.Utf8).str.zfill(12)])
    c = c.with_columns(pl.when(pl.col("upn_date").is_not_null()).then(upn).otherwise(None).alias("upn"))
    return c.drop("_ry", "_k")
