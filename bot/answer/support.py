"""How well each retrieved sentence supports an answer to the question.

A small logistic model over lexical, dense and answer-type features, fitted on PIAF by
bot/bench/calibrate_support.py (weights in bot/answer/support_model.json). The best sentence's
probability is citebot's relevance signal: below the calibrated threshold it abstains.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.answer.answer_type import analyse, novel_match, question_entities
from bot.answer.injection import is_instruction
from bot.answer.records import Sentence
from index.analyzer import Analyzer
from index.models import Hit
from index.text import fold, sentence_spans

MODEL_PATH = Path(__file__).with_name("support_model.json")
FEATURES = ("coverage", "predicate_coverage", "wh_coverage", "context_coverage", "dense", "retrieval",
            "type_asked", "type_match", "rare_type_match", "name_match", "novelty", "length", "is_question",
            "is_title", "entity_missing")
# Answer types whose match is a named entity (weak evidence: most sentences name someone).
_NAME_TYPES = ("person", "organisation")

_SENTENCE_END = re.compile(r"[.!?…][»\"”’)\]]*\s*$")


def is_heading(text: str) -> bool:
    """Short lines without final punctuation: headings, captions, signatures. Context, not answers."""
    return not _SENTENCE_END.search(text) and len(text.split()) <= 12


def candidate_sentences(hits: tuple[Hit, ...]) -> list[Sentence]:
    """Every sentence of the retrieved passages once (under its best-ranked passage), minus injections."""
    seen: set[tuple[str, int, int]] = set()
    out: list[Sentence] = []
    for number, hit in enumerate(hits, 1):
        chunk = hit.chunk
        for s, e in sentence_spans(chunk.text):
            key = (chunk.path, chunk.start + s, chunk.start + e)
            if key in seen or is_instruction(chunk.text[s:e]):
                continue
            seen.add(key)
            out.append(Sentence(number, chunk.path, chunk.title, chunk.text[s:e]))
    return out


def top_sentences(sentences: list[Sentence], probabilities, limit: int) -> list[Sentence]:
    """The `limit` best-supported sentences, in their original (passage) order."""
    # A shorter prompt is faster to read and leaves a small model fewer sentences to drift into.
    if len(sentences) <= limit:
        return list(sentences)
    best = sorted(range(len(sentences)), key=lambda i: -probabilities[i])[:max(limit, 1)]
    return [sentences[i] for i in sorted(best)]


@dataclass(frozen=True)
class SupportModel:
    weights: dict[str, float]
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> SupportModel:
        """The fitted weights and threshold from a JSON file."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(weights=data["weights"], bias=data["bias"], threshold=data["threshold"])

    def probability(self, features: dict[str, float]) -> float:
        """The support probability of one sentence's features (logistic model)."""
        z = self.bias + sum(self.weights[name] * features[name] for name in FEATURES)
        return 1.0 / (1.0 + math.exp(-z))


class SupportScorer:
    """Computes features and support probabilities for candidate sentences."""

    def __init__(self, analyzer: Analyzer, document_frequency, n_chunks: int, embedder,
                 model: SupportModel | None = None) -> None:
        self.analyzer = analyzer
        self.document_frequency = document_frequency
        self.n_chunks = max(n_chunks, 1)
        self.embedder = embedder
        self.model = model or SupportModel.load()

    def _idf(self, stems: set[str]) -> dict[str, float]:
        df = self.document_frequency(sorted(stems))
        n = self.n_chunks
        return {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in stems}

    @staticmethod
    def _coverage(idf: dict[str, float], stems: set[str]) -> float:
        total = sum(idf.values())
        return sum(w for t, w in idf.items() if t in stems) / total if total else 0.0

    def features(self, question: str, hits: tuple[Hit, ...], sentences: list[Sentence]) -> list[dict[str, float]]:
        """One feature dict per sentence (see FEATURES)."""
        if not sentences:
            return []
        shape = analyse(question)
        q_stems = set(self.analyzer.stems(question))
        wh_stems = set(self.analyzer.stems(" ".join(shape.wh_words))) & q_stems
        idf = self._idf(q_stems)
        predicate_idf = {t: w for t, w in idf.items() if t not in wh_stems}
        wh_idf = {t: w for t, w in idf.items() if t in wh_stems}
        vectors = self.embedder.encode([question] + [s.text for s in sentences])
        dense = vectors[1:] @ vectors[0]
        context_cov = {n: self._coverage(idf, set(self.analyzer.stems(h.chunk.text))) for n, h in enumerate(hits, 1)}
        matches = [novel_match(s.text, shape.kind, question) for s in sentences]
        # A match is stronger evidence when few candidates match (a vehicle, not just any number).
        rarity = 1.0 - sum(matches) / len(matches)
        entities = question_entities(question)
        missing = {n: sum(e not in fold(h.chunk.title + " " + h.chunk.text) for e in entities)
                   for n, h in enumerate(hits, 1)}
        out = []
        previous: tuple[int, set[str]] = (0, set())
        for sentence, sim, match in zip(sentences, dense, matches, strict=True):
            stems = set(self.analyzer.stems(sentence.text))
            # The subject is often named in the sentence before ("Kim Jong-un ... Il est arrivé").
            window = stems | (previous[1] if previous[0] == sentence.passage else set())
            previous = (sentence.passage, stems)
            out.append({
                "coverage": self._coverage(idf, stems),
                "predicate_coverage": self._coverage(predicate_idf, window),
                "wh_coverage": self._coverage(wh_idf, stems),
                "context_coverage": context_cov[sentence.passage],
                "dense": float(sim),
                "retrieval": hits[sentence.passage - 1].score,
                "type_asked": float(shape.kind is not None),
                "type_match": float(shape.kind not in _NAME_TYPES and match),
                "rare_type_match": rarity * float(shape.kind not in _NAME_TYPES and match),
                "name_match": float(shape.kind in _NAME_TYPES and match),
                "novelty": len(stems - q_stems) / max(len(stems), 1),
                "length": math.log1p(len(sentence.text.split())),
                "is_question": float(sentence.text.rstrip().endswith("?")),
                "is_title": float(sentence.text.strip() == sentence.title.strip()),
                "entity_missing": float(min(missing[sentence.passage], 2)),
            })
        return out

    def score(self, question: str, hits: tuple[Hit, ...], sentences: list[Sentence]) -> np.ndarray:
        """Support probability of each sentence (zero for headings, which state nothing)."""
        features = self.features(question, hits, sentences)
        return np.array([0.0 if is_heading(s.text) else self.model.probability(f)
                         for s, f in zip(sentences, features, strict=True)])
