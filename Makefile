# The two commands users need: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck test-js test-py test-pg test-browser bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The dashboard's front-end packages (lightweight-charts), exactly as package-lock.json pins them.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(RUNTIME_STAMP) $(NODE_STAMP)

## run: everything (Redis if none answers, bot, recorder, web) on http://127.0.0.1:$${WEB_PORT:-8000}/
## several bots: BOT_IDS=main,eth BOT_ETH_SYMBOLS=ETHUSDT make run (one process per id; README.md)
run: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(BIN)/python -m scripts.launch

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python scripts/check_boundaries.py

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

## test-js: the page's pure logic (formatting, candles, markers, connection bookkeeping, pop-ups) with Node's test runner
test-js:
	node --test tests/js/*.test.js

## test-py: the asyncio, API and end-to-end tests on SQLite
test-py: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/browser -q

## test-pg: the database tests and the end-to-end tests that store trades, again on PostgreSQL
test-pg: $(DEV_STAMP)
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=2).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest tests -m "db or pg" --ignore=tests/browser -q; \
	else echo "test-pg: no PostgreSQL at $(PG_TEST_URL); skipped"; fi

## test-browser: Playwright driving Debian's Chromium (a separate pytest run from asyncio tests)
test-browser: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest tests/browser -q

test: lint typecheck test-js test-py test-pg test-browser

## bench: our relay under Uvicorn, Daphne and Granian vs the textbook Channels bridge vs a plain websockets floor
## (printed; docs/benchmarks.md, var/bench.json)
bench: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/python -m scripts.bench --profile ours --memory 1000 --write-docs --json var/bench.json
	$(BIN)/python -m scripts.bench.overview --write-docs

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
