"""`citebot index`: an incremental, crash-safe update of the index.

The builder plans (which articles are new, changed, unchanged or gone), chunks and embeds what
changed, and hands every chunk to the store's GenerationWriter (index/stores/base.py); vectors of
unchanged chunk texts are copied from the live generation instead of being embedded again.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.articles.chunker import chunk_spans
from index.articles.loader import (
    DEFAULT_MAX_ARTICLE_BYTES,
    SkipFile,
    content_hash,
    discover,
    load_article,
    read_article_bytes,
)
from index.embedding.base import Embedder
from index.embedding.factory import embedder_for
from index.errors import IndexCorruptError, IndexMissingError, InputError
from index.manifest import check_compatible, new_manifest
from index.progress import Progress
from index.records import Article, IndexReport, Skipped, display_path
from index.search.analyzer import Analyzer
from index.settings import SearchSettings
from index.stores.base import ISO_DATE, IndexStore, IndexView
from index.stores.factory import open_store


def index_text(title: str, text: str) -> str:
    """What BM25 and the embedder see: the chunk under its article title (sha-keyed for reuse)."""
    return text if text.startswith(title) else f"{title}\n{text}"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class _Plan:
    articles: list[Article] = field(default_factory=list)   # new or changed, parsed
    unchanged: list[str] = field(default_factory=list)      # paths kept as they are
    removed: list[str] = field(default_factory=list)
    updated: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _plan(paths: list[Path], old: dict[str, str], progress: Progress,
          max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> _Plan:
    files, skipped = discover(paths)
    plan = _Plan(skipped=list(skipped))
    seen = set()
    for path in progress.iter(files, "reading"):
        key = str(path)  # discover returns resolved paths
        try:
            raw = read_article_bytes(path, max_bytes)
        except SkipFile as exc:
            plan.skipped.append(Skipped(key, str(exc)))
            continue
        raw_sha = content_hash(raw)
        seen.add(key)
        if old.get(key) == raw_sha:
            plan.unchanged.append(key)
            continue
        try:
            article = load_article(path, max_bytes, raw=raw, warn=functools.partial(_warn, plan.warnings, key))
        except SkipFile as exc:
            plan.skipped.append(Skipped(key, str(exc)))
            seen.discard(key)
            continue
        if article.encoding != "utf-8":
            plan.warnings.append(f"{display_path(key)}: not valid UTF-8, read as {article.encoding}")
        plan.updated += key in old
        plan.articles.append(article)
    plan.removed = sorted(set(old) - seen)
    return plan


def _warn(warnings: list[str], key: str, problem: str) -> None:
    """Record a warning about one article, naming it."""
    warnings.append(f"{display_path(key)}: {problem}")


def _plan_web(plan: _Plan, urls: list[str], old: dict[str, str], settings: SearchSettings,
              progress: Progress) -> None:
    """Add the articles of `urls` (pages and feeds, fetched conditionally) to the plan."""
    from index.web.cache import WebCache
    from index.web.fetch import Limits
    from index.web.pages import gather, web_article

    with progress.spinner(f"fetching {len(urls)} URL{'s' * (len(urls) > 1)}"):
        got = gather(urls, WebCache(settings.index.home), Limits(max_bytes=settings.index.max_article_bytes))
    plan.skipped += got.skipped
    plan.warnings += got.warnings
    for page in got.pages:
        if old.get(page.url) == page.content_hash:
            plan.unchanged.append(page.url)
            continue
        try:
            article = web_article(page)
        except SkipFile as exc:
            plan.skipped.append(Skipped(page.url, str(exc)))
            continue
        plan.updated += page.url in old
        plan.articles.append(article)
    kept = set(plan.unchanged) | {a.path for a in plan.articles}
    plan.removed = [path for path in plan.removed if path not in kept]


def build_index(settings: SearchSettings, paths: list[Path], rebuild: bool = False,
                embedder: Embedder | None = None, progress: Progress | None = None,
                wait: bool = False, urls: list[str] | None = None) -> IndexReport:
    """Bring the index of settings.index.home in line with the articles under `paths` and at `urls`.

    IndexLockedError when another update holds the lock, unless `wait` (then it waits for it).
    """
    index_store = open_store(settings, create=True)
    with index_store.lock(wait=wait):
        return update_index(index_store, settings, paths, rebuild, embedder, progress, urls)


def update_index(index_store: IndexStore, settings: SearchSettings, paths: list[Path], rebuild: bool = False,
                 embedder: Embedder | None = None, progress: Progress | None = None,
                 urls: list[str] | None = None) -> IndexReport:
    """build_index for a caller that already holds the store's lock (see index/service.py)."""
    started = time.perf_counter()
    progress = progress or Progress(enabled=False)
    # Without CURRENT, pruning would delete every generation: point it at the newest complete one first.
    recovered = None if rebuild else index_store.recover()
    old, damage = (None, None) if rebuild else index_store.open_for_update()
    if old is not None:
        check_compatible(old.manifest, settings)
    max_bytes = settings.index.max_article_bytes
    hashes = old.article_hashes() if old else {}
    plan = _plan(paths, hashes, progress, max_bytes)
    if urls:
        _plan_web(plan, urls, hashes, settings, progress)
    if not (plan.articles or plan.unchanged) and _holds_articles(index_store, old, damage):
        # A mistyped or unmounted folder, or a site that is down, must not empty the index.
        where = ", ".join([str(p) for p in paths] + list(urls or []))
        raise InputError(f"no articles found in {where}; the index is unchanged")
    if recovered:
        plan.warnings.insert(0, recovered)
    if damage:
        plan.warnings.append(f"the index in {settings.index.location} was damaged ({damage}); "
                             "rebuilt it from the articles")
    if not rebuild:
        # Not before a --rebuild: with a damaged pointer nothing counts as live yet, and the
        # generations must survive until the new one is published.
        index_store.prune(strict=True)
    embedded = 0
    total_articles = len(plan.articles) + len(plan.unchanged)
    total_chunks = old.size if old else 0
    if plan.articles or plan.removed or old is None:
        embedder = embedder or embedder_for(settings.index)
        total_chunks, embedded = _write(index_store, settings, plan, old, embedder, progress)
    index_store.prune(strict=not rebuild)
    return IndexReport(
        articles=total_articles, chunks=total_chunks,
        added=len(plan.articles) - plan.updated, updated=plan.updated, removed=len(plan.removed),
        unchanged=len(plan.unchanged), embedded_chunks=embedded, skipped=tuple(plan.skipped),
        warnings=tuple(plan.warnings), seconds=time.perf_counter() - started)


