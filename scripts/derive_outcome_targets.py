"""Derive the education model's calibration targets from DfE's published outcome files.

The synthetic pupil records (``cin_outcomes.synthetic.education``) are conditioned on each pupil's social care
group at 31 March so that national rates by group match the real publication. This script turns the real files
into small tables shipped inside the package; the product never reads ``../shared`` at run time.

    python scripts/derive_outcome_targets.py [--published DIR]

Outputs (``cin_outcomes/synthetic/params/``)
- ``outcome_targets.csv``: year (reporting year label), group, measure, phase, value, unit, basis, source.
  ``basis`` says where each value comes from:
    published     a national row of a published file (rounded as published);
    comparison    an "All pupils comparison" figure quoted in domain.md §5.4 (EES data-catalogue previews);
    held          the nearest year's value of the same series carried to a year the series does not cover
                  (e.g. KS4 before 2018/19, SEN and FSM after 2021/22, which the 2022 release files end at);
    derived       all-pupils values for years without a comparison figure: the nearest comparison year moved by the
                  mean change of the three published social care groups between the two years, on the logit scale
                  (for averages, the logit of the average over its maximum: Attainment 8 / 90, EBacc APS / 9);
                  checked against the 2018/19 KS2 subjects this reproduces the real figures to about 1 point;
    assumption    no published figure in the reference files: a stated assumption (see ASSUMPTIONS below). These
                  rows are never judged by the calibration report.
  Groups: ``All pupils``, ``CINO at 31 March``, ``CPPO at 31 March``, ``CLA 12 months at 31 March``,
  ``CLA less than 12 months at 31 March``. The last is not in the LA files: KS4 follows the 2018/19 ad-hoc
  release's gap to CLA 12 months (Attainment 8 13.3 vs 19.1; English and maths 5+ 5.1% vs 7.2%), held for every
  year; KS2, absence and exclusions are assumed equal to CPPO; SEN and school type equal to CLA 12 months.
  SEN, FSM, school type and exclusions come from the 2022 release (CINO on the earlier definition) and are held
  after their last year. Exclusions for 2021/22 on hold the groups' last pre-pandemic year (2018/19), since
  2019/20 and 2020/21 were depressed by school closures.
- ``la_spread.csv``: between-LA spread of the published LA rows (2023/24; §5.6 of domain.md): per file, group and
  measure the number of LAs, p10, p50, p90 and the between-LA standard deviation net of binomial sampling noise,
  also expressed on the probit scale (``sd_latent``) — the size of the LA random effects the generator draws.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path
from statistics import NormalDist, median

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PUBLISHED = ROOT.parent / "shared" / "reference" / "published"
PARAMS = ROOT / "cin_outcomes" / "synthetic" / "params"

YEARS = list(range(2013, 2025))  # reporting years by start: 2013-14 .. 2024-25 (academic 2013/14 .. 2024/25)
GROUPS = ["CINO at 31 March", "CPPO at 31 March", "CLA 12 months at 31 March"]
ALL = "All pupils"
CLA_LT12 = "CLA less than 12 months at 31 March"
COVID = (2019, 2020)
DOMAIN = "domain.md §5.4 (EES data-catalogue preview)"


def label(y: int) -> str:
    return f"{y}-{(y + 1) % 100:02d}"


def tp_to_year(tp: str) -> int:
    return int(str(tp)[:4])


# --- Published all-pupils comparison figures quoted in domain.md §5.4 (year by start) --------------------------
COMPARISON: dict[str, dict[int, float]] = {
    "ks2_read_exp": {2021: 75, 2022: 73, 2023: 74, 2024: 75},
    "ks2_writ_exp": {2021: 69, 2022: 71, 2023: 72, 2024: 72},
    "ks2_mat_exp": {2021: 71, 2023: 73, 2024: 74},
    "ks2_rwm_exp": {2018: 65, 2021: 59, 2023: 61, 2024: 62},
    "ks2_gps_exp": {2021: 72, 2024: 73},
    "ks2_sci_exp": {2021: 79},
    "ks4_att8": {2018: 46.7, 2022: 46.3},
    "ks4_em95": {2018: 43.2, 2022: 45.3},
    "ks4_em94": {2022: 65.1},
    "ks4_ebacc_entry": {2022: 39.3},
    "ks4_ebacc_aps": {2022: 4.05},
    "ks4_p8": {2022: -0.03},
    "ks1_read_exp": {2021: 67},
    "ks1_writ_exp": {2021: 58},
    "ks1_mat_exp": {2021: 68},
    "ks1_sci_exp": {2021: 77},
    "eyfsp_gld": {2023: 67.7},
    "eyfsp_all_elg": {2023: 66.2},
    "eyfsp_avg_elg": {2023: 14.1},
    "sen_none": {2023: 81.9},
    "sen_support": {2023: 13.4},
    "sen_ehc": {2023: 4.7},
    "excl_perm": {2021: 0.08},
    "excl_susp": {2021: 3.13},
}
#: EYFSP for children in need at any point in 2023/24 (LA file national row, §5.4): applied to every social care
#: group (the only group EYFSP figure in the reference files).
EYFSP_CIN = {"eyfsp_gld": 41.9, "eyfsp_all_elg": 40.6, "eyfsp_avg_elg": 11.0}

# --- Assumptions: no figure in the reference files ------------------------------------------------------------
# Approximate national values from DfE's own national statistics, written down from general knowledge and not
# verified against a stored source. They only set the level of pupils outside the social care groups where the
# reference files say nothing; the calibration report never judges them.
ASSUMPTION_SOURCE = "assumption: no figure in the reference files (ASSUMPTIONS in scripts/derive_outcome_targets.py)"
ASSUMPTIONS: dict[str, dict[int, float]] = {
    # Pupil absence in schools in England, 2018/19 (all state-funded schools, six half terms).
    "abs_overall": {2018: 4.7}, "abs_auth": {2018: 3.5}, "abs_unauth": {2018: 1.2},
    "abs_pa10": {2018: 10.9}, "abs_severe50": {2018: 0.8},
    # Schools, pupils and their characteristics: FSM eligibility on January census day.
    "fsm": {2013: 16.3, 2014: 15.2, 2015: 14.3, 2016: 14.0, 2017: 13.6, 2018: 15.4, 2019: 17.3, 2020: 20.8,
            2021: 22.5, 2022: 23.8, 2023: 24.6, 2024: 25.7},
    # Phonics screening check, year 1, met the expected standard.
    "phonics_y1": {2013: 74, 2014: 77, 2015: 81, 2016: 81, 2017: 82, 2018: 82, 2021: 75, 2022: 79, 2023: 80,
                   2024: 80},
}
#: Primary type of need of all pupils with SEN (share of SEN pupils, %, SEN in England 2024) — assumption.
ALL_PUPIL_SEN_TYPES = {"SLCN": 24.5, "SEMH": 19.5, "ASD": 14.5, "MLD": 13.0, "SPLD": 11.0, "OTH": 4.0,
                       "NSA": 4.5, "PD": 2.6, "SLD": 2.3, "HI": 1.6, "VI": 0.8, "PMLD": 0.7, "MSI": 0.3}
SEN_TYPES = ["ASD", "HI", "MLD", "MSI", "NSA", "OTH", "PD", "PMLD", "SEMH", "SLCN", "SLD", "SPLD", "VI"]
#: Absence of all pupils by phase relative to all phases (logit offsets) — assumption (state-funded primary ~5%,
#: secondary ~8%, special ~10%, AP ~35% overall absence before the pandemic).
ALL_PUPIL_ABSENCE_PHASE_LOGIT = {"State-funded primary": -0.25, "State-funded secondary": 0.35, "Special": 0.9,
                                 "State-funded alternative provision school": 2.4}
#: 2018/19 ad-hoc release: KS4 of CLA less than 12 months vs CLA 12 months (domain.md §5.4).
CLA_LT12_KS4 = {"ks4_att8": (13.3, 19.1), "ks4_em95": (5.1, 7.2)}

UNITS = {"ks4_att8": "points", "ks4_ebacc_aps": "points", "ks4_p8": "points", "eyfsp_avg_elg": "points",
         "ks2_read_prog": "points", "ks2_writ_prog": "points", "ks2_mat_prog": "points"}
MAXIMA = {"ks4_att8": 90.0, "ks4_ebacc_aps": 9.0, "eyfsp_avg_elg": 17.0}


def _num(v: str | None) -> float | None:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _to_unit(measure: str, v: float) -> float:
    return v / MAXIMA.get(measure, 100.0)


def _from_unit(measure: str, u: float) -> float:
    return u * MAXIMA.get(measure, 100.0)


class Targets:
    """Collects rows: (year, group, measure, phase) -> (value, basis, source)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str, str, str], tuple[float, str, str]] = {}

    def put(self, y: int, group: str, measure: str, value: float | None, basis: str, source: str,
            phase: str = "Total") -> None:
        if value is None:
            return
        self.rows[(y, group, measure, phase)] = (float(value), basis, source)

    def get(self, y: int, group: str, measure: str, phase: str = "Total") -> float | None:
        r = self.rows.get((y, group, measure, phase))
        return None if r is None else r[0]

    def basis(self, y: int, group: str, measure: str, phase: str = "Total") -> str | None:
        r = self.rows.get((y, group, measure, phase))
        return None if r is None else r[1]

    def hold(self, group: str, measure: str, years: list[int], phase: str = "Total") -> None:
        """Carry the nearest published year's value to the listed years that have none."""
        have = sorted(y for (y, g, m, p) in self.rows if g == group and m == measure and p == phase
                      and self.rows[(y, g, m, p)][1] in ("published", "comparison"))
        if not have:
            return
        for y in years:
            if (y, group, measure, phase) in self.rows:
                continue
            near = min(have, key=lambda h: (abs(h - y), -h))
            self.put(y, group, measure, self.get(near, group, measure, phase), "held",
                     f"held from {label(near)}", phase)

    def measures(self, group: str) -> set[str]:
        return {m for (y, g, m, p) in self.rows if g == group}


