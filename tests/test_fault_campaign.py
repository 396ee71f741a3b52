"""The fault campaign as a table: bad input, special files, store faults, bad settings.

Each case prepares a home folder holding an index of three seed articles, runs one `citebot`
command in process, and states the exit code and the one line it must print; then nothing may be
lost: the articles that were indexed are still searchable (after `citebot index` where the case
damaged the store on purpose, which must repair it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bot.settings import Settings
from index.builder import build_index
from index.embedding.base import Embedder
from index.stores.embedded.view import IndexReader

from conftest import SEEDS
from test_cli_errors import invoke

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"


@dataclass
class World:
    """A corpus folder and a home folder holding its index."""

    root: Path
    corpus: Path
    home: Path
    embedder: object

    def live(self) -> Path:
        return self.home / (self.home / "CURRENT").read_text().strip()


@dataclass(frozen=True)
class Case:
    """One fault: how to cause it, the command, and what the user must see."""

    name: str
    args: Callable[[World], list[str]]
    code: int
    line: str                                   # expected in the one stderr line (or the report)
    setup: Callable[[World], None] = lambda w: None
    stdin: bytes | None = None
    repair: bool = False                        # the store was damaged: `citebot index` must repair it
    extra: Callable[[World, object], None] = field(default=lambda w, r: None)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _config(body: bytes) -> Callable[[World], None]:
    return lambda w: _write(w.root / "citebot.toml", body)


def _damage(name: str, how: str) -> Callable[[World], None]:
    def setup(w: World) -> None:
        target = w.live() / name
        if how == "remove":
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        elif how == "truncate":
            _write(target, target.read_bytes()[:40])
        else:
            _write(target, how.encode())
    return setup


def _special(kind: str) -> Callable[[World], None]:
    def setup(w: World) -> None:
        if kind == "loop":
            os.symlink("b.txt", w.corpus / "a.txt")
            os.symlink("a.txt", w.corpus / "b.txt")
        elif kind == "fifo":
            os.mkfifo(w.corpus / "p.txt")
        elif kind == "zero":
            os.symlink("/dev/zero", w.corpus / "z.txt")
        elif kind == "name":
            with open(os.fsencode(w.corpus) + b"/caf\xe9.txt", "wb") as handle:
                handle.write("Un café.\n\nLe café est servi.".encode())
        elif kind == "random":
            rng = np.random.default_rng(7)
            _write(w.corpus / "r.txt", bytes(b for b in rng.integers(1, 256, 4000, dtype=np.uint8) if b))
        elif kind == "huge":
            with open(w.corpus / "huge.txt", "wb") as handle:
                handle.truncate(60_000_000)  # sparse: 60 MB that would otherwise be read
    return setup


def _kept_generations(w: World) -> None:
    assert list(w.home.glob("gen-*")), "the generations were pruned"


def _kept(w: World, *names: str) -> None:
    for name in names:
        assert (w.home / name).is_dir(), f"{name} was deleted"


def _english(result) -> None:
    # A language citebot has no messages for gets the English ones, not the French.
    leads = ("I could not find the answer", "According to the articles:", "Answer:")
    assert result.stdout.startswith(leads), result.stdout


def _edit_all(w: World) -> None:
    # The copied index points at the pristine files: index this world's own copies first.
    build_index(Settings().replace(home=w.home), [w.corpus], embedder=w.embedder)  # type: ignore[arg-type]
    for path in w.corpus.glob("*.txt"):
        # The quoted sentences are gone from the files: nothing indexed can be verified any more.
        path.write_text("Article retiré.\n\nCe texte a été remplacé par la rédaction.\n", encoding="utf-8")


def _index(w: World) -> list[str]:
    return ["index", str(w.corpus), "--home", str(w.home)]


def _search(w: World) -> list[str]:
    return ["search", QUESTION, "--home", str(w.home)]


def _skipped(reason: str) -> Callable[[World, object], None]:
    def check(w: World, result) -> None:
        assert reason in result.stdout + result.stderr, result.stdout + result.stderr
    return check


CASES = [
    # Bad input.
    Case("undecodable batch line (search)", lambda w: ["search", "-", "--home", str(w.home)], 2,
         "line 1: the question is not valid UTF-8 text", stdin=b"Qui \xff Kirby ?\n"),
    Case("undecodable batch line (ask)", lambda w: ["ask", "-", "--extractive", "--home", str(w.home)], 2,
         "line 1: the question is not valid UTF-8 text", stdin=b"Qui \xff Kirby ?\n"),
    Case("lone surrogate in an eval file", lambda w: ["eval", str(w.root / "q.jsonl"), "--extractive",
                                                      "--home", str(w.home)], 2, "q.jsonl:1:",
         setup=lambda w: _write(w.root / "q.jsonl", b'{"question": "Qui \\ud800 ?", "answerable": false}\n')),
    Case("click usage error", lambda w: ["ask", "--k", "abc", QUESTION], 2, "'abc' is not a valid integer"),
    Case("k beyond the limit", lambda w: ["ask", "--k", "100000", QUESTION, "--home", str(w.home)], 2,
         "retrieval.k = 100000 in the flag --k"),
    Case("empty home", lambda w: ["search", QUESTION, "--home", ""], 2, "index.home = ''"),
    Case("a folder as the model", lambda w: ["ask", QUESTION, "--model", str(w.corpus), "--home", str(w.home)], 2,
         "is a folder, not a GGUF file"),
    # Special files: skipped with a reason, never a hang or a traceback.
    Case("symlink loop", _index, 0, "symbolic link loop", setup=_special("loop")),
    Case("file name not UTF-8", _index, 0, "file name is not valid UTF-8", setup=_special("name")),
    Case("FIFO", _index, 0, "not a regular file", setup=_special("fifo")),
    Case("symlink to /dev/zero", _index, 0, "not a regular file", setup=_special("zero")),
    Case("random bytes", _index, 0, "not text", setup=_special("random")),
    Case("60 MB article", _index, 0, "larger than 5 MB", setup=_special("huge")),
    # Store faults: one line when searching, repaired by a plain `citebot index`.
    Case("corrupt dense.faiss", _search, 2, "dense.faiss", setup=_damage("dense.faiss", "garbage"), repair=True),
    Case("truncated dense.faiss", _search, 2, "dense.faiss", setup=_damage("dense.faiss", "truncate"), repair=True),
    Case("missing vectors.npy", _search, 2, "vectors.npy", setup=_damage("vectors.npy", "remove"), repair=True),
    Case("missing bm25", _search, 2, "bm25", setup=_damage("bm25", "remove"), repair=True),
    Case("manifest [1]", _search, 2, "manifest", setup=_damage("manifest.json", "[1]"), repair=True),
    Case("CURRENT with invalid bytes", _search, 2, "citebot index --rebuild",
         setup=lambda w: _write(w.home / "CURRENT", b"\xff\xfe"), repair=True),
    # Data loss.
    Case("CURRENT deleted", _search, 2, "citebot index", setup=lambda w: (w.home / "CURRENT").unlink(), repair=True,
         extra=lambda w, r: _kept_generations(w)),
    Case("user folders named like ours in the home", _index, 0, "3 added",
         setup=lambda w: [(w.home / name).mkdir() for name in ("tmp-notes", "gen-photos")],
         extra=lambda w, r: _kept(w, "tmp-notes", "gen-photos")),
    Case("an empty folder to index", lambda w: ["index", str(w.root / "empty"), "--home", str(w.home)], 2,
         "no articles", setup=lambda w: (w.root / "empty").mkdir()),
    # What the answer says.
    Case("a Chinese question", lambda w: ["ask", "普京和金正恩在哪里见面？", "--extractive", "--home", str(w.home)], 0,
         "", extra=lambda w, r: _english(r)),
    Case("an article edited after indexing", lambda w: ["ask", QUESTION, "--extractive", "--home", str(w.home)], 0,
         "citebot index", setup=_edit_all),
    # Bad settings.
    Case("chunk_chars = 0", _index, 2, "index.chunk_chars = 0", setup=_config(b"[index]\nchunk_chars = 0\n")),
    Case("candidates = 0", _search, 2, "retrieval.candidates = 0", setup=_config(b"[retrieval]\ncandidates = 0\n")),
    Case("embed_batch = 0", _index, 2, "index.embed_batch = 0", setup=_config(b"[index]\nembed_batch = 0\n")),
    Case("settings file not UTF-8", _search, 2, "is not UTF-8 text", setup=_config(b"[retrieval]\n# \xe9\nk = 3\n")),
    Case("threshold above 1", _search, 2, "answer.abstain_threshold = 2",
         setup=_config(b"[answer]\nabstain_threshold = 2\n")),
    Case("negative weight", _search, 2, "retrieval.dense_weight = -1",
         setup=_config(b"[retrieval]\ndense_weight = -1\n")),
    Case("unknown enum value", _search, 2, "answer.quote_mode = 'sentence'",
         setup=_config(b"[answer]\nquote_mode = \"sentence\"\n")),
    Case("k = true", _search, 2, "retrieval.k = True", setup=_config(b"[retrieval]\nk = true\n")),
    Case("unknown key", _search, 2, "unknown setting retrieval.kk", setup=_config(b"[retrieval]\nkk = 3\n")),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, embedder) -> Path:
    """Three seed articles and their index, built once and copied for every case."""
    root = tmp_path_factory.mktemp("pristine")
    corpus = root / "corpus"
    corpus.mkdir()
    for path in sorted(SEEDS.glob("*.txt"))[:3]:
        shutil.copy(path, corpus / path.name)
    build_index(Settings().replace(home=root / "home"), [corpus], embedder=embedder)
    return root


@pytest.fixture
def world(pristine, tmp_path, monkeypatch, embedder) -> World:
    root = tmp_path / "w"
    shutil.copytree(pristine, root, symlinks=True)
    monkeypatch.chdir(root)  # citebot.toml in the working directory is read
    monkeypatch.delenv("CITEBOT_CONFIG", raising=False)
    return World(root, root / "corpus", root / "home", embedder)


def _run(args: list[str], embedder, stdin: bytes | None = None):
    return invoke(*args, input=stdin, embedder=embedder)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_fault_gives_its_one_line_and_exit_code_and_loses_nothing(case, world, embedder):
    articles = IndexReader.open_current(world.home).article_count()
    case.setup(world)
    result = _run(case.args(world), embedder, case.stdin)
    details = f"exit {result.exit_code}\nstdout {result.stdout!r}\nstderr {result.stderr!r}\n{result.exception!r}"
    assert result.exit_code == case.code, details
    assert "Traceback" not in result.stderr, details
    errors = [line for line in result.stderr.splitlines() if line.startswith("citebot: error:")]
    if case.code == 2:
        assert errors and all(not line.startswith("  ") for line in result.stderr.splitlines()), details
        assert any(case.line in line for line in errors), details
    else:
        _skipped(case.line)(world, result)
    case.extra(world, result)
    (world.root / "citebot.toml").unlink(missing_ok=True)
    if case.repair:
        # What the message advised: --rebuild for a damaged pointer, plain `citebot index` otherwise.
        rebuild = ["--rebuild"] if "--rebuild" in result.stderr else []
        repaired = _run(["index", str(world.corpus), "--home", str(world.home), *rebuild], embedder)
        assert repaired.exit_code == 0, repaired.stderr
    # Nothing lost: every article indexed before is still there and searchable.
    assert IndexReader.open_current(world.home).article_count() >= articles
    found = _run(_search(world), embedder)
    assert found.exit_code == 0 and "Russie" in found.stdout, found.stderr


class _Interrupted(Embedder):
    """An embedding run that dies half-way, as a kill or a full disk would end it."""

    name = Settings().index.embed_model
    dim = 384

    def encode(self, texts, progress=None, bulk=False):
        raise KeyboardInterrupt


def test_an_interrupted_rebuild_of_a_damaged_pointer_keeps_every_generation(world):
    (world.home / "CURRENT").write_bytes(b"\xff\xfe")
    before = sorted(p.name for p in world.home.glob("gen-*"))
    with pytest.raises(KeyboardInterrupt):
        build_index(Settings().replace(home=world.home), [world.corpus], rebuild=True, embedder=_Interrupted())
    assert sorted(p.name for p in world.home.glob("gen-*")) == before and before
