"""Opening and updating the index without losing it: the lock held from check to build, a lost
CURRENT pointer recovered rather than replaced, and an empty input refused."""

import re
import threading
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from index.builder import build_index
from index.errors import IndexCorruptError, InputError, LiveGenerationLost
from index.service import open_searcher
from index.stores.embedded import home as layout
from index.stores.embedded.view import IndexReader

from test_cli_errors import assert_one_line_error, invoke


def _paths(corpus: Path) -> set[str]:
    return {str(p.resolve()) for p in corpus.iterdir()}


def _generations(home: Path) -> list[str]:
    return sorted(p.name for p in home.glob("gen-*"))


# The lock --------------------------------------------------------------------------------------

def test_searchers_opened_together_on_a_new_home_wait_for_one_build(tmp_path, corpus, embedder):
    settings = Settings().replace(home=tmp_path / "home", corpus=[str(corpus)])
    home = Path(settings.index.home)
    home.mkdir()
    opened, failed = [], []

    def first_search() -> None:
        try:
            opened.append(open_searcher(settings, embedder=embedder))
        except Exception as exc:
            failed.append(exc)

    threads = [threading.Thread(target=first_search) for _ in range(4)]
    with layout.HomeLock(home):  # a `citebot index` runs: all four wait, then start together
        for thread in threads:
            thread.start()
        time.sleep(1)
    for thread in threads:
        thread.join(300)
    assert failed == []
    assert len(opened) == 4 and all(s.reader.article_hashes().keys() == _paths(corpus) for s in opened)
    assert _generations(home) == ["gen-000001"]  # built once, by the first to take the lock


def test_an_indexer_started_when_a_first_search_lets_go_of_the_lock_does_not_fail_the_search(
        tmp_path, corpus, embedder, monkeypatch):
    settings = Settings().replace(home=tmp_path / "home", corpus=[str(corpus)])
    home = Path(settings.index.home)
    real_enter, real_exit = layout.HomeLock.__enter__, layout.HomeLock.__exit__
    entered, second = threading.Event(), []

    def enter(self):
        held = real_enter(self)
        if second and threading.current_thread() is second[0]:
            entered.set()
        return held

    def exit_then_start_another_indexer(self, *exc):
        real_exit(self, *exc)
        if not second:  # `citebot index` starts the moment the first search lets go of the lock
            second.append(threading.Thread(target=lambda: second.append(build_index(settings, [corpus],
                                                                                    embedder=embedder))))
            second[0].start()
            entered.wait(30)

    monkeypatch.setattr(layout.HomeLock, "__enter__", enter)
    monkeypatch.setattr(layout.HomeLock, "__exit__", exit_then_start_another_indexer)
    searcher = open_searcher(settings, embedder=embedder)
    second[0].join(120)
    assert searcher.reader.article_hashes().keys() == _paths(corpus)
    assert second[1].unchanged == 3  # it found the index the search had built
    assert _generations(home) == ["gen-000001"]


# A lost CURRENT pointer ----------------------------------------------------------------------

def test_a_search_after_current_was_deleted_asks_for_citebot_index_instead_of_indexing_seeds(settings, corpus,
                                                                                              embedder):
    build_index(settings, [corpus], embedder=embedder)
    home = Path(settings.index.home)
    (home / layout.POINTER).unlink()
    message = f"the index in {home} has lost its CURRENT file; run: citebot index to recover it"
    with pytest.raises(LiveGenerationLost, match=f"^{re.escape(message)}$"):
        open_searcher(settings, embedder=embedder)
    assert _generations(home) == ["gen-000001"] and not (home / layout.POINTER).exists()
    assert_one_line_error(invoke("search", "Kim ?", "--home", home, embedder=embedder), "run: citebot index")


def test_plain_index_after_current_was_deleted_recovers_and_updates_incrementally(settings, corpus, embedder):
    build_index(settings, [corpus], embedder=embedder)
    (corpus / "nouveau.txt").write_text("Le cosmodrome de Vostotchny accueille une fusée Soyouz.\n",
                                        encoding="utf-8")
    build_index(settings, [corpus], embedder=embedder)
    home = Path(settings.index.home)
    (home / layout.POINTER).unlink()
    report = build_index(settings, [corpus], embedder=embedder)
    assert report.warnings == (f"the index in {home} had lost its CURRENT file: recovered gen-000002, "
                               "its newest complete generation",)
    assert (report.unchanged, report.embedded_chunks) == (4, 0)
    assert layout.current_generation(home).name == "gen-000002"
    assert open_searcher(settings, embedder=embedder).reader.article_hashes().keys() == _paths(corpus)


