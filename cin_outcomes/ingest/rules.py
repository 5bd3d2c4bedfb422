"""The DfE return rules the cohort logic relies on, as vectorised row tests, and the code lists of the returns.

Each rule function takes a table (a polars LazyFrame, possibly of many LAs) and returns a one-column LazyFrame
of booleans in the table's row order: True where the row satisfies the rule. Rules are evaluated within each
LA's return (``reporting_year``, ``la_code``), and the collection year comes from ``reporting_year`` itself, so the
same function serves every year. Rule names carry DfE's rule code (CIN census rules ``CIN nnnn``, SSDA903 rules
``903 nnn``) where DfE has one.
"""

from __future__ import annotations

import polars as pl

from cin_outcomes.upn import CHECK_LETTERS, UPN_PATTERN

# --- code lists (input-formats.md; DfE validator code lists) ----------------------------------------------------
ETHNICITY = ["WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
             "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"]
SEX = ["M", "F", "U"]
UPN_UNKNOWN = ["UN1", "UN2", "UN3", "UN4", "UN5", "UN6", "UN7"]
DISABILITY = ["NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA"]
REFERRAL_SOURCE = ["1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B",
                   "5C", "5D", "6", "7", "8", "9", "10"]
PRIMARY_NEED = [f"N{i}" for i in range(10)]
REASON_FOR_CLOSURE = [f"RC{i}" for i in range(1, 10)]
CATEGORY_OF_ABUSE = ["NEG", "PHY", "SAB", "EMO", "MUL"]
# Assessment factors of the CIN XSD, plus 18A/19A which earlier years used (now queries 8945Q/8950Q only).
ASSESSMENT_FACTORS = ["1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "3C", "4A", "4B", "4C", "5A", "5B", "5C",
                      "6A", "6B", "6C", "7A", "8B", "8C", "8D", "8E", "8F", "9A", "10A", "11A", "12A", "13A",
                      "14A", "15A", "16A", "17A", "18A", "18B", "18C", "19A", "19B", "19C", "20", "21", "22A",
                      "23A", "24A"]

RNE = ["S", "P", "L", "T", "U", "B"]
LEGAL_STATUS = ["C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3"]
CATEGORY_OF_NEED = [f"N{i}" for i in range(1, 9)]
#: Placement types (rule 146): to 2024-25, and from 2025-26 (H5, P2, Z1 withdrawn; K3, Z11-Z14 new).
PLACE_TO_2024_25 = ["A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1",
                    "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"]
PLACE_FROM_2025_26 = ["A3", "A4", "A5", "A6", "K1", "K2", "K3", "P1", "P3", "R1", "R2", "R3", "R5", "S1", "T0",
                      "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z11", "Z12", "Z13", "Z14"]
PLACE_CODES_CHANGE = 2025  # start year of the first reporting year on the new list
PLACE_PROVIDER = ["PR0", "PR1", "PR2", "PR3", "PR4", "PR5"]
REC = ["E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47", "E48", "E5", "E6", "E7", "E8",
       "E9", "E14", "E15", "E16", "E17", "X1"]
REASON_PLACE_CHANGE = ["CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ", "PLACE",
                       "CUSTOD", "OTHER"]
REVIEW_CODE = [f"PN{i}" for i in range(8)]
MISSING = ["M", "A"]
IN_TOUCH = ["YES", "NO", "DIED", "REFU", "NREQ", "RHOM"]
ACTIV = ["F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5", "G4", "G5", "G6", "0"]
ACCOM = ["B1", "B2", "C1", "C2", "D1", "D2", "E1", "E2", "G1", "G2", "H1", "H2", "K1", "K2", "R1", "R2", "S2",
         "T1", "T2", "U1", "U2", "V1", "V2", "W1", "W2", "X2", "Y1", "Y2", "Z1", "Z2", "0"]
