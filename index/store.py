"""The home folder: immutable index generations, an atomic CURRENT pointer and a writer lock.

Layout of the home folder:
    CURRENT          name of the live generation, replaced atomically (os.replace)
    gen-000007/      one complete index: manifest.json, store.sqlite, vectors.npy,
                     dense.faiss, dense_stats.npz, bm25/
    tmp-*/           a generation being written; removed by the next run if it was killed
    .lock            flock held by the one `citebot index` allowed at a time

A generation is never modified after it is published, so readers need no lock and a
killed writer leaves the previous generation live and intact.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
from pathlib import Path

from index.errors import IndexCorruptError, IndexLockedError, InputError

FORMAT_VERSION = 1
POINTER = "CURRENT"
LOCK = ".lock"

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
        self.handle = None

    def __enter__(self) -> "HomeLock":
        self.handle = open(self.path, "a+")
        flags = fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.handle, flags)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise IndexLockedError(
                f"another 'citebot index' ({holder}) is updating {self.path.parent}; "
                "wait for it to finish and run the command again") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()}")
        self.handle.flush()
        return self

    def __exit__(self, *exc) -> None:
        self.handle.truncate(0)
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def current_generation(home: Path, strict: bool = True) -> Path | None:
    """The live generation folder, or None when none was published (or, not strict, it is damaged)."""
    try:
        name = (home / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read home folder {home}: {exc.strerror}") from None
    path = home / name
    if not name.startswith("gen-") or not path.is_dir():
        if not strict:
            return None
        raise IndexCorruptError(f"the index in {home} is damaged ({POINTER} points to '{name}'); "
                                "run: citebot index --rebuild")
    return path


def new_generation_dir(home: Path) -> Path:
    """A private folder to write the next generation into."""
    path = home / f"tmp-{os.getpid()}-{os.urandom(4).hex()}"
    path.mkdir()
    return path


def publish(home: Path, tmp: Path) -> Path:
    """Make a fully written generation live: rename it, then swap the pointer atomically."""
    # Numbered after every generation on disk, not the pointer, which a --rebuild may not trust.
    numbers = [int(p.name[4:]) for p in home.glob("gen-*") if p.name[4:].isdigit()]
    final = home / f"gen-{max(numbers, default=0) + 1:06d}"
    for item in tmp.rglob("*"):
        if item.is_file():
            fsync_path(item)
    os.rename(tmp, final)
    pointer_tmp = home / f"{POINTER}.tmp"
    pointer_tmp.write_text(final.name, encoding="utf-8")
    fsync_path(pointer_tmp)
    os.replace(pointer_tmp, home / POINTER)
    fsync_path(home)
    return final


def prune(home: Path, strict: bool = True) -> None:
    """Remove temp folders and all generations but the live one and its predecessor."""
    # The predecessor is kept so that a reader that resolved the pointer just before the swap can
    # still open it. Not strict (--rebuild), a damaged pointer keeps nothing.
    current = current_generation(home, strict)
    generations = sorted(p for p in home.glob("gen-*") if p.is_dir())
    keep = {current.name} if current else set()
    older = [g for g in generations if current and g.name < current.name]
    if older:
        keep.add(older[-1].name)
    for path in list(home.glob("tmp-*")) + [g for g in generations if g.name not in keep]:
        shutil.rmtree(path, ignore_errors=True)


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write a generation's manifest (model, dimension, chunking, format)."""
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False),
                                          encoding="utf-8")


def read_manifest(folder: Path) -> dict:
    """A generation's manifest; IndexCorruptError when it is unreadable or of an older format."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"cannot read the index manifest in {folder} ({exc}); "
                                "run: citebot index --rebuild") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {folder.parent} has an older format; "
                                "run: citebot index --rebuild")
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
