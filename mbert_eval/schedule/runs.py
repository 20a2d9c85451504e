"""One run of a job: evaluate what is missing, write the report with its regressions, compare with the
previous run; `run_due`, which runs every job whose latest slot has no run yet, each apart from the others;
and `mark_dead_runs`, which marks the runs whose process died `interrupted`.

A job's run is planned as `mbert-eval run` plans one (`grid.plan.plan_run`): the same refusals, the report's place
among them (it never replaces the store or an input: the config, a data file, a model folder), all before any
cell runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mbert_eval.errors import UserError
from mbert_eval.schedule.history import (
    History,
    JobLocked,
    ModelGroup,
    RunRecord,
    Score,
    compare,
    describe_run,
    iso,
    job_lock,
    report_regressions,
    take_snapshot,
)
from mbert_eval.schedule.jobs import BrokenJob, Job, JobsFile, resolve_models

if TYPE_CHECKING:
    from mbert_eval.config.experiment import Experiment
    from mbert_eval.grid.resolve import ResolvedGrid
    from mbert_eval.store.results import ResultStore


def run_job(
    jobs: JobsFile,
    name: str,
    now: datetime,
    trigger: str = "manual",
    executor: Any = None,
) -> RunRecord | None:
    """Run one job for its latest slot at or before `now`: plan it (`grid.plan.plan_run`), evaluate what is
    missing, write the report, compare with the job's previous run. Raises JobLocked if a run of it is in
    progress; a failed run is recorded, then its error raised (a broken job's run fails with its problem). With
    trigger "due", returns None when the slot already has a run (another process may have run it while
    this one waited to start). A store in use by another run is waited for; a run stopped by Ctrl-C is recorded
    `interrupted`, so that its slot runs again."""
    job = jobs.job(name)
    if isinstance(job, BrokenJob) and job.trigger is None:
        raise UserError(f"job '{name}' cannot run: {job.problem}")
    slot = job.latest_slot(now) or now.astimezone()
    history = History(jobs.history_path)
    with job_lock(jobs.lock_dir, name, slot) as holder:
        history.mark_interrupted(name)
        last = history.last_slot(name)
        if trigger == "due" and last is not None and last >= slot:
            return None
        run_id = history.start(name, slot, trigger, holder)
        try:
            if isinstance(job, BrokenJob):
                raise UserError(job.problem)
            return _evaluate(job, run_id, slot, history, executor)
        except KeyboardInterrupt:  # stopped, not failed: like a run whose process died, its slot runs again
            history.finish(run_id, "interrupted", error="stopped (Ctrl-C) before it finished")
            raise
        except BaseException as err:
            history.finish(run_id, "failed", error=(str(err).splitlines() or [type(err).__name__])[0])
            raise


def _evaluate(job: Job, run_id: int, slot: datetime, history: History, executor: Any) -> RunRecord:
    """The run of a sound job: plan it as `mbert-eval run` would (refused, whatever it is, before any cell runs),
    run its missing cells, take its snapshot, compare it with the previous run's and write the report."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.plan import plan_run
    from mbert_eval.grid.run import run_resolved
    from mbert_eval.report import write_report
    from mbert_eval.store.results import ResultStore

    overrides = list(job.overrides)
    groups = resolve_models(job)
    requested = list(dict.fromkeys(m for g in groups for m in g.models))
    if groups:
        overrides.append("models=" + json.dumps(requested))
    experiment, problems = load_experiment(job.config, overrides)
    if len(experiment.models) == len(requested):  # each model as the run's rows name it (`load_experiment` anchors
        # a folder at the config's: a fixed name found there, not beside the jobs file, was compared with no row)
        spelled = dict(zip(requested, experiment.models))
        groups = [ModelGroup(group.label, tuple(spelled[m] for m in group.models)) for group in groups]
    groups = groups or [ModelGroup(model, (model,)) for model in experiment.models]
    unknown = sorted(set(job.thresholds) - set(experiment.tasks))
    if unknown:
        raise UserError(f"job '{job.name}': thresholds name tasks the experiment lacks: {', '.join(unknown)}")
    planned = plan_run(experiment, problems, job.config, job.report)
    # refuses the plan's problems first; waits for a manual run that holds the store, then runs what is missing
    summary = run_resolved(planned.grid, executor=executor, wait_for_store=True)
    store = ResultStore(experiment.store_path)
    snapshot = _snapshot(experiment, planned.grid, store, groups)
    unscored = [group for group in groups if not any(score.group == group.label for score in snapshot)]
    if unscored:  # nothing of it could be compared: a run that says `ok` would claim what was not checked
        raise UserError(
            f"job '{job.name}': no stored score of model group '{unscored[0].label}' ({unscored[0].representative}) "
            "after the run, so none can be compared"
        )
    previous = history.previous(job.name, run_id)
    lower = {(role.task, role.metric) for role in store.metric_roles() if role.higher_is_better is False}
    regressions, apart, compared = (
        compare(previous.snapshot, snapshot, job.thresholds, lower) if previous else ([], [], 0)
    )
    title = f"{job.name}: {experiment.name} (slot {slot:%Y-%m-%d %H:%M %Z})"
    write_report(
        store,
        job.report,
        title,
        config=summary.config,
        regressions=report_regressions(previous, regressions, job.thresholds, apart, compared),
        protected=planned.inputs,
    )
    return history.finish(
        run_id,
        "regression" if regressions else "ok",
        cells_run=summary.cells_run,
        cells_skipped=summary.cells_skipped,
        models=[m for g in groups for m in g.models],
        snapshot=snapshot,
        regressions=regressions,
        not_comparable=apart,
    )


def _snapshot(experiment: Experiment, grid: ResolvedGrid, store: ResultStore, groups: list[ModelGroup]) -> list[Score]:
    """The run's snapshot (`history.take_snapshot`) from the stored rows of the grid's cells."""
    from mbert_eval.report.roles import main_metrics

    cells = {resolved.key: resolved.cell for resolved in grid.cells}
    rows = [r for r in store.rows() if r.cell_key in cells and r.target in cells[r.cell_key].targets]
    main = main_metrics(((r.task, r.metric) for r in rows), store.metric_roles())
    return take_snapshot(rows, groups, main, _settings(experiment, grid))


def _settings(experiment: Experiment, grid: ResolvedGrid) -> dict[str, str]:
    """Each cell's key -> the hash of its identity (`grid.cells.cell_identity`) without its model and seed, with
    the versions of its method's checkpoint steps: what its scores were computed with but the model, the seed and
    the data's content (a score's basis holds those apart: `history.BASIS`)."""
    from mbert_eval.config.experiment import stable_hash
    from mbert_eval.grid.cells import cell_identity

    return {
        resolved.key: stable_hash(
            [
                cell_identity(
                    experiment,
                    grid.tasks[resolved.cell.task],
                    replace(resolved.cell, model="", seed=0),
                    replace(resolved.settings, seed=0),
                ),
                resolved.step_versions,
            ]
        )
        for resolved in grid.cells
    }


@dataclass(frozen=True)
class Outcome:
    """What `run_due` did with one job: not-due, locked, ok, regression or failed (`bug`: an error that is
    no user error, to raise once every outcome is shown)."""

    job: str
    status: str
    message: str
    record: RunRecord | None = None
    bug: Exception | None = None


def mark_dead_runs(jobs: JobsFile) -> None:
    """Mark `interrupted` the `running` runs whose process died: those of a job whose lock is free (a run
    still alive holds its job's lock, so it is left alone)."""
    history = History.recorded(jobs.history_path)
    for name in history.running_jobs() if history is not None else []:
        try:
            with job_lock(jobs.lock_dir, name):
                history.mark_interrupted(name)
        except JobLocked:
            continue


def run_due(jobs: JobsFile, now: datetime, only: list[str] | None = None, executor: Any = None) -> list[Outcome]:
    """Run every job (or those in `only`) whose latest slot at or before `now` has no run yet (an interrupted
    run does not count). Each job fails alone: the others still run; an error that is no
    user error (a bug) is kept in its outcome, for the caller to raise once every outcome is shown."""
    mark_dead_runs(jobs)
    history = History(jobs.history_path)
    outcomes = []
    for name in only or list(jobs.jobs):
        job = jobs.job(name)
        slot, last = job.latest_slot(now), history.last_slot(name)
        record = None
        if isinstance(job, BrokenJob) and job.trigger is None:
            outcomes.append(Outcome(name, "failed", f"{name}: cannot run: {job.problem}"))
            continue
        if slot is not None and (last is None or last < slot):
            try:
                record = run_job(jobs, name, slot, trigger="due", executor=executor)
            except JobLocked as err:
                outcomes.append(Outcome(name, "locked", str(err)))
                continue
            except UserError as err:
                outcomes.append(Outcome(name, "failed", f"{name}: failed: {err}"))
                continue
            except Exception as err:  # recorded as failed by run_job; the other jobs still run
                outcomes.append(Outcome(name, "failed", f"{name}: failed: {type(err).__name__}: {err}", bug=err))
                continue
        if record is None:
            following = job.next_slot(now)
            when = iso(following) if following else "never"
            outcomes.append(Outcome(name, "not-due", f"{name}: not due (next slot {when})"))
        else:
            outcomes.append(Outcome(name, record.status, describe_run(record), record))
    return outcomes
