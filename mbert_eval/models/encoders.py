"""Load any Hugging Face encoder and its tokenizer by Hub name or local folder.

A model spec is either an existing local folder or a Hub id (`name` or `org/name`). Anything else
(a relative path like `runs/models/tiny` that does not exist) is a missing folder, reported as such;
a Hub id that cannot be fetched (this machine is offline) ends in one line naming the local-folder
alternative, never in a traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from mbert_eval.errors import UserError
from mbert_eval.paths import is_local_path

Head = Literal["token", "sequence", "span", "none"]


def check_model_spec(spec: str) -> str | None:
    """The problem with a model spec, or None: a folder must exist and hold a config.json."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            return f"model folder {spec} has no config.json (not a Hugging Face model folder)"
        return None
    if path.exists():
        return f"model {spec} is a file; pass a Hugging Face model folder"
    if is_local_path(spec):
        return (f"model folder {spec} does not exist (build one with `mbert-eval pretrain`, or import one with "
                "`mbert-eval models import e5-small`)")
    return None


def _resolve(spec: str) -> str:
    problem = check_model_spec(spec)
    if problem:
        raise UserError(problem)
    return str(Path(spec).expanduser()) if Path(spec).expanduser().is_dir() else spec


def _hub_failure(spec: str, err: Exception) -> UserError:
    return UserError(
        f"cannot load model '{spec}' from the Hugging Face Hub ({type(err).__name__}); "
        "the Hub is not reachable from here: pass a local model folder instead "
        "(e.g. one built by `mbert-eval pretrain`, or a folder downloaded elsewhere)"
    )


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
    token for extractive QA, Devlin et al. 2019, where `num_labels` must stay 2) or none."""
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
    classes = {"token": AutoModelForTokenClassification, "sequence": AutoModelForSequenceClassification,
               "span": AutoModelForQuestionAnswering}
    try:
        if head == "none":
            return AutoModel.from_pretrained(name)
        return classes[head].from_pretrained(name, num_labels=num_labels, ignore_mismatched_sizes=True)
    except OSError as err:
        raise _hub_failure(spec, err) from err


SPACE_MARKERS = "\u2581\u0120"  # SentencePiece's metaspace ▁ and byte-level BPE's Ġ


def content_free_ids(tokenizer) -> frozenset[int]:
    """Ids of the vocabulary's bare space-marker pieces (`▁`, `Ġ`): subwords that carry no word content. With
    XLM-R's SentencePiece vocabulary a word often begins with one (82% of Chinese PUD words, 10% of German)."""
    vocabulary = tokenizer.get_vocab()
    return frozenset(vocabulary[marker] for marker in SPACE_MARKERS if marker in vocabulary)


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
        raise UserError(f"device {requested!r} asked for, but this machine has {torch.cuda.device_count()} CUDA "
                        "GPU(s); use auto or cpu")
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
        raise UserError(f"freezing needs a BERT-like encoder (embeddings + encoder.layer); {type(base).__name__} is not")
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


def model_depth(spec: str) -> int | None:
    """Number of layers of a local model folder (from config.json), None when unknown."""
    import json

    config = Path(spec).expanduser() / "config.json"
    if not config.is_file():
        return None
    data = json.loads(config.read_text(encoding="utf-8"))
    return data.get("num_hidden_layers", data.get("n_layers"))


def window_length(model: torch.nn.Module, longest: int = 512) -> int:
    """The longest input the model takes (its position table), at most `longest`: evaluation inputs are cut
    there, so that no target word is lost to a training length and no input overruns the model."""
    return min(longest, getattr(model.config, "max_position_embeddings", longest))
