"""The one fine-tuning loop and the one evaluation loop that every task uses.

Batches are length-sorted with dynamic padding (only as wide as their longest member), evaluation
runs under `torch.inference_mode`, and bf16 autocast is used where a GPU allows. The best epoch is
chosen by the source-language dev score, as in XTREME (Hu et al. 2020).
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from mbert_eval.models.encoders import autocast
from mbert_eval.models.progress import progress_bar
from mbert_eval.training.batches import (
    PAD_LABEL,
    Features,
    collate,
    length_sorted_batches,
    training_batches,
)
from mbert_eval.training.optim import adamw, clip_gradients, finite_loss, step_schedule

if TYPE_CHECKING:
    from accelerate import Accelerator

    from mbert_eval.config.experiment import TrainingConfig
    from mbert_eval.training.fine_tuning import FineTuning
    from mbert_eval.training.frozen_cache import FrozenPrefixCache


def seed_everything(seed: int) -> None:
    """Seed torch, Python's `random` and NumPy, so that what follows depends on `seed` alone and not on what
    the process did before (a checkpoint built just now consumes random state; one loaded from a cache does not)."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def freeze_word_embeddings(model: torch.nn.Module) -> None:
    """No gradient (and so no optimizer state) for the word-embedding matrix. With a 250k-piece vocabulary it is
    most of the model (96M of multilingual-e5-small's 118M parameters); where it trains through a dense gradient
    (on a GPU, under DDP: `sparse_word_embeddings`), freezing it saves that gradient and both Adam moments
    (3 × 384 MB for e5-small) and their time (`benchmarks/bench_finetune.py` measures both, and the scores).
    Freezing embeddings for transfer: Wu & Dredze 2019; Artetxe et al. 2020."""
    getattr(model, "base_model", model).get_input_embeddings().weight.requires_grad_(False)


@contextmanager
def sparse_word_embeddings(model: torch.nn.Module, device: torch.device, distributed: bool) -> Iterator[None]:
    """While training on a CPU in one process, the word-embedding matrix gets a sparse gradient (the rows a batch
    touches), which the suite's `AdamW` turns into dense AdamW's update at the cost of the touched rows
    (`training.optim.AdamW`: for e5-small's 250k-row matrix, no 384 MB gradient per step, moments for the touched
    rows alone, a fifth less time per step). Not where the matrix is frozen, tied to another module (a
    masked-LM decoder, whose gradient is dense), renormalized (`max_norm`), nor under DDP, nor on a GPU (not
    measured there: its syncs per step may cost more than the passes they save). The module is as it was after."""
    embedding = getattr(model, "base_model", model).get_input_embeddings()
    sparse = (
        device.type == "cpu"
        and not distributed
        and isinstance(embedding, torch.nn.Embedding)
        and embedding.weight.requires_grad
        and embedding.max_norm is None
        and sum(p is embedding.weight for _, p in model.named_parameters(remove_duplicate=False)) == 1
    )
    if not sparse:
        yield
        return
    was, embedding.sparse = embedding.sparse, True
    try:
        yield
    finally:
        embedding.sparse = was


def checkpoint_activations(model: torch.nn.Module) -> None:
    """Keep only each encoder layer's input in the forward pass and recompute the layer in the backward pass
    (Chen et al. 2016, "Training deep nets with sublinear memory cost"), through transformers' own switch.
    For e5-small, a batch of 32 × 128 tokens keeps about 2 GB of activations without it; non-reentrant
    checkpoints, so frozen bottom layers (no input gradient) stay correct."""
    getattr(model, "base_model", model).activation_checkpointing_enable(
        activation_checkpointing_kwargs={"use_reentrant": False}
    )


