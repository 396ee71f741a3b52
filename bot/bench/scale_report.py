"""Markdown of bot.bench.scale: the two tables, the verdict on the dense index rule, the docs section."""

from __future__ import annotations

import argparse
import textwrap

import numpy as np

from bot.bench.doc import machine
from bot.bench.scale_data import CLUSTER_RANK, CLUSTERS, DIM
from bot.bench.scale_index import K
from index.stores.embedded import dense

# The verdict in the docs: one exact search at EXACT_LIMIT chunks may take this long (p95), small
# beside the seconds an answer takes, whereas HNSW adds minutes to every index update; and the
# recall@10 against exact that HNSW must keep at the shipped efSearch.
DENSE_BUDGET_MS = 50.0
RECALL_FLOOR = 0.95


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
        lines.append(((f"hybrid search p50 / p95, {b['questions']} PIAF questions, {label} {threads} OpenMP "
                       f"thread{'s' if threads > 1 else ''}"),
                      f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f} ms"))
    return "| end to end | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in lines)


def verdict(a: dict) -> str:
    """The automatic rule of index/stores/embedded/dense.py and what these numbers say about it."""
    rows = a["rows"]
    flat, hnsw = rows[0], next(r for r in rows if "(shipped)" in r["index"])
    at_limit = next((r for r in rows if r["index"].startswith("flat (exact) at")), None)
    limit_text = f" and {at_limit['p95']:.1f} ms at {a['flat_at']:,}" if at_limit else ""
    text = (f"**The automatic rule.** `index_kind` in `index/stores/embedded/dense.py` picks exact `IndexFlatIP` up to "
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
    """The command that reproduces this run: the module and every option changed from its default."""
    parts = ["python -m bot.bench.scale"]
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


def render(args, command: str, a: dict, b: dict | None, seconds: float, load_before: float,
           load_after: float) -> str:
    """The docs section: command, machine, set-up of both parts, their tables and the verdict."""
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
    return "\n\n".join(parts) + "\n"
