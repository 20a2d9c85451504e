"""The jobs file: its jobs (config, cron schedule, models, report, thresholds) read and checked, and a job's
model groups resolved (globs of checkpoint folders in natural order).

What concerns the whole file (its shape, its top-level keys, the job names) refuses the file. A problem inside
one job (a missing config, an unknown key, a bad schedule) makes that job a `BrokenJob`: every other job still
lists and runs; the broken one fails alone, at each of its slots where its schedule is valid."""

from __future__ import annotations

import difflib
import glob
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from mbert_eval.config.loading import parse_override
from mbert_eval.config.yaml_reader import read_yaml
from mbert_eval.data.files import NOT_FOUND, path_problem
from mbert_eval.errors import UserError
from mbert_eval.paths import anchor, anchor_model
from mbert_eval.schedule.cron import cron_trigger, latest_slot, next_slot
from mbert_eval.schedule.history import ModelGroup, natural_key

JOB_KEYS = ("config", "schedule", "timezone", "models", "report", "thresholds", "set")


REQUIRED_KEYS = ("config", "schedule", "report")


DEFAULT_HISTORY = "schedule.sqlite"


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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
        return next_slot(self.trigger, now)


@dataclass(frozen=True)
class BrokenJob:
    """A job that cannot run: why (its first problem, one line), and its trigger where its schedule is valid
    (so that each of its slots records the failure in the history)."""

    name: str
    problem: str
    trigger: CronTrigger | None = None
    schedule: str = ""

    def latest_slot(self, now: datetime) -> datetime | None:
        """This job's latest slot at or before `now` (None without a valid schedule)."""
        return latest_slot(self.trigger, now) if self.trigger else None

    def next_slot(self, now: datetime) -> datetime | None:
        """This job's first slot after `now` (None without a valid schedule)."""
        return next_slot(self.trigger, now) if self.trigger else None


@dataclass(frozen=True)
class JobsFile:
    """A parsed jobs file: its jobs by name (in file order; broken ones included) and where their history lives."""

    path: Path
    jobs: dict[str, Job | BrokenJob]
    history_path: Path

    @property
    def lock_dir(self) -> Path:
        """Where the per-job lock files live: next to the history file."""
        return self.history_path.with_suffix(".locks")

    @property
    def jobstore_path(self) -> Path:
        """The daemon's APScheduler job store (SQLite), next to the history file."""
        return self.history_path.with_suffix(".jobstore.sqlite")

    def job(self, name: str) -> Job | BrokenJob:
        """The job called `name`, or a UserError that suggests the closest name."""
        if name not in self.jobs:
            close = difflib.get_close_matches(name, list(self.jobs), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (jobs: {', '.join(self.jobs) or 'none'})"
            raise UserError(f"{self.path}: no job '{name}'{hint}")
        return self.jobs[name]


def load_jobs(path: str | Path) -> JobsFile:
    """Read and check a jobs file: a problem of the whole file refuses it (the first in the one-line error,
    with a count of the others); a problem inside one job makes that job a `BrokenJob`."""
    file = Path(path)
    if path_problem(file) == NOT_FOUND:  # anything else that is no file: `read_yaml` says what it is
        raise UserError(f"jobs file not found: {file}")
    raw = read_yaml(file) or {}
    base = file.resolve().parent
    if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), dict):
        raise UserError(f"{file}: expected a mapping with a 'jobs' mapping (name -> job)")
    problems = [f"{key}: unknown key (known: history, jobs)" for key in raw if key not in ("history", "jobs")]
    problems += _name_problems([str(name) for name in raw["jobs"]])
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{file}: {problems[0]}{more}")
    jobs = {str(name): _parse_job(str(name), spec, base) for name, spec in raw["jobs"].items()}
    return JobsFile(file, jobs, anchor(str(raw.get("history") or DEFAULT_HISTORY), base))


def _name_problems(names: list[str]) -> list[str]:
    """Bad job names, and names that collide: equal as text (`1` and `'1'`), or but for case (their lock
    files would be one file on a case-insensitive file system)."""
    problems = [
        f"jobs.{name}: a job name may hold only letters, digits, '.', '_' and '-'"
        for name in names
        if not _NAME.fullmatch(name)
    ]
    seen: dict[str, str] = {}
    for name in names:
        if name.casefold() in seen:
            other = seen[name.casefold()]
            problems.append(f"jobs: two jobs are named '{other}' and '{name}'; give each job its own name")
        else:
            seen[name.casefold()] = name
    return problems


