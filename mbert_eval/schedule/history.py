"""Job history for `mbert-eval schedule`: who runs a job now (its lock), and one SQLite file of past
runs with their score snapshots and regressions.

Lock: one inter-process file lock per job (`filelock`, not waiting); a side file names the holder
(pid, host, start, slot), so that a second run of the job says who holds the lock and exits.

Every run of a job is one row of the `runs` table: the job, its schedule slot, how it was started
(`due` by run-due or the daemon, `manual` by `schedule run`), start and end times, its status
(`running`, `ok`, `regression`, `accepted` for a regression the user accepted with `schedule accept`, `failed`, or
`interrupted` for a run whose process died or was stopped by Ctrl-C), the cells
it ran, a score snapshot and the regressions found.

Interrupted: a `running` row whose job lock is free belongs to a process that died without cleaning up
(killed, a power cut): the operating system frees a dead process's file lock, so a free lock is proof
(a reused pid is not). Whoever next takes the lock marks such rows `interrupted`; an interrupted run does
not count as its slot's run, so the slot runs again (the grid computes only the cells still missing).

Snapshot: one score per (task, model group, method, source, target): the task's main metric, mean
over seeds, of the group's *representative* model; a limited run's method is named apart (`baseline (limit 20)`,
`store.results.comparable_method`), so it is never compared with a full run's scores. A model group is one entry of the job's
`models`: a fixed name is its own group and representative; a glob is one group whose
representative is its newest checkpoint, the last matching folder in natural order of the
paths (`step-900` before `step-1000`). So a job over a checkpoint glob compares the newest checkpoint of
this run with the newest checkpoint of the previous run. Each score keeps its *basis* (`BASIS`), what it was
computed with apart from the model: its cells' identity without model and seed (the hash of everything that
keys a cell: task and data specs, fine-tuning settings, method and its checkpoint steps), the seeds it averages,
the task's version and the checksums of the data files its rows read.

Regression: a key found in both this run's snapshot and the previous run's whose score got worse by
more than the task's threshold, in the main metric's direction (an absolute amount: `pos: 0.02` is a drop of
two points of accuracy; for a metric where lower is better, such as alignment's AER, a rise). Tasks without a
threshold are not checked; keys found in one snapshot only (a new target, a new group, a group's name written
otherwise, a limit changed) are not compared, and listed as such. The previous run is the latest earlier run of
the same job that was `ok` (or `accepted`): a regression is flagged at every run until one no longer has it, or the
user accepts it (compared with the run that flagged it, a lasting regression was flagged once, then passed). Only scores of one basis are compared: a score whose basis
differs from the previous run's (other settings, seeds, task version or data) is *not comparable*, listed with
why, and never a regression (a drop there may be the settings', not the model's). A snapshot recorded before
bases were kept has none: its scores are not comparable with any (what they were computed with is unknown), so
the first run after the upgrade compares nothing and the runs after it compare as before.

The job's report is the store's report with one more section, first, listing the regressions (handed to
the report as data: `report_regressions`).

A history whose recorded JSON (a run's models, snapshot, regressions, scores not comparable) is damaged is
refused when opened, in one line, and left as it is.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from statistics import mean
from typing import Any

from mbert_eval.errors import UserError
from mbert_eval.report.regressions import RegressionLine, Regressions
from mbert_eval.store.locks import Locked, held_lock
from mbert_eval.store.results import ResultRow, comparable_method
from mbert_eval.store.sqlite import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job           TEXT NOT NULL,
    slot          TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    started       TEXT NOT NULL,
    finished      TEXT,
    status        TEXT NOT NULL,
    holder        TEXT NOT NULL,
    cells_run     INTEGER,
    cells_skipped INTEGER,
    models        TEXT NOT NULL DEFAULT '[]',
    snapshot      TEXT,
    regressions   TEXT NOT NULL DEFAULT '[]',
    error         TEXT,
    not_comparable TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, id);
"""

