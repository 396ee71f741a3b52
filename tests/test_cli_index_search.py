"""The `citebot index` and `citebot search` contract, driven as a user would.

In process (CliRunner, the session's embedding model injected), except the runs that need a real
process: a second process meeting the index lock, and a kill -9 in the middle of indexing.
"""

import json
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.stores.embedded import home as layout

from conftest import SEEDS, run_cli
from test_cli_errors import assert_one_line_error, invoke

KIRBY = "Qui est John Kirby ?"


def _hits_are_exact_slices(result: dict) -> None:
    assert [h["rank"] for h in result["hits"]] == list(range(1, len(result["hits"]) + 1))
    for hit in result["hits"]:
        assert (Path.cwd() / hit["source"]).read_text(encoding="utf-8")[hit["start"]:hit["end"]] == hit["text"]


def test_index_json_report_then_search_hits_are_exact_slices_of_their_source(tmp_path, monkeypatch, embedder):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SEEDS, tmp_path / "seeds")
    first = invoke("index", "seeds", "--json", "--home", "home", embedder=embedder)
    assert first.exit_code == 0, (first.stderr, first.exception)
    report = json.loads(first.stdout)
    assert set(report) >= {"articles", "chunks", "added", "updated", "removed", "unchanged",
                           "embedded_chunks", "skipped", "seconds"}
    assert report["articles"] == 5 and report["embedded_chunks"] == report["chunks"]

    second = json.loads(invoke("index", "seeds", "--json", "--home", "home", embedder=embedder).stdout)
    assert second["embedded_chunks"] == 0 and second["unchanged"] == 5

    searched = invoke("search", "-", "--k", "5", "--home", "home", embedder=embedder,
                      input=f"{KIRBY}\n\nQuelle base spatiale Vostotchny doit-il remplacer ?\n")
    assert searched.exit_code == 0, (searched.stderr, searched.exception)
    results = [json.loads(line) for line in searched.stdout.splitlines()]
    assert [r["question"] for r in results] == [KIRBY, "Quelle base spatiale Vostotchny doit-il remplacer ?"]
    for result in results:
        assert len(result["hits"]) == 5
        _hits_are_exact_slices(result)
        assert Path(result["hits"][0]["source"]).name == "003_79011271dbdc1a5f.txt"


