"""The suite's AdamW: fused (or foreach) where the device allows, and the same updates as torch's reference loop."""

from __future__ import annotations

import copy

import pytest
import torch

from mbert_eval.training.optim import adamw, kernel, step_schedule


def small_model() -> torch.nn.Module:
    """Weight matrices (decayed) and biases and a LayerNorm (not decayed), an embedding as the suite's models."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Embedding(20, 8), torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    )


def reference_adamw(model: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """torch's single-tensor AdamW over the same two groups as `adamw`, built by hand."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [
            {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
        ],
        lr=learning_rate,
        foreach=False,
        fused=False,
    )


def train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int = 6) -> list[float]:
    """`steps` steps as `training/loop.py: _step` takes them: backward, clip at a norm small enough to bite,
    update, schedule (linear warm-up then decay), zero_grad; the same batches for every optimizer. Returns the
    pre-clipping gradient norms."""
    schedule = step_schedule(optimizer, steps, 0.3, "linear")
    batches = torch.Generator().manual_seed(1)
    norms = []
    for _ in range(steps):
        ids = torch.randint(0, 20, (4, 5), generator=batches)
        gold = torch.randint(0, 3, (4, 5), generator=batches)
        torch.nn.functional.cross_entropy(model(ids).reshape(-1, 3), gold.reshape(-1)).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)))
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    return norms


def test_adamw_picks_the_fused_kernel_on_cpu_and_keeps_the_decay_groups():
    model = small_model()
    optimizer = adamw(model, 1e-3, weight_decay=0.1)
    assert optimizer.defaults["fused"] is True
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    names = {id(p): name for name, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in decayed["params"]) == ["0.weight", "1.weight", "4.weight"]
    assert sorted(names[id(p)] for p in plain["params"]) == ["1.bias", "2.bias", "2.weight", "4.bias"]


def test_kernel_falls_back_to_foreach_then_to_the_loop():
    on_cpu = [torch.nn.Parameter(torch.zeros(2, 2))]
    assert kernel(on_cpu) == {"fused": True}
    assert kernel([torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.int64), requires_grad=False)]) == {
        "foreach": False
    }  # CPU has no foreach kernels, and fused needs floating point
    assert kernel([torch.nn.Parameter(torch.zeros(2, 2, device="meta"))]) == {"foreach": False}


@pytest.mark.parametrize("implementation", ["suite", "foreach"])
def test_updates_equal_the_reference_loop(implementation):
    reference = small_model()
    model = copy.deepcopy(reference)
    if implementation == "suite":
        optimizer = adamw(model, 1e-2, weight_decay=0.1)
    else:  # the foreach kernel (what `adamw` picks on devices without a fused one) runs on CPU too, if asked for
        optimizer = reference_adamw(model, 1e-2, weight_decay=0.1)
        for group in optimizer.param_groups:
            group["foreach"] = True
    norms = train(model, optimizer)
    reference_norms = train(reference, reference_adamw(reference, 1e-2, weight_decay=0.1))
    assert max(reference_norms) > 0.5  # clipping did act, and identically
    assert norms == pytest.approx(reference_norms, rel=1e-5)
    start = small_model()
    for (name, p), q, p0 in zip(model.named_parameters(), reference.parameters(), start.parameters()):
        assert not torch.equal(p, p0), name  # every parameter moved
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)


def test_weight_decay_reaches_matrices_only():
    """With zero gradients, AdamW's update is the decay alone: matrices shrink by lr × wd, the rest stays."""
    model = small_model()
    before = copy.deepcopy(model)
    optimizer = adamw(model, 0.1, weight_decay=0.5)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for (name, p), q in zip(model.named_parameters(), before.parameters()):
        torch.testing.assert_close(p, q * (1 - 0.05) if q.ndim >= 2 else q, msg=name)
