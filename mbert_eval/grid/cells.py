"""A grid's cells: (model, method, task, source, seed) with its targets, each cell's fine-tuning settings, and
the key that names its results in the store (everything that can change its scores)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from mbert_eval.config.experiment import Experiment, MethodConfig, keyed_when_set, stable_hash
from mbert_eval.languages import lookup
from mbert_eval.tasks import build_task
from mbert_eval.tasks.base import Task

if TYPE_CHECKING:  # the training loop (torch) is imported when settings are made: `validate` expands cells
    from mbert_eval.training.loop import FineTuneSettings


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
    """The grid's cells, with language codes normalized by the language table."""
    sources = [lookup(code).code for code in experiment.sources]
    return [
        Cell(model, method.name, task, source, seed, task_targets(experiment, task))
        for model in experiment.models
        for task in experiment.tasks
        for method in experiment.methods
        for source in sources
        for seed in experiment.seeds
    ]


def task_targets(experiment: Experiment, task: str) -> tuple[str, ...]:
    """The target languages of one task: its own `targets`, else the grid's, normalized by the language table."""
    codes = experiment.tasks[task].targets or experiment.targets
    return tuple(dict.fromkeys(lookup(code).code for code in codes))


def method_of(experiment: Experiment, name: str) -> MethodConfig:
    """The method config a cell names."""
    return next(method for method in experiment.methods if method.name == name)


def fine_tune_settings(experiment: Experiment, task: Task, cell: Cell) -> FineTuneSettings:
    """The cell's hyperparameters: the training config whole, its epochs resolved (task override, then
    training config, then the task default); the seed is the cell's, freezing and layer mixing the method's."""
    from mbert_eval.training.loop import FineTuneSettings

    method = method_of(experiment, cell.method)
    given = (experiment.tasks[cell.task].epochs, experiment.training.epochs, task.metadata.epochs)
    epochs = next(count for count in given if count is not None)
    return FineTuneSettings(
        **{**asdict(experiment.training), "epochs": epochs},
        seed=cell.seed,
        freeze=method.freeze,
        cache_frozen=method.cache_frozen,
        layer_mix=method.layer_mix,
    )


def cell_key(experiment: Experiment, cell: Cell) -> str:
    """Identity of a cell's results: what it runs and every setting that can change its scores."""
    task = build_task(experiment, cell.task)
    settings = fine_tune_settings(experiment, task, cell) if task.needs_training else None
    method = method_of(experiment, cell.method)
    identity = {
        "model": cell.model,
        "method": method,
        "task": cell.task,
        "source": cell.source,
        "seed": cell.seed,
        "settings": settings,
        "data": experiment.tasks[cell.task],
        "options": task.options(),
    }
    if method.chain:  # derived checkpoints depend on these too
        identity["method_settings"] = [experiment.parallel, experiment.tlm, experiment.align]
    added = keyed_when_set(
        experiment.tasks[cell.task], experiment.training, method, *(identity.get("method_settings") or [])
    )
    if added:  # settings added after keys were first recorded, where set (see KEYED_WHEN_SET)
        identity["added"] = added
    return stable_hash(identity)
