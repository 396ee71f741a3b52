"""Load articles (.txt, .md, .html) from files and folders, skipping what cannot be read."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from index.errors import InputError
from index.furniture import body_span, guess_date, guess_title
from index.htmltext import extract_html
from index.models import Article, Skipped

KINDS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
# Tried in order when a file is not UTF-8; cp1252 before latin-1 because it maps more bytes to
# printable characters (curly quotes, euro sign) and latin-1 never fails.
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_FRONT_FIELD = re.compile(r"^(title|date)\s*:\s*[\"']?(.*?)[\"']?\s*$", re.M | re.I)


# Part of every content hash: when the way text is read changes (as when CRLF became LF), indexed
# articles count as changed and are read again; chunks whose text is unchanged keep their vectors.
LOADER_VERSION = b"citebot-loader-2\n"


def content_hash(raw: bytes) -> str:
    """The hash the manifest records for an article's bytes (and the loader version)."""
    return hashlib.sha256(LOADER_VERSION + raw).hexdigest()


class SkipFile(Exception):
    """Raised by the loader for one file that cannot be indexed; carries the reason."""


def discover(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into candidate article files (sorted, deduplicated)."""
    found: dict[str, Path] = {}
    skipped: list[Skipped] = []
    for root in paths:
        if not root.exists():
            raise InputError(f"path does not exist: {root}")
        if root.is_file():
            candidates = [root]
        else:
            candidates = []

            def unreadable(exc: OSError) -> None:  # os.walk would otherwise skip it silently
                """Report a folder os.walk cannot enter."""
                skipped.append(Skipped(str(Path(exc.filename).resolve()), f"unreadable folder: {exc.strerror}"))

            for folder, dirs, files in os.walk(root, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                candidates += [Path(folder) / f for f in sorted(files) if not f.startswith(".")]
        for path in candidates:
            if path.suffix.lower() in KINDS:
                found[str(path.resolve())] = path
            elif path.is_file():
                skipped.append(Skipped(str(path.resolve()), f"unsupported file type '{path.suffix or 'none'}'"))
    return [Path(p) for p in sorted(found)], skipped


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8, else a legacy encoding; return (text, encoding)."""
    for encoding in ("utf-8", *_FALLBACK_ENCODINGS):
        try:
            return _universal_newlines(raw.decode(encoding)), encoding
        except UnicodeDecodeError:
            continue
    raise SkipFile("cannot decode text")  # unreachable with latin-1, kept for safety


def _universal_newlines(text: str) -> str:
    # open(..., encoding="utf-8").read() turns \r\n and \r into \n; offsets must index that text.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"unreadable: {exc.strerror or exc}") from None
    if not raw.strip():
        raise SkipFile("empty file")
    if b"\x00" in raw[:8192]:
        raise SkipFile("binary file")
    return raw


def article_text(path: Path, kind: str, raw: bytes | None = None) -> tuple[str, str, dict]:
    """The text citations index into, its encoding, and metadata found while extracting."""
    raw = _read_bytes(path) if raw is None else raw
    text, encoding = decode(raw)
    if kind != "html":
        return text, encoding, {}
    doc = extract_html(text)
    return doc.text, encoding, {"title": doc.title, "date": doc.date}


def _markdown_meta(text: str) -> tuple[int, dict]:
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    start = 0
    if match:
        start = match.end()
        for key, value in _FRONT_FIELD.findall(match.group(1)):
            meta[key.lower()] = value.strip() or None
    if not meta.get("title"):
        heading = re.search(r"^#{1,2}\s+(.+?)\s*#*\s*$", text[start:], re.M)
        if heading:
            meta["title"] = heading.group(1)
    return start, meta


def load_article(path: Path) -> Article:
    """Read one article; raise SkipFile with the reason when it cannot be indexed."""
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise SkipFile(f"unsupported file type '{path.suffix or 'none'}'")
    raw = _read_bytes(path)
    text, encoding, meta = article_text(path, kind, raw)
    start, end = body_span(text)
    if kind == "md":
        front_end, md_meta = _markdown_meta(text)
        meta = md_meta
        start = max(start, front_end)
    if not text[start:end].strip():
        raise SkipFile("no article text")
    title = meta.get("title") or guess_title(text, start, end, fallback=path.stem)
    date = meta.get("date") or guess_date(text, start)
    return Article(
        path=str(path.resolve()), kind=kind, encoding=encoding,
        sha256=content_hash(raw), text=text, title=title.lstrip("\ufeff").strip(),
        date=date, body_start=start, body_end=end,
    )
