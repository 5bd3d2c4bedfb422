"""The published files' specifications: our LA files have the real files' names, headers, filter values, decimal
places and symbol conventions; every file's metadata is valid; labels and filters are what EES expects."""

from pathlib import Path

import polars as pl
import pytest

from cin_outcomes.cohorts.spec import COHORTS
from cin_outcomes.publication.layouts import LA_FILES, layout
from cin_outcomes.publication.screener import meta_frame
from cin_outcomes.tabulation.spec import LA_GROUPS, NATIONAL_GROUPS, TABLES, indicators_for

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "published"
REAL = [t for t in TABLES.values() if t.real_file]


def _real(name: str) -> pl.DataFrame:
    path = PUBLISHED / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy").rename(lambda c: c.lstrip("\ufeff"))


def test_every_real_la_file_is_reproduced_under_its_own_name():
    assert sorted(t.real_file for t in REAL) == sorted(LA_FILES)
    assert all(t.file_name == t.real_file for t in REAL)
    assert "eyfsp_la" in TABLES and TABLES["eyfsp_la"].real_file is None


@pytest.mark.parametrize("spec", REAL, ids=lambda t: t.stem)
def test_la_file_header_is_the_real_header(spec):
    real = _real(spec.real_file)
    assert spec.columns == tuple(real.columns)
    assert spec.columns == layout(spec.real_file).columns


@pytest.mark.parametrize("spec", REAL, ids=lambda t: t.stem)
def test_la_file_filter_values_include_every_real_value(spec):
    real = _real(spec.real_file)
    for f in spec.filters:
        real_values = set(real[f.name].unique().to_list())
        ours = set(f.items)
        assert real_values <= ours, (f.name, real_values - ours)
    # the real files' groups plus, as the 2021 response says, all CIN and CLA less than 12 months
    assert set(spec.groups) <= set(LA_GROUPS)
    assert set(real["social_care_group"].unique().to_list()) <= set(spec.groups)


@pytest.mark.parametrize("spec", REAL, ids=lambda t: t.stem)
def test_la_file_decimal_places_and_units_are_the_real_ones(spec):
    lay = layout(spec.real_file)
    meta = {r.col_name: r for r in spec.meta_rows()}
    for ind in lay.indicators:
        assert meta[ind.name].indicator_dp == ind.dp, ind.name
        assert meta[ind.name].indicator_unit == ind.unit, ind.name


def _possible_symbols(ind, spec) -> set[str]:
    """Symbols the primary suppression stage can print for an indicator of this spec."""
    out = {"x", "c"}
    if ind.denominator:
        out.add("z")
    if ind.kind in ("percentage", "average", "statistic") and spec.suppression.low_symbol:
        out.add(spec.suppression.low_symbol)
    return out


@pytest.mark.parametrize("spec", REAL, ids=lambda t: t.stem)
def test_la_file_symbol_use_matches_the_real_file(spec):
    """Every symbol a real column uses, ours can print in that column; and ours never prints z for a column
    that is the row's cohort (the real files print 0), nor any symbol outside c, x, z, k."""
    real = _real(spec.real_file)
    by_name = {i.name: i for i in spec.indicators}
    for col in spec.indicator_names:
        used = {v for v in real[col].unique().to_list() if v is not None and not v.lstrip("-").replace(".", "")
                .isdigit()}
        possible = _possible_symbols(by_name[col], spec)
        assert possible <= {"c", "x", "z", "k"}
        # the 2022 SEN file prints z under a suppressed cohort (an earlier rule); k appears in 4 real absence
        # cells and ours can print it there too
        assert used <= possible | ({"z"} if spec.stem == "sen_la" else set()), (col, used - possible)
    if spec.cohort:
        assert "z" not in _possible_symbols(by_name[spec.cohort], spec)


def test_national_files_cover_every_group_and_the_comparison():
    for stem, spec in TABLES.items():
        if not stem.endswith("_national"):
            continue
        assert spec.groups[0] == "All pupils comparison"
        assert set(spec.groups) <= set(NATIONAL_GROUPS)
        for f in spec.filters_of("breakdown"):
            assert f.items[0] == "Total", (stem, f.name)
        assert spec.levels == ("National",)
    assert TABLES["ks4_national"].groups == NATIONAL_GROUPS == ("All pupils comparison",
                                                                *(c.label for c in COHORTS))
    # FSM is not published for children looked after
    assert not any("CLA" in g for g in TABLES["fsm_national"].groups + TABLES["fsm_la"].groups)


