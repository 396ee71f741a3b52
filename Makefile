# First use creates .venv and installs everything; later runs reuse it (no-ops).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIAF   ?= ../shared/datasets/piaf/piaf-v1.1.json

.PHONY: test ask install bench bench-retrieval clean-index

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU wheel of torch first: a looser requirement would pull several GB of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# make ask Q="Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
ask: $(STAMP)
	@test -n "$$Q" || { echo 'usage: make ask Q="your question"' >&2; exit 2; }
	@$(BIN)/citebot ask -- "$$Q"

bench-retrieval: $(STAMP)
	$(BIN)/python scripts/bench_retrieval.py $(PIAF)

clean-index:
	rm -rf .citebot
