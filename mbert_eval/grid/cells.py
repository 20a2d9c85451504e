"""A grid's cells: (model, method, task, source, seed) with its targets, each cell's fine-tuning settings, and
the identity its key hashes (everything that can change its scores; `grid.resolve` keys each cell)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mbert_eval.config.experiment import Experiment, keyed_when_set, render_identity
from mbert_eval.languages import lookup
from mbert_eval.tasks.base import Task
from mbert_eval.training.fine_tuning import FineTuning


@dataclass(frozen=True)
class Cell:
    """One fine-tuning run and the targets it is evaluated on."""

    model: str
    method: str
    task: str
    source: str
    seed: int
    targets: tuple[str, ...]


def expand(experiment: Experiment) -> list[Cell]:
    """The grid's cells, with language codes normalized by the language table; a task's targets are its own
    `targets`, else the grid's."""
    sources = [lookup(code).code for code in experiment.sources]
    targets = {
        name: tuple(dict.fromkeys(lookup(code).code for code in config.targets or experiment.targets))
        for name, config in experiment.tasks.items()
    }
    return [
        Cell(model, method.name, task, source, seed, targets[task])
        for model in experiment.models
        for task in experiment.tasks
        for method in experiment.methods
        for source in sources
        for seed in experiment.seeds
    ]


def fine_tune_settings(experiment: Experiment, task: Task, cell: Cell) -> FineTuning:
    """The cell's fine-tuning: the training config whole, its epochs resolved (the task's own override, then the
    training config's, then the task's default), beside the cell's method (its fine-tuning options) and seed."""
    given = (experiment.tasks[cell.task].epochs, experiment.training.epochs, task.metadata.epochs)
    epochs = next(count for count in given if count is not None)
    method = next(method for method in experiment.methods if method.name == cell.method)
    return FineTuning(replace(experiment.training, epochs=epochs), method, cell.seed)


def cell_identity(
    experiment: Experiment, task: Task, cell: Cell, settings: FineTuning, as_recorded: bool = False
) -> dict[str, Any]:
    """What a cell's key hashes: its coordinates and the identity records its configs declare
    (`config.experiment.Identity`), rendered as `Record(field=value, ...)` in their recorded order; fields added
    later join (under `added`) only where set away from their defaults. `task` is the cell's built task,
    `settings` its fine-tuning (`fine_tune_settings`). The targets a cell evaluates are no part of it, unless
    the task scores them together (`Task.joint_targets`). `as_recorded`: the identity as keys recorded before the
    task's own `targets:` left it (`grid.resolve.ResolvedCell.recorded_key`)."""
    method, data = settings.method, experiment.task_config(cell.task)
    identity: dict[str, Any] = {
        "model": cell.model,
        "method": render_identity(method),
        "task": cell.task,
        "source": cell.source,
        "seed": cell.seed,
        "settings": settings.identity() if task.needs_training else None,
        "data": render_identity(data, as_recorded=as_recorded),
        "options": task.options(),
    }
    joint = None if as_recorded else task.joint_targets()
    if joint is not None:
        identity["joint_targets"] = joint
    steps = [experiment.parallel, experiment.tlm, experiment.align] if method.chain else []
    if steps:  # derived checkpoints depend on these too
        identity["method_settings"] = [render_identity(config) for config in steps]
    # the training config's added fields join every cell's key where set (as they did when first keyed)
    added = keyed_when_set(data, experiment.training, method, *steps)
    if added:
        identity["added"] = added
    return identity
