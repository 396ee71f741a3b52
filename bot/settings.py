"""The application's settings tree: the index layer's sections plus answering, model and Discord.

Secrets (DISCORD_TOKEN) never live here: they are read from the environment where they are used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator, model_validator

from index.settings import PROJECT_ROOT, Float, Folder, Int, SearchSettings, Section, load


def _calibrated(value: Any) -> Any:
    # An empty environment variable or "calibrated" means: use the fitted threshold.
    if isinstance(value, str) and value.strip().lower() in ("", "calibrated", "none"):
        return None
    return value


class AnswerSettings(Section):
    """How answers are built, verified and cut."""

    extractive: bool = False
    max_statements: Int = Field(3, ge=1, le=10)
    min_statements: Int = Field(0, ge=0, le=10)
    max_sentences: Int = Field(12, ge=1, le=50)  # sentences shown to the model, best supported first
    quote_mode: Literal["sentences", "free"] = "sentences"
    # None: the threshold calibrated with the support model (bot/answer/support_model.json).
    abstain_threshold: Annotated[Float | None, BeforeValidator(_calibrated)] = Field(None, gt=0, lt=1)
    prompts_dir: Folder = PROJECT_ROOT / "prompts"

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.min_statements > self.max_statements:
            raise ValueError("min_statements must not exceed max_statements")
        return self


class ModelSettings(Section):
    """The language model: a GGUF file run by llama.cpp in process, or an OpenAI-compatible server.

    The server's API key comes from CITEBOT_LLM_API_KEY only, never from the settings.
    """

    model: str = ""  # a GGUF path; empty: the default model, downloaded when allowed
    lora: str = ""  # a LoRA adapter GGUF applied on the model in process (scripts/tune_gemma.py makes one)
    model_repo: str = "Qwen/Qwen2.5-1.5B-Instruct-GGUF"
    model_file: str = "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    download: bool = True
    n_ctx: Int = Field(4096, ge=512, le=262_144)
    n_threads: Int = Field(0, ge=0, le=512)  # 0: llama.cpp picks
    max_tokens: Int = Field(600, ge=16, le=32_768)
    llm_url: str = ""  # an OpenAI-compatible server's base URL (http://host:port/v1); empty: in process
    llm_model: str = ""  # the model name sent to the server; empty: the server's default
    llm_timeout: Float = Field(60.0, gt=0, le=3600)  # seconds to connect to the server
    # Seconds the server may send nothing (no token, no keep-alive) before the stream counts as
    # stalled: one line at once, no retry. A 2-core CPU reads a 1,100-token prompt in 10-20 s.
    llm_read_timeout: Float = Field(30.0, gt=0, le=3600)
    # Tries after the first for HTTP 429/5xx and a stream that ended early (llama-cpp-python's
    # server cuts a stream when another request arrives), after a pause of llm_retry_pause
    # seconds doubled at each try (at most 8 s), with jitter; a refused connection gets one, a
    # stream ended early three times as many (preemption is contention: it passes).
    llm_retries: Int = Field(5, ge=0, le=20)
    llm_retry_pause: Float = Field(0.5, ge=0, le=60)
    # How answers are constrained on the server: a GBNF grammar (llama.cpp's servers), or its JSON
    # schema as response_format, in OpenAI's json_schema form (vLLM, Ollama, hosted APIs) or
    # llama.cpp's json_object form (llama-server, llama-cpp-python's server); "auto": GBNF where the
    # server is one of llama.cpp's (it answers their tokenize endpoint), json_schema elsewhere.
    llm_constraint: Literal["auto", "grammar", "json_schema", "json_object"] = "auto"
    llm_parallel: Int = Field(0, ge=0, le=256)  # questions sent at once; 0: the server's slots (1 if unsaid)

    @field_validator("llm_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("llm_url must be an http:// or https:// URL")
            if parts.username is not None or parts.password is not None:  # it would show in every error
                raise ValueError("llm_url must not hold a user or password; put the key in CITEBOT_LLM_API_KEY")
        return value


_SNOWFLAKE = re.compile(r"[1-9][0-9]{0,19}")


def _pairs(value: Any) -> Any:
    # The environment gives one string: "ID=TARGET" entries separated by commas.
    if not isinstance(value, str):
        return value
    pairs: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        key, sep, target = entry.partition("=")
        if not sep:
            raise ValueError(f"{entry!r} is not ID=FOLDER or ID=postgresql://URL")
        pairs[key.strip()] = target.strip()
    return pairs


def _corpora(value: Any) -> Any:
    """Channel or server ids (numbers, as Discord's Copy ID gives them) to an index home or a store URL."""
    if isinstance(value, list | tuple) and all(isinstance(pair, list | tuple) and len(pair) == 2 for pair in value):
        value = dict(value)  # as model_dump gives it back
    if not isinstance(value, Mapping):
        return value
    corpora: dict[int, str] = {}
    for key, target in value.items():
        text = str(key).strip()
        if isinstance(key, bool) or not _SNOWFLAKE.fullmatch(text):
            raise ValueError(f"{text!r} is not a channel or server id (a number: Discord's Copy ID)")
        if not isinstance(target, str) or not target.strip():
            raise ValueError(f"the corpus of {text} must be an index folder or a postgresql:// URL")
        target = target.strip()
        if "\0" in target or ("://" in target and not target.startswith(("postgresql://", "postgres://"))):
            raise ValueError(f"the corpus of {text} must be an index folder or a postgresql:// URL")
        corpora[int(text)] = target
    return tuple(corpora.items())  # pairs, not a dict: the settings stay hashable


def _names(value: Any) -> Any:
    # The environment gives one string: role names or ids separated by commas.
    if isinstance(value, str):
        value = [part for part in value.split(",")]
    if isinstance(value, list | tuple):
        if any(isinstance(part, bool) or not isinstance(part, str | int) for part in value):
            raise ValueError("each role must be a name or an id")
        names = tuple(str(part).strip() for part in value)
        if not all(names):
            raise ValueError("role names and ids must not be empty")
        return names
    return value


class DiscordSettings(Section):
    """The Discord bot; the token comes from DISCORD_TOKEN only."""

    discord_guild: Int = Field(0, ge=0)  # 0: commands are synced globally, on request
    discord_queue: Int = Field(8, ge=1, le=1000)
    discord_cooldown: Float = Field(5.0, ge=0, le=3600)
    # Questions a channel (its threads included) may ask per discord_channel_window seconds; 0: no limit.
    discord_channel_limit: Int = Field(30, ge=0, le=100_000)
    discord_channel_window: Float = Field(60.0, gt=0, le=86_400)
    # Channel or server id -> the index home folder or postgresql:// store answering there
    # (bot/discord/corpora.py); a channel's own entry wins over its server's.
    discord_corpora: Annotated[tuple[tuple[int, str], ...], BeforeValidator(_corpora), BeforeValidator(_pairs)] = ()
    # Channels in no entry of discord_corpora: answered from the [index] home or store ("default"),
    # or refused with a polite line ("refuse").
    discord_unmapped: Literal["default", "refuse"] = "default"
    # Role names or ids whose members may /add articles and list /sources; empty: nobody.
    discord_admin_roles: Annotated[tuple[Annotated[str, Field(max_length=100)], ...],
                                   BeforeValidator(_names)] = ()


class Settings(SearchSettings):
    """Every tunable of citebot, in sections."""

    answer: AnswerSettings = AnswerSettings()
    model: ModelSettings = ModelSettings()
    discord: DiscordSettings = DiscordSettings()


def load_settings(flags: Mapping[str, Any] | None = None, config: str | Path | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from defaults < TOML file < CITEBOT_* environment < flags; ConfigError when invalid."""
    return load(Settings, flags, config, environ)
