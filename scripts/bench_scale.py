"""Scale: exact against approximate FAISS search at 100k+ chunks, and the whole pipeline at that size.

    python scripts/bench_scale.py [--n 120000] [--queries 1000] [--chunks 100000] [--questions 300]
                                  [--piaf ../shared/datasets/piaf/piaf-v1.1.json] [--skip-e2e] [--no-doc]

Part A (index only): seeded clustered unit vectors stand in for sentence embeddings; exact
`IndexFlatIP`, the shipped HNSW (index/dense.py) and an IVF index are compared for build time,
size, single-query latency and recall@10 against exact search.

Part B (end to end): PIAF contexts plus seeded French filler (PIAF sentences recombined) are
indexed with the real pipeline into .citebot/bench/scale, then hybrid searches are timed. The
embedder there is a stand-in that hashes each text to a random unit vector, so only build and
search times mean anything, not retrieval quality.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import math
import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchdoc import machine, write_section  # noqa: E402
from piaf import load_piaf, write_corpus  # noqa: E402

from index import dense  # noqa: E402
from index.builder import build_index  # noqa: E402
from index.chunker import chunk_spans  # noqa: E402
from index.loader import load_article  # noqa: E402
from index.progress import Progress  # noqa: E402
from index.reader import IndexReader  # noqa: E402
from index.search import Searcher  # noqa: E402
from index.settings import Settings  # noqa: E402
from index.text import sentence_spans  # noqa: E402

DIM = 384
K = 10
# Mixture shape, tuned so that a query's top-1 cosine is about 0.65-0.8 and its 10th about
# 0.5-0.7, as for MiniLM sentence embeddings of news text.
CLUSTERS = 2000
CLUSTER_RANK = 16      # each cluster spreads along its own 16-d subspace (low intrinsic dimension)
SPREAD = 0.8           # length of the within-cluster variation, relative to the unit centre
NOISE = 0.5            # length of the isotropic noise
# The verdict in the docs: one exact search at EXACT_LIMIT chunks may take this long (p95), small
# beside the seconds an answer takes, whereas HNSW adds minutes to every index update; and the
# recall@10 against exact that HNSW must keep at the shipped efSearch.
DENSE_BUDGET_MS = 50.0
RECALL_FLOOR = 0.95
FILLER_SENTENCES = 60  # sentences per synthetic article (about a dozen chunks)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def mixture(n: int, seed: int, draw: int = 0) -> np.ndarray:
    """n float32 unit vectors from a seeded Gaussian mixture on the sphere (uneven cluster sizes).

    Every draw of the same seed comes from the same clusters, with different points.
    """
    structure = np.random.default_rng(seed)
    rng = np.random.default_rng([seed, draw + 1])
    centres = unit(structure.standard_normal((CLUSTERS, DIM))).astype(np.float32)
    bases = structure.standard_normal((CLUSTERS, CLUSTER_RANK, DIM)).astype(np.float32) / np.sqrt(DIM)
    weights = structure.lognormal(0.0, 1.0, CLUSTERS)
    labels = rng.choice(CLUSTERS, size=n, p=weights / weights.sum())
    out = np.empty((n, DIM), dtype=np.float32)
    for k in np.unique(labels):
        rows = np.flatnonzero(labels == k)
        coords = rng.standard_normal((len(rows), CLUSTER_RANK)).astype(np.float32) / np.sqrt(CLUSTER_RANK)
        out[rows] = centres[k] + SPREAD * (coords @ bases[k])
    out += NOISE * rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
    return unit(out)


def rss() -> int:
    """Resident memory of this process in bytes, after handing freed heap memory back to the system."""
    try:
        # Otherwise memory freed by an earlier index stays resident and hides the next one's growth.
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def single_queries(index, queries: np.ndarray, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """Ids found and per-query milliseconds, searching one query at a time as citebot does."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    ms = np.empty(len(queries))
    for i in range(len(queries)):
        start = time.perf_counter()
        _, ids[i:i + 1] = index.search(queries[i:i + 1], k)
        ms[i] = (time.perf_counter() - start) * 1000
    return ids, ms


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the exact top-k that the approximate top-k contains."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def build_ivf(vectors: np.ndarray, nlist: int, seed: int):
    """IVF-Flat over inner product, its k-means trained on a sample of 39 vectors per list."""
    import faiss

    quantizer = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    sample = np.random.default_rng(seed).choice(len(vectors), min(len(vectors), 39 * nlist), replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    return index


def built(build, threads: int) -> tuple[object, dict]:
    """Run an index build with this many OpenMP threads; the index and what it cost."""
    import faiss

    faiss.omp_set_num_threads(threads)
    before, start = rss(), time.perf_counter()
    index = build()
    cost = {"build_s": time.perf_counter() - start, "rss": rss() - before,
            "bytes": len(faiss.serialize_index(index))}
    return index, cost


def searched(name: str, index, queries: np.ndarray, truth: np.ndarray | None, threads: int,
             cost: dict | None = None) -> tuple[dict, np.ndarray]:
    """Time single-query searches and score them against exact; the table row and the ids found."""
    import faiss

    faiss.omp_set_num_threads(threads)
    ids, ms = single_queries(index, queries)
    row = {"index": name, "build_s": None, "bytes": None, "rss": None, **(cost or {}),
           "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
           "recall": 1.0 if truth is None else recall(ids, truth)}
    return row, ids


def part_a(args) -> dict:
    """Index-only comparison on N synthetic vectors."""
    import faiss

    build_threads = faiss.omp_get_max_threads()
    data = mixture(args.n + args.queries, args.seed)
    vectors, queries = data[:args.n], data[args.n:]
    del data
    start = time.perf_counter()
    dense.score_stats(vectors)
    stats_s = time.perf_counter() - start
    print(f"part A: {args.n} vectors, {args.queries} queries; score_stats {stats_s:.2f} s", file=sys.stderr)

    flat, cost = built(lambda: dense.build_faiss(vectors, "flat"), build_threads)
    row, truth = searched("flat (exact)", flat, queries, None, args.threads, cost)
    rows = [row]
    del flat
    if args.flat_at > args.n:
        # Exact search cost grows linearly; measure it where the automatic rule switches.
        extra = mixture(args.flat_at - args.n, args.seed, draw=1)
        big = dense.build_faiss(np.concatenate([vectors, extra]), "flat")
        rows.append(searched(f"flat (exact) at N = {args.flat_at:,}", big, queries, None, args.threads)[0])
        del extra, big
    print("  flat done", file=sys.stderr)

    hnsw, cost = built(lambda: dense.build_faiss(vectors, "hnsw"), build_threads)
    for ef in dict.fromkeys([dense.HNSW_EF_SEARCH, *args.ef]):
        hnsw.hnsw.efSearch = ef  # the shipped value is the one dense.load_faiss sets
        shipped = ef == dense.HNSW_EF_SEARCH
        name = (f"HNSW M={dense.HNSW_M}, efC={hnsw.hnsw.efConstruction}, efSearch={ef}"
                + (" (shipped)" if shipped else ""))
        rows.append(searched(name, hnsw, queries, truth, args.threads, cost if shipped else None)[0])
    ef_construction = hnsw.hnsw.efConstruction
    del hnsw
    print("  HNSW done", file=sys.stderr)

    nlist = max(1, round(4 * math.sqrt(args.n)))
    ivf, cost = built(lambda: build_ivf(vectors, nlist, args.seed), build_threads)
    for i, nprobe in enumerate(args.nprobe):
        ivf.nprobe = nprobe
        rows.append(searched(f"IVF-Flat nlist={nlist}, nprobe={nprobe}", ivf, queries, truth, args.threads,
                             cost if i == 0 else None)[0])
    del ivf
    print("  IVF done", file=sys.stderr)
    faiss.omp_set_num_threads(build_threads)

    sims = np.einsum("qd,qkd->qk", queries, vectors[truth])
    return {"rows": rows, "n": args.n, "flat_at": args.flat_at, "stats_s": stats_s, "nlist": nlist,
            "ef_construction": ef_construction, "build_threads": build_threads,
            "top1": np.percentile(sims[:, 0], [5, 50, 95]), "top10": np.percentile(sims[:, -1], [5, 50, 95])}


class HashEmbedder:
    """Stand-in for the embedding model: a pseudo-random unit vector per text, from its hash."""

    name = "synthetic-hash-384"
    dim = DIM
    batch_size = 1024

    def vector(self, text: str) -> np.ndarray:
        """The text's vector: the same text always gives the same vector."""
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str], progress=None, bulk: bool = False) -> np.ndarray:
        """Vectors of many texts, reporting progress per batch like the real embedder."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i:i + self.batch_size]
            out[i:i + len(batch)] = [self.vector(t) for t in batch]
            if progress:
                progress(len(batch))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Vector of one question."""
        return self.vector(text)


