"""What a task hands back beside its scores: per-example outputs (the statistics each example's score sums, and
the gold answer and prediction a person reads) and the chance level of the main metric. Tasks fill them in
(`Task.evaluate` returns `Scores`); `store/examples.py` keeps them beside the store and `metrics/bootstrap.py`
turns their statistics into confidence intervals and paired tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mbert_eval.metrics.bootstrap import score as aggregate_score

TOLERANCE = 1e-9  # float noise between a score and the aggregate of its statistics, summed in another order


@dataclass
class ExampleOutputs:
    """One target's per-example outputs: `stats[i]` are example i's statistics (in the order of
    `AGGREGATES[aggregate].stats`), `gold[i]` and `predictions[i]` what a person reads (JSON values)."""

    task: str
    metric: str
    aggregate: str
    stats: list[list[float]]
    gold: list[Any] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)

    def array(self) -> np.ndarray:
        """The statistics as an (examples, k) array."""
        return np.asarray(self.stats, dtype=float)

    def score(self) -> float:
        """The score these statistics give (`metrics.bootstrap.score` of their aggregate)."""
        return aggregate_score(self.array(), self.aggregate)

    def gives_back(self, score: float) -> bool:
        """Whether the statistics' aggregate is `score` (the row's): only then do they stand for its interval and
        its paired tests (Efron & Tibshirani 1993 resample what the score is computed from)."""
        return abs(self.score() - score) <= TOLERANCE


class Scores(dict):
    """A task's scores on one target (metric -> fraction, the main metric first), with the per-example
    `examples` of the main metric (None where the task keeps none), its `chance` level (the expected score of
    guessing: uniformly over the label set or the candidates, or the majority label where the task says so; None
    where no such level is defined) and `tested`, how many test units the scores are over where that is fewer than
    the examples handed in (a held-out part of them; None: all of them)."""

    def __init__(
        self,
        scores: dict[str, float],
        examples: ExampleOutputs | None = None,
        chance: float | None = None,
        tested: int | None = None,
    ) -> None:
        super().__init__(scores)
        self.examples = examples
        self.chance = chance
        self.tested = tested
