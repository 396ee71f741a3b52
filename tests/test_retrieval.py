from pathlib import Path

import pytest

from index.errors import InputError
from index.search.analyzer import Analyzer
from index.search.hybrid import Searcher

from conftest import load_questions

ANSWERABLE = [q for q in load_questions() if q["answerable"]]


@pytest.fixture(scope="module")
def searcher(seeds_settings, embedder) -> Searcher:
    return Searcher.open(seeds_settings, embedder)


def _rank_of_expected(result, sources) -> int | None:
    names = [Path(h.chunk.path).name for h in result.hits]
    return next((i + 1 for i, name in enumerate(names) if name in sources), None)


def test_french_analyzer_folds_accents_drops_elisions_and_stop_words():
    analyzer = Analyzer("french")
    assert analyzer.stems("L'arrivée de Kim à Vladivostok") == analyzer.stems("arrivant Kim Vladivostok")
    assert "=arrivee" in analyzer.terms("arrivee") and "=arrivee" in analyzer.terms("l’arrivée")
    assert analyzer.stems("qu'il est venu") == analyzer.stems("venu")
    assert analyzer.stems("Les négociations") == analyzer.stems("négociation")
    assert "=vostotchny" in analyzer.terms("Vostotchny")


def test_the_question_file_has_at_least_thirty_answerable_french_questions():
    assert len(ANSWERABLE) >= 30
    assert all(q["sources"] for q in ANSWERABLE)


def test_hybrid_recall_at_5_is_perfect_on_the_seed_questions(searcher):
    misses = [q["question"] for q in ANSWERABLE
              if _rank_of_expected(searcher.search(q["question"], 5), q["sources"]) is None]
    assert misses == []


def test_hybrid_finds_at_least_what_either_signal_alone_finds_at_5(searcher):
    def found(mode):
        return {q["id"] for q in ANSWERABLE
                if _rank_of_expected(searcher.search(q["question"], 5, mode=mode), q["sources"])}

    hybrid = found("hybrid")
    assert hybrid >= found("lexical") and hybrid >= found("dense")


def test_hits_are_exact_slices_with_ranks_and_descending_scores(searcher):
    result = searcher.search("Qui a accueilli Poutine à l'aéroport de Pyongyang ?", 5)
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    for hit in result.hits:
        text = Path(hit.chunk.path).read_text(encoding="utf-8")
        assert text[hit.chunk.start:hit.chunk.end] == hit.chunk.text


def test_a_question_of_only_stop_words_still_returns_dense_hits(searcher):
    assert len(searcher.search("Qui est-ce ?", 3).hits) == 3


@pytest.mark.parametrize("question", ["", "   \n"])
def test_empty_questions_are_refused(searcher, question):
    with pytest.raises(InputError, match="empty"):
        searcher.search(question)
