"""The focus gate: a sentence that names the question's people but not what it asks for cannot answer it."""

import pytest

from bot.answer.focus import Focus, carries, question_focus
from index.search.analyzer import Analyzer

ANALYZER = Analyzer("french")
TRAIN = "Le chef de l'état nord-coréen, Kim Jong-un, est parti dimanche soir de Pyongyang à bord d'un train blindé."
CARPET = "Le tapis rouge a été déroulé mais les détails restent, pour l'instant, très secrets."
DELEGATION = ("Le maître du Kremlin sera accompagné de son chef de la diplomatie, Sergueï Lavrov, "
              "et de deux vice-premiers ministres.")
FLIGHT_DATE = "La seule visite de Poutine à Pyongyang remonte à juillet 2000, deux mois après son élection."


def gate(question: str, sentence: str, previous: str = "") -> bool:
    focus = question_focus(question)
    assert focus is not None, question
    return carries(focus, sentence, previous, question, ANALYZER)


@pytest.mark.parametrize(("question", "focus"), [
    ("Quelle est la superficie du Vietnam ?", Focus("superficie", "area", "vietnam")),
    ("Quel âge a Sergueï Lavrov ?", Focus("age", "age")),
    ("Combien de temps a duré le vol de Poutine jusqu'à Pyongyang ?", Focus("", "duration", "vol")),
    ("Combien de journalistes accompagnaient la délégation ?", Focus("journalistes", None, counted=True)),
    ("How long did Putin's flight to Pyongyang last?", Focus("", "duration", "flight")),
    ("Quel type d'accord Moscou espère-t-elle signer ?", None),  # a class noun: left to the support model
    ("Quel pays Poutine visite-t-il ensuite ?", None),
])
def test_the_focus_is_the_attribute_the_question_asks_for(question, focus):
    assert question_focus(question) == focus


def test_a_sentence_that_only_names_the_subject_does_not_carry_the_focus():
    assert not gate("Quelle est la couleur du train blindé de Kim Jong-un ?", TRAIN)
    assert not gate("Quel âge a Sergueï Lavrov ?", DELEGATION)
    assert not gate("Combien de journalistes accompagnaient la délégation russe ?", DELEGATION)


def test_a_value_of_the_asked_type_counts_only_next_to_what_it_belongs_to():
    # "rouge" is a colour, but of the carpet: the train is not in that sentence or the one before.
    assert not gate("Quelle est la couleur du train blindé de Kim Jong-un ?", CARPET)
    assert gate("Quelle est la couleur du tapis ?", CARPET)
    # "deux mois" is a duration, but not of a flight.
    assert not gate("Combien de temps a duré le vol de Poutine jusqu'à Pyongyang ?", FLIGHT_DATE)


def test_sentences_that_answer_still_carry_the_focus():
    assert gate("Combien de vice-premiers ministres accompagnent Poutine ?", DELEGATION)
    assert gate("Combien de temps ont duré les discussions officielles ?",
                "Ils ont ensuite mené des discussions officielles d'environ deux heures avec leurs délégations.")
    assert gate("Quel jour Kim Jong-un est-il arrivé en Russie ?", "Kim Jong-un est arrivé le 12 septembre en Russie.")
    assert gate("Quel âge a Sergueï Lavrov ?", "Sergueï Lavrov, 74 ans, dirige la diplomatie russe.")
    assert gate("Quelle est la superficie du Vietnam ?", "Le Vietnam couvre 331 000 km² en Asie du Sud-Est.")
    assert gate("Quelle est la superficie du Vietnam ?", "Sa superficie est comparable à celle de l'Italie.",
                "Le Vietnam est un pays d'Asie du Sud-Est.")


def test_a_value_counts_as_asked_only_when_the_question_holds_it_as_a_whole_token():
    # "20" is inside "2015" but is not a number the question gives: the sentence answers it.
    assert gate("Quel est le nombre de morts en 2015 ?", "L'attentat a fait 20 morts.")
    assert not gate("Quel est le nombre de morts en 2015 ?", "Les 2015 morts ont été recensés.")


def test_the_attribute_must_belong_to_what_the_question_names():
    banners = "Des banderoles ont été accrochées dans toute la capitale nord-coréenne."
    assert not gate("Quelle est la capitale de l'Australie ?", banners)
    assert gate("Quelle est la capitale de la Corée du Nord ?", banners)
    assert not gate("Quelle est la date de naissance de Kim Jong-un ?", "Moscou n'a pas précisé la date de l'entrevue.")
    # The article's title may name the owner: "Elle couvre 331 000 km²" under the title "Vietnam".
    focus = question_focus("Quelle est la superficie du Vietnam ?")
    assert carries(focus, "Le pays couvre 331 000 km².", "", "Quelle est la superficie du Vietnam ?", ANALYZER,
                   title="Vietnam")


def test_the_gate_zeroes_the_support_of_sentences_that_miss_the_focus(extractive_answerer):
    answer = extractive_answerer.ask("Quelle est la couleur du train blindé de Kim Jong-un ?")
    assert answer.abstained and answer.support == 0.0
    assert not extractive_answerer.ask("Par quel moyen de transport Kim Jong-un est-il venu en Russie ?").abstained
