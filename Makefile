# Shortcuts for the README's commands (which need no make):
#   make run    = scripts/run.sh [CONFIG]
#   make test   = scripts/test.sh
#   make demo   = the one-minute demo
CONFIG ?= config.yaml

.PHONY: setup run test demo scan clean

setup:
	scripts/setup.sh

run:
	scripts/run.sh $(CONFIG)

test:
	scripts/test.sh

demo: setup
	.venv/bin/python scripts/demo.py

scan: setup
	.venv/bin/moodshuffle -c $(CONFIG) scan

clean:
	rm -rf .venv .pytest_cache .ruff_cache
