"""Compute the frozen part of an encoder once and reuse it across fine-tuning epochs.

With the embeddings and the bottom k layers frozen (Wu & Dredze 2019), their output for a training
sentence never changes if dropout is off there, so it is computed once up front. During training
the frozen layers are skipped and the cached states enter layer k directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from mbert_eval.models.encoders import encoder_parts
from mbert_eval.training.batches import Features, collate, length_sorted_batches


class PassThrough(torch.nn.Module):
    """Stands in for a skipped transformer layer: returns its input hidden states."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return hidden_states


class FrozenPrefixCache:
    """Hidden states after the frozen embeddings + bottom `k` layers, one tensor per training example."""

    def __init__(
        self,
        model: torch.nn.Module,
        k: int,
        features: list[Features],
        pad_id: int,
        device: torch.device,
        batch_size: int = 64,
    ) -> None:
        self.model, self.k, self.device = model, k, device
        self.embeddings, self.layers = encoder_parts(model)
        self.states: list[torch.Tensor] = [torch.empty(0)] * len(features)
        self.current: torch.Tensor | None = None
        base = getattr(model, "base_model", model)
        full = base.encoder.layer
        base.encoder.layer = torch.nn.ModuleList(full[:k])
        was_training = model.training
        model.eval()  # dropout off in the frozen part
        try:
            with torch.inference_mode():
                for indices in length_sorted_batches(features, batch_size):
                    batch = collate([features[i] for i in indices], pad_id, device)
                    batch.pop("labels", None)
                    hidden = base(**batch).last_hidden_state.to("cpu")
                    for row, index in enumerate(indices):
                        self.states[index] = hidden[row, : len(features[index]["input_ids"])].clone()
        finally:
            base.encoder.layer = full
            model.train(was_training)

    def select(self, indices: list[int]) -> None:
        """Make the next forward pass use the cached states of these examples (padded)."""
        width = max(len(self.states[i]) for i in indices)
        hidden = self.states[indices[0]].shape[-1]
        batch = torch.zeros((len(indices), width, hidden))
        for row, index in enumerate(indices):
            batch[row, : len(self.states[index])] = self.states[index]
        self.current = batch.to(self.device)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Within this block, forward passes skip the frozen layers and read the cache instead."""
        originals = [self.layers[i] for i in range(self.k)]
        for i in range(self.k):
            self.layers[i] = PassThrough()
        handle = self.embeddings.register_forward_hook(lambda module, args, output: self.current)
        try:
            yield
        finally:
            handle.remove()
            for i, layer in enumerate(originals):
                self.layers[i] = layer
            self.current = None
