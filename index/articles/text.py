"""Text helpers shared by every stage: accent folding and sentence spans with exact offsets."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Tokens after which a period does not end a sentence (French and English usage).
_ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "pr", "me", "mgr", "st", "ste", "cf",
    "etc", "env", "av", "apr", "vol", "p", "pp", "ch", "fig", "no", "n°", "art", "al",
    "mr", "mrs", "ms", "prof", "sr", "jr", "vs", "inc", "ltd", "co", "corp", "dept",
    "janv", "févr", "fév", "sept", "oct", "nov", "déc", "jan", "feb", "mar", "aug", "dec",
}
# A candidate boundary: terminal punctuation, optional closing quotes, then whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[»\"”’)\]]*(?=\s)")
# What may open the next sentence: a capital, a digit, an opening quote or bracket, a dash.
_OPENER = re.compile(r"\s+[«\"“‘(\[\-–—]?\s*[A-ZÀ-ÖØ-Þ0-9]")
_WORD_BEFORE = re.compile(r"([\w°]+)[.!?…]*[»\"”’)\]]*$")


@lru_cache(maxsize=65_536)  # called per word, thousands of times an answer, on a small vocabulary
def fold(text: str) -> str:
    """Lowercase and strip accents: 'Élysée' -> 'elysee'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at `dot` closes an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    match = _WORD_BEFORE.search(text, max(0, dot - 12), dot + 1)
    if not match:
        return False
    word = match.group(1)
    if word.lower() in _ABBREVIATIONS:
        return True
    # A single capital letter is an initial ("J. Biden"), unless a digit-only token.
    return len(word) == 1 and word.isupper()


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        cut = match.end()
        if not _OPENER.match(text, cut, end) or _is_abbreviation(text, match.start()):
            continue
        spans.append((cursor, cut))
        cursor = cut
    spans.append((cursor, end))
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into sentences; every line break also ends a sentence."""
    # Returns (start, end) offsets into `text`, stripped of surrounding whitespace,
    # so text[s:e] is the exact sentence as it appears in the article.
    end = len(text) if end is None else end
    spans = []
    line_start = start
    while line_start < end:
        newline = text.find("\n", line_start, end)
        line_end = end if newline < 0 else newline
        for s, e in _split_line(text, line_start, line_end):
            s, e = _strip(text, s, e)
            if e > s:
                spans.append((s, e))
        line_start = line_end + 1
    return spans


def word_windows(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut an overlong span at word boundaries into pieces of at most `size` characters."""
    pieces = []
    while end - start > size:
        cut = text.rfind(" ", start + 1, start + size)
        if cut <= start:
            cut = start + size
        pieces.append(_strip(text, start, cut))
        start = _strip(text, cut, end)[0]
    if end > start:
        pieces.append((start, end))
    return [p for p in pieces if p[1] > p[0]]


_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "„": '"', "‟": '"',
                         "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
                         "\u00a0": " ", "\u202f": " ", "\u2009": " "})


def normalize_for_match(text: str) -> str:
    """Canonical form for quote matching: unified quote marks, collapsed whitespace."""
    return _SPACES.sub(" ", text.translate(_QUOTES)).strip()