def test_every_rate_comes_with_its_numerator_and_denominator():
    for stem, spec in TABLES.items():
        if spec.real_file:
            continue  # the real LA layouts decide their own columns (KS2 LA files have no t_ for avg ELGs ...)
        names = set(spec.indicator_names)
        for ind in spec.indicators:
            if ind.kind in ("percentage", "average") and stem != "eyfsp_la":
                assert ind.numerator in names and ind.denominator in names, (stem, ind.name)


@pytest.mark.parametrize("spec", list(TABLES.values()), ids=lambda t: t.stem)
def test_metadata_is_valid_for_ees(spec):
    meta = meta_frame(spec.meta_rows())
    assert meta["col_name"].n_unique() == meta.height
    assert meta["label"].n_unique() == meta.height
    assert all(meta["label"].str.len_chars() > 0)
    ind = meta.filter(pl.col("col_type") == "Indicator")
    assert ind["indicator_dp"].is_in([str(i) for i in range(0, 9)]).all()
    assert set(ind["indicator_unit"].to_list()) <= {"", "%"}
    # SEN files keep DfE's names and are screened without the harmonised-names check (and say so)
    assert spec.harmonised == (spec.source != "sen")
    if not spec.harmonised:
        assert any("harmonised" in n for n in spec.notes)


def test_version_filter_on_attainment_files_only():
    versioned = {s for s, t in TABLES.items() if t.versioned}
    assert versioned == {"ks2_la", "ks4_la", "ks1_national", "ks2_national", "ks4_national"}
    assert TABLES["ks4_la"].filter("version").items == ("Revised", "Final")


def test_absence_la_terms_and_phase_filters_as_real():
    spec = TABLES["absence_la"]
    assert spec.filter("absence_terms").kind == "fixed" and spec.filter("absence_terms").items == ("six half terms",)
    assert spec.filter("phase_type_grouping").items == layout("absence_la").filter("phase_type_grouping").values
    # the fixed filter has no metadata row, as in DfE's file
    assert "absence_terms" not in [r.col_name for r in spec.meta_rows()]


def test_indicator_kinds_follow_the_measures():
    ks4 = {i.name: i for i in TABLES["ks4_la"].indicators}
    assert (ks4["t_pupils"].kind, ks4["t_att8"].kind, ks4["avg_att8"].kind) == ("denominator", "total", "average")
    assert (ks4["t_l2basics_95"].kind, ks4["t_l2basics_95"].denominator) == ("count", "t_pupils")
    assert (ks4["p8score_CI_low"].kind, ks4["p8score_CI_low"].denominator) == ("statistic", "t_inp8calc")
    assert ks4["t_inp8calc"].denominator is None  # DfE prints 0 Progress 8 pupils as 0
    absence = {i.name: i for i in TABLES["absence_la"].indicators}
    assert absence["t_sess_possible"].denominator == "t_pupils"  # DfE prints z sessions of 0 pupils
    ks2 = {i.name: i for i in TABLES["ks2_la"].indicators}
    assert ks2["pt_read_met_expected_standard"].min_denominator == 11
    assert ks2["t_read_progress_eligible_pupils"].denominator == "t_read_eligible_pupils"
    with pytest.raises(KeyError, match="neither a measure"):
        indicators_for(["t_no_such_thing"], ())


def test_la_groups_are_the_31_march_groups_of_the_2021_response():
    assert LA_GROUPS == ("CIN at 31 March", "CINO at 31 March", "CLA 12 months at 31 March",
                         "CLA less than 12 months at 31 March", "CPPO at 31 March")
    for stem in ("ks2_la", "ks4_la", "absence_la", "sen_la"):
        assert TABLES[stem].groups == LA_GROUPS
        assert TABLES[stem].check_groups == ("CLA at 31 March",)  # needed for CINO + CPPO + CLA = CIN
    assert "CIN at any point" in TABLES["eyfsp_la"].groups  # as DfE's LA EYFSP data set
    assert set(TABLES["match_rates"].subnational_groups) == {*LA_GROUPS, "CLA at 31 March"}
