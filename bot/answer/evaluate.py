"""`citebot eval`: citation accuracy, retrieval quality and latency on a JSON Lines question file.

Metrics (model-free adaptations of ALCE's citation recall/precision, see docs/EVALUATION.md):
  retrieval_recall@k, mrr@k  answerable questions with an expected source among the k hits
  quote_verified             citations whose quote equals the source file's text at its offsets
  citation_precision         citations on answerable questions from an expected source or holding a key
  grounded                   shown statements that pass the grounding rule against their cited quotes
  citation_recall            answerable, answered questions with a citation whose quote holds a key
  cited_key_rate             the same over all answerable questions (abstentions count as misses)
  answer_key_hit             answerable questions whose answer text holds a key
  direct_key_hit             answerable questions whose direct answer (the short answer first) holds a key
  direct_answers             answered questions that open with a direct answer
  abstain_recall             unanswerable questions that abstained
  false_abstain              answerable questions that abstained
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.answer.grounding import ground
from bot.answer.sources import read_source
from index.articles.loader import SkipFile
from index.articles.text import fold, normalize_for_match
from index.errors import InputError
from index.progress import Progress
from index.search.analyzer import Analyzer
from index.search.question import admit_question


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    sources: tuple[str, ...]
    keys: tuple[str, ...]
    answerable: bool


def load_questions(path: Path, max_question_chars: int = sys.maxsize) -> list[EvalQuestion]:
    """Parse a question file; any malformed line is an InputError naming the line.

    Every question must pass the admission rule `citebot ask` applies (index.search.question), so a
    bad one refuses the file before any question is asked rather than stopping the run midway.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = row["question"]
            answerable = row.get("answerable", True)
            sources, keys = row.get("sources", []), row.get("keys", [])
            if not isinstance(question, str) or not isinstance(answerable, bool) \
                    or not isinstance(sources, list) or not isinstance(keys, list) \
                    or not all(isinstance(x, str) for x in sources + keys):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}:{number}: expected {{\"question\": str, \"sources\": [str], "
                             "\"keys\": [str], \"answerable\": bool}") from None
        try:
            question = admit_question(question, max_question_chars)
            item_id = str(row.get("id", number))
            # A JSON "\ud800" escape is a lone surrogate: no UTF-8 text holds it, and no output can show it.
            "".join([item_id, *sources, *keys]).encode("utf-8")
        except InputError as exc:
            raise InputError(f"{path}:{number}: {exc}") from None
        except UnicodeEncodeError:
            raise InputError(f"{path}:{number}: not valid UTF-8 text (a lone surrogate such as \\ud800)") from None
        out.append(EvalQuestion(item_id, question, tuple(sources), tuple(keys), answerable))
    if not out:
        raise InputError(f"{path} holds no question")
    return out


def normalize_key(text: str) -> str:
    """Case, accents, quote styles and hyphens ignored."""
    return " ".join(fold(normalize_for_match(text)).replace("-", " ").split())


def has_key(text: str, keys: tuple[str, ...]) -> bool:
    """True when the text holds one of the keys, compared as normalize_key does."""
    norm = normalize_key(text)
    return any(normalize_key(k) in norm for k in keys if k.strip())


def source_matches(path: str, expected: tuple[str, ...]) -> bool:
    """An expected source is a file name or a path suffix of the article path."""
    path = path.replace("\\", "/")
    return any(path == e or path.endswith("/" + e.lstrip("./")) for e in expected)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _source_text(citation: dict) -> str:
    """The cited file's text as its offsets count it ("" when it cannot be read as indexed)."""
    try:
        return read_source(citation["source"], citation["encoding"])
    except SkipFile:
        return ""


def grounded_statements(answer: dict, analyzer: Analyzer) -> int:
    """How many of the answer's statements pass the grounding rule against the quotes they cite."""
    quotes = {c["n"]: c["quote"] for c in answer["citations"]}
    return sum(ground(s["text"], [quotes[n] for n in s["citations"] if n in quotes], answer["question"],
                      analyzer).ok for s in answer.get("statements", []))


def judge(item: EvalQuestion, answer: dict, seconds: float, first_statement: float | None = None,
          analyzer: Analyzer | None = None) -> dict:
    """One question's record from an answer in `citebot ask --json` form."""
    citations = answer["citations"]
    hit_sources = [h["source"] for h in answer["hits"]]
    rank = next((i + 1 for i, s in enumerate(hit_sources)
                 if source_matches(str(Path(s).resolve()), item.sources)), None)
    one_per_file = {c["source"]: c for c in citations}  # every citation of a file has its encoding
    texts = {source: _source_text(c) for source, c in one_per_file.items()}  # each file read once
    verified = sum(texts[c["source"]][c["start"]:c["end"]] == c["quote"] for c in citations)
    return {
        "id": item.id, "question": item.question, "answerable": item.answerable, "mode": answer["mode"],
        "abstained": answer["abstained"], "answer": answer["answer"], "citations": citations,
        "hit_sources": hit_sources, "rank": rank, "verified": verified,
        "relevant_citations": sum(source_matches(str(Path(c["source"]).resolve()), item.sources)
                                  or has_key(c["quote"], item.keys) for c in citations),
        "cited_key": any(has_key(c["quote"], item.keys) for c in citations),
        "answer_key": has_key(re.sub(r"\[\d+\]", "", answer["answer"]), item.keys),
        "direct": (answer.get("direct") or {}).get("text"),
        "direct_key": has_key(re.sub(r"\[\d+\]", "", (answer.get("direct") or {}).get("text") or ""), item.keys),
        "statements": answer.get("statements", []), "fallback": answer.get("fallback", False),
        "grounded": grounded_statements(answer, analyzer or Analyzer("french")),
        "seconds": round(seconds, 3),
        "first_statement_s": None if answer["abstained"] else round(first_statement or seconds, 3),
    }


def summarize(records: list[dict], k: int) -> dict:
    """Every metric of the module docstring from per-question records."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    answered = [r for r in answerable if not r["abstained"]]
    citations = sum(len(r["citations"]) for r in records)
    answerable_citations = sum(len(r["citations"]) for r in answerable)
    ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    latencies = [r["seconds"] for r in records]
    firsts = [r["first_statement_s"] for r in records if r["first_statement_s"] is not None]
    return {
        "questions": len(records), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "k": k, "mode": ",".join(sorted({r["mode"] for r in records})),
        f"retrieval_recall@{k}": ratio(sum(r["rank"] is not None for r in answerable), len(answerable)),
        f"mrr@{k}": ratio(sum(1 / r["rank"] for r in answerable if r["rank"]), len(answerable)),
        "quote_verified": ratio(sum(r["verified"] for r in records), citations),
        "citation_precision": ratio(sum(r["relevant_citations"] for r in answerable), answerable_citations),
        "grounded": ratio(sum(r["grounded"] for r in records), sum(len(r["statements"]) for r in records)),
        "fallbacks": sum(r["fallback"] for r in records),
        "citation_recall": ratio(sum(r["cited_key"] for r in answered), len(answered)),
        "cited_key_rate": ratio(sum(r["cited_key"] for r in answerable), len(answerable)),
        "answer_key_hit": ratio(sum(r["answer_key"] for r in answerable), len(answerable)),
        "direct_key_hit": ratio(sum(r.get("direct_key", False) for r in answerable), len(answerable)),
        "direct_answers": ratio(sum(r.get("direct") is not None for r in answered), len(answered)),
        "abstain_recall": ratio(sum(r["abstained"] for r in unanswerable), len(unanswerable)),
        "false_abstain": ratio(sum(r["abstained"] for r in answerable), len(answerable)),
        "latency_p50_s": round(_percentile(latencies, 0.5), 3),
        "latency_p95_s": round(_percentile(latencies, 0.95), 3),
        "first_statement_p50_s": round(_percentile(firsts, 0.5), 3),
    }


def run_eval(answerer, items: list[EvalQuestion], progress: Progress | None = None) -> dict:
    """Ask every question and return {"metrics": {...}, "questions": [...]}."""
    progress = progress or Progress(enabled=False)
    records = []
    with progress.bar(len(items), "evaluating", unit="q") as bar:
        for item in items:
            first: list[float] = []
            started = time.perf_counter()

            def seen(*_, first=first, started=started) -> None:
                if not first:
                    first.append(time.perf_counter() - started)

            answer = answerer.ask(item.question, on_statement=seen).to_json()
            records.append(judge(item, answer, time.perf_counter() - started, first[0] if first else None,
                                 answerer.searcher.analyzer))
            bar.update(1)
    return {"metrics": summarize(records, answerer.settings.retrieval.k), "questions": records}
