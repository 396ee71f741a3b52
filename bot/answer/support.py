"""How well each retrieved sentence supports an answer to the question.

A small logistic model over lexical, dense and answer-type features, fitted on PIAF by
bot/bench/calibrate_support.py (weights in bot/answer/support_model.json). The best sentence's
probability is citebot's relevance signal: below the calibrated threshold it abstains. A sentence
that does not carry what the question asks for (its focus, bot/answer/focus.py) scores zero.

Embedding the candidate sentences (a few hundred tokens) was most of a cold `citebot ask`, so it is
done for few of them: a pre-rank model without the sentence's own vector (PRERANK_FEATURES: the
passage's dense score instead) picks the DENSE_SENTENCES best, and only those are embedded and
scored by the full model; the others keep their pre-rank probability, capped below theirs.

A sentence in another language than the question (an English question over French articles) is
scored by a third model without the lexical features (stems of two languages never match), from
its own vector (all such sentences are embedded). Its probability is mapped onto the first model's
threshold (equal log-odds distance), so the pipeline compares every sentence with one threshold.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.answer.answer_type import novel_match
from bot.answer.focus import Focus, carries
from bot.answer.injection import is_instruction
from bot.answer.question import Question
from bot.answer.records import Sentence
from index.articles.text import fold, sentence_spans
from index.records import Hit
from index.search.analyzer import Analyzer

MODEL_PATH = Path(__file__).with_name("support_model.json")
_DIGITS = re.compile(r"\d+")
PRERANK_FEATURES = ("coverage", "predicate_coverage", "wh_coverage", "context_coverage", "passage_dense",
                    "retrieval", "type_asked", "type_match", "rare_type_match", "name_match", "novelty", "length",
                    "is_question", "is_title", "entity_missing")
FEATURES = PRERANK_FEATURES + ("dense",)
# Measured on PIAF (docs/BENCHMARKS.md): embedding the few best pre-ranked sentences scores about as
# well, held out, as embedding all (about 27 a question); each costs 30-50 ms of CPU here. 2 rather
# than 3 (300 PIAF questions, one run): top citation holds the gold span 0.567 against 0.563, some
# citation 0.730 against 0.743, abstentions 0.020 both, seed question files unchanged, and the
# extractive run 42 % faster (warm ask p50 151 -> 128 ms).
DENSE_SENTENCES = 2
# Across languages: no stem-based feature, and no entity check (names are spelt differently:
# Putin / Poutine); the sentence's own dense similarity carries what the stems cannot.
CROSS_FEATURES = ("dense", "passage_dense", "retrieval", "type_asked", "type_match", "rare_type_match",
                  "name_match", "length", "is_question", "is_title")
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


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def cross_language(question: Question, sentences: list[Sentence]) -> list[bool]:
    """For each sentence, whether it is in another language than the question."""
    return [question.other_language(s.text) for s in sentences]


@dataclass(frozen=True)
class SupportModel:
    """The fitted logistic model of sentence support, with its cross-language and pre-ranking variants."""

    weights: dict[str, float]
    bias: float
    threshold: float
    cross: SupportModel | None = None  # for sentences in another language than the question
    prerank: SupportModel | None = None  # picks the sentences worth embedding (no sentence vector)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> SupportModel:
        """The fitted weights and thresholds from a JSON file."""
        data = json.loads(path.read_text(encoding="utf-8"))
        cross, prerank = data.get("cross_lingual"), data.get("prerank")
        return cls(weights=data["weights"], bias=data["bias"], threshold=data["threshold"],
                   cross=cls(cross["weights"], cross["bias"], cross["threshold"]) if cross else None,
                   prerank=cls(prerank["weights"], prerank["bias"], 0.0) if prerank else None)

    def probability(self, features: dict[str, float]) -> float:
        """The support probability of one sentence's features (logistic model over its own weights)."""
        z = self.bias + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-z))

    def cross_probability(self, features: dict[str, float]) -> float:
        """A cross-language sentence's support, moved so that its threshold falls on this model's."""
        if self.cross is None:
            return self.probability(features)
        z = _logit(self.cross.probability(features)) - _logit(self.cross.threshold) + _logit(self.threshold)
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

    def idf(self, stems: set[str]) -> dict[str, float]:
        """Inverse document frequency of each stem over the index's chunks."""
        df = self.document_frequency(sorted(stems))
        n = self.n_chunks
        return {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in stems}

    @staticmethod
    def _coverage(idf: dict[str, float], stems: set[str]) -> float:
        total = sum(idf.values())
        return sum(w for t, w in idf.items() if t in stems) / total if total else 0.0

    def features(self, asked: Question, hits: tuple[Hit, ...], sentences: list[Sentence],
                 embed: list[bool] | None = None, cross: list[bool] | None = None) -> list[dict[str, float]]:
        """One feature dict per sentence (FEATURES and CROSS_FEATURES); "dense" only where `embed` says."""
        if not sentences:
            return []
        embed = embed if embed is not None else [True] * len(sentences)
        cross = cross if cross is not None else cross_language(asked, sentences)
        question, shape, q_stems = asked.standalone, asked.shape, set(asked.stems)
        wh_stems = set(self.analyzer.stems(" ".join(shape.wh_words))) & q_stems
        idf = self.idf(q_stems)
        predicate_idf = {t: w for t, w in idf.items() if t not in wh_stems}
        wh_idf = {t: w for t, w in idf.items() if t in wh_stems}
        dense = self._dense(question, [s.text for s, e in zip(sentences, embed, strict=True) if e], embed)
        context_cov = {n: self._coverage(idf, set(self.analyzer.stems(h.chunk.text))) for n, h in enumerate(hits, 1)}
        matches = [novel_match(s.text, shape.kind, question) for s in sentences]
        # A match is stronger evidence when few candidates match (a vehicle, not just any number).
        rarity = 1.0 - sum(matches) / len(matches)
        entities = asked.entities
        missing = {n: sum(e not in fold(h.chunk.title + " " + h.chunk.text) for e in entities)
                   for n, h in enumerate(hits, 1)}
        focus = asked.focus
        out = []
        previous: tuple[int, set[str], str] = (0, set(), "")
        for sentence, sim, match, other in zip(sentences, dense, matches, cross, strict=True):
            stems = set(self.analyzer.stems(sentence.text))
            # The subject is often named in the sentence before ("Kim Jong-un ... Il est arrivé").
            before = previous[2] if previous[0] == sentence.passage else ""
            window = stems | (previous[1] if before else set())
            previous = (sentence.passage, stems, sentence.text)
            out.append({
                "coverage": self._coverage(idf, stems),
                "predicate_coverage": self._coverage(predicate_idf, window),
                "wh_coverage": self._coverage(wh_idf, stems),
                "context_coverage": context_cov[sentence.passage],
                "dense": float(sim),
                "passage_dense": hits[sentence.passage - 1].dense,
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
                # Not a model feature: the focus gate (bot/answer/focus.py), applied in score().
                "carries_focus": self._carries(focus, sentence, before, question, other),
            })
        return out

    def _dense(self, question: str, texts: list[str], embed: list[bool]) -> list[float]:
        """The question's cosine with each sentence to embed (0.0 for the others)."""
        if not texts:
            return [0.0] * len(embed)
        # The question as a query, the sentences as passages: models such as e5 embed them differently.
        sims = iter((self.embedder.encode(texts) @ self.embedder.encode_query(question)).tolist())
        return [next(sims) if e else 0.0 for e in embed]

    def _carries(self, focus: Focus | None, sentence: Sentence, before: str, question: str, cross: bool) -> float:
        """1.0 when the sentence carries the question's focus (or there is none) and, across languages, its digits."""
        if cross and not self._numbers_within(question, sentence, before):
            return 0.0
        if focus is None:
            return 1.0
        if cross:
            # Across languages the focus word cannot be matched; only a typed value can be.
            if not focus.kind:
                return 1.0
            focus = Focus("", focus.kind)
        return float(carries(focus, sentence.text, before, question, self.analyzer, sentence.title))

    @staticmethod
    def _numbers_within(question: str, sentence: Sentence, before: str) -> bool:
        """Whether every number the question writes in digits is in the sentence, the one before or the title."""
        # Across languages names are spelt differently but digits are not: "the 2018 World Cup"
        # cannot be answered by a passage that never says 2018.
        window = set(_DIGITS.findall(" ".join((sentence.text, before, sentence.title))))
        return set(_DIGITS.findall(question)) <= window

    def score(self, asked: Question, hits: tuple[Hit, ...], sentences: list[Sentence]) -> np.ndarray:
        """Support probability of each sentence (zero for headings and for sentences without the focus)."""
        cross = cross_language(asked, sentences)  # language detection once per sentence
        model, prerank = self.model, self.model.prerank
        two_stage = prerank is not None and "dense" in model.weights
        features = self.features(asked, hits, sentences, embed=[c or not two_stage for c in cross], cross=cross)
        scored = [not (is_heading(s.text) or not f["carries_focus"]) for s, f in zip(sentences, features, strict=True)]
        out = np.zeros(len(sentences))
        for i, (f, c) in enumerate(zip(features, cross, strict=True)):
            if scored[i] and c:
                out[i] = model.cross_probability(f)
            elif scored[i] and not two_stage:
                out[i] = model.probability(f)
        if two_stage:
            assert prerank is not None
            same = [i for i in range(len(sentences)) if scored[i] and not cross[i]]
            first = {i: prerank.probability(features[i]) for i in same}
            best = sorted(same, key=lambda i: -first[i])[:DENSE_SENTENCES]
            dense = self._dense(asked.standalone, [sentences[i].text for i in best], [True] * len(best))
            for i, sim in zip(best, dense, strict=True):
                out[i] = model.probability({**features[i], "dense": sim})
            cap = min((out[i] for i in best), default=0.0)
            for i in set(same) - set(best):
                out[i] = min(first[i], cap)
        return out
