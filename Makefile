# `make demo` and `make test` set up what they need (virtualenv, packages, Kafka jars) and are
# safe to run again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench kafka-jars system-packages setup clean

$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "Java 17+ is needed for the local Kafka broker: apt-get install openjdk-17-jre-headless"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch the Kafka jars: apt-get install maven"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) kafka-jars system-packages

# Debian packages the tests use: chromium for the browser tests (driven through Playwright, never
# `playwright install`), poppler-utils (pdftotext, pdftoppm) to read the sitrep PDFs back; wrk
# drives `posko bench intake` (its clients in C, not in the bench's Python).
system-packages:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	  command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	  command -v wrk >/dev/null || missing="$$missing wrk"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi; \
	    $$sudo apt-get install -y $$missing || { $$sudo apt-get update && $$sudo apt-get install -y $$missing; }; \
	  fi

kafka-jars: $(STAMP)
	$(BIN)/python -c "from posko.kafka.broker import ensure_jars; print('Kafka jars in', ensure_jars())"

demo: setup
	$(BIN)/posko demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: setup lint typecheck
	$(BIN)/pytest

# Everything that needs no broker and no browser (tests/conftest.py marks those).
unit: $(STAMP)
	$(BIN)/pytest -q -m "not integration and not browser"

bench: setup
	$(BIN)/posko bench pipeline

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
