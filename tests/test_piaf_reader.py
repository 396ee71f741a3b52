"""The PIAF short-answer metrics: SQuAD exact match and token F1 with French normalisation, and the fixed split."""

from bot.bench.piaf import PiafQuestion
from bot.bench.piaf_reader import split
from bot.bench.squad import contains, exact_match, normalize, token_f1


def test_articles_punctuation_and_apostrophes_are_ignored():
    assert normalize("L’Église catholique.") == "église catholique"
    assert exact_match("en janvier 2010", ("janvier 2010",)) == 0.0
    assert exact_match("l'Église catholique", ("Église catholique",)) == 1.0


def test_token_f1_is_the_best_over_the_gold_answers():
    assert token_f1("Jérusalem", ("à Jérusalem sous le règne du roi", "Jérusalem")) == 1.0
    assert token_f1("2009", ("saison 2009-10",)) == 0.5  # "saison 2009 10": one word of three
    assert token_f1("", ("Drax",)) == 0.0


def test_contains_needs_whole_words():
    assert contains("Il est né à Soncourt-sur-Marne.", ("Soncourt-sur-Marne",))
    assert not contains("en 20015", ("2001",))


def test_the_held_out_half_is_the_odd_positions():
    questions = [PiafQuestion(str(i), "q", 0, ("a",)) for i in range(10)]
    assert [q.id for q in split(questions, "held-out", 0)] == ["1", "3", "5", "7", "9"]
    assert [q.id for q in split(questions, "train", 0)] == ["0", "2", "4", "6", "8"]
    assert [q.id for q in split(questions, "held-out", 2)] == ["1", "5"]