def test_a_damaged_newest_generation_is_passed_over_when_current_is_recovered(settings, corpus, embedder):
    build_index(settings, [corpus], embedder=embedder)
    (corpus / "nouveau.txt").write_text("Une dépêche sur la fusée Angara.\n", encoding="utf-8")
    build_index(settings, [corpus], embedder=embedder)
    home = Path(settings.index.home)
    (home / "gen-000002" / "vectors.npy").unlink()
    (home / layout.POINTER).unlink()
    report = build_index(settings, [corpus], embedder=embedder)
    assert report.warnings[0].endswith("recovered gen-000001, its newest complete generation")
    assert (report.added, report.unchanged) == (1, 3)
    live = IndexReader.open_current(home)
    assert (live.generation, live.article_count()) == ("gen-000002", 4)  # the damaged one was pruned
    assert _generations(home) == ["gen-000001", "gen-000002"]


def test_without_current_and_without_a_complete_generation_nothing_is_replaced(settings, corpus, embedder):
    build_index(settings, [corpus], embedder=embedder)
    home = Path(settings.index.home)
    (home / "gen-000001" / "dense.faiss").write_bytes(b"\0" * 64)
    (home / layout.POINTER).unlink()
    with pytest.raises(LiveGenerationLost):
        open_searcher(settings, embedder=embedder)
    message = (f"the index in {home} has lost its CURRENT file and holds no complete generation; "
               "run: citebot index --rebuild")
    with pytest.raises(IndexCorruptError, match=f"^{re.escape(message)}$"):
        build_index(settings, [corpus], embedder=embedder)
    assert _generations(home) == ["gen-000001"] and not (home / layout.POINTER).exists()
    assert build_index(settings, [corpus], embedder=embedder, rebuild=True).articles == 3


def test_a_first_index_published_without_current_by_a_killed_writer_is_recovered(settings, corpus, embedder,
                                                                                  monkeypatch):
    import os

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between renaming the folder and swapping CURRENT

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, [corpus], embedder=embedder)
    monkeypatch.undo()
    home = Path(settings.index.home)
    assert _generations(home) == ["gen-000001"] and not (home / layout.POINTER).exists()
    report = build_index(settings, [corpus], embedder=embedder)
    assert (report.unchanged, report.embedded_chunks) == (3, 0)


# An input without articles -------------------------------------------------------------------

@pytest.mark.parametrize("rebuild", [False, True])
def test_indexing_a_folder_without_articles_is_refused_and_the_index_kept(settings, corpus, embedder, tmp_path,
                                                                          rebuild):
    build_index(settings, [corpus], embedder=embedder)
    home = Path(settings.index.home)
    live = layout.current_generation(home)
    empty = tmp_path / "vide"
    empty.mkdir()
    (empty / "photo.png").write_bytes(b"\x89PNG\r\n")
    (empty / "blanc.txt").write_text("  \n", encoding="utf-8")
    message = f"no articles found in {empty}; the index is unchanged"
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        build_index(settings, [empty], embedder=embedder, rebuild=rebuild)
    assert layout.current_generation(home) == live and _generations(home) == [live.name]
    assert IndexReader.open_current(home).article_hashes().keys() == _paths(corpus)


def test_citebot_index_of_an_empty_folder_exits_2_with_one_line(settings, corpus, embedder, tmp_path):
    build_index(settings, [corpus], embedder=embedder)
    empty = tmp_path / "vide"
    empty.mkdir()
    result = invoke("index", empty, "--home", settings.index.home, embedder=embedder)
    assert_one_line_error(result, f"no articles found in {empty}; the index is unchanged")
    assert IndexReader.open_current(Path(settings.index.home)).article_count() == 3


def test_an_empty_folder_may_still_start_an_empty_index(settings, embedder, tmp_path):
    empty = tmp_path / "vide"
    empty.mkdir()
    report = build_index(settings, [empty], embedder=embedder)
    assert (report.articles, report.chunks) == (0, 0)
    assert build_index(settings, [empty], embedder=embedder).articles == 0
