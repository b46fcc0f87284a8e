# The two commands of the README:
#   make book   set up .venv and build the HTML book from the committed, executed notebooks (nothing is
#               executed unless a .md was edited without `make sync`)
#   make test   set up .venv and run every test: cvlib, notebook pairing, nbval (each notebook executed
#               once, its outputs compared with the committed ones), the strict book build from those
#               verified outputs, the built book in headless Chromium, offline
# and helpers:
#   make sync NB=notebooks/05-details/receptive-field.md   re-pair and re-execute one notebook (NB=all: every one)
#   make check NB=notebooks/05-details/receptive-field.md  re-test one notebook with nbval
#   make bench                                           the profiler and detection benchmarks
#   make lab                                             JupyterLab with Jupytext: open the .md notebooks as notebooks

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MATHJAX := book/_static/mathjax/tex-mml-chtml.js
MATHJAX_VERSION := 3.2.2
BUILD  := $(BIN)/jupyter-book build . -W -n --keep-going

.PHONY: setup chromium book test unit notebooks build-strict browser sync check prime bench lab clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e .
	@touch $(STAMP)

# MathJax served with the book (no CDN), from the npm registry, without its 15 MB speech engine.
$(MATHJAX):
	rm -rf .cache/npm book/_static/mathjax
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/npm mathjax@$(MATHJAX_VERSION)
	mkdir -p book/_static/mathjax
	cd .cache/npm/node_modules/mathjax/es5 && cp -r $$(ls | grep -v '^sre$$') $(CURDIR)/book/_static/mathjax/

# Debian's Chromium for the browser tests (no browser is downloaded by a test tool), and a CJK font so
# its screenshots show the Chinese terms.
CHROMIUM := $(shell command -v chromium || command -v chromium-browser)
CJK_FONT := $(wildcard /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc)
chromium:
	@if [ -z "$(CHROMIUM)" ] || [ -z "$(CJK_FONT)" ]; then \
		echo "Installing Debian's chromium and fonts-wqy-zenhei for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi

setup: $(STAMP) $(MATHJAX)

# The build reads the .md notebooks with `execute_notebooks: cache`; `prime` fills that cache from the
# committed .ipynb outputs, so the build renders without executing anything.
prime: setup
	$(BIN)/python tools/prime_cache.py

book: prime
	$(BUILD)
	@echo "The book is at $(CURDIR)/_build/html/index.html (rendered from the committed notebook outputs)"

unit: setup
	$(BIN)/python -m pytest tests -q --ignore=tests/browser -n 2

NBVAL := OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

notebooks: setup
	$(NBVAL) -n 2 --dist loadfile --durations=10 notebooks

check: setup
	@test -n "$(NB)" || { echo "usage: make check NB=notebooks/<chapter>/<page>.md"; exit 2; }
	$(NBVAL) $(basename $(NB)).ipynb

# After nbval has verified every .ipynb: render them, failing if any notebook would be executed again.
build-strict: prime
	$(BIN)/python tools/prime_cache.py --check
	$(BUILD)

browser: setup chromium
	$(BIN)/python -m pytest tests/browser -q

test: unit notebooks build-strict browser
	@echo "All tests passed."

sync: setup
	$(BIN)/python tools/sync_notebook.py $(NB)

bench: setup
	$(BIN)/python benchmarks/profile_overhead.py
	$(BIN)/python benchmarks/detection_speed.py

LAB_VERSION := 4.6.6
lab: setup
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet jupyterlab==$(LAB_VERSION)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR)/notebooks

clean:
	rm -rf _build
