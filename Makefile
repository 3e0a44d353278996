# One entry point for readers and CI. Every target sets up .venv first.
#   make test      pytest on tests/ and nbval (strict) on every chapter
#   make book      execute the chapters (cached) and build _build/html
#   make check-book  open every built page in headless Chromium (after make book)
#   make execute   re-execute the chapters in place, each in a fresh kernel
#   make execute NOTEBOOKS=chapters/01_tensor_layout.ipynb   only that one

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# On a machine without an NVIDIA GPU, this torch is installed before the
# requirements so that their range is already met by a CPU build.
CPU_TORCH ?= torch==2.13.0
NOTEBOOKS ?= $(sort $(wildcard chapters/*.ipynb))
BOOK_FLAGS ?=
# MathJax is served from the built book, so equations render offline.
MATHJAX_VERSION ?= 3.2.2
MATHJAX_STATIC := _build/vendor/static

.PHONY: venv test unit nbval book mathjax check-book execute clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@echo "==> Setting up $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@if command -v nvidia-smi >/dev/null 2>&1; then \
	  echo "==> NVIDIA GPU found: pip chooses a CUDA build of torch"; \
	elif $(BIN)/python -c 'import torch' 2>/dev/null; then \
	  echo "==> torch already installed: $$($(BIN)/python -c 'import torch; print(torch.__version__)')"; \
	else \
	  echo "==> No NVIDIA GPU: installing $(CPU_TORCH) first"; \
	  $(BIN)/python -m pip install -q "$(CPU_TORCH)"; \
	fi
	@$(BIN)/python -m pip install -q -r requirements.txt
	@touch $(STAMP)

test: venv
	@echo "==> pytest: unit tests and nbval on $(words $(NOTEBOOKS)) chapters"
	$(BIN)/python -m pytest tests $(NOTEBOOKS) --ignore=tests/browser --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -v

unit: venv
	$(BIN)/python -m pytest tests --ignore=tests/browser

nbval: venv
	$(BIN)/python -m pytest $(NOTEBOOKS) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -v

book: venv mathjax
	@$(BIN)/python -m dlnotes.notebooks check-cache --cache _build/.jupyter_cache --doctrees _build/.doctrees
	@echo "==> Building the book into _build/html"
	$(BIN)/jupyter-book build . --path-output . $(BOOK_FLAGS)

check-book: venv
	@test -f _build/html/index.html || { echo "_build/html/index.html not found: run make book first"; exit 1; }
	$(BIN)/python -m pytest tests/browser -v

mathjax: $(MATHJAX_STATIC)/mathjax/tex-chtml.js

$(MATHJAX_STATIC)/mathjax/tex-chtml.js:
	@echo "==> Installing MathJax $(MATHJAX_VERSION) from the npm registry into $(MATHJAX_STATIC)"
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js and npm (Debian: apt-get install npm), then rerun"; exit 1; }
	@npm install --silent --no-save --no-audit --no-fund --prefix _build/vendor/npm "mathjax@$(MATHJAX_VERSION)"
	@mkdir -p $(MATHJAX_STATIC)
	@rm -rf $(MATHJAX_STATIC)/mathjax && cp -r _build/vendor/npm/node_modules/mathjax/es5 $(MATHJAX_STATIC)/mathjax

execute: venv
	$(BIN)/python -m dlnotes.notebooks execute $(NOTEBOOKS)

clean:
	rm -rf _build
