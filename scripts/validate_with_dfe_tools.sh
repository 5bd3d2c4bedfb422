#!/usr/bin/env bash
# Check synthetic LA returns against DfE's own validation rules (data-to-insight's csc-validator-be-cin and
# csc-validator-be-903), in a throwaway virtual environment under /tmp (they pin old pandas/numpy, so they are
# not part of the project's lock file).
#
#   scripts/validate_with_dfe_tools.sh [--landing DIR] [--scale S] [--years "2023-24 2024-25"] [--las "318 886"]
#
# Without --landing it generates the social care returns of the given LAs at the given scale (default 0.02) into
# /tmp/cin-outcomes-dfe-check (population and social care only). Prints counts per year, LA, return and rule.
set -euo pipefail
cd "$(dirname "$0")/.."
LANDING=""
SCALE=0.02
YEARS="2022-23 2023-24 2024-25"
LAS="318 886 330 202 940"
while [ $# -gt 0 ]; do
  case "$1" in
    --landing) LANDING="$2"; shift 2 ;;
    --scale) SCALE="$2"; shift 2 ;;
    --years) YEARS="$2"; shift 2 ;;
    --las) LAS="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
VENV=/tmp/dfe_validators_venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet csc-validator-be-903 csc-validator-be-cin pytest
fi
if [ -z "$LANDING" ]; then
  LANDING=/tmp/cin-outcomes-dfe-check
  rm -rf "$LANDING"
  .venv/bin/python - "$LANDING" "$SCALE" "$LAS" <<'PY'
import sys
from pathlib import Path
from cin_outcomes.geography import las_in_year
from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.synthetic.population import build_population
from cin_outcomes.synthetic.social_care import build_social_care
from cin_outcomes.synthetic.writers.cin_xml import write_cin_census
from cin_outcomes.synthetic.writers.ssda903 import write_ssda903

out, scale, las = Path(sys.argv[1]), float(sys.argv[2]), tuple(sys.argv[3].split())
cfg = SyntheticConfig(scale=scale, only_las=las)
sc = build_social_care(cfg, build_population(cfg))
for year in cfg.years:
    active = set(las_in_year(year)["old_la_code"])
    for la in las:
        if la in active:
            write_cin_census(sc.tables, year, la, out / year.label / la / "cin_census.xml")
            write_ssda903(sc.tables, year, la, out / year.label / la / "ssda903")
PY
fi
# shellcheck disable=SC2086
PYTHONWARNINGS=ignore "$VENV/bin/python" scripts/validate_with_dfe_tools.py "$LANDING" --years $YEARS --las $LAS \
  --lookup cin_outcomes/reference/las.csv
