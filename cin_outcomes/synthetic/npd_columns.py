"""National Pupil Database (NPD) modules as the synthetic England writes them: module name -> {column: dtype}.

One Parquet file per module and academic year at ``<landing>/<reporting year>/npd/<module>.parquet`` (reporting
year 2024-25 <-> academic year 2024/25). Column names follow the NPD: the school census, absence, exclusions and
AP census tables use the NPD's unsuffixed names (the NPD adds a term/year suffix such as ``_SPR25``, dropped here
because the year is the file), attainment tables carry the NPD key stage prefix (``FSP_``, ``PHON_``, ``KS1_``,
``KS2_``, ``KS4_``). No ``PupilMatchingRefAnonymous``: pupils are identified by their UPN, as in the
identifiable NPD extract DfE matches the CIN census and SSDA903 return to.

Conventions
* ``LA`` columns are the 3-digit DfE LA number of the **school** (not of residence), as a string like ``la_code``
  in :mod:`cin_outcomes.tables`. ``LAESTAB`` = LA * 10000 + establishment number; ``URN`` is the 6-digit unique
  reference number. A converter academy gets a new URN and LAESTAB on conversion, as in GIAS.
* Flags the NPD stores as 0/1 are Booleans here.
* Years not assessed are absent (no file), as in reality: see :func:`module_available`.
* Pre-2016 key stage results are given on the current scales (scaled scores, 9-1 grades, Attainment 8) for every
  year, so that a series of any length can be built; the publication itself starts in 2018/19.

Code lists
* ``NCyearActual``: ``R``, ``1`` ... ``11`` (national curriculum year the pupil is taught in).
* ``PhaseType``: ``State-funded primary``, ``State-funded secondary``, ``Special``,
  ``State-funded alternative provision school`` (the outcome files' ``phase_type_grouping`` labels).
* ``TypeOfEstablishment``: GIAS type names, see :data:`ESTABLISHMENT_TYPES`.
* ``SENprovision``: ``E`` EHC plan, ``K`` SEN support, ``N`` no special educational need.
* ``PrimarySENtype``: ``SPLD``, ``MLD``, ``SLD``, ``PMLD``, ``SEMH``, ``SLCN``, ``HI``, ``VI``, ``MSI``, ``PD``,
  ``ASD``, ``OTH``, ``NSA`` (NSA only under SEN support); null when ``SENprovision`` is ``N``.
* ``EthnicGroupMinor``: the 20 census codes; ``EthnicGroupMajor``: ``WHIT``, ``MIXD``, ``ASIA``, ``BLAC``, ``CHIN``,
  ``AOEG`` (any other ethnic group), ``UNCL`` (refused / not obtained).
* ``Gender`` / ``*_SEX``: ``M``, ``F``.
* KS2 test outcomes (``KS2_READOUTCOME`` ...): ``AS`` achieved the expected standard, ``NS`` not achieved,
  ``B`` working below the standard of the test (no scaled score), ``A`` absent (no scaled score). Scaled scores
  80-120; expected standard is a score of 100 or more, the higher standard 110 or more.
* Teacher assessments (KS1 reading, writing, maths; KS2 writing): ``GDS`` greater depth, ``EXS`` expected
  standard, ``WTS`` working towards, ``PKF`` pre-key stage (foundations), ``BLW`` below the pre-key stage
  standards. Science TA: ``EXS`` expected standard, ``HNM`` has not met.
* Phonics outcome: ``Wa`` met the standard (mark >= 32), ``Wt`` working towards, ``A`` absent, ``D`` disapplied.
* EYFSP early learning goals: 1 emerging, 2 expected, 3 exceeding (3 only in the 2012 framework, to 2018/19).
* Exclusions ``Category``: ``PERM`` permanent exclusion, ``SUSP`` suspension (fixed-period exclusion).
"""

from __future__ import annotations

import polars as pl

from cin_outcomes.years import ReportingYear

