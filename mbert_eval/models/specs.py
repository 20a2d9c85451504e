"""What `validate` checks of a model spec and a device, without torch or transformers: a local folder's files,
its config.json (readable, whole sizes, no remote code, a model type transformers builds; depth, position table),
a Hub name's availability, the tokenizer's space markers (issue 21, "Start fast": `mbert-eval validate` imports
no torch). Loading models is `encoders`, which imports what it uses from here.

A model spec is either an existing local folder or a Hub id (`name` or `org/name`). Anything else
(a relative path like `runs/models/tiny` that does not exist) is a missing folder, reported as such.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from mbert_eval.data.checksums import FileState, file_state
from mbert_eval.errors import UserError, shown
from mbert_eval.paths import is_local_path

Head = Literal["token", "sequence", "span", "none"]


TOKENIZER_SETTINGS = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")  # JSON objects
# a model folder's tokenizer is one of these (fast tokenizer; WordPiece, SentencePiece and BPE vocabularies)
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "vocab.json",
)


@dataclass(frozen=True)
class ModelFacts:
    """What the suite reads of a model spec before it runs, read once (`model_facts`): the problem that keeps it
    from using the spec (None: none) and, for a local folder whose config.json it can use, the number of layers
    and the longest input the position table takes (`position_limit`); None where unknown (a Hub name)."""

    problem: str | None
    depth: int | None = None
    max_length: int | None = None


def model_facts(spec: str) -> ModelFacts:
    """A model spec's `ModelFacts`. A folder must exist, hold a config.json the suite can use (`_read_config`),
    tokenizer files and safetensors weights whose headers open (a file cut short or not safetensors is found
    here, without loading it). A folder's facts are read once per process for its files as they are
    (`_folder_state`): each load of a model asks again, and e5-small's tokenizer.json alone is 9.6 MB of JSON."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return _folder_facts(spec, _folder_state(path))
    if path.exists():
        return ModelFacts(f"model {spec} is a file; pass a Hugging Face model folder")
    if is_local_path(spec):
        return ModelFacts(
            f"model folder {spec} does not exist (build one with `mbert-eval pretrain`, or import one with "
            "`mbert-eval models import e5-small`)"
        )
    return ModelFacts(None)


def _folder_state(folder: Path) -> tuple[tuple[str, FileState | None], ...]:
    """A folder's files as they are (`data.checksums.file_state` of each, None for one that cannot be read): a
    file rewritten, replaced, added or removed changes it, also where a copy kept the old modification time."""
    state = []
    for entry in os.scandir(folder):
        try:
            state.append((entry.name, file_state(entry.path)))
        except OSError:
            state.append((entry.name, None))
    return tuple(sorted(state, key=lambda item: item[0]))


@lru_cache(maxsize=64)
def _folder_facts(spec: str, state: tuple[tuple[str, FileState | None], ...]) -> ModelFacts:
    """`model_facts` of a folder whose files are in `state` (the key: read again once they change)."""
    path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        return ModelFacts(f"model folder {spec} has no config.json (not a Hugging Face model folder)")
    config, problem = _read_config(path / "config.json")
    return ModelFacts(
        problem or _tokenizer_problem(path, config.get("vocab_size")) or _weights_problem(path, config),
        config.get("num_hidden_layers", config.get("n_layers")),
        position_limit(config),
    )


def check_model_spec(spec: str) -> str | None:
    """The problem with a model spec, or None (`model_facts`)."""
    return model_facts(spec).problem


