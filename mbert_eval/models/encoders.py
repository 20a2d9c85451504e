"""Load any Hugging Face encoder and its tokenizer by Hub name or local folder.

A model spec is either an existing local folder or a Hub id (`name` or `org/name`). Anything else
(a relative path like `runs/models/tiny` that does not exist) is a missing folder, reported as such;
a Hub id that cannot be fetched (this machine is offline) ends in one line naming the local-folder
alternative, never in a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import torch
from tqdm.auto import tqdm

from mbert_eval.errors import UserError
from mbert_eval.paths import is_local_path

Head = Literal["token", "sequence", "span", "none"]


def check_model_spec(spec: str) -> str | None:
    """The problem with a model spec, or None: a folder must exist, hold a config.json and weights whose
    safetensors headers open (a file cut short or not safetensors is found here, without loading it)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            return f"model folder {spec} has no config.json (not a Hugging Face model folder)"
        return _weights_problem(path)
    if path.exists():
        return f"model {spec} is a file; pass a Hugging Face model folder"
    if is_local_path(spec):
        return (
            f"model folder {spec} does not exist (build one with `mbert-eval pretrain`, or import one with "
            "`mbert-eval models import e5-small`)"
        )
    return None


def _weights_problem(folder: Path) -> str | None:
    """The problem with a model folder's weights, or None. Each safetensors file's header is opened (no
    tensor is read): safetensors checks that the header parses and that its tensors cover the file."""
    from safetensors import SafetensorError, safe_open

    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        if any(folder.glob("pytorch_model*.bin")):
            return None
        return f"model folder {folder} has no weights (no model.safetensors or pytorch_model.bin)"
    for file in weights:
        try:
            with safe_open(str(file), framework="pt"):
                pass
        except (SafetensorError, OSError, ValueError) as err:
            reason = " ".join(str(err).split())
            return (
                f"model weights {file} do not open ({reason}): the file is cut short or not safetensors; "
                "copy or import the model again"
            )
    return None


def _resolve(spec: str) -> str:
    problem = check_model_spec(spec)
    if problem:
        raise UserError(problem)
    return str(Path(spec).expanduser()) if Path(spec).expanduser().is_dir() else spec


def _hub_message(spec: str, err: Exception) -> str:
    return (
        f"cannot load model '{spec}' from the Hugging Face Hub ({type(err).__name__}); "
        "the Hub is not reachable from here: pass a local model folder instead "
        "(e.g. one built by `mbert-eval pretrain`, or a folder downloaded elsewhere)"
    )


def _hub_failure(spec: str, err: Exception) -> UserError:
    return UserError(_hub_message(spec, err))


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


def load_tokenizer(spec: str):
    """The tokenizer of a model spec (a fast tokenizer, for `word_ids()`)."""
    from transformers import AutoTokenizer

    name = _resolve(spec)
    try:
        return AutoTokenizer.from_pretrained(name)
    except OSError as err:
        raise _hub_failure(spec, err) from err


