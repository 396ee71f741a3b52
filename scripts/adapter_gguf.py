"""Turn the PEFT adapter of scripts/tune_gemma.py into the GGUF adapter llama.cpp loads (--lora).

    python scripts/adapter_gguf.py OUT_DIR LLAMA_CPP_SOURCES [--to PATH]

LLAMA_CPP_SOURCES: llama.cpp's source folder, e.g. the one vendored in the llama-cpp-python sdist
(`pip download --no-deps --no-binary :all: llama-cpp-python==VERSION`, unpacked: its vendor/llama.cpp),
whose convert_lora_to_gguf.py does the conversion. The base model's config that tune_gemma.py saved
comes from transformers' GGUF loader: it names no architecture and says the weights are
GGUF-quantised, which the converter refuses; both are fixed here (the adapter's own tensors are
float). Writes OUT_DIR/adapter.gguf (f16) unless --to says where, and prints its sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("sources", type=Path)
    parser.add_argument("--to", type=Path)
    args = parser.parse_args()
    config_path = args.out / "base" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.setdefault("architectures", ["Gemma3ForCausalLM"])
    config.pop("quantization_config", None)
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    target = args.to or args.out / "adapter.gguf"
    subprocess.run([sys.executable, str(args.sources / "convert_lora_to_gguf.py"), "--base", str(args.out / "base"),
                    "--outfile", str(target), "--outtype", "f16", str(args.out / "peft")], check=True)
    print(f"{target}: {target.stat().st_size} bytes, sha256 {hashlib.sha256(target.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
