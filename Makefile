# The two commands: `make run` and `make test`. Both build .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tillflow up

test: lint chromium
	$(BIN)/python -m pytest

# Lint and types run before the suite, so .ci/run (make test) fails on either.
LINTED := domain db integrations contracts activities workflows devices tills api reports tillflow tests bench
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --explicit-package-bases $(LINTED)

# The till page is tested in Debian's chromium (driven by the playwright package; no browser download).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "make test needs /usr/bin/chromium for the till page test: run 'sudo apt-get install chromium' (Debian) first" >&2; \
			exit 1; \
		fi; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/sale_latency.py

clean:
	rm -rf $(VENV) var