def load_model(spec: str, head: Head = "none", num_labels: int = 2) -> torch.nn.Module:
    """The encoder with a freshly initialized task head ("token", "sequence", "span": start and end logits per
    token for extractive QA, Devlin et al. 2019, where `num_labels` must stay 2) or none. Transformers' own
    warnings are silenced; instead one line on stderr names each module the checkpoint did not hold (see
    `new_module_lines`)."""
    import transformers
    from transformers import (
        AutoModel,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    name = _resolve(spec)
    classes = {
        "token": AutoModelForTokenClassification,
        "sequence": AutoModelForSequenceClassification,
        "span": AutoModelForQuestionAnswering,
    }
    try:
        if head == "none":
            model, info = AutoModel.from_pretrained(name, output_loading_info=True)
        else:
            model, info = classes[head].from_pretrained(
                name, num_labels=num_labels, ignore_mismatched_sizes=True, output_loading_info=True
            )
    except OSError as err:
        raise _hub_failure(spec, err) from err
    for line in new_module_lines(spec, info, model.base_model_prefix, head):
        tqdm.write(line, file=sys.stderr)
    return model


def new_module_lines(spec: str, info: dict, base_prefix: str, head: Head) -> list[str]:
    """One line per module whose weights the checkpoint did not hold (transformers' `output_loading_info`:
    missing keys, and keys whose shape did not match), grouped by the module below the encoder (`pooler`) or,
    outside the encoder, the task head this code adds on purpose (`classifier`, `qa_outputs`). A headless load
    leaves the pooler out: only the sequence head reads it (Devlin et al. 2019); the others read hidden states."""
    keys = [
        *info.get("missing_keys", ()),
        *(item[0] if isinstance(item, tuple) else item for item in info.get("mismatched_keys", ())),
    ]
    modules: dict[str, bool] = {}  # module -> is the task head
    for key in sorted(keys):
        inside = key.startswith(f"{base_prefix}.")
        path = key.removeprefix(f"{base_prefix}.").split(".")
        if head == "none" and path[0] == "pooler":
            continue
        modules.setdefault(path[0], head != "none" and not inside)
    return [
        f"model {spec}: {module} newly initialized "
        + (f"(the {head} task head)" if is_head else "(not in the checkpoint)")
        for module, is_head in modules.items()
    ]


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


def pick_device(requested: str = "auto") -> torch.device:
    """`auto` means CUDA when present, else CPU; otherwise a torch device name (`cpu`, `cuda`, `cuda:1`, ...),
    a one-line UserError when it is not one or names a GPU this machine does not have."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UserError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:<index>") from None
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UserError(
            f"device {requested!r} asked for, but this machine has {torch.cuda.device_count()} CUDA "
            "GPU(s); use auto or cpu"
        )
    return device


def autocast(device: torch.device):
    """bf16 autocast on GPUs that support it; a no-op context elsewhere."""
    enabled = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def encoder_parts(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.ModuleList]:
    """The embeddings and the list of transformer layers of a BERT-like encoder (BERT, XLM-R, ...)."""
    base = getattr(model, "base_model", model)
    embeddings = getattr(base, "embeddings", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if embeddings is None or not isinstance(layers, torch.nn.ModuleList):
        raise UserError(
            f"freezing needs a BERT-like encoder (embeddings + encoder.layer); {type(base).__name__} is not"
        )
    return embeddings, layers


def freeze_lower_layers(model: torch.nn.Module, k: int) -> None:
    """Freeze the embeddings and the bottom `k` layers (Wu & Dredze 2019): no gradient, and so
    no optimizer state, since the optimizer only receives parameters that require gradients."""
    if k <= 0:
        return
    embeddings, layers = encoder_parts(model)
    if k > len(layers):
        raise UserError(f"freeze: {k} is beyond the model's depth ({len(layers)} layers)")
    for module in [embeddings, *layers[:k]]:
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def _folder_config(spec: str) -> dict:
    """The config.json of a local model folder ({} when it has none, or for a Hub name)."""
    import json

    config = Path(spec).expanduser() / "config.json"
    if not config.is_file():
        return {}
    try:
        return json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}


def model_depth(spec: str) -> int | None:
    """Number of layers of a local model folder (from config.json), None when unknown."""
    data = _folder_config(spec)
    return data.get("num_hidden_layers", data.get("n_layers"))


OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert")  # positions start after the padding index


def position_limit(config: dict) -> int | None:
    """The longest input (in tokens) a model's position table takes: `max_position_embeddings`, less the
    padding offset (pad index + 1) of RoBERTa-like models (Liu et al. 2019), whose positions start there."""
    positions = config.get("max_position_embeddings")
    if positions is None:
        return None
    if config.get("model_type") in OFFSET_POSITIONS:
        positions -= config.get("pad_token_id", 1) + 1
    return positions


def model_max_length(spec: str) -> int | None:
    """The longest input a local model folder takes (None when unknown, e.g. a Hub name)."""
    return position_limit(_folder_config(spec))


def window_length(model: torch.nn.Module, longest: int = 512) -> int:
    """The longest input the model takes (its position table), at most `longest`: inputs are cut there, so that
    none overruns the model (retrieval's sentences at 512; fine-tuned tasks pass their evaluation window)."""
    return min(longest, position_limit(model.config.to_dict()) or longest)
