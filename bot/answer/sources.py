"""Cited articles read back from disk exactly as the indexer read them.

Verification (bot/answer/verify.py) and `citebot eval` (bot/answer/evaluate.py) both check a
quote against the file it cites; read_source is the one way they read that file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.articles.loader import (
    DEFAULT_MAX_ARTICLE_BYTES,
    KINDS,
    SkipFile,
    article_text,
    content_hash,
    read_article_bytes,
)
from index.records import Article, display_path


def read_source(path: str | Path, encoding: str, raw: bytes | None = None,
                max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> str:
    """The text an article's offsets index into: its file decoded as the indexer decoded it.

    The rule every citation citebot shows obeys, checked before it is shown:

        read_source(source, encoding)[start:end] == quote

    where `encoding` is the one the index recorded for the article (Article.encoding, and the
    "encoding" of each citation in `citebot ask --json`): the file's bytes are decoded with it and
    "\\r\\n" and "\\r" read as "\\n" (universal newlines, as index.articles.loader does); for an HTML file
    the offsets index the text index.articles.loader.article_text extracts from that. For a .txt or .md
    file this is what Python's open() gives:

        open(source, encoding=encoding).read()[start:end] == quote

    It is `open(source, encoding="utf-8")` only for UTF-8 articles. A cp1252 or latin-1 article
    must be opened with its own encoding ("utf-8" raises UnicodeDecodeError on it), a UTF-16 or
    UTF-32 one with "utf-16" or "utf-32" (its byte order mark gives the byte order), and in a
    UTF-8 file that starts with a byte order mark, U+FEFF is character 0, as open() keeps it.

    `raw`: the file's bytes when already read. SkipFile when the file cannot be read, or when
    its bytes no longer decode as `encoding` (it changed since it was indexed).
    """
    path = Path(path)
    text, found, _ = article_text(path, KINDS.get(path.suffix.lower(), "txt"), raw=raw, max_bytes=max_bytes)
    if found != encoding:  # the loader's choice depends on the bytes alone: these are new bytes
        raise SkipFile(f"it now reads as {found}, was indexed as {encoding}")
    return text


@dataclass(frozen=True)
class _Source:
    text: str | None       # None: unreadable, or no longer in its indexed encoding
    encoding: str          # as recorded in the index
    changed: bool          # its bytes differ from the indexed ones (or it is gone)
    problem: str = ""      # why `text` is None


class SourceFiles:
    """The files cited in one answer, each read once and compared with its index record.

    `article` looks an indexed article up by path (IndexView.article).
    """

    def __init__(self, article: Callable[[str], Article | None],
                 max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, home: Path | None = None) -> None:
        self._article = article
        self._home = home  # the index home, whose web cache holds the pages of web articles
        self._max_bytes = max_bytes
        self._files: dict[str, _Source] = {}
        self._stale: dict[str, None] = {}  # ordered set

    def _read(self, path: str) -> _Source:
        if path not in self._files:
            self._files[path] = self._load(path)
        return self._files[path]

    def _load(self, path: str) -> _Source:
        record = self._article(path)
        if record is None:
            return _Source(None, "", True, "is no longer in the index")
        if "://" in path:
            return self._load_page(path, record)
        try:
            raw = read_article_bytes(Path(path), self._max_bytes)
        except SkipFile as exc:
            return _Source(None, record.encoding, True, f"cannot be read ({exc})")
        changed = content_hash(raw) != record.sha256
        try:
            return _Source(read_source(path, record.encoding, raw, self._max_bytes), record.encoding, changed)
        except SkipFile as exc:
            return _Source(None, record.encoding, changed, f"cannot be read ({exc})")

    def _load_page(self, path: str, record: Article) -> _Source:
        # A web article is checked against its page as the index home keeps it, re-extracted as the
        # indexer extracted it: the site may have changed since, the indexed text has not.
        from index.web.cache import WebCache
        from index.web.pages import web_article

        page = WebCache(self._home).get(path) if self._home is not None else None
        if page is None:
            return _Source(None, record.encoding, True, "is no longer in the web cache")
        changed = page.content_hash != record.sha256
        try:
            return _Source(web_article(page).text, record.encoding, changed)
        except SkipFile as exc:
            return _Source(None, record.encoding, changed, f"cannot be read ({exc})")

    def encoding(self, path: str) -> str:
        """The encoding the index recorded for the article (its offsets count characters of that decoding)."""
        return self._read(path).encoding

    def problem(self, path: str, start: int, end: int, quote: str) -> str | None:
        """None when the file holds `quote` at [start:end] of its indexed text; else why not, in one line."""
        source = self._read(path)
        if source.text is not None and source.text[start:end] == quote:
            return None
        shown = display_path(path)
        if source.changed:
            self._stale[path] = None
            why = source.problem or "changed since it was indexed"
            return f"{shown} {why}; run: citebot index"
        return f"{shown} {source.problem or f'does not hold the quote at {start}:{end}'}"

    @property
    def stale(self) -> tuple[str, ...]:
        """Paths of the cited files whose quotes failed because the file changed since indexing."""
        return tuple(self._stale)
