"""The canonical child-level tables: one schema, shared by the synthetic generator and the ingest layer.

The generator builds these frames and writes them out in the real return formats (CIN census XML, SSDA903 CSV);
ingest parses the landing files back into exactly these frames, so a round trip is an identity. Every table has
``reporting_year`` (``2024-25``) and ``la_code`` (the 3-digit DfE LA number of the returning LA) first.

Codes are kept as returned, except sex, which is normalised to ``M``/``F``/``U`` whatever the year's code list
(``1``/``2``/``0``/``9`` before 2024-25).
"""

from __future__ import annotations

import polars as pl

Date = pl.Date
Str = pl.Utf8
KEY = {"reporting_year": Str, "la_code": Str}

# --- CIN census (one XML file per LA and year) ---------------------------------------------------------------
CIN_CHILDREN = {**KEY, "la_child_id": Str, "upn": Str, "former_upn": Str, "upn_unknown": Str,
                "birth_date": Date, "expected_birth_date": Date, "sex": Str, "death_date": Date,
                "ethnicity": Str, "disabilities": pl.List(Str)}
CIN_EPISODE_KEY = {**KEY, "la_child_id": Str, "episode_number": pl.Int16}
CIN_EPISODES = {**CIN_EPISODE_KEY, "referral_date": Date, "referral_source": Str, "primary_need": Str,
                "closure_date": Date, "closure_reason": Str, "referral_nfa": pl.Boolean,
                "date_of_initial_cpc": Date}
CIN_ASSESSMENTS = {**CIN_EPISODE_KEY, "start_date": Date, "internal_review_date": Date,
                   "authorisation_date": Date, "factors": pl.List(Str)}
CIN_PLANS = {**CIN_EPISODE_KEY, "start_date": Date, "end_date": Date}
SECTION47 = {**CIN_EPISODE_KEY, "start_date": Date, "icpc_target_date": Date, "icpc_date": Date,
             "icpc_not_required": pl.Boolean}
CHILD_PROTECTION_PLANS = {**CIN_EPISODE_KEY, "start_date": Date, "end_date": Date, "initial_category": Str,
                          "latest_category": Str, "number_of_previous_cpp": pl.Int16,
                          "review_dates": pl.List(Date)}

# --- SSDA903 (one set of CSV tables per LA and year); columns are the 903 names in lower case ---------------
CLA_KEY = {**KEY, "child": Str}
CLA_HEADER = {**CLA_KEY, "sex": Str, "dob": Date, "ethnic": Str, "upn": Str, "mother": pl.Int8, "mc_dob": Date}
CLA_EPISODES = {**CLA_KEY, "decom": Date, "rne": Str, "ls": Str, "cin": Str, "place": Str,
                "place_provider": Str, "dec": Date, "rec": Str, "reason_place_change": Str,
                "home_post": Str, "pl_post": Str, "urn": Str}
CLA_UASC = {**CLA_KEY, "sex": Str, "dob": Date, "duc": Date}
CLA_REVIEWS = {**CLA_KEY, "dob": Date, "review": Date, "review_code": Str}
CLA_OC2 = {**CLA_KEY, "dob": Date, "sdq_score": pl.Int16, "sdq_reason": Str, "convicted": pl.Int8,
           "health_check": pl.Int8, "immunisations": pl.Int8, "teeth_check": pl.Int8,
           "health_assessment": pl.Int8, "substance_misuse": pl.Int8, "intervention_received": pl.Int8,
           "intervention_offered": pl.Int8}
CLA_OC3 = {**CLA_KEY, "dob": Date, "in_touch": Str, "activ": Str, "accom": Str}
CLA_AD1 = {**CLA_KEY, "dob": Date, "date_int": Date, "date_match": Date, "foster_care": pl.Int8,
           "nb_adoptr": pl.Int8, "sex_adoptr": Str, "ls_adoptr": Str}
CLA_PLACED_ADOPTION = {**CLA_KEY, "dob": Date, "date_placed": Date, "date_placed_ceased": Date,
                       "reason_placed_ceased": Str}
CLA_PREV_PERM = {**CLA_KEY, "dob": Date, "prev_perm": Str, "la_perm": Str, "date_perm": Date}
CLA_MISSING = {**CLA_KEY, "dob": Date, "missing": Str, "mis_start": Date, "mis_end": Date}
CLA_SW_EPISODES = {**CLA_KEY, "dob": Date, "sw_id": Str, "sw_decom": Date, "sw_dec": Date, "sw_reason": Str}

#: SSDA903 table name (as DfE names it, and as the CSV file is named on landing) -> (exact CSV columns, schema).
SSDA903_TABLES: dict[str, dict[str, pl.DataType]] = {
    "Header": CLA_HEADER, "Episodes": CLA_EPISODES, "UASC": CLA_UASC, "Reviews": CLA_REVIEWS,
    "OC2": CLA_OC2, "OC3": CLA_OC3, "AD1": CLA_AD1, "PlacedAdoption": CLA_PLACED_ADOPTION,
    "PrevPerm": CLA_PREV_PERM, "Missing": CLA_MISSING, "SWEpisodes": CLA_SW_EPISODES,
}

#: CIN census table name -> schema.
CIN_TABLES: dict[str, dict[str, pl.DataType]] = {
    "cin_children": CIN_CHILDREN, "cin_episodes": CIN_EPISODES, "cin_assessments": CIN_ASSESSMENTS,
    "cin_plans": CIN_PLANS, "section47": SECTION47, "child_protection_plans": CHILD_PROTECTION_PLANS,
}


def ssda903_csv_columns(table: str) -> list[str]:
    """The exact upper-case column set DfE's 903 tools recognise the table by."""
    return [c.upper() for c in SSDA903_TABLES[table] if c not in KEY]


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the table's schema."""
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast ``df`` to exactly the schema's columns, in order (missing columns become null)."""
    return df.select([
        (pl.col(c) if c in df.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()
    ])
