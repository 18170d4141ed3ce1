# Two commands set everything up on a fresh Debian 12 machine (as root, Python 3.11):
#   make serve   run the whole service on its embedded defaults
#   make test    start PostgreSQL and RabbitMQ, then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test test-fast install services lint format check-migrations makemigrations \
	bench docs clean playground check-playground client-codegen check-client

# The playground web app (playground/): built into neurall/web/playground_dist/, which
# `neurall serve` serves at /. Rebuilt only when its sources or pinned packages change.
# Debian 12's own nodejs (18) is enough; it is installed when node is missing.
PLAYGROUND_DIST := neurall/web/playground_dist/index.html
PLAYGROUND_MODULES := playground/node_modules/.package-lock.json
PLAYGROUND_SOURCES := $(shell find playground/src playground/public -type f 2>/dev/null) \
	playground/index.html playground/package.json playground/vite.config.ts \
	playground/tsconfig.json playground/scripts/report-size.mjs docs/api-contract.graphql

$(BIN)/neurall: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 is the CPU build on this machine's disk; any other
	# version would download a multi-gigabyte CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/neurall

$(PLAYGROUND_MODULES): playground/package-lock.json
	command -v npm >/dev/null || scripts/node.sh
	cd playground && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

$(PLAYGROUND_DIST): $(PLAYGROUND_MODULES) $(PLAYGROUND_SOURCES)
	cd playground && npm run build

playground: $(PLAYGROUND_DIST)

# Fails when the committed GraphQL types (playground/src/gql/) are stale.
check-playground: $(PLAYGROUND_MODULES)
	cd playground && npm run --silent check-codegen

# The Python SDK's generated models (clients/python/neurall_client/_generated/), from the
# contract, by ariadne-codegen in .venv-codegen (scripts/client-codegen.sh says why apart).
client-codegen:
	scripts/client-codegen.sh

# Fails when the committed generated models are stale.
check-client:
	scripts/client-codegen.sh --check

serve: install playground
	$(BIN)/neurall serve --host $(HOST) --port $(PORT)

services:
	scripts/services.sh

# The suite runs in two phases: everything but the `serial` tests on TEST_WORKERS processes
# (the tests mostly wait on servers, so more processes than cores), whole modules to a
# process so their shared stacks start once; then the `serial` tests (they measure time)
# alone. Pass pytest arguments with PYTEST_ARGS; a phase that selects nothing (exit 5) is
# not a failure.
TEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
FAST_MARKERS := not postgres and not rabbitmq and not browser and not gpu_server and not slow

test: install services playground check-playground check-client lint
	$(BIN)/neurall check-migrations
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The inner loop: what needs no external service, no browser and no Triton, in a minute or two.
test-fast: install
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "$(FAST_MARKERS) and not serial" $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmarks: prints the result table and writes bench/results/results.json.
# BENCH_ARGS="--quick" for a fast run, or name benches: BENCH_ARGS="api overhead".
bench: install services
	$(BIN)/python -m bench $(BENCH_ARGS)

# docs/configuration.md, generated from the settings' descriptions in neurall/config.py.
docs: install
	$(BIN)/neurall config-docs > docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md

makemigrations: install
	scripts/makemigrations.sh

clean:
	rm -rf $(VENV) .venv-codegen neurall-data .pytest_cache playground/node_modules neurall/web/playground_dist
