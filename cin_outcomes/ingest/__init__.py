"""Ingest: every LA's CIN census and SSDA903 returns, and the NPD modules, read into typed national tables.

- :func:`parse_cin_census` and :func:`parse_ssda903` read one LA's return into the canonical tables of
  :mod:`cin_outcomes.tables`; :func:`parse_year` reads a whole year from the landing folder, reporting each
  unusable file by name without losing the other LAs; :func:`read_npd_module` reads one pupil module.
- :func:`validate_table` checks a table against its pandera model (types, code lists, formats and the DfE return
  rules the cohorts rely on) and counts failures per rule, located by LA, file and row, never by child.
- :mod:`cin_outcomes.ingest.assets` turns these into the ``ingest`` asset group with blocking checks per year.
"""

from cin_outcomes.ingest.cin_census import parse_cin_census
from cin_outcomes.ingest.report import CheckOutcome, IngestError, Problem
from cin_outcomes.ingest.returns import IngestResult, parse_year
from cin_outcomes.ingest.schemas import MODELS, validate_table
from cin_outcomes.ingest.ssda903 import parse_ssda903

__all__ = [
    "MODELS", "CheckOutcome", "IngestError", "IngestResult", "Problem", "parse_cin_census", "parse_ssda903",
    "parse_year", "validate_table",
]