def national_rows(path: Path) -> list[dict[str, str]]:
    return [r for r in _read(path) if r["geographic_level"] == "National"]


def derive(pub: Path) -> Targets:
    t = Targets()
    src = {f: f"{f}.csv national row" for f in ("ks2_la", "ks4_la", "absence_la", "sen_la", "fsm_la",
                                                 "school_type_la", "permanent_exclusions_and_suspensions_la")}
    # KS2 (2025 release): % meeting the expected standard; progress where produced.
    ks2 = {"read": "ks2_read_exp", "writta": "ks2_writ_exp", "mat": "ks2_mat_exp", "rwm": "ks2_rwm_exp",
           "gps": "ks2_gps_exp", "scita": "ks2_sci_exp"}
    for r in national_rows(pub / "ks2_la.csv"):
        y, g = tp_to_year(r["time_period"]), r["social_care_group"]
        for s, m in ks2.items():
            t.put(y, g, m, _num(r[f"pt_{s}_met_expected_standard"]), "published", src["ks2_la"])
        for s, m in (("read", "ks2_read_prog"), ("writta", "ks2_writ_prog"), ("mat", "ks2_mat_prog")):
            t.put(y, g, m, _num(r[f"avg_{s}_progress_score"]), "published", src["ks2_la"])
    # KS4 (2025 release).
    ks4 = {"avg_att8": "ks4_att8", "pt_l2basics_95": "ks4_em95", "pt_l2basics_94": "ks4_em94",
           "pt_ebacc_e_ptq_ee": "ks4_ebacc_entry", "avg_ebaccaps": "ks4_ebacc_aps", "avg_p8score": "ks4_p8"}
    for r in national_rows(pub / "ks4_la.csv"):
        y, g = tp_to_year(r["time_period"]), r["social_care_group"]
        for c, m in ks4.items():
            t.put(y, g, m, _num(r[c]), "published", src["ks4_la"])
    # Absence, six half terms, by phase (2025 release).
    for r in national_rows(pub / "absence_la.csv"):
        y, g, ph = tp_to_year(r["time_period"]), r["social_care_group"], r["phase_type_grouping"]
        for c, m in (("pt_overall", "abs_overall"), ("pt_sess_authorised", "abs_auth"),
                     ("pt_sess_unauthorised", "abs_unauth"), ("pt_pupils_pa_10_exact", "abs_pa10"),
                     ("pt_pupils_pa_50_exact", "abs_severe50")):
            t.put(y, g, m, _num(r[c]), "published", src["absence_la"], phase=ph)
    # Exclusions (2022 release).
    for r in national_rows(pub / "permanent_exclusions_and_suspensions_la.csv"):
        y, g = tp_to_year(r["time_period"]), r["social_care_group"]
        t.put(y, g, "excl_perm", _num(r["pt_perm_excl"]), "published", src["permanent_exclusions_and_suspensions_la"])
        t.put(y, g, "excl_susp", _num(r["pt_one_plus_sus"]), "published",
              src["permanent_exclusions_and_suspensions_la"])
    # SEN (2022 release): provision as % of pupils; primary need as % of pupils with SEN.
    for r in national_rows(pub / "sen_la.csv"):
        y, g = tp_to_year(r["time_period"]), r["social_care_group"]
        for c, m in (("pt_no_identified_SEN", "sen_none"), ("pt_SEN_support", "sen_support"),
                     ("pt_statement_or_EHC_plan", "sen_ehc")):
            t.put(y, g, m, _num(r[c]), "published", src["sen_la"])
        for ty in SEN_TYPES:
            t.put(y, g, f"sen_type_{ty}", _num(r[f"pt_{ty}"]), "published", src["sen_la"])
    # FSM (2022 release; CINO and CPPO only).
    for r in national_rows(pub / "fsm_la.csv"):
        y, g = tp_to_year(r["time_period"]), r["social_care_group"]
        t.put(y, g, "fsm", _num(r["pt_FSM_eligible"]), "published", src["fsm_la"])
    # School type (2022 release): shares of pupils.
    for r in national_rows(pub / "school_type_la.csv"):
        y, g = tp_to_year(r["time_period"]), r["social_care_group"]
        n = _num(r["t_pupils"])
        for c, m in (("t_primary", "school_primary"), ("t_secondary", "school_secondary"),
                     ("t_special", "school_special"), ("t_pru", "school_ap")):
            v = _num(r[c])
            if n and v is not None:
                t.put(y, g, m, round(100 * v / n, 2), "published", src["school_type_la"])

    # Keep the reporting years the generator covers only.
    t.rows = {k: v for k, v in t.rows.items() if k[0] in YEARS}

    # Hold group series outside the years they cover (never into years not assessed).
    phases = sorted({k[3] for k in t.rows})
    for g in GROUPS:
        for m in sorted(t.measures(g)):
            if m.endswith("_prog") or m == "ks4_p8":
                continue  # progress measures are reported, not calibrated: no holding
            if m.startswith("excl_"):
                # pre-2015/16: hold 2015/16; 2021/22 on: hold the last pre-pandemic year 2018/19
                first = min(y for (y, gg, mm, p) in t.rows if gg == g and mm == m)
                for y in YEARS:
                    if y < first:
                        t.put(y, g, m, t.get(first, g, m), "held", f"held from {label(first)}")
                    elif y >= 2021:
                        t.put(y, g, m, t.get(2018, g, m), "held", "held from 2018-19 (last pre-pandemic year)")
                continue
            skip = COVID if m.startswith("ks2_") else (2019,) if m.startswith("abs_") else ()
            years = [y for y in YEARS if y not in skip]
            for ph in phases:
                if any(k[1] == g and k[2] == m and k[3] == ph for k in t.rows):
                    t.hold(g, m, years, phase=ph)

    # All pupils: comparison figures, then derived years.
    for m, vals in COMPARISON.items():
        for y, v in vals.items():
            t.put(y, ALL, m, v, "comparison", DOMAIN)
    for m, vals in ASSUMPTIONS.items():
        for y, v in vals.items():
            t.put(y, ALL, m, v, "assumption", ASSUMPTION_SOURCE)
    for ty, v in ALL_PUPIL_SEN_TYPES.items():
        for y in YEARS:
            t.put(y, ALL, f"sen_type_{ty}", v, "assumption", ASSUMPTION_SOURCE)
    for m in sorted(set(COMPARISON) - {"ks4_p8"} | {"abs_overall", "abs_auth", "abs_unauth", "abs_pa10", "abs_severe50"}):
        _derive_all_pupils(t, m)
    # All-pupils absence by phase: the derived total moved by fixed logit offsets (assumption).
    for y in YEARS:
        for ph, off in ALL_PUPIL_ABSENCE_PHASE_LOGIT.items():
            for m in ("abs_overall", "abs_pa10", "abs_severe50", "abs_auth", "abs_unauth"):
                v = t.get(y, ALL, m)
                if v is not None:
                    t.put(y, ALL, m, round(100 * _expit(_logit(v / 100) + off), 2), "assumption",
                          ASSUMPTION_SOURCE + "; phase offset on the logit scale", phase=ph)
    # CLA less than 12 months.
    _cla_less_than_12_months(t)
    # EYFSP for the social care groups: CIN at any point 2023/24, held for every assessed year.
    for g in GROUPS + [CLA_LT12]:
        for m, v in EYFSP_CIN.items():
            for y in YEARS:
                if y not in COVID:
                    t.put(y, g, m, v, "assumption",
                          "assumption: the LA EYFSP file's CIN at any point 2023/24 figure (domain.md §5.4), "
                          "taken for each group and held for every year")
    # Not assessed: drop KS2/KS1/EYFSP/phonics targets in 2019-20 and 2020-21; KS1 after 2022-23; absence 2019-20.
    drop = []
    for (y, g, m, p) in t.rows:
        if y in COVID and m.split("_")[0] in ("ks2", "ks1", "eyfsp", "phonics"):
            drop.append((y, g, m, p))
        if y >= 2023 and m.startswith("ks1_"):
            drop.append((y, g, m, p))
        if y == 2019 and m.startswith("abs_"):
            drop.append((y, g, m, p))
        if m == "ks4_p8" and (y in COVID or y == 2024):
            drop.append((y, g, m, p))
    for k in drop:
        t.rows.pop(k, None)
    return t