def add_to_index(settings: SearchSettings, paths: list[Path], urls: list[str] | None = None,
                 embedder: Embedder | None = None) -> tuple[IndexReport, list[Article]]:
    """Add (or update) the articles of `paths` and `urls`, keeping every other article of the live index.

    One new generation, published atomically as any update is; the lock is waited for. Returns the
    report and the articles new or changed; IndexMissingError when the index does not exist yet,
    InputError when none of them could be read (the index is then unchanged).
    """
    started = time.perf_counter()
    progress = Progress(enabled=False)
    index_store = open_store(settings, create=True)  # as the indexer opens it (no query timeout on PostgreSQL)
    with index_store.lock(wait=True):
        recovered = index_store.recover()
        old, damage = index_store.open_for_update()
        if old is None:
            raise IndexMissingError(f"no usable index in {settings.index.location} ({damage or 'none yet'}); "
                                    "run: citebot index")
        check_compatible(old.manifest, settings)
        hashes = old.article_hashes()
        plan = _plan(paths, hashes, progress, settings.index.max_article_bytes)
        if urls:
            _plan_web(plan, urls, hashes, settings, progress)
        if not (plan.articles or plan.unchanged):
            reasons = "; ".join(f"{display_path(s.path)}: {s.reason}" for s in plan.skipped) or "nothing to read"
            raise InputError(f"nothing added ({reasons}); the index is unchanged")
        named = {a.path for a in plan.articles} | set(plan.unchanged)
        plan.unchanged += [path for path in hashes if path not in named]  # the rest of the index stays
        plan.removed = []
        if recovered:
            plan.warnings.insert(0, recovered)
        index_store.prune(strict=True)
        total_chunks, embedded = old.size, 0
        if plan.articles:
            total_chunks, embedded = _write(index_store, settings, plan, old, embedder or embedder_for(settings.index),
                                            progress)
        index_store.prune(strict=True)
    report = IndexReport(
        articles=len(plan.articles) + len(plan.unchanged), chunks=total_chunks,
        added=len(plan.articles) - plan.updated, updated=plan.updated, removed=0,
        unchanged=len(plan.unchanged), embedded_chunks=embedded, skipped=tuple(plan.skipped),
        warnings=tuple(plan.warnings), seconds=time.perf_counter() - started)
    return report, plan.articles


