"""Fit the sentence-support model and the abstention threshold on PIAF v1.1.

    python -m bot.bench.calibrate_support ../shared/datasets/piaf/piaf-v1.1.json [--questions N]

For each PIAF question (even positions train, odd positions test) the hybrid search returns
five passages; a sentence is positive when it comes from the gold context and contains a gold
answer. A logistic regression over bot.answer.support.FEATURES is fitted on the training questions.

The abstention threshold is set on the training questions so that at most --false-abstain of
answerable questions (a positive sentence is among the candidates) abstain; "unanswerable"
questions are the same questions with the gold context removed from the hits, a hard negative
since the other paragraphs of the same Wikipedia article usually remain.

Writes bot/answer/support_model.json and prints held-out metrics (also in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer.support import (
    FEATURES,
    MODEL_PATH,
    SupportModel,
    SupportScorer,
    candidate_sentences,
)
from bot.bench.doc import write_section
from bot.bench.piaf import load_piaf, write_corpus
from bot.bench.retrieval import BatchEmbedder
from bot.settings import Settings
from index.builder import build_index
from index.errors import IndexMismatchError
from index.progress import Progress
from index.search import Searcher
from index.text import fold, normalize_for_match

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _norm(text: str) -> str:
    return fold(normalize_for_match(text))


def collect(searcher, scorer, questions, gold_paths, k, progress):
    """Rows of (question id, split, variant, features, label) for both variants of each question."""
    rows = []
    for i, q in enumerate(progress.iter(questions, "features", unit="q")):
        question = q.question.strip()
        hits = searcher.search(question, k + 3).hits
        gold = gold_paths[q.context]
        answers = [_norm(a) for a in q.answers if a.strip()]
        without_gold = tuple(h for h in hits if h.chunk.path != gold)[:k]
        for variant, chosen in (("with_gold", hits[:k]), ("without_gold", without_gold)):
            sentences = candidate_sentences(chosen)
            feats = scorer.features(question, chosen, sentences)
            for s, f in zip(sentences, feats):
                label = s.path == gold and any(a in _norm(s.text) for a in answers)
                rows.append((i, i % 2, variant, [f[name] for name in FEATURES], label))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.bench.calibrate_support", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench/piaf"))
    parser.add_argument("--questions", type=int, default=3000, help="evenly spaced sample size")
    parser.add_argument("--false-abstain", type=float, default=0.05)
    parser.add_argument("--write", action="store_true", help="write bot/answer/support_model.json")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    contexts, questions = load_piaf(args.piaf)
    questions = questions[:: max(1, len(questions) // args.questions)][: args.questions]
    corpus = write_corpus(contexts, args.workdir / "corpus")
    settings = Settings().replace(home=args.workdir / "home")
    embedder = BatchEmbedder(settings.index.embed_model, settings.index.embed_batch)
    try:
        build_index(settings, [corpus], embedder=embedder, progress=Progress())
    except IndexMismatchError:
        build_index(settings, [corpus], embedder=embedder, progress=Progress(), rebuild=True)
    searcher = Searcher.open(settings, embedder)
    # Every sentence of the corpus and every question embedded once, in batches.
    all_sentences = sorted({s.text for h in (searcher.reader.chunks(list(range(searcher.reader.size))))
                            for s in candidate_sentences((_as_hit(h),))})
    embedder.prime([q.question.strip() for q in questions] + all_sentences)
    scorer = SupportScorer(searcher.analyzer, searcher.reader.document_frequency, searcher.reader.size, embedder,
                           model=SupportModel({n: 0.0 for n in FEATURES}, 0.0, 0.5))
    gold_paths = {i: str((corpus / f"piaf_{i:04d}.txt").resolve()) for i in range(len(contexts))}
    rows = collect(searcher, scorer, questions, gold_paths, settings.retrieval.k, Progress())

    X = np.array([r[3] for r in rows])
    y = np.array([r[4] for r in rows])
    split = np.array([r[1] for r in rows])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(X[split == 0], y[split == 0])
    p = model.predict_proba(X)[:, 1]
    print(f"sentence AUC train {roc_auc_score(y[split == 0], p[split == 0]):.3f} "
          f"test {roc_auc_score(y[split == 1], p[split == 1]):.3f}")
    report = evaluate(rows, p, args.false_abstain)
    print(json.dumps(report, indent=1))
    if args.write:
        # The abstention threshold itself is set by bot/bench/calibrate_threshold.py on news questions.
        old = json.loads(MODEL_PATH.read_text(encoding="utf-8")) if MODEL_PATH.exists() else {}
        MODEL_PATH.write_text(json.dumps({
            "weights": dict(zip(FEATURES, map(float, model.coef_[0]))), "bias": float(model.intercept_[0]),
            "threshold": old.get("threshold", report["threshold"]),
            "fitted_on": "PIAF v1.1, bot/bench/calibrate_support.py",
            "piaf_held_out": report["test"], "piaf_threshold": report["threshold"],
            **{k: v for k, v in old.items() if k.startswith("threshold_")}}, indent=1) + "\n", encoding="utf-8")
        write_section("calibration", _doc(report, len(questions)))


def _as_hit(chunk):
    from index.models import Hit

    return Hit(1, chunk, 0.0, 0.0, 0.0)


def evaluate(rows, p, false_abstain: float) -> dict:
    """Top-sentence accuracy and abstention rates per split, with the fitted threshold."""
    by_q: dict = {}
    for (qid, split, variant, _, label), prob in zip(rows, p):
        entry = by_q.setdefault((qid, variant), {"split": split, "best": 0.0, "any": False, "top_label": False})
        entry["any"] |= bool(label)
        if prob > entry["best"]:
            entry["best"], entry["top_label"] = float(prob), bool(label)
    train_pos = [e["best"] for (q, v), e in by_q.items() if e["split"] == 0 and v == "with_gold" and e["any"]]
    threshold = float(np.quantile(train_pos, false_abstain))
    out: dict[str, Any] = {"threshold": round(threshold, 4)}
    for split, name in ((0, "train"), (1, "test")):
        pos = [e for (q, v), e in by_q.items() if e["split"] == split and v == "with_gold" and e["any"]]
        neg = [e for (q, v), e in by_q.items() if e["split"] == split and v == "without_gold" and not e["any"]]
        out[name] = {
            "answerable": len(pos),
            "top_sentence_has_answer": round(sum(e["top_label"] for e in pos) / len(pos), 3),
            "false_abstain": round(sum(e["best"] < threshold for e in pos) / len(pos), 3),
            "hard_negatives": len(neg),
            "abstain_on_hard_negatives": round(sum(e["best"] < threshold for e in neg) / len(neg), 3),
        }
    return out


def _doc(report: dict, n: int) -> str:
    t = report["test"]
    return f"""## Sentence support model (fitted on PIAF)

`python -m bot.bench.calibrate_support ../shared/datasets/piaf/piaf-v1.1.json --write`

A logistic regression over the features of `bot/answer/support.py`, fitted on {n} PIAF questions (even
positions; odd positions held out). On PIAF alone, a threshold of {report['threshold']} would give at
most 5 % false abstentions; PIAF questions copy the paragraph's words, so the shipped threshold is
set on news questions instead (next section).

| held-out measure (PIAF) | value |
|---|---|
| answerable questions (a gold sentence among the candidates) | {t['answerable']} |
| best sentence contains the gold answer | {t['top_sentence_has_answer']:.3f} |
| false abstentions at the PIAF threshold | {t['false_abstain']:.3f} |
| abstentions when the gold paragraph is removed (hard negatives, same article) | {t['abstain_on_hard_negatives']:.3f} |
"""


if __name__ == "__main__":
    main()
