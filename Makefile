# The two commands at the top of the README: `make run` and `make test`.
PYTHON ?= python3
EXAMPLE ?= examples/dag-pipeline.yaml

.PHONY: setup run test test-all lint

setup:
	bash scripts/setup.sh

run: setup
	conveyor run $(EXAMPLE) -p message="hello from conveyor"

test: setup
	$(PYTHON) -m pytest -q

test-all: setup
	$(PYTHON) -m pytest -q -m "slow or not slow"

lint:
	ruff check conveyor tests
	mypy conveyor
