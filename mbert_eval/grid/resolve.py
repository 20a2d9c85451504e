"""An experiment resolved once: its task objects (each built once), its cells with their keys, identities, method
configs and fine-tuning settings, what running it needs (`RunSettings`), and every problem found.
`mbert-eval validate` reports the problems, `run` refuses them (the same list: validate = run) and executes the
cells; nothing is parsed or built again per cell, and neither the run nor a worker sees the experiment itself: a
worker receives the resolved task and settings in its `CellJob`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import Experiment, RayConfig, stable_hash
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.grid.cells import Cell, cell_identity, expand, fine_tune_settings
from mbert_eval.grid.validation import check_experiment
from mbert_eval.languages import lookup
from mbert_eval.methods import parallel_files, step_versions, unread_parallel_files
from mbert_eval.methods.base import StepSettings
from mbert_eval.store.results import StoredConfig
from mbert_eval.tasks import build_task
from mbert_eval.tasks.base import Task, files_read_once
from mbert_eval.training.fine_tuning import FineTuning


@dataclass(frozen=True)
class ResolvedCell:
    """One cell as resolved: its key (a hash of `identity`), its fine-tuning settings (the method config among
    them; `grid.cells.fine_tune_settings`: what `Task.prepare` takes), the parallel text its method's checkpoint
    steps read (`methods.parallel_files`) and those steps' versions (`methods.step_versions`): what its rows
    record beside their scores, and what `grid.freshness` compares them with. `recorded_key`: the key a store
    written before the task's own `targets:` left cell keys holds the cell's rows under, where it differs
    (`grid.run.plan` moves them to `key`)."""

    cell: Cell
    key: str
    identity: dict[str, Any]
    settings: FineTuning
    parallel: tuple[DataSpec, ...] = ()
    step_versions: dict[str, int] = field(default_factory=dict)
    recorded_key: str | None = None
    unread: tuple[DataSpec, ...] = ()  # alignment files the config names that the method does not read


CHECKPOINTS = "checkpoints"  # the folder of a run's output folder that caches its derived checkpoints


@dataclass(frozen=True)
class RunSettings:
    """What running a resolved grid takes from its experiment, read off it once: the config the store records
    (`config`, its hash computed here), where the store and the run's other outputs go, where and with how many
    threads cells run, what each row is marked with (the run's `limit`, the models' display names) and what the
    methods' checkpoint steps read (`steps`)."""

    config: StoredConfig
    store: Path
    output_dir: Path
    executor: str
    ray: RayConfig
    device: str
    threads: int | None
    limit: int | None
    model_names: dict[str, str]
    steps: StepSettings

    @property
    def checkpoints(self) -> Path:
        """Where derived checkpoints (and the temporary folders of killed runs) are kept."""
        return self.output_dir / CHECKPOINTS


@dataclass
class ResolvedGrid:
    """An experiment resolved once (see the module docstring). `cells` is empty and `run` None when there are
    problems. `examples_checked`: the tasks whose test data the resolution checked against their training data
    (`Task.examples_problem`, local files); a worker checks the others' (Hub data) after reading them."""

    tasks: dict[str, Task]
    cells: list[ResolvedCell]
    problems: list[str]
    run: RunSettings | None = None
    examples_checked: frozenset[str] = field(default_factory=frozenset)

    @property
    def evaluations(self) -> int:
        """Target evaluations over all cells."""
        return sum(len(resolved.cell.targets) for resolved in self.cells)

    def refuse(self) -> RunSettings:
        """A UserError naming the first problem (and how many more), as `run` refuses a grid; without problems,
        what running it needs."""
        if self.problems:
            more = f" (and {len(self.problems) - 1} more; see `mbert-eval validate`)" if len(self.problems) > 1 else ""
            raise UserError(f"{self.problems[0]}{more}")
        assert self.run is not None, "`resolve` gives every grid without problems its run settings"
        return self.run

    def read_files(self) -> list[Path]:
        """The local files a run reads: every cell's data files and parallel text, and its local model folders
        whole (what no output of the run may replace, nor join: a new `special_tokens_map.json` or `vocab.txt`
        there is read as the model's)."""
        files = set()
        for resolved in self.cells:
            cell, task = resolved.cell, self.tasks[resolved.cell.task]
            specs = [*task.data_specs(lookup(cell.source)), *resolved.parallel] + [
                spec for target in cell.targets for spec in task.data_specs(lookup(cell.source), lookup(target))
            ]
            files |= {Path(spec.location) for spec in specs if not spec.is_hub}
            if Path(cell.model).is_dir():
                files.add(Path(cell.model))
        return sorted(files)


