"""Writing the publication: assembled series in DfE's order, files as EES wants them, the data guidance and the
methodology, atomic replacement; and DfE's own files pass our screener check (the sanity baseline)."""

import os
from pathlib import Path

import polars as pl
import pytest

from cin_outcomes.cohorts.spec import COHORTS
from cin_outcomes.publication.assets import build_publication
from cin_outcomes.publication.guidance import data_guidance
from cin_outcomes.publication.methodology import markdown_to_html, methodology_markdown
from cin_outcomes.publication.screener import read_data_csv, screen
from cin_outcomes.publication.writer import (
    PUBLICATION_DIR,
    PublicationError,
    assemble,
    recover,
    write_publication,
)
from cin_outcomes.tabulation.build import order_rows, publish, unrounded_table
from cin_outcomes.tabulation.checks import ees_screener
from cin_outcomes.tabulation.spec import TABLES
from cin_outcomes.years import ReportingYear
from cin_outcomes_tests.tables_fixtures import linked
from cin_outcomes_tests.test_tables_build import ks4_children

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "published"
YEARS = ("2022-23", "2023-24", "2024-25")


def _year(spec, year, data):
    return publish(spec, unrounded_table(spec, data, year), year, latest="202425")


@pytest.fixture(scope="module")
def ks4_years():
    spec = TABLES["ks4_la"]
    return spec, {ReportingYear.parse(y).partition_key: _year(spec, y, linked("ks4", y, ks4_children()))
                  for y in YEARS}


@pytest.fixture(scope="module")
def small_publication(ks4_years):
    """ks4_la and match_rates over three years (the rest of the files need no more testing here)."""
    spec, years = ks4_years
    rates = TABLES["match_rates"]
    empty = pl.DataFrame(schema={"reporting_year": pl.Utf8, "geographic_level": pl.Utf8, "region_code": pl.Utf8,
                                 "old_la_code": pl.Utf8, "social_care_group": pl.Utf8, "pupil_population": pl.Utf8,
                                 "t_children": pl.Int64, "t_children_with_upn": pl.Int64, "t_matched": pl.Int64})
    rate_years = {ReportingYear.parse(y).partition_key: _year(rates, y, empty) for y in YEARS}
    return {"ks4_la": years, "match_rates": rate_years}


def test_assemble_orders_years_latest_first_and_relabels_version(ks4_years):
    spec, years = ks4_years
    series = assemble(spec, years)
    assert series["time_period"].unique(maintain_order=True).to_list() == ["202425", "202324", "202223"]
    assert series.height == sum(f.height for f in years.values())
    # every year was built as "Revised" for 2024-25 only; the series says so
    versions = series.group_by("time_period").agg(pl.col("version").unique()).sort("time_period")
    assert versions.rows() == [("202223", ["Final"]), ("202324", ["Final"]), ("202425", ["Revised"])]
    # within a year: group, then England, regions, LAs, as in DfE's files
    y = series.filter(pl.col("time_period") == "202425")
    assert y["geographic_level"].head(2).to_list() == ["National", "Regional"]


def test_written_files_are_what_ees_expects(small_publication, tmp_path):
    summary = build_publication(tmp_path, small_publication, [ReportingYear.parse(y) for y in YEARS])
    out = tmp_path / PUBLICATION_DIR
    assert summary.path == out
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["ks4_la.csv", "ks4_la.meta.csv", "match_rates.csv", "match_rates.meta.csv",
                            "data-guidance.txt", "methodology.md", "methodology.html"])
    raw = (out / "ks4_la.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    header = raw.split(b"\n", 1)[0].decode()
    assert header == ",".join(TABLES["ks4_la"].columns)
    data = read_data_csv(out / "ks4_la.csv")
    assert data.height == summary.files[0].rows
    # LA names with a comma are quoted, National rows have empty region cells
    assert b'"Bournemouth, Christchurch and Poole"' in raw
    assert data.filter(pl.col("geographic_level") == "National")["region_code"].null_count() > 0
    for spec in (TABLES["ks4_la"], TABLES["match_rates"]):
        res = screen(out / spec.file_name, out / spec.meta_file_name, harmonised=spec.harmonised)
        assert res.passed, res.report()
    meta = read_data_csv(out / "ks4_la.meta.csv")
    assert meta["col_name"].to_list()[:2] == ["social_care_group", "version"]
    # summary: files, rows, cells by symbol
    ks4 = summary.files[0]
    assert ks4.name == "ks4_la.csv" and ks4.time_periods == ("202223", "202324", "202425")
    assert ks4.symbols["c"] == (data.select(TABLES["ks4_la"].indicator_names) == "c").sum_horizontal().sum()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".publication")]
    text = summary.text()
    assert text.startswith(f"Publication written to {out}: 2 data files, {summary.rows:,} rows")
    assert "ks4_la.csv" in text and "data-guidance.txt" in text


def test_writing_twice_gives_identical_bytes(small_publication, tmp_path):
    years = [ReportingYear.parse(y) for y in YEARS]
    build_publication(tmp_path / "a", small_publication, years)
    build_publication(tmp_path / "b", small_publication, years)
    for p in sorted((tmp_path / "a" / PUBLICATION_DIR).iterdir()):
        assert p.read_bytes() == (tmp_path / "b" / PUBLICATION_DIR / p.name).read_bytes(), p.name


