# Tradewind: every target sets up the virtual environment it needs on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PORT ?= 3000
OLIST_DIR ?= ../shared/data/olist
export PORT OLIST_DIR

.PHONY: run test unit integration e2e lint replay clean

$(STAMP): requirements/function.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

## run: serve the API on http://127.0.0.1:$(PORT) with moto as the AWS endpoint (Ctrl-C stops)
run: $(STAMP)
	$(BIN)/python -m infra.local

## test: lint the template, then run unit, integration and end-to-end tests
test: $(STAMP) lint
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

## lint: check template.yaml with cfn-lint
lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

## replay: replay the Olist orders through the API (TARGET=url uses a running `make run`)
replay: $(STAMP)
	$(BIN)/python -m infra.replay

clean:
	rm -rf $(VENV) .pytest_cache
