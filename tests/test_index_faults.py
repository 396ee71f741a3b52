"""Faults the indexer must survive: special files, odd encodings, damaged generations, full disks."""

import codecs
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from index.articles.loader import (
    DEFAULT_MAX_ARTICLE_BYTES,
    SkipFile,
    article_text,
    discover,
    load_article,
)
from index.errors import IndexCorruptError, InputError
from index.manifest import FORMAT_VERSION
from index.stores.embedded import dense
from index.stores.embedded import home as layout
from index.stores.embedded.view import IndexReader, verify_folder
from index.stores.lexical import Lexical

# Not imported from conftest: the full-disk test imports this module in a bare subprocess.
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARTICLE = "Sommet à Vladivostok\n\nKim Jong-un est arrivé en train blindé.\nPoutine l'a reçu au cosmodrome.\n"


@contextmanager
def _within(seconds: int):
    """Fail instead of hanging when the body blocks (opening a fifo does)."""
    def expire(*_):
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _reasons(skipped) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in skipped}


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.txt").write_text(ARTICLE, encoding="utf-8")
    return folder


# Special files --------------------------------------------------------------------------------

def test_a_symlink_loop_is_skipped_with_a_reason_instead_of_crashing(tmp_path):
    folder = _corpus(tmp_path)
    os.symlink("a.txt", folder / "b.txt")
    os.symlink("b.txt", folder / "a.txt")
    files, skipped = discover([folder])
    assert [f.name for f in files] == ["good.txt"]
    assert _reasons(skipped) == {"a.txt": "symbolic link loop", "b.txt": "symbolic link loop"}
    with pytest.raises(SkipFile, match="symbolic link loop"):
        load_article(folder / "a.txt")


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_printable_reason(tmp_path):
    folder = _corpus(tmp_path)
    name = os.fsencode(folder) + b"/caf\xe9.txt"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, ARTICLE.encode("utf-8"))
    os.close(fd)
    files, skipped = discover([folder])
    assert [f.name for f in files] == ["good.txt"]
    assert [s.reason for s in skipped] == ["file name is not valid UTF-8"]
    # The report is printed and written as JSON: its path must encode.
    json.dumps([s.path for s in skipped], ensure_ascii=False).encode("utf-8")
    with pytest.raises(SkipFile, match="not valid UTF-8"):
        load_article(Path(os.fsdecode(name)))


def test_a_fifo_is_skipped_as_not_a_regular_file_without_blocking(tmp_path):
    folder = _corpus(tmp_path)
    os.mkfifo(folder / "p.txt")
    with _within(5):
        files, skipped = discover([folder])
        assert [f.name for f in files] == ["good.txt"]
        assert _reasons(skipped) == {"p.txt": "not a regular file"}
        with pytest.raises(SkipFile, match="not a regular file"):
            load_article(folder / "p.txt")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_link_to_a_device_is_skipped_and_never_read(tmp_path, device):
    folder = _corpus(tmp_path)
    os.symlink(device, folder / "z.txt")
    files, skipped = discover([folder])
    assert [f.name for f in files] == ["good.txt"]
    assert _reasons(skipped) == {"z.txt": "not a regular file"}
    if device == "/dev/null":  # the code before this fix would read /dev/zero until memory ran out
        with pytest.raises(SkipFile, match="not a regular file"):
            load_article(folder / "z.txt")


