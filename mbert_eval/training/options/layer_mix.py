"""`mix` / `layer_mix: true`: the head reads a learned softmax-weighted sum of all layers (Peters et al. 2018)
instead of the last layer; the learned weights go to the log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mbert_eval.training.options.base import FineTuningOption, ModelHost

if TYPE_CHECKING:
    import torch

    from mbert_eval.training.fine_tuning import FineTuning


class LayerMix(FineTuningOption):
    name = "layer_mix"
    fields = ("layer_mix",)
    spelling = "mix"
    summary = "classify from a learned softmax-weighted sum of all layers (Peters et al. 2018)"
    example = "mix"

    def build(self, host: ModelHost, model_spec: str, num_labels: int) -> torch.nn.Module | None:
        from mbert_eval.models.encoders import load_model

        return host.mix_model(load_model(model_spec), num_labels)

    def log(self, model: torch.nn.Module, fine_tuning: FineTuning) -> dict[str, Any]:
        return {"layer_weights": model.layer_weights()}
