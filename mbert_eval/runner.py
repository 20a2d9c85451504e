"""Grid expansion and cell execution: fine-tune once per cell, evaluate every target.

A cell is (model, method, task, source language, seed). It is fine-tuned once, then evaluated on
each of its target languages; its rows reach the store in one transaction when it finishes. Cells
(and targets) the store already holds are skipped. `run_cell` is a pure function of its `CellJob`
(no store access), so an executor may ship it to another process or machine; only the driver
writes the store.
"""
from __future__ import annotations

import gc
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol

import torch
from tqdm.auto import tqdm

import mbert_eval
from mbert_eval.config import Experiment, stable_hash
from mbert_eval.data import file_checksum
from mbert_eval.encoders import pick_device
from mbert_eval.errors import UserError
from mbert_eval.languages import lookup
from mbert_eval.config import MethodConfig
from mbert_eval.methods import MethodContext, prepare_encoder
from mbert_eval.store import ResultRow, ResultStore
from mbert_eval.tasks.base import DataSpec, Task
from mbert_eval.training import FineTuneSettings
from mbert_eval.validation import build_task, validate


@dataclass(frozen=True)
class Cell:
    """One fine-tuning run and the targets it is evaluated on."""

    model: str
    method: str
    task: str
    source: str
    seed: int
    targets: tuple[str, ...]


@dataclass(frozen=True)
class CellJob:
    """Everything a worker needs to run one cell: picklable, no open handles."""

    cell: Cell
    key: str
    experiment: Experiment
    config_hash: str
    code_version: str
    library_versions: dict[str, str]


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
    """The cell's hyperparameters: task override, then training config, then the task default;
    freezing and layer mixing come from the cell's method."""
    training = experiment.training
    method = method_of(experiment, cell.method)
    epochs = experiment.tasks[cell.task].epochs or training.epochs or task.metadata.epochs
    return FineTuneSettings(
        learning_rate=training.learning_rate,
        max_length=training.max_length,
        batch_size=training.batch_size,
        epochs=epochs,
        warmup_ratio=training.warmup_ratio,
        weight_decay=training.weight_decay,
        max_grad_norm=training.max_grad_norm,
        eval_batch_size=training.eval_batch_size,
        batching=training.batching,
        word_embeddings=training.word_embeddings,
        lr_schedule=training.lr_schedule,
        activation_checkpointing=training.activation_checkpointing,
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
        "model": cell.model, "method": method, "task": cell.task, "source": cell.source,
        "seed": cell.seed, "settings": settings, "data": experiment.tasks[cell.task], "options": task.options(),
    }
    if method.chain:  # derived checkpoints depend on these too
        identity["method_settings"] = [experiment.parallel, experiment.tlm, experiment.align]
    return stable_hash(identity)


