"""Concurrent askers: the in-process model against llama.cpp's llama-server, same model, one run.

For 1, 4 and 8 concurrent askers (closed loop: each asker sends its next question as soon as
its answer arrives), answers per minute and p50/p95 latency (from sending a question to its
verified answer, waiting included), for:
- in process: one llama.cpp model, answering one question at a time (as `citebot discord` and
  `ask -` do without a server: the others wait);
- llama-server with 4 slots (`-np 4`, continuous batching, prompt cache per slot), reached
  through ServerGenerator, the pipeline run by as many threads as askers (bot/llm/parallel.py).
Same model (Gemma 3 270M Q4_K_M), same questions (tests/data/questions_seeds.jsonl), same
index, same threads for llama.cpp. The in-process run also records where one answer's model
time goes (prompt evaluation vs decoding), which bounds what batching can win on few cores.

    python -m bot.bench.server [--questions N] [--server PATH]   (make bench-server)

The llama-server binary comes from scripts/build_llama_server.sh (built once, about 12 minutes).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.answer.evaluate import load_questions
from bot.answer.pipeline import Answerer
from bot.bench.doc import machine, write_section
from bot.bench.llm_quality import DATA, real_model
from bot.llm.factory import LlamaGenerator
from bot.llm.parallel import SharedAnswerer
from bot.llm.server import ServerGenerator
from bot.settings import Settings
from index.builder import build_index
from index.search.hybrid import Searcher
from index.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LEVELS = (1, 4, 8)
SLOTS = 4
QUESTIONS = PROJECT_ROOT / "tests" / "data" / "questions_seeds.jsonl"
BUILD = PROJECT_ROOT / "scripts" / "build_llama_server.sh"


def run_level(answerer, questions: list[str], askers: int) -> dict:
    """Answer every question with `askers` concurrent askers; throughput and latency percentiles."""
    latencies: list[float] = []
    modes: list[str] = []
    lock = threading.Lock()
    pending = iter(questions)

    def asker() -> None:
        while True:
            with lock:
                question = next(pending, None)
            if question is None:
                return
            started = time.perf_counter()
            answer = answerer.ask(question)
            with lock:
                latencies.append(time.perf_counter() - started)
                modes.append(answer.mode)

    started = time.perf_counter()
    with ThreadPoolExecutor(askers) as pool:
        for future in [pool.submit(asker) for _ in range(askers)]:
            future.result()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    result = {"askers": askers, "answers": len(latencies), "seconds": round(wall, 1),
            "per_minute": round(60 * len(latencies) / wall, 1),
            "p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2)}
    print(result, flush=True)
    return result


def each(questions: list[str], askers: int, per_level: int = 4) -> list[str]:
    """The questions for one asker count: `per_level` of them, and at least one per asker."""
    return questions[:max(per_level, askers)]


def model_time(answerer: Answerer, questions: list[str]) -> dict:
    """Mean prompt-evaluation and decoding seconds (and tokens) of one answer, in process."""
    rows = []
    for question in questions:
        answerer.ask(question)
        stats = answerer.generator.last  # type: ignore[union-attr]
        rows.append((stats.prompt_tokens - stats.cached_tokens, stats.prompt_seconds, stats.generated_tokens,
                     stats.decode_seconds))
    mean = [statistics.mean(column) for column in zip(*rows, strict=True)]
    return {"prompt_tokens_evaluated": round(mean[0]), "prompt_s": round(mean[1], 2),
            "generated_tokens": round(mean[2]), "decode_s": round(mean[3], 2)}


_TIMING = re.compile(r"\|\s+(prompt eval|eval) time =\s+([\d.]+) ms /\s+(\d+) tokens")


def server_timings(log: str) -> dict:
    """llama-server's own per-request timings in a stretch of its log: ms per token, per request (mean)."""
    rows: dict[str, list[tuple[float, int]]] = {"prompt eval": [], "eval": []}
    for kind, ms, tokens in _TIMING.findall(log):
        rows[kind].append((float(ms), int(tokens)))
    def per_token(kind: str) -> float | None:
        ms, tokens = sum(r[0] for r in rows[kind]), sum(r[1] for r in rows[kind])
        return round(ms / tokens, 1) if tokens else None
    return {"decode_ms_per_token": per_token("eval"), "prompt_ms_per_token": per_token("prompt eval"),
            "prompt_tokens": sum(r[1] for r in rows["prompt eval"]) // max(1, len(rows["prompt eval"])),
            "generated_tokens": sum(r[1] for r in rows["eval"]) // max(1, len(rows["eval"]))}


def server_binary(given: Path | None) -> Path:
    """The llama-server binary: the given one, else scripts/build_llama_server.sh's (building it)."""
    if given is not None:
        return given
    out = subprocess.run(["bash", str(BUILD)], check=True, capture_output=True, text=True, cwd=PROJECT_ROOT)
    return Path(out.stdout.strip().splitlines()[-1])


def start_server(binary: Path, model: Path, port: int, n_ctx: int, threads: int, log: Path) -> subprocess.Popen:
    """llama-server with SLOTS slots of n_ctx tokens each, ready to answer."""
    process = subprocess.Popen(
        [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-np", str(SLOTS),
         "-c", str(n_ctx * SLOTS), "-t", str(threads), "-tb", str(threads), "-cb", "--no-webui"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama-server exited: {log.read_text(errors='replace')[-1500:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("llama-server did not become ready within 120 s")


def free_port() -> int:
    """A local TCP port free right now (for a server started next; the tests use it too)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    """Parse the arguments, run the concurrency bench, print it and write its docs section."""
    parser = argparse.ArgumentParser(prog="python -m bot.bench.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=4,
                        help="questions per asker count, at least one per asker (default 4)")
    parser.add_argument("--breakdown", type=int, default=1, help="questions timed for the breakdown (default 1)")
    parser.add_argument("--server", type=Path, help="a llama-server binary (default: build or reuse ours)")
    args = parser.parse_args()
    binary = server_binary(args.server)
    model = real_model()
    settings = Settings().replace(home=DATA / "bench-server")
    build_index(settings, [PROJECT_ROOT / "seeds"])
    searcher = Searcher.open(settings)
    questions = [q.question for q in load_questions(QUESTIONS) if q.answerable][:max(args.questions, *LEVELS)]
    threads = os.cpu_count() or 1
    results: dict[str, list[dict]] = {}

    local = Answerer(settings, searcher, generator=LlamaGenerator(model, settings.model.n_ctx, threads))
    breakdown = model_time(local, questions[:args.breakdown]) if args.breakdown else {}
    if not args.breakdown:
        local.ask(questions[0])  # warm up, as the server is
    print("in-process model time per answer:", breakdown, flush=True)
    shared = SharedAnswerer(local, max(LEVELS))
    results["in process"] = [run_level(shared, each(questions, n, args.questions), n) for n in LEVELS]
    del local, shared

    port = free_port()
    log = DATA / "llama-server.log"
    process = start_server(binary, model, port, settings.model.n_ctx, threads, log)
    try:
        generator = ServerGenerator(f"http://127.0.0.1:{port}/v1", timeout=600, n_ctx=settings.model.n_ctx)
        remote = SharedAnswerer(Answerer(settings, searcher, generator=generator), max(LEVELS))
        remote.ask(questions[0])  # warm up: the server's first request loads its caches
        name = f"llama-server -np {SLOTS}"
        results[name] = []
        for n in LEVELS:
            start = log.stat().st_size
            results[name].append({**run_level(remote, each(questions, n, args.questions), n),
                                  **server_timings(log.read_bytes()[start:].decode(errors="replace"))})
    finally:
        process.kill()
        process.wait(timeout=30)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = report(results, breakdown, args.questions, threads)
    write_section("server", text + f"\nLoad average (1, 5, 15 min) at the end: {load} (the machine is shared).\n")


def report(results: dict[str, list[dict]], breakdown: dict, questions: int, threads: int) -> str:
    """The bench-server section of docs/BENCHMARKS.md."""
    rows = "\n".join(f"| {name} | {r['askers']} | {r['answers']} | {r['per_minute']} | {r['p50']} | {r['p95']} |"
                     for name, levels in results.items() for r in levels)
    local, server = (list(results.values())[0], list(results.values())[1])
    ratio = {r["askers"]: round(s["per_minute"] / r["per_minute"], 2) for r, s in zip(local, server, strict=True)}
    return f"""## Model server: concurrent askers, in process vs llama-server (`make bench-server`)

{machine()}. Gemma 3 270M Q4_K_M; per asker count, the first {questions} answerable questions
of tests/data/questions_seeds.jsonl (at least one per asker), closed-loop askers, llama.cpp on
{threads} threads in both cases; llama-server from
scripts/build_llama_server.sh with `-np {SLOTS} -cb` (continuous batching), {SLOTS} slots of 4096 tokens.
Latency: from sending a question to its verified answer, waiting included. One run.

| backend | askers | answers | answers/min | p50 s | p95 s |
|---|---|---|---|---|---|
{rows}

Throughput of llama-server over the in-process model: {", ".join(f"{n} askers ×{x}" for n, x in ratio.items())}.
{_breakdown(breakdown)}
llama-server's own timings (its log), per request, by number of askers — decoding ms per token of one
request (a batch of k slots decodes k tokens per step), prompt evaluation ms per token, mean prompt
tokens evaluated (the rest came from the slot's cache) and tokens generated:

| askers | decode ms/token | prompt ms/token | prompt tokens evaluated | tokens generated |
|---|---|---|---|---|
{_timings(server)}
"""


def _timings(levels: list[dict]) -> str:
    return "\n".join(f"| {r['askers']} | {r.get('decode_ms_per_token')} | {r.get('prompt_ms_per_token')} | "
                     f"{r.get('prompt_tokens')} | {r.get('generated_tokens')} |" for r in levels)


def _breakdown(breakdown: dict) -> str:
    """Where one in-process answer's model time went, when measured."""
    if not breakdown:
        return ""
    return (f"In process, one answer's model time: {breakdown['prompt_tokens_evaluated']} prompt tokens evaluated "
            f"in {breakdown['prompt_s']} s, {breakdown['generated_tokens']} tokens decoded in "
            f"{breakdown['decode_s']} s.\n")


if __name__ == "__main__":
    main()
