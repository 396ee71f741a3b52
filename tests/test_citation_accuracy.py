"""Citation accuracy on the fixed seed questions, in extractive mode, through the eval harness."""

import pytest

from bot.answer.evaluate import has_key, load_questions, run_eval, source_matches

from conftest import DATA


@pytest.fixture(scope="module")
def report(extractive_answerer):
    return run_eval(extractive_answerer, load_questions(DATA / "questions_seeds.jsonl"))


def test_the_question_file_is_big_enough():
    items = load_questions(DATA / "questions_seeds.jsonl")
    assert len(items) >= 40
    # At least 10 of them name the articles' people and places but ask what the articles never say.
    assert sum(not i.answerable for i in items) >= 21
    assert all(i.keys and i.sources for i in items if i.answerable)


def test_every_quote_is_the_exact_text_at_its_offsets(report):
    assert report["metrics"]["quote_verified"] == 1.0
    assert sum(len(q["citations"]) for q in report["questions"]) > 40


def test_at_least_95_percent_of_answerable_questions_cite_an_expected_answer(report):
    assert report["metrics"]["cited_key_rate"] >= 0.95, [q["id"] for q in report["questions"]
                                                        if q["answerable"] and not q["cited_key"]]


def test_every_unanswerable_question_abstains(report):
    assert report["metrics"]["abstain_recall"] == 1.0, [q["id"] for q in report["questions"]
                                                       if not q["answerable"] and not q["abstained"]]


def test_no_answerable_question_abstains(report):
    assert report["metrics"]["false_abstain"] == 0.0, [q["id"] for q in report["questions"]
                                                      if q["answerable"] and q["abstained"]]


def test_markers_and_citations_match_one_to_one(report):
    import re

    for q in report["questions"]:
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", q["answer"])}
        assert markers == {c["n"] for c in q["citations"]}, q["id"]


def test_key_matching_ignores_case_accents_quotes_and_hyphens():
    assert has_key("Le « TRAIN-blindé » est arrivé", ("train blinde",))
    assert has_key("l’Agence", ("l'agence",))
    assert not has_key("un avion", ("train",))
    assert source_matches("/data/seeds/001_x.txt", ("001_x.txt",))
    assert source_matches("/data/seeds/001_x.txt", ("seeds/001_x.txt",))
    assert not source_matches("/data/seeds/2001_x.txt", ("001_x.txt",))
