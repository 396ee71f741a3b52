"""Edges of answering: legacy encodings, articles edited after indexing, other languages, bad inputs."""

import json
from pathlib import Path

import pytest

from bot.answer.evaluate import judge, load_questions
from bot.answer.language import OTHER, detect_language
from bot.answer.pipeline import Answerer
from bot.answer.sources import read_source
from bot.llm.factory import find_model
from index.builder import build_index
from index.errors import InputError, ModelError
from index.records import display_path
from index.search.hybrid import Searcher

from conftest import SEEDS

TRAIN_QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
TRAIN = "train blindé"
# A cp1252/latin-1 article with Windows line endings: its offsets count characters of the decoded
# text with each "\r\n" read as one "\n", not bytes and not UTF-8.
LATIN_ARTICLE = ("Le marché de Noël de Besançon\r\n"
                 "Le maire de Besançon a inauguré mercredi le marché de Noël de la place Granvelle.\r\n"
                 "Quarante chalets proposent des spécialités régionales jusqu'au 24 décembre, a précisé l'élu.\r\n")
LATIN_QUESTION = "Combien de chalets propose le marché de Noël de Besançon ?"


def _answerer(settings, folder: Path, embedder) -> Answerer:
    """An extractive Answerer over a fresh index of `folder`."""
    settings = settings.replace(extractive=True)
    build_index(settings, [folder], embedder=embedder)
    return Answerer(settings, Searcher.open(settings, embedder))


@pytest.fixture
def latin_article(tmp_path) -> Path:
    folder = tmp_path / "legacy"
    folder.mkdir()
    path = folder / "besancon.txt"
    path.write_bytes(LATIN_ARTICLE.encode("latin-1"))
    return path


def test_a_latin_1_article_is_cited_with_its_encoding_and_open_with_it_gives_the_quote(
        settings, embedder, latin_article):
    answer = _answerer(settings, latin_article.parent, embedder).ask(LATIN_QUESTION).to_json()
    assert not answer["abstained"], answer
    citation = answer["citations"][0]
    assert "Quarante chalets" in citation["quote"]
    # cp1252 is tried before latin-1 and decodes these bytes the same way.
    assert citation["encoding"] in ("cp1252", "latin-1")
    # The rule read_source documents, checked as a user would check it with open().
    with open(citation["source"], encoding=citation["encoding"]) as handle:
        assert handle.read()[citation["start"]:citation["end"]] == citation["quote"]
    assert read_source(citation["source"], citation["encoding"])[citation["start"]:citation["end"]] \
        == citation["quote"]
    # What the README used to promise cannot hold for such an article.
    with pytest.raises(UnicodeDecodeError), open(citation["source"], encoding="utf-8") as handle:
        handle.read()


def test_eval_verifies_quotes_as_the_indexer_read_the_file(settings, embedder, latin_article, tmp_path):
    answerer = _answerer(settings, latin_article.parent, embedder)
    item = load_questions(_question_file(tmp_path, {"question": LATIN_QUESTION, "keys": ["Quarante"]}))[0]
    answer = answerer.ask(LATIN_QUESTION).to_json()
    assert answer["citations"] and judge(item, answer, 1.0)["verified"] == len(answer["citations"])
    # The same characters saved as UTF-8 are not the bytes that were indexed: not verified.
    latin_article.write_text(LATIN_ARTICLE, encoding="utf-8", newline="")
    assert judge(item, answer, 1.0)["verified"] == 0


def test_an_article_re_saved_in_another_encoding_is_stale_until_re_indexed(settings, embedder, latin_article):
    answerer = _answerer(settings, latin_article.parent, embedder)
    latin_article.write_text(LATIN_ARTICLE, encoding="utf-8", newline="")
    # Read as UTF-8 the text is the same, but a citation saying "cp1252" would now misquote it.
    answer = answerer.ask(LATIN_QUESTION)
    assert answer.abstained and answer.citations == ()
    assert answer.stale == (str(latin_article.resolve()),)
    build_index(answerer.settings, [latin_article.parent], embedder=embedder)
    answer = answerer.ask(LATIN_QUESTION)
    assert not answer.abstained and answer.stale == ()
    assert answer.citations[0].encoding == "utf-8"


def _cited_train_article(answer) -> Path:
    return next(Path(c.path) for c in answer.citations if TRAIN in c.quote)


