"""A model given by Hub name (read here from the test session's own Hugging Face cache, laid out as a download
leaves it) has its depth read from its config as a local folder's is: what the layer a task or a step picks
rests on."""

import shutil

import pytest
import torch

from mbert_eval.config.experiment import AlignConfig
from mbert_eval.methods.steps import compute_links
from mbert_eval.tasks import get_task
from tests.helpers import hub_cached_model

CPU = torch.device("cpu")


@pytest.fixture
def hub_model(request, tiny_model):
    """The tiny 2-layer model as the Hub name `tests/<test name>`, removed from the cache afterwards."""
    name = f"tests/{request.node.name}"
    repository = hub_cached_model(tiny_model, name)
    yield name
    shutil.rmtree(repository)


def test_alignment_picks_two_thirds_of_a_hub_models_own_depth(hub_model):
    """SimAlign's layer 8 of mBERT's 12 is two thirds of the depth: of a 2-layer model, layer 1. The depth was
    taken as 12 for every Hub name, so the tiny model was asked for a layer 8 it does not have."""
    prepared = get_task("alignment").prepare(hub_model, [], [], None, CPU)
    assert prepared.log["layer"] == 1


def test_word_links_take_a_hub_models_last_layer_above_its_depth(hub_model):
    """`align.aligner_layer` above a model's depth takes its last layer, for a Hub name as for a folder."""
    pairs = [("a b c".split(), "c b a".split())]
    links = compute_links(hub_model, pairs, AlignConfig(aligner_layer=8), "cpu")
    assert len(links) == 1