Str, Date, Bool = pl.Utf8, pl.Date, pl.Boolean
I8, I16, I32, F32 = pl.Int8, pl.Int16, pl.Int32, pl.Float32

PHASES = ["State-funded primary", "State-funded secondary", "Special", "State-funded alternative provision school"]
_MAINSTREAM = ("State-funded primary", "State-funded secondary")
#: GIAS type of establishment -> (the phases it occurs in, academy flag).
ESTABLISHMENT_TYPES: dict[str, tuple[tuple[str, ...], bool]] = {
    "Community school": (_MAINSTREAM, False),
    "Voluntary aided school": (_MAINSTREAM, False),
    "Voluntary controlled school": (_MAINSTREAM, False),
    "Foundation school": (_MAINSTREAM, False),
    "Academy converter": (_MAINSTREAM, True),
    "Academy sponsor led": (_MAINSTREAM, True),
    "Free schools": (_MAINSTREAM, True),
    "Community special school": (("Special",), False),
    "Foundation special school": (("Special",), False),
    "Academy special converter": (("Special",), True),
    "Academy special sponsor led": (("Special",), True),
    "Free schools special": (("Special",), True),
    "Pupil referral unit": (("State-funded alternative provision school",), False),
    "Academy alternative provision converter": (("State-funded alternative provision school",), True),
    "Academy alternative provision sponsor led": (("State-funded alternative provision school",), True),
    "Free schools alternative provision": (("State-funded alternative provision school",), True),
}
SEN_TYPES = ["SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH", "NSA"]
ETHNIC_MAJOR = {"WBRI": "WHIT", "WIRI": "WHIT", "WIRT": "WHIT", "WOTH": "WHIT", "WROM": "WHIT",
                "MWBC": "MIXD", "MWBA": "MIXD", "MWAS": "MIXD", "MOTH": "MIXD",
                "AIND": "ASIA", "APKN": "ASIA", "ABAN": "ASIA", "AOTH": "ASIA",
                "BCRB": "BLAC", "BAFR": "BLAC", "BOTH": "BLAC", "CHNE": "CHIN", "OOTH": "AOEG",
                "REFU": "UNCL", "NOBT": "UNCL"}
#: EYFSP 2012 framework (to 2018/19): the 17 ELGs; GLD = expected or exceeding in the first 12 (COM, PHY, PSE,
#: LIT, MAT).
ELGS_2012 = ["FSP_COM_G01", "FSP_COM_G02", "FSP_COM_G03", "FSP_PHY_G04", "FSP_PHY_G05", "FSP_PSE_G06",
             "FSP_PSE_G07", "FSP_PSE_G08", "FSP_LIT_G09", "FSP_LIT_G10", "FSP_MAT_G11", "FSP_MAT_G12",
             "FSP_UTW_G13", "FSP_UTW_G14", "FSP_UTW_G15", "FSP_EXP_G16", "FSP_EXP_G17"]
#: EYFSP 2021 framework (from 2021/22): 17 ELGs; GLD = expected in the 12 of COM, PSE, PHY, LIT, MAT.
ELGS_2021 = ["FSP_COM_E01", "FSP_COM_E02", "FSP_PSE_E03", "FSP_PSE_E04", "FSP_PSE_E05", "FSP_PHY_E06",
             "FSP_PHY_E07", "FSP_LIT_E08", "FSP_LIT_E09", "FSP_LIT_E10", "FSP_MAT_E11", "FSP_MAT_E12",
             "FSP_UTW_E13", "FSP_UTW_E14", "FSP_UTW_E15", "FSP_EXP_E16", "FSP_EXP_E17"]

