"""Embedding through an OpenAI-compatible embeddings server: a real `python -m llama_cpp.server --embedding true`.

The server runs a random-weight BERT GGUF written for this module (bot/llm/tiny_bert_gguf.py);
the same file run in-process by llama.cpp (index/embedding/llama.py) is the local twin. Faults
come from the real server being killed, and from a real local HTTP relay in front of it that
answers 429 or 500 before passing requests on.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.bench.server import free_port
from bot.cli.main import cli
from bot.llm.tiny_bert_gguf import write_bert_gguf
from bot.settings import Settings
from index.builder import build_index
from index.embedding.factory import embedder_for
from index.embedding.server import API_KEY_VARIABLE, ServerEmbedder
from index.errors import IndexMismatchError, ModelError
from index.search.hybrid import Searcher
from index.stores.factory import open_store

from conftest import SEEDS
from test_cli_errors import assert_one_line_error

STARTUP_SECONDS = 120
MODEL_NAME = "citebot-random-bert"
PREFIXES = {"query_prefix": "query: ", "passage_prefix": "passage: "}


class EmbeddingServer:
    """`python -m llama_cpp.server --embedding true` on a free local port; stop() kills it."""

    def __init__(self, model: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--embedding", "true",
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048", "--n_batch", "2048",
             "--n_ubatch", "2048"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the embeddings server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def bert_gguf(tmp_path_factory) -> Path:
    return write_bert_gguf(tmp_path_factory.mktemp("bert") / "tiny-bert.gguf")


@pytest.fixture(scope="module")
def server(bert_gguf, tmp_path_factory) -> Iterator[EmbeddingServer]:
    started = EmbeddingServer(bert_gguf, tmp_path_factory.mktemp("log") / "server.log")
    yield started
    started.stop()


def server_settings(home: Path, url: str, **more) -> Settings:
    return Settings().replace(home=home, embed_url=url, embed_model=MODEL_NAME, embed_batch=4, **PREFIXES, **more)


def live_vectors(settings: Settings) -> tuple[dict, np.ndarray]:
    view = open_store(settings).open_live()
    assert view is not None
    return view.manifest, view.chunk_vectors(list(range(view.size)))


class Relay(http.server.ThreadingHTTPServer):
    """A real HTTP server in front of the embeddings server: scripted failures first, then it passes requests on."""

    def __init__(self, target: str, failures: list[tuple[int, str]]) -> None:
        super().__init__(("127.0.0.1", 0), RelayHandler)
        self.target, self.failures, self.seen = target, list(failures), []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class RelayHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        relay: Relay = self.server  # type: ignore[assignment]
        relay.seen.append(self.headers.get("Authorization", ""))
        if relay.failures:
            status, text = relay.failures.pop(0)
            self._answer(status, text.encode())
            return
        request = urllib.request.Request(relay.target + "/embeddings", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            self._answer(200, response.read())

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_an_index_built_through_the_server_equals_one_built_locally_with_the_same_weights(server, bert_gguf,
                                                                                          tmp_path):
    remote = server_settings(tmp_path / "remote", server.url, embed_concurrency=2)
    build_index(remote, [SEEDS])
    local = Settings().replace(home=tmp_path / "local", embed_model=str(bert_gguf), embed_batch=4, **PREFIXES)
    build_index(local, [SEEDS])
    (built, through_server), (_, in_process) = live_vectors(remote), live_vectors(local)
    assert through_server.shape == in_process.shape and len(through_server) > 10
    cosines = (through_server * in_process).sum(axis=1)
    assert cosines.min() >= 0.999, cosines.min()
    assert np.allclose(np.linalg.norm(through_server, axis=1), 1, atol=1e-5)
    assert built["embed_engine"] == "server" and built["embed_model"] == MODEL_NAME
    assert (built["query_prefix"], built["passage_prefix"]) == ("query: ", "passage: ")
    assert built["embed_host"] == f"127.0.0.1:{server.port}" and "http" not in built["embed_host"]


def test_batches_in_flight_together_come_back_in_order(server):
    texts = [f"texte numéro {i} " * (1 + i % 7) for i in range(23)]
    one = ServerEmbedder(server.url, MODEL_NAME, _prefixes(), batch_size=3, concurrency=1)
    four = ServerEmbedder(server.url, MODEL_NAME, _prefixes(), batch_size=3, concurrency=4)
    done: list[int] = []
    a, b = one.encode(texts), four.encode(texts, progress=done.append)
    assert a.shape == (23, 64) and sum(done) == 23
    assert ((a * b).sum(axis=1) >= 0.9999).all()
    assert not np.allclose(a[0], a[1])  # different texts, different vectors: the order is tested


def test_a_server_index_is_searched_only_through_a_server_with_the_same_model(server, bert_gguf, tmp_path):
    remote = server_settings(tmp_path / "home", server.url)
    build_index(remote, [sorted(SEEDS.glob("*.txt"))[0]])
    view = open_store(remote).open_live()
    assert Searcher(view, remote).search("Qui est venu en Russie ?")  # the question goes through the server
    for other in (remote.replace(embed_url="", embed_model=str(bert_gguf)), remote.replace(embed_model="other")):
        with pytest.raises(IndexMismatchError):
            Searcher(view, other)


def test_429_and_500_are_retried_then_the_vectors_are_the_servers(server):
    relay = Relay(server.url, [(429, '{"error": "slow down"}'), (500, '{"error": "busy"}')])
    try:
        texts = ["Le chat est noir.", "La Russie et la Corée."]
        through_relay = ServerEmbedder(relay.url, MODEL_NAME, _prefixes(), retries=2, backoff=0.01).encode(texts)
        direct = ServerEmbedder(server.url, MODEL_NAME, _prefixes()).encode(texts)
    finally:
        relay.shutdown()
    assert len(relay.seen) == 3
    assert ((through_relay * direct).sum(axis=1) >= 0.9999).all()


def test_retries_are_bounded_and_the_key_is_sent_but_never_shown(server, monkeypatch):
    key = "sk-embed-Zq9-secret"
    monkeypatch.setenv(API_KEY_VARIABLE, key)
    relay = Relay(server.url, [(503, f'{{"error": "bad token Bearer {key}"}}')] * 3)
    try:
        with pytest.raises(ModelError) as caught:
            ServerEmbedder(relay.url, MODEL_NAME, _prefixes(), retries=2, backoff=0.01).encode(["un texte"])
    finally:
        relay.shutdown()
    assert relay.seen == [f"Bearer {key}"] * 3
    assert "HTTP 503" in str(caught.value) and key not in str(caught.value)


@pytest.mark.slow
def test_a_server_that_dies_mid_run_leaves_the_previous_index_live(bert_gguf, tmp_path):
    dying = EmbeddingServer(bert_gguf, tmp_path / "dying.log")
    try:
        settings = server_settings(tmp_path / "home", dying.url, embed_retries=1)
        build_index(settings, [SEEDS])
        before = live_vectors(settings)
        inner = embedder_for(settings.index)
        batches: list[int] = []

        def kill_after_first_batch(n: int) -> None:
            batches.append(n)
            dying.stop()  # the next batch meets a dead server

        with pytest.raises(ModelError, match="embeddings server"):
            inner.encode(["passage un", "deux", "trois", "quatre", "cinq"], progress=kill_after_first_batch)
        assert batches == [4]
        result = CliRunner().invoke(cli, ["index", "--rebuild", "--quiet", "--home", str(settings.index.home),
                                          "--embed-url", dying.url],
                                    env={"CITEBOT_EMBED_MODEL": MODEL_NAME, "CITEBOT_EMBED_RETRIES": "1",
                                         "CITEBOT_QUERY_PREFIX": "query: ", "CITEBOT_PASSAGE_PREFIX": "passage: "})
        assert_one_line_error(result, f"the embeddings server http://127.0.0.1:{dying.port}/v1/embeddings failed")
        after = live_vectors(settings)
        assert after[0] == before[0] and np.array_equal(after[1], before[1])
    finally:
        dying.stop()


def _prefixes():
    from index.embedding.known_models import Prefixes

    return Prefixes("query: ", "passage: ")
