"""The direct answer: a short verbatim answer first, checked against the file, in the question's language."""

import json

import pytest

from bot.answer.direct import extract
from bot.answer.evaluate import has_key, load_questions, run_eval
from bot.answer.phrasing import translate
from bot.answer.question import Question, question_form
from bot.answer.records import Sentence
from bot.answer.sources import read_source
from bot.answer.spans import mentioned, skeleton, typed_spans
from bot.cli.render import answer_text
from index.search.analyzer import Analyzer

from conftest import DATA

ANALYZER = Analyzer("french")


def _sentence(text: str) -> Sentence:
    return Sentence(1, "a.txt", "titre", text)


def _direct(question: str, *texts: str):
    return extract(Question.build(question, ANALYZER), [_sentence(t) for t in texts], ANALYZER)


def test_a_date_question_gets_the_date_not_the_sentence():
    draft = _direct("Quel jour Kim Jong-un est-il arrivé en Russie ?",
                    "Le dirigeant de la Corée du Nord, Kim Jong-un, est arrivé mardi 12 septembre en Russie pour "
                    "une rencontre en grande pompe avec Vladimir Poutine.")
    assert draft is not None and [p.text for p in draft.pieces] == ["mardi 12 septembre"]


def test_a_count_question_over_sentences_without_any_number_is_missing_not_a_clause():
    text = ("Les Occidentaux accusent les Nord-Coréens de livrer des munitions à la Russie pour son attaque "
            "contre l’Ukraine en échange d’une aide technologique.")
    assert _direct("Combien de munitions la Corée du Nord a-t-elle livrées à la Russie ?", text).form == "missing"
    # The same sentence with a count answers it.
    counted = _direct("Combien de munitions la Corée du Nord a-t-elle livrées à la Russie ?",
                      text.replace("des munitions", "un million d’obus et de munitions"))
    assert counted is not None and counted.form == "value"


def test_when_is_answered_by_a_clause_but_which_day_needs_a_day():
    text = "Poutine s’était rendu en Corée du Nord il y a près d’un quart de siècle, pour sa première visite."
    assert _direct("Quand Poutine s'était-il rendu en Corée du Nord ?", text).form == "clause"
    assert _direct("Quel jour Poutine s'était-il rendu en Corée du Nord ?", text).form == "missing"


def test_a_vehicle_question_gets_the_vehicle_with_its_adjective():
    draft = _direct("Par quel moyen de transport Kim Jong-un est-il venu en Russie ?",
                    "Kim Jong-un est parti dimanche soir de Pyongyang à bord d’un train blindé pour rencontrer "
                    "le président russe.")
    assert [p.text for p in draft.pieces] == ["train blindé"]


def test_a_person_question_skips_the_names_the_question_already_says():
    draft = _direct("Qui est le conseiller diplomatique de Vladimir Poutine ?",
                    "Le conseiller diplomatique de Vladimir Poutine, Youri Ouchakov, a présenté le voyage.")
    assert [p.text for p in draft.pieces] == ["Youri Ouchakov"]


def test_a_list_question_gathers_every_name_of_the_enumeration():
    draft = _direct("Quels responsables accompagnent Poutine ?",
                    "Le maître du Kremlin sera accompagné notamment de son chef de la diplomatie, Sergueï Lavrov, "
                    "de son ministre de la Défense, Andreï Beloussov, ou encore de Iouri Borissov.")
    assert draft.form == "list"
    assert [p.text for p in draft.pieces] == ["Sergueï Lavrov", "Andreï Beloussov", "Iouri Borissov"]


def test_who_is_x_gets_the_role_in_apposition():
    draft = _direct("Qui est Dmitri Peskov ?",
                    "“C’est notre voisin”, a déclaré le porte-parole du Kremlin, Dmitri Peskov, ajoutant que ces "
                    "relations continueraient.")
    assert [p.text for p in draft.pieces] == ["porte-parole du Kremlin"]


def test_how_was_it_called_gets_the_quoted_words():
    draft = _direct("Comment la Corée du Nord a-t-elle qualifié les accusations occidentales ?",
                    "Pyongyang a nié et a qualifié de “ridicules” les accusations occidentales de fourniture "
                    "d’armes à la Russie.")
    assert [p.text for p in draft.pieces] == ["ridicules"]


def test_a_which_noun_question_gets_the_name_beside_that_noun():
    text = ("Le maître du Kremlin sera accompagné de son ministre de la Défense, Andreï Beloussov, de deux "
            "vice-premiers ministres ou encore du chef de l’agence spatiale russe Roscosmos.")
    assert [p.text for p in _direct("Quelle agence spatiale fait partie de la délégation ?", text).pieces] == [
        "Roscosmos"]
    assert [p.text for p in _direct("Which space agency is part of the delegation?", text).pieces] == ["Roscosmos"]


def test_a_count_of_years_is_not_answered_in_months():
    draft = _direct("Depuis combien d'années n'était-il pas venu en Corée ?",
                    "Ce voyage en Corée intervient neuf mois après la visite de Kim.",
                    "Il est arrivé en Corée pour sa première visite en 24 ans.")
    assert [p.text for p in draft.pieces] == ["24 ans"]