# the JSON lists a run records, and what each holds: a history where one is damaged is refused when opened
JSON_LISTS = {"models": "text", "snapshot": "object", "regressions": "object", "not_comparable": "object"}
# SQL: the column {0} is no JSON list of {1} values (NULL, a run without a snapshot, passes)
_NOT_A_LIST = (
    "{0} IS NOT NULL AND CASE WHEN NOT json_valid({0}) THEN 1 WHEN json_type({0}) != 'array' THEN 1 "
    "ELSE EXISTS (SELECT 1 FROM json_each({0}) WHERE type != '{1}') END"
)

# what a score was computed with apart from the model (`Score.basis`, see the module docstring), each part as a
# "not comparable" line names it; the values of SHOWN parts are shown there too (the others are checksums)
BASIS = {"settings": "settings", "seeds": "seeds", "task_version": "task version", "data": "data files"}
SHOWN = ("seeds", "task_version")


def natural_key(name: str) -> list[Any]:
    """Sort key comparing the digit runs of a name as numbers: step-900 < step-1000."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class ModelGroup:
    """One entry of a job's `models`: a fixed model, or the checkpoints a glob matched, in natural order."""

    label: str
    models: tuple[str, ...]

    @property
    def representative(self) -> str:
        """The model compared from run to run: the newest checkpoint, i.e. the last one."""
        return self.models[-1]


@dataclass(frozen=True)
class Score:
    """One snapshot entry: the representative model's main metric, mean over seeds, and its basis: what it was
    computed with apart from the model (`BASIS`: lists of the values its rows hold; None in snapshots recorded
    before it was kept)."""

    task: str
    group: str
    model: str
    method: str
    source: str
    target: str
    metric: str
    score: float
    seeds: int
    basis: dict[str, list] | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What is compared across runs: (task, group, method, source, target)."""
        return self.task, self.group, self.method, self.source, self.target


@dataclass(frozen=True)
class Regression:
    """A score that got worse by more than its task's threshold since the previous run (`higher_is_better`: the
    metric's direction; runs recorded before it was kept were all of metrics where higher is better)."""

    task: str
    group: str
    method: str
    source: str
    target: str
    metric: str
    previous_model: str
    model: str
    previous: float
    score: float
    threshold: float
    higher_is_better: bool = True

    @property
    def worse_by(self) -> float:
        """How much worse the score got (positive): a fall, or a rise where lower is better."""
        return self.previous - self.score if self.higher_is_better else self.score - self.previous

    def describe(self) -> str:
        """One line: where, which models, the scores and the threshold."""
        models = _short(self.model)
        if self.model != self.previous_model:
            models = f"{_short(self.previous_model)} -> {models}"
        return (
            f"{self.task} {self.method} {self.source}->{self.target} [{self.group}: {models}]: "
            f"{self.metric} {self.previous:.4f} -> {self.score:.4f} "
            f"({'drop' if self.higher_is_better else 'rise'} {self.worse_by:.4f} > threshold {self.threshold:.4f})"
        )


@dataclass(frozen=True)
class NotComparable:
    """Scores of one task, group, method and source that were not compared with the previous run's, on `targets`:
    their basis differs from the previous scores' (`why`, e.g. `seeds 1 -> 2`)."""

    task: str
    group: str
    method: str
    source: str
    targets: list[str]
    why: str

    def describe(self) -> str:
        """One line: where, and why its scores were not compared."""
        return f"{self.task} {self.method} {self.source}->{','.join(self.targets)} [{self.group}]: {self.why}"


def _short(model: str) -> str:
    return Path(model).name or model


def take_snapshot(
    rows: Iterable[ResultRow], groups: list[ModelGroup], main_metrics: dict[str, str], settings: Mapping[str, str]
) -> list[Score]:
    """The snapshot of a run from the experiment's stored rows (see the module docstring); `settings` maps each
    row's cell key to the hash of its cell's identity without model and seed."""
    representatives = {group.representative: group.label for group in groups}
    scores: dict[tuple, list[ResultRow]] = {}
    for row in rows:
        group = representatives.get(row.model)
        if group is None or row.metric != main_metrics.get(row.task, row.metric):
            continue
        method = comparable_method(row.method, row.extra)  # a limited run's scores kept apart from a full run's
        scores.setdefault((row.task, group, row.model, method, row.source, row.target, row.metric), []).append(row)
    return [
        Score(*key, score=mean(row.score for row in found), seeds=len(found), basis=_basis(found, settings))
        for key, found in sorted(scores.items())
    ]


