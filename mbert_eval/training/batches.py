"""Training and evaluation batches: dynamic padding (a batch is as wide as its longest member), length-sorted
batches for evaluation, and the batching choices for training."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import torch

from mbert_eval.config.experiment import BATCHINGS  # declared beside TrainingConfig
from mbert_eval.training.features import PAD_LABEL, SPAN_LABELS, Features  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    pass


MEGABATCH = 50  # batches per length-sorted group, as transformers' `group_by_length` (LengthGroupedSampler)


def collate(features: list[Features], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest member (dynamic padding) and move it to the device, with the features' labels:
    `labels` per token or per example, and `start_positions`/`end_positions` for span heads."""
    width = max(len(f["input_ids"]) for f in features)
    input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(features), width), dtype=torch.long)
    types = torch.zeros((len(features), width), dtype=torch.long)
    token_labels = isinstance(features[0].get("labels"), list)
    labels = torch.full((len(features), width), PAD_LABEL, dtype=torch.long) if token_labels else None
    for row, feature in enumerate(features):
        n = len(feature["input_ids"])
        input_ids[row, :n] = torch.tensor(feature["input_ids"])
        attention[row, :n] = 1
        if "token_type_ids" in feature:
            types[row, :n] = torch.tensor(feature["token_type_ids"])
        if token_labels:
            labels[row, :n] = torch.tensor(feature["labels"])
    batch = {"input_ids": input_ids, "attention_mask": attention, "token_type_ids": types}
    if token_labels:
        batch["labels"] = labels
    elif "labels" in features[0]:
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
    for key in SPAN_LABELS:
        if key in features[0]:
            batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)
    return {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}


def length_sorted_batches(
    features: list[Features], batch_size: int, rng: random.Random | None = None
) -> list[list[int]]:
    """Indices grouped into batches of similar length; with `rng`, batches come in random order
    and lengths are jittered a little so that each epoch sees different batch compositions."""
    if rng is None:
        order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    else:
        order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]) + rng.random() * 4)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def training_batches(features: list[Features], batch_size: int, rng: random.Random, batching: str) -> list[list[int]]:
    """One epoch's batches of indices (padding is dynamic in every case: a batch is as wide as its longest member).

    `random` (default): a random permutation cut into batches, as a plain loop and transformers' Trainer do.
    `megabatch`: a random permutation cut into groups of `MEGABATCH` batches, each group sorted by length
    (longest first) and cut into batches, as transformers' `group_by_length`. `sorted`: the whole set sorted by
    (jittered) length, batches shuffled. Grouping by length saves padding (e5-small on 1,500 LinES sentences:
    147 s instead of 250 s for 2 epochs) but every grouping measured, down to groups of 4 batches, lost about a
    point of dev and target accuracy against random batches, more than one standard deviation over seeds
    (`benchmarks/bench_finetune.py --study batching`); random batches match the plain loop."""
    if batching == "sorted":
        return length_sorted_batches(features, batch_size, rng)
    order = list(range(len(features)))
    rng.shuffle(order)
    if batching == "megabatch":
        group = batch_size * MEGABATCH
        order = [
            i
            for start in range(0, len(order), group)
            for i in sorted(order[start : start + group], key=lambda i: -len(features[i]["input_ids"]))
        ]
    elif batching != "random":
        raise ValueError(f"unknown batching {batching!r}; known: {', '.join(BATCHINGS)}")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
