"""The direct answer as a short-answer reader on PIAF v1.1: exact match and token F1 against the gold answers.

    python -m bot.bench.piaf_reader ../shared/datasets/piaf/piaf-v1.1.json [--questions N] [--split held-out]

Split (fixed, by position in the file): bot/bench/calibrate_support.py fits the sentence-support
model on a sample of the even positions only (questions[::2]), so the **odd positions are the
held-out half**: nothing was fitted, tuned or calibrated on them. `--split train` measures the even
half instead, for designing rules; only the held-out numbers go to docs/BENCHMARKS.md.

Two settings, extractive mode (no language model), the same Answerer as `citebot ask`:
(a) reader alone: the gold paragraph is the only evidence (its passages, scored as the search
    would score them), through Answerer.read;
(b) end to end: the question asked over an index of all 1,518 PIAF contexts (Answerer.ask).
The prediction is the direct answer's verbatim parts joined by spaces, without framing or markers
("" when the answer abstains or has no direct answer); metrics in bot/bench/squad.py. Also: the
share of questions whose cited quotes hold a gold answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bot.answer.pipeline import Answerer
from bot.bench.doc import machine, write_section
from bot.bench.piaf import PiafQuestion, context_file, load_piaf, write_corpus
from bot.bench.retrieval import BatchEmbedder
from bot.bench.squad import contains, exact_match, token_f1
from bot.settings import Settings
from index.builder import build_index
from index.errors import IndexMismatchError
from index.progress import Progress
from index.records import Hit
from index.search.hybrid import Searcher, fuse

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class _CachedEmbedder(BatchEmbedder):
    """Every text through the disk cache: the support scorer's sentences are shared by both settings and reruns."""

    def encode(self, texts, progress=None, bulk=False):
        return super().encode(texts, progress, bulk=True)