def _parse_job(name: str, spec: Any, base: Path) -> Job | BrokenJob:
    """One job, or a BrokenJob naming its first problem (and how many more it has)."""
    where = f"jobs.{name}"
    if not isinstance(spec, dict):
        return BrokenJob(name, f"{where}: expected a mapping")
    problems = []
    for key in spec:
        if key not in JOB_KEYS:
            close = difflib.get_close_matches(str(key), JOB_KEYS, n=1)
            problems.append(f"{where}.{key}: unknown key" + (f"; did you mean '{close[0]}'?" if close else ""))
    problems += [f"{where}.{key}: missing" for key in REQUIRED_KEYS if not spec.get(key)]
    trigger = _trigger(where, spec, problems)
    job = None if problems else _complete_job(name, spec, base, trigger, problems)
    if job is not None and not problems:
        return job
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return BrokenJob(name, problems[0] + more, trigger, str(spec.get("schedule") or ""))


def _trigger(where: str, spec: dict, problems: list[str]) -> CronTrigger | None:
    """The job's cron trigger in its time zone (None, with the problem added, when either is bad or missing)."""
    if not spec.get("schedule"):
        return None
    zone = spec.get("timezone")
    try:
        if zone is not None:
            ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{where}.timezone: unknown time zone {zone!r} (e.g. UTC, Europe/Berlin)")
        return None
    try:
        return cron_trigger(str(spec["schedule"]), zone)
    except UserError as err:
        problems.append(f"{where}.schedule: {err}")
        return None


def _complete_job(name: str, spec: dict, base: Path, trigger: CronTrigger, problems: list[str]) -> Job | None:
    """The job from a spec whose keys and schedule are valid (None, with the problems added, when not)."""
    where = f"jobs.{name}"
    config = anchor(str(spec["config"]), base)
    if (problem := path_problem(config)) == NOT_FOUND:
        problems.append(f"{where}.config: config file not found: {config}")
    elif problem:
        problems.append(f"{where}.config: {problem} ({config})")
    report = anchor(str(spec["report"]), base)
    if report.suffix.lower() not in (".html", ".htm"):
        problems.append(f"{where}.report: the report is an HTML page; name it *.html (got {report.name})")
    elif report.is_dir():
        problems.append(f"{where}.report: is a folder ({report}); name the report's file")
    models, overrides = _strings(spec.get("models")), _strings(spec.get("set"))
    if models is None or overrides is None:
        problems.append(f"{where}.{'models' if models is None else 'set'}: expected a string or a list of strings")
        return None
    for index, item in enumerate(overrides):
        try:
            parse_override(item)
        except UserError as err:
            problems.append(f"{where}.set[{index}]: {err}")
            return None
    thresholds = spec.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in thresholds.values()
    ):
        problems.append(f"{where}.thresholds: expected task: non-negative number, e.g. {{pos: 0.02}}")
        return None
    return Job(
        name,
        config,
        str(spec["schedule"]),
        trigger,
        report,
        tuple(models),
        {str(k): float(v) for k, v in thresholds.items()},
        tuple(overrides),
        base,
    )


def _strings(value: Any) -> list[str] | None:
    """A string or a list of strings as a list (None: neither)."""
    value = [] if value is None else [value] if isinstance(value, str) else value
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def resolve_models(job: Job) -> list[ModelGroup]:
    """The job's model groups now: each glob matched again (natural order of the matches), fixed names as given;
    each model spelt as a run's rows name it (`anchor_model`: links and `..` resolved)."""
    groups = []
    for entry in job.models:
        if glob.has_magic(entry):
            found = [p for p in glob.glob(str(anchor(entry, job.base_dir))) if (Path(p) / "config.json").is_file()]
            if not found:
                raise UserError(
                    f"job '{job.name}': models glob '{entry}' matches no checkpoint folder "
                    "(a folder with a config.json) yet"
                )
            found = sorted(found, key=natural_key)
            groups.append(ModelGroup(entry, tuple(anchor_model(path, job.base_dir) for path in found)))
        else:
            groups.append(ModelGroup(entry, (anchor_model(entry, job.base_dir),)))
    return groups
