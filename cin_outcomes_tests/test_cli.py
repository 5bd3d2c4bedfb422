import pytest

from cin_outcomes.cli import build_parser, main


def test_help_speaks_of_reporting_years(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    out = capsys.readouterr().out
    assert "--scale" in out and "2024-25" in out and "cin_census.xml" in out


def test_bad_scale_and_year_are_refused_with_a_reason(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--scale", "2"])
    assert "share of England" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--first-year", "2024-26"])
    assert "does not follow" in capsys.readouterr().err


def test_calibration_command_compares_every_year_with_the_published_figures(tmp_path, capsys):
    """The calibration report a statistician runs: counts and rates per year against the published values
    (scale 0.005, two years: loose bounds; the 5 % / 3 pp tolerances are for scale 1.0)."""
    import polars as pl

    csv = tmp_path / "calibration.csv"
    main(["calibration", "--scale", "0.005", "--first-year", "2023-24", "--last-year", "2024-25", "--quiet",
          "--csv", str(csv)])
    out = capsys.readouterr().out
    assert "published-year comparisons within tolerance" in out
    report = pl.read_csv(csv)
    counts = report.filter(pl.col("unit") == "%")
    assert set(counts["measure"]) == {"cin_at31", "cpp_at31", "cla_at31"}
    assert set(counts["year"]) == {"2023-24", "2024-25"}
    assert counts["difference"].abs().max() < 15  # generated / scale vs published, in %
    rates = report.filter(pl.col("unit") == "pp", pl.col("published").is_not_null())
    assert rates.height > 100
    assert (rates["difference"].abs() < 15).mean() > 0.9