def sentence_pool(contexts: list[tuple[str, str]]) -> list[str]:
    """Every sentence of the PIAF contexts, in order."""
    return [text[s:e] for _, text in contexts for s, e in sentence_spans(text)]


def filler_text(index: int, titles: list[str], pool: list[str], seed: int) -> str:
    """One synthetic French article: a PIAF title and paragraphs of randomly drawn PIAF sentences."""
    rng = np.random.default_rng([seed, index])
    title = f"{titles[rng.integers(len(titles))]} : dossier {index}"
    picks = [pool[i] for i in rng.integers(len(pool), size=FILLER_SENTENCES)]
    cuts = np.cumsum(rng.integers(3, 9, size=FILLER_SENTENCES))
    paragraphs = [" ".join(picks[a:b]) for a, b in zip(np.r_[0, cuts], cuts) if a < FILLER_SENTENCES]
    return f"{title}\n\n" + "\n\n".join(paragraphs) + "\n"


def write_if_changed(path: Path, content: str) -> None:
    """Write a file unless it already holds exactly this content (keeps reruns incremental)."""
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        path.write_text(content, encoding="utf-8")


def chunk_count(paths: list[Path], settings: Settings) -> int:
    """Chunks the pipeline would cut from these files."""
    return sum(len(chunk_spans(load_article(p), settings.chunk_chars, settings.chunk_overlap)) for p in paths)


