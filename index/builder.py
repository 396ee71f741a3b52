"""`citebot index`: an incremental, crash-safe update of the home folder's index."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import dense, store
from index.analyzer import ANALYZER_VERSION, Analyzer
from index.chunker import chunk_spans
from index.embedder import Embedder
from index.errors import IndexMismatchError
from index.lexical import Lexical
from index.loader import SkipFile, content_hash, discover, load_article
from index.models import Article, IndexReport, Skipped, display_path
from index.progress import Progress
from index.reader import IndexReader
from index.settings import SearchSettings


def index_identity(settings: SearchSettings) -> dict:
    """What an index must share with the settings to be searchable with them."""
    return {"embed_model": settings.index.embed_model, "chunk_chars": settings.index.chunk_chars,
            "chunk_overlap": settings.index.chunk_overlap, "language": settings.index.language,
            "analyzer": ANALYZER_VERSION}


def check_compatible(manifest: dict, settings: SearchSettings) -> None:
    """Raise IndexMismatchError when the index was built with other indexing settings."""
    wanted = index_identity(settings)
    diffs = [f"{k}={manifest.get(k)!r} (settings say {v!r})" for k, v in wanted.items() if manifest.get(k) != v]
    if diffs:
        raise IndexMismatchError(f"the index in {settings.index.home} was built with {', '.join(diffs)}; "
                                 "rebuild it with: citebot index --rebuild")


def index_text(title: str, text: str) -> str:
    """What BM25 and the embedder see: the chunk under its article title (sha-keyed for reuse)."""
    return text if text.startswith(title) else f"{title}\n{text}"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class _Plan:
    articles: list[Article]          # new or changed, parsed
    unchanged: list[str]             # paths kept as they are
    removed: list[str]
    updated: int
    skipped: list[Skipped]
    warnings: list[str]


def _plan(paths: list[Path], old: dict[str, str], progress: Progress) -> _Plan:
    files, skipped = discover(paths)
    plan = _Plan([], [], [], 0, list(skipped), [])
    seen = set()
    for path in progress.iter(files, "reading"):
        key = str(path.resolve())
        try:
            raw_sha = content_hash(path.read_bytes())
        except OSError as exc:
            plan.skipped.append(Skipped(key, f"unreadable: {exc.strerror}"))
            continue
        seen.add(key)
        if old.get(key) == raw_sha:
            plan.unchanged.append(key)
            continue
        try:
            article = load_article(path)
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


def build_index(settings: SearchSettings, paths: list[Path], rebuild: bool = False,
                embedder: Embedder | None = None, progress: Progress | None = None) -> IndexReport:
    """Bring the index in settings.index.home in line with the articles under `paths`."""
    started = time.perf_counter()
    progress = progress or Progress(enabled=False)
    home = store.check_home(Path(settings.index.home), create=True)
    with store.HomeLock(home):
        store.prune(home, strict=not rebuild)
        old = None if rebuild else IndexReader.open_current(home)
        if old is not None:
            check_compatible(old.manifest, settings)
        plan = _plan(paths, old.article_hashes() if old else {}, progress)
        changed = bool(plan.articles or plan.removed or old is None)
        embedded = 0
        total_articles = len(plan.articles) + len(plan.unchanged)
        total_chunks = old.size if old else 0
        if changed:
            embedder = embedder or Embedder(settings.index.embed_model, settings.index.embed_batch)
            total_chunks, embedded = _write(home, settings, plan, old, embedder, progress)
        store.prune(home, strict=not rebuild)
    return IndexReport(
        articles=total_articles, chunks=total_chunks,
        added=len(plan.articles) - plan.updated, updated=plan.updated, removed=len(plan.removed),
        unchanged=len(plan.unchanged), embedded_chunks=embedded, skipped=tuple(plan.skipped),
        warnings=tuple(plan.warnings), seconds=time.perf_counter() - started)


def _write(home: Path, settings: SearchSettings, plan: _Plan, old: IndexReader | None,
           embedder: Embedder, progress: Progress) -> tuple[int, int]:
    """Write a complete new generation into a temp folder, then publish it."""
    tmp = store.new_generation_dir(home)
    conn = store.connect(tmp / "store.sqlite", readonly=False)
    rows: list[str] = []                     # the indexed text of each chunk, in chunk-id order
    sources: list[tuple[str, int]] = []      # where each vector comes from: ("old", id) or ("new", i)
    new_texts: list[str] = []
    cache = old.vector_ids_by_text([a.path for a in plan.articles]) if old else {}
    kept = set(plan.unchanged)
    # Articles are written in path order so that chunk ids follow a stable order.
    entries = [("old", p) for p in kept] + [("new", a) for a in plan.articles]
    entries.sort(key=lambda e: e[1] if e[0] == "old" else e[1].path)
    for article_id, (origin, item) in enumerate(entries):
        if origin == "old":
            article, old_chunks = old.article_with_chunks(item)
            spans = [(c.start, c.end, c.id) for c in old_chunks]
        else:
            article = item
            spans = [(s, e, None) for s, e in chunk_spans(article, settings.index.chunk_chars, settings.index.chunk_overlap)]
        conn.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)", (
            article_id, article.path, article.kind, article.encoding, article.sha256, article.title,
            article.date, article.body_start, article.body_end, article.text))
        for start, end, old_id in spans:
            text = article.text[start:end]
            embedded_text = index_text(article.title, text)
            sha = _sha(embedded_text)
            conn.execute("INSERT INTO chunks VALUES (?,?,?,?,?,?)", (len(rows), article_id, start, end, text, sha))
            rows.append(embedded_text)
            old_id = cache.get(sha) if old_id is None else old_id
            if old_id is not None:
                sources.append(("old", old_id))
            else:
                sources.append(("new", len(new_texts)))
                new_texts.append(embedded_text)
    conn.commit()
    conn.close()
    with progress.bar(len(new_texts), "embedding", unit="chunk") as bar:
        fresh = embedder.encode(new_texts, progress=bar.update, bulk=True)
    dim = fresh.shape[1] if len(new_texts) else (old.dim if old else embedder.dim)
    vectors = np.zeros((len(rows), dim), dtype=np.float32)
    for i, (origin, ref) in enumerate(sources):
        vectors[i] = old.vectors[ref] if origin == "old" else fresh[ref]
    _write_search_structures(tmp, settings, vectors, rows, progress)
    store.write_manifest(tmp, {
        "format": store.FORMAT_VERSION, **index_identity(settings), "dim": int(dim),
        "faiss": dense.index_kind(len(rows)), "articles": len(entries), "chunks": len(rows),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    store.publish(home, tmp)
    return len(rows), len(new_texts)


def _write_search_structures(folder: Path, settings: SearchSettings, vectors: np.ndarray,
                             texts: list[str], progress: Progress) -> None:
    np.save(folder / "vectors.npy", vectors)
    mean, cov = dense.score_stats(vectors)
    np.savez(folder / "dense_stats.npz", mean=mean, cov=cov)
    with progress.spinner("building search indexes"):
        dense.save_faiss(dense.build_faiss(vectors), folder / "dense.faiss")
        analyzer = Analyzer(settings.index.language)
        Lexical.build([analyzer.terms(t) for t in texts]).save(folder / "bm25")
