"""Articles that disagree on the asked fact: the answer says so and cites both sides.

Two supporting sentences from different articles disagree when they give the same thing the
question asks about different ranks or counts: "sa première visite en 24 ans" in one article,
"la deuxième visite du dirigeant russe" in another; "deux visites" against "trois visites". The
thing is the noun the rank or count is attached to, and the question must name it (by stem), so
two unrelated "premier" in the passages never make a disagreement. Values are compared as numbers
("deuxième", "second", "2e" are one rank), so wording alone never makes one either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.direct import DirectDraft, Piece
from bot.answer.question import Question
from bot.answer.records import Sentence
from bot.answer.spans import fold_same_length
from index.articles.text import fold
from index.search.analyzer import Analyzer

DISAGREE = "disagree"
_RANKS = {
    "premier": 1, "premiere": 1, "1er": 1, "1re": 1, "first": 1, "deuxieme": 2, "second": 2, "seconde": 2,
    "2e": 2, "2eme": 2, "2nd": 2, "troisieme": 3, "third": 3, "3e": 3, "3eme": 3, "3rd": 3, "quatrieme": 4,
    "fourth": 4, "4e": 4, "4eme": 4, "4th": 4, "cinquieme": 5, "fifth": 5, "5e": 5, "5eme": 5, "5th": 5,
}
_COUNTS = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "two": 2, "three": 3, "four": 4,
           "five": 5}
_RANK = re.compile(r"\b(" + "|".join(sorted(_RANKS, key=len, reverse=True)) + r")\s+([a-z][a-z-]{2,})")
_COUNT = re.compile(r"\b(" + "|".join(_COUNTS) + r"|\d{1,3})\s+([a-z][a-z-]{2,}s)\b")
_HOW_MANY = re.compile(r"\b(?:combien de |combien d'|how many )([a-z][a-z-]{2,})")
_CLAUSE_END = re.compile(r"[,;:()—–]|\s-\s|[.!?]\s*$")
PREFIX = 5      # letters a question word must share with the noun, across languages
MIN_PREFIX = 4  # a shorter English noun ("tour") must begin the French one ("tournée")
MAX_WORDS = 10  # a side is the rank or count and what follows it, within its clause


@dataclass(frozen=True)
class Claim:
    """A rank or count the sentence gives a thing: ("rank", 2, "visit") for "deuxième visite"."""

    kind: str
    value: int
    thing: str   # the stem of the noun it is attached to
    noun: str    # that noun, folded
    start: int
    end: int     # the claim's words in the sentence, to its clause's end


def claims(sentence: str, analyzer: Analyzer) -> list[Claim]:
    """The ranks and counts a sentence gives, each with the stem of its noun."""
    folded = fold_same_length(sentence)
    found = []
    for kind, pattern, values in (("rank", _RANK, _RANKS), ("count", _COUNT, _COUNTS)):
        for match in pattern.finditer(folded):
            word = match.group(1)
            value = int(word) if word.isdigit() else values[word]
            stems = analyzer.stems(match.group(2))
            if stems:
                found.append(Claim(kind, value, stems[0], match.group(2), match.start(),
                                   _clause_end(sentence, match.start())))
    return found


def _clause_end(text: str, start: int) -> int:
    end = _CLAUSE_END.search(text, start + 1)
    stop = end.start() if end else len(text)
    words = list(re.finditer(r"\S+", text[start:stop]))
    return start + words[min(len(words), MAX_WORDS) - 1].end() if words else stop


def conflict(asked: Question, ranked: list[Sentence], analyzer: Analyzer) -> DirectDraft | None:
    """Both sides when two articles' supporting sentences give the asked thing different values; else None."""
    if asked.form in ("list", "summary"):
        return None
    asked_things = _asked_things(asked, analyzer)
    if not asked_things:
        return None
    seen: dict[tuple[str, str], tuple[Claim, Sentence]] = {}
    for sentence in ranked:  # best supported first: the first side is the better supported one
        for claim in claims(sentence.text, analyzer):
            # Across languages stems differ ("visit" is stemmed "vis" by a French analyzer): the noun's
            # first letters ("visite", "visit") stand for it.
            if claim.thing not in asked_things and not any(
                    claim.noun.startswith(t) for t in asked_things if len(t) >= MIN_PREFIX):
                continue
            key = (claim.kind, claim.thing)
            if key not in seen:
                seen[key] = (claim, sentence)
                continue
            first, other = seen[key]
            if other.path != sentence.path and first.value != claim.value:
                return DirectDraft(DISAGREE, (_piece(other, first), _piece(sentence, claim)))
    return None


def _asked_things(asked: Question, analyzer: Analyzer) -> set[str]:
    """Stems and first letters of the nouns whose rank or count the question asks about ("première visite",
    "how many visits", "combien de visites"); a noun merely named ("which country did he visit") is not."""
    things = set()
    for claim in claims(asked.standalone, analyzer):
        things |= {claim.thing, claim.noun[:PREFIX]}
    for match in _HOW_MANY.finditer(fold(asked.standalone)):
        things |= {*analyzer.stems(match.group(1))[:1], match.group(1)[:PREFIX]}
    return things


def _piece(sentence: Sentence, claim: Claim) -> Piece:
    # The whole sentence is quoted for each side, as for every piece of a direct answer.
    return Piece(sentence, claim.start, claim.end, 0, len(sentence.text))
