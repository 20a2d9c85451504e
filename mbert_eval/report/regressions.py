"""A scheduled job's regressions as plain data, for the section the HTML page shows first: the previous
run compared with, the thresholds, one line per score that got worse by more than its threshold, and the scores
that were not compared (a "none got worse" over scores never compared would claim what was not checked)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegressionLine:
    """One score that got worse: where (task, models, method, source, target, metric) and by how much."""

    task: str
    models: str  # the model group, with `old → new` checkpoint names when they differ
    method: str
    source: str
    target: str
    metric: str
    before: float
    now: float
    threshold: float
    higher_is_better: bool = True

    @property
    def worse_by(self) -> float:
        """How much worse the score got (positive): a fall, or a rise where lower is better."""
        return self.before - self.now if self.higher_is_better else self.now - self.before


@dataclass(frozen=True)
class Regressions:
    """What a job's run found against its previous run (`previous_id` None: no earlier run has a snapshot: the
    job's first run, or only failed runs before it)."""

    previous_id: int | None
    previous_slot: str
    thresholds: dict[str, float]
    lines: list[RegressionLine] = field(default_factory=list)
    # scores not compared, one line each: what they were computed with differs from the previous run's, or they are
    # in one of the two runs only
    not_comparable: list[str] = field(default_factory=list)
    compared: int = 0  # the scores compared with the previous run's

    @property
    def limits(self) -> str:
        """The thresholds as `task value` pairs, or `none`."""
        return ", ".join(f"{task} {value:.4f}" for task, value in sorted(self.thresholds.items())) or "none"