def test_search_without_an_index_builds_one_from_the_default_corpus_and_says_so(tmp_path, monkeypatch, embedder):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SEEDS, tmp_path / "seeds")
    result = invoke("search", "Qui est Dmitri Peskov ?", "--json", embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "no index in .citebot yet: indexing seeds first" in result.stderr
    hit = json.loads(result.stdout)["hits"][0]
    assert hit["source"] == "seeds/004_9094e598d010c395.txt"
    assert (tmp_path / ".citebot" / "CURRENT").is_file()


def test_bad_input_gives_one_line_and_exit_code_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(invoke("search", "   "), "the question is empty")
    assert_one_line_error(invoke("index", tmp_path / "missing"), "path does not exist")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(invoke("search", "Kim ?", "--home", tmp_path / "file"), "is not a directory")
    assert_one_line_error(invoke("index", "--home", tmp_path / "file" / "sub"), "cannot create home folder")
    assert_one_line_error(invoke("search", "Pourquoi " * 300), "too long")


@pytest.mark.parametrize("bad_line, error", [
    (b"Qui \xff Kirby ?", "the question is not valid UTF-8 text"),
    (b"Qui \xe9tait Kirby ?", "the question is not valid UTF-8 text"),  # Latin-1, not UTF-8
    (("Pourquoi " * 300).encode(), "the question is too long"),
    (b"Qui \x1b[31m Kirby ?", "the question contains control characters"),
])
def test_a_bad_batch_line_gets_an_error_object_and_a_note_and_the_rest_is_answered(seeds_settings, embedder,
                                                                                     bad_line, error):
    stdin = bad_line + b"\n" + KIRBY.encode() + b"\n"
    result = invoke("search", "-", "--quiet", "--home", seeds_settings.index.home, input=stdin, embedder=embedder)
    assert result.exit_code == 2, (result.stderr, result.exception)
    notes = result.stderr.splitlines()
    assert len(notes) == 1 and notes[0].startswith(f"citebot: error: line 1: {error}"), result.stderr
    refused, answered = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(refused) == {"question", "error"} and refused["error"].startswith(error)
    assert refused["question"] == bad_line.decode("utf-8", "replace")
    assert answered["question"] == KIRBY and Path(answered["hits"][0]["source"]).name == "003_79011271dbdc1a5f.txt"


def test_a_byte_order_mark_and_crlf_line_ends_are_not_part_of_the_questions(seeds_settings, embedder):
    stdin = b"\xef\xbb\xbf" + KIRBY.encode() + b"\r\nQui est Dmitri Peskov ?\r\n"
    result = invoke("search", "-", "--quiet", "--home", seeds_settings.index.home, input=stdin, embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    questions = [json.loads(line)["question"] for line in result.stdout.splitlines()]
    assert questions == [KIRBY, "Qui est Dmitri Peskov ?"]


def test_search_k_comes_from_the_flag_through_the_settings(seeds_settings, embedder):
    result = invoke("search", KIRBY, "--k", "2", "--json", "--home", seeds_settings.index.home, embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert len(json.loads(result.stdout)["hits"]) == 2


@pytest.mark.subprocess
def test_a_second_index_run_while_one_holds_the_lock_exits_with_a_message(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with layout.HomeLock(home):
        proc = run_cli("index", str(SEEDS), "--home", str(home), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("citebot: error: another 'citebot index'"), proc.stderr


def _add_synthetic_articles(folder: Path, n: int) -> None:
    """Synthetic variants of the seed articles, enough for indexing to take several seconds."""
    rng = random.Random(7)
    sentences = [s.strip() + "." for p in SEEDS.glob("*.txt") for s in p.read_text(encoding="utf-8").split(". ")
                 if len(s) > 40]
    for i in range(n):
        body = " ".join(rng.sample(sentences, 8))
        (folder / f"synthetique_{i:03d}.txt").write_text(f"Dépêche synthétique numéro {i}\n{body}\n", encoding="utf-8")


def _stderr_reader(proc) -> list[str]:
    """Collect a process's stderr on a thread, so the test can wait for a stage to start."""
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(iter(lambda: proc.stderr.read(64), "")), daemon=True).start()
    return seen


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("stage", ["new generation", "embedding"])
def test_kill_9_while_indexing_leaves_the_previous_index_searchable(tmp_path, embedder, stage):
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    args = ["--home", home]
    shutil.copytree(SEEDS, corpus)
    assert invoke("index", corpus, *args, "--quiet", embedder=embedder).exit_code == 0
    question = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
    before = json.loads(invoke("search", question, "--json", *args, embedder=embedder).stdout)

    _add_synthetic_articles(corpus, 40)
    # Only the run that is killed needs a process of its own.
    proc = subprocess.Popen([sys.executable, "-m", "bot", "index", str(corpus), "--home", str(home)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = _stderr_reader(proc)
    # Kill at a stage, not after a delay: when the writer has opened its new generation, or
    # when it has started embedding the new chunks (the model is loaded inside that stage).
    started = {"new generation": lambda: bool(list(home.glob("tmp-*"))),
               "embedding": lambda: "embedding" in "".join(stderr)}[stage]
    deadline = time.time() + 120
    while not started() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "indexing finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    after = invoke("search", question, "--json", *args, embedder=embedder)
    assert after.exit_code == 0, after.stderr
    assert json.loads(after.stdout) == before
    resumed = json.loads(invoke("index", corpus, *args, "--json", embedder=embedder).stdout)
    assert (resumed["articles"], resumed["added"], resumed["unchanged"], resumed["removed"]) == (45, 40, 5, 0)
    assert not list(home.glob("tmp-*"))
