"""Fine-tuning options (what a method changes about fine-tuning itself, after its checkpoint steps): one file
each, registered here, the one place. `MethodConfig.from_name`, `validate`, `mbert-eval ls methods` and the one
`prepare` (`tasks.fine_tuned.TrainedTask`) read them from `OPTIONS`; see `base.FineTuningOption`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mbert_eval.registry import Registry
from mbert_eval.training.options.base import FineTuningOption, ModelHost
from mbert_eval.training.options.cache_frozen import CacheFrozen
from mbert_eval.training.options.freeze import Freeze
from mbert_eval.training.options.layer_mix import LayerMix

if TYPE_CHECKING:
    import torch

    from mbert_eval.config.experiment import MethodConfig
    from mbert_eval.training.batches import Features
    from mbert_eval.training.fine_tuning import FineTuning
    from mbert_eval.training.frozen_cache import FrozenPrefixCache

OPTIONS: Registry[FineTuningOption] = Registry("fine-tuning option")


def register(option: FineTuningOption) -> FineTuningOption:
    """Add `option` under its name, with its summary."""
    return OPTIONS.register(option.name, option, option.summary)


for _option in (Freeze(), LayerMix(), CacheFrozen()):
    register(_option)


def active_options(method: MethodConfig) -> list[FineTuningOption]:
    """The options `method` uses, by name: each stage of `prepare` runs their hooks in this order."""
    return [OPTIONS.get(name) for name in OPTIONS.names() if OPTIONS.get(name).active(method)]


def option_problems(method: MethodConfig, depths: Mapping[str, int | None] | None = None) -> list[str]:
    """Every registered option's problems with `method` (depths: the grid's models and their layer counts)."""
    return [problem for name in OPTIONS.names() for problem in OPTIONS.get(name).problems(method, depths or {})]


def describe_options() -> list[tuple[str, str]]:
    """(spelling, summary) of every option, for `mbert-eval ls methods`."""
    return [(OPTIONS.get(name).spelling, OPTIONS.summary(name)) for name in OPTIONS.names()]


def name_examples() -> dict[str, str]:
    """spelling → a method-name part, for the options that a method name can set (freeze<k> → freeze3)."""
    return {
        OPTIONS.get(name).spelling: OPTIONS.get(name).example for name in OPTIONS.names() if OPTIONS.get(name).example
    }


def build_model(options: list[FineTuningOption], host: ModelHost, model_spec: str, num_labels: int) -> torch.nn.Module:
    """The model the first option that builds one gives (validation keeps two builders apart), else the
    encoder with the task's plain head."""
    for option in options:
        model = option.build(host, model_spec, num_labels)
        if model is not None:
            return model
    from mbert_eval.models.encoders import load_model

    return load_model(model_spec, host.head, num_labels)


def prefix_cache(
    options: list[FineTuningOption],
    model: torch.nn.Module,
    features: list[Features],
    pad_id: int,
    device: torch.device,
    fine_tuning: FineTuning,
) -> FrozenPrefixCache | None:
    """The first cache an option gives for the training features, or None."""
    for option in options:
        cache = option.prefix_cache(model, features, pad_id, device, fine_tuning)
        if cache is not None:
            return cache
    return None


__all__ = [
    "OPTIONS",
    "FineTuningOption",
    "ModelHost",
    "active_options",
    "build_model",
    "describe_options",
    "name_examples",
    "option_problems",
    "prefix_cache",
    "register",
]
