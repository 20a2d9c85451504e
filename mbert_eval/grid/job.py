"""One cell as a job: `run_cell` fine-tunes once on the source language and evaluates every target; a pure
function of its picklable `CellJob` (no store access), so an executor may ship it to another process or
machine. Each row records the code and library versions, the data checksums, the model's content fingerprint,
the task's version and the versions of its method's checkpoint steps."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

import mbert_eval
from mbert_eval.analysis.overlap import SourceSubwords
from mbert_eval.data import file_checksum
from mbert_eval.data.checksums import remember
from mbert_eval.data.hub import hub_fingerprint
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.grid.cells import Cell
from mbert_eval.grid.freshness import parallel_checksums
from mbert_eval.languages import Language, lookup
from mbert_eval.methods import MethodContext, prepare_encoder
from mbert_eval.methods.base import StepSettings
from mbert_eval.metrics.bootstrap import bootstrap_interval
from mbert_eval.metrics.outputs import Scores
from mbert_eval.models.fingerprint import model_fingerprint
from mbert_eval.models.threads import use_threads
from mbert_eval.store.examples import write_examples
from mbert_eval.store.results import ResultRow
from mbert_eval.tasks.base import Prepared, Task
from mbert_eval.training.fine_tuning import FineTuning

if TYPE_CHECKING:  # torch is imported when a cell computes: a run whose cells are all stored never imports it
    import torch


@dataclass(frozen=True)
class CellJob:
    """Everything a worker needs to run one cell, as resolved once by the driver (`grid.resolve`), and no more
    (not the experiment): the task object and the fine-tuning settings (with the method config) travel with it
    and are not rebuilt from the config; `steps` is what the method's checkpoint steps read, `checkpoints` where
    they are cached, `store` the results store beside which per-example outputs are written, `device` and
    `threads` where and how the cell computes. `check_examples`: the test data's check against the training data
    is left to the worker (Hub data, which validation does not fetch). Picklable, no open handles."""

    cell: Cell
    key: str
    task: Task
    settings: FineTuning  # what `Task.prepare` takes (`grid.cells.fine_tune_settings`)
    steps: StepSettings
    parallel: tuple[DataSpec, ...]  # the parallel text the method's steps read (`grid.resolve.ResolvedCell`)
    step_versions: dict[str, int]  # the versions of those steps
    checkpoints: Path
    store: Path
    device: str
    threads: int | None
    config_hash: str
    check_examples: bool = False
    superseding: dict[str, str] = field(default_factory=dict)  # target -> why its stored rows are stale
    known_hashes: dict[tuple[str, int, int], str] = field(default_factory=dict)  # file checksums already known


@dataclass(frozen=True)
class MadeWith:
    """What a cell's rows were computed with, taken in the process that computes them (on Ray, the worker's own
    install, which may differ from the driver's)."""

    model_fingerprint: str
    code_version: str
    library_versions: dict[str, str]


def code_version() -> str:
    """The package version, plus the git commit (and `.dirty`) when run from a checkout."""
    folder = Path(mbert_eval.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return mbert_eval.__version__
    if not commit:
        return mbert_eval.__version__
    return f"{mbert_eval.__version__}+g{commit}{'.dirty' if dirty else ''}"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that can change a score: the probes' logistic regression is scikit-learn's, its
    solver scipy's, and numpy computes every metric."""
    import datasets
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "datasets": datasets.__version__,
        **{name: metadata.version(name) for name in ("numpy", "scipy", "scikit-learn")},
    }


def _checksums(specs: Iterable[DataSpec]) -> dict[str, str]:
    return {str(s): (hub_fingerprint(s.location) if s.is_hub else file_checksum(Path(s.location))) for s in specs}


def _memory_errors() -> tuple[type[BaseException], ...]:
    """The errors of running out of memory: the host's, the accelerator's."""
    import torch

    return MemoryError, torch.OutOfMemoryError


def out_of_memory(err: BaseException, stage: str) -> str:
    """What a cell says when `stage` ran out of memory: a one-line reason, where the finished work is kept and
    the run ends in one line rather than a traceback."""
    detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return f"out of memory while {stage} ({detail})"


