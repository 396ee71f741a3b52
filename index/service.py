"""Opening the index for queries, building it from the default corpus on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from index import store
from index.builder import build_index
from index.embedder import Embedder
from index.errors import IndexMissingError
from index.models import display_path
from index.progress import Progress
from index.search import Searcher
from index.settings import SearchSettings


def open_searcher(settings: SearchSettings, progress: Progress | None = None,
                  notify: Callable[[str], None] = lambda message: None,
                  embedder: Embedder | None = None) -> Searcher:
    """A Searcher on the live index; with none yet, index the default corpus first."""
    store.check_home(Path(settings.index.home), create=False)
    embedder = embedder or Embedder(settings.index.embed_model, settings.index.embed_batch)
    try:
        return Searcher.open(settings, embedder)
    except IndexMissingError:
        pass
    corpus = settings.index.corpus_paths
    notify(f"no index in {settings.index.home} yet: indexing {', '.join(display_path(str(p)) for p in corpus)} first")
    home = store.check_home(Path(settings.index.home), create=True)
    # Another process may be building it right now: wait for it rather than failing.
    with store.HomeLock(home, wait=True):
        pass
    try:
        return Searcher.open(settings, embedder)
    except IndexMissingError:
        build_index(settings, corpus, embedder=embedder, progress=progress)
    return Searcher.open(settings, embedder)
