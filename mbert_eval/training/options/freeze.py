"""`freeze<k>` / `freeze: k`: the embeddings and the bottom k layers get no gradient (Wu & Dredze 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mbert_eval.training.options.base import FineTuningOption

if TYPE_CHECKING:
    import torch

    from mbert_eval.config.experiment import MethodConfig
    from mbert_eval.training.fine_tuning import FineTuning


class Freeze(FineTuningOption):
    name = "freeze"
    fields = ("freeze",)
    spelling = "freeze<k>"
    summary = "freeze embeddings + bottom k layers while fine-tuning (Wu & Dredze 2019)"
    example = "freeze3"

    def problems(self, method: MethodConfig, depths: Mapping[str, int | None]) -> list[str]:
        if method.freeze < 0:
            return [f"freeze must be 0 or more, got {method.freeze}"]
        return [
            f"freeze {method.freeze} is beyond the depth of {model} ({depth} layers)"
            for model, depth in depths.items()
            if depth is not None and method.freeze > depth
        ]

    def adjust(self, model: torch.nn.Module, fine_tuning: FineTuning) -> None:
        from mbert_eval.models.encoders import freeze_lower_layers

        freeze_lower_layers(model, fine_tuning.method.freeze)
