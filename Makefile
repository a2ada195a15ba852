# dlf-status: every set-up step lives here, so a fresh clone needs only `make`.
#   make demo   virtualenv + install + the main job against a local replay upstream
#   make test   virtualenv + install + every suite (lint, types, unit, contract, integration, reliability, package, infrastructure)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Reinstall whenever the declared or pinned dependencies change.
RUNTIME := $(VENV)/.installed-runtime
INSTALLED := $(VENV)/.installed
# aws-sam-cli pins its own boto3: it lives in a tool virtualenv of its own.
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_VERSION := 1.170.0
# The real Lambda runtime interface client, kept apart from the project's packages so
# the built artifact is tested on its own (see tests/infrastructure).
RIC := .tools/ric
RIC_VERSION := 4.2.2
# The JavaScript tools consumers run over our schemas (ajv, quicktype, tsc), pinned by
# tests/consumers/js/package-lock.json and installed from it with `npm ci`.
JS := tests/consumers/js
JS_INSTALLED := $(JS)/node_modules/.package-lock.json

.PHONY: help install demo bench lint format typecheck test unit contract-tests integration reliability package-tests infrastructure contract contract-check schemas schemas-check consumers requirements requirements-check goldens events constraints clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(RUNTIME): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "dlf-status needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install --constraint constraints.txt --editable .
	touch $@

$(INSTALLED): $(RUNTIME)
	$(PIP) install --constraint constraints.txt --editable '.[test,dev]'
	touch $@

install: $(INSTALLED) ## create .venv and install the project with its test and dev tools

demo: $(RUNTIME) ## the main job on the embedded default: replay upstream, real stack, ./snapshots
	$(BIN)/dlf-status demo

bench: install ## cold start, cost per response, tick throughput, memory: ratios to baselines
	$(BIN)/python -m bench.run

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

schemas: install ## copy the document and record schemas into the page schemas that hold them
	$(BIN)/python scripts/build_schemas.py

schemas-check: install ## fail when a page schema's copy of the document or record schema drifts
	$(BIN)/python scripts/build_schemas.py --check

$(JS_INSTALLED): $(JS)/package.json $(JS)/package-lock.json
	command -v npm >/dev/null || { echo "the consumer suites need node 20+ and npm on PATH" >&2; exit 1; }
	cd $(JS) && npm ci --no-audit --no-fund

consumers: $(JS_INSTALLED) ## npm ci: ajv, quicktype and tsc for tests/consumers (pinned by its package-lock.json)

requirements: install ## re-pin handler/requirements.txt (what sam build installs) from the venv
	$(BIN)/python scripts/build_requirements.py

requirements-check: install ## fail when handler/requirements.txt drifts from pyproject/constraints
	$(BIN)/python scripts/build_requirements.py --check

goldens: install ## rewrite contract_tests/golden/ (then review the diff)
	$(BIN)/python contract_tests/update_goldens.py

unit: install ## unit and property tests (no sockets)
	$(BIN)/pytest tests/unit tests/properties

contract-tests: install ## spec vs recorded fixtures, replayed over real HTTP
	$(BIN)/pytest contract_tests

integration: install $(JS_INSTALLED) ## the whole path against pytest-httpserver and SeaweedFS; consumers (DuckDB, ajv, quicktype, generated models)
	$(BIN)/pytest tests/integration tests/consumers

reliability: install ## API contract (schemathesis), hostile input, fault matrix, concurrent writers
	$(BIN)/pytest tests/api tests/hostile tests/faults tests/concurrency

package-tests: install ## build the sdist and the wheel, install the wheel in a fresh virtualenv, run it
	$(BIN)/pytest tests/package

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip --disable-pip-version-check --quiet install 'aws-sam-cli==$(SAM_VERSION)'

$(RIC)/.installed: $(INSTALLED)
	rm -rf $(RIC)
	$(PIP) install --target $(RIC) 'awslambdaric==$(RIC_VERSION)'
	touch $@

infrastructure: install $(SAM) $(RIC)/.installed ## template lint, sam build, the artifact under awslambdaric
	$(BIN)/pytest tests/infrastructure

events: $(SAM) ## regenerate tests/events/ with sam local generate-event (see tests/events/README.md)
	cd tests/events && export SAM_CLI_TELEMETRY=0 && \
	  ../../$(SAM) local generate-event apigateway http-api-proxy --method GET \
	    --path v1/b384b9e9ab9b4ee8994c8633aabc9505/jobs/job_sms/status > apigw-http-api-v2.json && \
	  ../../$(SAM) local generate-event apigateway aws-proxy --method GET \
	    --path v1/b384b9e9ab9b4ee8994c8633aabc9505/jobs/job_sms/status > apigw-rest-v1.json && \
	  ../../$(SAM) local generate-event cloudwatch scheduled-event > eventbridge-scheduled.json && \
	  ../../$(SAM) local generate-event sqs receive-message > sqs-receive-message.json

test: lint typecheck contract-check schemas-check requirements-check $(SAM) $(RIC)/.installed $(JS_INSTALLED) ## every suite; what CI runs
	$(BIN)/pytest

constraints: install ## re-pin every installed dependency into constraints.txt
	$(BIN)/python -m pip freeze --all --exclude pip --exclude-editable --disable-pip-version-check > constraints.txt

clean: ## remove the virtualenvs, caches and local snapshots
	rm -rf $(VENV) .tools $(JS)/node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info \
	  handler/*.egg-info snapshots