def test_a_file_failing_the_screener_leaves_the_previous_publication_untouched(small_publication, tmp_path):
    years = [ReportingYear.parse(y) for y in YEARS]
    build_publication(tmp_path, small_publication, years)
    before = {p.name: p.read_bytes() for p in (tmp_path / PUBLICATION_DIR).iterdir()}
    bad_years = dict(small_publication["ks4_la"])
    k = sorted(bad_years)[0]
    bad_years[k] = bad_years[k].with_columns(pl.lit(None, pl.Utf8).alias("avg_att8"))  # blank indicator cells
    with pytest.raises(PublicationError, match=r"(?s)ks4_la\.csv: FAILED .*FAIL ind_blanks"):
        build_publication(tmp_path, {**small_publication, "ks4_la": bad_years}, years)
    after = {p.name: p.read_bytes() for p in (tmp_path / PUBLICATION_DIR).iterdir()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".publication")]


def test_an_interrupted_swap_is_repaired(tmp_path):
    """Killed after moving the old publication aside and before renaming the new one in: the next run puts the
    old one back before doing anything else; leftover temporary folders are removed."""
    old = tmp_path / ".publication.old-abc"
    old.mkdir()
    (old / "ks4_la.csv").write_text("old\n")
    (tmp_path / ".publication.tmp-def").mkdir()
    recover(tmp_path)
    assert (tmp_path / PUBLICATION_DIR / "ks4_la.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [PUBLICATION_DIR]


def test_failure_during_the_swap_puts_the_old_publication_back(small_publication, tmp_path, monkeypatch):
    years = [ReportingYear.parse(y) for y in YEARS]
    build_publication(tmp_path, small_publication, years)
    before = sorted(p.name for p in (tmp_path / PUBLICATION_DIR).iterdir())
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(src).name.startswith(".publication.tmp-"):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        build_publication(tmp_path, small_publication, years)
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(p.name for p in (tmp_path / PUBLICATION_DIR).iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".publication")]


def test_data_guidance_lists_every_file_level_year_filter_and_indicator(small_publication):
    tables = [(TABLES[s], assemble(TABLES[s], y)) for s, y in small_publication.items()]
    text = data_guidance(tables)
    for spec, df in tables:
        assert f"{spec.file_name} - {spec.title}" in text
        for ind in spec.indicators:
            assert f"{ind.name} - {spec.labels[ind.name]}" in text
        for f in spec.filters:
            assert f"{f.name} - {f.label}" in text
    assert "Geographic levels: National; Regional; Local authority" in text
    assert "Geographic levels: National; Local authority" in text  # match rates
    assert "Time periods: 2022/23 to 2024/25" in text
    assert "avg_att8 - Average Attainment 8 score (average, 1 dp)" in text
    assert "Same file name, columns, column order, filter values, symbols and decimal places as DfE's published " \
           "ks4_la.csv." in " ".join(text.split())
    sen = TABLES["sen_la"]
    assert "harmonised" in data_guidance([(sen, _year(sen, "2023-24", linked("sen", "2023-24", [])))])


def test_methodology_covers_groups_matching_double_counting_limitations_rounding(small_publication):
    tables = [(TABLES[s], assemble(TABLES[s], y)) for s, y in small_publication.items()]
    md = methodology_markdown(tables, [ReportingYear.parse(y) for y in YEARS])
    for heading in ("## Social care groups", "## Matching to pupil records", "## Outcomes and the pupils they are "
                    "measured on", "## Counting children across local authorities", "## Limitations",
                    "## Rounding and suppression"):
        assert heading in md
    for c in COHORTS:
        assert f"**{c.label}**: {c.description}" in md
    # measures not produced, from the measure definitions: Progress 8 in 2024/25 among the years published
    assert "Average Progress 8 score (`avg_p8score`): not produced in 2024/25" in md
    assert "| Social care group | Children | With a valid UPN (%) | Matched (%) |" in md
    page = markdown_to_html(md)
    assert page.startswith("<!DOCTYPE html>") and "<h2>Limitations</h2>" in page and "<table>" in page
    assert "<strong>CIN at 31 March</strong>" in page


def test_markdown_renderer_escapes_and_handles_lists_and_tables():
    page = markdown_to_html("# T\n\nA <b> & `x`\n\n- one\n  more\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h1>T</h1>" in page and "<p>A &lt;b&gt; &amp; <code>x</code></p>" in page
    assert "<li>one more</li>" in page and "<li>two</li>" in page
    assert "<tr><th>a</th><th>b</th></tr>" in page and "<tr><td>1</td><td>2</td></tr>" in page


# --- the baseline: DfE's own files pass our screener check ----------------------------------------------------------

@pytest.mark.parametrize("spec", [t for t in TABLES.values() if t.real_file], ids=lambda t: t.stem)
def test_real_published_files_pass_our_screener_check(spec):
    path = PUBLISHED / spec.real_file
    if not path.exists():
        pytest.skip(f"{path} not available")
    real = read_data_csv(path)
    # the whole series, with the metadata we would write for it
    res = ees_screener(spec, real)
    assert res.passed, res.metadata
    # and one year of it, as our per-year check screens it
    latest = real.filter(pl.col("time_period") == real["time_period"].max())
    assert ees_screener(spec, latest).passed


@pytest.mark.parametrize("spec", [t for t in TABLES.values() if t.real_file], ids=lambda t: t.stem)
def test_row_order_is_exactly_the_real_files_order(spec):
    """Shuffled, DfE's own rows come back in DfE's order: latest year first, group, England, regions by code,
    LAs by region and name, school phases in the real order."""
    path = PUBLISHED / spec.real_file
    if not path.exists():
        pytest.skip(f"{path} not available")
    real = read_data_csv(path)
    assert order_rows(spec, real.sample(fraction=1.0, shuffle=True, seed=7)).equals(real)