def _derive_all_pupils(t: Targets, m: str) -> None:
    """All-pupils value for every year from the nearest comparison/assumption anchor and the groups' trend."""
    anchors = sorted(y for (y, g, mm, p) in t.rows if g == ALL and mm == m and p == "Total")
    if not anchors:
        return
    if m.startswith("ks1_") or m.startswith("eyfsp_") or m.startswith("sen_type"):
        for y in YEARS:
            if t.get(y, ALL, m) is None:
                near = min(anchors, key=lambda a: (abs(a - y), -a))
                t.put(y, ALL, m, t.get(near, ALL, m), "held", f"held from {label(near)}")
        return

    def group_shift(a: int, y: int) -> float:
        diffs = []
        for g in GROUPS:
            va, vy = t.get(a, g, m), t.get(y, g, m)
            if va is not None and vy is not None and t.basis(a, g, m) == "published" \
                    and t.basis(y, g, m) == "published":
                diffs.append(_logit(_to_unit(m, vy)) - _logit(_to_unit(m, va)))
        return sum(diffs) / len(diffs) if diffs else 0.0

    for y in YEARS:
        if t.get(y, ALL, m) is not None:
            continue
        if m.startswith("ks2_") and y in COVID:
            continue
        d = min(abs(a - y) for a in anchors)
        near = [a for a in anchors if abs(a - y) == d]
        if m.startswith("ks2_") and y < 2018:
            near = [min(anchors)]
        vals = [_from_unit(m, _expit(_logit(_to_unit(m, t.get(a, ALL, m))) + group_shift(a, y))) for a in near]
        v = sum(vals) / len(vals)
        basis_anchor = " and ".join(label(a) for a in near)
        kind = "assumption" if all(t.basis(a, ALL, m) == "assumption" for a in near) else "derived"
        t.put(y, ALL, m, round(v, 2), kind,
              f"{'assumed' if kind == 'assumption' else 'comparison'} value of {basis_anchor} moved by the "
              f"published groups' mean logit change")


