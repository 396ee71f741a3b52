"""What a failing `citebot` run looks like: one `citebot:` line on stderr and the right exit code.

In process (click's CliRunner sees what a user sees, since the group itself maps errors), except
for the few checks that need the real entry point and real file descriptors (marked subprocess).
"""

import errno
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from bot.cli.main import cli

from conftest import SEEDS, run_cli

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"


def invoke(*args, input=None, **obj):
    """Run citebot in process; `obj` holds the injected dependencies (embedder, answerer)."""
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, obj=obj)


def assert_one_line_error(result, fragment: str, code: int = 2) -> str:
    """The run ended with `code` and exactly one `citebot: error:` line holding `fragment`."""
    details = f"exit {result.exit_code}, stderr {result.stderr!r}, exception {result.exception!r}"
    assert result.exit_code == code, details
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("citebot: error: "), details
    assert fragment in lines[0] and "Traceback" not in result.output, details
    return lines[0]


def _never(settings):
    raise AssertionError("nothing may be opened for this run")


def _raising(exc: BaseException):
    def factory(settings):
        raise exc

    return factory


def test_a_domain_error_is_one_line_and_exit_2_for_an_in_process_caller():
    assert_one_line_error(invoke("search", "   "), "the question is empty")


@pytest.mark.parametrize("args, fragment", [
    (["ask", "--k", "abc", QUESTION], "invalid value for '--k': 'abc' is not a valid integer"),
    (["ask"], "missing argument 'QUESTION'"),
    (["ask", "--bogus", QUESTION], "no such option '--bogus'"),
    (["--bogus"], "no such option '--bogus'"),
    (["nope"], "no such command 'nope'"),
])
def test_usage_errors_are_one_line_and_exit_2(args, fragment):
    line = assert_one_line_error(invoke(*args, answerer=_never), fragment)
    assert "--help" in line  # where to look next, on the same line


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["ask", "--help"], ["search", "-h"], ["--version"]])
def test_help_and_version_still_exit_0(args):
    result = invoke(*args)
    assert result.exit_code == 0 and result.stderr == ""
    assert "Usage:" in result.stdout or "version" in result.stdout


@pytest.mark.parametrize("interruption", [KeyboardInterrupt(), click.Abort()])
def test_ctrl_c_says_interrupted_and_exits_130(interruption):
    try:
        result = invoke("ask", QUESTION, answerer=_raising(interruption))
    except KeyboardInterrupt:
        pytest.fail("the KeyboardInterrupt left the command line uncaught")
    assert result.exit_code == 130, result.exception
    assert result.stderr.strip() == "citebot: interrupted"


def test_a_closed_stdout_ends_the_run_quietly_with_exit_0():
    result = invoke("ask", QUESTION, answerer=_raising(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert result.exit_code == 0, result.exception
    assert result.stderr == ""


@pytest.mark.parametrize("code, message", [
    (errno.EROFS, "read-only file system: {home}"),
    (errno.ENOSPC, "no space left on device: {home}"),
    (errno.EACCES, "permission denied: {home}"),
])
def test_file_system_errors_are_one_line_naming_the_problem(tmp_path, monkeypatch, code, message):
    home = tmp_path / "home"

    def build_index(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(home / "gen-000001"))

    monkeypatch.setattr("index.builder.build_index", build_index)
    line = assert_one_line_error(invoke("index", SEEDS, "--home", home), message.format(home=home))
    assert line.endswith("gen-000001")


def test_an_oserror_without_errno_is_a_bug_and_keeps_its_traceback(tmp_path, monkeypatch):
    def build_index(*args, **kwargs):
        raise OSError("no errno: not the file system speaking")

    monkeypatch.setattr("index.builder.build_index", build_index)
    result = invoke("index", SEEDS, "--home", tmp_path / "home")
    assert result.exit_code == 1 and isinstance(result.exception, OSError)


@pytest.mark.parametrize("args", [["ask", QUESTION], ["chat"], ["eval", "questions.jsonl"], ["discord"]])
def test_model_and_extractive_together_are_refused_by_every_answering_command(args):
    result = invoke(*args, "--model", "model.gguf", "--extractive", answerer=_never, input="")
    assert_one_line_error(result, "--model and --extractive exclude each other")


@pytest.mark.parametrize("args", [["ask", QUESTION, "--k", "100000"], ["ask", "-", "--k", "100000"],
                                  ["search", QUESTION, "--k", "0"], ["chat", "--k", "51"]])
def test_an_out_of_range_k_is_refused_at_start_naming_the_flag(args):
    result = invoke(*args, answerer=_never, input=f"{QUESTION}\n")
    line = assert_one_line_error(result, "invalid setting retrieval.k")
    assert "the flag --k" in line and result.stdout == ""


@pytest.mark.parametrize("command", ["search", "ask"])
def test_an_undecodable_question_argument_is_one_line_and_exit_2(command):
    # What Python makes of `citebot search $'Qui \xff Kirby ?'`: a lone surrogate (surrogateescape).
    result = invoke(command, "Qui \udcff Kirby ?", answerer=_never)
    assert_one_line_error(result, "the question is not valid UTF-8 text")


def test_a_folder_given_as_model_says_it_is_a_folder(tmp_path):
    # Needs the check in bot/llm/base.py (check_gguf): a folder is not "not found".
    result = invoke("ask", QUESTION, "--model", tmp_path, "--home", tmp_path / "home")
    line = assert_one_line_error(result, "is a folder")
    assert str(tmp_path) in line and "not found" not in line


@pytest.mark.subprocess
def test_the_real_entry_point_shows_help_and_version_with_exit_0():
    for args in (["--help"], ["--version"]):
        proc = run_cli(*args)
        assert proc.returncode == 0 and proc.stderr == ""
    # Real argv bytes that are not UTF-8 (`citebot search $'Qui \xff Kirby ?'`).
    proc = run_cli("search", "Qui \udcff Kirby ?", cwd=SEEDS.parent)
    assert (proc.returncode, proc.stderr) == (2, "citebot: error: the question is not valid UTF-8 text\n")


def _run_with_stdout(stdout, *args):
    return subprocess.run([sys.executable, "-m", "bot", *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          cwd=SEEDS.parent, timeout=120)


@pytest.mark.subprocess
def test_a_reader_that_closed_the_pipe_ends_a_real_run_quietly_with_exit_0():
    read_end, write_end = os.pipe()
    os.close(read_end)  # `citebot ... | head -0`: every write gets EPIPE
    try:
        proc = _run_with_stdout(write_end, "--help")
    finally:
        os.close(write_end)
    assert proc.returncode == 0 and proc.stderr == ""


@pytest.mark.subprocess
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_on_stdout_is_one_line_and_exit_2():
    with open("/dev/full", "w") as full:
        proc = _run_with_stdout(full, "--help")
    assert proc.returncode == 2
    assert proc.stderr == "citebot: error: no space left on device\n"