SEX_ADOPTR = ["M1", "F1", "MM", "FF", "MF"]
LS_ADOPTR = ["L0", "L11", "L12", "L2", "L3", "L4"]
REASON_PLACED_CEASED = ["RD1", "RD2", "RD3", "RD4"]
PREV_PERM = ["P1", "P2", "P3", "P4", "Z1"]
SDQ_REASON = ["SDQ1", "SDQ2", "SDQ3", "SDQ4", "SDQ5"]
SW_REASON = ["MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN", "PCCHAN", "SWDIED", "OTHERS"]

# --- string formats ------------------------------------------------------------------------------------------
LA_CODE = r"^\d{3}$"
REPORTING_YEAR = r"^\d{4}-\d{2}$"
UPN = UPN_PATTERN.pattern
#: 903 UPN (rule 168): a UPN, or UN1-UN5 when the child has none.
UPN_903 = r"^[A-HJ-NP-RT-Z]\d{12}$|^[A-HJ-NP-RT-Z]\d{11}[A-Z]$|^UN[1-5]$"
POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"
URN = r"^(SC\d{6}|\d{7}|XXXXXXX)$"

# --- rule names ------------------------------------------------------------------------------------------------
CIN_8820 = "CIN 8820 CIN episodes of a child overlap"
CIN_8805 = "CIN 8805 closure date without a reason for closure"
CIN_8810 = "CIN 8810 reason for closure without a closure date"
CIN_8600 = "CIN 8600 referral date missing or after 31 March"
CIN_8620 = "CIN 8620 closure date outside the census year"
CIN_1105 = "CIN 1105 CPP starts before the referral"
CIN_8720 = "CIN 8720 CPP start date missing or after 31 March"
CIN_8930 = "CIN 8930 CPP end date outside the census year"
CIN_4010 = "CIN 4010 CIN plan start date missing or after 31 March"
CIN_4013 = "CIN 4013 CIN plan end date outside the census year"
CIN_8715 = "CIN 8715 initial child protection conference outside the census year"
CIN_1510 = "CIN 1510 UPN check letter wrong"
CIN_1520 = "CIN 1520 UPN not unique within the return"
CIN_8510 = "CIN 8510 LAchildID not unique within the return"
CIN_1580 = "CIN 1570/1580 LAchildID over 20 characters or not alphanumeric (from 2024-25)"
CIN_8540 = "CIN 8540 disability code not in the list"
CIN_8790 = "CIN 8790 NONE recorded with another disability"
CIN_8794 = "CIN 8794 disability recorded twice"
CIN_FACTORS = "CIN XSD assessment factor not in the list"
CIN_8869 = "CIN 8869 factor 21 (no factors) recorded with other factors"

LAC_501 = "903 501 episode starts before the previous episode ends"
LAC_388 = "903 388 X1 continuity broken (REC X1 if and only if the next episode starts on the DEC)"
LAC_148 = "903 148 DEC and REC not both present or both blank"
LAC_354 = "903 354 DECOM after 31 March"
LAC_385 = "903 385 DEC after 31 March"
LAC_426 = "903 426 V3 and V4 for the same child"
LAC_146 = "903 146 PLACE not in the year's code list"
LAC_1510 = "903 UPN check letter wrong (CIN rule 1510)"
LAC_INT32 = "903 INT32 CHILD not unique in Header"
LAC_UASC_UNIQUE = "903 INT CHILD not unique in UASC"

