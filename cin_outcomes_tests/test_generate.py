"""The generate command end to end: the landing layout, and byte-identical files for the same seed and scale."""

import hashlib
import json
from pathlib import Path

import pytest

from cin_outcomes.cli import main
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.generate import generate

LAS = ("202", "318")
CFG = SyntheticConfig(scale=0.002, seed=11, first_year="2022-23", last_year="2024-25", only_las=LAS)


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(CFG, out, progress=False)
    return out


def test_landing_layout(landing):
    years = sorted(p.name for p in landing.iterdir() if p.is_dir())
    assert years == ["2022-23", "2023-24", "2024-25"]
    for year in years:
        for la in LAS:
            assert (landing / year / la / "cin_census.xml").is_file()
            tables = {p.stem for p in (landing / year / la / "ssda903").glob("*.csv")}
            assert {"Header", "Episodes"} <= tables
            if year < "2023-24":  # social worker episodes are collected from 2023-24 on
                assert "SWEpisodes" not in tables
        assert (landing / year / "npd" / "school_census.parquet").is_file()
    # KS1 stopped being statutory in 2023-24: no module from then on
    assert (landing / "2022-23" / "npd" / "ks1.parquet").is_file()
    assert not (landing / "2024-25" / "npd" / "ks1.parquet").exists()
    made = json.loads((landing / "SYNTHETIC.json").read_text())
    assert (made["scale"], made["seed"], made["only_las"]) == (0.002, 11, list(LAS))


def test_same_seed_and_scale_give_byte_identical_files(landing, tmp_path):
    again = tmp_path / "again"
    generate(CFG, again, progress=False)
    assert _digests(again) == _digests(landing)


def test_command_line_generate(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["generate", "--scale", "0.002", "--seed", "11", "--first-year", "2024-25", "--las", "318",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "children" in printed
    assert (out / "2024-25" / "318" / "cin_census.xml").is_file()
    assert not (out / "2024-25" / "202").exists()
