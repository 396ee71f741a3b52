"""The `citebot index` and `citebot search` contract, driven as a user would, in subprocesses."""

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

from index import store

from conftest import SEEDS, run_cli


def _assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("citebot: error: ") and fragment in lines[-1], proc.stderr


def test_index_json_report_then_search_hits_are_exact_slices_of_their_source(tmp_path):
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    home = ["--home", str(tmp_path / "home")]
    first = run_cli("index", str(corpus), "--json", *home, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert set(report) >= {"articles", "chunks", "added", "updated", "removed", "unchanged",
                           "embedded_chunks", "skipped", "seconds"}
    assert report["articles"] == 5 and report["embedded_chunks"] == report["chunks"]

    second = json.loads(run_cli("index", str(corpus), "--json", *home, cwd=tmp_path).stdout)
    assert second["embedded_chunks"] == 0 and second["unchanged"] == 5

    proc = run_cli("search", "-", "--k", "5", *home, cwd=tmp_path,
                   input="Qui est John Kirby ?\n\nQuelle base spatiale Vostotchny doit-il remplacer ?\n")
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["question"] for r in results] == ["Qui est John Kirby ?",
                                                 "Quelle base spatiale Vostotchny doit-il remplacer ?"]
    for result in results:
        assert len(result["hits"]) == 5
        assert [h["rank"] for h in result["hits"]] == [1, 2, 3, 4, 5]
        for hit in result["hits"]:
            source = tmp_path / hit["source"]
            assert source.read_text(encoding="utf-8")[hit["start"]:hit["end"]] == hit["text"]
        assert Path(result["hits"][0]["source"]).name == "003_79011271dbdc1a5f.txt"


def test_search_without_an_index_builds_one_from_the_default_corpus_and_says_so(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    proc = run_cli("search", "Qui est Dmitri Peskov ?", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no index in .citebot yet: indexing seeds first" in proc.stderr
    hit = json.loads(proc.stdout)["hits"][0]
    assert hit["source"] == "seeds/004_9094e598d010c395.txt"
    assert (tmp_path / ".citebot" / "CURRENT").is_file()


def test_bad_input_gives_one_line_and_exit_code_2(tmp_path):
    _assert_one_line_error(run_cli("search", "   ", cwd=tmp_path), "the question is empty")
    _assert_one_line_error(run_cli("index", str(tmp_path / "missing"), cwd=tmp_path), "path does not exist")
    (tmp_path / "file").write_text("x")
    _assert_one_line_error(run_cli("search", "Kim ?", "--home", str(tmp_path / "file"), cwd=tmp_path),
                           "is not a directory")
    _assert_one_line_error(run_cli("index", "--home", str(tmp_path / "file" / "sub"), cwd=tmp_path),
                           "cannot create home folder")
    long_question = "Pourquoi " * 300
    _assert_one_line_error(run_cli("search", long_question, cwd=tmp_path), "too long")


def test_a_second_index_run_while_one_holds_the_lock_exits_with_a_message(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with store.HomeLock(home):
        proc = run_cli("index", str(SEEDS), "--home", str(home), cwd=tmp_path)
    _assert_one_line_error(proc, "another 'citebot index'")


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


@pytest.mark.parametrize("stage", ["new generation", "embedding"])
def test_kill_9_while_indexing_leaves_the_previous_index_searchable(tmp_path, stage):
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    args = ["--home", str(home)]
    shutil.copytree(SEEDS, corpus)
    assert run_cli("index", str(corpus), *args, "--quiet", cwd=tmp_path).returncode == 0
    question = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
    before = json.loads(run_cli("search", question, "--json", *args, cwd=tmp_path).stdout)

    _add_synthetic_articles(corpus, 40)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "index", str(corpus), *args],
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

    after = run_cli("search", question, "--json", *args, cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == before
    resumed = json.loads(run_cli("index", str(corpus), *args, "--json", cwd=tmp_path).stdout)
    assert (resumed["articles"], resumed["added"], resumed["unchanged"], resumed["removed"]) == (45, 40, 5, 0)
    assert not list(home.glob("tmp-*"))
