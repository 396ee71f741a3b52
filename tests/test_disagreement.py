"""Articles that disagree on the asked fact: the answer says so and cites both sides."""

from __future__ import annotations

import pytest

from bot.answer.disagreement import DISAGREE, claims, conflict
from bot.answer.question import Question
from bot.answer.records import Sentence
from index.search.analyzer import Analyzer

ANALYZER = Analyzer("french")


def _sentence(path: str, text: str) -> Sentence:
    return Sentence(1, path, "titre", text)


def _conflict(question: str, *sentences: Sentence):
    return conflict(Question.build(question, ANALYZER), list(sentences), ANALYZER)


def test_ranks_and_counts_are_read_as_numbers_in_french_and_english():
    found = claims("C'est sa deuxième visite, après trois visites ministérielles et the second visit.", ANALYZER)
    assert [(c.kind, c.value, c.noun) for c in found] == [
        ("rank", 2, "visite"), ("rank", 2, "visit"), ("count", 3, "visites")]


def test_two_articles_giving_the_asked_thing_different_ranks_give_both_sides():
    first = _sentence("a.txt", "La ministre est arrivée lundi pour sa première tournée en dix ans.")
    second = _sentence("b.txt", "Il s'agit de la troisième tournée de la ministre dans la région.")
    draft = _conflict("Est-ce la première tournée de la ministre dans la région ?", first, second)
    assert draft is not None and draft.form == DISAGREE
    assert [p.text for p in draft.pieces] == ["première tournée en dix ans",
                                              "troisième tournée de la ministre dans la région"]
    assert [p.sentence.path for p in draft.pieces] == ["a.txt", "b.txt"]


def test_an_english_question_finds_the_french_disagreement():
    first = _sentence("a.txt", "Le chancelier effectue sa première tournée africaine.")
    second = _sentence("b.txt", "C'est la deuxième tournée du chancelier sur le continent.")
    assert _conflict("Is this the chancellor's first tour of Africa?", first, second).form == DISAGREE


@pytest.mark.parametrize("question, second_text, second_path", [
    # the same article may say both (a first in ten years, the second ever): not two sources
    ("Est-ce la première tournée de la ministre ?", "C'est la troisième tournée de la ministre.", "a.txt"),
    # one rank in two languages' words is no disagreement
    ("Est-ce la deuxième tournée de la ministre ?", "It is the minister's second tour.", "b.txt"),
    # the question names the thing without asking its rank or count
    ("Quelle région la ministre visite-t-elle pendant sa tournée ?", "C'est la troisième tournée de la ministre.",
     "b.txt"),
])
def test_no_disagreement_without_two_articles_two_values_and_an_asked_rank(question, second_text, second_path):
    first = _sentence("a.txt", "La ministre est arrivée lundi pour sa deuxième tournée en dix ans.")
    assert _conflict(question, first, _sentence(second_path, second_text)) is None


@pytest.mark.parametrize("question, lead", [
    ("Est-ce la première visite de Poutine en Corée du Nord ?", "Les articles divergent :"),
    ("Is this Putin's first visit to North Korea?", "The articles disagree:"),
])
def test_the_seed_articles_disagreement_is_answered_with_both_cited_sides(extractive_answerer, question, lead):
    answer = extractive_answerer.ask(question)
    assert answer.direct is not None and answer.direct.form == DISAGREE
    assert answer.text.startswith(lead)
    cited = {c.n: c for c in answer.citations}
    sides = [cited[p.n] for p in answer.direct.parts]
    assert len({c.path for c in sides}) == 2  # two articles, each quoted where it says its side
    for part, citation in zip(answer.direct.parts, sides, strict=True):
        assert part.text in citation.quote
