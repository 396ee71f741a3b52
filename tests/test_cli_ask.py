"""`citebot ask` and `citebot chat` as users run them, in process (CliRunner, the session's models injected)."""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from bot.answer.pipeline import Answerer

from conftest import SEEDS, ScriptedGenerator, sentence_id
from test_cli_errors import assert_one_line_error, invoke

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
UNANSWERABLE = "Quel est le salaire annuel de Vladimir Poutine ?"


def _check_answer(data: dict) -> None:
    assert set(data) >= {"question", "answer", "abstained", "mode", "fallback", "statements", "citations", "hits"}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}
    assert markers == {c["n"] for c in data["citations"]}
    for c in data["citations"]:
        assert (Path.cwd() / c["source"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]


@pytest.mark.slow  # builds an index, then scores every retrieved sentence
def test_ask_on_a_fresh_folder_indexes_then_answers_with_a_verbatim_quote(tmp_path, monkeypatch, embedder):
    monkeypatch.chdir(tmp_path)  # a folder like a fresh clone: seeds/ and nothing indexed yet
    shutil.copytree(SEEDS, tmp_path / "seeds")
    result = invoke("ask", QUESTION, embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "indexing seeds first" in result.stderr
    assert "extractive mode" in result.stderr
    assert "train blindé" in result.stdout
    sources = re.findall(r"^\[\d+\] .* — (seeds/\S+) \[\d+:\d+\] — “(.*)”$", result.stdout, re.M)
    assert any(path.endswith(("001_d7652ec38b69ceef.txt", "003_79011271dbdc1a5f.txt")) and "train blindé" in quote
               for path, quote in sources)


def test_ask_json_and_stdin_batch_follow_the_contract(seeds_settings, embedder):
    result = invoke("ask", "-", "--extractive", "--quiet", "--home", seeds_settings.index.home, embedder=embedder,
                    input=f"{QUESTION}\n{UNANSWERABLE}\n")
    assert result.exit_code == 0, (result.stderr, result.exception)
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    for data in (first, second):
        _check_answer(data)
        assert data["mode"] == "extractive" and len(data["hits"]) == 5
    assert not first["abstained"] and first["citations"]
    assert second["abstained"] and second["citations"] == []
    assert second["answer"] == "Je ne trouve pas la réponse dans les articles indexés."


def test_ask_batch_answers_the_lines_around_an_undecodable_one(extractive_answerer):
    result = invoke("ask", "-", "--quiet", answerer=lambda settings: extractive_answerer,
                    input=b"Qui \xff Kirby ?\n" + QUESTION.encode() + b"\n")
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr == "citebot: error: line 1: the question is not valid UTF-8 text\n"
    refused, answered = [json.loads(line) for line in result.stdout.splitlines()]
    assert refused == {"question": "Qui \ufffd Kirby ?", "error": "the question is not valid UTF-8 text"}
    assert answered["question"] == QUESTION and "train blindé" in answered["answer"]


@pytest.mark.slow  # two questions' worth of sentence scoring
def test_chat_answers_a_follow_up_with_the_conversation(seeds_settings, embedder):
    result = invoke("chat", "--extractive", "--quiet", "--home", seeds_settings.index.home, embedder=embedder,
                    input="Qui est le conseiller diplomatique de Vladimir Poutine ?\n"
                          "Et lui, comment a-t-il présenté le voyage du président russe ?\n")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "Ouchakov" in result.stdout and result.stdout.count("Sources") == 2


def test_chat_notes_an_undecodable_line_and_goes_on(extractive_answerer):
    result = invoke("chat", "--quiet", answerer=lambda settings: extractive_answerer,
                    input=b"Qui \xff Kirby ?\n" + QUESTION.encode() + b"\n")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stderr == "citebot: error: the question is not valid UTF-8 text\n"
    assert "train blindé" in result.stdout and result.stdout.count("Sources") == 1


@pytest.mark.parametrize("args, message", [
    (["ask", ""], "the question is empty"),
    (["ask", "Pourquoi ? " * 250], "too long"),
    (["ask", QUESTION, "--model", "missing.gguf"], "model file not found"),
    (["ask", QUESTION, "--model", SEEDS / "000_cd6188a8f69be30f.txt"], "not a GGUF model file"),
])
def test_bad_questions_and_models_exit_2_with_one_line(tmp_path, args, message):
    assert_one_line_error(invoke(*args, "--home", tmp_path / "home"), message)


@pytest.mark.slow
def test_ask_with_the_tiny_model_runs_the_llm_path(seeds_settings, embedder, tiny_gguf):
    result = invoke("ask", QUESTION, "--model", tiny_gguf, "--json", "--quiet", "--home", seeds_settings.index.home,
                    embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    data = json.loads(result.stdout)
    assert data["mode"] == "llm"
    _check_answer(data)


def test_ask_prints_each_statement_before_the_model_writes_the_next(extractive_answerer):
    """Streaming: the scripted model looks at the terminal before writing its second line."""
    first, second = "Kim Jong-un est parti de Pyongyang à bord d’un train blindé.", \
        "Le leader nord-coréen est arrivé en Russie par train blindé."
    screen: list[str] = []
    model = ScriptedGenerator(
        lambda m: f"[{sentence_id(m, 'à bord d’un train blindé')}] {first}\n"
                  f"[{sentence_id(m, 'arrivé en Russie par train blindé')}] {second}\n",
        between=lambda line: screen.append(sys.stdout.buffer.getvalue().decode()))
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=model)
    result = invoke("ask", QUESTION, "--quiet", answerer=lambda settings: answerer)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert len(screen) == 1 and first in screen[0] and second not in screen[0]
    assert result.output.index(first) < result.output.index(second) < result.output.index("Sources")
