"""The one optimizer and learning-rate rule of every training loop: fine-tuning, pretraining (MLM/TLM) and
alignment-aware fine-tuning all take their AdamW and their schedule from here."""

from __future__ import annotations

import math

import torch
from torch.optim.optimizer import _default_to_fused_or_foreach

from mbert_eval.config.experiment import LR_SCHEDULES  # declared beside TrainingConfig
from mbert_eval.errors import UserError


def adamw(
    model: torch.nn.Module, learning_rate: float, weight_decay: float = 0.0, eps: float = 1e-8
) -> torch.optim.AdamW:
    """AdamW (Loshchilov & Hutter 2019) over the trainable parameters, with weight decay on weight matrices only,
    not on biases and LayerNorm weights (BERT, Devlin et al. 2019). With `weight_decay` 0 it is Adam (Kingma & Ba
    2015), as Cao et al. (2020) use for alignment. The fastest of torch's three implementations that the
    parameters' device runs (`kernel`)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    decayed = [p for p in trainable if p.ndim >= 2]
    plain = [p for p in trainable if p.ndim < 2]
    return torch.optim.AdamW(
        [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}],
        lr=learning_rate,
        eps=eps,
        **kernel(trainable),
    )


def kernel(parameters: list[torch.Tensor]) -> dict[str, bool]:
    """Fused where every parameter's device has torch's fused AdamW kernel (CPU, CUDA, ...), else foreach (one
    kernel per op over all tensors), else the reference loop over one tensor at a time: the same update within
    float rounding (`tests/training/test_optim.py`). torch picks foreach by default but never fused; on CPU it
    falls back to the loop, which makes temporaries the size of the largest tensor and takes 9× the fused step's
    time (e5-small, whose 250k × 384 embedding matrix is 384 MB: 0.66 s against 0.07 s per step on one CPU thread,
    and 0.74 GB more peak memory). Fused is transformers' Trainer's default (torch >= 2.8); `benchmarks/
    bench_finetune.py --study trainer` measures the whole loop against it. The rule is torch's own."""
    fused, foreach = _default_to_fused_or_foreach(parameters, differentiable=False, use_fused=True)
    return {"fused": True} if fused else {"foreach": foreach}


def lr_factor(done: float, warmup_ratio: float, schedule: str = "linear") -> float:
    """The learning-rate factor when `done` (in [0, 1]) of the run is over: linear warm-up over the first
    `warmup_ratio`, then linear decay to 0 (BERT, Devlin et al. 2019; XTREME, Hu et al. 2020) or constant."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; known: {', '.join(LR_SCHEDULES)}")
    if done < warmup_ratio:
        return done / warmup_ratio
    return max(0.0, (1.0 - done) / (1.0 - warmup_ratio)) if schedule == "linear" else 1.0


def step_schedule(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float, schedule: str
) -> torch.optim.lr_scheduler.LambdaLR:
    """`lr_factor` over a run of `total_steps` optimizer steps, as a torch scheduler stepped after each step."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step / max(total_steps, 1), warmup_ratio, schedule)
    )


def finite_loss(loss: float, where: str, setting: str) -> float:
    """A read-out of a training loop's loss, or a UserError where it is NaN or infinite: the weights diverged,
    and whatever were scored or saved from them would look like a result and not be one. `where` names the loop
    and its step, `setting` the learning rate to lower (its key and value)."""
    if not math.isfinite(loss):
        raise UserError(f"{where}: the training loss became {loss} (training diverged); lower {setting}")
    return loss
