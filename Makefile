# dlf-status: every set-up step lives here, so a fresh clone needs only `make`.
#   make demo   virtualenv + install + the main job against a local replay upstream
#   make test   virtualenv + install + every suite (lint, types, unit, contract, integration)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Reinstall whenever the declared or pinned dependencies change.
INSTALLED := $(VENV)/.installed

.PHONY: help install lint format typecheck test unit contract-tests contract contract-check goldens constraints clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "dlf-status needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install --constraint constraints.txt --editable '.[test,dev]'
	touch $@

install: $(INSTALLED) ## create .venv and install the project with its test and dev tools

lint: install ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## ruff: apply the formatter and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install ## mypy --strict over the code and the tests
	$(BIN)/mypy

contract: install ## regenerate the shipped spec (handler/dlf_status/spec/openapi.json) from openapi.yaml
	$(BIN)/python scripts/build_contract.py

contract-check: install ## fail when the shipped spec drifts from openapi.yaml
	$(BIN)/python scripts/build_contract.py --check

goldens: install ## rewrite contract_tests/golden/ (then review the diff)
	$(BIN)/python contract_tests/update_goldens.py

unit: install ## unit and property tests (no sockets)
	$(BIN)/pytest tests

contract-tests: install ## spec vs recorded fixtures, replayed over real HTTP
	$(BIN)/pytest contract_tests

test: lint typecheck contract-check ## every suite; what CI runs
	$(BIN)/pytest

constraints: install ## re-pin every installed dependency into constraints.txt
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt

clean: ## remove the virtualenv, caches and local snapshots
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info handler/*.egg-info
