"""Embedding through an OpenAI-compatible server: throughput at 1, 2 and 4 batches in flight; 200,000 chunks projected.

    python -m bot.bench.embed_server ../shared/datasets/piaf/piaf-v1.1.json [--contexts 448]

The server is llama-cpp-python's (`python -m llama_cpp.server --embedding true`) on this
machine, running a random-weight BERT GGUF of multilingual-e5-small's shape (384 wide, 12
layers, 12 heads, 1536 feed-forward) whose vocabulary holds the corpus's frequent words, so a
chunk makes about as many tokens as with e5's own tokenizer: the compute per chunk is e5-small's,
the vectors mean nothing. The same chunk texts go through the server at each concurrency, then
through the same GGUF in-process (index/embedding/llama.py) for the cosine, and through the
default local engine (OpenVINO) for the local rate the projection uses.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from bot.bench.doc import DOC, machine, write_section
from bot.bench.piaf import load_piaf, write_corpus
from bot.bench.server import free_port
from bot.bench.speed import chunk_texts
from bot.llm.tiny_bert_gguf import write_bert_gguf
from bot.settings import Settings
from index.embedding.e5 import BundledE5Embedder
from index.embedding.known_models import OPENVINO, Prefixes
from index.embedding.llama import LlamaEmbedder
from index.embedding.server import ServerEmbedder

E5_SMALL_SHAPE = {"n_embd": 384, "n_layer": 12, "n_head": 12, "n_ff": 1536}
TARGET_CHUNKS = 200_000
# Documented GPU embedding-server throughputs (not measured here): (source, what, texts per second).
DOCUMENTED_GPU = [
    ("gigagpu.com, 'OpenAI-compatible embedding endpoint on the RTX 5060 Ti 16GB' (https://gigagpu.com/?p=15050)",
     "BGE-base-en-v1.5 (768 wide, 12 layers: more compute per token than e5-small) behind TEI/Infinity, "
     "text length not stated; a hosting vendor's figure", 10_200.0),
    ("searchlayer.tech, 'Benchmarking Self Hosted Embedding Models' "
     "(https://blog.searchlayer.tech/2025/12/14/benchmark-self-hosted-embedding-models)",
     "BAAI/bge-small-en-v1.5 (384 wide, e5-small's shape) with sentence-transformers on an RTX 4070, "
     "requests per second at concurrency 5, texts per request not stated (taken as 1)", 132.48),
]


def engines_rate(doc: Path = DOC) -> float | None:
    """OpenVINO's chunks/s on the 448 PIAF chunks, from docs/BENCHMARKS.md's "engines" section (make bench-engines)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    section = text.partition("<!-- engines:start -->")[2].partition("<!-- engines:end -->")[0]
    found = re.search(r"^\| openvino \| [\d.]+ \| ([\d.]+) \|", section, re.MULTILINE)
    return float(found[1]) if found else None


def frequent_words(texts: list[str], limit: int = 30_000) -> list[str]:
    """The corpus's most frequent lower-case words (llama.cpp's BERT tokenizer lowercases and splits on punctuation)."""
    counts = collections.Counter(w for t in texts for w in re.findall(r"\w+", t.lower()))
    return [w for w, _ in counts.most_common(limit)]


def start_server(model: Path, log: Path, threads: int) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's server with the embedding model, ready; (process, base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--embedding", "true", "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_batch", "2048", "--n_ubatch", "2048",
         "--n_threads", str(threads)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/models", timeout=5):
                return process, url
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log.read_text(errors="replace")[-2000:]) from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the embeddings server did not start")


def timed(embed, texts: list[str]) -> tuple[float, np.ndarray]:
    """Seconds and vectors of one pass over texts."""
    started = time.perf_counter()
    vectors = embed(texts)
    return time.perf_counter() - started, vectors


