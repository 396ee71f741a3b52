"""open_store: the index store the settings name, each implementation imported only when chosen."""

from __future__ import annotations

from index.settings import SearchSettings
from index.stores.base import IndexStore


def open_store(settings: SearchSettings, create: bool = False) -> IndexStore:
    """The store settings.index.store names, else the home folder's (created when asked); InputError if unusable."""
    if settings.index.store:
        from index.stores.postgres.store import PgStore

        return PgStore.open(settings.index.store, create)
    from index.stores.embedded.store import EmbeddedStore

    return EmbeddedStore.open(settings.index.home, create)
