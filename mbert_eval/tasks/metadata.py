"""What a task is, declared without torch: `validate`, `ls` and the reports read it (mteb's `TaskMetadata`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskMetadata:
    """A task's name, metric, XTREME default epochs, reference, default data and options.

    `hub_*` are data specs used when a config names the task without files (needs the Hub);
    `{lang}`, `{iso3}` and `{name}` stand for the language's table code, ISO 639-3 code and name.
    `options` maps each key of `tasks.NAME` the task takes as an option to what it does and its default;
    the task's constructor takes the same names as keyword arguments.
    """

    name: str
    description: str
    main_metric: str
    reference: str
    epochs: int = 3
    higher_is_better: bool = True  # of the main metric (AER: lower is better)
    hub_train: str | None = None
    hub_dev: str | None = None
    hub_test: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    metric_descriptions: dict[str, str] = field(default_factory=dict)  # what each stored metric is
    # stored metrics that are no fraction of 1, shown as they are rather than in % (BUCC's chosen threshold)
    unscaled_metrics: tuple[str, ...] = ()
    # XTREME (Hu et al. 2020): the task's name there (the language table's benchmark column: udpos, panx, xnli,
    # pawsx, xquad, mlqa, tydiqa, bucc, tatoeba) and the stored metrics whose mean is its XTREME score
    xtreme: str = ""
    xtreme_metrics: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # bumped whenever the code changes what the task scores for the same model and data (lm-evaluation-harness
    # versions its tasks so); rows record it, and a run recomputes stored cells of an older version
    version: int = 1
