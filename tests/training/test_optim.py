"""The suite's AdamW: fused (or foreach) where the device allows, and the same updates as torch's reference loop."""

from __future__ import annotations

import copy

import pytest
import torch

from mbert_eval.training.optim import adamw, clip_gradients, kernel, step_schedule


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


def test_a_sparse_embedding_gradient_gets_dense_adamws_update_on_the_touched_rows():
    """An embedding with sparse gradients (`training.loop.sparse_word_embeddings`) against the same model dense:
    rows touched once early and never again keep moving by their moments, rows never touched decay alone, clipping
    bites alike, and the moments are kept for the touched rows only."""
    torch.manual_seed(0)
    dense = torch.nn.Sequential(
        torch.nn.Embedding(50, 8), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    )
    sparse = copy.deepcopy(dense)
    sparse[0].sparse = True
    start = copy.deepcopy(dense)
    reference = torch.optim.AdamW(  # torch's own, fused, over `adamw`'s groups
        [
            {"params": [p for p in dense.parameters() if p.ndim >= 2], "weight_decay": 0.1},
            {"params": [p for p in dense.parameters() if p.ndim < 2], "weight_decay": 0.0},
        ],
        lr=1e-2,
        fused=True,
    )
    optimizer = adamw(sparse, 1e-2, weight_decay=0.1)
    schedules = [step_schedule(o, 6, 0.3, "linear") for o in (reference, optimizer)]
    batches = torch.Generator().manual_seed(1)
    touched, clipped, decay = set(), [], 1.0
    for step in range(6):  # step k reads rows 5k..5k+9: rows 0-4 only at the first step, rows 35-49 never
        ids = torch.randint(5 * step, 5 * step + 10, (4, 5), generator=batches)
        gold = torch.randint(0, 3, (4, 5), generator=batches)
        touched |= set(ids.flatten().tolist())
        norms = []
        for model, clip in ((dense, torch.nn.utils.clip_grad_norm_), (sparse, clip_gradients)):
            torch.nn.functional.cross_entropy(model(ids).reshape(-1, 3), gold.reshape(-1)).backward()
            norms.append(float(clip(list(model.parameters()), 0.4)))
        assert sparse[0].weight.grad.is_sparse and not dense[0].weight.grad.is_sparse
        clipped.append(norms[0] > 0.4)
        assert norms[1] == pytest.approx(norms[0], rel=1e-5)
        decay *= 1 - optimizer.param_groups[0]["lr"] * 0.1
        for o, schedule in zip((reference, optimizer), schedules):
            o.step()
            schedule.step()
            o.zero_grad(set_to_none=True)
    assert any(clipped) and not all(clipped)
    for (name, p), q in zip(sparse.named_parameters(), dense.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    decayed = start[0].weight.detach() * decay  # where weight decay alone would have taken each row
    moved = (sparse[0].weight - decayed).abs().amax(1) > 1e-4
    assert moved[:5].all() and not moved[40:].any()  # rows 0-4: moments after their one step; 40-49: decay alone
    assert decay < 0.999 and not torch.equal(sparse[0].weight[40:], start[0].weight[40:])  # ... which did act
    state = optimizer.state[sparse[0].weight]
    rows = state["rows"][: state["touched"]]
    assert sorted(rows.tolist()) == sorted(touched) and len(state["exp_avg"]) >= len(touched)
    assert state["slot"][rows].tolist() == list(range(len(touched))) and (state["slot"] == -1).sum() == 50 - len(
        touched
    )
    assert float(state["step"]) == 6


def test_clipping_a_sparse_gradient_is_torchs_clipping_of_the_dense_one():
    torch.manual_seed(0)
    dense = torch.nn.Sequential(torch.nn.Embedding(30, 4), torch.nn.Linear(4, 2))
    sparse = copy.deepcopy(dense)
    sparse[0].sparse = True
    ids = torch.tensor([[1, 2, 2, 7], [7, 7, 3, 1]])  # repeated rows: a sparse gradient holds each once it is coalesced
    for model in (dense, sparse):
        model(ids).pow(2).sum().backward()
    norm = torch.nn.utils.clip_grad_norm_(list(dense.parameters()), 0.1)
    assert float(clip_gradients(list(sparse.parameters()), 0.1)) == pytest.approx(float(norm), rel=1e-6) and norm > 0.1
    torch.testing.assert_close(sparse[0].weight.grad.to_dense(), dense[0].weight.grad)
    torch.testing.assert_close(sparse[1].weight.grad, dense[1].weight.grad)


def sparse_model() -> torch.nn.Module:
    """An embedding with sparse gradients under a linear layer."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Embedding(30, 4, sparse=True), torch.nn.Linear(4, 2))


def backward(model: torch.nn.Module, step: int) -> torch.Tensor:
    """A loss over rows `step`..`step`+5 of the embedding, its gradients made."""
    loss = model(torch.arange(step, step + 6).reshape(2, 3)).pow(2).sum()
    loss.backward()
    return loss


def test_a_sparse_parameters_state_survives_saving_and_loading():
    """torch casts a state's tensors to the parameter's dtype when it loads them; the touched rows' indices stay
    whole numbers, and training goes on as if nothing had been saved."""
    models = [sparse_model(), sparse_model()]
    optimizers = [adamw(model, 1e-2, weight_decay=0.1) for model in models]
    for step in range(2):
        for model, optimizer in zip(models, optimizers):
            backward(model, step)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    optimizers[1] = adamw(models[1], 1e-2, weight_decay=0.1)
    optimizers[1].load_state_dict(copy.deepcopy(optimizers[0].state_dict()))
    state = optimizers[1].state[models[1][0].weight]
    assert state["slot"].dtype == state["rows"].dtype == torch.long
    for step in range(2, 4):
        for model, optimizer in zip(models, optimizers):
            backward(model, step)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    for p, q in zip(*(model.parameters() for model in models)):
        torch.testing.assert_close(p, q)


def test_a_closure_makes_the_sparse_gradient_it_steps_on():
    with_closure, plain = sparse_model(), sparse_model()
    optimizers = [adamw(model, 1e-2) for model in (with_closure, plain)]
    loss = optimizers[0].step(lambda: backward(with_closure, 0))
    backward(plain, 0)
    optimizers[1].step()
    assert loss is not None
    torch.testing.assert_close(with_closure[0].weight, plain[0].weight)


def test_a_gradient_that_changes_layout_between_steps_is_refused():
    """The state of one layout would be misread as the other's (torch's fused kernel reads moments of the wrong
    size): a clear error instead."""
    for first_sparse in (True, False):
        model = sparse_model()
        model[0].sparse = first_sparse
        optimizer = adamw(model, 1e-2)
        backward(model, 0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        model[0].sparse = not first_sparse
        backward(model, 1)
        with pytest.raises(ValueError, match="turned from sparse to dense, or back"):
            optimizer.step()