def _basis(rows: list[ResultRow], settings: Mapping[str, str]) -> dict[str, list]:
    """What the rows of one score were computed with apart from the model, each part (`BASIS`) as the sorted
    values its rows hold (data files by their checksums: a moved file with the same content is the same data)."""
    return {
        "settings": sorted({settings[row.cell_key] for row in rows}),
        "seeds": sorted({row.seed for row in rows}),
        "task_version": sorted({row.task_version or 1 for row in rows}),  # None: stored before versions, i.e. 1
        "data": sorted({digest for row in rows for digest in row.data_checksums.values()}),
    }


def why_not_comparable(old: Score, now: Score) -> str | None:
    """Why `now` cannot be compared with `old`, the previous run's score of its key (None: it can): the parts of
    their basis that differ, or a basis unknown (a snapshot recorded before bases were kept)."""
    if old.basis is None or now.basis is None:
        return "the previous run did not record what its scores were computed with"
    changed = [part for part in BASIS if old.basis.get(part) != now.basis.get(part)]
    return ", ".join(_change(part, old.basis.get(part), now.basis.get(part)) for part in changed) or None


def _change(part: str, before: list | None, after: list | None) -> str:
    """A basis part that changed, briefly: `seeds 1 -> 2`, `other settings`."""
    if part not in SHOWN:
        return f"other {BASIS[part]}"
    values = [",".join(map(str, found or [])) or "none" for found in (before, after)]
    return f"{BASIS[part]} {values[0]} -> {values[1]}"


NEW, GONE = "not in the previous run", "not in this run"  # why a key found in one snapshot only is not compared


def compare(
    previous: list[Score],
    current: list[Score],
    thresholds: dict[str, float],
    lower_is_better: Collection[tuple[str, str]] = (),
) -> tuple[list[Regression], list[NotComparable], int]:
    """The regressions of `current` against `previous` under per-task absolute thresholds (a (task, metric) in
    `lower_is_better` gets worse by rising: the store's metric roles say which), the scores of those tasks that
    were not compared, grouped by task, group, method, source and why (their basis differs: `why_not_comparable`;
    another main metric; a key found in one snapshot only: `NEW`, `GONE`), and how many scores were compared."""
    before = {score.key: score for score in previous if score.task in thresholds}
    now_keys = {score.key for score in current}
    found: list[Regression] = []
    apart: dict[tuple[str, ...], list[str]] = {}
    compared = 0
    for now in current:
        if now.task not in thresholds:
            continue
        old = before.get(now.key)
        why = (
            NEW
            if old is None
            else f"main metric {old.metric} -> {now.metric}"
            if old.metric != now.metric
            else why_not_comparable(old, now)
        )
        if why is not None:
            apart.setdefault((now.task, now.group, now.method, now.source, why), []).append(now.target)
            continue
        compared += 1
        regression = _regression(old, now, thresholds[now.task], (now.task, now.metric) not in lower_is_better)
        found += [regression] if regression else []
    for old in previous:
        if old.key in before and old.key not in now_keys:
            apart.setdefault((old.task, old.group, old.method, old.source, GONE), []).append(old.target)
    return found, [NotComparable(*where[:4], targets, where[4]) for where, targets in apart.items()], compared


def _regression(old: Score, now: Score, threshold: float, higher: bool) -> Regression | None:
    """`now` as a regression from `old` where it got worse by more than `threshold` (None: it did not)."""
    if (old.score - now.score if higher else now.score - old.score) <= threshold:
        return None
    return Regression(
        now.task,
        now.group,
        now.method,
        now.source,
        now.target,
        now.metric,
        old.model,
        now.model,
        old.score,
        now.score,
        threshold,
        higher,
    )


