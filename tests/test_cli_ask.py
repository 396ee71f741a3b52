"""`citebot ask` and `citebot chat` as users run them (subprocesses, fresh folders)."""

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import SEEDS, run_cli

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder like a fresh clone: seeds/ and nothing indexed yet."""
    folder = tmp_path_factory.mktemp("fresh")
    shutil.copytree(SEEDS, folder / "seeds")
    return folder


def _check_answer(data: dict, root: Path) -> None:
    assert set(data) == {"question", "answer", "abstained", "mode", "fallback", "statements", "citations", "hits"}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}
    assert markers == {c["n"] for c in data["citations"]}
    for c in data["citations"]:
        assert (root / c["source"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]


def test_ask_on_a_fresh_folder_indexes_then_answers_with_a_verbatim_quote(workdir):
    proc = run_cli("ask", QUESTION, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "indexing seeds first" in proc.stderr
    assert "extractive mode" in proc.stderr
    assert "train blindé" in proc.stdout
    sources = re.findall(r"^\[\d+\] .* — (seeds/\S+) — “(.*)”$", proc.stdout, re.M)
    assert any(path.endswith(("001_d7652ec38b69ceef.txt", "003_79011271dbdc1a5f.txt")) and "train blindé" in quote
               for path, quote in sources)


def test_ask_json_and_stdin_batch_follow_the_contract(workdir):
    proc = run_cli("ask", "-", "--extractive", "--quiet", cwd=workdir,
                   input=f"{QUESTION}\nQuel est le salaire annuel de Vladimir Poutine ?\n")
    assert proc.returncode == 0, proc.stderr
    first, second = [json.loads(line) for line in proc.stdout.splitlines()]
    for data in (first, second):
        _check_answer(data, workdir)
        assert data["mode"] == "extractive" and len(data["hits"]) == 5
    assert not first["abstained"] and first["citations"]
    assert second["abstained"] and second["citations"] == []
    assert second["answer"] == "Je ne trouve pas la réponse dans les articles indexés."


def test_chat_answers_a_follow_up_with_the_conversation(workdir):
    proc = run_cli("chat", "--extractive", "--quiet", cwd=workdir,
                   input="Qui est le conseiller diplomatique de Vladimir Poutine ?\n"
                         "Et lui, comment a-t-il présenté le voyage du président russe ?\n")
    assert proc.returncode == 0, proc.stderr
    assert "Ouchakov" in proc.stdout and proc.stdout.count("Sources") == 2


@pytest.mark.parametrize("args, message", [
    (["ask", ""], "the question is empty"),
    (["ask", "Pourquoi ? " * 250], "too long"),
    (["ask", QUESTION, "--model", "missing.gguf"], "model file not found"),
    (["ask", QUESTION, "--model", "seeds/000_cd6188a8f69be30f.txt"], "not a GGUF model file"),
])
def test_bad_questions_and_models_exit_2_with_one_line(workdir, args, message):
    proc = run_cli(*args, cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("citebot: error: ")
    assert message in proc.stderr


def test_ask_with_the_tiny_model_runs_the_llm_path(workdir, tiny_gguf):
    proc = run_cli("ask", QUESTION, "--model", str(tiny_gguf), "--json", "--quiet", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "llm"
    _check_answer(data, workdir)


def test_ask_prints_each_statement_before_the_model_writes_the_next(extractive_answerer):
    """Streaming, in process: the scripted model looks at the terminal before writing its second line."""
    import sys

    from click.testing import CliRunner

    from bot.cli.main import cli
    from bot.answer.pipeline import Answerer
    from conftest import ScriptedGenerator, sentence_id

    first, second = "Kim Jong-un est parti de Pyongyang à bord d’un train blindé.", \
        "Le leader nord-coréen est arrivé en Russie par train blindé."
    screen: list[str] = []
    model = ScriptedGenerator(
        lambda m: f"[{sentence_id(m, 'à bord d’un train blindé')}] {first}\n"
                  f"[{sentence_id(m, 'arrivé en Russie par train blindé')}] {second}\n",
        between=lambda line: screen.append(sys.stdout.buffer.getvalue().decode()))
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=model)
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--quiet"], obj={"answerer": lambda settings: answerer})
    assert result.exit_code == 0, result.output
    assert len(screen) == 1 and first in screen[0] and second not in screen[0]
    assert result.output.index(first) < result.output.index(second) < result.output.index("Sources")
