# socialpub — the two commands: `make run` and `make test`. Both set up a
# virtualenv in .venv on first use; nothing else needs to be installed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install bench bench-scale clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# setuptools cautions about every editable install; the caution is for people
	# who import from the checkout by accident, which the tests do on purpose.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole product on this machine: SQLite, its own Redis, workers, the sandbox, the web app.
run: $(STAMP)
	$(BIN)/socialpub up

## Run the whole test suite (embedded stack, real Redis and PostgreSQL where reachable).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Measure the production-mode stack on this machine (PostgreSQL and Redis on
## 127.0.0.1); `make bench BENCH_ARGS=--quick` for a run under a minute.
bench: $(STAMP) $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

## The reads at 100 k and 4 M publications of history (PostgreSQL at 127.0.0.1:5432; about 5 minutes):
## `make bench-scale SCALE_ARGS=--sizes=100000` for one small size.
bench-scale: $(STAMP) $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.scale $(SCALE_ARGS)

$(VENV)/.bench-installed: setup.cfg
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

clean:
	rm -rf $(VENV) instance .pytest_cache