#: The establishments of the synthetic England, one row per school and academic year it is open.
SCHOOLS = {
    "AcademicYear": Str,         # "2024/25"
    "URN": I32,                  # unique reference number (new URN when a school converts to an academy)
    "LA": Str,                   # 3-digit DfE LA number of the school's LA
    "ESTAB": I16,                # establishment number within the LA (2000-3999 primary, 4000-6999 secondary,
                                 # 7000-7999 special, 1100-1199 pupil referral units / AP)
    "LAESTAB": I32,              # LA * 10000 + ESTAB
    "PhaseType": Str,            # see PHASES
    "TypeOfEstablishment": Str,  # GIAS type name, see ESTABLISHMENT_TYPES
    "AcademyFlag": Bool,         # academy or free school (True) / LA maintained (False)
    "OpenDate": Date,            # date this URN opened (conversion date for converter academies)
}

_SCHOOL = {"LA": Str, "LAESTAB": I32, "URN": I32}

MODULES: dict[str, dict[str, pl.DataType]] = {
    # Spring school census: every pupil on roll (reception to year 11) in a state-funded school on census day.
    "school_census": {
        "AcademicYear": Str,              # "2024/25"
        "CensusDate": Date,               # spring census day (third Thursday of January)
        "UPN": Str,                       # unique pupil number (13 characters, valid check letter)
        **_SCHOOL,                        # the school the pupil is on roll at on census day
        "PhaseType": Str,                 # phase of that school (PHASES)
        "TypeOfEstablishment": Str,       # GIAS type of that school
        "AcademyFlag": Bool,              # academy / free school rather than LA maintained
        "EnrolStatus": Str,               # "C" current single registration
        "EntryDate": Date,                # date the pupil joined this school
        "NCyearActual": Str,              # "R", "1" ... "11"
        "AgeAtStartOfAcademicYear": I8,   # age on 31 August before the academic year
        "YearOfBirth": I16,
        "MonthOfBirth": I8,
        "Gender": Str,                    # "M" / "F"
        "EthnicGroupMinor": Str,          # 20 census codes
        "EthnicGroupMajor": Str,          # WHIT MIXD ASIA BLAC CHIN AOEG UNCL
        "SENprovision": Str,              # E EHC plan, K SEN support, N none
        "PrimarySENtype": Str,            # primary type of need (null when N)
        "FSMeligible": Bool,              # eligible for free school meals on census day
        "EVERFSM_6": Bool,                # eligible at any census in the last six years (incl. this one)
    },
    # Early years foundation stage profile: end of reception.
    "eyfsp": {
        "FSP_ACADYR": Str, "FSP_UPN": Str, "FSP_LA": Str, "FSP_LAESTAB": I32, "FSP_URN": I32, "FSP_SEX": Str,
        **{c: I8 for c in ELGS_2012},    # 2012 framework ELGs (1/2/3), null from 2021/22
        **{c: I8 for c in ELGS_2021},    # 2021 framework ELGs (1/2), null before 2021/22
        "FSP_GLD": Bool,                 # good level of development
    },
    # Phonics screening check: year 1, and year 2 for pupils who did not meet the standard in year 1.
    "phonics": {
        "PHON_ACADYR": Str, "PHON_UPN": Str, "PHON_LA": Str, "PHON_LAESTAB": I32, "PHON_URN": I32,
        "PHON_SEX": Str,
        "PHON_NCYEAR": Str,              # "1" or "2" (retake)
        "PHON_MARK": I8,                 # 0-40, null when absent or disapplied
        "PHON_OUTCOME": Str,             # Wa / Wt / A / D
    },
    # Key stage 1 teacher assessment (end of year 2), statutory to 2022/23.
    "ks1": {
        "KS1_ACADYR": Str, "KS1_UPN": Str, "KS1_LA": Str, "KS1_LAESTAB": I32, "KS1_URN": I32, "KS1_SEX": Str,
        "KS1_READOUTCOME": Str, "KS1_WRITOUTCOME": Str, "KS1_MATOUTCOME": Str,   # GDS EXS WTS PKF BLW
        "KS1_SCIOUTCOME": Str,                                                   # EXS HNM
        "KS1_READEXP": Bool, "KS1_WRITEXP": Bool, "KS1_MATEXP": Bool, "KS1_SCIEXP": Bool,  # EXS or GDS
    },
    # Key stage 2 (end of year 6): tests in reading, maths and GPS; teacher assessment in writing and science.
    "ks2": {
        "KS2_ACADYR": Str, "KS2_UPN": Str, "KS2_LA": Str, "KS2_LAESTAB": I32, "KS2_URN": I32, "KS2_SEX": Str,
        "KS2_READOUTCOME": Str, "KS2_READSCORE": I16,   # AS NS B A; scaled score 80-120 or null
        "KS2_MATOUTCOME": Str, "KS2_MATSCORE": I16,
        "KS2_GPSOUTCOME": Str, "KS2_GPSSCORE": I16,
        "KS2_WRITTAOUTCOME": Str,                        # GDS EXS WTS PKF BLW
        "KS2_SCITAOUTCOME": Str,                         # EXS HNM
        "KS2_READEXP": Bool, "KS2_MATEXP": Bool, "KS2_GPSEXP": Bool,          # scaled score >= 100
        "KS2_WRITTAEXP": Bool, "KS2_SCITAEXP": Bool,                         # EXS or GDS / EXS
        "KS2_RWMEXP": Bool,                                                  # reading, writing and maths
        "KS2_READHIGH": Bool, "KS2_MATHIGH": Bool, "KS2_GPSHIGH": Bool,       # scaled score >= 110
        "KS2_WRITTAHIGH": Bool,                                              # GDS
        "KS2_RWMHIGH": Bool,                                                 # high in all three
        "KS2_KS1AVERAGE": F32,           # KS1 average point score (prior attainment), null without KS1
        "KS2_KS1GROUP": Str,             # prior attainment band L / M / H, null without KS1
        "KS2_READPROGSCORE": F32, "KS2_WRITPROGSCORE": F32, "KS2_MATPROGSCORE": F32,  # null without KS1
    },
    # Key stage 4 (end of year 11).
    "ks4": {
        "KS4_ACADYR": Str, "KS4_UPN": Str, "KS4_LA": Str, "KS4_LAESTAB": I32, "KS4_URN": I32, "KS4_SEX": Str,
        "KS4_ATT8": F32,                 # Attainment 8 score, 0-90
        "KS4_APENG_91": I8,              # best GCSE grade in English language or literature, 0 (U / none) - 9
        "KS4_HGMATH_91": I8,             # GCSE maths grade, 0 - 9
        "KS4_L2BASICS_94": Bool,         # grade 4 or above in English and maths
        "KS4_L2BASICS_95": Bool,         # grade 5 or above in English and maths
        "KS4_EBACC_E_PTQ_EE": Bool,      # entered every EBacc component
        "KS4_EBACC_94": Bool,            # achieved the EBacc at grade 4
        "KS4_EBACC_95": Bool,            # achieved the EBacc at grade 5
        "KS4_EBACCAPS": F32,             # EBacc average point score
        "KS4_KS2EMFG": F32,              # KS2 prior attainment: mean of KS2 reading and maths scaled scores
        "KS4_PRIORBAND_PTQ_EE": Str,     # prior attainment band L / M / H, null without KS2
        "KS4_INP8CALC": Bool,            # included in Progress 8 (has KS2 prior attainment, P8 produced)
        "KS4_P8SCORE": F32,              # Progress 8 score, null when not included
    },
    # Absence (three-term file): one row per enrolment (pupil x school) of pupils aged 5-15; the summer term
    # holds both summer half terms, so the totals are the six half terms. 2019/20: autumn term only.
    "absence": {
        "AcademicYear": Str, "UPN": Str, **_SCHOOL, "PhaseType": Str, "NCyearActual": Str,
        "SessionsPossible_Autumn": I16, "AuthorisedAbsence_Autumn": I16,
        "UnauthorisedAbsence_Autumn": I16, "OverallAbsence_Autumn": I16,
        "SessionsPossible_Spring": I16, "AuthorisedAbsence_Spring": I16,
        "UnauthorisedAbsence_Spring": I16, "OverallAbsence_Spring": I16,
        "SessionsPossible_Summer": I16, "AuthorisedAbsence_Summer": I16,
        "UnauthorisedAbsence_Summer": I16, "OverallAbsence_Summer": I16,
        "SessionsPossible": I16, "AuthorisedAbsence": I16,          # six half terms (null in 2019/20)
        "UnauthorisedAbsence": I16, "OverallAbsence": I16,
    },
    # Exclusions: one row per suspension or permanent exclusion.
    "exclusions": {
        "AcademicYear": Str, "UPN": Str, **_SCHOOL, "PhaseType": Str, "NCyearActual": Str,
        "Category": Str,                 # PERM / SUSP
        "ExclusionReason": Str,          # PD persistent disruptive behaviour, PP/PA physical assault on adult/pupil,
                                         # VP/VA verbal abuse of adult/pupil, BU bullying, DA damage, DM drugs and
                                         # alcohol, TH theft, OT other
        "ExclusionStartDate": Date,
        "ExclusionSessions": I16,        # half-day sessions (suspensions); null for permanent exclusions
    },
    # Alternative provision census: children in LA-arranged AP outside state-funded schools on census day.
    "ap_census": {
        "AcademicYear": Str, "CensusDate": Date, "UPN": Str,
        "LA": Str,                       # the LA arranging (and funding) the placement
        "URN": I32,                      # URN of the setting (null for unregistered providers)
        "SettingType": Str,              # IND independent school, FE further education college,
                                         # UNR unregistered provider, OTH other
        "PlacementReason": Str,          # PEX permanently excluded, MED health needs, SEN special needs, OTH other
        "EntryDate": Date,
        "AgeAtStartOfAcademicYear": I8,
        "Gender": Str, "EthnicGroupMajor": Str,
        "SENprovision": Str, "PrimarySENtype": Str, "FSMeligible": Bool,
    },
}

