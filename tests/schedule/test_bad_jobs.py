"""Bad jobs files and histories a new user tries (issue 22), one table row each: the input, the command, the exit
code, a fragment of what it prints, and the history's runs before and after (a refusal records nothing; a job that
cannot run fails alone, with one row saying why). Then runs whose process was killed: marked `interrupted` at the
next start, their slot run again; a run still alive is left alone."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mbert_eval.schedule.history import History
from tests.helpers import REPO_ROOT, STORED, Clock, Workspace, invoke, utc

NOW = utc(2026, 3, 1, 3)  # after the 02:00 slot of "0 2 * * *"
GOOD = {"config": "exp.yaml", "schedule": "0 2 * * *", "timezone": "UTC", "report": "good.html"}


def _jobs(bad: object, **more: object) -> Callable[[Path], Path]:
    """A jobs file holding the good job and `bad` (a job spec) under the name `bad`."""
    return _raw({"jobs": {"good": GOOD, "bad": bad}, **more})


def _bad(**changes: object) -> Callable[[Path], Path]:
    """The good job's spec with `changes` (a key set to None is removed), as the job `bad`."""
    spec = {**GOOD, "report": "bad.html", **changes}
    return _jobs({key: value for key, value in spec.items() if value is not None})


def _raw(raw: object) -> Callable[[Path], Path]:
    def setup(folder: Path) -> Path:
        path = folder / "jobs.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path

    return setup


def _text(text: str) -> Callable[[Path], Path]:
    def setup(folder: Path) -> Path:
        path = folder / "jobs.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return setup


def _history(make: Callable[[Path], None]) -> Callable[[Path], Path]:
    """The good job's jobs file whose `history:` is `odd.sqlite`, made by `make` (a file, a folder)."""

    def setup(folder: Path) -> Path:
        make(folder / "odd.sqlite")
        return _raw({"history": "odd.sqlite", "jobs": {"good": GOOD}})(folder)

    return setup


def _damaged_history(path: Path) -> None:
    """A history one of whose runs holds a snapshot that is no JSON."""
    history = History(path)
    history.finish(history.start("good", NOW, "due", "pid 1 on h"), "ok", snapshot=[])
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE runs SET snapshot = '{bad'")


def _history_with(change: str) -> Callable[[Path], None]:
    """A history one of whose runs `change` (an SQL assignment) damages past what its JSON check sees."""

    def write(path: Path) -> None:
        history = History(path)
        history.finish(history.start("good", NOW, "due", "pid 1 on h"), "ok", snapshot=[])
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute(f"UPDATE runs SET {change}")

    return write


