# One entry point for readers and CI. Every target sets up .venv first.
#   make test      pytest on tests/ and nbval (strict) on every chapter
#   make book      execute the chapters (cached) and build _build/html
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

.PHONY: venv test unit nbval book execute clean

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
	$(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval --sanitize-with tests/nbval_sanitize.cfg -v

unit: venv
	$(BIN)/python -m pytest tests

nbval: venv
	$(BIN)/python -m pytest $(NOTEBOOKS) --nbval --sanitize-with tests/nbval_sanitize.cfg -v

book: venv
	@$(BIN)/python -m dlnotes.notebooks check-cache --cache _build/.jupyter_cache
	@echo "==> Building the book into _build/html"
	$(BIN)/jupyter-book build . --path-output . $(BOOK_FLAGS)

execute: venv
	$(BIN)/python -m dlnotes.notebooks execute $(NOTEBOOKS)

clean:
	rm -rf _build