def _holds_articles(index_store: IndexStore, old: IndexView | None, damage: str | None) -> bool:
    """Whether the live index holds articles, or may: a damaged one cannot tell."""
    if damage is not None:
        return True
    if old is None:  # --rebuild: the live generation was not opened
        try:
            old = index_store.open_live()
        except IndexCorruptError:
            return True
    return old is not None and old.manifest.get("articles") != 0


def _write(index_store: IndexStore, settings: SearchSettings, plan: _Plan, old: IndexView | None,
           embedder: Embedder, progress: Progress) -> tuple[int, int]:
    """Write a complete new generation, then publish it; returns its chunk count and how many were embedded."""
    with index_store.writer() as writer:
        rows: list[str] = []                     # the indexed text of each chunk, in chunk-id order
        reused: dict[int, int] = {}              # chunk id -> id of the old chunk whose vector it keeps
        embed: dict[int, int] = {}               # chunk id -> position in new_texts
        new_texts: list[str] = []
        cache = old.vector_ids_by_text([a.path for a in plan.articles]) if old else {}
        # Articles are written in path order so that chunk ids follow a stable order.
        entries: list[tuple[str, Article | None]] = [(p, None) for p in plan.unchanged]
        entries += [(a.path, a) for a in plan.articles]
        entries.sort(key=lambda entry: entry[0])
        dates: list[str] = []                    # the publication dates known, for the manifest
        for path, parsed in entries:
            if parsed is None:
                assert old is not None  # an unchanged article comes from the old generation
                article, old_chunks = old.article_with_chunks(path)
                spans: list[tuple[int, int, int | None]] = [(c.start, c.end, c.id) for c in old_chunks]
            else:
                article = parsed
                spans = [(s, e, None) for s, e in
                         chunk_spans(article, settings.index.chunk_chars, settings.index.chunk_overlap)]
            chunks = []
            for start, end, old_id in spans:
                embedded_text = index_text(article.title, article.text[start:end])
                sha = _sha(embedded_text)
                chunks.append((start, end, sha))
                old_id = cache.get(sha) if old_id is None else old_id
                if old_id is not None:
                    reused[len(rows)] = old_id
                else:
                    embed[len(rows)] = len(new_texts)
                    new_texts.append(embedded_text)
                rows.append(embedded_text)
            writer.add_article(article, chunks)
            dates += [article.date[:10]] if article.date and ISO_DATE.match(article.date) else []
        with progress.bar(len(new_texts), "embedding", unit="chunk") as bar:
            # Nothing new (only removals): the model is not even loaded.
            fresh = embedder.encode(new_texts, progress=bar.update, bulk=True) if new_texts else None
        dim = fresh.shape[1] if fresh is not None else (old.dim if old else embedder.dim)
        vectors = np.zeros((len(rows), dim), dtype=np.float32)
        if reused:
            assert old is not None
            vectors[list(reused)] = old.chunk_vectors(list(reused.values()))
        if fresh is not None:
            vectors[list(embed)] = fresh[list(embed.values())]
        with progress.spinner("building search indexes"):
            analyzer = Analyzer(settings.index.language)
            writer.publish(vectors, [analyzer.terms(t) for t in rows],
                           new_manifest(settings, dim=dim, articles=len(entries), chunks=len(rows), dates=dates))
    return len(rows), len(new_texts)
