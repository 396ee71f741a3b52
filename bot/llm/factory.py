"""Which local model to run: finding the GGUF file and opening llama.cpp on it (imported only when chosen)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from bot.llm.base import Generator, check_gguf
from bot.settings import Settings


def find_model(settings: Settings, notify: Callable[[str], None]) -> Path | None:
    """The GGUF to use: the configured path, else the default from the Hugging Face cache or hub."""
    # Returns None when no model can be obtained (offline and nothing cached): the caller then
    # answers in extractive mode.
    if settings.model.model:
        path = Path(settings.model.model).expanduser()
        check_gguf(path)
        return path
    if not settings.model.download:
        return None
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        return None
    try:
        return Path(hf_hub_download(settings.model.model_repo, settings.model.model_file, local_files_only=True))
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE") or not _hub_reachable():
        return None
    notify(f"downloading the default model {settings.model.model_repo}/{settings.model.model_file} (once)")
    try:
        return Path(hf_hub_download(settings.model.model_repo, settings.model.model_file))
    except Exception as exc:
        notify(f"download failed ({type(exc).__name__})")
        return None


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check, so an offline machine does not sit through the hub client's retries."""
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def LlamaGenerator(path: Path, n_ctx: int = 4096, n_threads: int = 0, lora: Path | None = None) -> Generator:
    """The llama.cpp generator (imported here so that extractive runs never load llama.cpp), with a LoRA adapter."""
    from bot.llm.llama import LlamaCppGenerator

    return LlamaCppGenerator(path, n_ctx, n_threads, lora=lora)