def _tokenizer_problem(folder: Path, vocab_size: int | None) -> str | None:
    """The problem with a model folder's tokenizer, or None: there must be one (transformers would make an
    empty one), and its ids must fit the word embeddings (`vocab_size` of config.json): a larger id overruns
    them. The size is read off tokenizer.json or vocab.txt where the folder has one."""
    import json

    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return (
            f"model folder {folder} has no tokenizer ({', '.join(TOKENIZER_FILES)}): transformers would make an "
            "empty one that reads every word as unknown; copy the tokenizer files into the folder"
        )
    for name in TOKENIZER_SETTINGS:  # transformers reads each as a JSON object, and fails on anything else
        problem = _json_object_problem(folder / name)
        if problem:
            return problem
    size = None
    if (folder / "tokenizer.json").is_file():
        try:
            data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
            vocabulary = data["model"].get("vocab") or []
            ids = list(vocabulary.values()) if isinstance(vocabulary, dict) else [len(vocabulary) - 1]
            size = max([*ids, *(token["id"] for token in data.get("added_tokens") or [])], default=-1) + 1
        except (ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError, AttributeError) as err:
            return f"{folder / 'tokenizer.json'} is no tokenizer transformers reads ({type(err).__name__}: {err})"
    elif (folder / "vocab.txt").is_file():
        size = len((folder / "vocab.txt").read_bytes().splitlines())
    if size is not None and vocab_size is not None and size > vocab_size:
        return (
            f"model folder {folder}: the tokenizer has {size} tokens but config.json's vocab_size is {vocab_size}: "
            f"ids from {vocab_size} on would overrun the word embeddings"
        )
    return None


def _json_object_problem(path: Path) -> str | None:
    """Why a JSON settings file of a model folder cannot be read as a JSON object (with the line and column where
    it stops parsing), or None: it is one, or there is none."""
    import json

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        return f"{path}:{err.lineno}:{err.colno}: not JSON ({err.msg}); transformers cannot read the tokenizer"
    except (UnicodeDecodeError, RecursionError) as err:
        return f"{path}: not JSON ({type(err).__name__}); transformers cannot read the tokenizer"
    if not isinstance(data, dict):
        return f"{path}: a JSON {type(data).__name__}, not an object; transformers cannot read the tokenizer"
    return None


_LAYER_KEY = re.compile(r"(?:^|\.)encoder\.layers?\.(\d+)\.")  # a BERT-like encoder's layer in a weight's name


def _weights_problem(folder: Path, config: dict) -> str | None:
    """The problem with a model folder's weights, or None. Each safetensors file's header is opened (no
    tensor is read): safetensors checks that the header parses and that its tensors cover the file; the word
    embeddings' rows must be config.json's `vocab_size` and the encoder's layers its `num_hidden_layers` (else
    transformers would draw new ones)."""
    from safetensors import SafetensorError, safe_open

    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        if any(folder.glob("pytorch_model*.bin")):
            return (
                f"model folder {folder} holds only pickle weights (pytorch_model.bin), and the suite loads "
                "safetensors only (unpickling can run code): convert them where you trust the file, e.g. "
                f"python -c \"from transformers import AutoModel; AutoModel.from_pretrained('{folder}')"
                f".save_pretrained('{folder}')\""
            )
        return f"model folder {folder} has no weights (no model.safetensors)"
    layers: set[int] = set()
    for file in weights:
        try:
            with safe_open(str(file), framework="numpy") as opened:  # the header only; "numpy" needs no torch
                rows = [
                    opened.get_slice(key).get_shape()[0]
                    for key in opened.keys()
                    if key.endswith("word_embeddings.weight")
                ]
                layers.update(int(found[1]) for key in opened.keys() if (found := _LAYER_KEY.search(key)))
        except (SafetensorError, OSError, ValueError) as err:
            reason = " ".join(str(err).split())
            return (
                f"model weights {file} do not open ({reason}): the file is cut short or not safetensors; "
                "copy or import the model again"
            )
        if rows and config.get("vocab_size") is not None and rows[0] != config["vocab_size"]:
            return (
                f"model folder {folder}: config.json's vocab_size is {config['vocab_size']} but the word embeddings "
                f"in {file.name} have {rows[0]} rows (transformers would draw new ones); fix config.json"
            )
    depth = config.get("num_hidden_layers")
    if layers and depth is not None and layers != set(range(depth)):
        return (
            f"model folder {folder}: config.json's num_hidden_layers is {depth} but the checkpoint holds layers "
            f"{_ranges(sorted(layers))} (transformers would draw the missing ones at random or drop the extra "
            "ones); fix config.json"
        )
    return None


