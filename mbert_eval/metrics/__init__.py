"""Metrics, one small file each, each citing its source; `METRICS` registers every metric function by name
(`mbert-eval ls metrics`). The metrics over embeddings (retrieval, mining, CKA: torch) are registered by module path
and imported when used (`from mbert_eval.metrics import mining_scores` still works: module `__getattr__`); the others
need no torch and are imported here (seqeval, for entity F1, when it computes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mbert_eval.metrics.accuracy import accuracy, token_accuracy
from mbert_eval.metrics.aer import alignment_scores
from mbert_eval.metrics.entity_f1 import entity_scores
from mbert_eval.metrics.squad import qa_scores
from mbert_eval.registry import Registry

METRICS: Registry[Callable[..., object]] = Registry("metric")
METRICS.register("accuracy", accuracy, "share of predictions equal to the gold label (XNLI, PAWS-X)")
METRICS.register("token_accuracy", token_accuracy, "word accuracy over tagged sentences (UD-POS)")
METRICS.register(
    "entity_scores", entity_scores, "entity-level F1, precision and recall of BIO tags (conlleval, seqeval)"
)
METRICS.register_lazy(
    "retrieval_accuracy",
    "mbert_eval.metrics.retrieval:retrieval_accuracy",
    "cosine nearest-neighbour retrieval accuracy (Tatoeba)",
)
METRICS.register("alignment_scores", alignment_scores, "word-alignment precision, recall, F1 and AER (Och & Ney 2003)")
METRICS.register_lazy(
    "mining_scores",
    "mbert_eval.metrics.mining:mining_scores",
    "bitext-mining precision, recall and F1 by ratio margin at a "
    "threshold chosen on dev (BUCC; Artetxe & Schwenk 2019)",
)
METRICS.register_lazy(
    "linear_cka",
    "mbert_eval.metrics.cka:linear_cka",
    "linear centered kernel alignment between two representations of the same examples (Kornblith et al. 2019)",
)
METRICS.register("qa_scores", qa_scores, "extractive QA exact match and token F1 (SQuAD v1.1 or MLQA normalization)")

__all__ = [
    "METRICS",
    "alignment_scores",
    "accuracy",
    "token_accuracy",
    "entity_scores",
    "linear_cka",
    "mining_scores",
    "qa_scores",
    "retrieval_accuracy",
]


def __getattr__(name: str) -> Any:
    """A lazily registered metric function by name (PEP 562), imported on first use."""
    if name in METRICS:  # the eagerly imported ones are module attributes: only the lazy ones get here
        return METRICS.get(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
