"""Running a grid: resolve it once (`grid.resolve`: validate, build each task, key each cell), describe the run in the store (its config and reference method, its tasks' metric
roles), plan the cells (and targets) the store lacks or holds stale rows of, run them on an executor, write
each cell's rows in one transaction as it finishes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from mbert_eval.config.experiment import Experiment
from mbert_eval.data.checksums import current_hashes, remember
from mbert_eval.errors import UserError
from mbert_eval.grid.cells import Cell
from mbert_eval.grid.executors.local import CellOutcome, Executor
from mbert_eval.grid.freshness import Staleness, identity_now, stale_against
from mbert_eval.grid.job import CellJob, UnfinishedCell
from mbert_eval.grid.process_state import process_state_kept
from mbert_eval.grid.resolve import ResolvedGrid, RunSettings, resolve
from mbert_eval.models.fingerprint import model_fingerprint
from mbert_eval.models.folders import remove_stale
from mbert_eval.models.progress import progress_bar
from mbert_eval.registry import registered_name
from mbert_eval.store.locks import held_lock
from mbert_eval.store.results import MetricRole, ResultRow, ResultStore, StoredConfig
from mbert_eval.store.unsaved import keep_unsaved, store_unsaved
from mbert_eval.tasks import get_task


@dataclass(frozen=True)
class RunSummary:
    """What a run did: cells run and skipped, rows written, where the store is and the config it recorded there
    (what a report of the run shows)."""

    cells_run: int
    cells_skipped: int
    rows_written: int
    store: Path
    config: StoredConfig

    def describe(self) -> str:
        """One line for the terminal: cells run and skipped, rows written, the store."""
        return (
            f"{self.cells_run} cells run, {self.cells_skipped} already stored, "
            f"{self.rows_written} rows written to {self.store}"
        )


def metric_roles(tasks: Iterable[str]) -> list[MetricRole]:
    """Each task's metric roles from its metadata: the main metric (with its direction) and its other declared
    metrics (direction not declared); the metrics that make up an XTREME task's score are marked with its XTREME
    name, on the registered entry only: a variant (`tatoeba:centred`) runs other settings than XTREME's, and
    XTREME's score counts each task once. Per-layer scores (`{main}_layerNN`) are derived: they get no row."""
    roles = []
    for name in tasks:
        registered = registered_name(name)
        metadata = get_task(registered).metadata
        main, described, unscaled = metadata.main_metric, metadata.metric_descriptions, metadata.unscaled_metrics
        xtreme = {metric: metadata.xtreme for metric in metadata.xtreme_metrics} if name == registered else {}
        roles.append(MetricRole(name, main, True, metadata.higher_is_better, described.get(main, ""), xtreme.get(main)))
        roles += [
            MetricRole(name, metric, False, None, described.get(metric, ""), xtreme.get(metric), metric not in unscaled)
            for metric in dict.fromkeys([*described, *xtreme])
            if metric != main and not metric.endswith("_layerNN")  # a description of the per-layer scores
        ]
    return roles


def marked(rows: Iterable[ResultRow], run: RunSettings) -> list[ResultRow]:
    """The rows with what the run adds to their `extra`: the model's display name where the config gives one
    (`model_name`), and the run's `limit` (so that a limited run's rows are never read as a full run's)."""
    marks = {} if run.limit is None else {"limit": run.limit}
    return [
        replace(
            row,
            extra={
                **row.extra,
                **marks,
                **({"model_name": run.model_names[row.model]} if row.model in run.model_names else {}),
            },
        )
        for row in rows
    ]


def plan(grid: ResolvedGrid, store: ResultStore, overwrite: bool = False) -> tuple[list[CellJob], int]:
    """The jobs still to run (each restricted to its missing targets and those whose stored rows are stale:
    their model, data files, task version or method step versions changed since, see `freshness`; with
    `overwrite`, every target, the rows replaced kept in `superseded` as they are written) and the count skipped;
    stale rows move to `superseded` here, before any cell runs (those of targets the run leaves out without being
    recomputed).
    Rows the store holds under a cell's earlier key (`ResolvedCell.recorded_key`) take its key first. Says on
    stderr, one line per reason, what is recomputed and why. File checksums of earlier runs (kept in the
    store) are taken as known, so unchanged files are not hashed again."""
    run = grid.refuse()  # a grid with problems has nothing to plan
    remember(store.file_hashes())
    fingerprints: dict[str, str] = {}
    found = Staleness()
    jobs, skipped = [], 0
    rekeyed = 0
    for resolved in grid.cells:
        cell, key, task = resolved.cell, resolved.key, grid.tasks[resolved.cell.task]
        if resolved.recorded_key is not None:  # rows stored under the key the cell had before: its rows
            rekeyed += store.rekey(resolved.recorded_key, key) > 0
        stored = store.rows(cell_key=key)
        if cell.model not in fingerprints:
            fingerprints[cell.model] = model_fingerprint(cell.model)
        identity = identity_now(  # what the rows are compared with
            key, cell, task, fingerprints[cell.model], resolved.parallel, resolved.step_versions, resolved.unread
        )
        stale = stale_against(identity, cell, task, stored, found)
        if stale:  # out of `results` now, kept in `superseded`: a run that stops before recomputing them (Ctrl-C, a
            # failure) leaves no stale row beside new ones of the same cell (`results` averaged the two models')
            store.supersede(key, stale)
            stored = [row for row in stored if row.target not in stale]
        replaced = (  # with `overwrite`, every stored target computed again; the rows it replaces kept in `superseded`
            {t: "recomputed (--overwrite)" for t in {row.target for row in stored} & set(cell.targets)}
            if overwrite
            else {}
        )
        done = {row.target for row in stored} - set(replaced)
        missing = tuple(t for t in cell.targets if t not in done)
        if not missing:
            skipped += 1
            continue
        cell = Cell(cell.model, cell.method, cell.task, cell.source, cell.seed, missing)
        jobs.append(
            CellJob(
                cell,
                key,
                task,
                resolved.settings,
                run.steps,
                resolved.parallel,
                resolved.step_versions,
                run.checkpoints,
                run.store,
                run.device,
                run.threads,
                run.config.config_hash,
                check_examples=cell.task not in grid.examples_checked,
                superseding=replaced,
            )
        )
    if rekeyed:
        cells = "1 cell" if rekeyed == 1 else f"{rekeyed} cells"
        print(
            f"the rows of {cells} re-keyed: a task's own `targets:` are no part of a cell's key any more (a target "
            "added later is computed alone)",
            file=sys.stderr,
        )
    for line in found.lines():
        print(line, file=sys.stderr)
    known = current_hashes()
    store.write_file_hashes(known)
    return [replace(job, known_hashes=known) for job in jobs], skipped