@pytest.mark.parametrize("change", ["edited", "deleted"])
def test_an_article_changed_since_indexing_is_named_with_the_advice_to_reindex(
        settings, embedder, corpus, change):
    answerer = _answerer(settings, corpus, embedder)
    before = answerer.ask(TRAIN_QUESTION)
    assert before.stale == () and before.to_json()["stale"] == []
    path = _cited_train_article(before)
    if change == "edited":  # a line added at the top moves every quote
        path.write_text("Mise à jour : article corrigé.\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    else:
        path.unlink()
    answer = answerer.ask(TRAIN_QUESTION)
    assert all(c.path != str(path) for c in answer.citations)
    assert answer.stale == (str(path),)
    assert answer.to_json()["stale"] == [display_path(str(path))]
    assert "citebot index" in answer.stale_note and display_path(str(path)) in answer.stale_note
    assert answer.stale_note.startswith("Ces articles ont changé")  # in the question's language
    assert any(display_path(str(path)) in r and "run: citebot index" in r for r in answer.rejected), answer.rejected


def test_an_article_edited_after_the_quoted_text_still_verifies(settings, embedder, corpus):
    answerer = _answerer(settings, corpus, embedder)
    path = _cited_train_article(answerer.ask(TRAIN_QUESTION))
    path.write_text(path.read_text(encoding="utf-8") + "\nMise à jour : article complété.\n", encoding="utf-8")
    answer = answerer.ask(TRAIN_QUESTION)
    assert _cited_train_article(answer) == path and answer.stale == ()


@pytest.mark.parametrize("question", [
    "金正恩是乘坐什么交通工具来到俄罗斯的？",
    "На каком транспорте Ким Чен Ын приехал в Россию?",
])
def test_a_question_in_a_language_without_messages_gets_english_not_french(extractive_answerer, question):
    answer = extractive_answerer.ask(question)
    assert answer.language == OTHER
    english = ("I could not find the answer in the indexed articles.", "According to the articles:", "Answer:")
    assert answer.text.startswith(english), answer.text
    assert "articles indexés" not in answer.text and "D'après" not in answer.text


@pytest.mark.parametrize("question, language", [
    ("金正恩是乘坐什么交通工具来到俄罗斯的？", OTHER),
    ("На каком транспорте Ким Чен Ын приехал в Россию?", OTHER),
    ("¿Quién es el asesor diplomático de Vladimir Putin?", OTHER),
    ("Wer ist der diplomatische Berater von Wladimir Putin?", OTHER),
    ("Qui est Ursula von der Leyen ?", "fr"),  # names from other languages do not count
    ("Qui est 金正恩 ?", "fr"),
    ("Who is John Kirby?", "en"),
    ("Kim Jong-un ?", "fr"),  # names alone: the default
])
def test_the_answer_language_follows_the_question(question, language):
    assert detect_language(question) == language


def test_a_folder_given_as_the_model_is_named_as_a_folder(settings, tmp_path):
    with pytest.raises(ModelError, match="is a folder, not a GGUF file"):
        find_model(settings.replace(model=str(tmp_path)), lambda message: None)
    with pytest.raises(ModelError, match="model file not found"):
        find_model(settings.replace(model=str(tmp_path / "missing.gguf")), lambda message: None)


def _question_file(folder: Path, *rows, raw: str = "") -> Path:
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + raw, encoding="utf-8")
    return path


@pytest.mark.parametrize("line, message", [
    ('{"question": "Qui est \\ud800 ?"}', "questions.jsonl:2: the question is not valid UTF-8 text"),
    ('{"question": "Qui ?", "keys": ["Ouch\\udc00akov"]}', "questions.jsonl:2: not valid UTF-8 text"),
    ('{"id": "\\ud800", "question": "Qui ?"}', "questions.jsonl:2: not valid UTF-8 text"),
    ('{"question": "   "}', "questions.jsonl:2: the question is empty"),
    ('{"question": "Qui\\u0000 ?"}', "questions.jsonl:2: the question contains control characters"),
])
def test_an_eval_line_that_is_not_a_valid_question_refuses_the_file_naming_the_line(tmp_path, line, message):
    path = _question_file(tmp_path, {"question": TRAIN_QUESTION}, raw=line + "\n")
    with pytest.raises(InputError) as error:
        load_questions(path)
    assert message in str(error.value)


def test_an_over_long_eval_question_is_refused_before_any_is_asked(tmp_path):
    path = _question_file(tmp_path, {"question": TRAIN_QUESTION}, {"question": "Pourquoi ? " * 300})
    assert len(load_questions(path)) == 2  # no limit given: the run's own check applies
    with pytest.raises(InputError, match="questions.jsonl:2: the question is too long"):
        load_questions(path, 2000)


def test_utf_8_articles_are_cited_as_utf_8(extractive_answerer):
    answer = extractive_answerer.ask(TRAIN_QUESTION).to_json()
    assert answer["citations"]
    for c in answer["citations"]:
        assert c["encoding"] == "utf-8"
        assert (SEEDS / Path(c["source"]).name).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]
