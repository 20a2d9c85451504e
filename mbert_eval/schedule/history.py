"""Job history for `mbert-eval schedule`: who runs a job now (its lock), and one SQLite file of past
runs with their score snapshots and regressions.

Lock: one inter-process file lock per job (`filelock`, not waiting); a side file names the holder
(pid, host, start, slot), so that a second run of the job says who holds the lock and exits.

Every run of a job is one row of the `runs` table: the job, its schedule slot, how it was started
(`due` by run-due or the daemon, `manual` by `schedule run`), start and end times, its status
(`running`, `ok`, `regression`, `failed`, or `interrupted` for a run whose process died or was stopped by Ctrl-C), the cells
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
this run with the newest checkpoint of the previous run.

Regression: a key found in both this run's snapshot and the previous run's whose score got worse by
more than the task's threshold, in the main metric's direction (an absolute amount: `pos: 0.02` is a drop of
two points of accuracy; for a metric where lower is better, such as alignment's AER, a rise). Tasks without a
threshold are not checked; keys found in one snapshot only (a new
target, a new group) are not compared. The previous run is the latest earlier run of the same job
that has a snapshot (status `ok` or `regression`).

The job's report is the store's report with one more section, first, listing the regressions (handed to
the report as data: `report_regressions`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator
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
    error         TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, id);
"""


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
    """One snapshot entry: the representative model's main metric, mean over seeds."""

    task: str
    group: str
    model: str
    method: str
    source: str
    target: str
    metric: str
    score: float
    seeds: int

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


def _short(model: str) -> str:
    return Path(model).name or model


def take_snapshot(rows: Iterable[ResultRow], groups: list[ModelGroup], main_metrics: dict[str, str]) -> list[Score]:
    """The snapshot of a run from the experiment's stored rows (see the module docstring)."""
    representatives = {group.representative: group.label for group in groups}
    scores: dict[tuple, list[float]] = {}
    for row in rows:
        group = representatives.get(row.model)
        if group is None or row.metric != main_metrics.get(row.task, row.metric):
            continue
        method = comparable_method(row.method, row.extra)  # a limited run's scores kept apart from a full run's
        scores.setdefault((row.task, group, row.model, method, row.source, row.target, row.metric), []).append(
            row.score
        )
    return [Score(*key, score=mean(values), seeds=len(values)) for key, values in sorted(scores.items())]


def compare(
    previous: list[Score],
    current: list[Score],
    thresholds: dict[str, float],
    lower_is_better: Collection[tuple[str, str]] = (),
) -> list[Regression]:
    """The regressions of `current` against `previous` under per-task absolute thresholds; a (task, metric) in
    `lower_is_better` gets worse by rising (the store's metric roles say which)."""
    before = {score.key: score for score in previous}
    found = []
    for now in current:
        old = before.get(now.key)
        threshold = thresholds.get(now.task)
        if old is None or threshold is None or old.metric != now.metric:
            continue
        higher = (now.task, now.metric) not in lower_is_better
        if (old.score - now.score if higher else now.score - old.score) > threshold:
            found.append(
                Regression(
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
            )
    return found


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
    KIND = "schedule history"

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the history; a folder, or an SQLite file of another kind (a results store), is
        refused, untouched."""
        if Path(path).is_dir():
            raise UserError(f"{path} is a folder; the jobs file's `history:` names an SQLite file (or a new path)")
        if Path(path).is_file() and Path(path).stat().st_size:
            super().__init__(path, read_only=True)
            if self.tables and not {"job", "slot", "status", "holder"} <= self.columns("runs"):
                raise UserError(
                    f"{path} is an SQLite file but not a schedule history (it holds: "
                    f"{', '.join(sorted(t for t in self.tables if not t.startswith('sqlite_')))}); "
                    "name another file as the jobs file's `history:`"
                )
        super().__init__(path)

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
        error: str | None = None,
    ) -> RunRecord:
        """Record how a run ended; returns the finished record."""
        with self.writing() as conn:
            conn.execute(
                "UPDATE runs SET finished = ?, status = ?, cells_run = ?, cells_skipped = ?, models = ?, "
                "snapshot = ?, regressions = ?, error = ? WHERE id = ?",
                (
                    _utc_now(),
                    status,
                    cells_run,
                    cells_skipped,
                    json.dumps(list(models)),
                    None if snapshot is None else json.dumps([asdict(s) for s in snapshot]),
                    json.dumps([asdict(r) for r in regressions]),
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
        """The latest run of the job before `before_id` that has a snapshot."""
        found = self._select(
            "WHERE job = ? AND id < ? AND snapshot IS NOT NULL ORDER BY id DESC LIMIT 1", (job, before_id)
        )
        return found[0] if found else None

    def runs(self, job: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first, of one job or of all."""
        where = "WHERE job = ? " if job else ""
        return self._select(f"{where}ORDER BY id DESC LIMIT ?", ((job,) if job else ()) + (limit,))

    def _select(self, clause: str, params: tuple) -> list[RunRecord]:
        columns = (
            "id, job, slot, trigger, started, finished, status, holder, cells_run, cells_skipped, "
            "models, snapshot, regressions, error"
        )
        return [_record(*record) for record in self.select("runs", f"SELECT {columns} FROM runs {clause}", params)]


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
        error=error,
    )


def describe_run(record: RunRecord) -> str:
    """One line about a run: job, slot, status, cells, and the count of regressions."""
    line = f"{record.job} #{record.id} slot {iso(record.slot)} [{record.trigger}] {record.status}"
    if record.cells_run is not None:
        line += f": {record.cells_run} cells run, {record.cells_skipped} already stored"
    if record.regressions:
        line += f", {len(record.regressions)} regression(s)"
    if record.error:
        line += f": {record.error}"
    return line


def report_regressions(
    previous: RunRecord | None, regressions: list[Regression], thresholds: dict[str, float]
) -> Regressions:
    """This run's regressions against the previous run, as plain data for the report's first section."""
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
        previous.id if previous else None, iso(previous.slot) if previous else "", dict(thresholds), lines
    )
