"""Citation verification: every quote must be found verbatim in the cited passage and in the file.

Generators (a language model or the extractive selector) only *claim* citations. This module
keeps a claim when its quote occurs in the cited passage, exactly after whitespace and
quote-mark normalisation, maps it to character offsets in the source article and checks the
file on disk still holds that text. Claims that fail are dropped with a reason; statements
left without a verified citation are dropped; the markers [n] are assigned here, so the
answer never holds a number without a citation or a citation without its number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.records import Citation, DraftStatement
from index.analyzer import Analyzer
from index.loader import SkipFile, article_text
from index.models import Hit
from index.text import normalize_for_match

MIN_QUOTE_CHARS = 12
_STRIP = " \t\n\"'«»“”‘’…."
_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")


def _normalized_with_map(text: str) -> tuple[str, list[int]]:
    """normalize_for_match(text) plus, for each output character, its index in `text`."""
    out: list[str] = []
    where: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            pending_space = bool(out)
            continue
        if pending_space:
            out.append(" ")
            where.append(i - 1)
            pending_space = False
        out.append(normalize_for_match(ch) or ch)
        where.append(i)
    return "".join(out), where


def locate(quote: str, passage: str) -> tuple[int, int] | None:
    """Offsets of `quote` inside `passage` (normalised match, whole words), or None."""
    # Tried as given, then without decoration a model may add (quote marks, ellipses, final period).
    haystack, where = _normalized_with_map(passage)
    normalized = normalize_for_match(quote)
    for needle in (normalized, normalized.strip(_STRIP)):
        if len(needle) < MIN_QUOTE_CHARS:
            continue
        at = haystack.find(needle)
        while at >= 0:
            if _whole_words(haystack, at, at + len(needle)):
                return where[at], where[at + len(needle) - 1] + 1
            at = haystack.find(needle, at + 1)
    return None


def _whole_words(text: str, start: int, end: int) -> bool:
    # A quote cut inside a word ("train blind" of "train blindé") would misquote the article.
    cut_before = start > 0 and text[start - 1].isalnum() and text[start].isalnum()
    cut_after = end < len(text) and text[end - 1].isalnum() and text[end].isalnum()
    return not (cut_before or cut_after)


class SourceCheck:
    """Reads each cited file once per answer and confirms it still holds the quoted text."""

    def __init__(self) -> None:
        self._texts: dict[str, str | None] = {}

    def holds(self, path: str, start: int, end: int, quote: str) -> bool:
        """True when the file still has `quote` at [start:end] of its indexed text."""
        if path not in self._texts:
            kind = "html" if path.lower().endswith((".html", ".htm")) else "text"
            try:
                self._texts[path] = article_text(Path(path), kind)[0]
            except SkipFile:
                self._texts[path] = None
        text = self._texts[path]
        return text is not None and text[start:end] == quote


@dataclass(frozen=True)
class Verified:
    text: str                      # statements joined, with [n] markers
    citations: tuple[Citation, ...]
    rejected: tuple[str, ...]


def _grounded(statement: str, quotes: list[str], analyzer: Analyzer) -> bool:
    """The statement must share at least one content word with its quotes (not free invention)."""
    words = set(analyzer.stems(statement)) | {w for w in analyzer.words(statement)}
    quoted = set()
    for quote in quotes:
        quoted |= set(analyzer.stems(quote)) | set(analyzer.words(quote))
    return bool(words & quoted) or not words


def verify(statements: list[DraftStatement], hits: tuple[Hit, ...], analyzer: Analyzer) -> Verified:
    """Keep only statements with at least one verified citation; number citations in order."""
    spans: dict[tuple[str, int, int], tuple[str, str, int, int, str]] = {}
    kept: list[tuple[str, list[tuple[str, int, int]]]] = []
    rejected: list[str] = []
    check = SourceCheck()
    for statement in statements:
        text = _MARKER.sub("", statement.text).strip()  # numbers invented by the model go
        keys: list[tuple[str, int, int]] = []
        for claim in statement.citations:
            if not 1 <= claim.passage <= len(hits):
                rejected.append(f"passage {claim.passage} does not exist")
                continue
            chunk = hits[claim.passage - 1].chunk
            span = locate(claim.quote, chunk.text)
            if span is None:
                rejected.append(f"quote not found in passage {claim.passage}: {claim.quote[:60]!r}")
                continue
            start, end = chunk.start + span[0], chunk.start + span[1]
            quote = chunk.text[span[0]:span[1]]
            if not check.holds(chunk.path, start, end, quote):
                rejected.append(f"{chunk.source} changed since indexing; run: citebot index")
                continue
            key = (chunk.path, start, end)
            spans[key] = (chunk.path, chunk.title, start, end, quote)
            if key not in keys:
                keys.append(key)
        if not keys:
            rejected.append(f"statement without a verified citation dropped: {text[:60]!r}")
        elif not _grounded(text, [spans[k][4] for k in keys], analyzer):
            rejected.append(f"statement unrelated to its quotes dropped: {text[:60]!r}")
        else:
            kept.append((text, keys))
    numbers: dict[tuple[str, int, int], int] = {}
    for _, keys in kept:
        for key in keys:
            numbers.setdefault(key, len(numbers) + 1)
    text = " ".join(f"{t} " + "".join(f"[{numbers[k]}]" for k in keys) for t, keys in kept)
    citations = tuple(Citation(n, *spans[key]) for key, n in numbers.items())
    return Verified(text, citations, tuple(rejected))
