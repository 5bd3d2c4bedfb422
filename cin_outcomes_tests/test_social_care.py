"""The social care model and its canonical tables: calibration, identifiers, the cohort-rule status, internal
consistency of every return (the DfE rules the pipeline relies on, checked independently of the generator),
determinism and faults.

Built once per session at small scale (``small_england``); the writer tests reuse the same builds.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import polars as pl
import pytest

from cin_outcomes.cohorts.rules import national_count, per_year_membership
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import build_population
from cin_outcomes.synthetic.social_care import STATUS_GROUPS, build_social_care
from cin_outcomes.tables import CIN_TABLES, SSDA903_TABLES
from cin_outcomes.upn import is_valid_upn
from cin_outcomes.years import ReportingYear

FEW_LAS = ("318", "886", "928", "940", "941", "201")


@lru_cache(maxsize=None)
def small_england(
    scale: float = 0.005, seed: int = 11, only_las: tuple[str, ...] | None = None, fault_rate: float = 0.0
):
    cfg = SyntheticConfig(scale=scale, seed=seed, only_las=only_las, fault_rate=fault_rate)
    pop = build_population(cfg)
    return cfg, pop, build_social_care(cfg, pop)


@pytest.fixture(scope="module")
def england():
    return small_england()


@pytest.fixture(scope="module")
def few():
    return small_england(0.004, 5, FEW_LAS)


def years_of(cfg):
    return [y.label for y in cfg.years]


# --- shape and calibration ----------------------------------------------------------------------------------
def test_tables_have_the_canonical_schemas_and_every_year(england):
    cfg, _, sc = england
    assert set(sc.tables) == set(CIN_TABLES) | set(SSDA903_TABLES)
    for name, df in sc.tables.items():
        schema = {**CIN_TABLES, **SSDA903_TABLES}[name]
        assert dict(df.schema) == schema, name
    for name in ("cin_children", "cin_episodes", "Header", "Episodes"):
        assert set(sc.tables[name]["reporting_year"].unique()) == set(years_of(cfg)), name
    # CIN plans are collected from 2021-22, social worker episodes from 2023-24
    assert sc.tables["cin_plans"]["reporting_year"].min() == "2021-22"
    assert sc.tables["SWEpisodes"]["reporting_year"].min() == "2023-24"


def test_national_counts_at_31_march_near_published_at_small_scale(england):
    """CIN, CPP and CLA at 31 March by the cohort rules, scaled up, within 12 % of England (scale 0.005: about
    2,000 children in need, 250 on a plan, 400 looked after per year)."""
    cfg, _, sc = england
    published = {  # national_targets.csv (CIN publication B1 / D5, CLA publication), 31 March of the year end
        "2018-19": (399510, 52260, 78150),
        "2020-21": (388490, 50010, 80780),
        "2022-23": (403090, 50780, 83750),
        "2024-25": (402400, 49420, 81770),
    }
    for label, targets in published.items():
        y = ReportingYear.parse(label)
        m = per_year_membership(y, sc.tables)
        for flag, target in zip(("cin_at31", "cpp_at31", "cla_at31"), targets):
            got = national_count(m, flag) / cfg.scale
            assert abs(got / target - 1) < 0.12, (label, flag, got, target)


def test_flows_and_uasc_share_are_plausible(england):
    cfg, _, sc = england
    y = ReportingYear.parse("2023-24")
    m = per_year_membership(y, sc.tables)
    anypoint = m["cin_anypoint"].sum() / cfg.scale
    assert 600_000 < anypoint < 820_000  # published 702,840
    eps = sc.tables["cin_episodes"].filter(pl.col("reporting_year") == y.label)
    nfa = eps["referral_nfa"].mean()
    assert 0.03 < nfa < 0.2
    header = sc.tables["Header"].filter(pl.col("reporting_year") == y.label)
    uasc = sc.tables["UASC"].filter(pl.col("reporting_year") == y.label)
    cla = m.filter(pl.col("cla_at31"))
    share = cla.join(uasc.rename({"child": "la_child_id"}), on=["la_code", "la_child_id"]).height / cla.height
    assert 0.03 < share < 0.16  # published 8.8 % in 2024
    assert header.height > cla.height


# --- identifiers and UPNs -----------------------------------------------------------------------------------
def test_la_child_ids_are_alphanumeric_unique_and_shared_by_cin_and_903(england):
    _, _, sc = england
    ids = sc.identities
    assert ids["la_child_id"].str.contains(r"^[A-Za-z0-9]{1,20}$").all()
    assert ids.select("la_code", "la_child_id").is_unique().all()
    assert ids.select("la_code", "person_id").is_unique().all()
    # a child returned by two LAs has two identifiers
    multi = ids.group_by("person_id").len().filter(pl.col("len") > 1)
    assert multi.height > 0
    # every 903 child is a CIN child of the same LA with the same identifier, and is a known child
    known = ids.select("la_code", "la_child_id")
    for name, col in (("Header", "child"), ("cin_children", "la_child_id")):
        df = sc.tables[name].select("la_code", pl.col(col).alias("la_child_id")).unique()
        assert df.join(known, on=["la_code", "la_child_id"], how="anti").height == 0
    # identifiers follow the child across years
    h = sc.tables["Header"].join(ids, left_on=["la_code", "child"], right_on=["la_code", "la_child_id"])
    assert h.group_by("la_code", "child").agg(pl.col("person_id").n_unique())["person_id"].max() == 1


def test_upns_have_valid_check_letters_and_reasons_when_missing(england):
    _, _, sc = england
    ch = sc.tables["cin_children"]
    upns = ch["upn"].drop_nulls().unique()
    assert all(is_valid_upn(u) for u in upns)
    former = ch["former_upn"].drop_nulls()
    assert former.len() > 0 and all(is_valid_upn(u) for u in former)
    assert (ch["upn"].is_null() == ch["upn_unknown"].is_not_null()).all()
    assert set(ch["upn_unknown"].drop_nulls().unique()) <= {"UN1", "UN2", "UN5", "UN7"}
    # UN1 (not of school age) only under 5; matching to pupil data below 100 % for school-age children
    end = ch["reporting_year"].str.slice(0, 4).cast(pl.Int32) + 1
    age = (pl.date(end, 3, 31) - pl.col("birth_date")).dt.total_days() / 365.25
    assert ch.filter((pl.col("upn_unknown") == "UN1") & (age > 5.01)).height == 0
    school = ch.filter((age >= 6) & (age < 16))
    share = school["upn"].is_not_null().mean()
    assert 0.8 < share < 0.99
    h = sc.tables["Header"]
    real = h.filter(~pl.col("upn").str.starts_with("UN"))["upn"].unique()
    assert all(is_valid_upn(u) for u in real)
    assert set(h.filter(pl.col("upn").str.starts_with("UN"))["upn"].unique()) <= {"UN1", "UN2", "UN5"}


def test_unborn_children_have_an_expected_birth_date_and_sex_u(england):
    _, _, sc = england
    ch = sc.tables["cin_children"]
    unborn = ch.filter(pl.col("birth_date").is_null())
    assert unborn.height > 0
    assert unborn["expected_birth_date"].is_not_null().all() and (unborn["sex"] == "U").all()
    assert (ch.filter(pl.col("birth_date").is_not_null())["expected_birth_date"].is_null()).all()


# --- status by the cohort rules -----------------------------------------------------------------------------
def test_status_is_the_cohort_rules_mapped_to_children(england):
    cfg, _, sc = england
    st = sc.status
    assert set(st["group"].unique()) <= set(STATUS_GROUPS.values())
    assert dict(st.schema) == {"person_id": pl.UInt32, "year": pl.Int16, "la_code": pl.Utf8, "group": pl.Utf8}
    for label in ("2019-20", "2024-25"):
        y = ReportingYear.parse(label)
        m = per_year_membership(y, sc.tables)
        for flag, group in STATUS_GROUPS.items():
            n = st.filter((pl.col("year") == y.start) & (pl.col("group") == group)).height
            assert n == m[flag].sum(), (label, group)
    # the hierarchy: a child has one group per LA and year
    assert st.select("person_id", "year", "la_code").is_unique().all()


def test_extra_children_are_uasc_with_the_population_columns(england):
    _, pop, sc = england
    ex = sc.extra_children
    assert ex.schema == pop.children.schema
    assert ex["upn"].is_null().all()
    assert ex["person_id"].min() == pop.children.height
    assert (ex["sex"] == "M").mean() > 0.75


# --- internal consistency: CIN census -----------------------------------------------------------------------
def _cin(sc, name):
    return sc.tables[name]


def test_cin_episodes_do_not_overlap_and_only_the_latest_is_open(england):
    _, _, sc = england
    e = _cin(sc, "cin_episodes").sort("reporting_year", "la_code", "la_child_id", "referral_date")
    e = e.with_columns(
        pl.col("closure_date").shift(1).over("reporting_year", "la_code", "la_child_id").alias("prev"),
        pl.col("referral_nfa").shift(1).over("reporting_year", "la_code", "la_child_id").alias("pnfa"),
        (
            pl.col("episode_number") == pl.col("episode_number").max().over("reporting_year", "la_code", "la_child_id")
        ).alias("latest"),
    )
    has_prev = pl.col("pnfa").is_not_null()
    assert e.filter(has_prev & (pl.col("prev").is_null() | (pl.col("referral_date") < pl.col("prev")))).height == 0
    assert e.filter(pl.col("closure_date").is_null() & ~pl.col("latest")).height == 0
    # closure date and reason together, inside the year, not before the referral
    assert (e["closure_date"].is_null() == e["closure_reason"].is_null()).all()
    start = pl.col("reporting_year").str.slice(0, 4).cast(pl.Int32)
    closed = e.filter(pl.col("closure_date").is_not_null())
    assert (
        closed.filter(
            (pl.col("closure_date") < pl.date(start, 4, 1))
            | (pl.col("closure_date") > pl.date(start + 1, 3, 31))
            | (pl.col("closure_date") < pl.col("referral_date"))
        ).height
        == 0
    )
    # a closure reason mix, with moves between LAs (RC5) and cases closed after assessment (RC8/RC9)
    reasons = set(closed["closure_reason"].unique())
    assert {"RC1", "RC4", "RC5", "RC7", "RC8", "RC9"} <= reasons


def test_child_protection_plans_sit_inside_episodes_and_start_on_a_conference(england):
    _, _, sc = england
    key = ["reporting_year", "la_code", "la_child_id", "episode_number"]
    e = _cin(sc, "cin_episodes")
    c = _cin(sc, "child_protection_plans").join(e, on=key)
    assert c.filter(pl.col("start_date") < pl.col("referral_date")).height == 0
    assert (
        c.filter(
            pl.col("closure_date").is_not_null()
            & (pl.col("end_date").is_null() | (pl.col("end_date") > pl.col("closure_date")))
        ).height
        == 0
    )
    assert not c["referral_nfa"].any() and not c["closure_reason"].is_in(["RC8", "RC9"]).any()
    # no overlapping plans of a child in a return
    cc = c.sort("reporting_year", "la_code", "la_child_id", "start_date").with_columns(
        pl.col("end_date").shift(1).over("reporting_year", "la_code", "la_child_id").alias("prev_end"),
        pl.col("start_date").shift(1).over("reporting_year", "la_code", "la_child_id").alias("prev_start"),
    )
    assert (
        cc.filter(
            pl.col("prev_start").is_not_null()
            & (pl.col("prev_end").is_null() | (pl.col("start_date") < pl.col("prev_end")))
        ).height
        == 0
    )
    # plans starting in the year start on an ICPC date (section 47 or, after a transfer in, the episode's)
    start = pl.col("reporting_year").str.slice(0, 4).cast(pl.Int32)
    new = c.filter(pl.col("start_date") >= pl.date(start, 4, 1))
    s47 = _cin(sc, "section47").select(*key, pl.col("icpc_date").alias("icpc"))
    by_s47 = (
        new.join(s47, on=key, how="left")
        .filter(pl.col("icpc") == pl.col("start_date"))
        .select(*key, "start_date")
        .unique()
    )
    by_ep = new.filter(pl.col("date_of_initial_cpc") == pl.col("start_date")).select(*key, "start_date")
    assert pl.concat([by_s47, by_ep]).unique().height == new.select(*key, "start_date").unique().height
    assert new.filter(pl.col("start_date").dt.weekday() > 5).height == 0
    # reviews after the start, categories from the code list
    assert c["initial_category"].is_in(["NEG", "PHY", "SAB", "EMO", "MUL"]).all()
    r = c.explode("review_dates").filter(pl.col("review_dates").is_not_null())
    assert r.filter(pl.col("review_dates") <= pl.col("start_date")).height == 0


def test_cin_plans_never_run_with_a_child_protection_plan(england):
    _, _, sc = england
    k = ["reporting_year", "la_code", "la_child_id"]
    p = _cin(sc, "cin_plans").select(*k, pl.col("start_date").alias("ps"), pl.col("end_date").alias("pe"))
    c = _cin(sc, "child_protection_plans").select(*k, pl.col("start_date").alias("cs"), pl.col("end_date").alias("ce"))
    j = p.join(c, on=k)
    far = dt.date(2100, 1, 1)
    overlap = j.filter((pl.col("ps") < pl.col("ce").fill_null(far)) & (pl.col("cs") < pl.col("pe").fill_null(far)))
    assert overlap.height == 0
    assert p.height > 0


def test_assessments_and_section47_follow_the_referral(england):
    _, _, sc = england
    key = ["reporting_year", "la_code", "la_child_id", "episode_number"]
    e = _cin(sc, "cin_episodes")
    a = _cin(sc, "cin_assessments").join(e, on=key)
    assert a.filter(pl.col("start_date") < pl.col("referral_date")).height == 0
    assert a.filter(pl.col("authorisation_date") < pl.col("start_date")).height == 0
    # a closed episode has only completed assessments; factors only on completed ones, "21" alone
    assert a.filter(pl.col("closure_date").is_not_null() & pl.col("authorisation_date").is_null()).height == 0
    assert a.filter(pl.col("authorisation_date").is_null() & pl.col("factors").is_not_null()).height == 0
    f = a.filter(pl.col("factors").is_not_null())
    assert f.filter(pl.col("factors").list.contains("21") & (pl.col("factors").list.len() > 1)).height == 0
    s = _cin(sc, "section47").join(e, on=key)
    assert s.filter(pl.col("start_date") < pl.col("referral_date")).height == 0
    assert s.filter(pl.col("icpc_date").is_not_null() & (pl.col("icpc_date") < pl.col("start_date"))).height == 0
    assert s.filter(pl.col("icpc_not_required") & pl.col("icpc_date").is_not_null()).height == 0
    # NFA referrals carry no activity
    nfa = e.filter(pl.col("referral_nfa")).select(key)
    for name in ("cin_assessments", "section47", "child_protection_plans", "cin_plans"):
        assert _cin(sc, name).join(nfa, on=key).height == 0, name


# --- internal consistency: SSDA903 and CIN together ---------------------------------------------------------
def test_903_episodes_chain_with_x1_and_never_overlap(england):
    _, _, sc = england
    k = ["reporting_year", "la_code", "child"]
    e = (
        sc.tables["Episodes"]
        .sort(*k, "decom")
        .with_columns(
            pl.col("dec").shift(1).over(k).alias("prev_dec"),
            pl.col("rec").shift(1).over(k).alias("prev_rec"),
            pl.col("decom").shift(-1).over(k).alias("next_decom"),
            pl.col("rne").shift(-1).over(k).alias("next_rne"),
        )
    )
    assert e.filter(pl.col("prev_dec").is_not_null() & (pl.col("decom") < pl.col("prev_dec"))).height == 0
    x1 = e.filter(pl.col("rec") == "X1")
    assert (x1["next_decom"] == x1["dec"]).all() and x1["next_rne"].is_in(["P", "L", "T", "B", "U"]).all()
    new = e.filter(pl.col("prev_rec").is_not_null() & (pl.col("prev_rec") != "X1"))
    assert (new["rne"] == "S").all() and (new["decom"] > new["prev_dec"]).all()
    assert e.filter(pl.col("dec").is_not_null() & (pl.col("dec") <= pl.col("decom"))).height == 0
    assert (e["dec"].is_null() == e["rec"].is_null()).all()
    # reasons for a placement change on the episode that ends with X1 before a placement change
    rpc = e.filter(pl.col("reason_place_change").is_not_null())
    assert (rpc["rec"] == "X1").all() and rpc["next_rne"].is_in(["P", "T", "B", "U"]).all()


def test_short_breaks_respect_the_17_and_75_day_limits_and_never_mix_v3_v4(england):
    _, _, sc = england
    e = sc.tables["Episodes"]
    k = ["reporting_year", "la_code", "child"]
    v3 = e.filter(pl.col("ls") == "V3")
    assert v3.height > 0
    assert v3.filter(pl.col("dec").is_not_null() & ((pl.col("dec") - pl.col("decom")).dt.total_days() > 17)).height == 0
    start = pl.col("reporting_year").str.slice(0, 4).cast(pl.Int32)
    dur = (
        pl.min_horizontal(pl.col("dec").fill_null(pl.date(start + 1, 3, 31)), pl.date(start + 1, 3, 31))
        - pl.max_horizontal("decom", pl.date(start, 4, 1))
    ).dt.total_days()
    assert v3.group_by(k).agg(dur.sum().alias("d"))["d"].max() <= 75
    both = e.filter(pl.col("ls").is_in(["V3", "V4"])).group_by(k).agg(pl.col("ls").n_unique().alias("n"))
    assert both["n"].max() == 1
    # short breaks carry no postcodes or URN
    assert (
        e.filter(
            pl.col("ls").is_in(["V3", "V4"])
            & (pl.col("home_post").is_not_null() | pl.col("pl_post").is_not_null() | pl.col("urn").is_not_null())
        ).height
        == 0
    )


def test_every_looked_after_child_is_a_child_in_need_of_the_same_la(england):
    """Each 903 episode in a year lies inside a CIN episode of the same child, LA and year."""
    _, _, sc = england
    e = (
        sc.tables["Episodes"]
        .select("reporting_year", "la_code", pl.col("child").alias("la_child_id"), "decom", "dec")
        .with_row_index("i")
    )
    c = (
        sc.tables["cin_episodes"]
        .filter(~pl.col("referral_nfa"))
        .select("reporting_year", "la_code", "la_child_id", "referral_date", "closure_date")
    )
    j = e.join(c, on=["reporting_year", "la_code", "la_child_id"]).filter(
        (pl.col("referral_date") <= pl.col("decom"))
        & (pl.col("closure_date").is_null() | (pl.col("dec").is_not_null() & (pl.col("closure_date") >= pl.col("dec"))))
    )
    assert j["i"].n_unique() == e.height


def test_postcodes_urns_and_providers_follow_the_rules(england):
    _, _, sc = england
    from importlib import resources

    with resources.files("cin_outcomes.reference").joinpath("postcodes_by_la.csv").open("rb") as f:
        real = set(pl.read_csv(f)["postcode"])
    e = sc.tables["Episodes"]
    for col in ("home_post", "pl_post"):
        assert set(e[col].drop_nulls().unique()) <= real
    non_respite = e.filter(~pl.col("ls").is_in(["V3", "V4"]))
    assert non_respite["pl_post"].is_not_null().all()
    same = non_respite.filter(pl.col("home_post") == pl.col("pl_post"))
    assert (same["place"] == "P1").all()
    uasc = sc.tables["UASC"].select("reporting_year", "la_code", "child")
    assert e.join(uasc, on=["reporting_year", "la_code", "child"])["home_post"].is_null().all()
    assert e.filter((pl.col("place") == "P1") != (pl.col("place_provider") == "PR0")).height == 0
    needs_urn = ~pl.col("place").is_in(["P1", "P3", "R1", "R2", "R5", "T0", "T1", "T2", "T3", "T4", "Z1"])
    assert non_respite.filter(needs_urn & pl.col("urn").is_null()).height == 0
    assert e.filter(pl.col("urn").is_not_null())["urn"].str.contains(r"^(SC\d{6}|XXXXXXX)$").all()
    # the child's category of need stays the same within a period and is N1-N8
    assert e["cin"].is_in([f"N{i}" for i in range(1, 9)]).all()


def test_oc2_is_the_continuously_looked_after_and_side_tables_belong_to_header_children(england):
    _, _, sc = england
    k = ["reporting_year", "la_code", "child"]
    header = sc.tables["Header"].select(*k, "dob")
    for name in (
        "Episodes",
        "UASC",
        "Reviews",
        "OC2",
        "OC3",
        "AD1",
        "PlacedAdoption",
        "PrevPerm",
        "Missing",
        "SWEpisodes",
    ):
        df = sc.tables[name]
        assert df.join(header, on=k, how="anti").height == 0, name
        if "dob" in df.columns:
            assert df.join(header, on=k).filter(pl.col("dob") != pl.col("dob_right")).height == 0, name
    for name in ("Header", "OC2", "OC3", "AD1", "PrevPerm", "UASC"):
        assert sc.tables[name].select(k).is_unique().all(), name
    # OC2 children are those the rules find looked after for 12 months (and a few whose period ends on 31 March)
    for label in ("2021-22", "2024-25"):
        y = ReportingYear.parse(label)
        m = (
            per_year_membership(y, sc.tables)
            .filter(pl.col("cla_12m_at31"))
            .select("la_code", pl.col("la_child_id").alias("child"))
        )
        oc2 = sc.tables["OC2"].filter(pl.col("reporting_year") == label).select("la_code", "child")
        assert m.join(oc2, on=["la_code", "child"], how="anti").height == 0
    # adopted children (E11/E12 in the year) have AD1 rows and nobody else does
    ad = sc.tables["Episodes"].filter(pl.col("rec").is_in(["E11", "E12"])).select(k).unique()
    assert ad.sort(k).equals(sc.tables["AD1"].select(k).sort(k))


# --- determinism and faults ---------------------------------------------------------------------------------
def test_same_seed_and_scale_give_identical_tables(few):
    _, _, sc = few
    cfg2 = SyntheticConfig(scale=0.004, seed=5, only_las=FEW_LAS)
    sc2 = build_social_care(cfg2, build_population(cfg2))
    for name in sc.tables:
        assert sc.tables[name].equals(sc2.tables[name]), name
    assert sc.status.equals(sc2.status) and sc.identities.equals(sc2.identities)
    # only the LAs asked for
    assert set(sc.tables["cin_children"]["la_code"].unique()) <= set(FEW_LAS)


def test_faults_appear_only_when_asked(few):
    from cin_outcomes.synthetic.social_care.faults import FAULTS

    _, _, clean = few
    _, _, faulty = small_england(0.004, 5, FEW_LAS, 0.05)
    assert len(FAULTS) == 8

    def count(sc):
        e = sc.tables["cin_episodes"]
        ch = sc.tables["cin_children"]
        ep = sc.tables["Episodes"]
        start = pl.col("reporting_year").str.slice(0, 4).cast(pl.Int32)
        return {
            "no_reason": e.filter(pl.col("closure_date").is_not_null() & pl.col("closure_reason").is_null()).height,
            "after_year": e.filter(pl.col("closure_date") > pl.date(start + 1, 3, 31)).height,
            "bad_upn": sum(not is_valid_upn(u) for u in ch["upn"].drop_nulls()),
            "dup_ids": ch.height - ch.select("reporting_year", "la_code", "la_child_id").unique().height,
            "bad_place": ep.filter(pl.col("place") == "ZZ").height,
        }

    assert all(v == 0 for v in count(clean).values())
    assert all(v > 0 for v in count(faulty).values()), count(faulty)