def model_inputs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop token_type_ids for models that have none (RoBERTa/XLM-R keep a size-1 table)."""
    if getattr(model.config, "type_vocab_size", 2) < 2:
        return {k: v for k, v in batch.items() if k != "token_type_ids"}
    return batch


def predict(
    model: torch.nn.Module,
    features: list[Features],
    pad_id: int,
    device: torch.device,
    batch_size: int = 128,
    progress: str | None = None,
) -> list[np.ndarray]:
    """Argmax label ids per example, in input order (token tasks: one per input position)."""
    model.eval()
    results: list[np.ndarray | None] = [None] * len(features)
    batches = length_sorted_batches(features, batch_size)
    with torch.inference_mode(), autocast(device):
        for indices in progress_bar(batches, shown=progress is not None, desc=progress, leave=False):
            batch = collate([features[i] for i in indices], pad_id, device)
            batch.pop("labels", None)
            predicted = model(**model_inputs(model, batch)).logits.argmax(-1).cpu().numpy()
            for row, index in enumerate(indices):
                n = len(features[index]["input_ids"])
                results[index] = predicted[row, :n] if predicted.ndim == 2 else predicted[row]
    return results  # type: ignore[return-value]


def distributed_accelerator() -> Accelerator | None:
    """An `accelerate.Accelerator` when this process is one of several launched together
    (`accelerate launch`, torchrun: WORLD_SIZE > 1), else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from accelerate import Accelerator, DistributedDataParallelKwargs

    return Accelerator(kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def fine_tune(
    model: torch.nn.Module,
    train: list[Features],
    pad_id: int,
    device: torch.device,
    fine_tuning: FineTuning,
    dev_score: Callable[[torch.nn.Module], float] | None = None,
    progress: str = "fine-tuning",
    prefix_cache: FrozenPrefixCache | None = None,
    accelerator: Accelerator | None = None,
    keep_best: bool = True,
) -> tuple[torch.nn.Module, dict[str, object]]:
    """Fine-tune with AdamW and the training config's schedule; keep the epoch with the best dev score (XTREME),
    or, with `keep_best` False, the last one, the dev score per epoch only logged (XTREME's QA recipe). With
    `training.eval_steps` N, dev is scored every N optimizer steps and after the last one instead, and the best
    of those states is kept: XTREME scores dev every `save_steps` (Hu et al. 2020, `run_tag.py`, `run_classify.py`).

    With a `prefix_cache` (see `frozen_cache.py`), training batches skip the frozen layers. With an
    `accelerator` (default: `distributed_accelerator()`), each of its N processes takes every N-th
    example of each batch and DDP averages the gradients, so batch size, steps and schedule are those
    of one process. Returns the model (holding the best weights) and a log: dev score per epoch and
    the best epoch (with `eval_steps`, also the step of each score and the best step). The best state's weights
    wait in a temporary file, not in a second copy in memory.
    The global random state (dropout) is not reseeded here: `prepare` seeds it once per cell, before the head
    is drawn; batch order comes from a generator of its own, seeded with the cell's seed.
    """
    accelerator = accelerator or distributed_accelerator()
    settings = fine_tuning.training
    rng = random.Random(fine_tuning.seed)
    if settings.word_embeddings == "freeze":
        freeze_word_embeddings(model)
    if settings.activation_checkpointing:
        checkpoint_activations(model)
    model.to(device)
    total = math.ceil(len(train) / settings.batch_size) * settings.epochs
    optimizer = adamw(model, settings.learning_rate, settings.weight_decay)
    schedule = step_schedule(optimizer, total, settings.warmup_ratio, settings.lr_schedule)
    core, rank, world = model, 0, 1
    if accelerator is not None:  # the schedule stays unprepared: it counts the steps of one process
        model, optimizer = accelerator.prepare(model, optimizer)
        core, device = accelerator.unwrap_model(model), accelerator.device
        rank, world = accelerator.process_index, accelerator.num_processes
    trainable = [p for p in core.parameters() if p.requires_grad]
    every = settings.eval_steps  # None: dev is scored at the end of each epoch
    best_score, log = -math.inf, {"dev_scores": [], "best_epoch": None, **({"dev_steps": []} if every else {})}
    best_step, best_is_last, step = None, False, 0
    loss = torch.zeros((), device=device)  # summed over every step, read once per run of steps (one device sync)
    bar = progress_bar(total=total, desc=progress, leave=False)  # drawn by the first process only
    with (
        sparse_word_embeddings(core, device, world > 1),
        tempfile.TemporaryDirectory(prefix="mbert-eval-best-") as scratch,
    ):
        best_file = Path(scratch) / "best.pt"
        for epoch in range(settings.epochs):
            batches = training_batches(train, settings.batch_size, rng, settings.batching)
            start = 0
            while start < len(batches):  # runs of steps between two dev scores
                stop = len(batches) if every is None else min(len(batches), start + every - step % every)
                model.train()
                with prefix_cache.active() if prefix_cache else nullcontext():
                    for indices in batches[start:stop]:
                        weight = share_weight(train, indices, rank, world)
                        indices = indices[rank::world] or indices[-1:]  # this process's share of the batch
                        if prefix_cache:
                            prefix_cache.select(indices)
                        batch = collate([train[i] for i in indices], pad_id, device)
                        loss += _step(model, core, batch, trainable, optimizer, schedule, settings, accelerator, weight)
                        bar.update()
                step, start = step + stop - start, stop
                finite_loss(
                    loss.item(), f"{progress}, by step {step}", f"training.learning_rate ({settings.learning_rate})"
                )
                last = epoch + 1 == settings.epochs and stop == len(batches)  # the state training ends with
                if dev_score is None or (every is not None and step % every and not last):
                    continue
                score = dev_score(core)
                log["dev_scores"].append(score)
                if every is not None:
                    log["dev_steps"].append(step)
                bar.set_postfix(dev=f"{score:.4f}")
                if keep_best and score > best_score:
                    best_score, best_step, best_is_last, log["best_epoch"] = score, step, last, epoch + 1
                    if not last:  # the last state is the model itself
                        _save_state(core, best_file)
        bar.close()
        if every is not None and best_step is not None:
            log["best_step"] = best_step
        if best_step is not None and not best_is_last:
            core.load_state_dict(torch.load(best_file, map_location=device, weights_only=True), strict=False)
    return core, log


def share_weight(train: list[Features], indices: list[int], rank: int, world: int) -> float:
    """What this process's loss counts for in one batch of a data-parallel launch, where DDP averages the
    processes' gradients: `world` × its share of what the batch's loss averages over (its labelled tokens for
    token labels, else its examples), so that the average is the gradient of the whole batch's loss, as one
    process computes it (processes taking uneven shares, or none: 0). 1.0 for one process."""
    if world == 1:
        return 1.0
    units = [_loss_units(train[i]) for i in indices]
    total = sum(units)
    return world * sum(units[rank::world]) / total if total else 1.0


def _loss_units(feature: Features) -> int:
    """What a model's loss averages over in one example: its labelled tokens (token labels), else the example."""
    labels = feature.get("labels")
    return sum(label != PAD_LABEL for label in labels) if isinstance(labels, list) else 1


def _step(
    model, core, batch, trainable, optimizer, schedule, settings: TrainingConfig, accelerator, weight: float = 1.0
) -> torch.Tensor:
    """One optimizer step on one batch: forward (bf16 autocast on GPUs), backward of the loss × `weight` (this
    process's share: `share_weight`), clip, update; returns the loss, detached (no device sync)."""
    with autocast(batch["input_ids"].device):
        loss = model(**model_inputs(core, batch)).loss
    if weight != 1.0:
        loss = loss * weight
    if accelerator is not None:
        accelerator.backward(loss)
    else:
        loss.backward()
    clip_gradients(trainable, settings.max_grad_norm)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach().float()


def _save_state(model: torch.nn.Module, path: Path) -> None:
    """The trainable state of the best epoch, kept in a file rather than as a second copy in memory (frozen
    parameters cannot change, so they are left out)."""
    frozen = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
    torch.save({k: v for k, v in model.state_dict().items() if k not in frozen}, path)