#: Column holding the pupil's UPN, and the school's LA, in each module.
UPN_COLUMN = {m: next(c for c in s if c.endswith("UPN")) for m, s in MODULES.items()}
LA_COLUMN = {m: next(c for c in s if c == "LA" or c.endswith("_LA")) for m, s in MODULES.items()}

COVID_YEARS = (2019, 2020)  # reporting years 2019-20 and 2020-21 (academic 2019/20, 2020/21)


def module_available(module: str, year: ReportingYear | str | int) -> bool:
    """Whether the NPD holds ``module`` for the academic year of ``year`` (no file otherwise).

    EYFSP, phonics, KS1 and KS2 were not assessed in 2019/20 and 2020/21 (COVID); KS1 teacher assessment is not
    statutory from 2023/24. KS4 exists every year (centre- and teacher-assessed grades in 2019/20, 2020/21).
    Absence 2019/20 holds the autumn term only. The rest exist every year.
    """
    if module not in MODULES:
        raise KeyError(f"unknown NPD module {module!r}; modules are {', '.join(MODULES)}")
    y = ReportingYear.parse(year).start
    if module in ("eyfsp", "phonics", "ks1", "ks2") and y in COVID_YEARS:
        return False
    if module == "ks1" and y >= 2023:
        return False
    return True


def progress8_produced(year: ReportingYear | str | int) -> bool:
    """Progress 8 exists from 2015/16, except 2019/20 and 2020/21 (no exams) and 2024/25 (no KS2 in 2019/20)."""
    y = ReportingYear.parse(year).start
    return y >= 2015 and y not in COVID_YEARS and y != 2024


def academic_year_label(year: ReportingYear | str | int) -> str:
    """``2024/25`` for reporting year 2024-25."""
    y = ReportingYear.parse(year).start
    return f"{y}/{(y + 1) % 100:02d}"
