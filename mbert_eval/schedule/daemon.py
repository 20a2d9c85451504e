"""The daemon: an APScheduler 3 scheduler whose job store is SQLite (schedule.jobstore.sqlite beside the
history); at each of a job's slots it does what `run-due` does for that job."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from mbert_eval.schedule.jobs import JobsFile, load_jobs
from mbert_eval.schedule.runs import run_due

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler


def scheduled_run(jobs_path: str, name: str) -> None:
    """What the daemon calls at each of a job's slots: run-due for that job (by a text reference,
    so that APScheduler's SQLite job store can hold it); the jobs file is read anew each time."""
    for outcome in run_due(load_jobs(jobs_path), datetime.now(timezone.utc), only=[name]):
        print(outcome.message, flush=True)
        for regression in outcome.record.regressions if outcome.record else ():
            print(f"  regression: {regression.describe()}", flush=True)


def start_daemon(jobs: JobsFile, paused: bool = False) -> BackgroundScheduler:
    """An APScheduler 3 scheduler with its job store in SQLite, holding exactly the jobs
    of the jobs file (stale ones removed); missed slots run once at start (coalesced)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    jobs.jobstore_path.parent.mkdir(parents=True, exist_ok=True)
    store = SQLAlchemyJobStore(url=f"sqlite:///{jobs.jobstore_path.resolve()}")
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    scheduler.start(paused=True)
    for stale in scheduler.get_jobs():
        if stale.id not in jobs.jobs:
            stale.remove()
    for job in jobs.jobs.values():
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
    """Keep the scheduler running until `stop` is set (the CLI sets it on Ctrl-C or SIGTERM)."""
    scheduler = start_daemon(jobs)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
