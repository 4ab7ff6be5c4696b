# The two commands at the top of the README: `make run` and `make test`.
PYTHON ?= python3
EXAMPLES ?= examples/dag-pipeline.yaml examples/hello-world.yaml examples/pipelines/cron-pipeline.yaml

.PHONY: setup run test test-all lint bench

setup:
	bash scripts/setup.sh

run: setup
	conveyor up $(EXAMPLES)

test: setup
	$(PYTHON) -m pytest -q

test-all: setup
	$(PYTHON) -m pytest -q -m "slow or not slow"

lint:
	ruff check conveyor tests
	mypy conveyor

# Issue 7's benchmark: a table on stdout, bench/results/latest.json (ARGS=--quick for a small run).
bench: setup
	$(PYTHON) -m bench $(ARGS)
