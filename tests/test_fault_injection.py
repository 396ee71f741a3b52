"""Faults injected between citebot and its real servers: a correct answer after a retry, or one clean line.

A TCP proxy (tests/fault_proxy.py) sits between `citebot ask` and (a) a real `python -m
llama_cpp.server` on a tiny random GGUF, (b) the embedded PostgreSQL server holding the index. It
adds latency, stalls after some bytes of the response, cuts or resets the connection mid-response,
or refuses it. Each case ends in the answer the clean path gives (after citebot's retry) or in
exactly one `citebot: error:` line, exit 2; the index is unchanged and no thread or child process
is left behind. With CITEBOT_FAULT_MATRIX=FILE each case appends its measured outcome to FILE
(bot/bench/fault_matrix.py turns them into the table in docs/SCALING.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from fault_proxy import Fault, FaultProxy

from bot.cli.main import cli
from index.builder import build_index
from index.stores.postgres.schema import connect

from conftest import SEEDS
from test_cli_errors import assert_one_line_error

pytestmark = pytest.mark.slow

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
LLM_READ_TIMEOUT = 3  # seconds: the model-server stall waits it out
COMPLETIONS = b"/chat/completions"  # the answer's request: the tokenizer and model probes are not struck
STORE_TIMEOUT = 2  # seconds: the database stall waits it out (plus index/stores/postgres/timeout.py GRACE)


@dataclass(frozen=True)
class Case:
    """One row of the matrix: a fault and what it must end in ("answer" or the error line's fragment)."""

    name: str
    fault: Fault
    expect: str  # "answer", or a fragment of the one error line
    where: str = "mid"  # where a stall, cut or reset strikes: "mid" response, or "start" (the first byte)


def _record(server: str, case: Case, outcome: str, seconds: float) -> None:
    """Append the measured outcome to the matrix file, when asked to."""
    target = os.environ.get("CITEBOT_FAULT_MATRIX")
    if target:
        row = {"server": server, "case": case.name, "outcome": outcome, "seconds": round(seconds, 2)}
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")


class Leftovers:
    """Threads and child processes of this process before a case; check() fails on any new one."""

    def __init__(self) -> None:
        self.threads = set(threading.enumerate())
        # Direct children: the servers' own workers (PostgreSQL's backends) come and go; _no_sessions checks those.
        self.children = {p.pid for p in psutil.Process().children()}

    def check(self) -> None:
        """No thread and no child process more than before (a thread still ending gets a moment)."""
        deadline = time.monotonic() + 5
        while (new := set(threading.enumerate()) - self.threads) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not new, f"threads left behind: {[t.name for t in new]}"
        children = {p.pid for p in psutil.Process().children()} - self.children
        assert not children, f"child processes left behind: {children}"


def _home_digest(home: Path) -> str:
    """A digest of every file under the index home (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(home)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _ask(*args, embedder) -> tuple[float, object]:
    """(seconds, result) of `citebot ask --json QUESTION` in process."""
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["ask", "--quiet", "--json", *map(str, args), QUESTION],
                                obj={"embedder": embedder})
    return time.monotonic() - started, result


def _check(result, case: Case, expected: dict, proxy: FaultProxy) -> str:
    """The case's outcome as the matrix shows it; fails unless it is the one expected."""
    if case.expect == "answer":
        assert result.exit_code == 0, (result.stderr, result.exception)
        assert json.loads(result.stdout)["answer"] == expected["answer"]  # the clean path's answer, whole
        return f"answer ({proxy.struck} connection{'s' if proxy.struck != 1 else ''} struck, retried)" \
            if proxy.struck else "answer"
    line = assert_one_line_error(result, case.expect)
    assert result.stdout == ""  # nothing of a broken answer shown
    return "one line: " + line.removeprefix("citebot: error: ")


# --- (a) the model server: llama-cpp-python's server with its defaults ---

LLM_CASES = [
    Case("latency 200 ms", Fault("latency", delay=0.2), "answer"),
    Case("stall mid-stream", Fault("stall"), f"sent nothing for {LLM_READ_TIMEOUT} s (stalled)"),
    Case("cut mid-stream", Fault("cut"), "answer"),
    Case("reset mid-stream", Fault("reset"), "answer"),
    Case("reset at the first byte", Fault("reset"), "answer", where="start"),
    Case("cut on every try", Fault("cut", times=100), "broke off"),
    Case("refused", Fault("refused"), "cannot connect"),
]


@pytest.fixture(scope="module")
def llm_clean(interrupting_server, seeds_settings, embedder):
    """The clean path's answer, and the response bytes of each connection it opened (through a clean proxy)."""
    port = interrupting_server.url.split(":")[2].split("/")[0]
    with FaultProxy(("127.0.0.1", int(port)), Fault(match=COMPLETIONS)) as proxy:
        _, result = _ask("--home", seeds_settings.index.home, "--llm-url",
                         f"http://127.0.0.1:{proxy.port}/v1", embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    streams = [t["response"] for t in proxy.traffic if t["matched"]]
    assert len(streams) == 1  # one answer streamed, no retry on the clean path
    print("LLM traffic", streams)
    return json.loads(result.stdout), streams[0]


@pytest.mark.parametrize("case", LLM_CASES, ids=lambda c: c.name)
def test_a_model_server_fault_ends_in_the_answer_or_one_line(case, interrupting_server, llm_clean,
                                                             seeds_settings, embedder, monkeypatch):
    expected, traffic = llm_clean
    monkeypatch.setenv("CITEBOT_LLM_READ_TIMEOUT", str(LLM_READ_TIMEOUT))
    monkeypatch.setenv("CITEBOT_LLM_RETRY_PAUSE", "0.05")
    home = seeds_settings.index.home
    before, index = Leftovers(), _home_digest(home)
    port = int(interrupting_server.url.split(":")[2].split("/")[0])
    after = 0 if case.where == "start" else traffic // 2  # half way through the answer's stream
    fault = Fault(case.fault.kind, after, case.fault.times, case.fault.delay, match=COMPLETIONS)
    with FaultProxy(("127.0.0.1", port), fault) as proxy:
        seconds, result = _ask("--home", home, "--llm-url", f"http://127.0.0.1:{proxy.port}/v1", embedder=embedder)
    outcome = _check(result, case, expected, proxy)
    _record("model server (llama_cpp.server)", case, outcome, seconds)
    if case.fault.kind == "stall":
        assert seconds < LLM_READ_TIMEOUT + 5, seconds
    assert _home_digest(home) == index
    before.check()


# --- (b) the index on the embedded PostgreSQL server ---

PG_CASES = [
    Case("latency 50 ms", Fault("latency", delay=0.05), "answer"),
    Case("stall while connecting", Fault("stall"), "cannot connect", where="start"),
    Case("stall mid-query", Fault("stall"), "stalled"),
    Case("cut mid-query", Fault("cut"), "answer"),
    Case("reset mid-query", Fault("reset"), "answer"),
    Case("cut on every try", Fault("cut", times=100), "lost the connection"),
    Case("refused", Fault("refused"), "cannot connect"),
]


@pytest.fixture(scope="module")
def pg_index(pg_server, embedder, tmp_path_factory):
    """A database holding the seeds index: (its Unix socket, its database name)."""
    name = f"faults{os.getpid()}"
    with connect(pg_server.url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from bot.settings import Settings

    url = pg_server.url.rsplit("/", 1)[0] + f"/{name}"
    build_index(Settings().replace(home=tmp_path_factory.mktemp("unused"), store=url), [SEEDS], embedder=embedder)
    return str(pg_server.folder / ".s.PGSQL.5432"), name


def _pg_url(port: int, name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


def _pg_state(socket_path: str, name: str) -> tuple:
    """The live generation and every generation table with its row count."""
    with FaultProxy(socket_path, Fault()) as proxy, connect(_pg_url(proxy.port, name)) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename ~ '^citebot_'"
                                             " ORDER BY 1")]
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
        live = conn.execute("SELECT number FROM citebot_live").fetchone()
    return live, list(zip(tables, counts, strict=True))


def _no_sessions(socket_path: str, name: str) -> None:
    """Every session citebot opened on the database has ended (a moment allowed for the server to see it)."""
    deadline = time.monotonic() + 10
    with FaultProxy(socket_path, Fault()) as proxy, connect(_pg_url(proxy.port, name)) as conn:
        while count := conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND pid <> pg_backend_pid()").fetchone()[0]:
            assert time.monotonic() < deadline, f"{count} database sessions left open"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def pg_clean(pg_index, embedder, tmp_path_factory):
    """The clean path's extractive answer, and the response bytes of each connection it opened."""
    socket_path, name = pg_index
    home = tmp_path_factory.mktemp("pg-home")
    with FaultProxy(socket_path, Fault()) as proxy:
        _, result = _ask("--extractive", "--home", home, "--store", _pg_url(proxy.port, name), embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    print("PG traffic", [t["response"] for t in proxy.traffic])
    return json.loads(result.stdout), [t["response"] for t in proxy.traffic]


@pytest.mark.parametrize("case", PG_CASES, ids=lambda c: c.name)
def test_a_database_fault_ends_in_the_answer_or_one_line(case, pg_index, pg_clean, embedder, tmp_path, monkeypatch):
    expected, traffic = pg_clean
    socket_path, name = pg_index
    monkeypatch.setenv("CITEBOT_STORE_TIMEOUT", str(STORE_TIMEOUT))
    state, before = _pg_state(socket_path, name), Leftovers()
    after = 0 if case.where == "start" else traffic[0] // 2  # within the queries of the question
    with FaultProxy(socket_path, Fault(case.fault.kind, after, case.fault.times, case.fault.delay)) as proxy:
        seconds, result = _ask("--extractive", "--home", tmp_path, "--store", _pg_url(proxy.port, name),
                               embedder=embedder)
    outcome = _check(result, case, expected, proxy)
    _record("database (PostgreSQL)", case, outcome, seconds)
    if case.fault.kind == "stall":
        assert seconds < STORE_TIMEOUT + 5 + 5, seconds
    before.check()
    _no_sessions(socket_path, name)
    assert _pg_state(socket_path, name) == state
