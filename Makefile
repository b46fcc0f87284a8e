# The two commands of the README:
#   make book   set up .venv and build the HTML book (every notebook executed, cached)
#   make test   set up .venv and run every test: cvlib, notebook pairing, nbval, the strict book build
# and helpers:
#   make sync NB=notebooks/05-details/receptive-field.md   re-pair and re-execute one notebook (NB=all: every one)
#   make bench                                           the profiler benchmark

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILD  := $(BIN)/jupyter-book build . -W -n --keep-going

.PHONY: setup book test unit notebooks build-strict sync bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

book: setup
	$(BUILD)
	@echo "The book is at $(CURDIR)/_build/html/index.html"

unit: setup
	$(BIN)/python -m pytest tests -q

notebooks: setup
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg \
		-n 2 --dist loadfile --durations=10 notebooks

build-strict: setup
	$(BUILD)

test: unit notebooks build-strict
	@echo "All tests passed."

sync: setup
	$(BIN)/python tools/sync_notebook.py $(NB)

bench: setup
	$(BIN)/python benchmarks/profile_overhead.py

clean:
	rm -rf _build
