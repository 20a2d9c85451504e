"""The interface of a fine-tuning option: what it declares and its hooks into the one `prepare`
(`tasks.fine_tuned.TrainedTask.prepare`), stage by stage. Every hook does nothing by default."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import torch

    from mbert_eval.config.experiment import MethodConfig
    from mbert_eval.training.batches import Features
    from mbert_eval.training.fine_tuning import FineTuning
    from mbert_eval.training.frozen_cache import FrozenPrefixCache


class ModelHost(Protocol):
    """What an option may ask of the task being fine-tuned (a `TrainedTask`)."""

    head: Any  # "token", "sequence" or "span"

    def mix_model(self, encoder: torch.nn.Module, num_labels: int) -> torch.nn.Module:
        """The task's head over a scalar mix of all of `encoder`'s layers."""


class FineTuningOption:
    """One fine-tuning option. It declares its `MethodConfig` field(s) (`fields`; the field itself, with its
    method-name syntax, is declared on `MethodConfig`), how `ls` writes it (`spelling`) with its one-line
    `summary`, a method-name part to suggest (`example`), its `problems` (what `validate` reports), and hooks
    into `prepare`: `build` the model (instead of the encoder with the task's plain head), `adjust` it,
    give a `prefix_cache` for the training features, add to the `log`."""

    name: ClassVar[str]  # its registry name
    fields: ClassVar[tuple[str, ...]] = ()  # its MethodConfig fields
    spelling: ClassVar[str]  # as `mbert-eval ls methods` writes it: freeze<k>, mix, cache_frozen
    summary: ClassVar[str]  # one line for `ls`
    example: ClassVar[str | None] = None  # a method-name part that sets it (for "did you mean"), if names can

    def active(self, method: MethodConfig) -> bool:
        """Whether `method` uses this option: any of its fields set away from the default."""
        defaults = {item.name: item.default for item in dataclasses.fields(method)}
        return any(getattr(method, name) != defaults[name] for name in self.fields)

    def problems(self, method: MethodConfig, depths: Mapping[str, int | None]) -> list[str]:
        """What is wrong with this option's settings in `method`, given the grid's models and their depths
        (None: unknown)."""
        return []

    def build(self, host: ModelHost, model_spec: str, num_labels: int) -> torch.nn.Module | None:
        """A model with a new head for `host`'s task, or None to leave the building to the task's plain head."""
        return None

    def adjust(self, model: torch.nn.Module, fine_tuning: FineTuning) -> None:
        """Change the built model before training (freeze parameters, add modules)."""

    def prefix_cache(
        self,
        model: torch.nn.Module,
        features: list[Features],
        pad_id: int,
        device: torch.device,
        fine_tuning: FineTuning,
    ) -> FrozenPrefixCache | None:
        """A cache of what training need not recompute for `features` (the task's training features)."""
        return None

    def log(self, model: torch.nn.Module, fine_tuning: FineTuning) -> dict[str, Any]:
        """What the trained model adds to the cell's log (stored with its rows)."""
        return {}
