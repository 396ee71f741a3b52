"""The fetched pages, kept in the index home: what was indexed, and the validators to ask again.

Each URL has two files under <home>/web/: its body as fetched (<key>.body) and a JSON record
(<key>.json: the URL, ETag, Last-Modified, content type, what its feed said, the body's sha256).
Both are written to a temp file then os.replace'd, the body first, so a kill leaves either the
old pair or a record that names another body's sha (read as no entry: fetched again in full).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Part of each page's content hash: when extraction changes, pages count as changed and are re-read.
WEB_VERSION = b"citebot-web-1\n"


@dataclass(frozen=True)
class CachedPage:
    """A fetched page as the cache keeps it."""

    url: str                        # as listed (feed link or command line): the article's path
    final_url: str                  # after redirects
    content_type: str
    etag: str | None
    last_modified: str | None
    body_sha: str
    feed: dict = field(default_factory=dict)  # title and date the feed gave, if it came from one
    body: bytes = field(default=b"", repr=False, compare=False)

    @property
    def content_hash(self) -> str:
        """The hash the index records for this page: the body, what the feed said and the extractor version."""
        feed = json.dumps(self.feed, sort_keys=True).encode("utf-8")
        return hashlib.sha256(WEB_VERSION + feed + b"\n" + self.body).hexdigest()


def url_key(url: str) -> str:
    """The file name stem a URL is kept under."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]


class WebCache:
    """The <home>/web folder."""

    def __init__(self, home: Path) -> None:
        self.folder = Path(home) / "web"

    def get(self, url: str) -> CachedPage | None:
        """The cached page of url, or None (never fetched, or its files do not match)."""
        stem = self.folder / url_key(url)
        try:
            record = json.loads((stem.with_suffix(".json")).read_text(encoding="utf-8"))
            body = stem.with_suffix(".body").read_bytes()
        except (OSError, ValueError):
            return None
        if record.get("url") != url or hashlib.sha256(body).hexdigest() != record.get("body_sha"):
            return None
        return CachedPage(**record, body=body)

    def put(self, url: str, final_url: str, content_type: str, etag: str | None, last_modified: str | None,
            body: bytes, feed: dict | None = None) -> CachedPage:
        """Keep a freshly fetched body and its validators; returns the entry."""
        page = CachedPage(url, final_url, content_type, etag, last_modified,
                          hashlib.sha256(body).hexdigest(), dict(feed or {}), body)
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self.folder / url_key(url)
        _write_atomic(stem.with_suffix(".body"), body)
        record = {k: v for k, v in asdict(page).items() if k != "body"}
        _write_atomic(stem.with_suffix(".json"), json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return page

    def with_feed(self, page: CachedPage, feed: dict) -> CachedPage:
        """The page with what its feed says now (rewritten only when that changed)."""
        if page.feed == feed:
            return page
        return self.put(page.url, page.final_url, page.content_type, page.etag, page.last_modified, page.body, feed)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