def stored_config(experiment: Experiment) -> StoredConfig:
    """The experiment as the store keeps it: hash, name, the config as JSON values, the reference method."""
    config = json.loads(json.dumps(experiment.to_dict(), default=str))
    return StoredConfig(experiment.config_hash(), experiment.name, config, experiment.reference_method())


def run_settings(experiment: Experiment, steps: StepSettings) -> RunSettings:
    """What running the (sound) experiment needs (`RunSettings`; `steps`: what its checkpoint steps read)."""
    return RunSettings(
        stored_config(experiment),
        experiment.store_path,
        experiment.output_dir,
        experiment.executor,
        experiment.ray,
        experiment.device,
        experiment.threads,
        experiment.limit,
        experiment.model_names,
        steps,
    )


def build_tasks(experiment: Experiment) -> dict[str, Task | UserError]:
    """Each task of the config built once, or the UserError that building it raised."""
    built: dict[str, Task | UserError] = {}
    for name in experiment.tasks:
        try:
            built[name] = build_task(name, experiment.task_config(name), experiment.base_dir)
        except UserError as err:
            built[name] = err
    return built


def resolve_cell(experiment: Experiment, task: Task, cell: Cell, steps: StepSettings) -> ResolvedCell:
    """A cell's key, identity, method and settings, from its built task, with the parallel text and the versions
    of its method's checkpoint steps (`steps`: what they read)."""
    settings = fine_tune_settings(experiment, task, cell)
    identity = cell_identity(experiment, task, cell, settings)
    key, recorded = stable_hash(identity), None
    if experiment.tasks[cell.task].targets is not None:  # the key keyed them before they left it
        recorded = stable_hash(cell_identity(experiment, task, cell, settings, as_recorded=True))
    parallel = tuple(parallel_files(settings.method, steps, cell.source))
    unread = tuple(unread_parallel_files(settings.method, steps, cell.source))
    versions = step_versions(settings.method)
    return ResolvedCell(cell, key, identity, settings, parallel, versions, recorded, unread)


def resolve(
    experiment: Experiment, problems: list[str] | tuple[str, ...] = (), check_files: bool = True
) -> ResolvedGrid:
    """Check the experiment (starting from the problems found while reading it) and resolve its cells; with
    `check_files`, data files and Hub names are checked as well (see `grid.validation`)."""
    found = list(problems)
    built = build_tasks(experiment)
    with files_read_once():  # the checks read a file for its examples, its slices and leakage: parsed once
        checked = check_experiment(experiment, built, found, check_files)
    tasks = {name: task for name, task in built.items() if isinstance(task, Task)}
    if found:
        return ResolvedGrid(tasks, [], found, None, frozenset(checked))
    steps = StepSettings.of(experiment)
    cells = [resolve_cell(experiment, tasks[cell.task], cell, steps) for cell in expand(experiment)]
    return ResolvedGrid(tasks, cells, found, run_settings(experiment, steps), frozenset(checked))


def validate(experiment: Experiment, problems: list[str] | None = None, check_files: bool = True) -> list[str]:
    """All problems of an experiment (starting from those found while reading it): those of its resolution,
    which `run` refuses (validate = run)."""
    return resolve(experiment, problems or [], check_files).problems
