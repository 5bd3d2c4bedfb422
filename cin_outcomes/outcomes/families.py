"""Every outcome family and its measures, each defined once.

A family is an outcome domain measured on one pupil population (:mod:`cin_outcomes.linkage.populations`): its
measures are polars expressions over the population's NPD columns, named as the real published files name them
(``ks2_la.csv``, ``ks4_la.csv``, ``absence_la.csv``, ``sen_la.csv``, ``fsm_la.csv``, ``school_type_la.csv``,
``permanent_exclusions_and_suspensions_la.csv``; EYFSP and KS1 as the national files in domain.md §4.2). Measures
without a real file follow the same pattern (``t_read_met_higher_standard``). Decimal places as the real files:
KS1/KS2 and phonics percentages whole numbers, KS4 percentages and Attainment 8 one place, EBacc APS and
Progress 8 two, absence one, exclusions two, SEN/FSM/EYFSP/school type one.

Adding a measure is one entry in a family's tuple: e.g. a KS2 maths higher-standard percentage is
``percentage("pt_mat_met_higher_standard", "...", Quantity("t_mat_met_higher_standard", eligible & high),
eligible_quantity, 0)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from cin_outcomes.cohorts.spec import COHORTS
from cin_outcomes.linkage.populations import POPULATIONS, Population
from cin_outcomes.outcomes.measures import (
    ConfidenceInterval, Measure, Quantity, average, count, percentage, quantities, rate,
)
from cin_outcomes.synthetic.npd_columns import (
    COVID_YEARS, ELGS_2012, ELGS_2021, SEN_TYPES, module_available, progress8_produced,
)
from cin_outcomes.years import ReportingYear

ALL_PUPILS = "All pupils comparison"

#: Breakdowns every linked dataset carries: pupil characteristics, and placement and period of care (CLA at 31
#: March only).
COMMON_BREAKDOWNS = ("sex", "ethnicity_major", "sen_provision", "sen_primary_need", "phase_type_grouping",
                     "establishment_type_group", "placement", "period_of_care_length")


@dataclass(frozen=True)
class Family:
    """An outcome domain: its pupil population, measures, breakdowns and the years it exists."""

    key: str                  #: asset key part, ``["outcomes", key]``
    label: str
    description: str
    population: Population
    measures: tuple[Measure, ...]
    #: Social care groups the family is produced for (EES labels); the All pupils comparison is always added.
    groups: tuple[str, ...] = tuple(c.label for c in COHORTS)
    #: The outcome is of the academic year ``lag`` years before the reporting year (exclusions: 1).
    lag: int = 0
    #: Whether the family exists for an academic year (a module not collected: ``x`` in every table).
    available: Callable[[ReportingYear], bool] = lambda y: True
    breakdowns: tuple[str, ...] = COMMON_BREAKDOWNS

    @property
    def modules(self) -> tuple[str, ...]:
        return self.population.modules

    @property
    def pretotalled(self) -> tuple[str, ...]:
        return self.population.pretotalled

    def academic_year(self, year: ReportingYear | str) -> ReportingYear:
        """The academic year (as the reporting year ending with it) whose outcomes the ``year`` tables show."""
        return ReportingYear.parse(year) - self.lag


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _flag(name: str) -> pl.Expr:
    return pl.col(name).fill_null(False)


def _q(name: str, expr: pl.Expr, total: bool = False) -> Quantity:
    return Quantity(name, expr, total)


#: Every linked row: a pupil (a literal would aggregate to one per group, not one per row).
PUPIL = pl.col("social_care_group").is_not_null()

# --- EYFSP ---------------------------------------------------------------------------------------------------
_EXPECTED = [(pl.col(c) >= 2).fill_null(False) for c in (*ELGS_2012, *ELGS_2021)]
#: Number of the 17 early learning goals at the expected level or above (one framework is null each year).
ELGS_AT_EXPECTED = pl.sum_horizontal(*(e.cast(pl.Int32) for e in _EXPECTED))
_CLL_2012 = ["FSP_COM_G01", "FSP_COM_G02", "FSP_COM_G03", "FSP_LIT_G09", "FSP_LIT_G10"]
_CLL_2021 = ["FSP_COM_E01", "FSP_COM_E02", "FSP_LIT_E08", "FSP_LIT_E09", "FSP_LIT_E10"]
CLL = (pl.all_horizontal(*((pl.col(c) >= 2).fill_null(False) for c in _CLL_2012))
       | pl.all_horizontal(*((pl.col(c) >= 2).fill_null(False) for c in _CLL_2021)))
EYFSP_PUPILS = _q("t_pupils", PUPIL)

EYFSP = (
    count("t_pupils", "Number of pupils with an EYFSP assessment", PUPIL),
    percentage("pt_gld", "Percentage of pupils with a good level of development",
               _q("t_gld", _flag("FSP_GLD")), EYFSP_PUPILS, 1),
    percentage("pt_elg", "Percentage of pupils at the expected level in all 17 early learning goals",
               _q("t_elg", ELGS_AT_EXPECTED == 17), EYFSP_PUPILS, 1),
    average("avg_elgs", "Average number of early learning goals at the expected level",
            _q("t_elgs_expected", ELGS_AT_EXPECTED, total=True), EYFSP_PUPILS, 1),
    percentage("pt_comm_lang_lit", "Percentage of pupils at the expected level in communication and language "
               "and literacy early learning goals", _q("t_comm_lang_lit", CLL), EYFSP_PUPILS, 1),
)

# --- phonics ---------------------------------------------------------------------------------------------------
_PHON_ELIGIBLE = _q("t_phonics_eligible_pupils", _c("PHON_OUTCOME").is_not_null())
PHONICS = (
    percentage("pt_phonics_met_expected_standard", "Percentage of year 1 pupils meeting the expected standard of "
               "the phonics screening check", _q("t_phonics_met_expected_standard", _c("PHON_OUTCOME") == "Wa"),
               _PHON_ELIGIBLE, 0),
)


# --- KS1 -------------------------------------------------------------------------------------------------------
def _ks1(subject: str, col: str, label: str) -> Measure:
    eligible = _c(f"KS1_{col}OUTCOME").is_not_null()
    return percentage(f"pt_{subject}_met_expected_standard",
                      f"Percentage of pupils reaching the expected standard in {label} (teacher assessment)",
                      _q(f"t_{subject}_met_expected_standard", eligible & _flag(f"KS1_{col}EXP")),
                      _q(f"t_{subject}_eligible_pupils", eligible), 0)


KS1 = (_ks1("readta", "READ", "reading"), _ks1("writta", "WRIT", "writing"), _ks1("matta", "MAT", "maths"),
       _ks1("scita", "SCI", "science"))


# --- KS2 -------------------------------------------------------------------------------------------------------
def ks2_progress_produced(year: ReportingYear | str) -> bool:
    """KS2 progress needs a KS1 baseline four years earlier: none for 2023/24 and 2024/25 (KS1 not assessed in
    2019/20 and 2020/21), nor in the years KS2 itself was not assessed."""
    y = ReportingYear.parse(year)
    return module_available("ks2", y) and (y - 4).start not in COVID_YEARS


_KS2 = {  # subject in column names -> (NPD stem, outcome column, label)
    "read": ("READ", "KS2_READOUTCOME", "reading"),
    "writta": ("WRITTA", "KS2_WRITTAOUTCOME", "writing (teacher assessment)"),
    "mat": ("MAT", "KS2_MATOUTCOME", "maths"),
    "gps": ("GPS", "KS2_GPSOUTCOME", "grammar, punctuation and spelling"),
    "scita": ("SCITA", "KS2_SCITAOUTCOME", "science (teacher assessment)"),
}
_RWM_ELIGIBLE = (_c("KS2_READOUTCOME").is_not_null() & _c("KS2_WRITTAOUTCOME").is_not_null()
                 & _c("KS2_MATOUTCOME").is_not_null())


def _ks2_subject(s: str) -> tuple[Measure, ...]:
    if s == "rwm":
        stem, eligible, label = "RWM", _RWM_ELIGIBLE, "reading, writing and maths"
    else:
        stem, out, label = _KS2[s]
        eligible = _c(out).is_not_null()
    den = _q(f"t_{s}_eligible_pupils", eligible)
    out = [percentage(f"pt_{s}_met_expected_standard", f"Percentage of pupils reaching the expected standard in "
                      f"{label}", _q(f"t_{s}_met_expected_standard", eligible & _flag(f"KS2_{stem}EXP")), den, 0)]
    if s != "scita":
        out.append(percentage(f"pt_{s}_met_higher_standard", f"Percentage of pupils reaching the higher standard "
                              f"in {label}", _q(f"t_{s}_met_higher_standard", eligible & _flag(f"KS2_{stem}HIGH")),
                              den, 0))
    if s in ("read", "mat", "gps"):
        score = _c(f"KS2_{stem}SCORE")
        out.append(average(f"avg_{s}_scaled_score", f"Average scaled score in {label}",
                           _q(f"t_{s}_scaled_score", score, total=True),
                           _q(f"t_{s}_scaled_score_eligible_pupils", score.is_not_null()), 0))
    return tuple(out)


def _ks2_progress(s: str, column: str, label: str) -> Measure:
    score = _c(column)
    return average(f"avg_{s}_progress_score", f"Average progress score in {label}",
                   _q(f"t_{s}_progress_score", score, total=True),
                   _q(f"t_{s}_progress_eligible_pupils", score.is_not_null()), 2, available=ks2_progress_produced,
                   ci=ConfidenceInterval(f"avg_{s}_progress_score_lower_CI", f"avg_{s}_progress_score_upper_CI",
                                         f"sd_{s}_progress_score"))


KS2 = (
    *(m for s in ("read", "writta", "mat", "rwm", "gps", "scita") for m in _ks2_subject(s)),
    _ks2_progress("read", "KS2_READPROGSCORE", "reading"),
    _ks2_progress("writta", "KS2_WRITPROGSCORE", "writing"),
    _ks2_progress("mat", "KS2_MATPROGSCORE", "maths"),
)

# --- KS4 -------------------------------------------------------------------------------------------------------
KS4_PUPILS = _q("t_pupils", PUPIL)
_INP8 = _flag("KS4_INP8CALC") & _c("KS4_P8SCORE").is_not_null()


def _ks4_pct(name: str, label: str, expr: pl.Expr) -> Measure:
    return percentage(f"pt_{name}", label, _q(f"t_{name}", expr), KS4_PUPILS, 1)


KS4 = (
    count("t_pupils", "Number of pupils at the end of key stage 4", PUPIL),
    average("avg_att8", "Average Attainment 8 score", _q("t_att8", _c("KS4_ATT8").fill_null(0), total=True),
            KS4_PUPILS, 1),
    _ks4_pct("l2basics_95", "Percentage of pupils achieving grade 5 or above in English and maths",
             _flag("KS4_L2BASICS_95")),
    _ks4_pct("l2basics_94", "Percentage of pupils achieving grade 4 or above in English and maths",
             _flag("KS4_L2BASICS_94")),
    _ks4_pct("eng_95", "Percentage of pupils achieving grade 5 or above in English",
             (_c("KS4_APENG_91") >= 5).fill_null(False)),
    _ks4_pct("eng_94", "Percentage of pupils achieving grade 4 or above in English",
             (_c("KS4_APENG_91") >= 4).fill_null(False)),
    _ks4_pct("mat_95", "Percentage of pupils achieving grade 5 or above in maths",
             (_c("KS4_HGMATH_91") >= 5).fill_null(False)),
    _ks4_pct("mat_94", "Percentage of pupils achieving grade 4 or above in maths",
             (_c("KS4_HGMATH_91") >= 4).fill_null(False)),
    _ks4_pct("ebacc_e_ptq_ee", "Percentage of pupils entering the English Baccalaureate",
             _flag("KS4_EBACC_E_PTQ_EE")),
    _ks4_pct("ebacc_95", "Percentage of pupils achieving the English Baccalaureate at grade 5 or above",
             _flag("KS4_EBACC_95")),
    _ks4_pct("ebacc_94", "Percentage of pupils achieving the English Baccalaureate at grade 4 or above",
             _flag("KS4_EBACC_94")),
    average("avg_ebaccaps", "Average EBacc average point score",
            _q("t_ebaccaps", _c("KS4_EBACCAPS").fill_null(0), total=True), KS4_PUPILS, 2),
    average("avg_p8score", "Average Progress 8 score", _q("t_p8score", _c("KS4_P8SCORE"), total=True),
            _q("t_inp8calc", _INP8), 2, available=progress8_produced,
            ci=ConfidenceInterval("p8score_CI_low", "p8score_CI_upp", "sd_p8score")),
)

# --- absence ---------------------------------------------------------------------------------------------------
ABSENCE_PUPILS = _q("t_pupils", PUPIL)
SESS_POSSIBLE = _q("t_sess_possible", _c("SessionsPossible"))


def _sessions(name: str, column: str, label: str) -> Measure:
    return percentage(f"pt_{'overall' if name == 'overall' else 'sess_' + name}", label,
                      _q(f"t_sess_{name}", _c(column)), SESS_POSSIBLE, 1)


ABSENCE = (
    count("t_pupils", "Number of pupils with absence records (six half terms)", PUPIL),
    _sessions("overall", "OverallAbsence", "Overall absence rate (percentage of possible sessions missed)"),
    _sessions("authorised", "AuthorisedAbsence", "Authorised absence rate"),
    _sessions("unauthorised", "UnauthorisedAbsence", "Unauthorised absence rate"),
    percentage("pt_pupils_pa_10_exact", "Percentage of pupils who are persistently absent (10% or more of possible "
               "sessions missed)", _q("t_pupils_pa_10_exact", 10 * _c("OverallAbsence") >= _c("SessionsPossible")),
               ABSENCE_PUPILS, 1),
    percentage("pt_pupils_pa_50_exact", "Percentage of pupils who are severely absent (50% or more of possible "
               "sessions missed)", _q("t_pupils_pa_50_exact", 2 * _c("OverallAbsence") >= _c("SessionsPossible")),
               ABSENCE_PUPILS, 1),
)

# --- suspensions and permanent exclusions ------------------------------------------------------------------------
EXCL_PUPILS = _q("t_pupils", PUPIL)
EXCLUSIONS = (
    count("t_pupils", "Number of pupils on roll", PUPIL),
    percentage("pt_perm_excl", "Percentage of pupils permanently excluded",
               _q("t_perm_excl", _flag("PermanentlyExcluded")), EXCL_PUPILS, 2),
    percentage("pt_one_plus_sus", "Percentage of pupils with one or more suspensions",
               _q("t_one_plus_sus", _c("Suspensions") >= 1), EXCL_PUPILS, 2),
    rate("susp_rate", "Suspensions per 100 pupils", _q("t_susp", _c("Suspensions")), EXCL_PUPILS, 2),
)

# --- SEN -------------------------------------------------------------------------------------------------------
SEN_PUPILS = _q("t_pupils", PUPIL)
_SEN = _c("SENprovision")
ALL_SEN = _q("t_all_SEN", _SEN.is_in(["E", "K"]).fill_null(False))
SEN_SUPPORT = _q("t_SEN_support", (_SEN == "K").fill_null(False))
EHC_PLAN = _q("t_statement_or_EHC_plan", (_SEN == "E").fill_null(False))


def _need(code: str, within: Quantity, suffix: str) -> Measure:
    provision = {"": "with special educational needs", "_ss": "on SEN support", "_ehc": "with an EHC plan"}[suffix]
    return percentage(f"pt_{code}{suffix}", f"Percentage of pupils {provision} whose primary type of need is "
                      f"{code}", _q(f"t_{code}{suffix}", within.expr & (_c("PrimarySENtype") == code).fill_null(False)),
                      within, 1)


SEN = (
    count("t_pupils", "Number of pupils", PUPIL),
    percentage("pt_no_identified_SEN", "Percentage of pupils with no identified special educational needs",
               _q("t_no_identified_SEN", (_SEN == "N").fill_null(False)), SEN_PUPILS, 1),
    percentage("pt_all_SEN", "Percentage of pupils with special educational needs", ALL_SEN, SEN_PUPILS, 1),
    percentage("pt_SEN_support", "Percentage of pupils on SEN support", SEN_SUPPORT, SEN_PUPILS, 1),
    percentage("pt_statement_or_EHC_plan", "Percentage of pupils with an education, health and care plan",
               EHC_PLAN, SEN_PUPILS, 1),
    *(_need(code, ALL_SEN, "") for code in sorted(SEN_TYPES)),
    *(_need(code, SEN_SUPPORT, "_ss") for code in sorted(SEN_TYPES)),
    *(_need(code, EHC_PLAN, "_ehc") for code in sorted(c for c in SEN_TYPES if c != "NSA")),
)

# --- FSM -------------------------------------------------------------------------------------------------------
FSM = (
    count("t_pupils", "Number of pupils", PUPIL),
    percentage("pt_FSM_eligible", "Percentage of pupils eligible for free school meals",
               _q("t_FSM_eligible", _flag("FSMeligible")), _q("t_pupils", PUPIL), 1),
)

# --- school type -----------------------------------------------------------------------------------------------
_PHASE = _c("PhaseType")
SCHOOL_PUPILS = _q("t_pupils", PUPIL)
SCHOOL_TYPE = (
    count("t_pupils", "Number of pupils on roll in state-funded schools", PUPIL),
    *(percentage(f"pt_{n}", f"Percentage of pupils attending a {label}", _q(f"t_{n}", (_PHASE == phase)
                 .fill_null(False)), SCHOOL_PUPILS, 1)
      for n, phase, label in (
          ("primary", "State-funded primary", "state-funded primary school"),
          ("secondary", "State-funded secondary", "state-funded secondary school"),
          ("special", "Special", "special school"),
          ("pru", "State-funded alternative provision school", "pupil referral unit or state-funded alternative "
           "provision school"))),
    percentage("pt_academy", "Percentage of pupils attending an academy or free school",
               _q("t_academy", _flag("AcademyFlag")), SCHOOL_PUPILS, 1),
    percentage("pt_la_maintained", "Percentage of pupils attending an LA maintained school",
               _q("t_la_maintained", (~_c("AcademyFlag")).fill_null(False)), SCHOOL_PUPILS, 1),
)

#: Social care groups that include no looked-after children: FSM is not published for children looked after
#: (users' feedback response: "We will not provide information on free school meals for CLA").
NOT_LOOKED_AFTER = ("CINO at 31 March", "CPPO at 31 March", "CINO at any point", "CPPO at any point")

def _available(module: str) -> Callable[[ReportingYear], bool]:
    return lambda y: module_available(module, y)


FAMILIES: dict[str, Family] = {f.key: f for f in (
    Family("eyfsp", "Early years foundation stage profile",
           "Good level of development, all early learning goals, average number of goals and communication, "
           "language and literacy at the end of reception.", POPULATIONS["eyfsp"], EYFSP,
           available=_available("eyfsp")),
    Family("phonics", "Phonics screening check", "Pupils meeting the expected standard of the phonics screening "
           "check in year 1.", POPULATIONS["phonics"], PHONICS, available=_available("phonics")),
    Family("ks1", "Key stage 1", "Pupils reaching the expected standard in reading, writing, maths and science "
           "teacher assessments at the end of key stage 1.", POPULATIONS["ks1"], KS1, available=_available("ks1")),
    Family("ks2", "Key stage 2", "Expected and higher standards in reading, writing, maths (and combined), "
           "grammar, punctuation and spelling and science; average scaled scores; progress from key stage 1 "
           "where a baseline exists.", POPULATIONS["ks2"], KS2, available=_available("ks2")),
    Family("ks4", "Key stage 4", "Attainment 8, English and maths at grades 4 and 5 (combined and separately), "
           "English Baccalaureate entry, average point score and achievement, and Progress 8 where it exists.",
           POPULATIONS["ks4"], KS4, available=_available("ks4")),
    Family("absence", "Absence", "Overall, authorised and unauthorised absence rates, persistent (10% or more) "
           "and severe (50% or more) absence over the six half terms, by school phase.", POPULATIONS["absence"],
           ABSENCE, available=lambda y: ReportingYear.parse(y).start != 2019),
    Family("exclusions", "Suspensions and permanent exclusions",
           "Pupils permanently excluded, with one or more suspensions, and suspensions per 100 pupils, in the "
           "academic year before the reporting year, for the groups at 31 March of that academic year.",
           POPULATIONS["exclusions"], EXCLUSIONS, lag=1),
    Family("sen", "Special educational needs", "SEN provision (SEN support, EHC plan) and primary type of need "
           "of pupils with SEN, from the spring school census and the alternative provision census.",
           POPULATIONS["census_and_ap"], SEN,
           breakdowns=tuple(b for b in COMMON_BREAKDOWNS if b not in ("sen_provision", "sen_primary_need"))),
    Family("fsm", "Free school meals", "Pupils eligible for free school meals on spring census day (not "
           "published for children looked after).", POPULATIONS["census_and_ap"], FSM, groups=NOT_LOOKED_AFTER),
    Family("school_type", "School type", "The type of state-funded school attended on spring census day "
           "(primary, secondary, special, alternative provision) and academy or LA maintained.",
           POPULATIONS["census"], SCHOOL_TYPE),
)}

for _f in FAMILIES.values():  # every family's quantities are consistent (raises on import otherwise)
    quantities(_f.measures)