def _ranges(numbers: list[int]) -> str:
    """Sorted numbers as `0-5, 7`."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else f"{run[0]}" for run in runs)


def _hub_message(spec: str, err: Exception) -> str:
    return (
        f"cannot load model '{spec}' from the Hugging Face Hub ({type(err).__name__}); "
        "the Hub is not reachable from here: pass a local model folder instead "
        "(e.g. one built by `mbert-eval pretrain`, or a folder downloaded elsewhere)"
    )


def hub_model_problem(spec: str) -> str | None:
    """For a Hub name, the problem of fetching it (None: it is in the local Hugging Face cache, or the Hub
    knows it); local folders are `check_model_spec`'s. Asks the Hub once, with a short timeout."""
    if Path(spec).expanduser().exists() or is_local_path(spec):
        return None
    from huggingface_hub import HfApi, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(spec, "config.json"), str):
        return None
    try:
        HfApi().model_info(spec, timeout=10)
    except Exception as err:  # noqa: BLE001 - any failure (no network, offline mode, no such repo) is the answer
        if "NotFound" in type(err).__name__:
            return f"no model '{spec}' on the Hugging Face Hub (nor a local folder of that name)"
        return _hub_message(spec, err)
    return None


SUBWORD_MODELS = ("Unigram", "BPE")  # the models whose pieces carry the pre-tokenizer's space marker
BYTE_LEVEL_SPACE = "\u0120"  # byte-level BPE's Ġ: the space byte as GPT-2 maps bytes to characters


def space_markers(tokenizer) -> frozenset[str]:
    """The space markers a tokenizer writes into its pieces, for Unigram and BPE models only: `▁` (or its own
    replacement) where a Metaspace pre-tokenizer runs (SentencePiece: XLM-R, e5) or where the normalizer writes
    it for spaces (`Replace(" ", "▁")`, `Prepend("▁")`: Llama-style SentencePiece files), `Ġ` where a ByteLevel
    pre-tokenizer runs (RoBERTa, GPT-2). None for WordPiece (mBERT), whose vocabulary may hold `▁` and `Ġ` as
    ordinary pieces, and none without a `tokenizers` backend. Nested Sequences are searched."""
    import json

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or type(backend.model).__name__ not in SUBWORD_MODELS:
        return frozenset()
    markers: set[str] = set()
    pending = [json.loads(step.__getstate__()) for step in (backend.pre_tokenizer, backend.normalizer) if step]
    while pending:
        step = pending.pop()
        kind = step.get("type")
        if kind == "Sequence":
            pending.extend(step.get("pretokenizers", step.get("normalizers", [])))
        elif kind == "Metaspace":
            markers.add(step["replacement"])
        elif kind == "ByteLevel":
            markers.add(BYTE_LEVEL_SPACE)
        elif kind == "Prepend":
            markers.add(step["prepend"])
        elif kind == "Replace" and step.get("pattern") == {"String": " "} and step.get("content", "").strip():
            markers.add(step["content"])
    return frozenset(markers)


def content_free_ids(tokenizer) -> frozenset[int]:
    """Ids of the vocabulary's bare space-marker pieces (see `space_markers`): subwords that carry no word content.
    With XLM-R's SentencePiece vocabulary a word often begins with one (82% of Chinese PUD words, 10% of German);
    a WordPiece vocabulary has none, so labelling at the first content piece is XTREME's first subword there."""
    vocabulary = tokenizer.get_vocab()
    return frozenset(vocabulary[marker] for marker in space_markers(tokenizer) if marker in vocabulary)


# config.json numbers the suite reads or that size the model: a string or a fraction there is refused
WHOLE_NUMBERS = (
    "num_hidden_layers",
    "n_layers",
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "vocab_size",
)