def test_a_file_larger_than_the_limit_is_skipped_with_the_setting_named(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_text(ARTICLE * 40, encoding="utf-8")
    with pytest.raises(SkipFile, match=r"^larger than 0\.001 MB \(max_article_mb\)$"):
        load_article(path, max_bytes=1000)
    assert load_article(path, max_bytes=path.stat().st_size).text == ARTICLE * 40


def test_the_default_size_limit_is_5_mb_and_a_sparse_giant_is_skipped_unread(tmp_path):
    assert DEFAULT_MAX_ARTICLE_BYTES == 5_000_000
    path = tmp_path / "giant.txt"
    with open(path, "wb") as handle:
        handle.truncate(DEFAULT_MAX_ARTICLE_BYTES + 1)
    with pytest.raises(SkipFile, match=r"^larger than 5 MB \(max_article_mb\)$"):
        load_article(path)
    with open(path, "wb") as handle:  # 64 GB of holes: reading it would exhaust memory
        handle.truncate(64 << 30)
    with _within(5), pytest.raises(SkipFile, match="larger than 0.5 MB"):
        load_article(path, max_bytes=500_000)


# Encodings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bom, codec", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_with_a_byte_order_mark_is_decoded_not_called_binary(tmp_path, bom, codec):
    path = tmp_path / "windows.txt"
    path.write_bytes(bom + ARTICLE.replace("\n", "\r\n").encode(codec))
    article = load_article(path)
    assert (article.encoding, article.title, article.text) == ("utf-16", "Sommet à Vladivostok", ARTICLE)
    assert article_text(path, "txt")[0] == article.text  # what the citation check reads back


def test_a_utf8_byte_order_mark_stays_where_open_reads_it_but_not_in_the_title(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + ARTICLE.encode("utf-8"))
    article = load_article(path)
    assert (article.encoding, article.title) == ("utf-8", "Sommet à Vladivostok")
    assert article.text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("seed, size", [(1, 4000), (2, 300), (3, 64)])
def test_random_bytes_without_nul_are_skipped_as_not_text(tmp_path, seed, size):
    path = tmp_path / "noise.txt"
    path.write_bytes(random.Random(seed).randbytes(size * 2).replace(b"\0", b"")[:size])
    with pytest.raises(SkipFile, match=r"^not text \(undecodable\)$"):
        load_article(path)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_french_articles_in_legacy_encodings_still_load(tmp_path, encoding):
    for seed in sorted(SEEDS.glob("*.txt")):
        text = seed.read_text(encoding="utf-8") + "\x1a"  # a DOS end-of-file mark is tolerated
        path = tmp_path / seed.name
        path.write_bytes(text.encode(encoding, errors="replace"))
        article = load_article(path)
        assert article.encoding in ("cp1252", "latin-1")
        assert article.text == path.read_bytes().decode(article.encoding)


def test_a_markup_dense_html_page_in_cp1252_still_loads(tmp_path):
    path = tmp_path / "page.html"
    cell = '<td class="c" style="width:10%;"><a href="/x?a=1&amp;b=2">{}</a></td>'
    rows = "".join(f"<tr>{cell.format(i)}{cell.format('é')}</tr>" for i in range(50))
    page = f"<html><head><title>Été</title></head><body><table>{rows}</table><p>Un été à Séoul.</p></body></html>"
    path.write_bytes(page.encode("cp1252"))
    assert load_article(path).encoding == "cp1252"


# Damaged generations -----------------------------------------------------------------------------

def _publish_generation(home: Path, chunks: int = 3, dim: int = 8) -> Path:
    """Publish a small, complete generation laid out as the builder lays one out (random vectors)."""
    home.mkdir(exist_ok=True)
    texts = [f"Dépêche {i} : Kim Jong-un reçu à Vladivostok." for i in range(chunks)]
    vectors = np.random.default_rng(0).standard_normal((chunks, dim)).astype(np.float32)
    with layout.writing(home) as tmp:
        conn = layout.connect(tmp / "store.sqlite", readonly=False)
        if chunks:
            body = "\n".join(texts)
            conn.execute("INSERT INTO articles VALUES (0, '/corpus/a.txt', 'txt', 'utf-8', 'x', 'Titre', NULL, "
                         "0, ?, ?)", (len(body), body))
            rows = [(i, text, str(i)) for i, text in enumerate(texts)]
            conn.executemany("INSERT INTO chunks VALUES (?, 0, 0, 1, ?, ?)", rows)
        conn.commit()
        conn.close()
        np.save(tmp / "vectors.npy", vectors)
        mean, cov = dense.score_stats(vectors)
        np.savez(tmp / "dense_stats.npz", mean=mean, cov=cov)
        dense.save_faiss(dense.build_faiss(vectors), tmp / "dense.faiss")
        Lexical.build([t.lower().split() for t in texts]).save(tmp / "bm25")
        layout.write_manifest(tmp, {"format": FORMAT_VERSION, "dim": dim, "articles": int(chunks > 0),
                                   "chunks": chunks})
        return layout.publish(home, tmp)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGES = {
    "dense.faiss truncated": ("dense.faiss", _truncate),
    "dense.faiss garbage": ("dense.faiss", lambda p: p.write_bytes(random.Random(0).randbytes(p.stat().st_size))),
    "vectors.npy missing": ("vectors.npy", Path.unlink),
    "vectors.npy truncated": ("vectors.npy", _truncate),
    "bm25 missing": ("bm25", shutil.rmtree),
    "manifest not an object": ("manifest.json", lambda p: p.write_text("[1]", encoding="utf-8")),
    "manifest not utf-8": ("manifest.json", lambda p: p.write_bytes(b"\xff\xfe{}")),
    "store.sqlite garbage": ("store.sqlite", lambda p: p.write_bytes(b"not a database" * 100)),
    "dense_stats.npz truncated": ("dense_stats.npz", _truncate),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_verify_names_the_damaged_part_in_one_line(tmp_path, damage):
    part, harm = DAMAGES[damage]
    folder = _publish_generation(tmp_path / "home")
    harm(folder / part)
    with pytest.raises(IndexCorruptError) as caught:
        IndexReader(folder).verify()
    message = str(caught.value)
    assert part in message and "--rebuild" in message and "\n" not in message
    assert IndexReader.open_for_update(tmp_path / "home")[0] is None


@pytest.mark.parametrize("part, harm, attribute", [
    ("dense.faiss", _truncate, "faiss"),
    ("vectors.npy", _truncate, "vectors"),
    ("dense_stats.npz", _truncate, "dense_stats"),
    ("bm25/params.index.json", Path.unlink, "lexical"),
])
def test_a_search_structure_that_fails_to_load_is_index_corrupt_not_a_traceback(tmp_path, part, harm, attribute):
    folder = _publish_generation(tmp_path / "home")
    harm(folder / part)
    reader = IndexReader.open_current(tmp_path / "home")
    with pytest.raises(IndexCorruptError, match=r"damaged \(.+\); run: citebot index --rebuild$"):
        getattr(reader, attribute)


@pytest.mark.parametrize("chunks", [0, 3])
def test_an_intact_generation_verifies_and_opens_for_update(tmp_path, chunks):
    folder = _publish_generation(tmp_path / "home", chunks=chunks)
    IndexReader(folder).verify()
    reader, problem = IndexReader.open_for_update(tmp_path / "home")
    assert (reader.folder, reader.size, problem) == (folder, chunks, None)


def test_open_for_update_reports_what_is_broken_so_the_builder_can_rebuild(tmp_path):
    folder = _publish_generation(tmp_path / "home")
    _truncate(folder / "dense.faiss")
    assert IndexReader.open_for_update(tmp_path / "home") == (None, "dense.faiss cannot be read")


def test_a_pointer_holding_invalid_bytes_is_reported_and_repaired_by_a_rebuild(tmp_path):
    home = tmp_path / "home"
    _publish_generation(home)
    (home / layout.POINTER).write_bytes(b"\xff\xfe")
    with pytest.raises(IndexCorruptError, match="--rebuild") as caught:
        layout.current_generation(home)
    assert "\n" not in str(caught.value)
    with pytest.raises(IndexCorruptError):
        IndexReader.open_current(home)
    assert layout.current_generation(home, strict=False) is None
    layout.prune(home, strict=False)  # what `citebot index --rebuild` does before writing
    fresh = _publish_generation(home)
    assert layout.current_generation(home) == fresh
    IndexReader.open_current(home).verify()


def test_prune_deletes_only_folders_it_wrote(tmp_path):
    home = tmp_path / "home"
    mine = [_publish_generation(home) for _ in range(3)]
    leftover = layout.new_generation_dir(home)  # a writer killed mid-way
    (leftover / "store.sqlite").write_bytes(b"")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    theirs = {"gen-000009/holiday.jpg": b"\xff\xd8", "gen-photos/a.jpg": b"\xff\xd8", "tmp-notes/todo.txt": b"x",
              "tmp-12-deadbeef/thesis.tex": b"x", f"{mine[0].name}/manifest.json.bak": b"{}"}
    for name, data in theirs.items():
        (home / name).parent.mkdir(exist_ok=True)
        (home / name).write_bytes(data)
    os.symlink(elsewhere, home / "gen-000010")
    layout.prune(home)
    assert all((home / name).exists() for name in theirs)
    assert elsewhere.is_dir() and (home / "gen-000010").is_symlink()
    assert not leftover.exists()
    assert [g.exists() for g in mine] == [True, True, True]  # mine[0] holds a file of the user's
    (home / f"{mine[0].name}/manifest.json.bak").unlink()
    layout.prune(home)
    assert [g.exists() for g in mine] == [False, True, True]


# Failed writes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("code, message", [
    (errno.ENOSPC, "no space left on device while writing the index in {home}; the previous index is intact"),
    (errno.EROFS, "read-only file system: {home}"),
    (errno.EACCES, "permission denied while writing the index in {home}; the previous index is intact"),
])
def test_a_write_failing_on_the_disk_is_an_input_error_that_keeps_the_live_generation(tmp_path, code, message):
    home = tmp_path / "home"
    live = _publish_generation(home)
    with pytest.raises(InputError) as caught, layout.writing(home) as tmp:
        (tmp / "store.sqlite").write_bytes(b"partial")
        raise OSError(code, os.strerror(code))
    assert str(caught.value) == message.format(home=home)
    assert layout.current_generation(home) == live
    assert not list(home.glob("tmp-*"))


