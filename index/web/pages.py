"""URLs to articles for the builder: feeds expanded, pages fetched conditionally and kept in the cache.

An article's path is its URL as listed (on the command line, in a --urls file or by its feed);
its content hash covers the fetched body, so a page answered 304 Not Modified reads back from
the cache with the hash the index already holds: the builder keeps it without re-embedding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import InputError
from index.records import Article, Skipped
from index.web.cache import CachedPage, WebCache
from index.web.feeds import feed_items, is_feed
from index.web.fetch import Fetcher, FetchError, Limits


def is_url(text: str) -> bool:
    """Whether a command-line argument or article path is a URL rather than a file."""
    return "://" in text


def read_url_list(path: Path) -> list[str]:
    """The URLs a --urls file lists, one a line (blank lines and # comments ignored); InputError if unreadable."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the URL list {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@dataclass
class Gathered:
    """What the URLs gave: pages to index (each a CachedPage with its body), and what was skipped."""

    pages: list[CachedPage] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fetched: int = 0        # answered 200
    not_modified: int = 0   # answered 304: read from the cache


class _Gatherer:
    def __init__(self, fetcher: Fetcher, cache: WebCache) -> None:
        self.fetcher, self.cache, self.out = fetcher, cache, Gathered()
        self.seen: set[str] = set()

    def fetch(self, url: str, feed: dict | None = None) -> CachedPage | None:
        """The page of url, fresh or from the cache when unchanged or unreachable; None (skipped) on failure."""
        old = self.cache.get(url)
        try:
            response = self.fetcher.get(url, old.etag if old else None, old.last_modified if old else None)
        except FetchError as exc:
            if old is not None and not exc.permanent:
                self.out.warnings.append(f"{url}: {exc}; kept the copy fetched before")
                return self.cache.with_feed(old, feed) if feed is not None else old
            self.out.skipped.append(Skipped(url, str(exc)))
            return None
        if response.status == 304 and old is not None:
            self.out.not_modified += 1
            return self.cache.with_feed(old, feed) if feed is not None else old
        self.out.fetched += 1
        return self.cache.put(url, response.url, response.content_type, response.etag, response.last_modified,
                              response.body, feed if feed is not None else (old.feed if old else {}))

    def add(self, url: str, progress: Callable[[], None]) -> None:
        """Fetch one listed URL: an article, or a feed whose articles are fetched in turn."""
        page = self.fetch(url)
        if page is None:
            return
        if not is_feed(page.content_type, page.body):
            self._keep(page)
            return
        try:
            items = feed_items(page.final_url, page.body)
        except FetchError as exc:
            self.out.skipped.append(Skipped(url, str(exc)))
            return
        for item in items:
            if item.url in self.seen:
                continue
            feed = {k: v for k, v in (("title", item.title), ("date", item.date), ("feed", url)) if v}
            article = self.fetch(item.url, feed)
            if article is not None:
                self._keep(article)
            progress()

    def _keep(self, page: CachedPage) -> None:
        if page.url not in self.seen:
            self.seen.add(page.url)
            self.out.pages.append(page)


def gather(urls: list[str], cache: WebCache, limits: Limits | None = None,
           progress: Callable[[], None] = lambda: None) -> Gathered:
    """Fetch every URL (feeds expanded into their articles) into the cache; failures are skipped with a reason."""
    with Fetcher(limits) as fetcher:
        gatherer = _Gatherer(fetcher, cache)
        for url in dict.fromkeys(urls):
            gatherer.add(url, progress)
    return gatherer.out


def web_article(page: CachedPage) -> Article:
    """The article a cached page holds (deterministic: verification re-reads it the same way); SkipFile if none."""
    from index.articles.dating import normalize_date
    from index.articles.loader import SkipFile, decode
    from index.web.extract import extract_page

    if is_feed(page.content_type, page.body):
        raise SkipFile("a feed, not an article")
    text, encoding = decode(page.body)
    found = extract_page(text, page.final_url)
    if not found.text.strip():
        raise SkipFile("no article text found in the page")
    return Article(path=page.url, kind="web", encoding=encoding, sha256=page.content_hash, text=found.text,
                   title=(found.title or page.feed.get("title") or page.url).strip(),
                   date=normalize_date(found.date) or normalize_date(page.feed.get("date")),
                   body_start=0, body_end=len(found.text))