def split(questions: list[PiafQuestion], name: str, count: int) -> list[PiafQuestion]:
    """The held-out (odd positions) or training (even positions) half, `count` of them evenly spaced."""
    half = questions[1::2] if name == "held-out" else questions[0::2]
    if count and count < len(half):
        half = half[:: len(half) // count][:count]
    return half


def gold_hits(searcher: Searcher, question: str, chunk_ids: list[int]) -> tuple[Hit, ...]:
    """The gold paragraph's chunks as hits, scored as the hybrid search scores them (the only evidence)."""
    # The same z-scores as Searcher.scores: lexical over the whole index, dense against its moments.
    lexical = searcher._lexical(question)
    ids = np.array(chunk_ids)
    dense = searcher._dense_z(searcher._query_vector(question), ids)
    order, fused = fuse(ids, lexical[ids], dense, searcher.settings.retrieval.dense_weight, len(ids))
    chunks = searcher.reader.chunks([int(ids[i]) for i in order])
    return tuple(Hit(rank=r + 1, chunk=c, score=float(fused[i]), lexical=float(lexical[ids][i]),
                     dense=float(dense[i])) for r, (i, c) in enumerate(zip(order, chunks)))


def score(answer, golds: tuple[str, ...]) -> dict:
    """EM, F1 and whether a cited quote holds a gold answer, for one answer."""
    direct = answer.direct
    prediction = " ".join(p.text for p in direct.parts) if direct is not None and not answer.abstained else ""
    return {"em": exact_match(prediction, golds), "f1": token_f1(prediction, golds),
            "cited": any(contains(c.quote, golds) for c in answer.citations),
            "abstained": answer.abstained, "direct": direct is not None, "prediction": prediction,
            "form": direct.form if direct is not None else None}


def summary(rows: list[dict]) -> dict:
    """Mean EM and F1 (in percent) and the shares of cited gold answers, abstentions and direct answers."""
    n = max(len(rows), 1)
    answered = [r for r in rows if r["direct"]]
    return {"questions": len(rows), "em": round(100 * sum(r["em"] for r in rows) / n, 1),
            "f1": round(100 * sum(r["f1"] for r in rows) / n, 1),
            "f1_when_direct": round(100 * sum(r["f1"] for r in answered) / max(len(answered), 1), 1),
            "cited_gold": round(sum(r["cited"] for r in rows) / n, 3),
            "abstained": round(sum(r["abstained"] for r in rows) / n, 3),
            "direct": round(len(answered) / n, 3)}


def run(args) -> tuple[dict, dict, dict]:
    """Both settings over the chosen questions: their summaries, rows and the seconds they took."""
    contexts, questions = load_piaf(args.piaf)
    chosen = split(questions, args.split, args.questions)
    corpus = write_corpus(contexts, args.workdir / "corpus")
    settings = Settings().replace(home=args.workdir / "home", extractive=True)
    embedder = _CachedEmbedder(settings, args.workdir / "vectors")
    try:
        build_index(settings, [corpus], embedder=embedder, progress=Progress())
    except IndexMismatchError:
        build_index(settings, [corpus], embedder=embedder, progress=Progress(), rebuild=True)
    searcher = Searcher.open(settings, embedder)
    embedder.prime_queries([q.question.strip() for q in chosen])
    by_path: dict[str, list[int]] = {}
    for chunk in searcher.reader.chunks(list(range(searcher.reader.size))):
        by_path.setdefault(chunk.path, []).append(chunk.id)
    answerer = Answerer(settings, searcher)
    rows: dict[str, list[dict]] = {name: [] for name in ("reader", "retrieval") if args.only in (None, name)}
    seconds: dict[str, float] = {}
    for name in rows:
        started = time.perf_counter()
        for q in Progress().iter(chosen, name, unit="q"):
            if name == "reader":
                gold = str(context_file(corpus, q.context).resolve())
                answer = answerer.read(q.question, gold_hits(searcher, q.question.strip(), by_path[gold]))
            else:
                answer = answerer.ask(q.question)
            rows[name].append({"id": q.id, "question": q.question, "golds": q.answers,
                               **score(answer, q.answers)})
        seconds[name] = round(time.perf_counter() - started, 1)
    return {name: summary(r) for name, r in rows.items()}, rows, seconds


def _doc(results: dict, seconds: dict, args, total: int) -> str:
    a, b = results["reader"], results["retrieval"]
    return f"""## PIAF short answers (the direct answer as a reader)

`python -m bot.bench.piaf_reader ../shared/datasets/piaf/piaf-v1.1.json` (`make bench-piaf-reader`), extractive
mode. Held-out half of PIAF v1.1: the odd positions of the file ({total} questions), never used to fit, tune or
calibrate anything (the support model is fitted on even positions only); {a['questions']} asked, evenly
spaced{'' if a['questions'] == total else ' (a sample)'}.
Prediction: the direct answer's verbatim parts, without framing; SQuAD exact match and token F1 with French
normalisation (bot/bench/squad.py), best over the gold answers; an abstention or an answer without a direct
answer scores 0. Machine: {machine()}.

| measure | (a) reader, gold paragraph only | (b) retrieval over all 1,518 contexts |
|---|---|---|
| exact match (%) | {a['em']} | {b['em']} |
| token F1 (%) | {a['f1']} | {b['f1']} |
| token F1 where a direct answer was given (%) | {a['f1_when_direct']} | {b['f1_when_direct']} |
| cited quotes hold a gold answer | {a['cited_gold']} | {b['cited_gold']} |
| direct answer given | {a['direct']} | {b['direct']} |
| abstained | {a['abstained']} | {b['abstained']} |
| seconds for all questions (vectors from the bench's disk cache) | {seconds['reader']} | {seconds['retrieval']} |

Goals of issue 18: (a) F1 ≥ 75; (b) F1 ≥ 60 and EM ≥ 45. Fine-tuned French readers report F1 around 80–88
with the gold paragraph; this reader is rules over typed spans (bot/answer/direct.py), no trained model.
"""


def main() -> None:
    """Parse the arguments, run both settings, print the numbers; held-out runs write their docs section."""
    parser = argparse.ArgumentParser(prog="python -m bot.bench.piaf_reader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench/piaf"))
    parser.add_argument("--questions", type=int, default=1000, help="evenly spaced sample of the half (0: all)")
    parser.add_argument("--split", choices=["held-out", "train"], default="held-out")
    parser.add_argument("--only", choices=["reader", "retrieval"], help="one setting (nothing written to the docs)")
    parser.add_argument("--rows", type=Path, help="write every question's prediction here (JSON)")
    args = parser.parse_args()
    results, rows, seconds = run(args)
    print(json.dumps({"results": results, "seconds": seconds}, indent=1))
    if args.rows:
        args.rows.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.split == "held-out" and args.only is None:
        total = len(split(load_piaf(args.piaf)[1], "held-out", 0))
        write_section("piaf-reader", _doc(results, seconds, args, total))
    else:
        print("training half: numbers printed, docs/BENCHMARKS.md left alone", file=sys.stderr)


if __name__ == "__main__":
    main()
