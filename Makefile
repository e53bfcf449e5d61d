# Two commands do all the set-up: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
# The CPU build by default; a CUDA build installed beforehand is kept (see README.md).
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
# Test processes: files are spread over them whole (module fixtures stay in one process).
TEST_WORKERS ?= 2
STAMP := $(VENV)/.athanor-installed

# Offline copies of the datasets, when the checkout sits beside them.
ifeq ($(origin ATHANOR_DATA_MIRROR), undefined)
  ifneq ($(wildcard ../shared/data),)
    export ATHANOR_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

# The web console: web/ built by Vite into the package, again only when web/ changed.
CONSOLE_DIR := src/athanor/server/console
CONSOLE_STAMP := $(CONSOLE_DIR)/.built
CONSOLE_SOURCES := $(shell find web -path web/node_modules -prune -o -type f -print 2>/dev/null)

.PHONY: install console api-types run test lint format lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@# torch first, so that the project's torch range is already satisfied and pip
	@# never resolves it to a multi-GB CUDA build on machines without a GPU.
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -c constraints.txt -e ".[dev,postgres,s3,ray]"
	touch $(STAMP)

install: $(STAMP)

$(CONSOLE_STAMP): $(CONSOLE_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
	  cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build && \
	  touch ../$(CONSOLE_STAMP); \
	else \
	  echo "note: npm is not installed, so the web console is not built (the API works without it;"; \
	  echo "      install Node.js 20+ and npm, then run make again)"; \
	fi

console: $(CONSOLE_STAMP)

# The console's API types (web/src/api-types.ts), generated from the API's OpenAPI document:
# run after changing the API (tests/server/test_openapi_types.py fails until then).
api-types: install
	@test -d web/node_modules/openapi-typescript || (cd web && npm ci --no-audit --no-fund --loglevel=error)
	set -o pipefail; $(BIN)/python -m athanor.server.openapi | (cd web && node scripts/api-types.mjs src/api-types.ts)

run: install console
	$(BIN)/athanor quickstart
	@echo
	@echo "Open the web console: $(BIN)/athanor up   (then open the sign-in link it prints in your browser)"

test: install console
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/ruff format --check src tests benchmarks

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

lock: install
	{ echo "# Versions the test suite ran with; the Makefile installs with -c constraints.txt."; \
	  echo "# Regenerate after changing dependencies: make lock (torch is left to the Makefile)."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -viE '^(torch|nvidia-|triton)=' ; \
	} > constraints.txt

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache $(CONSOLE_DIR) web/node_modules