def write_filler(folder: Path, contexts, target_chunks: int, settings: Settings, seed: int) -> int:
    """Write enough filler articles for about target_chunks chunks; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = sorted({title for title, _ in contexts})
    pool = sentence_pool(contexts)

    def path(i: int) -> Path:
        return folder / f"filler_{i:05d}.txt"

    sample = 50
    for i in range(sample):
        write_if_changed(path(i), filler_text(i, titles, pool, seed))
    per_article = chunk_count([path(i) for i in range(sample)], settings) / sample
    count = max(0, math.ceil(target_chunks / per_article * 1.02))  # a margin for the estimate
    for i in range(sample, count):
        write_if_changed(path(i), filler_text(i, titles, pool, seed))
    for stale in folder.glob("filler_*.txt"):  # left by a run with a larger --chunks
        if int(stale.stem.split("_")[1]) >= count:
            stale.unlink()
    return count


def folder_bytes(folder: Path) -> int:
    """Total size of the files under a folder."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def time_searches(searcher: Searcher, questions: list[str]) -> np.ndarray:
    """Milliseconds of each hybrid search, one question at a time."""
    ms = np.empty(len(questions))
    for i, question in enumerate(questions):
        start = time.perf_counter()
        searcher.search(question, mode="hybrid")
        ms[i] = (time.perf_counter() - start) * 1000
    return ms


