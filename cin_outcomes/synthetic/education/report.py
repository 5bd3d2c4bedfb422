"""How close the generated pupil records are to the published outcome statistics.

Computed from the NPD modules as written (not from the model's internals): pupils are matched to the population
by UPN and to their social care group at 31 March by person_id (highest group when in two LAs), and national rates
are computed per year, group and measure as the publication defines them (KS2 and KS4 pupils at the end of the key
stage, absence over the six half terms of pupils aged 5-15, exclusions over the pupils on the spring census with
their group at 31 March of the following reporting year, as the publication's exclusions tables run a year
behind, ...).
"""

from __future__ import annotations

import polars as pl

from cin_outcomes.synthetic.education.targets import ALL, GROUP_NAMES, group_codes, outcome_targets
from cin_outcomes.synthetic.npd_columns import ELGS_2012, ELGS_2021, PHASES, SEN_TYPES, UPN_COLUMN

#: Tolerance of the calibration check per unit (issue 2: rates within 3 percentage points) and for averages.
RATE_TOLERANCE = 3.0
AVERAGE_TOLERANCE = {"ks4_att8": 3.0, "ks4_ebacc_aps": 0.3, "eyfsp_avg_elg": 1.0, "ks4_p8": 0.3,
                     "ks2_read_prog": 1.0, "ks2_writ_prog": 1.0, "ks2_mat_prog": 1.0}
REPORT_SCHEMA = {"year": pl.Utf8, "measure": pl.Utf8, "group": pl.Utf8, "generated": pl.Float64,
                 "published": pl.Float64, "target": pl.Float64, "basis": pl.Utf8, "difference": pl.Float64,
                 "unit": pl.Utf8, "within_tolerance": pl.Boolean}


def _pct(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).mean() * 100


def _measures(module: str, df: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.Expr]]:
    """(frame with one row per unit counted, aggregations) for a module (absence: one row per pupil)."""
    if module == "school_census":
        sen = pl.col("SENprovision") != "N"
        aggs = [_pct(pl.col("SENprovision") == "N").alias("sen_none"),
                _pct(pl.col("SENprovision") == "K").alias("sen_support"),
                _pct(pl.col("SENprovision") == "E").alias("sen_ehc"), _pct(pl.col("FSMeligible")).alias("fsm")]
        for name, phase in zip(("school_primary", "school_secondary", "school_special", "school_ap"), PHASES):
            aggs.append(_pct(pl.col("PhaseType") == phase).alias(name))
        for t in SEN_TYPES:
            aggs.append(_pct((pl.col("PrimarySENtype") == t).filter(sen)).alias(f"sen_type_{t}"))
        return df, aggs
    if module == "ks2":
        aggs = [_pct(pl.col(f"KS2_{c}")).alias(f"ks2_{m}_exp") for c, m in
                (("READEXP", "read"), ("WRITTAEXP", "writ"), ("MATEXP", "mat"), ("GPSEXP", "gps"),
                 ("SCITAEXP", "sci"), ("RWMEXP", "rwm"))]
        aggs += [pl.col(f"KS2_{c}PROGSCORE").mean().alias(f"ks2_{m}_prog") for c, m in
                 (("READ", "read"), ("WRIT", "writ"), ("MAT", "mat"))]
        return df, aggs
    if module == "ks4":
        return df, [pl.col("KS4_ATT8").mean().alias("ks4_att8"), _pct(pl.col("KS4_L2BASICS_94")).alias("ks4_em94"),
                    _pct(pl.col("KS4_L2BASICS_95")).alias("ks4_em95"),
                    _pct(pl.col("KS4_EBACC_E_PTQ_EE")).alias("ks4_ebacc_entry"),
                    pl.col("KS4_EBACCAPS").mean().alias("ks4_ebacc_aps"), pl.col("KS4_P8SCORE").mean().alias("ks4_p8")]
    if module == "eyfsp":
        elgs = ELGS_2021 if df["FSP_COM_E01"].null_count() < df.height else ELGS_2012
        count = pl.sum_horizontal([(pl.col(c) >= 2).cast(pl.Int32) for c in elgs])
        return df, [_pct(pl.col("FSP_GLD")).alias("eyfsp_gld"), _pct(count == 17).alias("eyfsp_all_elg"),
                    count.mean().alias("eyfsp_avg_elg")]
    if module == "phonics":
        return df.filter(pl.col("PHON_NCYEAR") == "1"), [_pct(pl.col("PHON_OUTCOME") == "Wa").alias("phonics_y1")]
    if module == "ks1":
        return df, [_pct(pl.col(f"KS1_{c}EXP")).alias(f"ks1_{m}_exp") for c, m in
                    (("READ", "read"), ("WRIT", "writ"), ("MAT", "mat"), ("SCI", "sci"))]
    if module == "absence":
        if df["SessionsPossible"].null_count() == df.height:
            return df.clear(), []
        pupil = df.group_by("UPN").agg(pl.col("SessionsPossible").sum(), pl.col("AuthorisedAbsence").sum(),
                                             pl.col("UnauthorisedAbsence").sum(), pl.col("OverallAbsence").sum())
        return pupil, _absence_aggs()
    raise KeyError(module)


