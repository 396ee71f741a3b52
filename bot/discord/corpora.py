"""Several corpora in one bot: which index answers in which channel.

`discord_corpora` maps channel, category or server ids to an index home folder or a
postgresql:// store. A message is answered from the corpus of the first of its thread, its
channel, the channel's category and its server that has an entry; with none, from the [index]
home or store (`discord_unmapped = "default"`) or not at all ("refuse"). A question is only ever
answered from that one corpus. Every corpus is an index built with the bot's [index] settings
(same embedding model, chunking and language); one model, embedder and support model serve them
all, so each corpus adds only its index to the bot's memory.

Mapped corpora must exist before the bot starts (`citebot index --home FOLDER ARTICLES…`): a
mistyped folder is a one-line error at start-up, never a new empty corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import Settings
from index.errors import CitebotError, IndexMismatchError
from index.stores.factory import open_store


class CorpusError(CitebotError):
    """A corpus of discord_corpora cannot be used."""


@dataclass(frozen=True)
class Corpus:
    """One index and the settings that open it."""

    location: str          # the home folder, or the store URL without its password: for messages and logs
    settings: Settings
    key: str               # what makes two entries the same corpus: the resolved folder or the URL


def corpus_of(settings: Settings) -> Corpus:
    """The corpus the settings' [index] home or store holds."""
    index = settings.index
    return Corpus(index.location, settings, index.store or str(Path(index.home).resolve()))


def _mapped(settings: Settings, target: str) -> Corpus:
    if target.startswith(("postgresql://", "postgres://")):
        return corpus_of(settings.replace(store=target))
    return corpus_of(settings.replace(home=target, store=""))


def plan(settings: Settings) -> tuple[dict[int, Corpus], Corpus | None]:
    """Each mapped id's corpus (entries naming the same index share one) and the default corpus, if any."""
    default = corpus_of(settings) if settings.discord.discord_unmapped == "default" else None
    known = {default.key: default} if default else {}
    routes: dict[int, Corpus] = {}
    for channel, target in settings.discord.discord_corpora:
        corpus = _mapped(settings, target)
        routes[channel] = known.setdefault(corpus.key, corpus)
    return routes, default


def _ids(corpus: Corpus, routes: dict[int, Corpus]) -> str:
    """The ids mapped to a corpus, for messages."""
    return ", ".join(str(i) for i, c in routes.items() if c is corpus)


def require_index(corpus: Corpus, routes: dict[int, Corpus]) -> None:
    """CorpusError (one line, naming its ids) when a mapped corpus holds no index."""
    ids = _ids(corpus, routes)
    home = corpus.settings.index.home
    if not corpus.settings.index.store and not Path(home).is_dir():
        raise CorpusError(f"discord_corpora: the corpus of {ids}, {home}, is not a folder; create it with: "
                          f"citebot index --home {home} ARTICLES…")
    try:
        live = open_store(corpus.settings).open_live()
    except CitebotError as exc:
        raise CorpusError(f"discord_corpora: the corpus of {ids}: {exc}") from None
    if live is None:
        raise CorpusError(f"discord_corpora: the corpus of {ids}, {corpus.location}, holds no index; create it "
                          f"with: citebot index --{'store' if corpus.settings.index.store else 'home'} "
                          f"{corpus.location} ARTICLES…")


class Corpora:
    """The corpora of a bot and the answerer of each; resolve() picks a channel's."""

    def __init__(self, routes: dict[int, Corpus], default: Corpus | None, answerers: dict[str, Any]) -> None:
        self.routes = routes
        self.default = default
        self.answerers = answerers  # Corpus.key -> its answerer, as the AnswerService calls it

    @classmethod
    def single(cls, settings: Settings, answerer: Any) -> Corpora:
        """One corpus everywhere: the bot's [index] home or store."""
        corpus = corpus_of(settings)
        return cls({}, corpus, {corpus.key: answerer})

    @classmethod
    def open(cls, settings: Settings, service: Any, first: Corpus | None = None) -> Corpora:
        """Open every corpus `plan` names; `first` is the one the service's answerer already holds.

        The others share its model, prompts, support model and embedder (and, with several
        workers, its lock: service.share). CorpusError, naming the ids, for a corpus without a usable index.
        """
        from bot.answer.pipeline import Answerer
        from index.search.hybrid import Searcher

        routes, default = plan(settings)
        base = service.answerer
        answerers = {first.key: base} if first else {}
        for corpus in dict.fromkeys([*routes.values(), *([default] if default else [])]):
            if corpus.key in answerers:
                continue
            require_index(corpus, routes)
            try:
                searcher = Searcher.open(corpus.settings, base.searcher.embedder)
            except IndexMismatchError as exc:  # built with other [index] settings than the bot's
                raise CorpusError(f"discord_corpora: the corpus of {_ids(corpus, routes)}: {exc}") from None
            answerer = Answerer(corpus.settings, searcher, base.generator, base.prompts, base.support)
            answerers[corpus.key] = service.share(answerer)
        return cls(routes, default, answerers)

    def resolve(self, *ids: int | None) -> Corpus | None:
        """The corpus of the first id with an entry (thread, channel, category, server), else the default."""
        for channel in ids:
            if channel is not None and channel in self.routes:
                return self.routes[channel]
        return self.default

    def answerer(self, corpus: Corpus) -> Any:
        """The answerer of a corpus."""
        return self.answerers[corpus.key]


def place_ids(channel: Any, guild: Any) -> tuple[int | None, ...]:
    """The ids a message's place is known by, most specific first: thread, channel, category, server."""
    return (getattr(channel, "id", None), getattr(channel, "parent_id", None),  # a thread's channel
            getattr(channel, "category_id", None), getattr(guild, "id", None))
