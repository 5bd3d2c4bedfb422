#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml's pinned direct dependencies (plus dev extras).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet setuptools==80.9.0 -e '.[dev]'
{ echo "# Lock file: every package pinned exactly. Regenerate with scripts/lock.sh after changing pyproject.toml."
  "$tmp/venv/bin/pip" freeze --all --exclude-editable | grep -vE '^(pip|wheel)=='; } > requirements.lock
rm -rf "$tmp"