def run_experiment(
    experiment: Experiment,
    overwrite: bool = False,
    executor: Executor | None = None,
    problems: Iterable[str] = (),
) -> RunSummary:
    """Resolve the experiment (refusing its problems, as `mbert-eval validate` reports them), then run it
    (`run_resolved`)."""
    grid = resolve(experiment, list(problems))
    grid.refuse()
    return run_resolved(grid, overwrite, executor)


def _write_cell(store: ResultStore, rows: list[ResultRow], superseding: dict[str, str], overwrite: bool) -> int:
    """Write a finished cell's rows (`ResultStore.write_cell`); where the store refuses them, the run ends in
    one line that says where the rows are kept for the next run (`store.unsaved`)."""
    try:
        return store.write_cell(rows, overwrite=overwrite, superseding=superseding)
    except UserError as err:
        raise UserError(f"{err}; {keep_unsaved(store.path, rows, superseding, overwrite)}") from None


def _store_outcome(store: ResultStore, job: CellJob, outcome: CellOutcome, run: RunSettings, overwrite: bool) -> int:
    """Store what a cell ended in: its rows; or, where it failed, the rows of the targets it finished first
    (`UnfinishedCell`) and then its error, raised."""
    if not isinstance(outcome, Exception):
        return _write_cell(store, marked(outcome, run), job.superseding, overwrite)
    if isinstance(outcome, UnfinishedCell):  # a target failed after fine-tuning: keep the targets finished before it
        kept = _write_cell(store, marked(outcome.rows, run), outcome.superseding, overwrite)
        raise UserError(f"{outcome} ({kept} rows of the cell's targets finished before it stored)") from outcome
    raise outcome


def _stopped_run(failure: Exception, finished: int) -> Exception:
    """The error a run ends in: its first failure, saying how many cells already running then finished and were
    stored after it (`Executor.stop`)."""
    if not finished:
        return failure
    cells = "1 cell" if finished == 1 else f"{finished} cells"
    note = f"{cells} already running when it happened finished and stored"
    if isinstance(failure, UserError):
        return UserError(f"{failure}; {note}")
    tqdm.write(note, file=sys.stderr)
    return failure


def run_resolved(
    grid: ResolvedGrid, overwrite: bool = False, executor: Executor | None = None, wait_for_store: bool = False
) -> RunSummary:
    """Run every missing cell of a resolved grid without problems, writing each to the store as it finishes.
    The store's lock is held throughout: a second run on the same store stops at once and says who holds it
    (two runs would compute every cell twice), or, with `wait_for_store` (a scheduled run), waits for it and then
    computes only what is still missing. Temporary folders of killed runs are removed from the
    checkpoints folder. At the first failure (a cell's error, or the store refusing a cell's rows) no further
    cell starts; the cells already running finish and are stored (`Executor.stop`), and the run ends in that
    failure."""
    run = grid.refuse()
    store = ResultStore(run.store)
    real = run.store.resolve()  # through a link, the store is locked where it lies (else two runs on it both ran)
    lock = real.with_name(f"{real.name}.lock")
    busy = f"results store {run.store} is in use by another run"
    with held_lock(lock, busy, wait=wait_for_store, config=run.config.name):
        remove_stale(run.checkpoints)
        store.write_config(run.config)
        store.write_metric_roles(metric_roles(grid.tasks))
        restored = store_unsaved(store)
        if restored:
            print(f"{restored} rows of cells an earlier run could not store written to {run.store}", file=sys.stderr)
        jobs, skipped = plan(grid, store, overwrite)
        if executor is None:
            from mbert_eval.grid.executors import make_executor

            executor = make_executor(run.executor, run.ray)
        written, finished, failure = 0, 0, None
        kept = process_state_kept() if jobs else nullcontext()  # nothing computed: torch is not even imported
        with progress_bar(total=len(jobs), desc="cells", unit="cell") as bar, kept:
            for job, outcome in executor.map(jobs):
                try:
                    written += _store_outcome(store, job, outcome, run, overwrite)
                    finished += failure is not None
                except Exception as err:  # the first failure stops the run; cells already running still finish
                    if failure is not None:
                        cell = job.cell
                        tqdm.write(f"{cell.task} {cell.method} {cell.source} seed {cell.seed}: {err}", file=sys.stderr)
                    else:
                        failure = err
                        executor.stop()
                bar.update()
        if failure is not None:
            raise _stopped_run(failure, finished)
        store.write_file_hashes(current_hashes())  # what the cells hashed, for the next run
    return RunSummary(len(jobs), skipped, written, run.store, run.config)