@dataclass(frozen=True)
class RunRecord:
    """One run of a job as the history holds it."""

    id: int
    job: str
    slot: datetime
    trigger: str
    started: datetime
    finished: datetime | None
    status: str
    holder: str
    cells_run: int | None
    cells_skipped: int | None
    models: list[str]
    snapshot: list[Score] | None
    regressions: list[Regression]
    not_comparable: list[NotComparable]
    error: str | None


def iso(moment: datetime) -> str:
    """A timezone-aware moment as ISO 8601 in UTC, to the second (how the history stores times)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _utc_now() -> str:
    return iso(datetime.now(timezone.utc))


class JobLocked(Locked):
    """Another run of the same job holds its lock."""


@contextmanager
def job_lock(lock_dir: Path, job: str, slot: datetime | None = None) -> Iterator[str]:
    """Hold the job's inter-process lock (or raise JobLocked naming the holder); yields the holder."""
    details = {"slot": iso(slot)} if slot else {}
    with held_lock(lock_dir / f"{job}.lock", f"job '{job}' is already running", JobLocked, **details) as holder:
        yield holder


class History(SQLiteFile):
    """The runs of every job of one jobs file, in SQLite (safe for concurrent processes)."""

    SCHEMA = SCHEMA
    ADDED_COLUMNS = {"runs": {"not_comparable": "TEXT NOT NULL DEFAULT '[]'"}}
    # what every history has had from its first version: a file without them is no history, refused before any
    # column is added to it (another tool's `runs(job, slot, status, holder)` table gained one)
    FIRST_COLUMNS = frozenset(
        ("id", "job", "slot", "trigger", "started", "finished", "status", "holder", "cells_run", "cells_skipped")
        + ("models", "snapshot", "regressions", "error")
    )
    KIND = "schedule history"

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the history; a folder, or an SQLite file of another kind (a results store), is
        refused, untouched."""
        if Path(path).is_dir():
            raise UserError(f"{path} is a folder; the jobs file's `history:` names an SQLite file (or a new path)")
        if Path(path).is_file() and Path(path).stat().st_size:
            super().__init__(path, read_only=True)
            if self.tables and not self.FIRST_COLUMNS <= self.columns("runs"):
                raise UserError(
                    f"{path} is an SQLite file but not a schedule history (it holds: "
                    f"{', '.join(sorted(t for t in self.tables if not t.startswith('sqlite_')))}); "
                    "name another file as the jobs file's `history:`"
                )
        super().__init__(path)

    def _problem(self, conn: sqlite3.Connection) -> str | None:
        """A run whose recorded JSON (`JSON_LISTS`) is invalid or no list of what it holds (None: none); a file
        without these columns is no history, which `__init__` says."""
        present = {name for _, name, *_ in conn.execute("PRAGMA table_info(runs)")}
        for column, kind in JSON_LISTS.items():
            if column not in present:
                continue
            bad = conn.execute(f"SELECT id, job FROM runs WHERE {_NOT_A_LIST.format(column, kind)} LIMIT 1").fetchone()
            if bad:
                return f"run #{bad[0]} of job '{bad[1]}' holds invalid JSON in `{column}`, or no list of {kind} values"
        if not self.FIRST_COLUMNS <= present:
            return None  # no history: `__init__` says so
        columns = ", ".join(name if name in present else f"'[]' AS {name}" for name in RUN_COLUMNS)
        for record in conn.execute(f"SELECT {columns} FROM runs"):
            try:
                _record(*record)
            except (TypeError, ValueError) as err:  # a date that is none, a score or regression missing fields
                return f"run #{record[0]} of job '{record[1]}' does not read ({err})"
        return None

    @classmethod
    def recorded(cls, path: str | Path) -> History | None:
        """The history at `path` where a run has made one, else None: what only reads it (`schedule list`,
        `history`, the sweep of dead runs) creates no file."""
        return cls(path) if Path(path).exists() else None

    def running_jobs(self) -> list[str]:
        """The jobs that have runs marked `running` (alive, or dead without cleaning up)."""
        return [job for (job,) in self.select("runs", "SELECT DISTINCT job FROM runs WHERE status = 'running'")]

    def mark_interrupted(self, job: str) -> int:
        """Mark the job's `running` runs `interrupted` (the caller holds the job's lock, which proves their
        process dead); returns how many."""
        with self.writing() as conn:
            return conn.execute(
                "UPDATE runs SET status = 'interrupted', finished = ?, "
                "error = 'its process (' || holder || ') ended before the run finished' "
                "WHERE job = ? AND status = 'running'",
                (_utc_now(), job),
            ).rowcount

    def start(self, job: str, slot: datetime, trigger: str, holder: str) -> int:
        """Record a run as started (the caller holds the job's lock and has marked dead runs); returns its id."""
        with self.writing() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (job, slot, trigger, started, status, holder) VALUES (?, ?, ?, ?, 'running', ?)",
                (job, iso(slot), trigger, _utc_now(), holder),
            )
            return int(cursor.lastrowid)

    def finish(
        self,
        run_id: int,
        status: str,
        *,
        cells_run: int | None = None,
        cells_skipped: int | None = None,
        models: list[str] = (),
        snapshot: list[Score] | None = None,
        regressions: list[Regression] = (),
        not_comparable: list[NotComparable] = (),
        error: str | None = None,
    ) -> RunRecord:
        """Record how a run ended; returns the finished record."""
        with self.writing() as conn:
            conn.execute(
                "UPDATE runs SET finished = ?, status = ?, cells_run = ?, cells_skipped = ?, models = ?, "
                "snapshot = ?, regressions = ?, not_comparable = ?, error = ? WHERE id = ?",
                (
                    _utc_now(),
                    status,
                    cells_run,
                    cells_skipped,
                    json.dumps(list(models)),
                    None if snapshot is None else json.dumps([asdict(s) for s in snapshot]),
                    json.dumps([asdict(r) for r in regressions]),
                    json.dumps([asdict(n) for n in not_comparable]),
                    error,
                    run_id,
                ),
            )
        return self._select("WHERE id = ?", (run_id,))[0]

    def last_slot(self, job: str) -> datetime | None:
        """The latest slot a run of the job was started for (whatever its outcome, unless interrupted)."""
        ((slot,),) = self.select("runs", "SELECT MAX(slot) FROM runs WHERE job = ? AND status != 'interrupted'", (job,))
        return datetime.fromisoformat(slot) if slot else None

    def previous(self, job: str, before_id: int) -> RunRecord | None:
        """The run a run is compared with: the job's latest run before `before_id` that was `ok`, or whose
        regression the user accepted (a regression stays flagged until a run no longer has it, or it is
        accepted)."""
        found = self._select(
            "WHERE job = ? AND id < ? AND snapshot IS NOT NULL AND status IN ('ok', 'accepted') "
            "ORDER BY id DESC LIMIT 1",
            (job, before_id),
        )
        return found[0] if found else None

    def accept(self, job: str, run_id: int | None = None) -> RunRecord:
        """Mark the job's run `run_id` (default: its latest run that compared scores, `ok`, `regression` or
        `accepted`: a failed or interrupted run since is passed over), which found a regression, `accepted`: the drop
        is meant (a new tokenizer, a smaller model), and later runs are compared with this run's scores
        (`previous`). Any other run is a UserError saying why."""
        finished = "status NOT IN ('running', 'interrupted')"
        compared = "status IN ('ok', 'regression', 'accepted')"
        found = (
            self._select(f"WHERE job = ? AND id = ? AND {finished}", (job, run_id))
            if run_id is not None
            else self._select(f"WHERE job = ? AND {compared} ORDER BY id DESC LIMIT 1", (job,))
        )
        if not found:
            raise UserError(f"job '{job}' has no finished run" + (f" #{run_id}" if run_id is not None else " yet"))
        record = found[0]
        if record.status == "accepted":
            raise UserError(f"run #{record.id} of job '{job}' is accepted already")
        if record.status != "regression":
            raise UserError(
                f"run #{record.id} of job '{job}' is {record.status}; only a run that found a regression can be "
                "accepted"
            )
        with self.writing() as conn:
            conn.execute("UPDATE runs SET status = 'accepted' WHERE id = ? AND status = 'regression'", (record.id,))
        return self._select("WHERE id = ?", (record.id,))[0]

    def runs(self, job: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first, of one job or of all."""
        where = "WHERE job = ? " if job else ""
        return self._select(f"{where}ORDER BY id DESC LIMIT ?", ((job,) if job else ()) + (limit,))

    def _select(self, clause: str, params: tuple) -> list[RunRecord]:
        columns = ", ".join(RUN_COLUMNS)
        return [_record(*record) for record in self.select("runs", f"SELECT {columns} FROM runs {clause}", params)]


RUN_COLUMNS = (  # a run's columns, as `_record` takes them
    "id",
    "job",
    "slot",
    "trigger",
    "started",
    "finished",
    "status",
    "holder",
    "cells_run",
    "cells_skipped",
    "models",
    "snapshot",
    "regressions",
    "not_comparable",
    "error",
)


def _record(
    run_id,
    job,
    slot,
    trigger,
    started,
    finished,
    status,
    holder,
    cells_run,
    cells_skipped,
    models,
    snapshot,
    regressions,
    not_comparable,
    error,
) -> RunRecord:
    return RunRecord(
        id=run_id,
        job=job,
        slot=datetime.fromisoformat(slot),
        trigger=trigger,
        started=datetime.fromisoformat(started),
        finished=datetime.fromisoformat(finished) if finished else None,
        status=status,
        holder=holder,
        cells_run=cells_run,
        cells_skipped=cells_skipped,
        models=json.loads(models),
        snapshot=None if snapshot is None else [Score(**s) for s in json.loads(snapshot)],
        regressions=[Regression(**r) for r in json.loads(regressions)],
        not_comparable=[NotComparable(**n) for n in json.loads(not_comparable)],
        error=error,
    )


def describe_run(record: RunRecord) -> str:
    """One line about a run: job, slot, status, cells, and the counts of regressions and of scores not compared."""
    line = f"{record.job} #{record.id} slot {iso(record.slot)} [{record.trigger}] {record.status}"
    if record.cells_run is not None:
        line += f": {record.cells_run} cells run, {record.cells_skipped} already stored"
    if record.regressions:
        line += f", {len(record.regressions)} regression(s)"
    if record.not_comparable:
        line += f", {sum(len(n.targets) for n in record.not_comparable)} score(s) not comparable with the previous run"
    if record.error:
        line += f": {record.error}"
    return line


def details(record: RunRecord) -> list[str]:
    """The lines shown under a run's (`describe_run`): each regression, then each group of scores not comparable
    with the previous run's, and why."""
    return [f"  regression: {r.describe()}" for r in record.regressions] + [
        f"  not comparable: {n.describe()}" for n in record.not_comparable
    ]


def report_regressions(
    previous: RunRecord | None,
    regressions: list[Regression],
    thresholds: dict[str, float],
    not_comparable: list[NotComparable] = (),
    compared: int = 0,
) -> Regressions:
    """This run's regressions against the previous run, the scores not compared with it and how many were
    (`compare`), as plain data for the report's first section."""
    lines = [
        RegressionLine(
            r.task,
            r.group if r.model == r.previous_model else f"{r.group}: {_short(r.previous_model)} → {_short(r.model)}",
            r.method,
            r.source,
            r.target,
            r.metric,
            r.previous,
            r.score,
            r.threshold,
            r.higher_is_better,
        )
        for r in regressions
    ]
    return Regressions(
        previous.id if previous else None,
        iso(previous.slot) if previous else "",
        dict(thresholds),
        lines,
        [apart.describe() for apart in not_comparable],
        compared,
    )
