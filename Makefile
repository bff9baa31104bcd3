# The two commands a new user needs: `make demo` and `make test`. Each sets itself up.
.PHONY: demo test lint format setup bench

setup:
	@./scripts/bootstrap.sh

demo: setup
	@.venv/bin/python -m scripts.demo

test: setup
	@.venv/bin/python -m pytest -q

lint: setup
	@.venv/bin/ruff format --check . && .venv/bin/ruff check .

format: setup
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench: setup
	@.venv/bin/python -m bench