def _cla_less_than_12_months(t: Targets) -> None:
    cla, cpp = "CLA 12 months at 31 March", "CPPO at 31 March"
    # KS4: 2018/19 gap on the logit scale, held for every year; other KS4 measures take the mean gap.
    gaps = {m: _logit(_to_unit(m, lt)) - _logit(_to_unit(m, ge)) for m, (lt, ge) in CLA_LT12_KS4.items()}
    mean_gap = sum(gaps.values()) / len(gaps)
    keys = list(t.rows)
    for (y, g, m, p) in keys:
        if g == cla and m.startswith("ks4_") and m != "ks4_p8" and p == "Total":
            v = t.get(y, g, m)
            gap = gaps.get(m, mean_gap)
            t.put(y, CLA_LT12, m, round(_from_unit(m, _expit(_logit(_to_unit(m, v)) + gap)), 2), "derived",
                  "CLA 12 months moved by the 2018/19 ad-hoc release gap between CLA <12 and 12 months "
                  "(domain.md §5.4)")
        if g == cpp and (m.startswith(("ks2_", "abs_", "excl_"))) and not m.endswith("_prog"):
            t.put(y, CLA_LT12, m, t.get(y, g, m, p), "assumption", "assumption: equal to CPPO at 31 March", p)
        if g == cla and m.startswith(("sen_", "school_")):
            t.put(y, CLA_LT12, m, t.get(y, g, m, p), "assumption", "assumption: equal to CLA 12 months", p)


