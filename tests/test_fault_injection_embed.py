"""Faults between citebot and a real embeddings server: a correct result after a retry, or one clean line.

The proxy of tests/fault_proxy.py sits between citebot and a real `python -m llama_cpp.server
--embedding true` (a random-weight BERT GGUF, bot/llm/tiny_bert_gguf.py), on the two paths that
use the server: `citebot index` embedding a new article's chunks into an index built through the
server, and `citebot ask --extractive` embedding the question (and the sentences it scores) on
that index. Each case ends in the clean path's result, or in exactly one `citebot: error:` line,
exit 2, with the index home byte for byte as it was; no thread or child process is left.

The outcome is made not to depend on the machine's load: the read timeout (EMBED_READ_TIMEOUT)
is hundreds of times what a clean request takes, a stall lasts until the proxy stops (always
longer than the timeout), and retries are bounded (EMBED_RETRIES), so a fault struck once is
always retried and a fault struck on every try always ends in the one line.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fault_proxy import Fault, FaultProxy
from test_embed_server import MODEL_NAME, PREFIXES, EmbeddingServer
from test_fault_injection import Case, Leftovers, _home_digest, _record

from bot.cli.main import cli
from bot.settings import Settings
from index.builder import build_index
from index.stores.factory import open_store

from conftest import SEEDS
from test_cli_errors import assert_one_line_error

pytestmark = pytest.mark.slow

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
EMBEDDINGS = b"/embeddings"  # strike the answers to embedding requests (every request here is one)
EMBED_READ_TIMEOUT = 6  # seconds: a clean request takes milliseconds; a stall waits it out once
EMBED_RETRIES = 2  # further tries: pauses of 0.5 and 1 s (index/embedding/server.py)
SERVER = "embeddings server (llama_cpp.server --embedding)"

CASES = [
    Case("latency 50 ms", Fault("latency", delay=0.05), "answer"),
    Case("stall mid-response", Fault("stall"), "answer"),
    Case("cut mid-response", Fault("cut"), "answer"),
    Case("reset mid-response", Fault("reset"), "answer"),
    Case("reset at the first byte", Fault("reset"), "answer", where="start"),
    Case("cut on every try", Fault("cut", times=100), "peer closed connection"),
    Case("refused", Fault("refused"), "Connection refused"),
]


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory):
    """The real embeddings server for this module."""
    from bot.llm.tiny_bert_gguf import write_bert_gguf

    folder = tmp_path_factory.mktemp("embed-faults")
    server = EmbeddingServer(write_bert_gguf(folder / "tiny-bert.gguf"), folder / "server.log")
    yield server
    server.stop()


def _set_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings every run here shares: the server's model and prefixes, bounded timeouts and retries."""
    for name, value in {"EMBED_MODEL": MODEL_NAME, "QUERY_PREFIX": PREFIXES["query_prefix"],
                        "PASSAGE_PREFIX": PREFIXES["passage_prefix"], "EMBED_BATCH": "2",
                        "EMBED_CONCURRENCY": "2", "EMBED_READ_TIMEOUT": str(EMBED_READ_TIMEOUT),
                        "EMBED_CONNECT_TIMEOUT": str(EMBED_READ_TIMEOUT),
                        "EMBED_RETRIES": str(EMBED_RETRIES)}.items():
        monkeypatch.setenv(f"CITEBOT_{name}", value)


@pytest.fixture
def server_env(monkeypatch) -> None:
    _set_env(monkeypatch)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(the articles of the index before, the articles of the update: the same plus one new article)."""
    before, after = tmp_path_factory.mktemp("before"), tmp_path_factory.mktemp("after")
    seeds = sorted(SEEDS.glob("*.txt"))
    for seed in seeds[:-1]:
        shutil.copy(seed, before / seed.name)
    for seed in seeds:
        shutil.copy(seed, after / seed.name)
    return before, after


@pytest.fixture(scope="module")
def server_index(embed_server, corpus, tmp_path_factory) -> Path:
    """An index home built through the server (left as it is: each case works on a copy)."""
    home = tmp_path_factory.mktemp("server-home")
    settings = Settings().replace(home=home, embed_url=embed_server.url, embed_model=MODEL_NAME, embed_batch=2,
                                  **PREFIXES)
    build_index(settings, [corpus[0]])
    return home


def _run(*args) -> tuple[float, object]:
    """(seconds, result) of one citebot command in process, with no embedder handed in."""
    started = time.monotonic()
    result = CliRunner().invoke(cli, [*map(str, args)])
    return time.monotonic() - started, result


def _index(home: Path, url: str, articles: Path) -> tuple[float, object]:
    return _run("index", "--quiet", "--json", "--home", home, "--embed-url", url, articles)


def _ask(home: Path, url: str) -> tuple[float, object]:
    return _run("ask", "--extractive", "--quiet", "--json", "--home", home, "--embed-url", url, QUESTION)


def _live(home: Path) -> tuple[list, list[str], np.ndarray]:
    """The live generation's articles, chunk texts and vectors."""
    view = open_store(Settings().replace(home=home)).open_live()
    assert view is not None
    ids = list(range(view.size))
    return sorted(view.article_hashes().items()), [c.text for c in view.chunks(ids)], view.chunk_vectors(ids)


