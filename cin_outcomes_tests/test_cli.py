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
