"""English questions over the French seed articles: found, answered with French quotes, in English."""

import dataclasses

import pytest

from bot.answer.evaluate import load_questions, run_eval
from bot.answer.language import message
from bot.answer.question import Question
from bot.answer.support import DENSE_SENTENCES, SupportScorer, candidate_sentences

from conftest import DATA

FILE = DATA / "questions_seeds_en.jsonl"


@pytest.fixture(scope="module")
def report(extractive_answerer):
    return run_eval(extractive_answerer, load_questions(FILE))


def test_the_english_file_holds_at_least_15_answerable_questions_with_french_keys():
    items = load_questions(FILE)
    assert sum(i.answerable for i in items) >= 15
    assert all(i.keys and i.sources for i in items if i.answerable)


def test_every_english_question_retrieves_an_expected_article_in_the_top_5(report):
    assert report["metrics"]["retrieval_recall@5"] == 1.0, [q["id"] for q in report["questions"] if q["rank"] is None]


def test_at_least_90_percent_of_english_questions_cite_a_french_key(report):
    assert report["metrics"]["cited_key_rate"] >= 0.9, [q["id"] for q in report["questions"] if not q["cited_key"]]


def test_english_questions_get_english_text_around_french_quotes(report):
    for q in report["questions"]:
        if q["abstained"]:
            assert q["answer"] == message("en", "abstain"), q["id"]
        else:
            # The quotes stay French (they are the articles' text); what citebot adds is English:
            # the direct answer's framing, or the lead-in of the quoted sentences when there is none.
            assert q["answer"].startswith(("Answer:", "Yes:", "No:", "Not as", "The articles say:",
                                           message("en", "extractive"))), q["id"]
            assert not any(message("fr", key) in q["answer"] for key in ("extractive", "also")), q["id"]
            assert "Réponse" not in q["answer"] and "Oui :" not in q["answer"], q["id"]


def test_english_unanswerable_questions_of_the_seeds_file_abstain(extractive_answerer):
    for row in load_questions(DATA / "questions_seeds.jsonl"):
        if not row.answerable and row.question.startswith(("How", "What", "Which", "Who")):
            assert extractive_answerer.ask(row.question).abstained, row.question


class _Counting:
    """The session's real embedder, counting the passages (sentences) it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner, self.passages = inner, 0

    def encode(self, texts, progress=None, bulk=False):
        self.passages += len(texts)
        return self.inner.encode(texts, progress, bulk)

    def encode_query(self, text):
        return self.inner.encode_query(text)


def _scorer(answerer, embedder, model=None) -> SupportScorer:
    reader = answerer.searcher.reader
    return SupportScorer(answerer.searcher.analyzer, reader.document_frequency, reader.size, embedder,
                         model or answerer.support)


def test_a_french_question_embeds_only_the_pre_ranked_best_sentences_an_english_one_all(extractive_answerer,
                                                                                     embedder):
    counting = _Counting(embedder)
    scorer = _scorer(extractive_answerer, counting)
    for question in ("Par quel moyen de transport Kim Jong-un est-il venu en Russie ?",
                     "How did Kim Jong-un travel to Russia?"):
        hits = extractive_answerer.searcher.search(question, 5).hits
        sentences = candidate_sentences(hits)
        counting.passages = 0
        scorer.score(Question.build(question, scorer.analyzer), hits, sentences)
        english = question.startswith("How")
        assert len(sentences) > DENSE_SENTENCES
        assert counting.passages == (len(sentences) if english else DENSE_SENTENCES), question


def test_english_questions_are_scored_by_the_cross_language_model(extractive_answerer, embedder):
    question = "How did Kim Jong-un travel to Russia?"
    hits = extractive_answerer.searcher.search(question, 5).hits
    sentences = candidate_sentences(hits)
    shipped = extractive_answerer.support
    assert shipped.cross is not None
    # Silencing the cross-language model's weights changes the English supports, the first model's does not.
    flat_cross = dataclasses.replace(shipped, cross=dataclasses.replace(shipped.cross, weights={}))
    flat_main = dataclasses.replace(shipped, weights={})
    asked = Question.build(question, extractive_answerer.searcher.analyzer)
    base = _scorer(extractive_answerer, embedder).score(asked, hits, sentences)
    assert (_scorer(extractive_answerer, embedder, flat_main).score(asked, hits, sentences) == base).all()
    assert (_scorer(extractive_answerer, embedder, flat_cross).score(asked, hits, sentences) != base).any()
