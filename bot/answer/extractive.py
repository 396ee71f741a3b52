"""Extractive answering: the best supporting sentences, quoted as they are, no language model."""

from __future__ import annotations

from bot.answer.records import DraftCitation, DraftStatement, Sentence
from index.search.analyzer import Analyzer

# A further quote must be at least this fraction as likely as the best one to be shown.
RELATIVE_FLOOR = 0.2
# Quotes that repeat this much of an already chosen quote (word overlap) add nothing.
REDUNDANCY = 0.6


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def select(sentences: list[Sentence], probabilities, threshold: float, limit: int,
           analyzer: Analyzer) -> list[Sentence]:
    """Up to `limit` sentences by support, skipping weak and redundant ones."""
    # The best sentence must clear the abstention threshold; the others only need to be
    # comparable to it (RELATIVE_FLOOR), since the answer is already known to be there.
    order = sorted(range(len(sentences)), key=lambda i: -probabilities[i])
    if not order or probabilities[order[0]] < threshold:
        return []
    floor = RELATIVE_FLOOR * probabilities[order[0]]
    chosen: list[int] = []
    stems = {}
    for i in order:
        if len(chosen) == limit or probabilities[i] < floor:
            break
        stems[i] = set(analyzer.stems(sentences[i].text))
        if any(_overlap(stems[i], stems[j]) >= REDUNDANCY for j in chosen):
            continue
        chosen.append(i)
    return [sentences[i] for i in chosen]


def draft(chosen: list[Sentence], language: str) -> list[DraftStatement]:
    """Each chosen sentence becomes a statement that quotes itself."""
    open_q, close_q = ("« ", " »") if language == "fr" else ("“", "”")
    return [DraftStatement(s.text if s.text[:1] in "«“\"" else f"{open_q}{s.text}{close_q}",
                           (DraftCitation(s.passage, s.text),)) for s in chosen]