def _absence_aggs() -> list[pl.Expr]:
    rate = pl.col("OverallAbsence") / pl.col("SessionsPossible")
    poss = pl.col("SessionsPossible").sum()
    return [(pl.col("OverallAbsence").sum() / poss * 100).alias("abs_overall"),
            (pl.col("AuthorisedAbsence").sum() / poss * 100).alias("abs_auth"),
            (pl.col("UnauthorisedAbsence").sum() / poss * 100).alias("abs_unauth"),
            _pct(rate >= 0.1).alias("abs_pa10"), _pct(rate >= 0.5).alias("abs_severe50")]


def _by_group(df: pl.DataFrame, aggs: list[pl.Expr]) -> pl.DataFrame:
    if not aggs or df.height == 0:
        return pl.DataFrame()
    per = df.filter(pl.col("group_code") > 0).group_by("group_code").agg(aggs)
    allp = df.select(aggs).with_columns(pl.lit(0, dtype=pl.Int8).alias("group_code"))
    both = pl.concat([allp, per.with_columns(pl.col("group_code").cast(pl.Int8))], how="diagonal_relaxed")
    names = {0: ALL, **GROUP_NAMES}
    return both.with_columns(pl.col("group_code").replace_strict(names, return_dtype=pl.Utf8).alias("group")) \
        .drop("group_code").unpivot(index="group", variable_name="measure", value_name="generated")


def la_spread_report(education, status: pl.DataFrame, year: str = "2023-24") -> pl.DataFrame:
    """Between-LA spread of the generated rates against the published LA rows (domain.md §5.6): per group and
    measure, p10 / p50 / p90 over LAs with at least 10 pupils, by the LA of the social care record."""
    from cin_outcomes.synthetic.education.targets import la_spread
    from cin_outcomes.years import ReportingYear

    y = ReportingYear.parse(year)
    s = status.filter(pl.col("year") == y.start).with_columns(
        pl.col("group").replace_strict({v: k for k, v in GROUP_NAMES.items()}, return_dtype=pl.Int8).alias("code"))
    s = s.sort("code", descending=True).unique("person_id", keep="first").join(education.pupils, on="person_id")
    rows = []
    ks4 = education.modules[(y, "ks4")].join(s, left_on="KS4_UPN", right_on="UPN")
    ab = education.modules[(y, "absence")].group_by("UPN").agg(pl.col("OverallAbsence").sum(),
                                                               pl.col("SessionsPossible").sum()).join(s, on="UPN")
    ks2 = education.modules[(y, "ks2")].join(s, left_on="KS2_UPN", right_on="UPN") \
        if (y, "ks2") in education.modules else None
    specs = [("ks4_att8", ks4, pl.col("KS4_ATT8").mean(), 1.0),
             ("ks4_em94", ks4, pl.col("KS4_L2BASICS_94").cast(pl.Float64).mean(), 100.0),
             ("abs_overall", ab, pl.col("OverallAbsence").sum() / pl.col("SessionsPossible").sum(), 100.0),
             ("abs_pa10", ab, (pl.col("OverallAbsence") / pl.col("SessionsPossible") >= 0.1).cast(pl.Float64).mean(),
              100.0)]
    if ks2 is not None:
        specs.append(("ks2_rwm_exp", ks2, pl.col("KS2_RWMEXP").cast(pl.Float64).mean(), 100.0))
    pub = la_spread()
    for measure, df, expr, mult in specs:
        per = df.group_by("group", "la_code").agg(expr.alias("v"), pl.len().alias("n")).filter(pl.col("n") >= 10)
        for group, part in per.group_by("group", maintain_order=True):
            v = part["v"] * mult
            p = pub.filter(pl.col("measure") == measure, pl.col("group") == group[0])
            rows.append({"group": group[0], "measure": measure, "n_las": part.height,
                         "p10": v.quantile(0.1), "p50": v.quantile(0.5), "p90": v.quantile(0.9),
                         "published_p10": p["p10"][0] if p.height else None,
                         "published_p50": p["p50"][0] if p.height else None,
                         "published_p90": p["p90"][0] if p.height else None})
    return pl.DataFrame(rows).sort("measure", "group") if rows else pl.DataFrame()


