"""Load articles (.txt, .md, .html) from files and folders, skipping what cannot be read."""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from index.articles.dating import guess_date, normalize_date
from index.articles.furniture import body_span, guess_title
from index.articles.htmltext import extract_html
from index.errors import InputError
from index.records import Article, Skipped

KINDS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
# Larger files are skipped: a news article is well under 1 MB, and a stray dump or log would
# otherwise be read whole into memory and embedded chunk by chunk (setting max_article_mb).
DEFAULT_MAX_ARTICLE_BYTES = 5_000_000
# Tried in order when a file is not UTF-8; cp1252 before latin-1 because it maps more bytes to
# printable characters (curly quotes, euro sign) and latin-1 never fails.
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")
# A UTF-16 or UTF-32 text announces itself with a byte order mark, and is full of NUL bytes that
# would otherwise mark it binary. UTF-32 LE is tried first: its mark starts with UTF-16 LE's.
# A UTF-8 mark needs nothing: it decodes as U+FEFF kept at offset 0, as open(encoding="utf-8")
# keeps it, so offsets still index the text a reader of the file sees.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# C0 and C1 control characters except tab, newline, form feed and carriage return.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_FRONT_FIELD = re.compile(r"^(title|date)\s*:\s*[\"']?(.*?)[\"']?\s*$", re.MULTILINE | re.IGNORECASE)


# Part of every content hash: when the way text is read changes (as when CRLF became LF), indexed
# articles count as changed and are read again; chunks whose text is unchanged keep their vectors.
# 3: dates normalised to YYYY-MM-DD, and read from date lines deeper in the text.
LOADER_VERSION = b"citebot-loader-3\n"


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
        for path in _candidates(root, skipped):
            try:
                if path.suffix.lower() in KINDS:
                    _check_regular(path)
                    found[article_key(path)] = path
                elif _is_regular(path):  # fifos, sockets and devices of other types are none of ours
                    skipped.append(Skipped(shown_path(path), f"unsupported file type '{path.suffix or 'none'}'"))
            except SkipFile as exc:
                skipped.append(Skipped(shown_path(path), str(exc)))
    return [Path(p) for p in sorted(found)], skipped


