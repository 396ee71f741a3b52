"""`citebot index --watch`: files added, changed and deleted reach the index while answers go on."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from bot.answer.pipeline import Answerer
from index.search.hybrid import Searcher
from index.watch import ArticleFilter, WatchRun, watch_index

NEW_ARTICLE = """Le pont de la Recouvrance rouvre après deux ans de travaux

Brest, 3 mars 2025. Le pont levant de la Recouvrance a rouvert lundi à la circulation après deux ans de travaux.
La rénovation a coûté 41 millions d'euros, selon la métropole. Le maire, Yannick Kerbrat, a coupé le ruban
devant plusieurs centaines d'habitants venus à pied depuis le quartier de Recouvrance.
"""
QUESTION = "Combien a coûté la rénovation du pont de la Recouvrance ?"


class Watcher:
    """watch_index on a thread, its runs recorded, stopped at the end of the test."""

    def __init__(self, settings, paths, embedder) -> None:
        self.runs: list[WatchRun] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._main, args=(settings, paths, embedder), daemon=True)
        self.thread.start()
        assert self.ready.wait(120), "the first scan never finished"

    def _main(self, settings, paths, embedder) -> None:
        try:
            watch_index(settings, paths, embedder=embedder, stop=self.stop, on_run=self.runs.append,
                        ready=self.ready.set)
        except BaseException as exc:  # shown by the test, not lost on the thread
            self.failure = exc

    def wait_runs(self, count: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while len(self.runs) < count:
            assert time.monotonic() < deadline, f"{len(self.runs)} runs, expected {count}: {self.runs}"
            time.sleep(0.02)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive() and self.failure is None, self.failure


@pytest.fixture
def watched(corpus, settings, embedder):
    started = []

    def start(**changes):
        watcher = Watcher(settings.replace(watch_debounce=0.3, **changes), [corpus], embedder)
        started.append(watcher)
        return watcher

    yield start, settings.replace(extractive=True)
    for watcher in started:
        watcher.stop.set()
        watcher.thread.join(30)


def _write_atomically(path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".part")  # hidden: the loader and the watcher ignore it
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_a_dropped_file_is_answerable_within_10_s_while_asks_run_without_error(watched, corpus, embedder):
    start, settings = watched
    watcher = start()
    answerer = Answerer(settings, Searcher.open(settings, embedder))
    outcomes: list[tuple[float, bool]] = []   # (time, cites the new article), one per ask
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask_in_a_loop():
        while not stop.is_set():
            try:
                answer = answerer.ask(QUESTION)
                cited = any(c.source.endswith("recouvrance.txt") for c in answer.citations)
                assert not cited or "41 millions" in answer.text  # a cited new article is quoted right
                outcomes.append((time.monotonic(), cited))
            except BaseException as exc:
                errors.append(exc)
                return

    asker = threading.Thread(target=ask_in_a_loop, daemon=True)
    asker.start()
    time.sleep(0.5)
    written = time.monotonic()
    _write_atomically(corpus / "recouvrance.txt", NEW_ARTICLE)
    while not any(cited for _, cited in outcomes) and time.monotonic() - written < 30 and not errors:
        time.sleep(0.05)
    time.sleep(0.5)  # a few more asks after the new generation
    stop.set()
    asker.join(60)
    watcher.close()
    assert not errors, errors
    first = next((t for t, cited in outcomes if cited), None)
    assert first is not None, watcher.runs
    print(f"answerable {first - written:.2f} s after the write, {len(outcomes)} asks meanwhile")
    assert first - written < 10, f"answerable after {first - written:.1f} s"
    before = [cited for t, cited in outcomes if t < written]
    after = [cited for t, cited in outcomes if t >= first]
    assert before and not any(before)
    assert all(after)  # once published, never a step back to an older or half-built state
    runs = [r for r in watcher.runs if r.trigger == "changes"]
    assert runs and runs[0].report.added == 1 and runs[0].error is None


def test_a_changed_and_a_deleted_file_are_reflected(watched, corpus, embedder):
    start, settings = watched
    watcher = start()
    files = sorted(corpus.glob("*.txt"))
    searcher = Searcher.open(settings, embedder)
    assert watcher.runs[0].report.added == 3
    files[0].unlink()
    paragraphs = files[1].read_text(encoding="utf-8").split("\n\n")
    longest = max(range(len(paragraphs)), key=lambda i: len(paragraphs[i]))  # the body, not the page furniture
    paragraphs[longest] += " Le zeppelin mauve a survolé Lorient."
    _write_atomically(files[1], "\n\n".join(paragraphs))
    watcher.wait_runs(2)
    deadline = time.monotonic() + 10
    while sum(r.report.removed + r.report.updated for r in watcher.runs[1:] if r.report) < 2:
        assert time.monotonic() < deadline, watcher.runs
        time.sleep(0.05)
    watcher.close()
    sources = {h.chunk.path for h in searcher.search("zeppelin mauve Lorient", k=50).hits}
    assert str(files[0].resolve()) not in sources
    assert "zeppelin mauve" in searcher.search("zeppelin mauve Lorient", k=1).hits[0].chunk.text


def test_a_burst_of_files_is_indexed_in_one_run(watched, corpus):
    start, _ = watched
    watcher = start()
    for i in range(10):
        (corpus / f"burst-{i}.txt").write_text(f"Dépêche {i}\n\nLe numéro {i} de la série est paru.\n",
                                               encoding="utf-8")
    watcher.wait_runs(2)
    time.sleep(1.5)  # a second run would come within a debounce period or two
    watcher.close()
    changes = [r for r in watcher.runs if r.trigger == "changes"]
    assert len(changes) == 1 and changes[0].report.added == 10 and changes[0].changes >= 10
    assert "10 added" in changes[0].line() and " in " in changes[0].line()


def test_a_stopped_watcher_catches_up_on_start(watched, corpus):
    start, _ = watched
    start().close()
    (corpus / "pendant.txt").write_text("Pendant l'arrêt\n\nUn article arrivé pendant l'arrêt du veilleur.\n",
                                        encoding="utf-8")
    (sorted(corpus.glob("0*.txt"))[0]).unlink()
    again = start()
    again.close()
    first = again.runs[0]
    assert first.trigger == "start" and first.report.added == 1 and first.report.removed == 1


def test_the_index_home_and_hidden_files_inside_the_folder_trigger_nothing(tmp_path):
    home = tmp_path / "corpus" / "index-home"
    check = ArticleFilter([tmp_path / "corpus"], home)
    assert check(None, str(tmp_path / "corpus" / "a.md"))
    assert check(None, str(tmp_path / "corpus" / "sub" / "b.HTML"))
    assert not check(None, str(home / "gen-000001" / "store.sqlite"))
    assert not check(None, str(home / "notes.txt"))
    assert not check(None, str(tmp_path / "corpus" / ".a.txt.part"))
    assert not check(None, str(tmp_path / "corpus" / "image.png"))
    assert check(None, str(tmp_path / "corpus" / "deleted-folder"))  # gone: it may have held articles


@pytest.mark.subprocess
def test_citebot_index_watch_prints_one_line_per_run_and_stops_on_sigterm(corpus, tmp_path):
    from conftest import PROJECT_ROOT

    home = tmp_path / "home"
    env = {**os.environ, "CITEBOT_WATCH_DEBOUNCE": "0.3", "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "index", "--watch", str(corpus), "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        first = proc.stdout.readline()
        assert first.startswith("watch: first scan: 3 added"), first + proc.stderr.read()
        (corpus / "x.txt").write_text("Titre\n\nUn texte nouveau.\n", encoding="utf-8")
        second = proc.stdout.readline()
        assert second.startswith("watch: 1 file change: 1 added") and second.rstrip().endswith(" s")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "watching" in err and err.strip().endswith("stopped watching") and "Traceback" not in err


@pytest.mark.subprocess
def test_watching_a_missing_folder_is_one_line(tmp_path):
    from conftest import run_cli

    proc = run_cli("index", "--watch", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"citebot: error: path does not exist: {tmp_path / 'nowhere'}"
