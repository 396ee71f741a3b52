"""What the focus gate costs on answerable questions: PIAF v1.1, all questions, no model needed.

    python -m bot.bench.focus_gate ../shared/datasets/piaf/piaf-v1.1.json

For every PIAF question whose focus the gate checks (bot/answer/focus.py), the sentences of
the gold paragraph that contain a gold answer are the ones that must survive the gate. A
question whose every such sentence fails is a false abstention the gate would cause, whatever
the retrieval and the support model do. Prints the numbers and writes its section of
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from bot.answer.focus import carries, question_focus
from bot.bench.doc import write_section
from bot.bench.piaf import load_piaf
from index.articles.text import fold, normalize_for_match, sentence_spans
from index.search.analyzer import Analyzer


def _norm(text: str) -> str:
    return fold(normalize_for_match(text))


def measure(path: Path) -> dict:
    """Counts of gated questions and of those whose gold sentence carries the focus, by focus type."""
    analyzer = Analyzer("french")
    contexts, questions = load_piaf(path)
    gated: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    failures: list[str] = []
    answerable = 0
    for q in questions:
        text = contexts[q.context][1]
        sentences = [text[s:e] for s, e in sentence_spans(text)]
        answers = [_norm(a) for a in q.answers if a.strip()]
        gold = [i for i, s in enumerate(sentences) if any(a in _norm(s) for a in answers)]
        if not gold:
            continue  # the answer spans sentences: no single sentence to check
        answerable += 1
        focus = question_focus(q.question)
        if focus is None:
            continue
        kind = focus.kind or "noun only (no value type)"
        gated[kind] += 1
        title = contexts[q.context][0]
        if any(carries(focus, sentences[i], sentences[i - 1] if i else "", q.question, analyzer, title)
               for i in gold):
            kept[kind] += 1
        elif len(failures) < 15:
            failures.append(f"{q.question} -> {answers[0]}")
    return {"questions": len(questions), "answerable": answerable, "gated": dict(gated), "kept": dict(kept),
            "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.focus_gate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    args = parser.parse_args()
    report = measure(args.piaf)
    gated, kept = sum(report["gated"].values()), sum(report["kept"].values())
    rows = "\n".join(f"| {kind} | {n} | {report['kept'].get(kind, 0) / n:.3f} |"
                     for kind, n in sorted(report["gated"].items(), key=lambda kv: -kv[1]))
    print(f"{report['answerable']} answerable PIAF questions (an answer inside one sentence); the gate checks "
          f"{gated}; their gold sentence carries the focus for {kept} ({kept / gated:.3f}); false abstentions "
          f"the gate can cause: {gated - kept} ({(gated - kept) / report['answerable']:.4f} of all)")
    print(rows)
    print("\n".join(report["failures"]))
    write_section("focus-gate", f"""## The focus gate on answerable questions (PIAF)

`python -m bot.bench.focus_gate ../shared/datasets/piaf/piaf-v1.1.json`

The focus gate (docs/EVALUATION.md, *The focus gate*) sets a sentence's support to zero when it
does not carry what the question asks for. On PIAF v1.1, {report['questions']} questions, of which
{report['answerable']} have their answer inside one sentence of the gold paragraph: the gate checks
{gated} of them, and for {kept} ({kept / gated:.1%}) a gold sentence carries the focus. The others,
{gated - kept} questions ({(gated - kept) / report['answerable']:.2%} of the answerable ones), are the
most false abstentions the gate can add; no model is involved, so the number does not depend on the
embedder.

| focus type | questions checked | gold sentence carries the focus |
|---|---|---|
{rows}
""")


if __name__ == "__main__":
    main()
