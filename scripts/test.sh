#!/usr/bin/env bash
# Set everything up (system packages when missing, .venv with the test tools), then run ruff,
# the type checker (mypy, configured in pyproject.toml) and the whole test suite. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/ruff check daemon tests bench models scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