def _candidates(root: Path, skipped: list[Skipped]) -> list[Path]:
    """The files a path names: itself, or what lies under it (hidden names left out)."""
    if not root.is_dir():
        return [root]
    candidates = []

    def unreadable(exc: OSError) -> None:  # os.walk would otherwise skip it silently
        """Report a folder os.walk cannot enter."""
        skipped.append(Skipped(shown_path(Path(exc.filename)), f"unreadable folder: {exc.strerror}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        candidates += [Path(folder) / f for f in sorted(files) if not f.startswith(".")]
    return candidates


def shown_path(path: Path) -> str:
    """The absolute path of a skipped file as reports show it (undecodable bytes of its name replaced)."""
    # Not resolved: a link to /dev/zero is reported under its own name, and a symlink loop
    # cannot be resolved at all.
    return os.fsencode(os.path.abspath(path)).decode("utf-8", "replace")


def article_key(path: Path) -> str:
    """The absolute path an article is stored under; SkipFile when it is not valid UTF-8."""
    key = os.path.realpath(path)  # unlike Path.resolve, does not raise on a symlink loop
    try:
        key.encode("utf-8")  # os.fsdecode turned undecodable bytes into lone surrogates
    except UnicodeEncodeError:
        raise SkipFile("file name is not valid UTF-8") from None
    return key


def _is_regular(path: Path) -> bool:
    try:
        _check_regular(path)
    except SkipFile:
        return False
    return True


def _check_regular(path: Path) -> os.stat_result:
    # Opening a fifo blocks until a writer comes, and /dev/zero never ends: stat (following links) first.
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SkipFile(_os_reason(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise SkipFile("not a regular file")
    return info


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return f"unreadable: {exc.strerror or exc}"


def _too_large(max_bytes: int) -> SkipFile:
    return SkipFile(f"larger than {max_bytes / 1e6:g} MB (max_article_mb)")


def read_article_bytes(path: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> bytes:
    """The bytes of a regular, non-empty file of at most max_bytes; SkipFile with the reason otherwise."""
    if _check_regular(path).st_size > max_bytes:
        raise _too_large(max_bytes)
    try:
        # O_NONBLOCK: were the file swapped for a fifo since the stat, opening it must not block;
        # fstat on the opened descriptor then settles what it is.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SkipFile("not a regular file")
            raw = handle.read(max_bytes + 1)  # the file may have grown since the stat
    except OSError as exc:
        raise SkipFile(_os_reason(exc)) from None
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    if not raw.strip():
        raise SkipFile("empty file")
    return raw


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes by their byte order mark, as UTF-8, else a legacy encoding; return (text, encoding)."""
    marked = next((encoding for mark, encoding in _BOMS if raw.startswith(mark)), None)
    if marked:
        try:
            return _universal_newlines(raw.decode(marked)), marked
        except UnicodeDecodeError:
            raise SkipFile("not text (undecodable)") from None
    if b"\x00" in raw[:8192]:
        raise SkipFile("binary file")
    try:
        return _universal_newlines(raw.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _FALLBACK_ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _reads_like_text(text):
            return _universal_newlines(text), encoding
    raise SkipFile("not text (undecodable)")


def _reads_like_text(text: str) -> bool:
    # latin-1 decodes any bytes, so a legacy decoding is accepted only when control characters
    # (C0 but tab, newline, form feed and CR; DEL; C1) are rare: at most 1 in 200, plus one for a
    # DOS end-of-file mark. No text editor writes them, and they are the only signal there is:
    # every other byte decodes to a printable letter, digit, sign or space. Random bytes give
    # 11% (cp1252) to 23% (latin-1), French articles none. A rule on letters or punctuation would
    # refuse legacy HTML, whose markup is dense in '<', '=' and '"'.
    return len(_CONTROLS.findall(text)) <= 1 + len(text) // 200


def _universal_newlines(text: str) -> str:
    # open(..., encoding="utf-8").read() turns \r\n and \r into \n; offsets must index that text.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def article_text(path: Path, kind: str, raw: bytes | None = None,
                 max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> tuple[str, str, dict]:
    """The text citations index into, its encoding, and metadata found while extracting."""
    raw = read_article_bytes(path, max_bytes) if raw is None else raw
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
        heading = re.search(r"^#{1,2}\s+(.+?)\s*#*\s*$", text[start:], re.MULTILINE)
        if heading:
            meta["title"] = heading.group(1)
    return start, meta


def load_article(path: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, raw: bytes | None = None,
                 warn: Callable[[str], None] | None = None) -> Article:
    """Read one article (or parse `raw`, its bytes); raise SkipFile with the reason when it cannot be indexed.

    `warn` hears, in one line, what was read but not understood (a metadata date that is no date).
    """
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise SkipFile(f"unsupported file type '{path.suffix or 'none'}'")
    key = article_key(path)
    raw = read_article_bytes(path, max_bytes) if raw is None else raw
    text, encoding, meta = article_text(path, kind, raw)
    start, end = body_span(text)
    if kind == "md":
        front_end, md_meta = _markdown_meta(text)
        meta = md_meta
        start = max(start, front_end)
    if not text[start:end].strip():
        raise SkipFile("no article text")
    title = meta.get("title") or guess_title(text, start, end, fallback=path.stem)
    date = normalize_date(meta.get("date"))
    if meta.get("date") and date is None and warn is not None:
        warn(f"its date {meta['date'][:40]!r} is not a date (YYYY-MM-DD, 13 septembre 2023…); ignored")
    date = date or guess_date(text, start, end)
    return Article(
        path=key, kind=kind, encoding=encoding,
        sha256=content_hash(raw), text=text, title=title.lstrip("\ufeff").strip(),
        date=date, body_start=start, body_end=end,
    )
