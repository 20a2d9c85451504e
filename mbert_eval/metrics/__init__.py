"""Metrics, one small file each, each citing its source; `METRICS` registers every metric function by name
(`mbert-eval ls metrics`). Registered by module path: a metric's module (torch for retrieval and mining) is
imported when the metric is used; `from mbert_eval.metrics import accuracy` still works (module `__getattr__`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mbert_eval.registry import Registry

METRICS: Registry[Callable[..., object]] = Registry("metric")
METRICS.register_lazy(
    "accuracy", "mbert_eval.metrics.accuracy:accuracy", "share of predictions equal to the gold label (XNLI, PAWS-X)"
)
METRICS.register_lazy(
    "token_accuracy", "mbert_eval.metrics.accuracy:token_accuracy", "word accuracy over tagged sentences (UD-POS)"
)
METRICS.register_lazy(
    "entity_scores",
    "mbert_eval.metrics.entity_f1:entity_scores",
    "entity-level F1, precision and recall of BIO tags (conlleval, seqeval)",
)
METRICS.register_lazy(
    "retrieval_accuracy",
    "mbert_eval.metrics.retrieval:retrieval_accuracy",
    "cosine nearest-neighbour retrieval accuracy (Tatoeba)",
)
METRICS.register_lazy(
    "alignment_scores",
    "mbert_eval.metrics.aer:alignment_scores",
    "word-alignment precision, recall, F1 and AER (Och & Ney 2003)",
)
METRICS.register_lazy(
    "mining_scores",
    "mbert_eval.metrics.mining:mining_scores",
    "bitext-mining precision, recall and F1 by ratio margin at a "
    "threshold chosen on dev (BUCC; Artetxe & Schwenk 2019)",
)
METRICS.register_lazy(
    "qa_scores",
    "mbert_eval.metrics.squad:qa_scores",
    "extractive QA exact match and token F1 (SQuAD v1.1 or MLQA normalization)",
)

__all__ = [
    "METRICS",
    "alignment_scores",
    "accuracy",
    "token_accuracy",
    "entity_scores",
    "mining_scores",
    "qa_scores",
    "retrieval_accuracy",
]


def __getattr__(name: str) -> Any:
    """A metric function by its registered name (PEP 562), imported on first use."""
    if name in METRICS:
        return METRICS.get(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
