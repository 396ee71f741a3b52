"""Records carried through the answering pipeline, from draft statements to the final Answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.answer.language import message
from index.records import Hit, Period, display_path
from index.secrets import redact_url


@dataclass(frozen=True)
class Sentence:
    """A quotable sentence of a retrieved passage."""

    passage: int          # 1-based number of the passage (hit) it is shown under
    path: str
    title: str
    text: str


@dataclass(frozen=True)
class DraftCitation:
    """What a generator claims: a passage number and a quote from it. Not trusted."""

    passage: int
    quote: str


@dataclass(frozen=True)
class DraftStatement:
    text: str
    citations: tuple[DraftCitation, ...]


@dataclass(frozen=True)
class Statement:
    """A statement shown to the user: verified citations that support it, by number."""

    text: str
    citations: tuple[int, ...]

    @property
    def display(self) -> str:
        """The statement followed by its [n] markers."""
        return f"{self.text} " + "".join(f"[{n}]" for n in self.citations)

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {"text": self.text, "citations": list(self.citations)}


@dataclass(frozen=True)
class Citation:
    """A verified quote: read_source(path, encoding)[start:end] == quote (bot/answer/sources.py)."""

    n: int
    path: str
    title: str
    start: int
    end: int
    quote: str
    encoding: str = "utf-8"  # the article's, as the index recorded it
    # The whole sentence the quote was cut from (verified at its offsets too); "" when the quote is it.
    sentence: str = ""
    sentence_start: int = -1
    date: str | None = None  # the article's publication date (YYYY-MM-DD), when known

    @property
    def source(self) -> str:
        """The article path as shown to users: the same rule as Chunk.source."""
        return display_path(self.path)

    @property
    def url(self) -> str | None:
        """The article's URL when it came from the web (the quote is then checked against the page as indexed)."""
        return redact_url(self.path) if "://" in self.path else None

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        whole = self.sentence or self.quote
        start = self.sentence_start if self.sentence else self.start
        return {"n": self.n, "source": self.source, "url": self.url, "title": self.title, "date": self.date,
                "start": self.start,
                "end": self.end, "quote": self.quote, "encoding": self.encoding,
                "sentence": {"start": start, "end": start + len(whole), "text": whole}}


@dataclass(frozen=True)
class AnswerPart:
    """A verified piece of the direct answer: the cited file holds `text` at [start:end]."""

    text: str
    n: int                 # the citation whose quote holds it
    start: int
    end: int
    rendering: str = ""    # a labelled rendering in the question's language (a translated date, relative days
    #                        resolved against the article's date: bot/answer/dates.py), or ""

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {"text": self.text, "citation": self.n, "start": self.start, "end": self.end,
                "rendering": self.rendering or None}


@dataclass(frozen=True)
class DirectAnswer:
    """The short answer that opens every answer: verbatim parts under a form (value, list, clause, yes, no…)."""

    form: str
    text: str                      # as shown, with [n] markers
    parts: tuple[AnswerPart, ...]

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {"form": self.form, "text": self.text, "parts": [p.to_json() for p in self.parts]}


@dataclass(frozen=True)
class Answer:
    """The result of one question: the answer text with [n] markers and its citations."""

    question: str
    text: str
    abstained: bool
    mode: str                      # "llm" or "extractive"
    language: str                  # bot/answer/language.py: "fr", "en" or OTHER
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    standalone: str = ""           # the question used for retrieval (follow-ups made standalone)
    support: float = 0.0           # best sentence support probability (the abstention signal)
    rejected: tuple[str, ...] = field(default_factory=tuple)  # why draft citations were dropped
    statements: tuple[Statement, ...] = ()  # what the answer text is made of
    fallback: bool = False         # the model's statements all failed: quotes chosen without it
    stale: tuple[str, ...] = ()    # articles whose quotes failed because they changed since indexing
    direct: DirectAnswer | None = None  # the short answer first (None when abstaining)
    period: Period | None = None   # the publication dates retrieval was restricted to (index/search/period.py)

    @property
    def stale_note(self) -> str:
        """The sentence telling the user which articles changed and to re-index ("" when none did)."""
        if not self.stale:
            return ""
        return message(self.language, "stale", sources=", ".join(map(display_path, self.stale)))

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {
            "question": self.question, "answer": self.text, "abstained": self.abstained,
            "mode": self.mode, "fallback": self.fallback, "language": self.language,
            "direct": self.direct.to_json() if self.direct else None,
            "statements": [s.to_json() for s in self.statements],
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "stale": [display_path(p) for p in self.stale],
            "period": self.period.to_json() if self.period else None,
        }
