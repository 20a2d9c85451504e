"""Scheduled evaluation jobs: cron slots, one lock per job, and each run's evaluate → report → compare.

A jobs file (YAML; paths are relative to it):

    history: schedule.sqlite              # optional, this is the default: runs and their snapshots
    jobs:
      nightly-pos:                        # letters, digits, '.', '_', '-'
        config: ud-pos-local.yaml         # an experiment config
        schedule: "0 2 * * *"             # cron: minute hour day-of-month month day-of-week
        timezone: Europe/Berlin           # optional; default: this machine's time zone
        models: [../runs/ckpt/step-*]     # optional: fixed names and/or globs of checkpoint folders
        report: ../reports/nightly-pos.html
        thresholds: {pos: 0.02}           # per task: how much worse its main metric may get (absolute)
        set: [training.epochs=3]          # optional overrides of the experiment, as `--set`

Job names: two names equal but for case (or `1` and `'1'`) are refused, naming both: each job's lock
file is named after it.

A broken job (a problem inside its entry: its config missing, a bad key, a bad schedule) fails alone:
`list` shows why and exits 2, `run-due` and the daemon run the other jobs and record, at each of the
broken job's slots, a failed run saying why (a job whose schedule is itself bad has no slots: it is
reported, not recorded). A problem of the whole file (its shape, a top-level key, the names) refuses it.

Slots: the times a job's cron expression names. `run-due` (and the daemon) runs a job when its
latest slot at or before now is later than the latest slot it has a run for. A job never run before
runs its latest slot only; after downtime, a job runs once, for its latest slot (missed slots are not
replayed). A failed run counts as its slot's run: the next slot tries again. An interrupted run (its
process killed: see `schedule.history`) does not: its slot runs again. `run JOB` runs a job now,
recorded under its latest slot. All of these take `now` as an argument so that tests can move time.

Cron: five fields, day-of-week 0 or 7 = Sunday as in crontab(5) (translated here: APScheduler 3's
`from_crontab` would count from Monday). Restricting both day-of-month and day-of-week is rejected:
cron runs when either matches, APScheduler only when both do.

Models: a job's `models` replace the experiment's `models` (as `--set models=[...]`). A glob matches
checkpoint folders, those holding a config.json (write checkpoints under a temporary name and rename
them when complete), in natural order (step-900 before step-1000); each run matches it again, so a
new checkpoint is evaluated at the next slot, and what the store already holds is not recomputed.
A fixed name starting with '.', '/' or '~', or naming a path next to the jobs file, is a folder
relative to the jobs file; any other is a Hugging Face Hub name. How scores are compared between runs
(the newest checkpoint against the previous run's newest) is in `schedule.history`.

Lock: one inter-process file lock per job (see `schedule.history.job_lock`): a second run of the same
job says who holds the lock and exits without running.

Daemon: an APScheduler 3 scheduler whose job store is SQLite (schedule.jobstore.sqlite beside the
history); at each of a job's slots it does what `run-due` does for that job, and at start what
`run-due` does for every job (so a slot whose run the daemon's death interrupted runs again). It runs one job at
a time: a job due while another runs waits for it (see `schedule.daemon`).

Planning: a job's run is checked as `mbert-eval run` checks one (`grid.plan.plan_run`), its report's place
included, before any cell runs.
"""

from mbert_eval.schedule.daemon import run_daemon, scheduled_run, start_daemon
from mbert_eval.schedule.jobs import BrokenJob, Job, JobsFile, load_jobs, resolve_models
from mbert_eval.schedule.runs import Outcome, mark_dead_runs, run_due, run_job

__all__ = [
    "BrokenJob",
    "Job",
    "JobsFile",
    "Outcome",
    "load_jobs",
    "mark_dead_runs",
    "resolve_models",
    "run_daemon",
    "run_due",
    "run_job",
    "scheduled_run",
    "start_daemon",
]
