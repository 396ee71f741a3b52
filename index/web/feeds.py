"""RSS and Atom feeds: is a fetched body one, and which articles it lists (with their titles and dates)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin

import feedparser

from index.web.fetch import FetchError

_FEED_TYPES = ("rss", "atom", "application/xml", "text/xml", "application/rdf")


@dataclass(frozen=True)
class FeedItem:
    """One article a feed lists."""

    url: str
    title: str | None
    date: str | None   # ISO date (YYYY-MM-DD) of publication, else of the last update


def is_feed(content_type: str, body: bytes) -> bool:
    """Whether a fetched body is an RSS/Atom feed (by content type, else by its first element)."""
    kind = content_type.split(";")[0].strip().lower()
    if any(t in kind for t in _FEED_TYPES):
        return True
    if "html" in kind:
        return False
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml"):
        head = head[head.find(b"?>") + 2:].lstrip()
    return head.startswith((b"<rss", b"<feed", b"<rdf:rdf"))


def feed_items(url: str, body: bytes) -> list[FeedItem]:
    """The articles a feed lists, links made absolute, duplicates dropped; FetchError if it is not a feed."""
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if parsed.bozo and not parsed.entries:
        reason = getattr(parsed, "bozo_exception", None)
        raise FetchError(f"not a valid RSS/Atom feed ({str(reason).splitlines()[0] if reason else 'unreadable'})")
    items: dict[str, FeedItem] = {}
    for entry in parsed.entries:
        link = entry.get("link") or entry.get("id")
        if not link:
            continue
        link = urljoin(url, link.strip())
        if link.startswith(("http://", "https://")) and link not in items:
            items[link] = FeedItem(link, (entry.get("title") or "").strip() or None, _entry_date(entry))
    if not items:
        raise FetchError("the feed lists no article links")
    return list(items.values())


def _entry_date(entry: dict) -> str | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", stamp) if stamp else None
