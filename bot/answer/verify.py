"""Citation verification: every quote must be found verbatim in the cited passage and in the file.

Generators (a language model or the extractive selector) only *claim* citations. This module
keeps a claim when its quote occurs in the cited passage, exactly after whitespace and
quote-mark normalisation, maps it to character offsets in the source article and checks the
file on disk still holds that text, read as the indexer read it (bot/answer/sources.py).
Claims that fail are dropped with a reason; statements left without a verified citation are
dropped; the markers [n] are assigned here, so the answer never holds a number without a
citation or a citation without its number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.dates import resolve_days
from bot.answer.direct import DirectDraft, Piece
from bot.answer.grounding import ground
from bot.answer.phrasing import phrase, translate
from bot.answer.question import Question
from bot.answer.records import AnswerPart, Citation, DirectAnswer, DraftCitation, DraftStatement, Statement
from bot.answer.sources import SourceFiles
from index.articles.text import normalize_for_match
from index.records import Hit
from index.search.analyzer import Analyzer

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


@dataclass(frozen=True)
class Verified:
    text: str                      # statements joined, with [n] markers
    citations: tuple[Citation, ...]
    rejected: tuple[str, ...]
    statements: tuple[Statement, ...] = ()
    stale: tuple[str, ...] = ()    # cited files that changed since indexing (SourceFiles.stale)
    direct: DirectAnswer | None = None


class Verifier:
    """Checks draft statements one at a time, so each can be shown as soon as it passes.

    A statement is kept when at least one of its citations verifies (the quote is in the cited
    passage and in the file at its offsets) and the grounding rule holds against the verified
    quotes (bot/answer/grounding.py). Citation numbers [n] follow the order of first use.
    """

    def __init__(self, hits: tuple[Hit, ...], analyzer: Analyzer, sources: SourceFiles, question: str = "",
                 check_grounding: bool = True) -> None:
        # `question`: the text statements are grounded against (Question.standalone in the pipeline).
        self.hits = hits
        self.analyzer = analyzer
        self.sources = sources
        self.question = question
        self.check_grounding = check_grounding
        self.citations: dict[tuple[str, int, int], Citation] = {}
        self.statements: list[Statement] = []
        self.rejected: list[str] = []
        self.direct: DirectAnswer | None = None
        self.direct_pieces: tuple[Piece, ...] = ()

    def _citation(self, claim: DraftCitation) -> tuple[str, int, int] | None:
        if not 1 <= claim.passage <= len(self.hits):
            self.rejected.append(f"passage {claim.passage} does not exist")
            return None
        chunk = self.hits[claim.passage - 1].chunk
        span = locate(claim.quote, chunk.text)
        if span is None:
            self.rejected.append(f"quote not found in passage {claim.passage}: {claim.quote[:60]!r}")
            return None
        start, end = chunk.start + span[0], chunk.start + span[1]
        quote = chunk.text[span[0]:span[1]]
        problem = self.sources.problem(chunk.path, start, end, quote)
        if problem is not None:
            self.rejected.append(problem)
            return None
        key = (chunk.path, start, end)
        if key not in self.citations:
            self.citations[key] = Citation(len(self.citations) + 1, chunk.path, chunk.title, start, end, quote,
                                           self.sources.encoding(chunk.path), date=chunk.date)
        return key

    def _piece(self, piece: Piece) -> tuple[tuple[str, int, int], AnswerPart] | None:
        """The citation key of the clause quoted for a piece, and the piece at its file offsets."""
        chunk = self.hits[piece.sentence.passage - 1].chunk
        at = chunk.text.find(piece.sentence.text)
        if at < 0:
            self.rejected.append(f"sentence not found in passage {piece.sentence.passage}")
            return None
        base = chunk.start + at
        quote = piece.sentence.text[piece.quote_start:piece.quote_end]
        start, end = base + piece.quote_start, base + piece.quote_end
        for where, text in (((start, end), quote), ((base + piece.start, base + piece.end), piece.text),
                            ((base, base + len(piece.sentence.text)), piece.sentence.text)):
            problem = self.sources.problem(chunk.path, where[0], where[1], text)
            if problem is not None:
                self.rejected.append(problem)
                return None
        key = (chunk.path, start, end)
        if key not in self.citations:
            whole = piece.sentence.text if quote != piece.sentence.text else ""
            self.citations[key] = Citation(len(self.citations) + 1, chunk.path, chunk.title, start, end, quote,
                                           self.sources.encoding(chunk.path), whole, base if whole else -1,
                                           chunk.date)
        return key, AnswerPart(piece.text, self.citations[key].n, base + piece.start, base + piece.end)

    def add_direct(self, draft: DirectDraft, asked: Question) -> DirectAnswer | None:
        """The direct answer with its pieces checked against the file; None when a piece fails."""
        # Pieces in another language than the question are shown with a labelled rendering.
        language = asked.language
        cross = any(asked.other_language(p.sentence.text) for p in draft.pieces)
        before = dict(self.citations)
        parts: list[AnswerPart] = []
        for piece in draft.pieces:
            checked = self._piece(piece)
            if checked is None:
                self.citations = before
                return None
            part = checked[1]
            # Relative days ("mardi", "hier") resolved against the article's date, else a translated date.
            rendering = (resolve_days(part.text, piece.sentence.text, self.hits[piece.sentence.passage - 1].chunk.date,
                                      language) or (translate(part.text) if cross and language == "en" else ""))
            parts.append(AnswerPart(part.text, part.n, part.start, part.end, rendering))
        text = phrase(draft.form, [(p.text, p.rendering, p.n) for p in parts], language, cross)
        self.direct = DirectAnswer(draft.form, text, tuple(parts))
        self.direct_pieces = draft.pieces
        return self.direct

    def add(self, draft: DraftStatement) -> Statement | None:
        """The statement with its numbered, verified citations, or None (the reason goes to `rejected`)."""
        text = _MARKER.sub("", draft.text).strip()  # numbers invented by the model go
        before = dict(self.citations)
        keys = list(dict.fromkeys(k for k in map(self._citation, draft.citations) if k is not None))
        if not keys:
            self.rejected.append(f"statement without a verified citation dropped: {text[:60]!r}")
            return None
        if self.check_grounding:
            verdict = ground(text, [self.citations[k].quote for k in keys], self.question, self.analyzer)
            if not verdict.ok:
                self.rejected.append(f"statement not supported by its quotes dropped ({verdict.reason}): {text[:60]!r}")
                self.citations = before  # numbers stay dense: only shown citations are numbered
                return None
        statement = Statement(text, tuple(self.citations[k].n for k in keys))
        self.statements.append(statement)
        return statement

    def result(self) -> Verified:
        """Everything kept so far, as one answer."""
        lines = ([self.direct.text] if self.direct else []) + [s.display for s in self.statements]
        return Verified(" ".join(lines), tuple(self.citations.values()), tuple(self.rejected),
                        tuple(self.statements), self.sources.stale, self.direct)


def verify(statements: list[DraftStatement], hits: tuple[Hit, ...], analyzer: Analyzer, sources: SourceFiles,
           question: str = "") -> Verified:
    """Keep only statements with a verified citation that support them; number citations in order."""
    verifier = Verifier(hits, analyzer, sources, question)
    for statement in statements:
        verifier.add(statement)
    return verifier.result()
