#!/usr/bin/env bash
# The test command.
#   scripts/test.sh [PYTEST ARGS]       CI: set everything up (system packages when missing, .venv
#                                       with the test tools), then ruff, the type checker (mypy,
#                                       configured in pyproject.toml) and the whole test suite in
#                                       parallel (pytest-xdist: two workers per core, as most real
#                                       tests wait on a daemon, a broker or the clock; `-n 0`
#                                       runs it in one process)
#   scripts/test.sh fast [PYTEST ARGS]  the loop while editing: ruff and the pure tests only
#                                       (`-m "not real"`: no broker, VLC, daemon, models on media)
# Extra arguments go to pytest. Host pytest plugins never load (--system-site-packages would
# show them): plugins are named in pyproject.toml's addopts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
scripts/setup.sh dev
if [ "${1:-}" = fast ]; then
  shift
  .venv/bin/ruff check daemon tests bench models scripts
  exec .venv/bin/python -m pytest -q -m "not real" "$@"
fi
.venv/bin/ruff check daemon tests bench models scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q -n "$((2 * $(nproc)))" "$@"