def _read_config(path: Path) -> tuple[dict, str | None]:
    """A model folder's config.json and the problem that keeps the suite from using it (None: none): not
    UTF-8 JSON (said with line and column), no JSON object, nested beyond the parser's depth, a size that is
    no whole number of at least 1, a width the attention heads do not divide, remote code (`auto_map`), which
    the suite never runs, no model_type that transformers builds, or a padding index that a RoBERTa-like model's
    positions cannot start after (`_padding_problem`). With a problem the config is {}."""
    import json

    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        return {}, f"{path} is not UTF-8 text (byte {err.start})"
    except json.JSONDecodeError as err:
        return {}, f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
    except RecursionError:
        return {}, f"{path} is nested too deep to read (not a model config)"
    except OSError as err:
        return {}, f"cannot read {path}: {err.strerror or err}"
    if not isinstance(config, dict):
        return {}, f"{path}: config.json holds no JSON object (found {type(config).__name__})"
    for key in WHOLE_NUMBERS:
        value = config.get(key)
        if key in config and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            return {}, f"{path}: {key} must be a whole number of at least 1, got {value!r}"
    heads, width = config.get("num_attention_heads"), config.get("hidden_size")
    if heads and width and width % heads and "embedding_size" not in config:
        return {}, f"{path}: hidden_size {width} is not a multiple of num_attention_heads {heads}"
    if "auto_map" in config:
        return {}, (
            f"{path}: the model needs remote code (its auto_map names code in the folder or on the Hub), which "
            "the suite will not run; use a model that transformers builds itself"
        )
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        return {}, f'{path}: no model_type (transformers needs one to build the model; add e.g. "model_type": "bert")'
    if _known_model_type(model_type) is False:
        return {}, (
            f"{path}: model_type {model_type!r} is not one transformers {_transformers_version()} builds "
            "(misspelt, or newer than this transformers)"
        )
    if model_type in OFFSET_POSITIONS and (problem := _padding_problem(config)):
        return {}, f"{path}: {problem}"
    return config, None


@cache
def _model_type_listing() -> str | None:
    """The text of the transformers files that map model types to their configs, read without importing
    transformers (which would import torch); None where they are not found."""
    from importlib.util import find_spec

    spec = find_spec("transformers")
    if spec is None or spec.origin is None:
        return None
    auto = Path(spec.origin).parent / "models" / "auto"
    files = [file for file in (auto / "auto_mappings.py", auto / "configuration_auto.py") if file.is_file()]
    return "\n".join(file.read_text(encoding="utf-8") for file in files) if files else None


