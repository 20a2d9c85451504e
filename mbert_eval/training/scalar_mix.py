"""Task heads over a learned softmax-weighted sum of all layers (scalar mix, Peters et al. 2018): per token or
sequence (`ScalarMixClassifier`) and for extractive QA's spans (`SpanMix`).

BERTology studies (Tenney et al. 2019; de Vries et al. 2020) find that a weighted combination of
layers can transfer better than the last layer alone. The learned weights are reported with the
results (`layer_weights`).
"""

from __future__ import annotations

import torch
from transformers.modeling_outputs import (
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

from mbert_eval.models.specs import Head


class ScalarMixClassifier(torch.nn.Module):
    """Encoder + scalar mix γ·Σ softmax(w)_l·h_l + a linear classifier per token or on [CLS]."""

    def __init__(self, encoder: torch.nn.Module, head: Head, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.head = head
        layers = encoder.config.num_hidden_layers + 1  # the embeddings count as layer 0
        self.mix_logits = torch.nn.Parameter(torch.zeros(layers))
        self.gamma = torch.nn.Parameter(torch.ones(1))
        self.dropout = torch.nn.Dropout(getattr(encoder.config, "hidden_dropout_prob", 0.1))
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    @property
    def base_model(self) -> torch.nn.Module:
        return self.encoder

    def layer_weights(self) -> list[float]:
        """The learned softmax weights, layer 0 (embeddings) first."""
        return [round(w, 6) for w in torch.softmax(self.mix_logits.detach().float(), 0).tolist()]

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ):
        """Classifier output (`loss` when labels are given, `logits`)."""
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        states = torch.stack(self.encoder(**inputs, output_hidden_states=True).hidden_states)
        weights = torch.softmax(self.mix_logits, 0).to(states.dtype)
        mixed = self.gamma * (weights[:, None, None, None] * states).sum(0)
        if self.head == "sequence":
            mixed = mixed[:, 0]
        logits = self.classifier(self.dropout(mixed))
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        output = TokenClassifierOutput if self.head == "token" else SequenceClassifierOutput
        return output(loss=loss, logits=logits)


class SpanMix(torch.nn.Module):
    """Start and end logits over a scalar mix of all layers (Peters et al. 2018): the `mix` method's QA head."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.mix = ScalarMixClassifier(encoder, "token", 2)
        self.config = encoder.config

    @property
    def base_model(self) -> torch.nn.Module:
        return self.mix.encoder

    def layer_weights(self) -> list[float]:
        """The learned softmax weights, layer 0 (embeddings) first."""
        return self.mix.layer_weights()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
    ) -> QuestionAnsweringModelOutput:
        """Start and end logits; with positions, the loss of transformers' span heads (the mean of the start and
        end cross-entropies)."""
        start, end = self.mix(input_ids, attention_mask, token_type_ids).logits.unbind(-1)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (
                torch.nn.functional.cross_entropy(start, start_positions)
                + torch.nn.functional.cross_entropy(end, end_positions)
            ) / 2
        return QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end)
