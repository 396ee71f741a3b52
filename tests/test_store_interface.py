"""The store interface is all that search, the answerer and the builder use: an in-memory store
written against index/stores/base.py alone is built, searched and answered from like the embedded one."""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pytest

from index.builder import build_index, update_index
from index.records import Article, Chunk
from index.search.hybrid import Searcher
from index.stores.base import GenerationWriter, IndexStore, IndexView
from index.stores.lexical import Lexical


class MemoryView(IndexView):
    """A generation held in memory: brute-force dense search, BM25 built from the builder's terms."""

    def __init__(self, name, articles, chunks, shas, vectors, terms, manifest) -> None:
        self.generation, self.manifest, self.size = name, manifest, len(chunks)
        self._articles = {a.path: a for a in articles}
        self._chunks, self._shas, self._vectors = chunks, shas, vectors
        self._lexical = Lexical.build(terms)

    def article_count(self):
        return len(self._articles)

    def article(self, path):
        return self._articles.get(path)

    def article_hashes(self):
        return {path: a.sha256 for path, a in self._articles.items()}

    def article_with_chunks(self, path):
        return self._articles[path], [c for c in self._chunks if c.path == path]

    def chunks(self, ids):
        return [self._chunks[int(i)] for i in ids]

    def vector_ids_by_text(self, paths):
        return {sha: c.id for c, sha in zip(self._chunks, self._shas) if c.path in paths}

    def chunk_vectors(self, ids):
        return self._vectors[np.asarray(ids, dtype=np.int64)]

    def lexical_scores(self, terms):
        return self._lexical.scores(terms)

    def document_frequency(self, terms):
        return self._lexical.document_frequency(terms)

    def dense_candidates(self, vector, n):
        return np.argsort(-(self._vectors @ vector), kind="stable")[:n]

    def dense_moments(self, vector):
        similarities = self._vectors.astype(np.float64) @ vector
        return float(similarities.mean()), float(similarities.std())


class MemoryWriter(GenerationWriter):
    def __init__(self, store: "MemoryStore") -> None:
        self.store, self.articles, self.chunks, self.shas = store, [], [], []

    def add_article(self, article: Article, chunks: list[tuple[int, int, str]]) -> None:
        self.articles.append(article)
        for start, end, sha in chunks:
            self.chunks.append(Chunk(len(self.chunks), article.path, article.title, start, end,
                                     article.text[start:end]))
            self.shas.append(sha)

    def publish(self, vectors, terms, manifest) -> None:
        name = f"memory-{len(self.store.published) + 1}"
        self.store.published.append(MemoryView(name, self.articles, self.chunks, self.shas, vectors, terms,
                                               manifest))


class MemoryStore(IndexStore):
    def __init__(self) -> None:
        self.published: list[MemoryView] = []

    def live_generation(self):
        return self.published[-1].generation if self.published else None

    def open_live(self):
        return self.published[-1] if self.published else None

    def open_for_update(self):
        return self.open_live(), None

    def lock(self, wait=False):
        return nullcontext()

    def recover(self):
        return None

    @contextmanager
    def writer(self) -> Iterator[MemoryWriter]:
        yield MemoryWriter(self)

    def prune(self, strict=True):
        del self.published[:-1]


QUESTIONS = ["Par quel moyen de transport Kim Jong-un est-il venu en Russie ?", "cosmodrome", "train blindé"]


def _shown(result):
    return [(Path(h.chunk.path).name, h.chunk.start, h.chunk.end) for h in result.hits]


@pytest.fixture
def memory(settings, corpus, embedder) -> MemoryStore:
    store = MemoryStore()
    report = update_index(store, settings, [corpus], embedder=embedder)
    assert (report.articles, report.embedded_chunks) == (3, report.chunks)
    return store


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_a_store_written_against_the_interface_searches_like_the_embedded_one(memory, settings, corpus,
                                                                              embedder, mode):
    build_index(settings, [corpus], embedder=embedder)
    embedded = Searcher.open(settings, embedder)
    in_memory = Searcher(memory.open_live(), settings, embedder, memory)
    for question in QUESTIONS:
        expected, found = embedded.search(question, 5, mode), in_memory.search(question, 5, mode)
        assert _shown(found) == _shown(expected)
        assert [h.score for h in found.hits] == pytest.approx([h.score for h in expected.hits], abs=1e-4)


def test_the_builder_updates_such_a_store_incrementally_and_the_searcher_follows(memory, settings, corpus,
                                                                                 embedder):
    searcher = Searcher(memory.open_live(), settings, embedder, memory)
    (corpus / "nouveau.txt").write_text("Le cosmodrome de Vostotchny accueille une fusée Soyouz.\n",
                                        encoding="utf-8")
    report = update_index(memory, settings, [corpus], embedder=embedder)
    assert (report.added, report.unchanged, report.embedded_chunks) == (1, 3, 1)
    assert Path(searcher.search("fusée Soyouz Vostotchny", 3).hits[0].chunk.path).name == "nouveau.txt"
    assert searcher.reader.generation == "memory-2"


def test_the_answerer_needs_nothing_more_from_the_store(memory, settings, embedder):
    from bot.answer.pipeline import Answerer

    settings = settings.replace(extractive=True)
    answer = Answerer(settings, Searcher(memory.open_live(), settings, embedder, memory)).ask(QUESTIONS[0])
    assert not answer.abstained and "train blindé" in answer.text
