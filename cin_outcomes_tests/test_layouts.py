"""The shipped layouts of the published LA files: current with the real files, and saying what domain.md §9.2 says."""

import importlib.util
import json
from pathlib import Path

import pytest

from cin_outcomes.publication.layouts import LA_FILES, layout, layouts

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT.parent / "shared" / "reference" / "published"


def test_every_la_file_has_a_layout():
    assert tuple(layouts()) == LA_FILES
    assert layout("ks4_la") is layout("ks4_la.csv")
    with pytest.raises(KeyError, match="no published layout"):
        layout("ks1_la.csv")


def test_shipped_json_is_what_the_script_derives_from_the_real_files():
    if not PUBLISHED.exists():
        pytest.skip("published files not available")
    spec = importlib.util.spec_from_file_location("derive_layouts", ROOT / "scripts" / "derive_layouts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shipped = json.loads((ROOT / "cin_outcomes" / "publication" / "layouts.json").read_text(encoding="utf-8"))
    for name in LA_FILES:
        assert mod.measure_file(PUBLISHED / name) == shipped["files"][name], name


def test_ks4_layout_column_order_and_decimal_places():
    ks4 = layout("ks4_la.csv")
    assert ks4.columns[:12] == ("time_period", "time_identifier", "geographic_level", "country_code",
                                "country_name", "region_code", "region_name", "old_la_code", "la_name",
                                "new_la_code", "social_care_group", "version")
    assert ks4.filter("social_care_group").values == ("CINO at 31 March", "CLA 12 months at 31 March",
                                                      "CPPO at 31 March")
    dp = {i.name: i.dp for i in ks4.indicators}
    # domain.md §9.2: KS4 percentages and Att8 1 dp; EBacc APS and P8 2 dp
    assert (dp["pt_l2basics_94"], dp["avg_att8"], dp["avg_ebaccaps"], dp["avg_p8score"]) == (1, 1, 2, 2)
    assert ks4.indicator("pt_l2basics_94").unit == "%" and ks4.indicator("t_pupils").kind == "count"
    assert ks4.indicator("t_att8").kind == "total" and ks4.indicator("p8score_CI_low").kind == "statistic"
    # counts rounded to 10 above LA level; LA counts shown from 6
    assert ks4.indicator("t_pupils").national_regional_multiple_of_10 is True
    assert ks4.indicator("t_pupils").la_smallest_nonzero_shown == 6
    # Progress 8 not produced in 2019/20, 2020/21 and 2024/25
    assert ks4.indicator("avg_p8score").not_produced_periods == ("201920", "202021", "202425")


def test_other_files_decimal_places_symbols_and_filters():
    assert {i.dp for i in layout("ks2_la").indicators if i.kind == "percentage"} == {0}
    assert set(layout("ks2_la").indicator("pt_rwm_met_expected_standard").not_produced_periods) == {"201920",
                                                                                                   "202021"}
    assert {i.dp for i in layout("absence_la").indicators if i.kind == "percentage"} == {1}
    assert {i.dp for i in layout("permanent_exclusions_and_suspensions_la").indicators
            if i.kind == "percentage"} == {2}
    assert {i.dp for i in layout("sen_la").indicators if i.kind == "percentage"} == {1}
    absence = layout("absence_la")
    assert absence.filter("phase_type_grouping").has_total and absence.filter("absence_terms").single_level
    assert absence.indicator("pt_sess_unauthorised").symbols["k"] == 4
    assert "CLA 12 months at 31 March" not in layout("fsm_la").filter("social_care_group").values
    assert ("E13000001", "Inner London") in layout("ks2_la").regions