def test_a_where_question_gets_a_place_noun_after_its_preposition():
    draft = _direct("Où a-t-il été accueilli par Kim ?", "Il a été accueilli par Kim à l’aéroport de Sunan.")
    assert [p.text for p in draft.pieces] == ["aéroport de Sunan"]


def test_a_value_far_from_every_question_word_is_no_answer():
    assert _direct("En quelle année le sommet a-t-il eu lieu ?", "Les pommes étaient mûres en 2019.") is None
    # A month is no day: asked which day, the sentence holds none.
    assert _direct("Quel jour le sommet a-t-il eu lieu ?", "Les pommes sont mûres en septembre.").form == "missing"


@pytest.mark.parametrize("question, form", [
    ("Poutine a-t-il accepté l'invitation ?", "yesno"),
    ("Did Putin accept the invitation?", "yesno"),
    ("De quoi les Occidentaux accusent-ils les Nord-Coréens ?", "plain"),
    ("Pourquoi Poutine a-t-il félicité Pyongyang ?", "why"),
    ("Quels ministres participaient ?", "list"),
    ("Which Russian ministers took part?", "list"),
])
def test_question_forms(question, form):
    assert question_form(question) == form


def test_names_match_across_languages_by_their_consonants():
    assert skeleton("Poutine") == skeleton("Putin")
    assert mentioned("Vladimir Poutine", "Who is Putin's adviser?", names=True)
    assert not mentioned("Youri Ouchakov", "Who is Putin's adviser?", names=True)
    assert not mentioned("12 septembre", "Qu'a-t-il fait en septembre ?")


def test_typed_spans_keep_the_articles_offsets():
    text = "Il est arrivé le 19 et 20 juin à Hanoï, après trois jours à Pyongyang."
    spans = typed_spans("date", text)
    assert [text[a:b] for a, b in spans] == ["19 et 20 juin"]
    assert [text[a:b] for a, b in typed_spans("duration", text)] == ["trois jours"]


def test_translations_are_word_for_word_or_nothing():
    assert translate("mardi 12 septembre") == "Tuesday 12 September"
    assert translate("environ deux heures") == "about two hours"
    assert translate("train blindé") == ""


@pytest.fixture(scope="module")
def ask_json(extractive_answerer):
    return lambda question: extractive_answerer.ask(question)


def test_every_part_of_the_direct_answer_is_the_files_text_at_its_offsets(ask_json):
    answer = ask_json("Quel jour Kim Jong-un est-il arrivé en Russie ?")
    data = json.loads(json.dumps(answer.to_json()))
    direct = data["direct"]
    assert direct["text"].startswith("Réponse : ") and "12 septembre" in direct["text"]
    cited = {c["n"]: c for c in data["citations"]}
    for part in direct["parts"]:
        citation = cited[part["citation"]]
        text = read_source(citation["source"], citation["encoding"])
        assert text[part["start"]:part["end"]] == part["text"]
        assert citation["start"] <= part["start"] and part["end"] <= citation["end"]
        assert text[citation["sentence"]["start"]:citation["sentence"]["end"]] == citation["sentence"]["text"]
    assert data["answer"].startswith(direct["text"])


def test_an_english_question_is_framed_in_english_around_french_words(ask_json):
    answer = ask_json("How long did the official talks between the delegations last?")
    assert answer.direct is not None
    assert answer.direct.text.startswith("Answer: about two hours (translated from “environ deux heures”)")
    shown = answer_text(answer)
    assert shown.splitlines()[0].startswith("Answer:") and "Sources" in shown


def test_the_cli_rendering_opens_with_the_answer_and_gives_offsets(ask_json):
    shown = answer_text(ask_json("Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"))
    assert shown.splitlines()[0] == "Réponse : train blindé [1]"
    assert "] — “" in shown and ".txt [" in shown


def test_an_abstention_has_no_direct_answer(ask_json):
    answer = ask_json("Quelle est la couleur du train blindé de Kim Jong-un ?")
    assert answer.abstained and answer.direct is None and answer.to_json()["direct"] is None


def test_most_answerable_seed_questions_hold_their_key_in_the_direct_answer(extractive_answerer):
    # Floors just under the measured rates (0.729 French, 0.667 English, 0.727 on the newer questions):
    # a regression guard, not the goal of 0.90 (docs/BENCHMARKS.md has the current numbers).
    for name, floor in (("questions_seeds.jsonl", 0.70), ("questions_seeds_en.jsonl", 0.62),
                        ("questions_seeds_more.jsonl", 0.70)):
        metrics = run_eval(extractive_answerer, load_questions(DATA / name))["metrics"]
        assert metrics["direct_key_hit"] >= floor, (name, metrics["direct_key_hit"])
        assert metrics["direct_answers"] >= 0.9, (name, metrics["direct_answers"])
    assert has_key("Réponse : train blindé [1]", ("train blindé",))
