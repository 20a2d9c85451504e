"""The daemon: an APScheduler 3 scheduler whose job store is SQLite (schedule.jobstore.sqlite beside the
history); at each of a job's slots it does what `run-due` does for that job, and once at start what
`run-due` does for every job (a slot whose run was interrupted, or missed while the daemon was down).

Jobs run one at a time: two jobs due at one slot, run at once in this one process, would share torch's global
random state and thread count, and score what neither scores alone (0.318 and 0.420 for a cell that scores
0.2985 each time alone). A job due while another runs waits for it, then runs (no misfire grace time: it is
never dropped for being late)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from mbert_eval.errors import UserError
from mbert_eval.schedule.history import details
from mbert_eval.schedule.jobs import JobsFile, load_jobs
from mbert_eval.schedule.runs import run_due

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

CATCH_UP = "@start"  # the id of the run-due at start ('@' is in no job name)


def scheduled_run(jobs_path: str, name: str | None = None) -> None:
    """What the daemon calls at each of a job's slots: run-due for that job (every job when `name` is None),
    by a text reference, so that APScheduler's SQLite job store can hold it. The jobs file is read anew each
    time; a jobs file made unreadable since, or a job gone from it, is one line and no run."""
    try:
        jobs = load_jobs(jobs_path)
        if name is not None:
            jobs.job(name)
    except UserError as err:
        print(f"Error: {err}; not run", flush=True)
        return
    outcomes = run_due(jobs, datetime.now(timezone.utc), only=None if name is None else [name])
    for outcome in outcomes:
        print(outcome.message, flush=True)
        for line in details(outcome.record) if outcome.record else ():
            print(line, flush=True)
    for outcome in outcomes:
        if outcome.bug is not None:
            raise outcome.bug


def start_daemon(jobs: JobsFile, paused: bool = False) -> BackgroundScheduler:
    """An APScheduler 3 scheduler with its job store in SQLite, holding exactly the jobs of the jobs file
    that have a valid schedule (stale ones removed), running one job at a time (one worker thread: see the module
    docstring); missed slots run once at start (coalesced)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    jobs.jobstore_path.parent.mkdir(parents=True, exist_ok=True)
    store = SQLAlchemyJobStore(url=f"sqlite:///{jobs.jobstore_path.resolve()}")
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.start(paused=True)
    scheduled = [job for job in jobs.jobs.values() if job.trigger is not None]
    for stale in scheduler.get_jobs():
        if stale.id not in {job.name for job in scheduled}:
            stale.remove()
    for job in scheduled:
        scheduler.add_job(
            "mbert_eval.schedule:scheduled_run",
            job.trigger,
            args=[str(jobs.path.resolve()), job.name],
            id=job.name,
            name=job.name,
            replace_existing=True,
        )
    if not paused:
        scheduler.resume()
    return scheduler


def run_daemon(jobs: JobsFile, stop: threading.Event) -> None:
    """Keep the scheduler running until `stop` is set (the CLI sets it on Ctrl-C or SIGTERM); at start,
    run-due once for every job."""
    scheduler = start_daemon(jobs, paused=True)
    scheduler.add_job(
        "mbert_eval.schedule:scheduled_run", args=[str(jobs.path.resolve())], id=CATCH_UP, replace_existing=True
    )
    scheduler.resume()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
