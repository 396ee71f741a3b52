"""No secret is ever printed: every setting that takes a URL or a key, from a flag, the environment or a file.

Each case runs the real `citebot` in process (click's CliRunner sees what a user sees) with a
password in the value and asserts the run ends with exit 2, one `citebot: error:` line, and the
password nowhere in stdout or stderr. The secret-bearing settings, listed here on purpose (a new
one must be added to SECRET_SETTINGS):

    model.llm_url        --llm-url, CITEBOT_LLM_URL, [model] llm_url
    index.store          --store, CITEBOT_STORE, [index] store
    index.embed_url      --embed-url, CITEBOT_EMBED_URL, [index] embed_url
    CITEBOT_LLM_API_KEY  environment only (a flag or a file entry is refused without echo)
    CITEBOT_EMBED_API_KEY environment only
    DISCORD_TOKEN        environment only
    discord.discord_corpora  CITEBOT_DISCORD_CORPORA, [discord] discord_corpora (its postgresql:// stores)
    article URLs         `citebot index URL` (feeds and pages behind a password), shown masked
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from bot.bench.server import free_port
from bot.cli.main import cli
from index.secrets import RedactingFilter, redact, redact_url

from test_cli_errors import assert_one_line_error

SECRET = "hunter2-Zq9"  # no substring of it occurs in citebot's own messages
QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
SECRET_SETTINGS = {  # setting → (section, flag, environment variable)
    "llm_url": ("model", "--llm-url", "CITEBOT_LLM_URL"),
    "store": ("index", "--store", "CITEBOT_STORE"),
    "embed_url": ("index", "--embed-url", "CITEBOT_EMBED_URL"),
}
SECRET_VARIABLES = ("CITEBOT_LLM_API_KEY", "CITEBOT_EMBED_API_KEY", "DISCORD_TOKEN")
SOURCES = ("flag", "environment", "file")


def dead_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    return free_port()


def assert_never_shown(result, secret: str = SECRET) -> str:
    """Exit 2, one `citebot: error:` line, and the secret in no output (raw or percent-encoded)."""
    line = assert_one_line_error(result, "")
    for form in {secret, quote(secret, safe="")}:
        assert form not in result.stdout + result.stderr, result.stderr
    return line


def run_with(setting: str, value: str, source: str, tmp_path: Path, *args: str, env=None, obj=None,
             home: Path | None = None):
    """`citebot <args>` with `setting` = `value` given by a flag, the environment or a TOML file."""
    section, flag, variable = SECRET_SETTINGS[setting]
    env = dict(env or {})
    command, *rest = args
    extra: list[str] = ["--quiet"]
    if source == "flag":
        extra += [flag, value]
    elif source == "environment":
        env[variable] = value
    else:
        config = tmp_path / "citebot.toml"
        config.write_text(f"[{section}]\n{setting} = {json.dumps(value)}\n", encoding="utf-8")
        extra += ["--config", str(config)]
    return CliRunner().invoke(cli, [command, *extra, "--home", str(home or tmp_path / "home"), *rest], env=env,
                              obj=obj or {})


# --- URLs refused by the settings: the refusal echoes the value, masked ---

REFUSED = [
    ("llm_url", f"http://admin:{SECRET}@127.0.0.1:9/v1"),          # a user and password
    ("llm_url", f"https://{SECRET}@example.org/v1"),               # a token as the user
    ("llm_url", f"ftp://127.0.0.1:9/v1?api_key={SECRET}"),         # not http: refused, key shown masked
    ("llm_url", f"http://admin:{quote('p@ss/' + SECRET, safe='')}@127.0.0.1:9/v1"),  # percent-encoded
    ("store", f"mysql://admin:{SECRET}@127.0.0.1:9/db"),           # not PostgreSQL: refused
    ("store", f"Postgres://127.0.0.1:9/db?sslpassword={SECRET}"),  # a scheme in capitals: refused
    ("embed_url", f"grpc://admin:{SECRET}@127.0.0.1:9/v1"),       # not http: refused
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("setting, value", REFUSED)
def test_a_refused_url_is_echoed_with_its_secret_masked(setting, value, source, tmp_path):
    result = run_with(setting, value, source, tmp_path, "ask", QUESTION)
    line = assert_never_shown(result, SECRET)
    assert f"invalid setting {SECRET_SETTINGS[setting][0]}.{setting}" in line and "***" in line


# --- URLs accepted, then the connection fails: the error names the place, masked ---

def _stores(port: int) -> list[str]:
    return [f"postgresql://citebot:{SECRET}@127.0.0.1:{port}/db",
            f"postgresql://citebot@127.0.0.1:{port}/db?password={SECRET}",
            f"postgres://127.0.0.1:{port}/db?sslmode=disable&sslpassword={SECRET}",
            f"postgresql://citebot:{SECRET}@[::1/db"]  # urllib cannot split it: still one line, masked


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("which", range(4))
def test_a_database_that_cannot_be_reached_is_named_without_its_password(which, source, tmp_path):
    pytest.importorskip("psycopg")
    url = _stores(dead_port())[which]
    for command in (["search", QUESTION], ["ask", "--extractive", "--json", QUESTION], ["index"]):
        result = run_with("store", url, source, tmp_path, *command)
        line = assert_never_shown(result)
        assert "127.0.0.1" in line or "::1" in line, line  # the place is still named


@pytest.mark.parametrize("source", SOURCES)
def test_a_model_server_url_with_a_key_parameter_is_named_without_it(source, tmp_path, seeds_settings, embedder):
    url = f"http://127.0.0.1:{dead_port()}/v1?api_key={SECRET}"
    result = run_with("llm_url", url, source, tmp_path, "ask", QUESTION, env={"CITEBOT_LLM_RETRIES": "0"},
                      obj={"embedder": embedder}, home=seeds_settings.index.home)
    line = assert_never_shown(result)
    assert "the model server at http://127.0.0.1" in line and "api_key=***" in line


@pytest.mark.parametrize("source", SOURCES)
def test_an_embeddings_server_url_with_a_key_is_named_without_it(source, tmp_path):
    for url in (f"http://127.0.0.1:{dead_port()}/v1?api_key={SECRET}", f"http://u:{SECRET}@127.0.0.1:{dead_port()}/v1"):
        result = run_with("embed_url", url, source, tmp_path, "index", env={"CITEBOT_EMBED_RETRIES": "0"})
        line = assert_never_shown(result)
        assert "the embeddings server http://" in line and "127.0.0.1" in line
    assert not (tmp_path / "home" / "CURRENT").exists()  # nothing published


def test_the_embed_api_key_repeated_by_the_server_is_masked(tmp_path):
    with echoing_server() as root:
        result = CliRunner().invoke(cli, ["index", "--quiet", "--home", str(tmp_path / "home"), "--embed-url",
                                          root + "/v1"], env={"CITEBOT_EMBED_API_KEY": f"sk-{SECRET}"})
    line = assert_never_shown(result)
    assert "HTTP 400" in line and "***" in line


# --- keys read from the environment only ---

class Echoing(http.server.BaseHTTPRequestHandler):
    """A server that repeats the request's Authorization header in its error body, as some proxies do."""

    def _echo(self) -> None:
        body = json.dumps({"error": {"message": f"bad credentials: {self.headers.get('Authorization')}"},
                           "message": f"bad credentials: {self.headers.get('Authorization')}",
                           "code": 0}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _echo

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def echoing_server() -> Iterator[str]:
    """An Echoing server on a free port: its root URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echoing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_llm_api_key_repeated_by_the_server_is_masked(tmp_path, seeds_settings, embedder):
    with echoing_server() as root:
        result = CliRunner().invoke(
            cli, ["ask", "--quiet", "--home", str(seeds_settings.index.home), "--llm-url", root + "/v1", QUESTION],
            env={"CITEBOT_LLM_API_KEY": f"sk-{SECRET}"}, obj={"embedder": embedder})
    line = assert_never_shown(result)
    assert "HTTP 400" in line and "***" in line


def test_the_llm_api_key_is_no_flag_and_no_file_setting_and_is_never_echoed(tmp_path):
    result = CliRunner().invoke(cli, ["ask", "--llm-api-key", SECRET, QUESTION])
    assert_never_shown(result)
    config = tmp_path / "citebot.toml"
    config.write_text(f'[model]\nllm_api_key = "{SECRET}"\n', encoding="utf-8")
    line = assert_never_shown(CliRunner().invoke(cli, ["ask", "--config", str(config), QUESTION]))
    assert "unknown setting model.llm_api_key" in line


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_a_secret_variable_is_masked_in_any_error_line(variable):
    # Another setting is wrong; whatever the message quotes, the secret's value never shows.
    result = CliRunner().invoke(cli, ["search", "--k", SECRET, QUESTION], env={variable: SECRET})
    line = assert_never_shown(result)
    assert "--k" in line


def test_the_discord_token_repeated_by_discord_is_masked(monkeypatch, tmp_path):
    import discord

    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        with echoing_server() as url:
            monkeypatch.setattr(discord.http.Route, "BASE", url + "/api/v10")  # Discord, here
            result = CliRunner().invoke(cli, ["discord", "--quiet", "--home", str(tmp_path)],
                                        env={"DISCORD_TOKEN": f"MTE.{SECRET}.x"})
    finally:
        for handler in root.handlers[len(handlers):]:  # discord.utils.setup_logging's, on a closed stream
            root.removeHandler(handler)
    line = assert_never_shown(result)
    assert "Discord refused the request (400" in line


# --- the rule itself, and the logs ---

@pytest.mark.parametrize("text, shown", [
    (f"http://u:{SECRET}@h:1/v1", "http://u:***@h:1/v1"),
    (f"https://{SECRET}@h/v1", "https://***@h/v1"),
    (f"postgresql://u@h/db?password={SECRET}&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    (f"host=h password={SECRET} dbname=x", "host=h password=*** dbname=x"),
    (f"Authorization: Bearer {SECRET}", "Authorization: Bearer ***"),
    (f"http://h/v1?token={SECRET}", "http://h/v1?token=***"),
    ("postgresql://citebot@h/db", "postgresql://citebot@h/db"),  # a database user is not a secret
    ("max_tokens=600 and k=5", "max_tokens=600 and k=5"),
])
def test_the_one_rule_masks_each_kind_of_secret(text, shown):
    assert redact(text) == shown
    assert redact_url(text) == shown


def test_a_log_line_never_holds_a_secret(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", f"MTE.{SECRET}.x")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger = logging.getLogger("citebot.test-redaction")
    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.error("answering failed: %s", f"cannot connect to http://u:{SECRET}@h/v1")
        logger.error("token %s refused", f"MTE.{SECRET}.x")
        try:
            raise RuntimeError(f"password={SECRET}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert len(records) == 3 and not any(SECRET in record for record in records), records


# --- the Discord corpora: index folders or postgresql:// stores, from the environment or a file ---

@pytest.mark.parametrize("source", ["environment", "file"])
def test_a_discord_corpus_store_password_is_never_shown(tmp_path, source):
    # discord.discord_corpora maps channel ids to stores that may carry a password; one bad entry
    # makes the whole value echoed in the error line, masked.
    corpora = {"1": f"postgresql://bot:{SECRET}@127.0.0.1:9/news", "x": str(tmp_path)}
    env: dict[str, str] = {}
    extra: list[str] = []
    if source == "environment":
        env["CITEBOT_DISCORD_CORPORA"] = ",".join(f"{k}={v}" for k, v in corpora.items())
    else:
        config = tmp_path / "citebot.toml"
        entries = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in corpora.items())
        config.write_text(f"[discord]\ndiscord_corpora = {{{entries}}}\n", encoding="utf-8")
        extra = ["--config", str(config)]
    result = CliRunner().invoke(cli, ["discord", *extra], env=env, obj={})
    line = assert_never_shown(result)
    assert "discord.discord_corpora" in line and "***" in line


def test_a_feed_or_page_url_with_a_password_is_shown_masked_when_skipped(tmp_path):
    # `citebot index URL`: a feed behind basic authentication that cannot be fetched is skipped with
    # its reason; the line names the URL without its password.
    url = f"http://reader:{SECRET}@127.0.0.1:{dead_port()}/feed.xml"
    result = CliRunner().invoke(cli, ["index", url, "--home", str(tmp_path / "home")], obj={})
    output = result.stdout + result.stderr
    assert "skipped http://reader:***@127.0.0.1" in output
    assert SECRET not in output and quote(SECRET, safe="") not in output
