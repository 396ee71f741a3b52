"""Statement grounding: a model's statement is shown only when its cited sentences support it.

Verification (bot/answer/verify.py) proves the quotes are the article's text; it says nothing about
the words the model wrote around them. This module checks the statement itself, without a
model, against the sentences it cites (the rule and its threshold: docs/EVALUATION.md):

1. it says something: at least MIN_CONTENT_WORDS content words, at least one of them not
   taken from the question, and no ellipsis standing for omitted text (unless the cited
   sentences have one);
2. every number, date and proper name it asserts is found in the cited sentences or in the
   question;
3. at least COVERAGE of its content words that are not in the question (stemmed,
   accent-folded) are found in the cited sentences. Words taken from the question are the
   subject ("Kim Jong-un est venu…"); what the statement adds must come from its sources, so
   restating the question with an unrelated citation fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.answer_type import MONTHS, NUMBER_WORDS
from index.articles.text import fold
from index.search.analyzer import Analyzer

COVERAGE = 0.6
MIN_CONTENT_WORDS = 2
# Digits, with their inner separators ("1 000", "2,5", "18h30"), compared digits only.
_NUMBER = re.compile(r"\d+(?:[ .,:h]\d+)*")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_ELLIPSIS = re.compile(r"…|\.\.\.|\[\s*\.\.\.\s*\]")
# Month names and number words, as bot/answer_type.py knows them (folded). English "may" and
# "march" are left out: as verbs they are far more frequent than as months.
_FACT_WORD = re.compile(rf"(?:{MONTHS}|{NUMBER_WORDS})")
_VERBS = frozenset({"may", "march"})


@dataclass(frozen=True)
class Grounding:
    """The verdict on one statement: ok, or the first reason it fails."""

    ok: bool
    reason: str = ""


def numbers(text: str) -> set[str]:
    """The numbers a text asserts, as digit strings ("1 000" -> "1000")."""
    return {re.sub(r"\D", "", n) for n in _NUMBER.findall(text)}


def names(text: str, analyzer: Analyzer) -> set[str]:
    """Folded proper names (capitalised words that are not stop words), month names and number words."""
    out = set()
    for word in _WORD.findall(text):
        folded = fold(word)
        if _FACT_WORD.fullmatch(folded) and folded not in _VERBS:
            out.add(folded)
        elif word[0].isupper() and folded not in analyzer.stop and len(folded) > 1:
            # "Jong-un" and "Jong-Un" alike; a sentence-initial common word ("Selon") must be in
            # the sources too, which only costs a statement the sources would not support anyway.
            out.add(folded)
    return out


def _missing(items: set[str], source_numbers: set[str], source_words: set[str]) -> set[str]:
    """Items (folded words or digit strings) missing from the sources; numbers match whole ("20" is not in "120")."""
    missing = set()
    for item in items:
        if item.isdigit():
            if item not in source_numbers:
                missing.add(item)
        elif item not in source_words and not all(part in source_words for part in item.split("-")):
            missing.add(item)
    return missing


def ground(statement: str, quotes: list[str], question: str, analyzer: Analyzer) -> Grounding:
    """Whether `statement` is supported by the sentences it cites (see the module docstring)."""
    cited = " ".join(quotes)
    if _ELLIPSIS.search(statement) and not _ELLIPSIS.search(cited):
        return Grounding(False, "it leaves text out (…)")
    stems = analyzer.stems(statement)
    if len(stems) < MIN_CONTENT_WORDS:
        return Grounding(False, "it says nothing")
    asked = set(analyzer.stems(question))
    added = [s for s in stems if s not in asked]
    if not added:
        return Grounding(False, "it only repeats the question")
    source_numbers = numbers(cited + " " + question)
    words = {fold(w) for w in _WORD.findall(cited + " " + question)}
    words |= {part for w in list(words) for part in w.split("-")}
    missing = _missing(numbers(statement), source_numbers, words) | _missing(names(statement, analyzer),
                                                                            source_numbers, words)
    if missing:
        return Grounding(False, f"not in its sources: {', '.join(sorted(missing))}")
    cited_stems = set(analyzer.stems(cited))
    coverage = sum(s in cited_stems for s in added) / len(added)
    if coverage < COVERAGE:
        return Grounding(False, f"only {coverage:.0%} of its words are in its sources")
    return Grounding(True)