def report(n: int, contexts: int, tokens: float, rates: dict[int, float], local_gguf: float, cosine: float,
           openvino: float, batch: int) -> str:
    """The Markdown section."""
    rows = "\n".join(f"| {c} | {n / s:.1f} | {s:.1f} |" for c, s in rates.items())
    served = n / rates[1]
    fast, slow = max(r for *_, r in DOCUMENTED_GPU), min(r for *_, r in DOCUMENTED_GPU)
    measured = (f"| this machine, OpenVINO (the default local engine), measured in this run on these chunks "
                f"| {openvino:.1f} chunks/s | {TARGET_CHUNKS / openvino / 3600:.1f} h |\n"
                f"| this machine, through the local llama.cpp server (1 batch in flight), measured "
                f"| {served:.1f} chunks/s | {TARGET_CHUNKS / served / 3600:.1f} h |")
    if (recorded := engines_rate()) is not None:
        measured = (f"| this machine, OpenVINO on the 448 PIAF chunks (measured by `make bench-engines`, section "
                    f"\"Embedding engines\" above) | {recorded:.1f} chunks/s "
                    f"| {TARGET_CHUNKS / recorded / 3600:.1f} h |\n"
                    + measured)
    gpu = "\n".join(f"| {rate:,.0f} texts/s | {TARGET_CHUNKS / rate / 60:.1f} min | {src} — {what} |"
                    for src, what, rate in DOCUMENTED_GPU)
    return f"""## Embeddings server: throughput and a 200,000-chunk projection

`python -m bot.bench.embed_server PIAF` (also `make bench-embed-server`) — {n} chunk texts of the
first {contexts} PIAF contexts (≈{tokens:.0f} tokens each) embedded through llama-cpp-python's
`/v1/embeddings` server on this machine, batches of {batch}, by `ServerEmbedder`
(index/embedding/server.py). The server runs a **random-weight BERT GGUF of multilingual-e5-small's
shape** (384 wide, 12 layers; vocabulary = the corpus's frequent words, so the token count per chunk
is close to e5's): the real e5 was not converted to GGUF here, so these rates are e5-small's compute
through llama.cpp, not its vectors.

| batches in flight | chunks/s | seconds |
|---|---|---|
{rows}

llama-cpp-python's server computes one request at a time (one model, one lock), so more batches in
flight only overlap the HTTP and JSON work; servers that batch across requests
(text-embeddings-inference, vLLM, llama.cpp's own `llama-server --embeddings -np N`) are what
`embed_concurrency` is for. The same GGUF in-process (`LlamaEmbedder`) gives {local_gguf:.1f} chunks/s;
its vectors and the server's agree to cosine ≥ {cosine:.5f} (minimum over the {n} chunks).

**Projected time for {TARGET_CHUNKS:,} chunks** (≈ a year of a news site):

| where | rate | projected |
|---|---|---|
{measured}

On a GPU embeddings server, **from documented throughputs (not measured here)**:

| documented rate | projected embedding time | source — what was measured |
|---|---|---|
{gpu}

The two documented figures differ by {fast / slow:.0f}× (batched, token-budgeted serving against one
request per text): on a GPU server the projection is between {TARGET_CHUNKS / fast:.0f} s and
{TARGET_CHUNKS / slow / 60:.0f} min of embedding, after which the store's writes dominate (docs/SCALING.md).
"""


def main() -> None:
    """Write the model, start the server, measure, print and write the docs section."""
    parser = argparse.ArgumentParser(prog="python -m bot.bench.embed_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--contexts", type=int, default=448)
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench"))
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads of the server")
    parser.add_argument("--batch", type=int, default=0, help="texts per request (default: embed_batch)")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    contexts, _ = load_piaf(args.piaf)
    corpus = write_corpus(contexts[:args.contexts], args.workdir / f"piaf-{args.contexts}" / "corpus")
    settings = Settings()
    texts, batch = chunk_texts(corpus, settings), args.batch or settings.index.embed_batch
    work = args.workdir / "embed-server"
    work.mkdir(parents=True, exist_ok=True)
    model = write_bert_gguf(work / "e5-small-shape.gguf", **E5_SMALL_SHAPE, words=frequent_words(texts))
    prefixes = Prefixes("query: ", "passage: ")
    local = LlamaEmbedder(str(model), batch, prefixes)
    tokens = float(np.mean([len(local._model().tokenize(("passage: " + t).encode())) for t in texts]))
    process, url = start_server(model, work / "server.log", args.threads)
    try:
        rates, vectors = {}, None
        for concurrency in (1, 2, 4):
            server = ServerEmbedder(url, "e5-small-shape", prefixes, batch_size=batch, concurrency=concurrency)
            server.encode(texts[:batch])  # warm
            rates[concurrency], vectors = timed(server.encode, texts)
            print(f"{concurrency} in flight: {len(texts) / rates[concurrency]:.1f} chunks/s", file=sys.stderr)
    finally:
        process.kill()
        process.wait()
    local.encode(texts[:2])
    local_seconds, in_process = timed(local.encode, texts)
    cosine = float(np.min(np.sum(vectors * in_process, axis=1)))
    openvino = BundledE5Embedder(batch, engine=OPENVINO).passage_model
    openvino.encode(["chauffe"], bulk=True)
    ov_seconds, _ = timed(lambda t: openvino.encode(t, bulk=True), texts)
    text = report(len(texts), args.contexts, tokens, rates, len(texts) / local_seconds, cosine,
                  len(texts) / ov_seconds, batch)
    print(text)
    if not args.no_doc:
        write_section("embed-server", text + f"\nMachine: {machine()}.\n")


if __name__ == "__main__":
    main()