#: (table, column) -> the DfE rule code its code-list or format check implements, for readable rule names.
FIELD_RULES: dict[tuple[str, str], str] = {
    ("cin_children", "la_child_id"): "CIN 8500", ("cin_children", "upn"): "CIN 1540/1550",
    ("cin_children", "sex"): "CIN 4180", ("cin_children", "ethnicity"): "CIN 4220",
    ("cin_episodes", "referral_source"): "CIN 8866", ("cin_episodes", "primary_need"): "CIN 8650",
    ("cin_episodes", "closure_reason"): "CIN 8640", ("cin_episodes", "referral_nfa"): "CIN 8568",
    ("child_protection_plans", "initial_category"): "CIN 8905",
    ("child_protection_plans", "latest_category"): "CIN 8910",
    ("cla_header", "sex"): "903 101", ("cla_header", "dob"): "903 102", ("cla_header", "ethnic"): "903 103",
    ("cla_header", "upn"): "903 168", ("cla_episodes", "decom"): "903 141", ("cla_episodes", "rne"): "903 143",
    ("cla_episodes", "ls"): "903 144", ("cla_episodes", "cin"): "903 145",
    ("cla_episodes", "place_provider"): "903 178", ("cla_episodes", "rec"): "903 149",
    ("cla_episodes", "reason_place_change"): "903 1009", ("cla_reviews", "review_code"): "903 167",
    ("cla_missing", "missing"): "903 1006", ("cla_oc3", "in_touch"): "903 131", ("cla_oc3", "activ"): "903 132",
    ("cla_oc3", "accom"): "903 133", ("cla_ad1", "foster_care"): "903 114", ("cla_ad1", "nb_adoptr"): "903 175",
    ("cla_ad1", "sex_adoptr"): "903 176", ("cla_ad1", "ls_adoptr"): "903 177",
    ("cla_placed_adoption", "reason_placed_ceased"): "903 120", ("cla_prev_perm", "prev_perm"): "903 631",
    ("cla_oc2", "sdq_score"): "903 180", ("cla_oc2", "sdq_reason"): "903 196",
    ("cla_sw_episodes", "sw_reason"): "903 SW13STG1",
}

RETURN = ["reporting_year", "la_code"]
_OK = "ok"


# --- the collection year of each row -----------------------------------------------------------------------------
def start_year() -> pl.Expr:
    """The calendar year in which the row's reporting year starts (2024 for 2024-25)."""
    return pl.col("reporting_year").str.slice(0, 4).cast(pl.Int32)


def period_start() -> pl.Expr:
    """1 April that opens the row's collection year."""
    return pl.date(start_year(), 4, 1)


def period_end() -> pl.Expr:
    """31 March that closes the row's collection year (the census reference date)."""
    return pl.date(start_year() + 1, 3, 31)


def _ok(lf: pl.LazyFrame, expr: pl.Expr) -> pl.LazyFrame:
    return lf.select(expr.fill_null(True).alias(_OK))


def _flag_rows(lf: pl.LazyFrame, bad_rows: pl.LazyFrame) -> pl.LazyFrame:
    """Turn the row numbers (``_i``) of failing rows into a pass/fail column in the table's order."""
    marked = bad_rows.select("_i").unique().with_columns(pl.lit(True).alias("_bad"))
    return (lf.with_row_index("_i").select("_i")
            .join(marked, on="_i", how="left")
            .sort("_i")
            .select(pl.col("_bad").is_null().alias(_OK)))


def within_year(col: str, *, required: bool = False, after_start: bool = True) -> pl.Expr:
    """The date in ``col`` falls in the collection year (or, with ``after_start=False``, on/before 31 March)."""
    d = pl.col(col)
    inside = d <= period_end()
    if after_start:
        inside = inside & (d >= period_start())
    return (d.is_not_null() & inside) if required else (d.is_null() | inside)


# --- UPN -------------------------------------------------------------------------------------------------------
_CHAR_VALUE = {**{str(d): d for d in range(10)}, **{c: i for i, c in enumerate(CHECK_LETTERS)}}