def part_b(args) -> dict:
    """The real pipeline (chunking, SQLite, BM25, FAISS) on 100k+ chunks with synthetic vectors."""
    import faiss

    contexts, questions = load_piaf(args.piaf)
    settings = Settings(home=args.workdir / "home", embed_model=HashEmbedder.name)
    corpus = args.workdir / "corpus"
    start = time.perf_counter()
    write_corpus(contexts, corpus / "piaf")
    piaf_chunks = chunk_count(sorted((corpus / "piaf").glob("*.txt")), settings)
    articles = write_filler(corpus / "filler", contexts, args.chunks - piaf_chunks, settings, args.seed)
    print(f"part B: corpus of {len(contexts)} PIAF contexts + {articles} filler articles written in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)

    embedder = HashEmbedder()
    full = build_index(settings, [corpus], rebuild=True, embedder=embedder, progress=Progress())
    again = build_index(settings, [corpus], embedder=embedder, progress=Progress())
    reader = IndexReader.open_current(settings.home)
    searcher = Searcher(reader, settings, embedder)
    step = max(1, len(questions) // args.questions)
    sample = [q.question.strip() for q in questions[::step][:args.questions]]
    start = time.perf_counter()
    searcher.search(sample[0], mode="hybrid")  # opens FAISS, BM25 and the vectors lazily
    first_ms = (time.perf_counter() - start) * 1000
    default_threads = faiss.omp_get_max_threads()
    time_searches(searcher, sample)  # warm the caches so that both settings start alike
    timings = {}
    # One setting after the other: alternating them per question lets OpenMP workers that are
    # still spinning after a parallel search slow down the next single-threaded one.
    for threads in dict.fromkeys([default_threads, 1]):
        faiss.omp_set_num_threads(threads)
        timings[threads] = time_searches(searcher, sample)
    faiss.omp_set_num_threads(default_threads)
    return {"chunks": full.chunks, "articles": full.articles, "embedded": full.embedded_chunks,
            "build_s": full.seconds, "kind": reader.manifest["faiss"], "disk": folder_bytes(reader.folder),
            "again_s": again.seconds, "again_embedded": again.embedded_chunks, "first_ms": first_ms,
            "questions": len(sample), "default_threads": default_threads, "timings": timings}


def mib(n: int | None) -> str:
    """Bytes as whole MiB; blank for no value."""
    return "" if n is None else f"{n / 2**20:,.0f}"


def index_table(rows: list[dict]) -> str:
    """Part A as markdown."""
    head = ("| index | build (s) | size (MiB) | RSS growth (MiB) | p50 (ms) | p95 (ms) | recall@10 |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n")
    return head + "\n".join(
        f"| {r['index']} | {'' if r['build_s'] is None else format(r['build_s'], '.1f')} | {mib(r['bytes'])} | "
        f"{mib(r['rss'])} | {r['p50']:.2f} | {r['p95']:.2f} | {r['recall']:.4f} |" for r in rows)


def e2e_table(b: dict) -> str:
    """Part B as markdown."""
    lines = [("chunks (articles)", f"{b['chunks']:,} ({b['articles']:,})"),
             ("full build, chunks embedded", f"{b['build_s']:.1f} s, {b['embedded']:,}"),
             ("FAISS kind chosen (manifest)", b["kind"]),
             ("index generation on disk", f"{mib(b['disk'])} MiB"),
             ("re-index of the unchanged corpus, chunks embedded", f"{b['again_s']:.1f} s, {b['again_embedded']}"),
             ("first search (opens the index)", f"{b['first_ms']:.0f} ms")]
    for threads, ms in b["timings"].items():
        label = "FAISS default" if threads == b["default_threads"] else "set to"
        lines.append((f"hybrid search p50 / p95, {b['questions']} PIAF questions, {label} {threads} OpenMP "
                      f"thread{'s' if threads > 1 else ''}",
                      f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f} ms"))
    return "| end to end | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in lines)


def verdict(a: dict) -> str:
    """The automatic rule of index/dense.py and what these numbers say about it."""
    rows = a["rows"]
    flat, hnsw = rows[0], next(r for r in rows if "(shipped)" in r["index"])
    at_limit = next((r for r in rows if r["index"].startswith("flat (exact) at")), None)
    limit_text = f" and {at_limit['p95']:.1f} ms at {a['flat_at']:,}" if at_limit else ""
    text = (f"**The automatic rule.** `index_kind` in `index/dense.py` picks exact `IndexFlatIP` up to "
            f"`EXACT_LIMIT` = {dense.EXACT_LIMIT:,} chunks and HNSW (M={dense.HNSW_M}, efConstruction "
            f"{a['ef_construction']}, efSearch {dense.HNSW_EF_SEARCH}) above. FAISS is rebuilt from all "
            f"vectors on every `citebot index` that changes anything, so a build cost is paid on each "
            f"update. Here exact search takes p95 {flat['p95']:.1f} ms at {a['n']:,} chunks{limit_text}; "
            f"the shipped HNSW answers in p95 {hnsw['p95']:.2f} ms with recall@10 {hnsw['recall']:.3f} but "
            f"takes {hnsw['build_s']:.0f} s to build at {a['n']:,} (exact: {flat['build_s']:.1f} s). ")
    accurate = hnsw["recall"] >= RECALL_FLOOR
    recall_text = (f"above the limit HNSW keeps recall@10 above {RECALL_FLOOR}." if accurate else
                   f"HNSW recall@10 is below {RECALL_FLOOR}: a higher efSearch is needed above the limit.")
    if max(a["n"], a["flat_at"] if at_limit else 0) < dense.EXACT_LIMIT:
        return text + f"Exact search was not timed at `EXACT_LIMIT`, so this run does not judge it; {recall_text}"
    budget = f"a {DENSE_BUDGET_MS:.0f} ms p95 budget"
    if (at_limit or flat)["p95"] > DENSE_BUDGET_MS:
        return text + (f"Exact search at the limit exceeds {budget} on this machine: a lower `EXACT_LIMIT` "
                       f"would keep dense search cheap; {recall_text}")
    if not accurate:
        return text + f"Exact search stays within {budget} up to the limit, but {recall_text}"
    return text + (f"The numbers support the rule: up to the limit exact search stays within {budget} "
                   f"with perfect recall and no build cost, and {recall_text}")


def threads_note(b: dict) -> str:
    """What FAISS's default OpenMP threads did to single-query search, when it made a difference."""
    if len(b["timings"]) < 2:
        return ""
    many, one = (float(np.percentile(b["timings"][t], 50)) for t in (b["default_threads"], 1))
    if many < 1.5 * one:
        return ""
    return (f"FAISS's default of {b['default_threads']} OpenMP threads made hybrid search {many / one:.1f}× "
            f"slower at the median than one thread while other processes used the cores (see the load "
            f"average).")


def command_line(args, parser: argparse.ArgumentParser) -> str:
    """The command that reproduces this run: the script and every option changed from its default."""
    parts = ["python scripts/bench_scale.py"]
    for name, value in vars(args).items():
        if name == "no_doc" or value == parser.get_default(name):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag)
        else:
            parts.append(f"{flag} {','.join(map(str, value)) if isinstance(value, list) else value}")
    return " ".join(parts)


def prose(text: str) -> str:
    """A paragraph wrapped like the rest of docs/BENCHMARKS.md."""
    return textwrap.fill(" ".join(text.split()), width=100)


def run(args, command: str) -> tuple[str, str]:
    """Both parts; returns the markdown tables and the docs section."""
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    a = part_a(args)
    tables = index_table(a["rows"])
    b = None
    if not args.skip_e2e:
        b = part_b(args)
        tables += "\n\n" + e2e_table(b)
    seconds, load_after = time.perf_counter() - started, os.getloadavg()[0]
    top1, top10 = (", ".join(f"{v:.2f}" for v in a[key]) for key in ("top1", "top10"))
    parts = [
        "## Scale: exact against approximate dense search",
        f"`{command}` ({seconds / 60:.1f} min)",
        prose(f"Machine: {machine()}; 1-minute load average {load_before:.1f} at the start, "
              f"{load_after:.1f} at the end."),
        prose(f"""**Index only.** {args.n:,} float32 unit vectors of dimension {DIM} from a seeded
            Gaussian mixture on the sphere ({CLUSTERS:,} clusters of uneven size, each spread along its
            own {CLUSTER_RANK}-d subspace, plus noise) and {args.queries:,} queries from the same mixture
            that are not in the index. Their exact top-1 cosine is {top1} (5th, 50th, 95th percentile)
            and their 10th best {top10}, as for real sentence embeddings; uniform random vectors would be
            a pathological worst case for approximate search. Builds use {a['build_threads']} OpenMP
            threads, searches {args.threads}, one query at a time with k = {K} as citebot searches. Size
            is `faiss.serialize_index`; RSS growth is the resident memory the build added. Recall@10 is
            against the exact results. IVF: nlist = 4·√N = {a['nlist']}, k-means trained on
            {min(args.n, 39 * a['nlist']):,} sampled vectors. `dense.score_stats` (mean and covariance
            for the dense z-scores) over the {args.n:,} vectors: {a['stats_s']:.2f} s."""),
        index_table(a["rows"]),
    ]
    if b:
        parts += [
            prose(f"""**End to end.** {b['chunks']:,} chunks: the {args.piaf.name} contexts plus seeded
                French filler articles (PIAF sentences recombined), indexed by `build_index` (chunking,
                SQLite, BM25, FAISS) and searched with `Searcher.search` in hybrid mode. The dense vectors
                there are synthetic (each text's hash turned into a random unit vector, no model), so only
                times and sizes mean anything, not retrieval quality; the real model adds its embedding
                time per chunk to the build."""),
            e2e_table(b),
        ]
        note = threads_note(b)
        parts += [prose(note)] if note else []
    parts.append(prose(verdict(a)))
    return tables, "\n\n".join(parts) + "\n"


def int_list(text: str) -> list[int]:
    """A comma-separated list of integers."""
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=120_000, help="vectors in the index-only comparison")
    parser.add_argument("--queries", type=int, default=1000, help="queries in the index-only part")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads for the index-only searches")
    parser.add_argument("--flat-at", type=int, default=dense.EXACT_LIMIT,
                        help="also time exact search at this many vectors (0: skip)")
    parser.add_argument("--ef", type=int_list, default=[64, 256],
                        help="HNSW efSearch values to try besides the shipped one, e.g. 64,256")
    parser.add_argument("--nprobe", type=int_list, default=[16, 32],
                        help="IVF nprobe values to try, e.g. 16,32 (the build is charged to the first)")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the end-to-end index")
    parser.add_argument("--questions", type=int, default=300, help="PIAF questions timed end to end")
    parser.add_argument("--piaf", type=Path, default=Path("../shared/datasets/piaf/piaf-v1.1.json"))
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench/scale"),
                        help="corpus files and index of the end-to-end part (reused between runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-e2e", action="store_true", help="only the index-only part")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    tables, doc = run(args, command_line(args, parser))
    print(tables)
    if not args.no_doc:
        write_section("scale", doc)


if __name__ == "__main__":
    main()
