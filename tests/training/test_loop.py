"""The fine-tuning loop's options: how batches are formed, the word-embedding matrix frozen, the learning-rate
schedule, and the best epoch kept in a file."""

import contextlib
import itertools
import random

import pytest
import torch

from mbert_eval.config.experiment import TrainingConfig, render_identity
from mbert_eval.models.encoders import freeze_lower_layers, load_model
from mbert_eval.training.batches import BATCHINGS, MEGABATCH, training_batches
from mbert_eval.training.loop import fine_tune, predict, sparse_word_embeddings
from mbert_eval.training.optim import adamw, lr_factor, step_schedule
from mbert_eval.training.scalar_mix import ScalarMixClassifier
from tests.helpers import fine_tuning, token_features


def _lengths(n: int = 10 * 32 * MEGABATCH // 4) -> list[dict]:
    rng = random.Random(0)
    return [{"input_ids": [0] * rng.randint(3, 120)} for _ in range(n)]


@pytest.mark.parametrize("batching", BATCHINGS)
def test_every_example_once_per_epoch(batching):
    features = _lengths()
    batches = training_batches(features, 32, random.Random(1), batching)
    assert sorted(i for batch in batches for i in batch) == list(range(len(features)))
    assert all(len(batch) <= 32 for batch in batches)


def test_batchings_differ_in_padding_as_designed():
    """Padding (max length × batch size − tokens) over an epoch: sorted and megabatch far below random."""
    features = _lengths()

    def padding(batching: str) -> int:
        batches = training_batches(features, 32, random.Random(1), batching)
        return sum(
            max(len(features[i]["input_ids"]) for i in b) * len(b) - sum(len(features[i]["input_ids"]) for i in b)
            for b in batches
        )

    assert max(padding("sorted"), padding("megabatch")) < padding("random") / 2
    # megabatch: within each group of MEGABATCH batches the examples come longest first
    batches = training_batches(features, 32, random.Random(1), "megabatch")
    group = [len(features[i]["input_ids"]) for b in batches[:MEGABATCH] for i in b]
    assert group == sorted(group, reverse=True)
    # random: a batch mixes short and long sentences
    first = [len(features[i]["input_ids"]) for i in training_batches(features, 32, random.Random(1), "random")[0]]
    assert max(first) - min(first) > 60


def test_frozen_word_embeddings_do_not_change_and_have_no_optimizer_state(tiny_model):
    for make in (
        lambda: load_model(str(tiny_model), "token", 3),
        lambda: ScalarMixClassifier(load_model(str(tiny_model)), "token", 3),
    ):
        model = make()
        before = model.base_model.get_input_embeddings().weight.detach().clone()
        layer = next(p for n, p in model.named_parameters() if "layer.0.attention.self.query.weight" in n)
        layer_before = layer.detach().clone()
        settings = fine_tuning(learning_rate=1e-2, epochs=1, batch_size=4, word_embeddings="freeze")
        model, _ = fine_tune(model, token_features(), 0, torch.device("cpu"), settings)
        embedding = model.base_model.get_input_embeddings().weight
        assert torch.equal(embedding, before) and not embedding.requires_grad
        assert not torch.equal(layer, layer_before)  # the rest still trains
        optimizer = adamw(model, settings.training.learning_rate)
        assert id(embedding) not in {id(p) for group in optimizer.param_groups for p in group["params"]}


def test_fine_tuning_on_cpu_gives_the_word_embeddings_sparse_gradients_and_dense_adamws_weights(
    tiny_model, monkeypatch
):
    """The CPU loop trains the word-embedding matrix through sparse gradients, on its touched rows
    (`training.optim.AdamW`), to the weights the dense gradient gives (weight decay and clipping included); the
    matrix is dense again after."""
    import mbert_eval.training.loop as loop

    trained, seen = {}, {}
    for way in ("sparse", "dense"):
        if way == "dense":
            monkeypatch.setattr(loop, "sparse_word_embeddings", lambda *args: contextlib.nullcontext())
        torch.manual_seed(0)  # the same new head
        model = load_model(str(tiny_model), "token", 3)
        embedding = model.base_model.get_input_embeddings()
        seen[way] = record = []
        settings = fine_tuning(learning_rate=1e-2, weight_decay=0.05, max_grad_norm=0.5, epochs=2, batch_size=4)
        model, _ = fine_tune(
            model,
            token_features(),
            0,
            torch.device("cpu"),
            settings,
            lambda m, record=record, embedding=embedding: record.append(embedding.sparse) or 0.0,
        )
        assert not embedding.sparse
        trained[way] = model.state_dict()
    assert seen == {"sparse": [True, True], "dense": [False, False]}
    initial = load_model(str(tiny_model), "token", 3).state_dict()
    words = "bert.embeddings.word_embeddings.weight"
    assert not torch.equal(trained["sparse"][words], initial[words])
    for key in trained["dense"]:
        torch.testing.assert_close(trained["sparse"][key], trained["dense"][key], rtol=1e-5, atol=1e-6, msg=key)


def test_word_embeddings_turn_sparse_only_where_their_update_stays_dense_adamws(tiny_model):
    from transformers import AutoModelForMaskedLM

    def sparse_inside(model, device="cpu", distributed=False) -> bool:
        with sparse_word_embeddings(model, torch.device(device), distributed):
            return model.base_model.get_input_embeddings().sparse

    assert sparse_inside(load_model(str(tiny_model), "token", 3))
    assert not sparse_inside(load_model(str(tiny_model), "token", 3), device="cuda")  # not measured on GPUs
    assert not sparse_inside(load_model(str(tiny_model), "token", 3), distributed=True)  # DDP reduces dense ones
    frozen = load_model(str(tiny_model), "token", 3)
    frozen.base_model.get_input_embeddings().weight.requires_grad_(False)
    assert not sparse_inside(frozen)
    tied = AutoModelForMaskedLM.from_pretrained(tiny_model)  # the decoder shares the matrix: its gradient is dense
    assert tied.get_output_embeddings().weight is tied.get_input_embeddings().weight and not sparse_inside(tied)
    already = load_model(str(tiny_model), "token", 3)
    already.base_model.get_input_embeddings().sparse = True
    with sparse_word_embeddings(already, torch.device("cpu"), False):
        pass
    assert already.base_model.get_input_embeddings().sparse  # left as it was found


def test_adamw_decays_weight_matrices_only_and_leaves_frozen_parameters_out(tiny_model):
    """BERT's rule (Devlin et al. 2019): weight decay on matrices, none on biases and LayerNorm weights; a frozen
    parameter is not in the optimizer at all."""
    model = load_model(str(tiny_model), "token", 3)
    freeze_lower_layers(model, 1)
    decayed, plain = adamw(model, learning_rate=1e-3, weight_decay=0.01).param_groups
    assert (decayed["weight_decay"], plain["weight_decay"]) == (0.01, 0.0)
    assert decayed["params"] and all(p.ndim >= 2 for p in decayed["params"])
    assert plain["params"] and all(p.ndim == 1 for p in plain["params"])
    optimized = {id(p) for p in decayed["params"] + plain["params"]}
    assert optimized == {id(p) for p in model.parameters() if p.requires_grad}
    assert any(not p.requires_grad for p in model.parameters())


def test_lr_factor_warms_up_then_decays_or_stays():
    assert [lr_factor(done, 0.2) for done in (0.0, 0.1, 0.2, 0.6, 1.0)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
    assert [lr_factor(done, 0.2, "constant") for done in (0.1, 0.2, 0.6, 1.0)] == pytest.approx([0.5, 1.0, 1.0, 1.0])
    assert lr_factor(0.0, 0.0) == 1.0 and lr_factor(0.5, 0.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'cosine'"):
        lr_factor(0.5, 0.1, "cosine")


def test_learning_rate_schedules(tiny_model):
    model = load_model(str(tiny_model), "token", 3)
    rates = {}
    for schedule in ("linear", "constant"):
        optimizer = adamw(model, learning_rate=1.0)
        scheduler = step_schedule(optimizer, total_steps=10, warmup_ratio=0.2, schedule=schedule)
        seen = []
        for _ in range(10):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        rates[schedule] = seen
    # one rule for every loop (BERT's): warm-up from 0 over the first 20% of the steps, then decay or stay
    assert rates["linear"][:3] == pytest.approx([0.0, 0.5, 1.0]) and rates["constant"][:3] == pytest.approx(
        [0.0, 0.5, 1.0]
    )
    assert rates["linear"][-1] == pytest.approx(1 / 8) and rates["constant"][2:] == pytest.approx([1.0] * 8)


@pytest.mark.parametrize("keep_best, kept", [(True, 0), (False, 2)])
def test_the_best_epoch_or_the_last_is_kept(tiny_model, keep_best, kept):
    """A dev score that peaks at epoch 1 of 3: the returned model holds epoch 1's weights, which come back from
    their file; without `keep_best` (XTREME's QA recipe) the last epoch's, dev only logged."""
    model = load_model(str(tiny_model), "token", 3)
    states, scores = [], iter([0.9, 0.5, 0.1])

    def dev_score(current):
        states.append({k: v.detach().clone() for k, v in current.state_dict().items()})
        return next(scores)

    settings = fine_tuning(learning_rate=1e-2, epochs=3, batch_size=4)
    model, log = fine_tune(model, token_features(), 0, torch.device("cpu"), settings, dev_score, keep_best=keep_best)
    assert log["best_epoch"] == (1 if keep_best else None) and log["dev_scores"] == [0.9, 0.5, 0.1]
    final = model.state_dict()
    assert all(torch.equal(final[k], states[kept][k]) for k in final)
    assert not all(torch.equal(states[2][k], states[0][k]) for k in final)  # the later epochs did move


@pytest.mark.parametrize("frozen_layers", [0, 1])
def test_activation_checkpointing_gives_the_same_weights(tiny_model, frozen_layers):
    """Recomputing activations in the backward (dropout replayed) trains to the same weights, with the bottom
    layers frozen or not; and it is not part of a cell's identity."""
    trained = {}
    for checkpointed in (False, True):
        torch.manual_seed(0)  # the same new head
        model = load_model(str(tiny_model), "token", 3)
        freeze_lower_layers(model, frozen_layers)
        settings = fine_tuning(learning_rate=1e-2, epochs=2, batch_size=4, activation_checkpointing=checkpointed)
        model, _ = fine_tune(model, token_features(), 0, torch.device("cpu"), settings)
        assert model.base_model.is_activation_checkpointing == checkpointed
        trained[checkpointed] = model.state_dict()
    initial = load_model(str(tiny_model), "token", 3).state_dict()
    top = [k for k in initial if "encoder.layer.1." in k]
    assert top and not all(torch.equal(trained[True][k], initial[k]) for k in top)  # the upper layer trained
    assert all(torch.allclose(trained[False][k], trained[True][k], atol=1e-6) for k in trained[False])
    given = {"seed": 1, "freeze": 0, "cache_frozen": False, "layer_mix": False}
    assert render_identity(TrainingConfig(activation_checkpointing=True), **given) == render_identity(
        TrainingConfig(), **given
    )


@pytest.mark.parametrize(
    "every, steps, scores, best",
    [
        (2, [2, 4, 6], [0.2, 0.9, 0.1], 1),  # the best state mid-epoch 2 (step 4 of 6) comes back from its file
        (5, [5, 6], [0.1, 0.3], 1),  # the last step scored too, though 6 is no multiple of 5; it is the model
        (4, [4, 6], [0.8, 0.1], 0),  # the first score is the best: a state from mid-epoch 2, restored
    ],
)
def test_dev_every_n_steps_keeps_the_best_state(tiny_model, every, steps, scores, best):
    """`training.eval_steps` (XTREME's `save_steps`): 12 examples in batches of 4 for 2 epochs are 6 steps; dev is
    scored every `every` steps and after the last, the best of those states is returned, and the log names the
    step and epoch of each."""
    model = load_model(str(tiny_model), "token", 3)
    states, given = [], iter(scores)

    def dev_score(current):
        states.append({k: v.detach().clone() for k, v in current.state_dict().items()})
        return next(given)

    settings = fine_tuning(learning_rate=1e-2, epochs=2, batch_size=4, eval_steps=every)
    model, log = fine_tune(model, token_features(), 0, torch.device("cpu"), settings, dev_score)
    assert log["dev_steps"] == steps and log["dev_scores"] == scores
    assert log["best_step"] == steps[best] and log["best_epoch"] == (steps[best] - 1) // 3 + 1
    final = model.state_dict()
    assert all(torch.equal(final[k], states[best][k]) for k in final)
    assert not all(torch.equal(states[0][k], states[-1][k]) for k in final)  # training went on between scores


def test_dev_every_n_steps_trains_as_the_epoch_loop_does(tiny_model):
    """Scoring dev between steps changes neither the batches nor the updates: the last state is the plain
    loop's last state (the random state is not touched by scoring; dropout is off while scoring)."""
    trained = {}
    for every in (None, 2):
        torch.manual_seed(0)  # the same new head and the same dropout
        model = load_model(str(tiny_model), "token", 3)
        settings = fine_tuning(learning_rate=1e-2, epochs=2, batch_size=4, eval_steps=every)
        rising = itertools.count()  # each score the best so far: the last state is kept
        model, log = fine_tune(model, token_features(), 0, torch.device("cpu"), settings, lambda _, c=rising: next(c))
        trained[every] = model.state_dict()
        assert len(log["dev_scores"]) == (2 if every is None else 3) and log["best_epoch"] == 2
    assert all(torch.equal(trained[None][k], trained[2][k]) for k in trained[None])


def test_a_diverged_loss_is_refused_before_any_score_is_kept(tiny_model):
    """A learning rate so large that the loss turns NaN: fine-tuning ends in one line that says so and what to
    lower (before, the NaN weights went on to be scored, and their scores were stored as results)."""
    from mbert_eval.errors import UserError

    model = load_model(str(tiny_model), "token", 3)
    scored = []
    settings = fine_tuning(learning_rate=1e20, batch_size=4, epochs=2)
    with pytest.raises(UserError, match=r"the training loss became nan .*lower training\.learning_rate \(1e\+20\)"):
        fine_tune(model, token_features(), 0, torch.device("cpu"), settings, lambda m: scored.append(1) or 0.5)
    assert scored == []  # no dev score taken from the diverged weights


@pytest.mark.parametrize("environment", [{"TQDM_DISABLE": "1"}, {"RANK": "1"}])
def test_neither_a_quiet_runs_worker_nor_a_later_process_of_a_launch_draws_a_bar(
    tiny_model, capsys, monkeypatch, environment
):
    """The loop's bars (fine-tuning, a named evaluation) are drawn where their caller asks, but never in a worker of a
    quiet run (TQDM_DISABLE=1, set by `api.hidden_progress`: tqdm reads it only as its default, which a bar that
    passes `disable=` overrides) nor in any process of a launch but the first (RANK, as torchrun sets it)."""
    model = load_model(str(tiny_model), "token", 3)
    features, cpu = token_features(), torch.device("cpu")
    capsys.readouterr()
    fine_tune(model, features, 0, cpu, fine_tuning(epochs=1, batch_size=4), progress="fine-tuning de")
    predict(model, features, 0, cpu, progress="pos de")
    drawn = capsys.readouterr().err
    assert "fine-tuning de" in drawn and "pos de" in drawn
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    fine_tune(model, features, 0, cpu, fine_tuning(epochs=1, batch_size=4), progress="fine-tuning de")
    predict(model, features, 0, cpu, progress="pos de")
    assert capsys.readouterr().err == ""


def test_a_process_counts_for_its_share_of_the_batchs_labelled_tokens():
    """DDP averages the processes' gradients; each process's loss is a mean over its own labelled tokens, so it
    counts for world × its share of the batch's (a process with none counts for nothing)."""
    from mbert_eval.training.loop import share_weight

    train = [{"input_ids": [0] * 4, "labels": labels} for labels in ([1, 2, 3], [1, -100, -100], [4, 5, 6])]
    assert [share_weight(train, [0, 1, 2], rank, 2) for rank in (0, 1)] == [2 * 6 / 7, 2 * 1 / 7]
    assert [share_weight(train, [2], rank, 2) for rank in (0, 1)] == [2.0, 0.0]  # rank 1 repeats an example
    sentences = [{"input_ids": [0], "labels": 1}] * 3  # a sequence label: the loss is a mean over examples
    assert [share_weight(sentences, [0, 1, 2], rank, 2) for rank in (0, 1)] == [2 * 2 / 3, 2 * 1 / 3]
    assert share_weight(train, [0, 1, 2], 0, 1) == 1.0