def _transformers_version() -> str:
    """The installed transformers version, for messages."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transformers")
    except PackageNotFoundError:
        return "(not installed)"


def _known_model_type(model_type: str) -> bool | None:
    """Whether transformers builds `model_type`: a quoted name in its listing of model types
    (`_model_type_listing`); None where the listing is not found (then nothing is refused)."""
    listing = _model_type_listing()
    return None if listing is None else f'"{model_type}"' in listing


# The model types whose position ids start after the padding index (RoBERTa's `create_position_ids_from_input_ids`,
# Liu et al. 2019: padding_idx + 1 on), so that a table of max_position_embeddings rows takes pad_token_id + 1 tokens
# fewer; each with the pad_token_id its config class defaults to (None: none, and the model cannot run without one).
# Found by grepping transformers 5.25's models/*/modeling_*.py for `padding_idx + 1`, keeping the models whose own
# config sizes a learned table of max_position_embeddings rows (the sinusoidal tables of fsmt, m2m_100, speecht5,
# trocr, ... grow past it; altclip, bridgetower and clap keep it in a nested text_config), each run as a tiny model
# (tests/models/test_specs_limits.py).
OFFSET_POSITIONS: dict[str, int | None] = {
    "camembert": 1,
    "data2vec-text": 1,
    "esm": None,
    "ibert": 1,
    "layoutlmv3": 1,
    "lilt": 0,
    "longformer": 1,
    "luke": 1,
    "markuplm": 0,
    "roberta": 1,
    "roberta-prelayernorm": 1,
    "xlm-roberta": 1,
    "xlm-roberta-xl": 1,
    "xmod": 1,
}
FIXED_PADDING = {"mpnet": 1}  # `MPNetEmbeddings` pads at index 1 (and counts on from there) whatever the config says


def _padding_problem(config: dict) -> str | None:
    """For a model whose positions start after the padding index (`OFFSET_POSITIONS`), the problem with its
    pad_token_id (None: none): it must be a whole number that leaves at least one row of the position table after
    it; transformers fails on anything else only in the forward pass (null, a string) or when it builds the table."""
    model_type = config["model_type"]
    pad = config.get("pad_token_id", OFFSET_POSITIONS[model_type])
    positions = config.get("max_position_embeddings")
    if isinstance(pad, int) and not isinstance(pad, bool) and pad >= 0 and (positions is None or pad + 1 < positions):
        return None
    given = repr(config["pad_token_id"]) if "pad_token_id" in config else "none"
    bound = "of at least 0" if positions is None else f"from 0 to {positions - 2}"
    return (
        f"pad_token_id must be a whole number {bound}, got {given}: {model_type} models count positions on from the "
        "padding index, and at least one row of the position table (max_position_embeddings) must follow it"
    )


def position_limit(config: dict) -> int | None:
    """The longest input (in tokens) a model's position table takes: `max_position_embeddings`, less the
    padding offset (pad index + 1) of RoBERTa-like models (`OFFSET_POSITIONS`, `FIXED_PADDING`), whose positions
    start there. A folder's config.json has been checked (`_read_config`: `_padding_problem`)."""
    positions, model_type = config.get("max_position_embeddings"), config.get("model_type")
    if positions is None:
        return None
    if model_type in FIXED_PADDING:
        return positions - (FIXED_PADDING[model_type] + 1)
    if model_type in OFFSET_POSITIONS:
        pad = config.get("pad_token_id", OFFSET_POSITIONS[model_type])
        return positions - (pad + 1) if isinstance(pad, int) else None  # a Hub config unchecked: no known limit
    return positions


# `cuda` or `cuda:<index>`: the GPUs the suite runs on (autocast, AMP); torch refuses an index with a leading 0
CUDA_DEVICE = re.compile(r"cuda(?::(0|[1-9][0-9]*))?")


def device_name_problem(requested: str) -> str | None:
    """Why `requested` is no device the suite runs on (None: it is one): `auto`, `cpu`, `cuda` or `cuda:<index>`.
    Other torch device types (`mps`, `xpu`, `meta`, ...) are refused: the suite's mixed precision
    (`encoders.autocast`) and GPU counts are CUDA's, and a torch without that backend fails deep in a run
    ("PyTorch is not linked with support for mps devices"). Needs no torch."""
    if requested in ("auto", "cpu") or CUDA_DEVICE.fullmatch(requested):
        return None
    return f"unknown device {shown(requested)}; use auto, cpu, cuda or cuda:<index>"


def check_device(requested: str) -> None:
    """A one-line UserError when `requested` is no device the suite runs on (`device_name_problem`) or names a
    GPU this machine does not have. `auto` and `cpu` are always fine and need no torch (`encoders.pick_device`
    resolves `auto` when a run starts); a CUDA name imports torch to count the GPUs."""
    problem = device_name_problem(requested)
    if problem:
        raise UserError(problem)
    match = CUDA_DEVICE.fullmatch(requested)
    if match is None:  # auto or cpu
        return
    import torch

    # read here, not by torch.device: its parser fails on an index from 2**31 on and turns one past 127 negative
    if int(match[1] or 0) >= torch.cuda.device_count():
        raise UserError(
            f"device {requested!r} asked for, but this machine has {torch.cuda.device_count()} CUDA "
            "GPU(s); use auto or cpu"
        )
