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
        thresholds: {pos: 0.02}           # per task: the absolute drop of its main metric that is a regression
        set: [training.epochs=3]          # optional overrides of the experiment, as `--set`

Slots: the times a job's cron expression names. `run-due` (and the daemon) runs a job when its
latest slot at or before now is later than the latest slot it has a run for. A job never run before
runs its latest slot only; after downtime, a job runs once, for its latest slot (missed slots are not
replayed). A failed run counts as its slot's run: the next slot tries again. `run JOB` runs a job now,
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
(the newest checkpoint against the previous run's newest) is in `schedule_history`.

Lock: one inter-process file lock per job (see `schedule_history.job_lock`): a second run of the same
job says who holds the lock and exits without running.

Daemon: an APScheduler 3 scheduler whose job store is SQLite (schedule.jobstore.sqlite beside the
history); at each of a job's slots it does what `run-due` does for that job.
"""
from __future__ import annotations

import difflib
import glob
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger

from mbert_eval.errors import UserError
from mbert_eval.schedule_history import (
    History, JobLocked, ModelGroup, RunRecord, compare, describe_run, iso, job_lock, natural_key, regressions_section,
    take_snapshot, write_job_report,
)

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

JOB_KEYS = ("config", "schedule", "timezone", "models", "report", "thresholds", "set")
REQUIRED_KEYS = ("config", "schedule", "report")
DEFAULT_HISTORY = "schedule.sqlite"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367),
            timedelta(days=4 * 366 + 1))


def _weekdays(spec: str) -> str:
    """A crontab(5) day-of-week field (0 or 7 = Sunday) as APScheduler 3 day names."""
    if spec == "*":
        return "*"
    days: set[int] = set()
    for item in spec.lower().split(","):
        base, slash, step = item.partition("/")
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            low, high = (_day_number(part) for part in base.split("-", 1))
        else:
            low = _day_number(base)
            high = 7 if slash else low
        if slash and not (step.isdigit() and int(step) > 0):
            raise ValueError(f"bad step '{step}' in day-of-week '{spec}'")
        if high < low:
            raise ValueError(f"day-of-week range '{base}' runs backwards")
        days.update(day % 7 for day in range(low, high + 1, int(step) if slash else 1))
    return ",".join(_DAYS[day] for day in sorted(days))


def _day_number(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token in _DAYS:
        return _DAYS.index(token)
    raise ValueError(f"bad day of week '{token}' (use 0-7 or sun-sat)")


def cron_trigger(expression: str, zone: str | None = None) -> CronTrigger:
    """An APScheduler trigger for a crontab(5) expression, in `zone` (default: local time)."""
    fields = expression.split()
    if len(fields) != 5:
        raise UserError(f"bad cron expression '{expression}': expected 5 fields "
                        f"(minute hour day-of-month month day-of-week), got {len(fields)}")
    minute, hour, day, month, day_of_week = fields
    if day != "*" and day_of_week != "*":
        raise UserError(f"cron expression '{expression}' restricts both day-of-month and day-of-week; "
                        "use two jobs (cron would run on either day, APScheduler only when both match)")
    try:
        trigger = CronTrigger(minute=minute, hour=hour, day=day, month=month,
                              day_of_week=_weekdays(day_of_week), timezone=zone)
    except ValueError as err:
        raise UserError(f"bad cron expression '{expression}': {err}") from None
    if trigger.get_next_fire_time(None, datetime.now(timezone.utc)) is None:
        raise UserError(f"cron expression '{expression}' never fires")
    return trigger


def latest_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time at or before `now` that the trigger names (None if none in four years)."""
    now = now.astimezone()  # a naive `now` is local time
    for window in _WINDOWS:
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None:
            return None
        if fire > now:
            continue
        while (following := trigger.get_next_fire_time(fire, fire)) is not None and following <= now:
            fire = following
        return fire
    return None


@dataclass(frozen=True)
class Job:
    """One scheduled job of a jobs file, paths resolved against the jobs file's folder."""

    name: str
    config: Path
    schedule: str
    trigger: CronTrigger
    report: Path
    models: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    base_dir: Path = Path(".")

    def latest_slot(self, now: datetime) -> datetime | None:
        """This job's latest slot at or before `now`."""
        return latest_slot(self.trigger, now)

    def next_slot(self, now: datetime) -> datetime | None:
        """This job's first slot after `now`."""
        return self.trigger.get_next_fire_time(None, now.astimezone() + timedelta(seconds=1))


@dataclass(frozen=True)
class JobsFile:
    """A parsed jobs file: its jobs by name and where their history lives."""

    path: Path
    jobs: dict[str, Job]
    history_path: Path

    @property
    def lock_dir(self) -> Path:
        """Where the per-job lock files live: next to the history file."""
        return self.history_path.with_suffix(".locks")

    @property
    def jobstore_path(self) -> Path:
        """The daemon's APScheduler job store (SQLite), next to the history file."""
        return self.history_path.with_suffix(".jobstore.sqlite")

    def job(self, name: str) -> Job:
        """The job called `name`, or a UserError that suggests the closest name."""
        if name not in self.jobs:
            close = difflib.get_close_matches(name, list(self.jobs), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (jobs: {', '.join(self.jobs) or 'none'})"
            raise UserError(f"{self.path}: no job '{name}'{hint}")
        return self.jobs[name]


def _anchor(entry: str, base: Path) -> Path:
    path = Path(entry).expanduser()
    return path if path.is_absolute() else base / path


def load_jobs(path: str | Path) -> JobsFile:
    """Read and check a jobs file; every problem is reported (the first in the one-line error)."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"jobs file not found: {file}")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise UserError(f"{file}{f':{mark.line + 1}' if mark else ''}: not valid YAML") from None
    base = file.resolve().parent
    problems: list[str] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), dict):
        raise UserError(f"{file}: expected a mapping with a 'jobs' mapping (name -> job)")
    problems += [f"{key}: unknown key (known: history, jobs)" for key in raw if key not in ("history", "jobs")]
    jobs = {}
    for name, spec in raw["jobs"].items():
        job = _parse_job(str(name), spec, base, problems)
        if job is not None:
            jobs[job.name] = job
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{file}: {problems[0]}{more}")
    return JobsFile(file, jobs, _anchor(str(raw.get("history") or DEFAULT_HISTORY), base))


def _parse_job(name: str, spec: Any, base: Path, problems: list[str]) -> Job | None:
    where = f"jobs.{name}"
    if not _NAME.fullmatch(name):
        problems.append(f"{where}: a job name may hold only letters, digits, '.', '_' and '-'")
        return None
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    found = len(problems)
    for key in spec:
        if key not in JOB_KEYS:
            close = difflib.get_close_matches(str(key), JOB_KEYS, n=1)
            problems.append(f"{where}.{key}: unknown key" + (f"; did you mean '{close[0]}'?" if close else ""))
    problems += [f"{where}.{key}: missing" for key in REQUIRED_KEYS if not spec.get(key)]
    if len(problems) > found:
        return None
    config = _anchor(str(spec["config"]), base)
    if not config.is_file():
        problems.append(f"{where}.config: config file not found: {config}")
    zone = spec.get("timezone")
    try:
        if zone is not None:
            ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{where}.timezone: unknown time zone {zone!r} (e.g. UTC, Europe/Berlin)")
        return None
    try:
        trigger = cron_trigger(str(spec["schedule"]), zone)
    except UserError as err:
        problems.append(f"{where}.schedule: {err}")
        return None
    report = _anchor(str(spec["report"]), base)
    if report.suffix.lower() not in (".html", ".htm"):
        problems.append(f"{where}.report: the report is an HTML page; name it *.html (got {report.name})")
    models, overrides = _strings(spec.get("models")), _strings(spec.get("set"))
    if models is None or overrides is None:
        problems.append(f"{where}.{'models' if models is None else 'set'}: expected a string or a list of strings")
        return None
    thresholds = spec.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in thresholds.values()):
        problems.append(f"{where}.thresholds: expected task: non-negative number, e.g. {{pos: 0.02}}")
        return None
    return Job(name, config, str(spec["schedule"]), trigger, report, tuple(models),
               {str(k): float(v) for k, v in thresholds.items()}, tuple(overrides), base)


def _strings(value: Any) -> list[str] | None:
    """A string or a list of strings as a list (None: neither)."""
    value = [] if value is None else [value] if isinstance(value, str) else value
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def resolve_models(job: Job) -> list[ModelGroup]:
    """The job's model groups now: each glob matched again (natural order), fixed names as given."""
    groups = []
    for entry in job.models:
        if glob.has_magic(entry):
            found = [p for p in glob.glob(str(_anchor(entry, job.base_dir))) if (Path(p) / "config.json").is_file()]
            if not found:
                raise UserError(f"job '{job.name}': models glob '{entry}' matches no checkpoint folder "
                                "(a folder with a config.json) yet")
            groups.append(ModelGroup(entry, tuple(sorted(found, key=natural_key))))
        else:
            local = entry.startswith((".", "/", "~")) or (job.base_dir / entry).exists()
            groups.append(ModelGroup(entry, (str(_anchor(entry, job.base_dir)) if local else entry,)))
    return groups


def run_job(
    jobs: JobsFile, name: str, now: datetime, trigger: str = "manual", executor: Any = None,
) -> RunRecord | None:
    """Run one job for its latest slot at or before `now`: evaluate what is missing, write the
    report, compare with the job's previous run. Raises JobLocked if a run of it is in progress;
    a failed run is recorded, then its error raised. With trigger "due", returns None when the
    slot already has a run (another process may have run it while this one waited to start)."""
    job = jobs.job(name)
    slot = job.latest_slot(now) or now.astimezone()
    history = History(jobs.history_path)
    with job_lock(jobs.lock_dir, name, slot) as holder:
        last = history.last_slot(name)
        if trigger == "due" and last is not None and last >= slot:
            return None
        run_id = history.start(name, slot, trigger, holder)
        try:
            return _evaluate(job, run_id, slot, history, executor)
        except BaseException as err:
            history.finish(run_id, "failed", error=(str(err).splitlines() or [type(err).__name__])[0])
            raise


def _evaluate(job: Job, run_id: int, slot: datetime, history: History, executor: Any) -> RunRecord:
    from mbert_eval.config import load_experiment
    from mbert_eval.results_table import main_metrics
    from mbert_eval.runner import cell_key, expand, run_experiment
    from mbert_eval.store import ResultStore

    overrides = list(job.overrides)
    groups = resolve_models(job)
    if groups:
        overrides.append("models=" + json.dumps(list(dict.fromkeys(m for g in groups for m in g.models))))
    experiment, problems = load_experiment(job.config, overrides)
    groups = groups or [ModelGroup(model, (model,)) for model in experiment.models]
    unknown = sorted(set(job.thresholds) - set(experiment.tasks))
    if unknown:
        raise UserError(f"job '{job.name}': thresholds name tasks the experiment lacks: {', '.join(unknown)}")
    summary = run_experiment(experiment, executor=executor, problems=problems)
    store = ResultStore(experiment.store_path)
    cells = {cell_key(experiment, cell): cell for cell in expand(experiment)}
    rows = [r for r in store.rows() if r.cell_key in cells and r.target in cells[r.cell_key].targets]
    snapshot = take_snapshot(rows, groups, main_metrics(set(experiment.tasks)))
    previous = history.previous(job.name, run_id)
    regressions = compare(previous.snapshot, snapshot, job.thresholds) if previous else []
    title = f"{job.name}: {experiment.name} (slot {slot:%Y-%m-%d %H:%M %Z})"
    write_job_report(store, job.report, title, regressions_section(previous, regressions, job.thresholds), experiment)
    return history.finish(run_id, "regression" if regressions else "ok", cells_run=summary.cells_run,
                          cells_skipped=summary.cells_skipped, models=[m for g in groups for m in g.models],
                          snapshot=snapshot, regressions=regressions)


@dataclass(frozen=True)
class Outcome:
    """What `run_due` did with one job: not-due, locked, ok, regression or failed."""

    job: str
    status: str
    message: str
    record: RunRecord | None = None


def run_due(jobs: JobsFile, now: datetime, only: list[str] | None = None, executor: Any = None) -> list[Outcome]:
    """Run every job (or those in `only`) whose latest slot at or before `now` has no run yet."""
    history = History(jobs.history_path)
    outcomes = []
    for name in only or list(jobs.jobs):
        job = jobs.job(name)
        slot, last = job.latest_slot(now), history.last_slot(name)
        record = None
        if slot is not None and (last is None or last < slot):
            try:
                record = run_job(jobs, name, slot, trigger="due", executor=executor)
            except JobLocked as err:
                outcomes.append(Outcome(name, "locked", str(err)))
                continue
            except UserError as err:
                outcomes.append(Outcome(name, "failed", f"{name}: failed: {err}"))
                continue
        if record is None:
            following = job.next_slot(now)
            when = iso(following) if following else "never"
            outcomes.append(Outcome(name, "not-due", f"{name}: not due (next slot {when})"))
        else:
            outcomes.append(Outcome(name, record.status, describe_run(record), record))
    return outcomes


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
    scheduler = BackgroundScheduler(jobstores={"default": store}, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.start(paused=True)
    for stale in scheduler.get_jobs():
        if stale.id not in jobs.jobs:
            stale.remove()
    for job in jobs.jobs.values():
        scheduler.add_job("mbert_eval.schedule:scheduled_run", job.trigger, args=[str(jobs.path.resolve()), job.name],
                          id=job.name, name=job.name, replace_existing=True)
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