class UnfinishedCell(UserError):
    """A cell that failed at one target after fine-tuning: the rows of the targets it finished before (to be
    stored, not lost) and which of those targets' stored rows they supersede (`CellJob.superseding`)."""

    def __init__(self, message: str, rows: list[ResultRow] | None = None, superseding: dict | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []
        self.superseding = superseding or {}


def run_cell(job: CellJob) -> list[ResultRow]:
    """Fine-tune once on the source language, then evaluate every target; returns the rows. A UserError (or
    running out of memory) at one target after fine-tuning is an `UnfinishedCell` that carries the rows of the
    targets finished before it; running out of memory while fine-tuning is a UserError that says what to lower.

    Target data is read before fine-tuning so that a bad file fails fast, before hours of work. torch uses
    the experiment's `threads` (`CellJob.threads`; see `mbert_eval.models.threads`), recorded in each row's
    `extra`. Where the task's examples are words (`Task.words`), each target's rows also hold the subword overlap
    of its test text with the source's training text under the model's tokenizer (`analysis.overlap`; Pires et
    al. 2019).
    """
    from mbert_eval.models.encoders import pick_device

    cell, task = job.cell, job.task
    threads, out_of_memory_errors = use_threads(job.threads), _memory_errors()
    source = lookup(cell.source)
    targets = [lookup(code) for code in cell.targets]
    device = pick_device(job.device)
    remember(job.known_hashes)
    # what the rows will say they were computed from, taken before anything is read: a file rewritten while the
    # cell runs then reads as changed to the next run, which computes it again, rather than as the data scored
    source_sums = _checksums(task.data_specs(source)) | parallel_checksums(job.parallel)
    target_sums = {t.code: _checksums(task.data_specs(source, t)) for t in targets}
    train, dev = task.source_examples(source)
    target_examples = {t.code: task.target_examples(t) for t in targets}
    for examples in target_examples.values() if job.check_examples else ():
        problem = task.examples_problem(train, examples)
        if problem:
            raise UserError(problem)
    made_with = MadeWith(model_fingerprint(cell.model), code_version(), library_versions())  # about to be loaded
    started = time.perf_counter()
    # no seeding here: each derived-checkpoint step seeds itself from the cell's seed, and `Task.prepare` seeds
    # once before drawing the head (tasks without training draw nothing)
    context = MethodContext(job.steps, cell.source, cell.seed, job.checkpoints, job.device)
    model_spec = prepare_encoder(cell.model, job.settings.method, context)
    try:
        prepared = task.prepare(model_spec, train, dev, job.settings, device)
    except out_of_memory_errors as err:
        raise UserError(
            f"{cell.task} {cell.source}: {out_of_memory(err, 'fine-tuning')}; lower training.batch_size or "
            "training.max_length, or set training.activation_checkpointing: true"
        ) from err
    train_time = time.perf_counter() - started
    extra = {"train_time": round(train_time, 3), "device": str(device), "threads": threads, **prepared.log}
    if job.step_versions:  # what `grid.freshness` compares with the steps' versions now
        extra["step_versions"] = job.step_versions
    if task.config.allow_overlap:  # dev or test rows may be training rows or their translations (grid/leakage.py)
        extra["allow_overlap"] = True
    words = task.words(train)  # no tokenizer (a task that evaluates without one): no overlap to measure
    subwords = SourceSubwords.of(prepared.tokenizer, words) if words and prepared.tokenizer is not None else None
    rows: list[ResultRow] = []
    advice = (  # what to change when a target's evaluation runs out of memory
        f"lower training.eval_batch_size ({job.settings.training.eval_batch_size})"
        if task.needs_training
        else "run on a device with more memory (device:)"
    )
    for target in targets:
        try:
            examples = target_examples[target.code]
            found = {} if subwords is None else subwords.log(task.words(examples) or [])
            checksums = {**source_sums, **target_sums[target.code]}
            rows += _target_rows(job, prepared, target, examples, device, made_with, {**extra, **found}, checksums)
        except (UserError, *out_of_memory_errors) as err:  # the targets finished before it are kept (`UnfinishedCell`)
            finished = {row.target for row in rows}
            stale = {code: why for code, why in job.superseding.items() if code in finished}
            why = str(err) if isinstance(err, UserError) else f"{out_of_memory(err, 'evaluating')}; {advice}"
            raise UnfinishedCell(f"{cell.task} {target.code}: {why}", rows, stale) from err
    del prepared  # at most one fine-tuned model in memory at a time
    gc.collect()
    return rows


def _target_rows(
    job: CellJob,
    prepared: Prepared,
    target: Language,
    examples: list,
    device: torch.device,
    made_with: MadeWith,
    extra: dict,
    checksums: dict[str, str],
) -> list[ResultRow]:
    """One target's rows: its scores, with the cell's `extra` (and the task's own for the target) and the
    `checksums` of the data they were computed from (the source's, the target's, the method's parallel text).
    The main metric's row also carries its confidence interval, per-example file and chance level
    (`uncertainty`)."""
    cell, task = job.cell, job.task
    started = time.perf_counter()
    scores = task.evaluate(prepared, examples, device, progress=f"{cell.task} {target.code}")
    elapsed = time.perf_counter() - started
    target_extra = {**extra, **task.target_log(prepared, target, examples)}
    main_extra = {**target_extra, **uncertainty(job, target.code, scores)}
    return [
        ResultRow(
            cell_key=job.key,
            task=cell.task,
            metric=metric,
            model=cell.model,
            method=cell.method,
            source=cell.source,
            target=target.code,
            seed=cell.seed,
            score=float(score),
            n_examples=len(examples) if scores.tested is None else scores.tested,
            config_hash=job.config_hash,
            code_version=made_with.code_version,
            library_versions=made_with.library_versions,
            data_checksums=checksums,
            wall_time=round(elapsed, 3),
            extra=main_extra if metric == task.metadata.main_metric else target_extra,
            model_fingerprint=made_with.model_fingerprint,
            task_version=task.metadata.version,
        )
        for metric, score in scores.items()
    ]


def uncertainty(job: CellJob, target: str, scores: Scores) -> dict[str, Any]:
    """What the main metric's row adds to its `extra` from the task's per-example outputs: the 95% percentile
    bootstrap interval over the test examples (`ci_low`, `ci_high`, `ci_level`; Efron & Tibshirani 1993, as
    Koehn 2004 resamples test sentences), seeded by the cell key so a rerun gives the same interval; the
    `aggregate` the statistics sum to; `examples`, the per-example file (relative to the store's folder,
    written whole before the row exists); and `chance`, where the task defines one. Nothing for a task that
    keeps no per-example outputs. A file that cannot be written (a full disk) loses neither the scores nor
    the interval: the row says why it has no file (`examples_error`), and so does stderr. Outputs that do not
    give the score back (a fault in a task's code) make no interval and no file: the row and stderr say so."""
    found: dict[str, Any] = {} if scores.chance is None else {"chance": scores.chance}
    outputs = scores.examples
    if outputs is None:
        return found
    if not outputs.gives_back(scores[outputs.metric]):
        why = (
            f"no interval: the per-example outputs give {outputs.metric} {outputs.score():.6f}, not the score "
            f"{scores[outputs.metric]:.6f} (a fault in the task's code)"
        )
        tqdm.write(f"{job.cell.task} {target}: {why}", file=sys.stderr)
        return {**found, "examples_error": why}
    interval = bootstrap_interval(outputs.array(), outputs.aggregate, seed=int(job.key[:8], 16))
    found.update(ci_low=interval.low, ci_high=interval.high, ci_level=interval.level, aggregate=outputs.aggregate)
    store = job.store
    try:
        path = write_examples(store, job.key, target, outputs)
    except OSError as err:
        why = f"per-example outputs not written: {err.strerror or err}"
        tqdm.write(f"{job.cell.task} {target}: {why}", file=sys.stderr)
        return {**found, "examples_error": why}
    return {**found, "examples": path.relative_to(store.parent).as_posix()}
