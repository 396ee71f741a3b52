"""The Question record: built once per question, read by every answering stage."""

from __future__ import annotations

import dataclasses

import pytest

from bot.answer.question import Question
from index.search.analyzer import Analyzer

ANALYZER = Analyzer("french")


def test_a_follow_up_is_analysed_in_its_standalone_form_and_keeps_the_words_asked():
    asked = Question.build("Et combien de soldats ?", ANALYZER,
                           standalone="Et combien de soldats ? (Kim Jong-un est venu en Russie en train)")
    assert asked.text == "Et combien de soldats ?"
    assert asked.shape.kind == "number"
    assert {"russ", "train"} <= asked.stems  # the standalone form's words, for the support features
    assert "russie" in asked.entities


def test_the_language_is_detected_once_and_names_alone_take_the_corpus_language():
    assert Question.build("Who travelled with Putin?", ANALYZER).language == "en"
    assert Question.build("Poutine ? Kim ?", ANALYZER, default_language="fr").language == "fr"
    assert Question.build("Poutine ? Kim ?", ANALYZER, default_language="en").language == "en"


def test_a_sentence_of_names_alone_is_in_the_corpus_language_not_the_questions():
    english = Question.build("Who met Kim Jong-un in Vladivostok?", ANALYZER, default_language="fr")
    assert english.other_language("Kim Jong-un et Vladimir Poutine à Vladivostok.")
    assert english.other_language("Vladimir Poutine, Kim Jong-un")  # ambiguous: the corpus's French
    assert not english.other_language("The two leaders met in Vladivostok in 2019.")


@pytest.mark.parametrize("question, form", [
    ("Pourquoi Kim Jong-un a-t-il pris le train ?", "why"),
    ("Quels ministres accompagnaient Poutine ?", "list"),
    ("Poutine a-t-il signé un accord ?", "yesno"),
    ("Résume ce que disent les articles sur la visite.", "summary"),
    ("Quand Poutine est-il arrivé ?", "plain"),
])
def test_the_answer_shape_is_read_from_the_question(question, form):
    assert Question.build(question, ANALYZER).form == form


def test_the_record_is_frozen():
    asked = Question.build("Quand Poutine est-il arrivé ?", ANALYZER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        asked.language = "en"  # type: ignore[misc]


def test_an_answer_reports_the_questions_language_and_standalone_form(extractive_answerer):
    answer = extractive_answerer.ask("How did Kim Jong-un travel to Russia?")
    assert answer.language == "en" and answer.standalone == "How did Kim Jong-un travel to Russia?"
