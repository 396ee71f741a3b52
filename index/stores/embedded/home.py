"""The embedded store's home folder: immutable generations, an atomic CURRENT pointer and a writer lock.

Layout of the home folder:
    CURRENT          name of the live generation, replaced atomically (os.replace)
    gen-000007/      one complete index: manifest.json, store.sqlite, vectors.npy,
                     dense.faiss, dense_stats.npz, bm25/
    tmp-<pid>-<hex>/ a generation being written; removed by the next run if it was killed
    .lock            flock held by the one `citebot index` allowed at a time

A generation is never modified after it is published, so readers need no lock and a
killed writer (or one that ran out of disk space) leaves the previous generation live and intact.
The home may be a folder that holds other things: only folders named as above that hold
nothing but generation files are ever deleted. Should CURRENT be lost, the newest complete
generation can be made live again (index/stores/embedded/store.py, EmbeddedStore.recover).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Self

from index.errors import IndexCorruptError, IndexLockedError, InputError, LiveGenerationLost
from index.manifest import check_format

POINTER = "CURRENT"
LOCK = ".lock"
_GENERATION = re.compile(r"gen-\d{6,}")
_TEMP = re.compile(r"tmp-\d+-[0-9a-f]{8}")
# Every name a generation folder holds; a killed SQLite writer may leave its journal.
_PARTS = frozenset({"manifest.json", "store.sqlite", "store.sqlite-journal", "vectors.npy",
                    "dense.faiss", "dense_stats.npz", "bm25"})

SCHEMA = """
CREATE TABLE articles (
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, kind TEXT NOT NULL, encoding TEXT NOT NULL,
    sha256 TEXT NOT NULL, title TEXT NOT NULL, date TEXT, body_start INTEGER NOT NULL,
    body_end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, article_id INTEGER NOT NULL REFERENCES articles(id),
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, text_sha TEXT NOT NULL
);
CREATE INDEX chunks_by_article ON chunks(article_id);
"""


class DamagedGeneration(IndexCorruptError):
    """A generation with a missing or unreadable part; `problem` says which, for the builder's report."""

    def __init__(self, folder: Path, problem: str) -> None:
        super().__init__(f"the index in {folder.parent} is damaged ({problem}); run: citebot index --rebuild")
        self.problem = problem


def check_home(home: Path, create: bool) -> Path:
    """Validate (and optionally create) the home folder; bad folders are input errors."""
    if home.exists() and not home.is_dir():
        raise InputError(f"home folder {home} is not a directory")
    if not home.exists():
        if not create:
            return home
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create home folder {home}: {exc.strerror}") from None
    mode = os.R_OK | os.X_OK | (os.W_OK if create else 0)
    if create and not os.access(home, os.W_OK) and os.statvfs(home).f_flag & os.ST_RDONLY:
        raise InputError(f"read-only file system: {home}")
    if not os.access(home, mode):
        raise InputError(f"cannot {'write' if create else 'read'} home folder {home}: permission denied")
    return home