def calibration_report(education, status: pl.DataFrame, targets: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per year, social care group and measure: the generated national value, the published value (national
    rows of the published files and the all-pupils comparison figures), the target the generator aimed at (with
    its basis), their difference and whether it is within tolerance (3 points for percentages)."""
    t = outcome_targets() if targets is None else targets
    codes = group_codes(status)
    out = []
    keys = sorted(education.modules.keys(), key=lambda k: (k[0].start, k[1]))
    years = sorted({y for y, _ in keys}, key=lambda y: y.start)
    for year in years:
        # UPN -> social care group of the pupils in a group this year (everyone else: 0)
        g = codes.filter(pl.col("year") == year.start).join(education.pupils, on="person_id", how="inner") \
            .select("UPN", "group_code")

        def with_group(df: pl.DataFrame, upn: str) -> pl.DataFrame:
            return df.join(g, left_on=upn, right_on="UPN", how="left").with_columns(
                pl.col("group_code").fill_null(0))

        for y, module in keys:
            if y != year or module in ("exclusions", "ap_census"):
                continue
            df = education.modules[(y, module)]
            if module == "absence":
                frame, aggs = _measures(module, df)
                if not aggs:
                    continue
                out.append(_by_group(with_group(frame, "UPN"), aggs).with_columns(
                    pl.lit(year.label).alias("year"), pl.lit("Total").alias("phase")))
                ph = with_group(df.group_by("UPN", "PhaseType").agg(
                    pl.col(c).sum() for c in ("SessionsPossible", "AuthorisedAbsence", "UnauthorisedAbsence",
                                              "OverallAbsence")), "UPN")
                for phase in PHASES:
                    r = _by_group(ph.filter(pl.col("PhaseType") == phase), aggs)
                    if r.height:
                        out.append(r.with_columns(pl.lit(year.label).alias("year"), pl.lit(phase).alias("phase")))
                continue
            frame, aggs = _measures(module, with_group(df, UPN_COLUMN[module]))
            r = _by_group(frame, aggs)
            if r.height:
                out.append(r.with_columns(pl.lit(year.label).alias("year"), pl.lit("Total").alias("phase")))
        if (year, "exclusions") in education.modules and (year, "school_census") in education.modules:
            # exclusions of an academic year go with the groups at 31 March of the next reporting year
            g_next = codes.filter(pl.col("year") == year.start + 1).join(education.pupils, on="person_id") \
                .select("UPN", "group_code")
            ex = education.modules[(year, "exclusions")]
            pupils = education.modules[(year, "school_census")].select("UPN").unique().join(
                g_next, on="UPN", how="left").with_columns(pl.col("group_code").fill_null(0)).with_columns(
                pl.col("UPN").is_in(ex.filter(pl.col("Category") == "PERM")["UPN"].implode()).alias("perm"),
                pl.col("UPN").is_in(ex.filter(pl.col("Category") == "SUSP")["UPN"].implode()).alias("susp"))
            r = _by_group(pupils, [_pct(pl.col("perm")).alias("excl_perm"), _pct(pl.col("susp")).alias("excl_susp")])
            out.append(r.with_columns(pl.lit(year.label).alias("year"), pl.lit("Total").alias("phase")))
    if not out:
        return pl.DataFrame(schema=REPORT_SCHEMA)
    gen = pl.concat(out, how="diagonal_relaxed")
    tt = t.select("year", "group", "measure", "phase", pl.col("value").cast(pl.Float64).alias("target"), "basis")
    rep = gen.join(tt, on=["year", "group", "measure", "phase"], how="left").with_columns(
        pl.when(pl.col("basis").is_in(["published", "comparison"])).then(pl.col("target")).alias("published"))
    unit_pts = pl.col("measure").is_in(list(AVERAGE_TOLERANCE))
    tol = pl.col("measure").replace_strict(AVERAGE_TOLERANCE, default=RATE_TOLERANCE, return_dtype=pl.Float64)
    rep = rep.with_columns(
        pl.col("generated").cast(pl.Float64).round(2),
        (pl.col("generated") - pl.col("published")).round(2).alias("difference"),
        pl.when(unit_pts).then(pl.lit("points")).otherwise(pl.lit("pp")).alias("unit"),
    ).with_columns((pl.col("difference").abs() <= tol).alias("within_tolerance"),
                   pl.when(pl.col("phase") == "Total").then(pl.col("measure"))
                   .otherwise(pl.format("{} ({})", pl.col("measure"), pl.col("phase"))).alias("measure"))
    return rep.select(list(REPORT_SCHEMA)).cast(REPORT_SCHEMA).sort("measure", "group", "year")
