"""Pupil characteristics used as breakdowns, as the outcome files spell them, taken from the pupil data.

Every breakdown of an outcome (sex, ethnicity, SEN provision and primary need, school phase, academy or LA
maintained) comes from the pupil's spring school census record of the outcome's academic year, so that a social
care group and the ``All pupils comparison`` are described by the same source. Where a pupil has no census record
that year (a key stage result from a school outside the census), the item is ``Unknown``, except sex, which the
key stage modules record themselves; for children in a social care group, sex and ethnicity then fall back to
the social care return.

Labels follow the EES harmonised filters (dfe-published-data-qa ``data/sen.csv``, ``data/school-types.csv``) and
the outcome files' spellings (domain.md §4.3, §7.3): ethnicity major groups without spaces around "/", Chinese
within Asian/Asian British (GSS harmonised standard).
"""

from __future__ import annotations

import polars as pl

from cin_outcomes.synthetic.npd_columns import ETHNIC_MAJOR, PHASES

UNKNOWN = "Unknown"
TOTAL = "Total"

SEX = {"M": "Male", "F": "Female"}
SEX_ITEMS = ("Female", "Male", UNKNOWN)

#: NPD ``EthnicGroupMajor`` -> ``ethnicity_major`` as in the outcome files.
ETHNICITY_MAJOR = {
    "WHIT": "White",
    "MIXD": "Mixed/Multiple ethnic groups",
    "ASIA": "Asian/Asian British",
    "CHIN": "Asian/Asian British",
    "BLAC": "Black/African/Caribbean/Black British",
    "AOEG": "Other ethnic group",
    "UNCL": UNKNOWN,
}
ETHNICITY_ITEMS = ("Asian/Asian British", "Black/African/Caribbean/Black British", "Mixed/Multiple ethnic groups",
                   "Other ethnic group", "White", UNKNOWN)
#: The 20 minor codes of the CIN census and SSDA903 -> ``ethnicity_major`` (fallback for children without a census
#: record).
ETHNICITY_MINOR_TO_MAJOR = {minor: ETHNICITY_MAJOR[major] for minor, major in ETHNIC_MAJOR.items()}

#: NPD ``SENprovision`` -> ``sen_provision`` (EES harmonised items).
SEN_PROVISION = {
    "E": "Education, health and care plan",
    "K": "SEN support / SEN without an EHC plan",
    "N": "No SEN provision",
}
SEN_PROVISION_ITEMS = (*SEN_PROVISION.values(), UNKNOWN)

#: NPD ``PrimarySENtype`` -> ``sen_primary_need`` (EES harmonised items).
PRIMARY_NEED = {
    "ASD": "Autistic spectrum disorder",
    "HI": "Hearing impairment",
    "MLD": "Moderate learning difficulty",
    "MSI": "Multi-sensory impairment",
    "NSA": "SEN support but no specialist assessment of type of need",
    "OTH": "Other difficulty or disability",
    "PD": "Physical disability",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "SLD": "Severe learning difficulty",
    "SPLD": "Specific learning difficulty",
    "VI": "Vision impairment",
}
NO_PRIMARY_NEED = "No primary need"
PRIMARY_NEED_ITEMS = (*PRIMARY_NEED.values(), NO_PRIMARY_NEED, UNKNOWN)

#: ``phase_type_grouping`` items: the outcome files' school phase labels.
PHASE_ITEMS = (*PHASES, UNKNOWN)
ACADEMY, LA_MAINTAINED = "Academy", "LA maintained"
ESTABLISHMENT_GROUP_ITEMS = (ACADEMY, LA_MAINTAINED, UNKNOWN)

#: Breakdown column -> its items (without ``Total``), for completing the matrix.
BREAKDOWN_ITEMS: dict[str, tuple[str, ...]] = {
    "sex": SEX_ITEMS,
    "ethnicity_major": ETHNICITY_ITEMS,
    "sen_provision": SEN_PROVISION_ITEMS,
    "sen_primary_need": PRIMARY_NEED_ITEMS,
    "phase_type_grouping": PHASE_ITEMS,
    "establishment_type_group": ESTABLISHMENT_GROUP_ITEMS,
}
#: The pupil-data breakdown columns every linked dataset carries.
PUPIL_BREAKDOWNS = tuple(BREAKDOWN_ITEMS)


def sex_label(code: str | pl.Expr) -> pl.Expr:
    c = pl.col(code) if isinstance(code, str) else code
    return c.replace_strict(SEX, default=None, return_dtype=pl.Utf8)


def characteristic_exprs() -> dict[str, pl.Expr]:
    """The breakdown columns as expressions over spring census columns.

    ``sen_primary_need`` is ``No primary need`` for pupils without SEN provision, and ``Unknown`` for a pupil
    with provision but no type recorded.
    """
    sen = pl.col("SENprovision")
    return dict(
        sex=sex_label("Gender").fill_null(UNKNOWN),
        ethnicity_major=pl.col("EthnicGroupMajor").replace_strict(ETHNICITY_MAJOR, default=UNKNOWN,
                                                                  return_dtype=pl.Utf8),
        sen_provision=sen.replace_strict(SEN_PROVISION, default=UNKNOWN, return_dtype=pl.Utf8),
        sen_primary_need=pl.when(sen == "N").then(pl.lit(NO_PRIMARY_NEED))
        .otherwise(pl.col("PrimarySENtype").replace_strict(PRIMARY_NEED, default=UNKNOWN, return_dtype=pl.Utf8))
        .fill_null(UNKNOWN),
        phase_type_grouping=pl.col("PhaseType").fill_null(UNKNOWN),
        establishment_type_group=pl.when(pl.col("AcademyFlag")).then(pl.lit(ACADEMY))
        .when(pl.col("AcademyFlag").not_()).then(pl.lit(LA_MAINTAINED)).otherwise(pl.lit(UNKNOWN)),
    )


def pupil_characteristics(census: pl.DataFrame) -> pl.DataFrame:
    """``upn`` and the breakdown columns of each pupil of a (de-duplicated) spring census frame."""
    return census.select(upn=pl.col("UPN"), **characteristic_exprs())


def unknown_characteristics() -> dict[str, pl.Expr]:
    """Fill expressions for pupils without a census record (sex handled by the caller)."""
    return {c: pl.col(c).fill_null(UNKNOWN) for c in PUPIL_BREAKDOWNS}
