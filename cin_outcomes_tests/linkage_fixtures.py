"""A hand-built little England for the linkage and outcome tests: six children in the at-31-March groups of
reporting year 2023-24 (academic year 2023/24), their returns, and pupil records written row by row.

The children (every outcome test uses them; each test writes its own module rows):

* ``A``: child in need (CINO) in two LAs, Camden ``202`` (``a1``) and Richmond upon Thames ``318`` (``r7``), same
  UPN, so one ``child_key``: counts in each LA and once in England and once in London.
* ``B``: on a child protection plan (CPPO) in Camden.
* ``C``: looked after for 12 months in Birmingham ``330``. The returns give a new UPN (``C_NEW``) the pupil data
  does not know; the CIN census former UPN (``C_OLD``) is the pupil's: matched through the former UPN. Foster
  placement (U6) at 31 March in a period of care that started on 10 June 2019 (an X1 chain whose first episode
  is only in the 2021-22 return): 57 completed months, band ``6. 48 to 59 months``.
* ``D``: looked after for less than 12 months in Birmingham, no UPN (UN4): never matched, but counted in the
  match rates' denominators. Children's home (K2) since 2 October 2023: 5 months, band 1.
* ``E``: CINO in Birmingham, with duplicate pupil records.
* ``P``, ``Q``: pupils in no social care group (All pupils comparison only).

Regions: Camden is Inner London, Richmond Outer London (both London), Birmingham West Midlands.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cin_outcomes.cohorts.rules import CHILD_COLUMNS
from cin_outcomes.linkage.children import cohort_children
from cin_outcomes.synthetic.npd_columns import MODULES
from cin_outcomes.tables import CIN_CHILDREN, CLA_EPISODES, CLA_HEADER, conform, empty
from cin_outcomes.upn import make_upn
from cin_outcomes.years import ReportingYear

D = dt.date
Y = ReportingYear(2023)          # reporting year 2023-24
AY = "2023/24"                   # its academic year
TP = "202324"

UPN = {
    "A": make_upn("202", 2001, 12, 1),
    "B": make_upn("202", 2001, 12, 2),
    "C_OLD": make_upn("330", 2001, 12, 3),
    "C_NEW": make_upn("330", 2001, 19, 3),
    "E": make_upn("330", 2001, 12, 5),
    "P": make_upn("318", 2001, 12, 8),
    "Q": make_upn("318", 2001, 12, 9),
}

#: (la_code, la_child_id, cohort UPN, child_key) of each child-in-LA row.
ROWS = {
    "A202": ("202", "a1", UPN["A"], "202:a1"),
    "A318": ("318", "r7", UPN["A"], "202:a1"),
    "B": ("202", "b1", UPN["B"], "202:b1"),
    "C": ("330", "c1", UPN["C_NEW"], "330:c1"),
    "D": ("330", "d1", None, "330:d1"),
    "E": ("330", "e1", UPN["E"], "330:e1"),
}
GROUP_ROWS = {
    "cin_at_31_march": ["A202", "A318", "B", "C", "D", "E"],
    "cino_at_31_march": ["A202", "A318", "E"],
    "cppo_at_31_march": ["B"],
    "cla_at_31_march": ["C", "D"],
    "cla_12_months_at_31_march": ["C"],
    "cla_less_than_12_months_at_31_march": ["D"],
}


def cohort_frame(rows: list[str], year: ReportingYear = Y) -> pl.DataFrame:
    recs = [dict(reporting_year=year.label, la_code=la, la_child_id=cid, upn=upn, birth_date=D(2012, 5, 1),
                 sex="F", ethnicity="WBRI", child_key=key) for la, cid, upn, key in (ROWS[r] for r in rows)]
    schema = {"reporting_year": pl.Utf8, "la_code": pl.Utf8, "la_child_id": pl.Utf8, "upn": pl.Utf8,
              "birth_date": pl.Date, "sex": pl.Utf8, "ethnicity": pl.Utf8, "child_key": pl.Utf8}
    return pl.DataFrame(recs, schema=schema).select(CHILD_COLUMNS)


def cohorts(year: ReportingYear = Y) -> dict[str, pl.DataFrame]:
    return {k: cohort_frame(v, year) for k, v in GROUP_ROWS.items()}


def cin_children(year: ReportingYear = Y) -> pl.DataFrame:
    rows = [dict(reporting_year=year.label, la_code=la, la_child_id=cid, upn=upn, former_upn=None,
                 upn_unknown=None if upn else "UN4") for la, cid, upn, _ in ROWS.values()]
    for r in rows:
        if r["la_child_id"] == "c1":
            r["former_upn"] = UPN["C_OLD"]
    return conform(pl.DataFrame(rows), CIN_CHILDREN)


def cla_header(year: ReportingYear = Y) -> pl.DataFrame:
    return conform(pl.DataFrame([
        dict(reporting_year=year.label, la_code="330", child="c1", upn=UPN["C_NEW"], sex="M", dob=D(2009, 2, 1)),
        dict(reporting_year=year.label, la_code="330", child="d1", upn="UN4", sex="M", dob=D(2010, 3, 1)),
    ]), CLA_HEADER)


def cla_episodes() -> list[pl.DataFrame]:
    """C's X1 chain across returns, and D's single episode (see the module docstring)."""
    def ep(year, child, decom, rne, place, dec=None, rec=None, ls="C2"):
        return dict(reporting_year=year, la_code="330", child=child, decom=decom, rne=rne, ls=ls, place=place,
                    dec=dec, rec=rec)
    y21 = [ep("2021-22", "c1", D(2019, 6, 10), "S", "U4", D(2022, 1, 5), "X1"),
           ep("2021-22", "c1", D(2022, 1, 5), "P", "U6")]
    y22 = [ep("2022-23", "c1", D(2022, 1, 5), "P", "U6")]
    y23 = [ep("2023-24", "c1", D(2022, 1, 5), "P", "U6"),
           ep("2023-24", "d1", D(2023, 10, 2), "S", "K2", ls="C1")]
    return [conform(pl.DataFrame(rows), CLA_EPISODES) for rows in (y21, y22, y23)]


def children(year: ReportingYear = Y) -> pl.DataFrame:
    """The linkage frame of the six children."""
    return cohort_children(cohorts(year), year, cin_children=[cin_children(year)], cla_header=[cla_header(year)],
                           cla_episodes=cla_episodes())


# --- pupil records ---------------------------------------------------------------------------------------------

def module(name: str, rows: list[dict]) -> pl.DataFrame:
    """An NPD module frame from rows (missing columns null)."""
    return conform(pl.DataFrame(rows, infer_schema_length=None), MODULES[name]) if rows else empty(MODULES[name])


def census_row(upn: str, la: str, laestab: int, phase: str, academy: bool, gender: str, ethnic: str, sen: str,
               need: str | None = None, fsm: bool = False, enrol: str = "C", entry: dt.date = D(2021, 9, 1),
               nc: str = "6", urn: int | None = None, ay: str = AY) -> dict:
    return dict(AcademicYear=ay, CensusDate=D(2024, 1, 18), UPN=upn, LA=la, LAESTAB=laestab,
                URN=urn or 100000 + laestab % 100000, PhaseType=phase, AcademyFlag=academy, EnrolStatus=enrol,
                EntryDate=entry, NCyearActual=nc, Gender=gender, EthnicGroupMajor=ethnic, SENprovision=sen,
                PrimarySENtype=need, FSMeligible=fsm)


PRIMARY, SECONDARY, SPECIAL = "State-funded primary", "State-funded secondary", "Special"
AP = "State-funded alternative provision school"


def census(ay: str = AY) -> pl.DataFrame:
    """Spring census 2023/24. E has two records: the main registration (primary, LA maintained) wins over the
    subsidiary dual registration (special academy)."""
    return module("school_census", [
        census_row(UPN["A"], "202", 2022001, PRIMARY, False, "F", "WHIT", "K", "SEMH", fsm=True, ay=ay),
        census_row(UPN["B"], "202", 2024001, SECONDARY, True, "M", "BLAC", "N", fsm=True, nc="9", ay=ay),
        census_row(UPN["C_OLD"], "330", 3304001, SECONDARY, True, "M", "MIXD", "E", "ASD", nc="9", ay=ay),
        census_row(UPN["E"], "330", 3302001, PRIMARY, False, "F", "ASIA", "K", "SLCN", fsm=True,
                   entry=D(2020, 9, 1), ay=ay),
        census_row(UPN["E"], "330", 3307001, SPECIAL, True, "F", "ASIA", "E", "ASD", enrol="S",
                   entry=D(2023, 11, 1), ay=ay),
        census_row(UPN["P"], "318", 3182001, PRIMARY, True, "F", "WHIT", "N", ay=ay),
        census_row(UPN["Q"], "318", 3184001, SECONDARY, False, "M", "CHIN", "E", "ASD", nc="9", ay=ay),
    ])


def cell(agg: pl.DataFrame, level: str, group: str, la: str | None = None, region: str | None = None,
         **by: str) -> dict:
    """The one row of ``agg`` for a unit, group and breakdown items (``Total`` for breakdowns not named)."""
    f = (pl.col("geographic_level") == level) & (pl.col("social_care_group") == group)
    if la is not None:
        f &= pl.col("old_la_code") == la
    if region is not None:
        f &= pl.col("region_code") == region
    for c in [c for c in agg.columns if c in by or c in BREAKDOWN_COLUMNS]:
        f &= pl.col(c) == by.get(c, "Total")
    rows = agg.filter(f)
    assert rows.height == 1, f"{rows.height} rows for {level} {la or region or ''} {group} {by}"
    return rows.row(0, named=True)


BREAKDOWN_COLUMNS = ("sex", "ethnicity_major", "sen_provision", "sen_primary_need", "phase_type_grouping",
                     "establishment_type_group", "placement", "period_of_care_length")
LONDON, INNER, OUTER, WEST_MIDLANDS = "E12000007", "E13000001", "E13000002", "E12000005"
