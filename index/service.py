"""Opening the index for queries, building it from the default corpus on first use."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from index.builder import update_index
from index.embedding.base import Embedder
from index.embedding.factory import embedder_for
from index.errors import IndexLockedError, IndexMissingError, LiveGenerationLost
from index.progress import Progress
from index.records import display_path
from index.search.hybrid import Searcher
from index.settings import SearchSettings
from index.stores.factory import open_store


def open_searcher(settings: SearchSettings, progress: Progress | None = None,
                  notify: Callable[[str], None] = lambda message: None,
                  embedder: Embedder | None = None) -> Searcher:
    """A Searcher on the live index; with none yet, index the default corpus first.

    The default corpus never replaces an index: a home whose CURRENT pointer was lost is an
    IndexCorruptError that asks for `citebot index` (which recovers the newest complete generation).
    """
    index_store = open_store(settings)
    embedder = embedder or embedder_for(settings.index)
    try:
        return Searcher.open(settings, embedder, index_store)
    except (IndexMissingError, LiveGenerationLost):
        pass  # the loss may be a first index being published right now: look again under the lock
    index_store = open_store(settings, create=True)
    # The lock is held from the second look to the end of the build: another process may be
    # building the index right now (wait for it), and none may start in between.
    with ExitStack() as held:
        try:
            held.enter_context(index_store.lock())
        except IndexLockedError:
            notify(f"another 'citebot index' is updating {settings.index.location}: waiting for it")
            held.enter_context(index_store.lock(wait=True))
        reader = index_store.open_live()
        if reader is None:
            corpus = settings.index.corpus_paths
            notify(f"no index in {settings.index.location} yet: indexing "
                   f"{', '.join(display_path(str(p)) for p in corpus)} first")
            update_index(index_store, settings, corpus, embedder=embedder, progress=progress)
    if reader is not None:  # another process published it while this one waited
        return Searcher(reader, settings, embedder, index_store)
    return Searcher.open(settings, embedder, index_store)
