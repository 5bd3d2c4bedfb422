"""Parameters of the social care model: who is referred, how long episodes last, and the code mixes returned.

Counts are calibrated elsewhere (``la_targets()``: CIN, CPP and CLA at 31 March and flows per LA and year); the
numbers here shape *who* and *how*: age and need gradients, durations, routes out of care and code shares. They
follow the national statistics' broad shapes (CIN, CLA and CPP characteristics publications) and are marked
``[UNVERIFIED]`` where they are modelling judgement rather than a published figure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)
#: Careers are simulated from here: children born from 1995 (the population's first birth year) can be looked after
#: from birth, so the care population of 2013 is in steady state with full histories.
CLA_SIM_START = dt.date(1995, 1, 1)
#: CIN referrals and CPPs before 2008 would be closed long before the first return (2013-14) unless tied to care.
CIN_SIM_START = dt.date(2007, 4, 1)
#: First year (end of March) with LA targets; earlier years use this year's rates per child.
FIRST_TARGET_YEAR_END = 2013
DAYS_PER_YEAR = 365.25

# --- who is referred: relative rate by single year of age (index 0 = unborn, then ages 0..17) -----------------
# CIN publication (referrals and episodes by age): infants and teenagers most often. [UNVERIFIED shape]
# AGE_CIN and AGE_CPP are tilted year by year (events.age_tilt) so that the school phases of the children in need and
# on a plan at 31 March follow the published school-type figures (older children in later years).
AGE_CIN = np.array(
    [0.55, 1.9, 1.05, 1.0, 1.0, 1.0, 0.95, 0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.35, 1.3, 1.15, 0.85]
)
# CPPs: younger children (CPP characteristics: under 1 and 1-4 over-represented). [UNVERIFIED shape]
AGE_CPP = np.array(
    [0.9, 2.2, 1.5, 1.4, 1.3, 1.25, 1.2, 1.15, 1.1, 1.05, 1.0, 0.95, 0.9, 0.85, 0.75, 0.6, 0.45, 0.3, 0.15]
)
# CLA starts by age (CLA publication: under 1 ~18 %, 1-4 ~14 %, 5-9 ~14 %, 10-15 ~36 %, 16+ ~18 % incl. UASC).
AGE_CLA = np.array(
    [0.0, 5.0, 1.0, 0.85, 0.8, 0.75, 0.7, 0.68, 0.66, 0.68, 0.75, 0.95, 1.2, 1.5, 1.75, 1.85, 1.7, 1.35, 0.8]
)
#: Primary-age share of a group's special-school pupils relative to the group's whole primary-age share, used to
#: read the published school types as an age mix. [UNVERIFIED] EHC plans accumulate with age, so special schools are
#: older than mainstream ones; the education model's special-school places give about 0.8 for children in need.
SPECIAL_PRIMARY_RATIO = 0.8
#: Need gradient: the rate multiplies by exp(BETA * need); need ~ N(0, 1) plus an LA effect.
BETA_CIN = 0.85
BETA_CPP = 1.05
BETA_CLA = 1.25
#: Candidate events drawn per event needed (the stock controller picks from them; CPP and CIN candidates are first
#: thinned by the age tilt, which keeps from about half to all of them, by year).
OVERSAMPLE = {"cla": 2.2, "cpp": 4.0, "cin": 2.0, "nfa": 1.3}

# --- how long: durations in days ----------------------------------------------------------------------------
#: Referrals leading to no further action (ReferralNFA true): share of all referrals. [UNVERIFIED]
NFA_PER_EPISODE = 0.09
#: Plain CIN episodes closed after assessment (RC8 no further action / RC9 early help): share and split.
SHORT_EPISODE_SHARE = 0.30
RC9_SHARE_OF_SHORT = 0.45
#: Longer CIN episodes (support, CIN plan): lognormal median and sigma (days). Calibrated so that starts track the
#: published "episodes starting" while the 31 March stock is held to target.
CIN_LONG_MEDIAN = 330.0
CIN_LONG_SIGMA = 0.85
#: Child protection plans: lognormal (median ~7 months; published CPP durations mostly 3 months to 2 years).
CPP_MEDIAN = 215.0
CPP_SIGMA = 0.65
#: After a CPP ends, a share of children stay in need with a CIN plan (step-down) for a while.
CPP_STEP_DOWN_SHARE = 0.6
CPP_STEP_DOWN_MEDIAN = 150.0

#: Routes out of care by age at entry (rows: age bands 0, 1-4, 5-9, 10-13, 14-15, 16-17; columns: ROUTES).
ROUTES = ["home", "adoption", "sgo", "cao", "age18", "other"]
ROUTE_AGE_BANDS = np.array([0, 1, 5, 10, 14, 16])  # lower bounds in years
ROUTE_SHARES = np.array(
    [
        [0.22, 0.42, 0.17, 0.03, 0.11, 0.05],
        [0.35, 0.20, 0.20, 0.04, 0.16, 0.05],
        [0.47, 0.03, 0.13, 0.04, 0.27, 0.06],
        [0.48, 0.00, 0.05, 0.03, 0.36, 0.08],
        [0.46, 0.00, 0.02, 0.01, 0.41, 0.10],
        [0.38, 0.00, 0.00, 0.00, 0.52, 0.10],
    ]
)
#: Duration by route (lognormal median days, sigma); "age18" stays until the 18th birthday (or leaves at 16-17
#: for independent living).
ROUTE_DURATION = {
    "home": (100.0, 1.3),
    "adoption": (620.0, 0.3),
    "sgo": (540.0, 0.45),
    "cao": (450.0, 0.5),
    "other": (200.0, 1.0),
}
MIN_ADOPTION_DAYS = 400

# --- code mixes ---------------------------------------------------------------------------------------------
REFERRAL_SOURCES = {
    "6": 0.29,
    "2A": 0.19,
    "3A": 0.03,
    "3B": 0.02,
    "3C": 0.01,
    "3D": 0.03,
    "3E": 0.03,
    "3F": 0.03,
    "5A": 0.04,
    "5B": 0.03,
    "5C": 0.02,
    "5D": 0.04,
    "1A": 0.04,
    "1B": 0.01,
    "1C": 0.02,
    "1D": 0.01,
    "2B": 0.02,
    "4": 0.015,
    "7": 0.02,
    "8": 0.05,
    "9": 0.01,
    "10": 0.025,
}
#: Primary need of CIN episodes (CIN publication, episodes by primary need; N1 abuse or neglect most common).
PRIMARY_NEED_PLAIN = {
    "N1": 0.50,
    "N2": 0.10,
    "N3": 0.05,
    "N4": 0.09,
    "N5": 0.17,
    "N6": 0.03,
    "N7": 0.004,
    "N8": 0.035,
    "N9": 0.011,
    "N0": 0.01,
}
PRIMARY_NEED_CARE = {"N1": 0.64, "N2": 0.03, "N3": 0.03, "N4": 0.07, "N5": 0.14, "N6": 0.02, "N7": 0.002, "N8": 0.068}
ABUSE_CATEGORIES = {"NEG": 0.50, "EMO": 0.36, "PHY": 0.07, "SAB": 0.04, "MUL": 0.03}
ASSESSMENT_FACTORS = {
    "3A": 0.10,
    "3B": 0.04,
    "3C": 0.10,
    "4A": 0.08,
    "4B": 0.04,
    "4C": 0.10,
    "1A": 0.02,
    "1B": 0.02,
    "1C": 0.05,
    "2A": 0.02,
    "2B": 0.02,
    "2C": 0.05,
    "5A": 0.01,
    "5B": 0.005,
    "5C": 0.015,
    "6A": 0.01,
    "6B": 0.005,
    "6C": 0.02,
    "7A": 0.01,
    "10A": 0.01,
    "11A": 0.015,
    "12A": 0.003,
    "13A": 0.008,
    "14A": 0.02,
    "15A": 0.02,
    "16A": 0.08,
    "17A": 0.07,
    "18B": 0.01,
    "18C": 0.03,
    "19B": 0.006,
    "19C": 0.01,
    "20": 0.03,
    "22A": 0.002,
    "23A": 0.002,
    "24A": 0.01,
    "8B": 0.002,
}
DISABILITY_SHARE = 0.12
DISABILITIES = {
    "LD": 0.25,
    "AUT": 0.22,
    "BEH": 0.13,
    "COMM": 0.15,
    "MOB": 0.06,
    "HAND": 0.02,
    "PC": 0.03,
    "INC": 0.02,
    "HEAR": 0.03,
    "VIS": 0.02,
    "CON": 0.01,
    "DDA": 0.06,
}
REASON_PLACE_CHANGE = {
    "CARPL": 0.30,
    "CHILD": 0.08,
    "LAREQ": 0.12,
    "PLACE": 0.14,
    "CREQB": 0.05,
    "CREQO": 0.05,
    "CLOSE": 0.03,
    "ALLEG": 0.02,
    "STAND": 0.04,
    "APPRR": 0.03,
    "OTHER": 0.14,
}
SW_REASONS = {
    "MANAGE": 0.2,
    "FCONTA": 0.1,
    "LEFTRL": 0.3,
    "ORGRST": 0.1,
    "TSPROC": 0.15,
    "ABSENC": 0.05,
    "CHCHAN": 0.03,
    "PCCHAN": 0.02,
    "OTHERS": 0.05,
}
#: Placement types at entry and after a move, by age band (under 10, 10-15, 16-17). 2024-25 code list.
PLACEMENTS = {
    "young": {"U6": 0.60, "U3": 0.20, "U5": 0.04, "U2": 0.02, "K2": 0.02, "R3": 0.01, "U4": 0.07, "U1": 0.04},
    "teen": {"U6": 0.50, "U3": 0.12, "U4": 0.06, "U1": 0.03, "K2": 0.24, "K1": 0.01, "S1": 0.02, "R1": 0.02},
    "older": {"U6": 0.33, "U3": 0.08, "U4": 0.04, "U1": 0.02, "K2": 0.21, "H5": 0.30, "S1": 0.01, "R1": 0.01},
}
#: Placement moves per year in care by age band (CLA publication: ~10 % have 3+ placements in a year).
PLACEMENT_MOVE_RATE = {"young": 0.35, "teen": 0.75, "older": 0.85}
#: UASC share of CLA at 31 March by year end (CLA publication: 5,570 = 7 % in 2022; 6,540 of 81,770 in 2025;
#: other years [UNVERIFIED] from the same series as remembered).
UASC_SHARE = {
    2013: 0.032,
    2014: 0.029,
    2015: 0.038,
    2016: 0.060,
    2017: 0.063,
    2018: 0.059,
    2019: 0.065,
    2020: 0.062,
    2021: 0.048,
    2022: 0.068,
    2023: 0.087,
    2024: 0.088,
    2025: 0.080,
}
#: LAs at ports of entry with more UASC than their size (Kent, Croydon, Hillingdon, Portsmouth). [UNVERIFIED]
UASC_PORT_WEIGHT = {"886": 6.0, "306": 5.0, "312": 3.0, "851": 2.0}
#: Children with short breaks (respite, V3/V4) per child aged 0-17 at any time in a year. [UNVERIFIED]
RESPITE_RATE = 0.0009
#: Share of LAs recording short breaks as individual episodes (V3) rather than agreements (V4). [UNVERIFIED]
RESPITE_V3_LA_SHARE = 0.7