def test_a_real_enospc_from_the_kernel_is_an_input_error(tmp_path):
    home = tmp_path / "home"
    live = _publish_generation(home)
    with pytest.raises(InputError, match="^no space left on device"), layout.writing(home) as tmp:
        os.symlink("/dev/full", tmp / "manifest.json")  # every write to /dev/full fails with ENOSPC
        layout.write_manifest(tmp, {"format": FORMAT_VERSION})
    assert layout.current_generation(home) == live
    assert not list(home.glob("tmp-*"))


def test_a_full_disk_when_the_pointer_is_written_publishes_nothing(tmp_path):
    home = tmp_path / "home"
    live = _publish_generation(home)
    os.symlink("/dev/full", home / f"{layout.POINTER}.tmp")
    with pytest.raises(InputError, match="^no space left on device"), layout.writing(home) as tmp:
        shutil.copytree(live, tmp, dirs_exist_ok=True)
        layout.publish(home, tmp)
    assert layout.current_generation(home) == live
    assert sorted(p.name for p in home.glob("*-*")) == [live.name]


def test_a_generation_written_short_without_an_error_is_caught_before_it_is_published(tmp_path):
    home = tmp_path / "home"
    live = _publish_generation(home)
    with pytest.raises(IndexCorruptError, match=r"\(dense\.faiss cannot be read\)"), layout.writing(home) as tmp:
        shutil.copytree(live, tmp, dirs_exist_ok=True)
        _truncate(tmp / "dense.faiss")  # as FAISS leaves it when the disk fills at close
        verify_folder(tmp)
        layout.publish(home, tmp)
    assert layout.current_generation(home) == live
    assert not list(home.glob("tmp-*"))


