"""Accuracy: the share of predictions equal to the gold label.

Sentence-pair classification (XNLI, Conneau et al. 2018; PAWS-X, Yang et al. 2019) reports it per
example; POS tagging (XTREME UD-POS, Hu et al. 2020) per word, where a word's prediction is the one
made at its first subword. Equal to `sklearn.metrics.accuracy_score` on the flattened labels.
"""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of positions where `predicted` equals `gold` (same lengths required): XNLI's and PAWS-X's score
    (Conneau et al. 2018; Yang et al. 2019)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("accuracy of an empty set")
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Word-level accuracy over sentences, every gold word counted once: XTREME's UD-POS accuracy (Hu et al. 2020)."""
    flat_gold = [tag for sentence in gold for tag in sentence]
    flat_pred = [tag for sentence in predicted for tag in sentence]
    return accuracy(flat_gold, flat_pred)