# --- LA spread (§5.6) -------------------------------------------------------------------------------------------
SPREAD = [  # (file, group, measure label, numerator column, denominator column, rate column)
    ("ks2_la", "CINO at 31 March", "ks2_rwm_exp", "t_rwm_met_expected_standard", "t_rwm_eligible_pupils",
     "pt_rwm_met_expected_standard"),
    ("ks2_la", "CLA 12 months at 31 March", "ks2_rwm_exp", "t_rwm_met_expected_standard",
     "t_rwm_eligible_pupils", "pt_rwm_met_expected_standard"),
    ("ks4_la", "CINO at 31 March", "ks4_em94", "t_l2basics_94", "t_pupils", "pt_l2basics_94"),
    ("ks4_la", "CLA 12 months at 31 March", "ks4_em94", "t_l2basics_94", "t_pupils", "pt_l2basics_94"),
    ("absence_la", "CINO at 31 March", "abs_pa10", "t_pupils_pa_10_exact", "t_pupils", "pt_pupils_pa_10_exact"),
    ("absence_la", "CPPO at 31 March", "abs_pa10", "t_pupils_pa_10_exact", "t_pupils", "pt_pupils_pa_10_exact"),
    ("absence_la", "CLA 12 months at 31 March", "abs_pa10", "t_pupils_pa_10_exact", "t_pupils",
     "pt_pupils_pa_10_exact"),
]
SPREAD_AVG = [  # averages: spread only (no sampling correction)
    ("ks4_la", "CINO at 31 March", "ks4_att8", "avg_att8", "t_pupils"),
    ("ks4_la", "CPPO at 31 March", "ks4_att8", "avg_att8", "t_pupils"),
    ("ks4_la", "CLA 12 months at 31 March", "ks4_att8", "avg_att8", "t_pupils"),
    ("absence_la", "CINO at 31 March", "abs_overall", "pt_overall", "t_pupils"),
    ("absence_la", "CPPO at 31 March", "abs_overall", "pt_overall", "t_pupils"),
    ("absence_la", "CLA 12 months at 31 March", "abs_overall", "pt_overall", "t_pupils"),
]


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def la_spread(pub: Path, year: int = 2023) -> list[dict[str, object]]:
    out = []
    cache: dict[str, list[dict[str, str]]] = {}
    for f, g, m, num, den, rate in SPREAD:
        rows = cache.setdefault(f, _read(pub / f"{f}.csv"))
        sel = [r for r in rows if r["geographic_level"] == "Local authority" and tp_to_year(r["time_period"]) == year
               and r["social_care_group"] == g and r.get("phase_type_grouping", "Total") == "Total"]
        pts = [(_num(r[num]), _num(r[den])) for r in sel]
        pts = [(a, n) for a, n in pts if a is not None and n and n >= 10]
        rates = [a / n for a, n in pts]
        pbar = sum(a for a, _ in pts) / sum(n for _, n in pts)
        mean = sum(rates) / len(rates)
        var_obs = sum((r - mean) ** 2 for r in rates) / (len(rates) - 1)
        var_samp = sum(pbar * (1 - pbar) / n for _, n in pts) / len(pts)
        sd_between = math.sqrt(max(var_obs - var_samp, 0.0))
        dens = math.exp(-NormalDist().inv_cdf(pbar) ** 2 / 2) / math.sqrt(2 * math.pi)
        out.append({"year": label(year), "file": f, "group": g, "measure": m, "n_las": len(rates),
                    "p10": round(100 * _quantile(rates, 0.1), 1), "p50": round(100 * median(rates), 1),
                    "p90": round(100 * _quantile(rates, 0.9), 1),
                    "sd_between": round(100 * sd_between, 2), "sd_latent": round(sd_between / dens, 3),
                    "source": f"{f}.csv LA rows with at least 10 pupils; binomial sampling variance removed"})
    for f, g, m, col, den in SPREAD_AVG:
        rows = cache.setdefault(f, _read(pub / f"{f}.csv"))
        sel = [r for r in rows if r["geographic_level"] == "Local authority" and tp_to_year(r["time_period"]) == year
               and r["social_care_group"] == g and r.get("phase_type_grouping", "Total") == "Total"]
        vals = [_num(r[col]) for r in sel if (_num(r[den]) or 0) >= 10 and _num(r[col]) is not None]
        out.append({"year": label(year), "file": f, "group": g, "measure": m, "n_las": len(vals),
                    "p10": round(_quantile(vals, 0.1), 1), "p50": round(median(vals), 1),
                    "p90": round(_quantile(vals, 0.9), 1), "sd_between": None, "sd_latent": None,
                    "source": f"{f}.csv LA rows with at least 10 pupils (observed spread incl. sampling noise)"})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--published", type=Path, default=DEFAULT_PUBLISHED)
    ap.add_argument("--out", type=Path, default=PARAMS, help="folder to write the tables to (default: the package)")
    args = ap.parse_args(argv)
    t = derive(args.published)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    order = {g: i for i, g in enumerate([ALL] + GROUPS + [CLA_LT12])}
    with open(out / "outcome_targets.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["year", "group", "measure", "phase", "value", "unit", "basis", "source"])
        for (y, g, m, p), (v, b, s) in sorted(t.rows.items(), key=lambda kv: (kv[0][2], kv[0][3], order[kv[0][1]],
                                                                              kv[0][0])):
            w.writerow([label(y), g, m, p, round(v, 4), UNITS.get(m, "%"), b, s])
    spread = la_spread(args.published)
    with open(out / "la_spread.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(spread[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(spread)
    by_basis: dict[str, int] = defaultdict(int)
    for (_, _, _, _), (_, b, _) in t.rows.items():
        by_basis[b] += 1
    print(f"wrote {len(t.rows)} targets ({', '.join(f'{k} {v}' for k, v in sorted(by_basis.items()))}) "
          f"and {len(spread)} LA spread rows to {out}")


if __name__ == "__main__":
    main()