def test_other_failures_while_writing_propagate_and_remove_the_temp_folder(tmp_path):
    home = tmp_path / "home"
    live = _publish_generation(home)
    with pytest.raises(OSError, match="power cut"), layout.writing(home):
        raise OSError("simulated power cut")
    assert layout.current_generation(home) == live
    assert not list(home.glob("tmp-*"))


def _in_private_mount(disk: Path, mount: str, child: str) -> subprocess.CompletedProcess:
    """Run `child` (Python, argv[1] = disk) after `mount` (sh, $0 = disk) in a private user and mount
    namespace; skip where the kernel or the tools do not allow it."""
    if not shutil.which("unshare"):
        pytest.skip("unshare is not installed")
    disk.mkdir()
    script = f'{mount} || exit 77; exec "$1" -c "$2" "$0"'
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script, str(disk), sys.executable, child],
                          check=False, capture_output=True, text=True, timeout=120, cwd=SEEDS.parent)
    if done.returncode == 77 or "unshare failed" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return done


_FULL_DISK_CHILD = """
import sys
from pathlib import Path
import numpy as np
sys.path.insert(0, "tests")
from test_index_faults import _publish_generation
from index.stores.embedded import home as layout
from index.errors import InputError
home = Path(sys.argv[1]) / "home"
live = _publish_generation(home)
try:
    with layout.writing(home) as tmp:
        np.save(tmp / "vectors.npy", np.zeros((1_000_000, 8), np.float32))  # 32 MB on a 2 MB disk
except InputError as exc:
    assert layout.current_generation(home) == live and not list(home.glob("tmp-*"))
    print("ERROR:", exc)
"""


@pytest.mark.subprocess
def test_a_full_file_system_is_an_input_error_even_when_numpy_drops_the_errno(tmp_path):
    # numpy reports a short write as OSError without errno; this runs on a real 2 MB tmpfs,
    # mounted in a private user and mount namespace, where the kernel allows it.
    disk = tmp_path / "disk"
    done = _in_private_mount(disk, 'mount -t tmpfs -o size=2m citebot "$0"', _FULL_DISK_CHILD)
    home = disk / "home"
    assert done.stdout.strip() == (f"ERROR: no space left on device while writing the index in {home}; "
                                   "the previous index is intact")


_READ_ONLY_CHILD = """
import sys
from pathlib import Path
from index.stores.embedded import home as layout
from index.errors import InputError
try:
    layout.check_home(Path(sys.argv[1]) / "home", create=True)
except InputError as exc:
    print("ERROR:", exc)
"""


@pytest.mark.subprocess
def test_a_read_only_file_system_is_named_as_such_not_permission_denied(tmp_path):
    # A real read-only mount, in a private user and mount namespace, where the kernel allows it.
    disk = tmp_path / "disk"
    mount = 'mount -t tmpfs -o size=1m citebot "$0" && mkdir "$0/home" && mount -o remount,ro "$0"'
    done = _in_private_mount(disk, mount, _READ_ONLY_CHILD)
    assert done.stdout.strip() == f"ERROR: read-only file system: {disk / 'home'}"
