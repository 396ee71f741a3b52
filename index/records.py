"""Frozen records passed between the pipeline stages."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from index.secrets import redact_url


def display_path(path: str) -> str:
    """The article path as users type it: relative to the working directory when inside it; a URL as is."""
    if "://" in path:
        return redact_url(path)  # a feed or page behind a password: its URL is shown without it
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


@dataclass(frozen=True)
class Article:
    """One source file, decoded; offsets of every later stage index into `text`."""

    path: str
    kind: str
    encoding: str
    sha256: str
    text: str
    title: str
    date: str | None
    body_start: int
    body_end: int


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: article.text[start:end] == text."""

    id: int
    path: str
    title: str
    start: int
    end: int
    text: str
    date: str | None = None  # the article's publication date (YYYY-MM-DD), when known

    @property
    def source(self) -> str:
        """The article path as shown to users (relative to the working directory when under it)."""
        return display_path(self.path)

    @property
    def url(self) -> str | None:
        """The article's URL when it came from the web, else None."""
        return redact_url(self.path) if "://" in self.path else None


@dataclass(frozen=True)
class Hit:
    rank: int
    chunk: Chunk
    score: float
    lexical: float
    dense: float

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        c = self.chunk
        return {"rank": self.rank, "source": c.source, "url": c.url, "title": c.title, "date": c.date,
                "start": c.start, "end": c.end, "text": c.text, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Period:
    """The publication dates retrieval is restricted to: [since, until], both inclusive, None when open."""

    since: str | None              # YYYY-MM-DD
    until: str | None
    expression: str                # as the question writes it ("en juin 2024"), or the flags ("--since 2024-06-01")
    relative_to: str | None = None  # the date a month or year without its year was read against
    relative_basis: str = ""       # what that date is: "newest article" or "today"

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {"since": self.since, "until": self.until, "expression": self.expression,
                "relative_to": self.relative_to, "relative_basis": self.relative_basis or None}


@dataclass(frozen=True)
class SearchResult:
    question: str
    hits: tuple[Hit, ...]
    period: Period | None = None   # the restriction applied to retrieval, if any

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {"question": self.question, "period": self.period.to_json() if self.period else None,
                "hits": [h.to_json() for h in self.hits]}


@dataclass(frozen=True)
class IndexReport:
    """What one `citebot index` run did."""

    articles: int
    chunks: int
    added: int
    updated: int
    removed: int
    unchanged: int
    embedded_chunks: int
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    def to_json(self) -> dict:
        """The JSON object of the CLI contract."""
        return {
            "articles": self.articles, "chunks": self.chunks, "added": self.added,
            "updated": self.updated, "removed": self.removed, "unchanged": self.unchanged,
            "embedded_chunks": self.embedded_chunks,
            "skipped": [{"path": display_path(s.path), "reason": s.reason} for s in self.skipped],
            "warnings": list(self.warnings), "seconds": round(self.seconds, 3),
        }
