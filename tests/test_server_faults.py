"""A model server that stalls or cuts its streams: one clean line in time, or a whole answer after retries.

- Stalls: a small HTTP server of the test's own accepts the request and then sends nothing (no
  headers, headers only, or one chunk): `citebot ask` ends within the read timeout + 5 s with
  one line, and Discord apologises.
- Preempted streams: a scripted server ends the first stream early ([DONE] without a finish
  reason, as llama-cpp-python's server does when another request arrives), then answers whole;
  the caller gets every piece exactly once. And four `citebot ask` processes at once against a
  real `python -m llama_cpp.server` with its default settings (`interrupt_requests` on) all answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import discord.ext.test as dpytest
import pytest
from click.testing import CliRunner
from test_discord import _server_answerer, _until

from bot.answer.pipeline import Answerer
from bot.cli.main import cli
from bot.llm.server import ServerGenerator
from index.errors import ModelError
from index.settings import PROJECT_ROOT

from conftest import load_questions
from discord_harness import mention, say
from test_cli_errors import assert_one_line_error

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
READ_TIMEOUT = 2  # seconds: the stall tests wait it out


def _chunk(content: str, finished: bool) -> bytes:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": "stop" if finished else None}
    body = {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()


class Scripted(http.server.BaseHTTPRequestHandler):
    """Chat completions from a script: each request takes the next reply (or stalls, per `stall`)."""

    replies: list[tuple[list[str], bool]] = []  # (pieces, whether the stream finishes) per request
    stall = ""  # "", or "nothing", "headers", "chunk": what is sent before the server goes silent
    seen: list[str] = []
    release = threading.Event()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.endswith("/chat/completions"):  # tokenizer probes: not this server's
            self.send_response(404)
            self.end_headers()
            return
        type(self).seen.append(self.path)
        if self.stall != "nothing":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
        if self.stall:
            if self.stall == "chunk":
                self.wfile.write(_chunk("[1] Kim Jong-un", False))
            type(self).release.wait(timeout=60)  # silent, connection open, until the test ends
            return
        pieces, finished = type(self).replies.pop(0)
        for n, piece in enumerate(pieces):
            self.wfile.write(_chunk(piece, finished and n == len(pieces) - 1))
        self.wfile.write(b"data: [DONE]\n\n")  # early ([DONE] without a finish reason) when not finished

    do_GET = do_POST

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def scripted_server(stall: str = "", replies=()) -> Iterator[str]:
    """A Scripted server on a free port: its /v1 URL."""
    Scripted.stall, Scripted.replies, Scripted.seen = stall, list(replies), []
    Scripted.release = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        Scripted.release.set()
        server.shutdown()
        server.server_close()


# --- stalls ---

@pytest.mark.parametrize("stall", ["nothing", "headers", "chunk"])
def test_a_stalled_server_ends_the_ask_within_the_read_timeout_with_one_line(stall, seeds_settings, embedder,
                                                                            monkeypatch):
    monkeypatch.setenv("CITEBOT_LLM_READ_TIMEOUT", str(READ_TIMEOUT))
    monkeypatch.setenv("CITEBOT_LLM_MODEL", "m")
    with scripted_server(stall) as url:
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["ask", "--quiet", "--home", str(seeds_settings.index.home),
                                          "--llm-url", url, "--json", QUESTION], obj={"embedder": embedder})
        elapsed = time.monotonic() - started
    line = assert_one_line_error(result, url)
    assert f"sent nothing for {READ_TIMEOUT} s (stalled)" in line
    assert elapsed < READ_TIMEOUT + 5, elapsed
    assert len(Scripted.seen) == 1  # a stall is not retried: the retry would stall too
    assert result.stdout == ""  # nothing of the cut answer shown


async def test_a_stalled_server_gets_an_apology_in_discord(harness, seeds_settings, embedder, caplog):
    recorder, make = harness
    with scripted_server("chunk") as url:
        answerer = Answerer.open(seeds_settings.replace(llm_url=url, llm_model="m", llm_read_timeout=READ_TIMEOUT),
                                 embedder=embedder)
        bot = await make(seeds_settings, answerer)
        await say(mention(bot, QUESTION), member=0)
        # The apology is sent, or replaces the reply already begun (an edit).
        await _until(lambda: any("Désolé" in (s.content or "") for s in recorder.sent + recorder.edits),
                     seconds=READ_TIMEOUT + 30)
    assert not any("Kim Jong-un" in (s.content or "") for s in recorder.sent + recorder.edits)  # nothing unverified
    assert any("stalled" in record.getMessage() for record in caplog.records)
    assert not any(record.exc_info for record in caplog.records)  # one line in the log, no traceback


# --- streams cut short, then retried ---

def _pieces(replies) -> tuple[list[str], int]:
    with scripted_server("", replies) as url:
        generator = ServerGenerator(url, model="m", retry_pause=0.01)
        got: list[str] = []
        try:
            for piece in generator.stream([{"role": "user", "content": "?"}], None, 64):
                got.append(piece)
        finally:
            seen = len(Scripted.seen)
    return got, seen


def test_a_preempted_stream_is_retried_and_no_piece_is_given_twice():
    full = ["[1] Kim", " Jong-un", " est venu", " en train."]
    got, requests = _pieces([(full[:2], False), (full[:1], False), (full, True)])
    assert got == full  # each piece once: the retries' repeated prefixes were skipped
    assert requests == 3


@pytest.mark.parametrize("retry, why", [(["[2] Autre chose."], "another text"),
                                        (["[1] Kim"], "a text that ends before what was shown")])
def test_a_retry_that_does_not_repeat_what_was_shown_is_one_error(retry, why):
    with pytest.raises(ModelError, match="the answer changed when it was asked again"):
        _pieces([(["[1] Kim", " Jong-un"], False), (retry, True)])


def test_a_stream_that_keeps_breaking_off_is_an_error_after_three_times_the_retries():
    # Preempted (ended early): contention, given three times llm_retries; then one error, no more requests.
    with scripted_server("", [(["[1] Kim"], False)] * 10) as url:
        generator = ServerGenerator(url, model="m", retry_pause=0.001, retries=2)
        with pytest.raises(ModelError, match="broke off"):
            list(generator.stream([{"role": "user", "content": "?"}], None, 64))
        assert len(Scripted.seen) == 1 + 2 * 3


# --- several askers against llama-cpp-python's server with its default settings ---

@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("askers", [4, 8])
def test_simultaneous_asks_against_an_interrupting_server_all_answer(askers, interrupting_server, seeds_settings):
    questions = [record["question"] for record in load_questions()[:askers]]
    assert len(questions) == askers
    env = {"CITEBOT_HOME": str(seeds_settings.index.home), "CITEBOT_LLM_URL": interrupting_server.url,
           "CITEBOT_MAX_TOKENS": "120", "HF_HUB_OFFLINE": "1"}
    cuts_before = _cuts(interrupting_server)
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "ask", "--quiet", "--json", q],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
                              env={**os.environ, **env}) for q in questions]
    try:
        outcomes = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    elapsed = time.monotonic() - started
    for proc, (out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out)["mode"] == "llm"
    print(f"{askers} simultaneous asks answered in {elapsed:.1f} s; streams cut by the server: "
          f"{_cuts(interrupting_server) - cuts_before}")


def _cuts(server) -> int:
    """Streams the server has cut off so far (its log says so for each)."""
    return server.log_path.read_text(errors="replace").count("Disconnected from client")



@pytest.mark.slow
async def test_twenty_discord_askers_against_an_interrupting_server_are_each_answered_once(
        harness, interrupting_server, seeds_settings, embedder):
    recorder, make = harness
    answerer = _server_answerer(seeds_settings, interrupting_server.url, embedder)
    asked, answered, real_ask, lock = [], [], answerer.ask, threading.Lock()

    def ask(question, history=None, on_statement=None):
        with lock:
            asked.append(question)
        answer = real_ask(question, history, on_statement=on_statement)
        with lock:
            answered.append(question)
        return answer

    answerer.ask = ask
    # Four workers: questions reach the server at once, so it cuts streams off and citebot retries them.
    bot = await make(seeds_settings, answerer, queue=20, workers=4)
    members = dpytest.get_config().members
    questions = [f"{record['question']} ({i})" for i, record in enumerate(load_questions()[:20])]
    cuts_before, started = _cuts(interrupting_server), time.monotonic()
    await asyncio.gather(*(say(mention(bot, q), member=members[i % 5]) for i, q in enumerate(questions)))
    texts = lambda: [s.content or "" for s in recorder.sent + recorder.edits]  # noqa: E731
    apologies = lambda: [t for t in texts() if "Désolé" in t or "Sorry" in t or "réessayez" in t]  # noqa: E731
    await _until(lambda: len(answered) == 20 or apologies(), seconds=240)
    await dpytest.empty_queue()
    print(f"20 Discord askers answered in {time.monotonic() - started:.1f} s; streams cut by the server: "
          f"{_cuts(interrupting_server) - cuts_before}")
    assert not apologies()
    assert sorted(asked) == sorted(answered) == sorted(questions)  # each asked and answered once, none refused
    assert len(recorder.threads) == 20
    assert all(any(s.channel_id == t for s in recorder.sent) for t in recorder.threads)  # each reply in its thread
