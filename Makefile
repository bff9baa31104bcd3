# The two commands a new user needs: `make demo` and `make test`. Each sets itself up.
# `make local` serves the bot for a real Slack app (PORT=8000, PUBLIC_URL=<tunnel URL> optional).
.PHONY: demo local test lint format setup bench

setup:
	@./scripts/bootstrap.sh

demo: setup
	@.venv/bin/python -m scripts.demo

local: setup
	@.venv/bin/python -m scripts.local_server

test: setup
	@.venv/bin/python -m pytest -q

lint: setup
	@.venv/bin/ruff format --check . && .venv/bin/ruff check .

format: setup
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench: setup
	@.venv/bin/python -m bench
