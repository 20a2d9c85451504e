"""Metrics, one small file each, each citing its source."""
from mbert_eval.metrics.accuracy import accuracy, token_accuracy
from mbert_eval.metrics.aer import alignment_scores
from mbert_eval.metrics.entity_f1 import entity_scores
from mbert_eval.metrics.retrieval import retrieval_accuracy

__all__ = ["alignment_scores", "accuracy", "token_accuracy", "entity_scores", "retrieval_accuracy"]
