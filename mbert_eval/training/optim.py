"""The one optimizer and learning-rate rule of every training loop: fine-tuning, pretraining (MLM/TLM) and
alignment-aware fine-tuning all take their AdamW and their schedule from here."""

from __future__ import annotations

import math

import torch
from torch.optim.adam import adam
from torch.optim.optimizer import _default_to_fused_or_foreach

from mbert_eval.config.experiment import LR_SCHEDULES  # declared beside TrainingConfig
from mbert_eval.errors import UserError


def adamw(model: torch.nn.Module, learning_rate: float, weight_decay: float = 0.0, eps: float = 1e-8) -> AdamW:
    """AdamW (Loshchilov & Hutter 2019) over the trainable parameters, with weight decay on weight matrices only,
    not on biases and LayerNorm weights (BERT, Devlin et al. 2019). With `weight_decay` 0 it is Adam (Kingma & Ba
    2015), as Cao et al. (2020) use for alignment. The fastest of torch's three implementations that the
    parameters' device runs (`kernel`); an embedding matrix with sparse gradients is updated on its touched rows
    (`AdamW`)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    decayed = [p for p in trainable if p.ndim >= 2]
    plain = [p for p in trainable if p.ndim < 2]
    return AdamW(
        [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}],
        lr=learning_rate,
        eps=eps,
        **kernel(trainable),
    )


class AdamW(torch.optim.AdamW):
    """torch's AdamW that also takes an embedding matrix whose gradient is sparse (`nn.Embedding(sparse=True)`:
    `training.loop.sparse_word_embeddings`), and gives it the dense update at the cost of the rows touched so far.

    A row that no batch has touched yet has zero moments and a zero gradient, so dense AdamW moves it by weight
    decay alone (0/(0 + eps) = 0). Here every row decays as in the dense update, while the moments and the Adam step
    are kept and taken for the touched rows alone, by torch's own kernel, with the matrix's one step count. Rows once
    touched are updated at every later step, as dense AdamW updates them. The result is dense AdamW's within float
    rounding (`tests/training/test_optim.py`). For multilingual-e5-small, whose 250k × 384 matrix is 96M of its
    118M parameters, a batch of 32 English LinES sentences touches 185-277 rows and the whole training set (3,457
    sentences) 7,020: no 384 MB dense gradient per step, 22-43 MB of moments instead of 768 MB, and a fifth less
    time per step on one CPU thread; the whole fine-tuning takes 0.90x Trainer's CPU time and 0.71x its memory
    (`benchmarks/bench_finetune.py --study trainer`)."""

    def step(self, closure=None):  # noqa: ANN001, ANN201 - torch's signature
        """torch's step over the dense gradients, then the touched rows of each sparse one (`_rows_step`); a
        `closure` runs first, as it makes the gradients."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        sparse = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if state and p.grad.is_sparse != ("slot" in state):  # the state of the other layout would be misread
                    raise ValueError("a parameter's gradient turned from sparse to dense, or back, between steps")
                if p.grad.is_sparse:
                    sparse.append((group, p))
        held = [p.grad for _, p in sparse]
        for _, p in sparse:
            p.grad = None  # torch's step takes dense gradients only; it passes over a parameter without one
        try:
            super().step()
        finally:
            for (_, p), grad in zip(sparse, held):
                p.grad = grad
        with torch.no_grad():
            for group, p in sparse:
                self._rows_step(group, p)
        return loss

    def load_state_dict(self, state_dict: dict) -> None:
        """torch's, but for the touched rows' indices (`slot`, `rows`), which torch would cast to the parameter's
        dtype as it casts every state tensor but `step`: they are put back as they were saved."""
        indices = {
            number: {key: state[key] for key in ("slot", "rows") if key in state}
            for number, state in state_dict["state"].items()
        }
        super().load_state_dict(state_dict)
        parameters = [p for group in self.param_groups for p in group["params"]]  # as the saved numbers count them
        for number, kept in indices.items():
            for key, value in kept.items():
                self.state[parameters[number]][key] = value.to(parameters[number].device)

    def _rows_step(self, group: dict, parameter: torch.Tensor) -> None:
        """One AdamW step of `parameter` (rows × width) on its touched rows. The state keeps the touched rows in
        the order they were first touched (`rows`, its first `touched` entries), each row's place in that order
        (`slot`, -1 for a row not touched yet) and the moments in the same order; a row touched for the first time
        is appended (the buffers double when full, so that a long run does not copy them at every step). The whole
        matrix decays, and torch's kernel updates the touched rows' values and moments; the values are then
        written back."""
        if group["amsgrad"] or group["maximize"]:
            raise ValueError("a sparse gradient takes AdamW without amsgrad or maximize")
        grad = parameter.grad.coalesce()  # each row once
        now = grad.indices()[0]
        state = self.state[parameter]
        if not state:
            on = parameter.device if group["fused"] or group["capturable"] else torch.device("cpu")
            state["step"] = torch.zeros((), dtype=torch.float32, device=on)  # where torch keeps it
            state["slot"] = torch.full((len(parameter),), -1, dtype=torch.long, device=parameter.device)
            state["rows"] = now.new_empty(0)
            state["exp_avg"] = parameter.new_zeros((0, *parameter.shape[1:]))
            state["exp_avg_sq"] = parameter.new_zeros((0, *parameter.shape[1:]))
            state["touched"] = 0
        new = now[state["slot"][now] < 0]
        before, touched = state["touched"], state["touched"] + len(new)
        if touched > len(state["rows"]):  # full: the buffers double
            room = max(touched, 2 * len(state["rows"]))
            grown = now.new_empty(room)
            grown[:before] = state["rows"][:before]
            state["rows"] = grown
            for key in ("exp_avg", "exp_avg_sq"):
                moments = parameter.new_zeros((room, *parameter.shape[1:]))
                moments[:before] = state[key][:before]
                state[key] = moments
        state["rows"][before:touched] = new
        state["slot"][new] = torch.arange(before, touched, device=now.device)
        state["touched"] = touched
        rows = state["rows"][:touched]
        gradient = parameter.new_zeros((touched, *parameter.shape[1:]))
        gradient[state["slot"][now]] = grad.values()
        if group["weight_decay"]:  # every row: an untouched one too decays in the dense update
            parameter.mul_(1 - group["lr"] * group["weight_decay"])
        values = parameter[rows]
        beta1, beta2 = group["betas"]
        adam(
            [values],
            [gradient],
            [state["exp_avg"][:touched]],
            [state["exp_avg_sq"][:touched]],
            [],
            [state["step"]],
            foreach=group["foreach"],
            fused=group["fused"],
            capturable=group["capturable"],
            decoupled_weight_decay=True,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=0.0,  # applied above, to every row
            eps=group["eps"],
            maximize=False,
        )
        parameter.index_copy_(0, rows, values)


def clip_gradients(parameters: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """torch's `clip_grad_norm_` (Pascanu et al. 2013), sparse gradients too (`AdamW`), which torch's refuses:
    the norm of all gradients together, each scaled by max_norm / (norm + 1e-6) where that is below 1 (torch's
    formula). Returns the norm before clipping."""
    if not any(p.grad is not None and p.grad.is_sparse for p in parameters):
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    gradients = []
    for p in parameters:
        if p.grad is not None and p.grad.is_sparse:
            p.grad = p.grad.coalesce()  # each row once: its values are its gradient
            gradients.append(p.grad.values())
        elif p.grad is not None:
            gradients.append(p.grad)
    norm = torch.nn.utils.get_total_norm(gradients)
    torch._foreach_mul_(gradients, torch.clamp(max_norm / (norm + 1e-6), max=1.0))
    return norm


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
    and its step, `setting` the learning rate to lower (its key and value). A model whose weights hold NaN gives
    the same loss from its first step: the line says that too."""
    if not math.isfinite(loss):
        raise UserError(
            f"{where}: the training loss became {loss} (training diverged, or the model's weights hold NaN or "
            f"infinite values); lower {setting}, or check the model"
        )
    return loss