def fsync_path(path: Path) -> None:
    """Flush a file or directory entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HomeLock:
    """Exclusive writer lock on the home folder (released by the kernel if the process dies)."""

    def __init__(self, home: Path, wait: bool = False) -> None:
        self.path = home / LOCK
        self.wait = wait
        self.handle: IO[str] | None = None

    def __enter__(self) -> Self:
        handle = open(self.path, "a+")
        flags = fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise IndexLockedError(
                f"another 'citebot index' ({holder}) is updating {self.path.parent}; "
                "wait for it to finish and run the command again") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
        except OSError:
            handle.close()  # a full disk: release the lock now, not when the handle is collected
            raise
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def current_generation(home: Path, strict: bool = True) -> Path | None:
    """The live generation folder, or None when none was published (or, not strict, it is damaged).

    Strict, a CURRENT lost (deleted, or a first publish cut short) beside generations raises
    LiveGenerationLost: no caller may take the index for missing and index the default corpus
    over it, or prune every generation.
    """
    try:
        raw = (home / POINTER).read_bytes()
    except FileNotFoundError:
        if strict and generations(home):
            raise LiveGenerationLost(f"the index in {home} has lost its {POINTER} file; "
                                     "run: citebot index to recover it") from None
        return None
    except OSError as exc:
        raise InputError(f"cannot read home folder {home}: {exc.strerror}") from None
    name = raw.decode("utf-8", "backslashreplace").strip()  # damaged bytes still show in the message
    path = home / name
    if not _GENERATION.fullmatch(name) or not path.is_dir():
        if not strict:
            return None
        raise IndexCorruptError(f"the index in {home} is damaged ({POINTER} points to {name[:60]!r}); "
                                "run: citebot index --rebuild")
    return path


def new_generation_dir(home: Path) -> Path:
    """A private folder to write the next generation into."""
    path = home / f"tmp-{os.getpid()}-{os.urandom(4).hex()}"
    path.mkdir()
    return path


@contextmanager
def writing(home: Path) -> Iterator[Path]:
    """A temp folder to write (and publish) a generation in; on failure it is removed, the live one kept."""
    tmp = None
    try:
        tmp = new_generation_dir(home)
        yield tmp
    except BaseException as exc:
        error = write_error(exc, home)  # before removing tmp: a full disk shows as no free space
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if error is None:
            raise
        raise error from None


def write_error(exc: BaseException, home: Path) -> InputError | None:
    """The one-line error for a write that failed on a full, read-only or forbidden disk, else None."""
    if not isinstance(exc, OSError | sqlite3.Error | RuntimeError):
        return None  # domain errors, bugs, KeyboardInterrupt and exits stay what they are
    code = (exc.errno if isinstance(exc, OSError) else None) or _code_in_message(exc) or _disk_state(home)
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left on device" if code == errno.ENOSPC else "disk quota exceeded"
        return InputError(f"{what} while writing the index in {home}; the previous index is intact")
    if code == errno.EROFS:
        return InputError(f"read-only file system: {home}")
    if code in (errno.EACCES, errno.EPERM):
        return InputError(f"permission denied while writing the index in {home}; the previous index is intact")
    return None


def _code_in_message(exc: Exception) -> int | None:
    # The libraries lose the errno: numpy raises OSError("Not enough free space to write ...")
    # when fallocate fails, FAISS a RuntimeError ending in strerror, SQLite "database or disk is full".
    message = str(exc)
    if any(sign in message for sign in (os.strerror(errno.ENOSPC), "Not enough free space", "disk is full")):
        return errno.ENOSPC
    return errno.EROFS if os.strerror(errno.EROFS) in message else None


def _disk_state(home: Path) -> int | None:
    # A short write (numpy: "N requested and M written") says nothing: ask the file system.
    try:
        info = os.statvfs(home)
    except OSError:
        return None
    if info.f_flag & os.ST_RDONLY:
        return errno.EROFS
    return errno.ENOSPC if info.f_bavail == 0 else None


def publish(home: Path, tmp: Path) -> Path:
    """Make a fully written generation live: rename it, then swap the pointer atomically."""
    # Numbered after every generation on disk, not the pointer, which a --rebuild may not trust.
    numbers = [int(p.name[4:]) for p in home.glob("gen-*") if _GENERATION.fullmatch(p.name)]
    final = home / f"gen-{max(numbers, default=0) + 1:06d}"
    for item in tmp.rglob("*"):
        if item.is_file():
            fsync_path(item)
    # The new pointer is written before the rename: should the disk be full, the folder is
    # still the caller's tmp to remove, not an unpublished generation.
    pointer_tmp = _new_pointer(home, final)
    os.rename(tmp, final)
    _swap_pointer(home, pointer_tmp)
    return final


def point_to(home: Path, generation: Path) -> None:
    """Make an already published generation live again (the pointer is swapped atomically)."""
    _swap_pointer(home, _new_pointer(home, generation))


def _new_pointer(home: Path, generation: Path) -> Path:
    pointer_tmp = home / f"{POINTER}.tmp"
    pointer_tmp.write_text(generation.name, encoding="utf-8")
    fsync_path(pointer_tmp)
    return pointer_tmp


def _swap_pointer(home: Path, pointer_tmp: Path) -> None:
    os.replace(pointer_tmp, home / POINTER)
    fsync_path(home)


def has_pointer(home: Path) -> bool:
    """Whether the home folder has a readable CURRENT file (whatever it names)."""
    return (home / POINTER).exists()


def generations(home: Path) -> list[Path]:
    """The generation folders this module wrote, oldest first."""
    return sorted(p for p in home.glob("gen-*") if _ours(p, _GENERATION))


def prune(home: Path, strict: bool = True) -> None:
    """Remove temp folders and all generations but the live one and its predecessor."""
    # The predecessor is kept so that a reader that resolved the pointer just before the swap can
    # still open it. Not strict (--rebuild), a damaged pointer keeps nothing.
    current = current_generation(home, strict)
    folders = generations(home)
    keep = {current.name} if current else set()
    older = [g for g in folders if current and g.name < current.name]
    if older:
        keep.add(older[-1].name)
    temps = [p for p in home.glob("tmp-*") if _ours(p, _TEMP)]
    for path in temps + [g for g in folders if g.name not in keep]:
        shutil.rmtree(path, ignore_errors=True)


def _ours(path: Path, name: re.Pattern[str]) -> bool:
    # A user may point --home at a folder of their own: a folder is deleted only when both its
    # name and its contents are what this module writes (a damaged generation still qualifies).
    if not name.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
        return False
    try:
        return {item.name for item in path.iterdir()} <= _PARTS
    except OSError:
        return False


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write a generation's manifest (index/manifest.py says what it holds) as manifest.json."""
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False),
                                          encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any]:
    """A generation's manifest; IndexCorruptError when it is unreadable or of an older format."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedGeneration(folder, "manifest.json is missing") from None
    except (OSError, ValueError):  # ValueError: invalid JSON or UTF-8
        raise DamagedGeneration(folder, "manifest.json cannot be read") from None
    if not isinstance(manifest, dict):
        raise DamagedGeneration(folder, "manifest.json is not an index manifest")
    check_format(manifest, folder.parent)
    return manifest


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """Open a generation's SQLite store; published generations are immutable."""
    if readonly:
        uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"  # escapes '#', '?', '%' in names
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.executescript(SCHEMA)
    return conn
