"""The fine-tuning options' registry: every option listed with its summary, method names parsed into their
fields, their validation, and a new option taking effect in the one `prepare` by registration alone."""

import dataclasses

import pytest
import torch

import mbert_eval.training.options as options
from mbert_eval.config.experiment import MethodConfig
from mbert_eval.data import SentencePair
from mbert_eval.methods import check_method, describe_methods
from mbert_eval.models.encoders import load_model
from mbert_eval.registry import Registry
from mbert_eval.tasks import get_task
from mbert_eval.training.loop import seed_everything
from mbert_eval.training.options import OPTIONS, FineTuningOption, active_options
from tests.helpers import fine_tuning


def test_every_option_is_listed_with_its_summary_and_owns_method_fields():
    assert OPTIONS.names() == ["cache_frozen", "freeze", "layer_mix"]
    listed = dict(describe_methods())
    method_fields = [item.name for item in dataclasses.fields(MethodConfig)]
    for name in OPTIONS:
        option = OPTIONS.get(name)
        assert option.summary and listed[option.spelling] == option.summary == OPTIONS.summary(name)
        assert option.fields and set(option.fields) <= set(method_fields)
    # cell keys render MethodConfig's fields in this order: the options' fields come after name and chain
    assert method_fields == ["name", "chain", "freeze", "cache_frozen", "layer_mix"]


@pytest.mark.parametrize(
    ("name", "chain", "freeze", "layer_mix"),
    [
        ("baseline", [], 0, False),
        ("freeze3+mix", [], 3, True),
        ("tlm+align+freeze3", ["tlm", "align"], 3, False),
        ("mix+scratch", ["scratch"], 0, True),
    ],
)
def test_names_parse_into_steps_and_option_fields(name, chain, freeze, layer_mix):
    method = MethodConfig.from_name(name)
    assert (method.name, method.chain, method.freeze, method.layer_mix) == (name, chain, freeze, layer_mix)
    assert [option.name for option in active_options(method)] == ["freeze"] * bool(freeze) + ["layer_mix"] * layer_mix


def test_option_problems_are_validation_problems():
    assert check_method(MethodConfig.from_name("tlm+frieze3")) == [
        "unknown method step 'frieze3'; did you mean: freeze3? (steps: align, scratch, tlm; options: freeze<k>, mix)"
    ]
    assert check_method(MethodConfig(name="f", freeze=-1)) == ["freeze must be 0 or more, got -1"]
    assert check_method(MethodConfig(name="f", freeze=3), {"tiny": 2, "hub": None}) == [
        "freeze 3 is beyond the depth of tiny (2 layers)"
    ]
    assert check_method(MethodConfig(name="f", cache_frozen=True)) == [
        "cache_frozen needs freeze (there is no frozen layer to cache)"
    ]
    assert check_method(MethodConfig(name="f", freeze=1, cache_frozen=True, layer_mix=True)) == [
        "cache_frozen cannot be combined with layer_mix (the mix reads the frozen layers)"
    ]
    assert check_method(MethodConfig(name="f", freeze=1, cache_frozen=True), {"tiny": 2}) == []


class FreezeHeadBias(FineTuningOption):
    """A toy option: the new head's bias stays at its initial value."""

    name = "freeze_head_bias"
    spelling = "freeze_head_bias"
    summary = "the head's bias gets no gradient (a test's option)"

    def active(self, method: MethodConfig) -> bool:
        return method.name.endswith("+headbias")

    def adjust(self, model: torch.nn.Module, fine_tuning) -> None:
        model.classifier.bias.requires_grad_(False)

    def log(self, model: torch.nn.Module, fine_tuning) -> dict:
        return {"head_bias": model.classifier.bias.tolist()}


def test_a_registered_option_takes_effect_in_prepare(tiny_model, monkeypatch):
    """Registered (here into a copy of the registry), an option is listed and its hooks run in the one `prepare`:
    no other file knows it."""
    registry = Registry(OPTIONS.kind)
    for name in OPTIONS:
        registry.register(name, OPTIONS.get(name), OPTIONS.summary(name))
    toy = FreezeHeadBias()
    registry.register(toy.name, toy, toy.summary)
    monkeypatch.setattr(options, "OPTIONS", registry)
    assert dict(describe_methods())["freeze_head_bias"] == toy.summary

    pairs = [SentencePair(" ".join(["qa"] * n), " ".join(["qa"] * 3), label) for n, label in ((4, "yes"), (5, "no"))]
    task = get_task("paraphrase")
    seed_everything(1)  # the head `prepare` draws for seed 1
    initial = load_model(str(tiny_model), "sequence", 2).classifier
    runs = {}
    for name in ("freeze1", "freeze1+headbias"):
        method = MethodConfig.from_name(name)
        settings = fine_tuning(method=method, learning_rate=1e-2, epochs=2, batch_size=2, max_length=16)
        runs[name] = task.prepare(str(tiny_model), pairs * 4, pairs, settings, torch.device("cpu"))
    toy_run, plain = runs["freeze1+headbias"], runs["freeze1"]
    assert torch.equal(toy_run.model.classifier.bias, initial.bias)
    assert toy_run.log["head_bias"] == initial.bias.tolist() and "head_bias" not in plain.log
    assert not torch.equal(plain.model.classifier.bias, initial.bias)  # trained where the option is off
    assert not torch.equal(toy_run.model.classifier.weight, initial.weight)  # the rest of the head trains
    frozen = toy_run.model.base_model.embeddings.word_embeddings.weight
    assert not frozen.requires_grad  # freeze1 applied as well


def test_prepare_seeds_once_so_a_cell_repeats_exactly(tiny_model):
    pairs = [SentencePair("qa qa qa", "qa qa", label) for label in ("yes", "no")]
    task = get_task("paraphrase")
    settings = fine_tuning(seed=5, learning_rate=1e-2, epochs=1, batch_size=2, max_length=16)
    first, second = (task.prepare(str(tiny_model), pairs * 2, pairs, settings, torch.device("cpu")) for _ in "ab")
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()))