def upn_check_letter_ok(col: str = "upn") -> pl.Expr:
    """CIN rule 1510: the first letter of a well-formed UPN is its check letter (weights 2..13, sum mod 23).

    Missing values and values that are not UPNs (UN codes, malformed) pass here; format has its own check.
    """
    u = pl.col(col)
    total = pl.lit(0, dtype=pl.Int32)
    for i in range(1, 13):
        value = u.str.slice(i, 1).replace_strict(_CHAR_VALUE, default=0, return_dtype=pl.Int32)
        total = total + value * (i + 1)
    letter = (total % 23).replace_strict(dict(enumerate(CHECK_LETTERS)), default=None, return_dtype=pl.Utf8)
    well_formed = u.str.contains(UPN_PATTERN.pattern).fill_null(False)
    return ~well_formed | (u.str.slice(0, 1) == letter)


def unique_within_return(col: str) -> pl.Expr:
    """No other row of the same LA return has this (non-missing) value."""
    return pl.col(col).is_null() | ~pl.col(col).is_duplicated().over(RETURN)


# --- CIN census rules ------------------------------------------------------------------------------------------
def cin_episodes_do_not_overlap(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8820: no episode's referral falls inside another episode of the same child.

    Episode A overlaps B when A's referral is on or after B's and before B's closure, or B is open (not NFA)
    and A's referral is on or before 31 March. An episode may start on the day the previous one closed.
    """
    e = lf.with_row_index("_i").select("_i", *RETURN, "la_child_id", "referral_date", "closure_date",
                                        "referral_nfa")
    o = e.select(pl.all().name.suffix("_o"))
    pairs = e.join(o, left_on=[*RETURN, "la_child_id"],
                   right_on=["reporting_year_o", "la_code_o", "la_child_id_o"], how="inner")
    overlap = (
        (pl.col("_i") != pl.col("_i_o"))
        & (pl.col("referral_date") >= pl.col("referral_date_o"))
        & (
            (pl.col("closure_date_o").is_not_null() & (pl.col("referral_date") < pl.col("closure_date_o")))
            | (pl.col("closure_date_o").is_null() & ~pl.col("referral_nfa_o").fill_null(False)
               & (pl.col("referral_date") <= period_end()))
        )
    )
    return _flag_rows(lf, pairs.filter(overlap.fill_null(False)))


def closure_date_has_reason(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8805: a closure date comes with a reason for closure."""
    return _ok(lf, pl.col("closure_date").is_null() | pl.col("closure_reason").is_not_null())


def closure_reason_has_date(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8810: a reason for closure comes with a closure date."""
    return _ok(lf, pl.col("closure_reason").is_null() | pl.col("closure_date").is_not_null())


def referral_by_census_end(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8600: the referral date is present and on or before 31 March."""
    return _ok(lf, within_year("referral_date", required=True, after_start=False))


def closure_in_census_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8620: a closure date falls within the census year."""
    return _ok(lf, within_year("closure_date"))


def cpp_start_by_census_end(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8720: the CPP start date is present and on or before 31 March."""
    return _ok(lf, within_year("start_date", required=True, after_start=False))


def cpp_end_in_census_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8930: a CPP end date falls within the census year."""
    return _ok(lf, within_year("end_date"))


def cpp_starts_after_referral(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 1105: a CPP starts on or after the referral date of its episode (``referral_date`` joined in)."""
    return _ok(lf, pl.col("start_date") >= pl.col("referral_date"))


def plan_start_by_census_end(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 4010: the CIN plan start date is present and on or before 31 March."""
    return _ok(lf, within_year("start_date", required=True, after_start=False))


def plan_end_in_census_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 4013: a CIN plan end date falls within the census year."""
    return _ok(lf, within_year("end_date"))


def icpc_in_census_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 8715: an initial child protection conference date falls within the census year."""
    return _ok(lf, within_year("icpc_date"))


def la_child_id_format(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CIN 1570/1580 (rules from 2024-25): LAchildID at most 20 characters, letters and digits only."""
    return _ok(lf, (start_year() < 2024) | pl.col("la_child_id").str.contains(r"^[A-Za-z0-9]{1,20}$"))


def _list_all(col: str, test: pl.Expr) -> pl.Expr:
    return pl.col(col).list.eval(test).list.all()


def disability_codes(col: str = "disabilities") -> pl.Expr:
    return _list_all(col, pl.element().is_in(DISABILITY))


def disability_none_alone(col: str = "disabilities") -> pl.Expr:
    has_none = pl.col(col).list.contains("NONE")
    return ~has_none | (pl.col(col).list.len() == 1)


def no_duplicates(col: str) -> pl.Expr:
    return pl.col(col).list.len() == pl.col(col).list.n_unique()


def factor_codes(col: str = "factors") -> pl.Expr:
    return _list_all(col, pl.element().is_in(ASSESSMENT_FACTORS))


def factor_21_alone(col: str = "factors") -> pl.Expr:
    return ~pl.col(col).list.contains("21") | (pl.col(col).list.len() == 1)


# --- SSDA903 rules ---------------------------------------------------------------------------------------------
_CHILD = [*RETURN, "child"]


def _episodes_in_order(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Episodes with their row number, sorted by child and start date as DfE's rules read them."""
    return (lf.with_row_index("_i")
            .sort([*_CHILD, "decom", "_i"], nulls_last=False)
            .with_columns(pl.int_range(pl.len()).over(_CHILD).alias("_n"),
                          pl.len().over(_CHILD).alias("_count")))


def episodes_do_not_overlap(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 501: an episode does not start before the previous episode of the child ended (nor while it is open)."""
    e = _episodes_in_order(lf).with_columns(
        pl.col("dec").shift(1).over(_CHILD).alias("_prev_dec"),
    )
    bad = (pl.col("_n") > 0) & pl.col("decom").is_not_null() & (
        pl.col("_prev_dec").is_null() | (pl.col("decom") < pl.col("_prev_dec"))
    )
    return _flag_rows(lf, e.filter(bad))


def x1_continuity(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 388: REC X1 means the next episode starts on the DEC; an episode followed the same day must end X1;
    the child's last episode cannot end X1."""
    e = _episodes_in_order(lf).with_columns(pl.col("decom").shift(-1).over(_CHILD).alias("_next_decom"))
    last = pl.col("_n") == pl.col("_count") - 1
    x1 = pl.col("rec") == "X1"
    ended = pl.col("dec").is_not_null()
    case1 = ~last & x1 & ended & pl.col("_next_decom").is_not_null() & (pl.col("dec") != pl.col("_next_decom"))
    case2 = ~last & ~x1 & pl.col("rec").is_not_null() & ended & (pl.col("dec") == pl.col("_next_decom"))
    case3 = last & ended & x1
    return _flag_rows(lf, e.filter((case1 | case2 | case3).fill_null(False)))


def dec_and_rec_together(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 148: DEC and REC are both present or both blank."""
    return _ok(lf, pl.col("dec").is_null() == pl.col("rec").is_null())


def decom_by_year_end(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 354: an episode does not start after 31 March of the collection year."""
    return _ok(lf, within_year("decom", after_start=False))


def dec_by_year_end(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 385: an episode does not end after 31 March of the collection year."""
    return _ok(lf, within_year("dec", after_start=False))


def not_v3_and_v4(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 426: a child's respite care is recorded under V3 or V4 in a year, never both."""
    both = (pl.col("ls") == "V3").any().over(_CHILD) & (pl.col("ls") == "V4").any().over(_CHILD)
    return _ok(lf, ~(pl.col("ls").is_in(["V3", "V4"]) & both))


def place_in_year_list(lf: pl.LazyFrame) -> pl.LazyFrame:
    """903 146: PLACE is a placement type of the year's code list."""
    new = start_year() >= PLACE_CODES_CHANGE
    p = pl.col("place")
    ok = p.is_null() | pl.when(new).then(p.is_in(PLACE_FROM_2025_26)).otherwise(p.is_in(PLACE_TO_2024_25))
    return _ok(lf, ok)
