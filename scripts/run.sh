#!/usr/bin/env bash
# Set everything up (system packages when missing, .venv), then run the daemon.
#   scripts/run.sh [CONFIG]     (default: ./config.yaml, the documented defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/moodshuffle -c "${1:-config.yaml}" run
