"""Hand-built linked outcome datasets for the table tests: a few children per LA and group, every figure chosen
so that the published cells can be worked out by hand."""

from __future__ import annotations

import polars as pl

from cin_outcomes.outcomes.datasets import empty_dataset
from cin_outcomes.outcomes.families import FAMILIES

#: A child's groups from their place in the hierarchy (every group they are in at 31 March).
MEMBERSHIP = {
    "CINO": ("CINO at 31 March", "CIN at 31 March"),
    "CPPO": ("CPPO at 31 March", "CIN at 31 March"),
    "CLA12": ("CLA 12 months at 31 March", "CLA at 31 March", "CIN at 31 March"),
    "CLA<12": ("CLA less than 12 months at 31 March", "CLA at 31 March", "CIN at 31 March"),
}
BASE = {"sex": "Female", "ethnicity_major": "White", "sen_provision": "No SEN provision",
        "sen_primary_need": "No primary need", "phase_type_grouping": "State-funded secondary",
        "establishment_type_group": "Academy", "matched_by": "UPN"}


def linked(family: str, year: str, children: list[dict], all_pupils: list[dict] = ()) -> pl.DataFrame:
    """A linked dataset of ``family``: each child dict has ``la``, ``key``, ``kind`` (``CINO``, ``CPPO``,
    ``CLA12``, ``CLA<12``) and outcome or breakdown columns; one row per group the child is in. Extra rows
    (``rows`` list) per child give pre-grouped rows (absence by phase)."""
    from cin_outcomes.years import ReportingYear

    y = ReportingYear.parse(year)
    schema = empty_dataset(FAMILIES[family]).schema
    rows = []
    for c in children:
        c = dict(c)
        kind, la, key = c.pop("kind"), c.pop("la"), c.pop("key")
        variants = c.pop("rows", [{}])
        for group in MEMBERSHIP[kind]:
            cla = group.startswith("CLA")
            for v in variants:
                rows.append({**BASE, "reporting_year": y.label, "time_period": y.time_period,
                             "social_care_group": group, "la_code": la, "child_key": key,
                             "placement": c.get("placement") if cla else None,
                             "period_of_care_length": c.get("period_of_care_length") if cla else None,
                             **{k: val for k, val in c.items() if k not in ("placement", "period_of_care_length")},
                             **v})
    for i, p in enumerate(all_pupils):
        p = dict(p)
        variants = p.pop("rows", [{}])
        for v in variants:
            rows.append({**BASE, "reporting_year": y.label, "time_period": y.time_period,
                         "social_care_group": "All pupils comparison", "la_code": None, "child_key": f"p{i}",
                         "matched_by": None, "placement": None, "period_of_care_length": None, **p, **v})
    return pl.DataFrame(rows, schema=schema)


def ks4_child(la: str, key: str, kind: str, att8: float, l95: bool = False, l94: bool = False,
              p8: float | None = 0.0, **extra) -> dict:
    return {"la": la, "key": key, "kind": kind, "KS4_ATT8": att8, "KS4_L2BASICS_95": l95, "KS4_L2BASICS_94": l94,
            "KS4_EBACC_E_PTQ_EE": False, "KS4_EBACC_94": False, "KS4_EBACC_95": False, "KS4_EBACCAPS": 1.0,
            "KS4_APENG_91": 4, "KS4_HGMATH_91": 4, "KS4_INP8CALC": p8 is not None, "KS4_P8SCORE": p8,
            "sd_p8score": 1.0, **extra}
