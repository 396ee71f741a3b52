"""The lexical side of the hybrid: stem pairs in BM25 and the question's exact forms at half weight."""

import numpy as np

from index.builder import build_index
from index.search.analyzer import Analyzer
from index.search.hybrid import EXACT_WEIGHT, Searcher
from index.stores.lexical import Lexical

ANALYZER = Analyzer("french")


def test_bm25_terms_pair_neighbouring_content_words():
    terms = ANALYZER.terms("la Seconde Guerre mondiale")
    stems = ANALYZER.stems("la Seconde Guerre mondiale")
    assert f"{stems[1]}+{stems[2]}" in terms and f"{stems[0]}+{stems[1]}" in terms
    assert not any("+" in t for t in ANALYZER.terms("guerre"))  # one word: no pair


def test_a_passage_keeping_the_question_phrase_together_scores_higher():
    together = "La guerre mondiale éclate en Europe ; le traité de paix est signé à Paris."
    apart = "La guerre éclate en Europe ; le traité mondiale de paix est signé à Paris."
    filler = [f"Un passage sans rapport numéro {i} sur la pêche en mer." for i in range(8)]
    lexical = Lexical.build([ANALYZER.terms(t) for t in [together, apart, *filler]])
    scores = lexical.scores(ANALYZER.terms("Quand la guerre mondiale éclate-t-elle ?"))
    assert scores[0] > scores[1] > 0


def test_the_questions_exact_word_forms_count_half_in_lexical_scores(settings, corpus, embedder):
    build_index(settings, [corpus], embedder=embedder)
    searcher = Searcher.open(settings, embedder)
    question = "Qui a accueilli Poutine à l'aéroport de Pyongyang ?"
    terms = ANALYZER.terms(question)
    stems = searcher.reader.lexical_scores([t for t in terms if not t.startswith("=")])
    exact = searcher.reader.lexical_scores([t for t in terms if t.startswith("=")])
    expected = stems + EXACT_WEIGHT * exact
    assert EXACT_WEIGHT == 0.5 and exact.max() > 0
    assert np.allclose(searcher._lexical(question), (expected - expected.mean()) / expected.std(), atol=1e-5)


def test_the_numpy_reader_scores_every_query_as_bm25s_does(tmp_path):
    import random

    import bm25s

    rng = random.Random(0)
    words = [f"w{i}" for i in range(200)]
    documents = [[rng.choice(words) for _ in range(rng.randint(1, 40))] for _ in range(300)]
    Lexical.build(documents).save(tmp_path)
    ours, theirs = Lexical.load(tmp_path, len(documents)), bm25s.BM25.load(str(tmp_path), mmap=True)
    for _ in range(100):
        query = [rng.choice([*words, "unknown"]) for _ in range(rng.randint(1, 6))]
        known = [t for t in query if t in theirs.vocab_dict]
        expected = theirs.get_scores(known) if known else np.zeros(len(documents))
        assert np.allclose(ours.scores(query), expected, atol=1e-6)
        assert ours.document_frequency(query) == {t: sum(t in d for d in documents) for t in query}


def test_a_search_never_imports_bm25s_or_scipy(tmp_path):
    import subprocess
    import sys

    Lexical.build([["a", "b"], ["b", "c"]]).save(tmp_path)
    code = (f"import sys; from index.stores.lexical import Lexical; lex = Lexical.load({str(tmp_path)!r}, 2); "
            "print(lex.scores(['b']).tolist(), 'bm25s' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("]")[1].split() == ["False", "False"]
