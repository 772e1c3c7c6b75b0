# The two commands: `make up` (set up this machine, run the cluster) and `make test` (every test).
DATA_DIR ?= $(CURDIR)/.kubesvc
ARGS ?=

.PHONY: setup up test check lint bench

setup:
	@scripts/setup

up: setup
	.venv/bin/kubesvc up --data-dir $(DATA_DIR) $(ARGS)

test: setup
	.venv/bin/python -m pytest -q $(ARGS)

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports

check: lint test

bench: setup
	.venv/bin/python bench/api.py
