# Shortcuts for the README's commands. Each target creates .venv and installs the pinned requirements.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

run: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/python manage.py runstack --simulate

test: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/python -m pytest

# The performance benchmark (README "Performance"): ~20 minutes, writes bench/results.json. Never a test.
bench: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/python -m bench

lint: $(BIN)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/ staticfiles/ .pytest_cache .ruff_cache