def _foreign_runs(path: Path) -> None:
    """Another tool's SQLite file whose `runs` table has some of a history's columns (it gained one: the
    history's column added since, before being refused)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE runs (job TEXT, slot TEXT, status TEXT, holder TEXT)")
        conn.execute("INSERT INTO runs VALUES ('build', 'nightly', 'ok', 'ci')")


def _results_store(path: Path) -> None:
    Workspace(path.parent, None, path.parent).fill_store()
    (path.parent / "out" / "results.sqlite").rename(path)


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], Path]  # writes the jobs file into the folder; returns its path
    command: tuple[str, ...]  # after `schedule`; JOBS stands for the jobs file
    exit_code: int
    fragment: str  # in what the command prints
    added: int = 0  # runs the history gains (the history holds STORED runs before)


FILE_LEVEL = [  # the whole file is refused: every command says so in one line and records nothing
    ("jobs-file-is-a-folder", lambda folder: (folder / "jobs.yaml").mkdir() or folder / "jobs.yaml", "is a directory"),
    ("jobs-file-missing", lambda folder: folder / "nowhere.yaml", "jobs file not found"),
    ("empty-jobs-file", _text(""), "expected a mapping with a 'jobs' mapping"),
    ("jobs-as-a-named-list", _raw({"jobs": [{"name": "good", **GOOD}]}), "expected a mapping with a 'jobs' mapping"),
    ("one-name-as-number-and-text", _text("jobs:\n  1: {}\n  '1': {}\n"), "two jobs are named '1' and '1'"),
    ("names-equal-but-for-case", _raw({"jobs": {"Good": GOOD, "good": GOOD}}), "two jobs are named 'Good' and 'good'"),
    ("name-with-a-slash", _raw({"jobs": {"a/b": GOOD}}), "a job name may hold only"),
    ("unknown-top-level-key", _raw({"jobs": {"good": GOOD}, "histroy": "h.sqlite"}), "histroy: unknown key"),
    ("history-not-sqlite", _history(lambda p: p.write_text("my notes\n" * 50)), "is not a schedule history"),
    ("history-is-a-folder", _history(Path.mkdir), "odd.sqlite is a folder"),
    ("history-is-a-results-store", _history(_results_store), "is an SQLite file but not a schedule history"),
    ("history-of-another-tool", _history(_foreign_runs), "is an SQLite file but not a schedule history"),
    (
        "history-damaged",
        _history(_damaged_history),
        "odd.sqlite is a damaged schedule history: run #1 of job 'good' holds invalid JSON in `snapshot`",
    ),
    (
        "history-score-missing-fields",
        _history(_history_with("""snapshot = '[{"task": "pos"}]'""")),
        "odd.sqlite is a damaged schedule history: run #1 of job 'good' does not read (",
    ),
    (
        "history-slot-no-date",
        _history(_history_with("slot = 'zzz'")),
        "odd.sqlite is a damaged schedule history: run #1 of job 'good' does not read (Invalid isoformat",
    ),
]
FILE_COMMANDS = [("list", "JOBS"), ("history", "JOBS"), ("run-due", "JOBS"), ("run", "JOBS", "good")]
CASES = [
    Case(f"{id}/{args[0]}", setup, args, 2, fragment) for id, setup, fragment in FILE_LEVEL for args in FILE_COMMANDS
]

JOB_LEVEL = [  # one job cannot run: it fails alone; `with_slot`: its schedule is valid, so a due slot records why
    ("config-missing", _bad(config="missing.yaml"), "jobs.bad.config: config file not found", True),
    ("config-is-a-folder", _bad(config="."), "jobs.bad.config: is a folder, not a file", True),
    ("hour-25", _bad(schedule="0 25 * * *"), "jobs.bad.schedule: bad cron expression '0 25 * * *'", False),
    ("minute-60", _bad(schedule="60 2 * * *"), "jobs.bad.schedule: bad cron expression '60 2 * * *'", False),
    ("day-32", _bad(schedule="0 2 32 * *"), "jobs.bad.schedule: bad cron expression '0 2 32 * *'", False),
    ("month-13", _bad(schedule="0 2 * 13 *"), "jobs.bad.schedule: bad cron expression '0 2 * 13 *'", False),
    (
        "weekday-8",
        _bad(schedule="0 2 * * 8"),
        "jobs.bad.schedule: bad cron expression '0 2 * * 8': bad day of week '8'",
        False,
    ),
    (
        "time-as-text",
        _bad(schedule="25:00"),
        "jobs.bad.schedule: bad cron expression '25:00': expected 5 fields",
        False,
    ),
    ("unknown-time-zone", _bad(timezone="Mars/Base"), "jobs.bad.timezone: unknown time zone", False),
    ("job-not-a-mapping", _jobs("0 2 * * *"), "jobs.bad: expected a mapping", False),
    ("job-missing-report", _bad(report=None), "jobs.bad.report: missing", True),
    ("misspelt-key", _bad(shedule="0 3 * * *"), "jobs.bad.shedule: unknown key; did you mean 'schedule'?", True),
    ("threshold-nan", _bad(thresholds={"pos": float("nan")}), "jobs.bad.thresholds", True),
    ("report-is-a-folder", _bad(report="reports.html"), "jobs.bad.report: is a folder", True),
]


def _job_cases(id: str, setup: Callable, fragment: str, with_slot: bool) -> list[Case]:
    failed = f"bad: failed: {fragment}" if with_slot else f"bad: cannot run: {fragment}"
    return [
        Case(f"{id}/list", setup, ("list", "JOBS"), 2, f"bad: cannot run: {fragment}"),
        Case(f"{id}/history", setup, ("history", "JOBS"), 0, "old #1"),
        Case(f"{id}/run-due", setup, ("run-due", "JOBS"), 2, failed, added=1 + with_slot),  # good's run, bad's
        Case(f"{id}/run-bad", setup, ("run", "JOBS", "bad"), 2, fragment, added=int(with_slot)),
        Case(f"{id}/run-good", setup, ("run", "JOBS", "good"), 2, "models: no model given", added=1),
    ]


CASES += [case for row in JOB_LEVEL for case in _job_cases(*row)]
CASES += [  # what a job's run finds wrong: recorded as its run's failure, the other job runs
    Case("config-invalid/run-due", _bad(config="invalid.yaml"), ("run-due", "JOBS"), 2, "bad: failed: seeds", 2),
    Case("model-folder-gone/run-due", _bad(models=["./gone"]), ("run-due", "JOBS"), 2, "gone does not exist", 2),
    Case("history-limit-0", _jobs(GOOD), ("history", "JOBS", "--limit", "0"), 2, "0 is not in the range x>=1"),
]


def _runs(path: Path) -> int | None:
    """Runs in a history (None: no history there, or not one)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.DatabaseError:
        return None


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_jobs(case: Case, tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")  # no models: a run of it fails, recorded
    (tmp_path / "invalid.yaml").write_text("name: x\nseeds: many\n", encoding="utf-8")
    (tmp_path / "reports.html").mkdir()
    history = tmp_path / "schedule.sqlite"
    for _ in range(STORED):
        History(history).finish(History(history).start("old", utc(2026, 2, 1), "manual", "pid 1 on h"), "ok")
    jobs = case.setup(tmp_path)
    odd = tmp_path / "odd.sqlite"
    before = odd.read_bytes() if odd.is_file() else None
    args = [str(jobs) if arg == "JOBS" else arg for arg in case.command]
    result = invoke(Clock(NOW), *args)
    assert result.exit_code == case.exit_code, result.output
    assert "Traceback" not in result.output and case.fragment in result.output, result.output
    if case.exit_code == 2 and case.command[0] not in ("list", "run-due"):
        assert result.output.count("\n") == 1, result.output  # one line
    assert _runs(history) == STORED + case.added
    if before is not None:
        assert odd.read_bytes() == before  # a history that is no history is left as it was


def test_a_missing_config_fails_alone_while_the_other_job_runs(workspace: Workspace) -> None:
    """A real run: the good job evaluates and is `ok`; the job whose config is gone records why, and history
    and list still work."""
    workspace.config()
    spec = {**GOOD, "models": [str(workspace.model)]}
    jobs = _raw({"jobs": {"bad": {**spec, "config": "gone.yaml", "report": "bad.html"}, "good": spec}})(workspace.root)
    clock = Clock(NOW)
    result = invoke(clock, "run-due", str(jobs))
    assert result.exit_code == 2, result.output
    assert "bad: failed: jobs.bad.config: config file not found" in result.output
    runs = {run.job: run for run in History(workspace.root / "schedule.sqlite").runs()}
    assert runs["good"].status == "ok" and runs["good"].cells_run == 1
    assert runs["bad"].status == "failed" and runs["bad"].error.startswith("jobs.bad.config: config file not found")
    assert workspace.rows()  # the good job's cell is stored
    shown = invoke(clock, "history", str(jobs))
    assert shown.exit_code == 0 and "good #2" in shown.output and "bad #1" in shown.output
    listed = invoke(clock, "list", str(jobs))
    assert listed.exit_code == 2 and "last run: good #2" in listed.output and "bad: cannot run:" in listed.output


# --- runs whose process was killed ------------------------------------------------------------------------------

HANGING_RUN = """
import signal
import sys
from datetime import datetime

signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even where the parent ignores it (a background job)
import mbert_eval.schedule.runs as runs
from mbert_eval.schedule.jobs import load_jobs

def hang(*args):
    print("running", flush=True)
    sys.stdin.read()  # until the test kills this process

runs._evaluate = hang
runs.run_job(load_jobs(sys.argv[1]), "good", datetime.fromisoformat(sys.argv[2]), trigger=sys.argv[3])
"""


def _hanging_run(jobs: Path, trigger: str = "due") -> subprocess.Popen:
    """A process in the middle of a run of the job `good` (its history row says `running`)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", HANGING_RUN, str(jobs), NOW.isoformat(), trigger],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdout.readline() == "running\n"
    return process


@pytest.mark.parametrize("trigger", ["due", "manual"])
def test_a_killed_run_is_marked_interrupted_and_its_slot_runs_again(tmp_path: Path, trigger: str) -> None:
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs = _raw({"jobs": {"good": GOOD}})(tmp_path)
    history = History(tmp_path / "schedule.sqlite")
    clock = Clock(NOW)
    process = _hanging_run(jobs, trigger)
    try:
        # alive: nobody marks it, and the slot is not started twice
        for command in ("list", "history"):
            assert invoke(clock, command, str(jobs)).exit_code == 0
        assert invoke(clock, "run-due", str(jobs)).exit_code == 0  # its slot is taken
        manual = invoke(clock, "run", str(jobs), "good")
        assert manual.exit_code == 2 and f"already running (pid {process.pid} on" in manual.output
        holder = f"pid {process.pid} on {socket.gethostname()}"
        assert [(run.status, run.holder) for run in history.runs()] == [("running", holder)]
    finally:
        process.send_signal(signal.SIGKILL)  # no cleanup: the row still says `running`
        process.wait()
    assert [run.status for run in history.runs()] == ["running"]
    listed = invoke(clock, "history", str(jobs))
    assert listed.exit_code == 0
    assert f"good #1 slot 2026-03-01T02:00:00+00:00 [{trigger}] interrupted: its process ({holder})" in listed.output
    result = invoke(clock, "run-due", str(jobs))  # the same slot runs again
    assert result.exit_code == 2 and "good: failed: models: no model given" in result.output
    again, interrupted = history.runs()
    assert (interrupted.id, interrupted.status, interrupted.finished is not None) == (1, "interrupted", True)
    assert (again.slot, again.trigger, again.status) == (interrupted.slot, "due", "failed")
    assert invoke(clock, "run-due", str(jobs)).exit_code == 0  # a failed run counts as its slot's run
    assert len(history.runs()) == 2


def test_the_daemon_reruns_at_start_the_slot_of_a_run_that_died(tmp_path: Path) -> None:
    """A `running` row whose job lock nobody holds (its process died): the daemon marks it at start and runs its
    slot again, though APScheduler's own store counts that slot as fired."""
    from datetime import datetime, timezone

    from mbert_eval.schedule.daemon import run_daemon
    from mbert_eval.schedule.jobs import load_jobs

    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs = load_jobs(_raw({"jobs": {"good": GOOD}})(tmp_path))
    slot = jobs.job("good").latest_slot(datetime.now(timezone.utc))
    history = History(jobs.history_path)
    history.start("good", slot, "due", "pid 1 on gone-host")
    stop = threading.Event()
    daemon = threading.Thread(target=run_daemon, args=(jobs, stop))
    daemon.start()
    try:
        deadline = time.monotonic() + 30
        while len(runs := history.runs()) < 2 or runs[0].status == "running":
            assert time.monotonic() < deadline, "the daemon did not rerun the slot"
            time.sleep(0.05)
    finally:
        stop.set()
        daemon.join()
    again, interrupted = history.runs()
    assert (interrupted.status, interrupted.error) == (
        "interrupted",
        "its process (pid 1 on gone-host) ended before the run finished",
    )
    assert (again.slot, again.trigger, again.status) == (slot, "due", "failed")


def test_a_run_stopped_by_ctrl_c_is_interrupted_and_its_slot_runs_again(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) stops a run; it is no failure of the job, so its slot is not spent (it was recorded
    `failed`, and the slot never ran again)."""
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs = _raw({"jobs": {"good": GOOD}})(tmp_path)
    history = History(tmp_path / "schedule.sqlite")
    process = _hanging_run(jobs)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    [run] = history.runs()
    assert (run.status, run.error, run.finished is not None) == (
        "interrupted",
        "stopped (Ctrl-C) before it finished",
        True,
    )
    result = invoke(Clock(NOW), "run-due", str(jobs))  # the same slot runs again
    assert result.exit_code == 2 and "good: failed: models: no model given" in result.output
    assert [(r.slot, r.status) for r in history.runs()] == [(run.slot, "failed"), (run.slot, "interrupted")]