def _responses(proxy: FaultProxy) -> int:
    """The smallest response of a clean run: a fault `after` half of it strikes inside any response."""
    return min(size for t in proxy.traffic for size in t["responses"])


@pytest.fixture(scope="module")
def clean(embed_server, server_index, corpus, tmp_path_factory):
    """The clean paths through a clean proxy: the answer, the updated index, the smallest response's bytes."""
    with pytest.MonkeyPatch.context() as patch:
        _set_env(patch)
        home = tmp_path_factory.mktemp("clean") / "home"
        shutil.copytree(server_index, home)
        with FaultProxy(("127.0.0.1", embed_server.port), Fault(match=EMBEDDINGS)) as proxy:
            _, asked = _ask(home, f"http://127.0.0.1:{proxy.port}/v1")
            _, indexed = _index(home, f"http://127.0.0.1:{proxy.port}/v1", corpus[1])
    assert asked.exit_code == 0, (asked.stderr, asked.exception)
    assert indexed.exit_code == 0, (indexed.stderr, indexed.exception)
    assert json.loads(indexed.stdout)["embedded_chunks"] >= 3  # more batches than one, two at once
    print("embeddings traffic", [t["responses"] for t in proxy.traffic], "answer", asked.stdout)
    return json.loads(asked.stdout), _live(home), _responses(proxy)


def _fault(case: Case, smallest: int) -> Fault:
    after = 0 if case.where == "start" else smallest // 2
    return Fault(case.fault.kind, after, case.fault.times, case.fault.delay, match=EMBEDDINGS)


def _outcome(result, case: Case, proxy: FaultProxy, what: str) -> str:
    """The case's outcome as the matrix shows it; fails unless it is the kind expected."""
    if case.expect == "answer":
        assert result.exit_code == 0, (result.stderr, result.exception)
        struck = proxy.struck
        return f"{what} ({struck} connection{'s' if struck != 1 else ''} struck, retried)" if struck else what
    line = assert_one_line_error(result, case.expect)
    assert "the embeddings server http://127.0.0.1:" in line
    assert result.stdout == ""
    return "one line: " + line.removeprefix("citebot: error: ")


def _check_time(case: Case, seconds: float) -> None:
    """A stall costs one read timeout, not more; a refusal or cut only the retry pauses."""
    if case.fault.kind == "stall":
        assert EMBED_READ_TIMEOUT <= seconds < EMBED_READ_TIMEOUT + 20, seconds


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_an_embeddings_server_fault_while_indexing_ends_in_the_update_or_one_line_with_the_index_unchanged(
        case, embed_server, server_index, corpus, clean, server_env, tmp_path):
    _, expected, smallest = clean
    home = tmp_path / "home"
    shutil.copytree(server_index, home)
    digest, before = _home_digest(home), Leftovers()
    with FaultProxy(("127.0.0.1", embed_server.port), _fault(case, smallest)) as proxy:
        seconds, result = _index(home, f"http://127.0.0.1:{proxy.port}/v1", corpus[1])
    outcome = _outcome(result, case, proxy, "index updated")
    if case.expect == "answer":
        articles, texts, vectors = _live(home)
        assert (articles, texts) == expected[:2]  # the clean update's articles and chunks, whole
        assert vectors.shape == expected[2].shape and ((vectors * expected[2]).sum(axis=1) >= 0.9999).all()
    else:
        assert _home_digest(home) == digest  # the previous generation still live, nothing left beside it
    _record(f"{SERVER}, `citebot index`", case, outcome, seconds)
    _check_time(case, seconds)
    before.check()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_an_embeddings_server_fault_while_asking_ends_in_the_answer_or_one_line(
        case, embed_server, server_index, clean, server_env):
    expected, _, smallest = clean
    digest, before = _home_digest(server_index), Leftovers()
    with FaultProxy(("127.0.0.1", embed_server.port), _fault(case, smallest)) as proxy:
        seconds, result = _ask(server_index, f"http://127.0.0.1:{proxy.port}/v1")
    outcome = _outcome(result, case, proxy, "answer")
    if case.expect == "answer":
        assert json.loads(result.stdout)["answer"] == expected["answer"]  # the clean path's answer, whole
    _record(f"{SERVER}, `citebot ask`", case, outcome, seconds)
    _check_time(case, seconds)
    assert _home_digest(server_index) == digest
    before.check()