def code_version() -> str:
    """The package version, plus the git commit (and `.dirty`) when run from a checkout."""
    folder = Path(mbert_eval.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return mbert_eval.__version__
    if not commit:
        return mbert_eval.__version__
    return f"{mbert_eval.__version__}+g{commit}{'.dirty' if dirty else ''}"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that can change a score."""
    import datasets
    import tokenizers
    import transformers

    return {
        "python": platform.python_version(), "torch": torch.__version__,
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "datasets": datasets.__version__,
    }


def _checksums(specs: Iterable[DataSpec]) -> dict[str, str]:
    return {str(s): ("hub" if s.is_hub else file_checksum(Path(s.location))) for s in specs}


def run_cell(job: CellJob) -> list[ResultRow]:
    """Fine-tune once on the source language, then evaluate every target; returns the rows.

    Target data is read before fine-tuning so that a bad file fails fast, before hours of work.
    """
    cell, experiment = job.cell, job.experiment
    task = build_task(experiment, cell.task)
    source = lookup(cell.source)
    targets = [lookup(code) for code in cell.targets]
    device = pick_device(experiment.device)
    train, dev = task.source_examples(source)
    target_examples = {t.code: task.target_examples(t) for t in targets}
    started = time.perf_counter()
    torch.manual_seed(cell.seed)
    context = MethodContext(experiment, cell.source, cell.seed, experiment.output_dir / "checkpoints")
    model_spec = prepare_encoder(cell.model, method_of(experiment, cell.method), context)
    prepared = task.prepare(model_spec, train, dev, fine_tune_settings(experiment, task, cell), device)
    train_time = time.perf_counter() - started
    source_sums = _checksums(task.data_specs(source))
    rows = []
    for target in targets:
        started = time.perf_counter()
        examples = target_examples[target.code]
        scores = task.evaluate(prepared, examples, device)
        elapsed = time.perf_counter() - started
        checksums = {**source_sums, **_checksums(task.data_specs(source, target))}
        extra = {"train_time": round(train_time, 3), "device": str(device), **prepared.log}
        rows += [
            ResultRow(
                cell_key=job.key, task=cell.task, metric=metric, model=cell.model, method=cell.method,
                source=cell.source, target=target.code, seed=cell.seed, score=float(score),
                n_examples=len(examples), config_hash=job.config_hash, code_version=job.code_version,
                library_versions=job.library_versions, data_checksums=checksums,
                wall_time=round(elapsed, 3), extra=extra,
            )
            for metric, score in scores.items()
        ]
    del prepared  # at most one fine-tuned model in memory at a time
    gc.collect()
    return rows


class Executor(Protocol):
    """Runs cell jobs somewhere and yields each job with its rows as it finishes."""

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, list[ResultRow]]]: ...


class LocalExecutor:
    """Runs cells one after another in this process."""

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, list[ResultRow]]]:
        for job in jobs:
            yield job, run_cell(job)


@dataclass(frozen=True)
class RunSummary:
    """What a run did: cells run and skipped, rows written, where the store is."""

    cells_run: int
    cells_skipped: int
    rows_written: int
    store: Path

    def describe(self) -> str:
        """One line for the terminal: cells run and skipped, rows written, the store."""
        return (f"{self.cells_run} cells run, {self.cells_skipped} already stored, "
                f"{self.rows_written} rows written to {self.store}")


def plan(experiment: Experiment, store: ResultStore, overwrite: bool = False) -> tuple[list[CellJob], int]:
    """The jobs still to run (each restricted to its missing targets) and the count skipped."""
    config_hash, version, libraries = experiment.config_hash(), code_version(), library_versions()
    jobs, skipped = [], 0
    for cell in expand(experiment):
        key = cell_key(experiment, cell)
        done = set() if overwrite else store.done_targets(key)
        missing = tuple(t for t in cell.targets if t not in done)
        if not missing:
            skipped += 1
            continue
        cell = Cell(cell.model, cell.method, cell.task, cell.source, cell.seed, missing)
        jobs.append(CellJob(cell, key, experiment, config_hash, version, libraries))
    return jobs, skipped


def run_experiment(
    experiment: Experiment, overwrite: bool = False, executor: Executor | None = None,
    problems: Iterable[str] = (),
) -> RunSummary:
    """Validate, then run every missing cell, writing each to the store as it finishes."""
    problems = validate(experiment, list(problems))
    if problems:
        more = f" (and {len(problems) - 1} more; see `mbert-eval validate`)" if len(problems) > 1 else ""
        raise UserError(f"{problems[0]}{more}")
    store = ResultStore(experiment.store_path)
    jobs, skipped = plan(experiment, store, overwrite)
    if executor is None:
        from mbert_eval.executors import executor_from_experiment

        executor = executor_from_experiment(experiment)
    written = 0
    with tqdm(total=len(jobs), desc="cells", unit="cell") as bar:
        for job, rows in executor.map(jobs):
            written += store.write_cell(rows, overwrite=overwrite)
            bar.update()
    return RunSummary(len(jobs), skipped, written, experiment.store_path)
