# Every target sets itself up: a fresh clone needs only Python 3.11 and network access to PyPI.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck pytest reliability demo emulator bench-emulator bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## make test: lint, type-check and the whole pytest suite (what CI runs)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers: most tests wait on an emulator's clock rather than compute, so two share the
# 2-core CI machine well (reliability's heavy variants run alone, for their figures).
pytest: $(STAMP)
	$(BIN)/pytest -q -n 2

## make reliability: the heavy variants of tests/ (1,000 jobs, minutes long) that `make test`
## skips; their figures (RELIABILITY.md) go to reliability-figures.jsonl and are printed
reliability: $(STAMP)
	rm -f reliability-figures.jsonl
	SMRUN_FIGURES=$(CURDIR)/reliability-figures.jsonl $(BIN)/pytest -q -m heavy
	cat reliability-figures.jsonl

## make demo: a 50-job batch through `smrun launch` against the embedded emulator (exit 1 is
## the batch's planned failures; the run goes to a fresh directory under smrun-runs/)
DEMO_OUT ?= smrun-runs/demo-$(shell date +%Y%m%d-%H%M%S)
demo: $(STAMP)
	$(BIN)/smrun launch examples/demo.yaml --local --follow kmeans-k-8-epochs-6 \
		--output $(DEMO_OUT); code=$$?; [ $$code -le 1 ]

## make emulator: serve the local SageMaker emulator on 127.0.0.1:4566 until interrupted
emulator: $(STAMP)
	$(BIN)/smrun emulator --port 4566

## make bench-emulator: Describe calls/s the emulator serves on one core
bench-emulator: $(STAMP)
	$(BIN)/python -m benchmarks.emulator_throughput

## make bench: the load benchmarks, ours against the old ways (about 20 minutes); writes
## benchmarks/results/<date>.json, its charts and benchmarks/README.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks.load

## make bench-quick: the same at N = 100 with short jobs, in under 2 minutes
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.load --quick

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
