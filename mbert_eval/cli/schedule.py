"""`mbert-eval schedule`: list, run, run-due, daemon, history and accept of the jobs in a jobs file.

Exit codes: 0 done; 2 a user error (a bad jobs file, a missing config, `run` of a job whose lock
another run holds); 3 a run found a regression (it is also in the job's report and in `history`).
`run-due` runs every due job, prints one line each, and exits with the highest code among them; a
job skipped because another run holds its lock is not an error there (the next slot runs it).
A job that cannot run (its config is missing, a key of it is wrong) fails alone: `list` shows why and
exits 2, `run-due` and the daemon run the other jobs, and `history` is unaffected.
Times are printed in UTC.
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime, timezone
from types import ModuleType
from typing import TYPE_CHECKING

import click

from mbert_eval.errors import UserError

if TYPE_CHECKING:  # the schedule package needs the `schedule` extra: imported when a command runs
    from mbert_eval.schedule.history import RunRecord

JOBS_FILE = click.argument("jobs_file", type=click.Path(dir_okay=False))
SCHEDULE_EXTRA = ("apscheduler", "filelock", "sqlalchemy", "tzlocal")


def _schedule() -> ModuleType:
    """`mbert_eval.schedule`, or a one-line UserError when the schedule extra is missing."""
    try:
        from mbert_eval import schedule
    except ImportError as err:
        if err.name and err.name.split(".")[0] in SCHEDULE_EXTRA:
            raise UserError(f"scheduled jobs need {err.name}: pip install 'mbert-eval[schedule]'") from None
        raise
    return schedule


def _now(ctx: click.Context) -> datetime:
    """The current time; tests inject a clock as `obj={"clock": callable}`."""
    clock = (ctx.obj or {}).get("clock") if isinstance(ctx.obj, dict) else None
    return clock() if clock else datetime.now(timezone.utc)


def _echo_record(record: RunRecord) -> None:
    """A run's line, then its regressions and the scores not comparable with the previous run's."""
    from mbert_eval.schedule.history import describe_run, details

    click.echo(describe_run(record))
    for line in details(record):
        click.echo(line)


@click.group("schedule")
def schedule() -> None:
    """Scheduled evaluation jobs: run what is missing, regenerate the report, flag regressions."""


@schedule.command("list")
@JOBS_FILE
@click.pass_context
def list_jobs(ctx: click.Context, jobs_file: str) -> None:
    """The jobs of JOBS_FILE: schedule, next slot, last run."""
    sched = _schedule()
    jobs, now = sched.load_jobs(jobs_file), _now(ctx)
    from mbert_eval.schedule.history import History, describe_run, iso

    sched.mark_dead_runs(jobs)
    history = History.recorded(jobs.history_path)
    for job in jobs.jobs.values():
        following = job.next_slot(now)
        last = history.runs(job.name, limit=1) if history is not None else []
        if isinstance(job, sched.BrokenJob):
            click.echo(f"{job.name}: cannot run: {job.problem}")
            continue
        click.echo(
            f"{job.name}: '{job.schedule}' ({job.trigger.timezone}), next slot "
            f"{iso(following) if following else 'never'}; config {job.config}; report {job.report}"
        )
        click.echo(
            f"  models: {', '.join(job.models) or '(from the config)'}; thresholds: "
            f"{', '.join(f'{k} {v:g}' for k, v in job.thresholds.items()) or 'none'}"
        )
        click.echo(f"  last run: {describe_run(last[0]) if last else 'never'}")
    if any(isinstance(job, sched.BrokenJob) for job in jobs.jobs.values()):
        sys.exit(2)


@schedule.command("run")
@JOBS_FILE
@click.argument("job")
@click.pass_context
def run(ctx: click.Context, jobs_file: str, job: str) -> None:
    """Run JOB now (recorded under its latest slot); exit 3 on a regression."""
    sched = _schedule()
    record = sched.run_job(sched.load_jobs(jobs_file), job, _now(ctx))
    _echo_record(record)
    if record.regressions:
        sys.exit(3)


@schedule.command("run-due")
@JOBS_FILE
@click.pass_context
def run_due(ctx: click.Context, jobs_file: str) -> None:
    """Run every job whose slot has come since its last run (for cron and systemd timers)."""
    sched = _schedule()
    outcomes = sched.run_due(sched.load_jobs(jobs_file), _now(ctx))
    for outcome in outcomes:
        if outcome.record is not None:
            _echo_record(outcome.record)
        else:
            click.echo(outcome.message, err=outcome.status in ("failed", "locked"))
    for outcome in outcomes:
        if outcome.bug is not None:
            raise outcome.bug
    codes = {"regression": 3, "failed": 2}
    sys.exit(max((codes.get(outcome.status, 0) for outcome in outcomes), default=0))


@schedule.command("accept")
@JOBS_FILE
@click.argument("job")
@click.option("--run", "run_id", type=int, help="The run to accept [default: the job's latest finished run].")
def accept(jobs_file: str, job: str, run_id: int | None) -> None:
    """Accept the regression JOB's last run found (a drop that is meant): later runs are compared with it."""
    sched = _schedule()
    jobs = sched.load_jobs(jobs_file)
    jobs.job(job)
    from mbert_eval.schedule.history import History

    history = History.recorded(jobs.history_path)
    if history is None:
        raise UserError(f"no runs recorded yet in {jobs.history_path}")
    record = history.accept(job, run_id)
    click.echo(f"{job} #{record.id}: its regression accepted; later runs are compared with it")
    _echo_record(record)


@schedule.command("daemon")
@JOBS_FILE
def daemon(jobs_file: str) -> None:
    """Keep an APScheduler scheduler running the jobs at their slots (its job store: SQLite)."""
    sched = _schedule()
    jobs = sched.load_jobs(jobs_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(
        f"scheduler running {len(jobs.jobs)} job(s) from {jobs.path}; job store {jobs.jobstore_path}; "
        "Ctrl-C or SIGTERM stops it"
    )
    for job in jobs.jobs.values():
        if job.trigger is None:
            click.echo(f"{job.name}: not scheduled: {job.problem}", err=True)
    try:
        sched.run_daemon(jobs, stop)
    except KeyboardInterrupt:
        pass
    click.echo("scheduler stopped")


@schedule.command("history")
@JOBS_FILE
@click.argument("job", required=False)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to show, newest first."
)
def history(jobs_file: str, job: str | None, limit: int) -> None:
    """Past runs (of JOB, or of every job) with their regressions."""
    sched = _schedule()
    jobs = sched.load_jobs(jobs_file)
    if job:
        jobs.job(job)
    from mbert_eval.schedule.history import History

    sched.mark_dead_runs(jobs)
    history = History.recorded(jobs.history_path)
    records = history.runs(job, limit) if history is not None else []
    if not records:
        click.echo(f"no runs recorded yet in {jobs.history_path}")
    for record in records:
        _echo_record(record)
