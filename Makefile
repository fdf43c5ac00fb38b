# The two commands of the README:
#   make run    set everything up and run the daemon (config: CONFIG=path, default config.yaml)
#   make test   set everything up and run the whole test suite
CONFIG ?= config.yaml

.PHONY: setup run test demo lint scan clean

setup:
	scripts/setup.sh

run: setup
	.venv/bin/moodshuffle -c $(CONFIG) run

test:
	scripts/setup.sh dev
	.venv/bin/ruff check daemon tests bench models
	.venv/bin/python -m pytest -q

demo: setup
	.venv/bin/python scripts/demo.py

scan: setup
	.venv/bin/moodshuffle -c $(CONFIG) scan

clean:
	rm -rf .venv .pytest_cache .ruff_cache
