"""Load any Hugging Face encoder and its tokenizer by Hub name or local folder; devices, autocast and freezing.
What needs no torch (checking a spec, a folder's depth and position table, space markers) is `specs`, re-exported
here.

A model spec is either an existing local folder or a Hub id (`name` or `org/name`). Anything else
(a relative path like `runs/models/tiny` that does not exist) is a missing folder, reported as such;
a Hub id that cannot be fetched (this machine is offline) ends in one line naming the local-folder
alternative, never in a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from tqdm.auto import tqdm

from mbert_eval.errors import UserError
from mbert_eval.models.specs import Head, _hub_message, check_device, check_model_spec, position_limit


def _resolve(spec: str) -> str:
    problem = check_model_spec(spec)
    if problem:
        raise UserError(problem)
    return str(Path(spec).expanduser()) if Path(spec).expanduser().is_dir() else spec


def _hub_failure(spec: str, err: Exception) -> UserError:
    return UserError(_hub_message(spec, err))


def encoder_depth(spec: str) -> int:
    """The number of transformer layers of a model spec, a local folder or a Hub name, from its config (which
    transformers reads from the Hub or its cache; DistilBERT's `n_layers` is mapped to it)."""
    from transformers import AutoConfig

    name = _resolve(spec)
    try:
        return AutoConfig.from_pretrained(name).num_hidden_layers
    except OSError as err:
        raise _hub_failure(spec, err) from err


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
    from transformers import (
        AutoModel,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    quiet_loading()
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


def quiet_loading() -> None:
    """Transformers' own loading warnings and progress bars off: what matters of a load is said in one line per
    module the checkpoint did not hold (`new_module_lines`)."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def new_module_lines(
    spec: str, info: dict, base_prefix: str, head: Head, advice: dict[str, str] | None = None
) -> list[str]:
    """One line per module whose weights the checkpoint did not hold (transformers' `output_loading_info`:
    missing keys, and keys whose shape did not match), grouped by the module below the encoder (`pooler`) or,
    outside the encoder, the task head this code adds on purpose (`classifier`, `qa_outputs`). A headless load
    leaves the pooler out: only the sequence head reads it (Devlin et al. 2019); the others read hidden states.
    `advice` maps a module to what the user can do about it, said on its line."""
    advice = advice or {}
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
        + (
            f"(the {head} task head)"
            if is_head
            else f"(not in the checkpoint{'; ' + advice[module] if module in advice else ''})"
        )
        for module, is_head in modules.items()
    ]


def pick_device(requested: str = "auto") -> torch.device:
    """`auto` means CUDA when present, else CPU; otherwise a torch device name (`cpu`, `cuda`, `cuda:1`, ...),
    a one-line UserError when it is not one or names a GPU this machine does not have."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    check_device(requested)
    return torch.device(requested)


def autocast(device: torch.device):
    """bf16 autocast on GPUs that support it; a no-op context elsewhere."""
    enabled = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def finite_states(states: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """`states` (hidden states a score is computed from), or a one-line UserError where any is NaN or infinite:
    a model whose weights are damaged (or whose numbers overflow) ranks every similarity, probe and alignment as
    NaN, which argmax reads as index 0: a score that looks real and is not."""
    if not bool(torch.isfinite(states).all()):
        name = getattr(model.config, "_name_or_path", "") or "the model"
        raise UserError(
            f"{name}: its hidden states hold NaN or infinite values, so no score is computed from them; its weights "
            "may be damaged (check the folder, or import it again), or its numbers overflow"
        )
    return states


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


def window_length(model: torch.nn.Module, longest: int = 512) -> int:
    """The longest input the model takes (its position table), at most `longest`: inputs are cut there, so that
    none overruns the model (retrieval's sentences at 512; fine-tuned tasks pass their evaluation window)."""
    return min(longest, position_limit(model.config.to_dict()) or longest)
