"""NPD module schemas (``npd_columns``) and the NPD writer (``writers/npd.py``): layout, types, determinism."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from cin_outcomes.synthetic.education import ModuleStore
from cin_outcomes.synthetic.npd_columns import (ESTABLISHMENT_TYPES, LA_COLUMN, MODULES, PHASES, SCHOOLS,
                                                UPN_COLUMN, academic_year_label, module_available,
                                                progress8_produced)
from cin_outcomes.synthetic.writers.npd import npd_path, write_npd, write_npd_module
from cin_outcomes.years import ReportingYear


def test_module_names_and_key_columns():
    assert list(MODULES) == ["school_census", "eyfsp", "phonics", "ks1", "ks2", "ks4", "absence", "exclusions",
                             "ap_census"]
    assert UPN_COLUMN["school_census"] == "UPN" and UPN_COLUMN["ks2"] == "KS2_UPN" and UPN_COLUMN["eyfsp"] == "FSP_UPN"
    assert LA_COLUMN["ks4"] == "KS4_LA" and LA_COLUMN["absence"] == "LA"
    for name in ("UPN", "LA", "URN", "LAESTAB", "NCyearActual", "SENprovision", "PrimarySENtype", "FSMeligible",
                 "EthnicGroupMajor", "Gender", "PhaseType", "TypeOfEstablishment", "AcademyFlag"):
        assert name in MODULES["school_census"]
    for name in ("KS2_READSCORE", "KS2_MATSCORE", "KS2_GPSSCORE", "KS2_WRITTAOUTCOME", "KS2_SCITAOUTCOME"):
        assert name in MODULES["ks2"]
    assert MODULES["ks2"]["KS2_READSCORE"] == pl.Int16 and MODULES["ks4"]["KS4_ATT8"] == pl.Float32
    assert sum(bool(re.fullmatch(r"FSP_[A-Z]{3}_[GE]\d\d", c)) for c in MODULES["eyfsp"]) == 34  # 17 + 17 ELGs
    assert {p for phases, _ in ESTABLISHMENT_TYPES.values() for p in phases} == set(PHASES)
    assert list(SCHOOLS)[:2] == ["AcademicYear", "URN"]


@pytest.mark.parametrize("module,year,available", [
    ("ks2", 2018, True), ("ks2", 2019, False), ("ks2", 2020, False), ("ks2", 2021, True),
    ("ks1", 2022, True), ("ks1", 2023, False), ("ks1", 2024, False), ("eyfsp", 2020, False),
    ("phonics", 2019, False), ("ks4", 2019, True), ("ks4", 2020, True), ("absence", 2019, True),
    ("exclusions", 2020, True), ("school_census", 2013, True),
])
def test_years_not_collected_are_absent(module, year, available):
    assert module_available(module, ReportingYear(year)) is available


def test_progress8_years_and_labels():
    assert [y for y in range(2013, 2025) if progress8_produced(y)] == [2015, 2016, 2017, 2018, 2021, 2022, 2023]
    assert academic_year_label("2024-25") == "2024/25" and academic_year_label(2009) == "2009/10"
    with pytest.raises(KeyError):
        module_available("ks3", 2020)


def _frame() -> pl.DataFrame:
    rows = [{"AcademicYear": "2023/24", "UPN": "A123456789012", "LA": "201", "LAESTAB": 2012000, "URN": 100001,
             "PhaseType": "State-funded primary", "NCyearActual": "3", "Category": "SUSP", "ExclusionReason": "PD",
             "ExclusionStartDate": dt.date(2023, 10, 2), "ExclusionSessions": 2}]
    return pl.DataFrame(rows, schema=MODULES["exclusions"])


def test_write_npd_module_is_deterministic_and_atomic(tmp_path):
    df = _frame()
    p1, p2 = tmp_path / "a" / "exclusions.parquet", tmp_path / "b" / "exclusions.parquet"
    write_npd_module(df, p1)
    write_npd_module(df, p2)
    assert p1.read_bytes() == p2.read_bytes()
    assert not list(tmp_path.rglob("*.partial"))
    back = pl.read_parquet(p1)
    assert back.schema == pl.Schema(MODULES["exclusions"]) and back.equals(df)


@pytest.mark.parametrize("spill", [False, True])
def test_write_npd_layout_from_memory_or_spilled_store(tmp_path, spill):
    store = ModuleStore(spill=spill)
    y = ReportingYear(2023)
    store.put(y, "exclusions", _frame())
    assert store[(y, "exclusions")].equals(_frame()) and len(store) == 1 and store.for_year(y) == ["exclusions"]

    class Ed:
        modules = store

    written = write_npd(Ed(), tmp_path / "landing")
    assert written == [tmp_path / "landing" / "2023-24" / "npd" / "exclusions.parquet"]
    assert written[0] == npd_path(tmp_path / "landing", y, "exclusions")
    write_npd_module(_frame(), tmp_path / "direct.parquet")
    assert written[0].read_bytes() == (tmp_path / "direct.parquet").read_bytes()
    assert write_npd(Ed(), tmp_path / "other", years=[ReportingYear(2022)]) == []
