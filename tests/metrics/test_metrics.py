"""Our metrics equal the reference implementations (scikit-learn, seqeval) on the same predictions."""

import random

import pytest
import torch
from seqeval.metrics import f1_score, precision_score, recall_score
from sklearn.metrics import accuracy_score

from mbert_eval.metrics import (
    accuracy,
    entity_scores,
    retrieval_accuracy,
    token_accuracy,
)

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def _random_sentences(rng: random.Random, n: int) -> list[list[str]]:
    return [[rng.choice(TAGS) for _ in range(rng.randint(1, 12))] for _ in range(n)]


def test_accuracy_equals_sklearn():
    rng = random.Random(0)
    gold = [rng.choice("ABC") for _ in range(500)]
    pred = [g if rng.random() < 0.7 else rng.choice("ABC") for g in gold]
    assert accuracy(gold, pred) == pytest.approx(accuracy_score(gold, pred))


def test_token_accuracy_counts_every_word_once():
    gold = [["NOUN", "VERB"], ["DET", "NOUN", "PUNCT"]]
    pred = [["NOUN", "NOUN"], ["DET", "NOUN", "_"]]
    flat_gold = [t for s in gold for t in s]
    flat_pred = [t for s in pred for t in s]
    assert token_accuracy(gold, pred) == pytest.approx(accuracy_score(flat_gold, flat_pred)) == pytest.approx(3 / 5)


def test_accuracy_rejects_length_mismatch():
    with pytest.raises(ValueError):
        accuracy(["a"], ["a", "b"])


@pytest.mark.parametrize("seed", range(5))
def test_entity_scores_equal_seqeval(seed):
    rng = random.Random(seed)
    gold = _random_sentences(rng, 50)
    pred = [[t if rng.random() < 0.6 else rng.choice(TAGS) for t in s] for s in gold]
    scores = entity_scores(gold, pred)
    assert scores["f1"] == pytest.approx(f1_score(gold, pred))
    assert scores["precision"] == pytest.approx(precision_score(gold, pred))
    assert scores["recall"] == pytest.approx(recall_score(gold, pred))


def test_entity_f1_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"]]  # one of two entities right, one wrong
    assert entity_scores(gold, pred) == {"f1": 0.5, "precision": 0.5, "recall": 0.5}


def test_retrieval_accuracy_finds_nearest_neighbour():
    torch.manual_seed(0)
    candidates = torch.randn(20, 8)
    queries = candidates + 0.01 * torch.randn(20, 8)
    assert retrieval_accuracy(queries, candidates) == 1.0
    shuffled = candidates[torch.roll(torch.arange(20), 1)]
    assert retrieval_accuracy(queries, shuffled) == 0.0
