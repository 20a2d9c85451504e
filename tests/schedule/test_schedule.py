"""Scheduled jobs: slots under an injected clock, the per-job lock, new checkpoints, regressions."""

import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
import yaml

from mbert_eval.config.loading import load_experiment
from mbert_eval.errors import UserError
from mbert_eval.grid.job import code_version
from mbert_eval.grid.resolve import resolve
from mbert_eval.grid.run import plan
from mbert_eval.schedule import daemon
from mbert_eval.schedule.cron import cron_trigger, latest_slot, next_slot
from mbert_eval.schedule.daemon import start_daemon
from mbert_eval.schedule.history import History, Score, compare, job_lock
from mbert_eval.schedule.jobs import load_jobs
from mbert_eval.store.results import ResultRow, ResultStore
from mbert_eval.tasks import get_task
from tests.helpers import REPO_ROOT, Clock, family_experiment, invoke, utc, write_config, write_jobs


def plant_scores(jobs_path, checkpoint, score: float, metric: str = "accuracy", overrides: tuple = ()) -> None:
    """Store rows for a checkpoint as if it had been evaluated (a planted regression), under the job's config with
    `overrides`, from the data the stored rows read (their checksums): only the model, or what `overrides` set,
    differs from theirs."""
    experiment, _ = load_experiment(jobs_path.parent / "exp.yaml", [f"models=[{checkpoint}]", *overrides])
    store = ResultStore(experiment.store_path)
    read = {(row.task, row.target): row.data_checksums for row in store.rows()}
    jobs, _ = plan(resolve(experiment), store)
    for job in jobs:
        cell = job.cell
        version = get_task(cell.task).metadata.version
        store.write_cell(
            [
                ResultRow(
                    job.key,
                    cell.task,
                    metric,
                    cell.model,
                    cell.method,
                    cell.source,
                    target,
                    cell.seed,
                    score,
                    40,
                    job.config_hash,
                    code_version(),
                    data_checksums=read.get((cell.task, target), {}),
                    task_version=version,
                )
                for target in cell.targets
            ]
        )


@pytest.mark.slow
def test_slots_lock_new_checkpoints_and_regressions(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    ckpts = tmp_path / "ckpts"
    shutil.copytree(tiny_model, ckpts / "step-100")
    jobs_path = write_jobs(tmp_path)
    history = History(tmp_path / "schedule.sqlite")
    clock = Clock(utc(2026, 3, 1, 1, 0))

    # first run ever: the latest slot (Feb 28, 02:00) runs
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 0, result.output
    runs = history.runs("nightly")
    assert [(r.slot, r.status, r.cells_run) for r in runs] == [(utc(2026, 2, 28, 2, 0), "ok", 1)]
    report = (tmp_path / "reports" / "nightly.html").read_text(encoding="utf-8")
    assert "No earlier run of this job has scores to compare with" in report

    # same slot, later: nothing runs
    clock.now = utc(2026, 3, 1, 1, 59)
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0
    assert len(history.runs("nightly")) == 1

    # next slot while another run holds the lock: both commands say who holds it and run nothing
    clock.now = utc(2026, 3, 1, 2, 30)
    jobs = load_jobs(jobs_path)
    with job_lock(jobs.lock_dir, "nightly", utc(2026, 3, 1, 2, 0)):
        due = invoke(clock, "run-due", str(jobs_path))
        manual = invoke(clock, "run", str(jobs_path), "nightly")
    assert due.exit_code == 0 and f"already running (pid {os.getpid()} on" in due.output
    assert "slot 2026-03-01T02:00:00+00:00" in due.output
    assert manual.exit_code == 2 and manual.output.count("\n") == 1 and "already running" in manual.output
    assert len(history.runs("nightly")) == 1

    # a checkpoint that appeared between slots is evaluated at the next run; the stored one is not rerun
    shutil.copytree(tiny_model, ckpts / "step-200")
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 0, result.output
    latest = history.runs("nightly")[0]
    assert (latest.slot, latest.status, latest.cells_run, latest.cells_skipped) == (utc(2026, 3, 1, 2), "ok", 1, 1)
    assert [os.path.basename(m) for m in latest.models] == ["step-100", "step-200"]
    assert {s.model for s in latest.snapshot} == {str(ckpts / "step-200")}  # the newest is compared
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0
    assert len(history.runs("nightly")) == 2

    # a worse checkpoint: flagged at the next slot, exit 3, in history and in the report
    shutil.copytree(tiny_model, ckpts / "step-1000")  # natural order: newer than step-200
    plant_scores(jobs_path, ckpts / "step-1000", 0.0)
    clock.now = utc(2026, 3, 2, 2, 0)
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 3, result.output
    assert "regression" in result.output and "step-200 -> step-1000" in result.output
    latest = history.runs("nightly")[0]
    assert latest.status == "regression" and latest.cells_run == 0
    assert {r.target for r in latest.regressions} == set(raw["targets"])
    shown = invoke(clock, "history", str(jobs_path), "nightly")
    assert shown.exit_code == 0
    assert shown.output.count("regression: pos baseline") == len(raw["targets"])
    report = (tmp_path / "reports" / "nightly.html").read_text(encoding="utf-8")
    start = report.index("<main><section id='regressions'>")  # first in the page
    section = report[start : report.index("</section>", start)]
    assert "step-200 → step-1000" in section and section.count("<tr>") == 1 + len(raw["targets"])
    assert report.rstrip().endswith("</html>")
    listed = invoke(clock, "list", str(jobs_path))
    assert listed.exit_code == 0 and "next slot 2026-03-03T02:00:00+00:00" in listed.output


@pytest.mark.slow
def test_checkpoints_a_glob_reaches_through_links_are_compared(tmp_path, small_family, tiny_model):
    """Checkpoints kept elsewhere and linked into the glob's folder: a run's rows name the folder a link resolves
    to (`paths.anchor_model`), and so must the job's model group, or the newest checkpoint has no scores in the
    snapshot and no regression is ever flagged (as happened)."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    kept, ckpts = tmp_path / "kept", tmp_path / "ckpts"
    ckpts.mkdir()
    for step in ("100", "200"):
        shutil.copytree(tiny_model, kept / f"run-a-step-{step}")
    (ckpts / "step-100").symlink_to(kept / "run-a-step-100")
    jobs_path = write_jobs(tmp_path)
    clock = Clock(utc(2026, 3, 1, 3))
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0
    (ckpts / "step-200").symlink_to(kept / "run-a-step-200")
    plant_scores(jobs_path, kept / "run-a-step-200", 0.0)
    clock.now = utc(2026, 3, 2, 3)
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 3 and "run-a-step-100 -> run-a-step-200" in result.output, result.output


def test_a_limited_run_is_not_compared_with_a_full_one(tmp_path, small_family, tiny_model):
    """A job set to `limit=N` after full runs scores other, fewer examples: its scores are kept apart, as the
    report keeps `baseline (limit N)` apart (before, every drop from the full run was flagged as a regression)."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    shutil.copytree(tiny_model, tmp_path / "ckpts" / "step-100")
    jobs_path = write_jobs(tmp_path, thresholds={"pos": 0.0})
    clock = Clock(utc(2026, 3, 1, 3))
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0
    write_jobs(tmp_path, thresholds={"pos": 0.0}, set=["limit=5"])
    clock.now = utc(2026, 3, 2, 3)
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 0, result.output
    [latest, first] = History(tmp_path / "schedule.sqlite").runs("nightly")
    assert {s.method for s in latest.snapshot} == {"baseline (limit 5)"} and latest.regressions == []
    assert {s.method for s in first.snapshot} == {"baseline"}
    assert {(a.method, a.why) for a in latest.not_comparable} == {
        ("baseline (limit 5)", "not in the previous run"),
        ("baseline", "not in this run"),
    }
    assert "No score was compared" in (tmp_path / "reports" / "nightly.html").read_text(encoding="utf-8")


def test_a_fixed_model_found_beside_the_config_is_compared(tmp_path, small_family, tiny_model, monkeypatch):
    """A job's fixed name that is no folder beside the jobs file but one beside the config (which anchors its
    models there): the rows named the folder, the snapshot the name, so it held no score and every run said `ok`
    whatever the model scored. The group now names the folder the run evaluated; a group with no stored score
    fails the run instead of passing it unchecked."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    shutil.copytree(tiny_model, tmp_path / "model")
    (tmp_path / "jobs").mkdir()
    jobs_path = write_jobs(tmp_path / "jobs", config="../exp.yaml", models=["model"], report="nightly.html")
    clock = Clock(utc(2026, 3, 1, 3))
    result = invoke(clock, "run", str(jobs_path), "nightly")
    assert result.exit_code == 0, result.output
    [run] = History(tmp_path / "jobs" / "schedule.sqlite").runs("nightly")
    assert run.models == [str((tmp_path / "model").resolve())]
    assert {s.target for s in run.snapshot} == set(raw["targets"])

    monkeypatch.setattr("mbert_eval.schedule.runs.take_snapshot", lambda *args: [])
    clock.now = utc(2026, 3, 2, 3)
    result = invoke(clock, "run", str(jobs_path), "nightly")
    assert result.exit_code == 2 and "no stored score of model group 'model'" in result.output
    assert History(tmp_path / "jobs" / "schedule.sqlite").runs("nightly")[0].status == "failed"


def test_a_regression_follows_the_metrics_direction(tmp_path, small_family, tiny_model):
    """Alignment's AER is better lower: a checkpoint whose AER rises past the threshold is a regression, and
    one whose AER falls is not (a drop was flagged, a rise passed, whatever the metric)."""
    parallel = small_family.root / "parallel"
    config = {
        "name": "align",
        "models": ["ckpts/step-100"],
        "sources": ["qaa"],
        "targets": ["qab"],
        "tasks": {
            "alignment": {
                "test": f"{parallel}/qaa-{{lang}}.{{lang}}",
                "pivot": f"{parallel}/qaa-{{lang}}.qaa",
                "gold": f"{parallel}/qaa-{{lang}}.align",
            }
        },
    }
    write_config(tmp_path / "exp.yaml", config)
    ckpts = tmp_path / "ckpts"
    shutil.copytree(tiny_model, ckpts / "step-100")
    jobs_path = write_jobs(tmp_path, thresholds={"alignment": 0.02})
    history = History(tmp_path / "schedule.sqlite")
    clock = Clock(utc(2026, 3, 1, 3, 0))
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0  # the real AER of step-100
    [first] = history.runs("nightly")[0].snapshot
    assert first.metric == "aer" and 0 < first.score < 0.98

    shutil.copytree(tiny_model, ckpts / "step-200")
    plant_scores(jobs_path, ckpts / "step-200", first.score + 0.02 + 1e-6, "aer")  # worse: a rise
    clock.now = utc(2026, 3, 2, 3, 0)
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 3, result.output
    [regression] = history.runs("nightly")[0].regressions
    assert not regression.higher_is_better and regression.worse_by == pytest.approx(0.02 + 1e-6)
    assert f"aer {first.score:.4f} -> {first.score + 0.02 + 1e-6:.4f} (rise 0.0200 > threshold 0.0200)" in result.output

    # run again, step-200 still the newest: compared with the last run that was ok, it is flagged again (compared
    # with the run that flagged it, a lasting regression was flagged once and passed from then on)
    clock.now = utc(2026, 3, 2, 4, 0)
    result = invoke(clock, "run", str(jobs_path), "nightly")
    assert result.exit_code == 3, result.output
    again = history.runs("nightly")[0]
    assert again.status == "regression" and len(again.regressions) == 1
    report = (tmp_path / "reports" / "nightly.html").read_text(encoding="utf-8")
    assert f"Compared with run #{history.runs('nightly')[-1].id} " in report

    shutil.copytree(tiny_model, ckpts / "step-300")
    plant_scores(jobs_path, ckpts / "step-300", 0.0, "aer")  # better: a fall
    clock.now = utc(2026, 3, 3, 3, 0)
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 0, result.output
    assert history.runs("nightly")[0].status == "ok" and not history.runs("nightly")[0].regressions


def _pos_job(tmp_path, small_family, tiny_model, **job) -> object:
    """A job over `ckpts/step-*` (one checkpoint, step-100) on the family's POS task, with a threshold of 0."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    shutil.copytree(tiny_model, tmp_path / "ckpts" / "step-100", dirs_exist_ok=True)
    return write_jobs(tmp_path, thresholds={"pos": 0.0}, **job)


def test_scores_of_other_settings_or_seeds_are_not_compared(tmp_path, small_family, tiny_model):
    """One model, its job's seeds and then its epochs changed: each run's scores differ from the previous run's
    by the settings, not by the model, so they are "not comparable", with why, and no regression (a drop was
    flagged, exit 3, blaming the model)."""
    jobs_path = _pos_job(tmp_path, small_family, tiny_model)
    targets = family_experiment(small_family, tiny_model)["targets"]
    checkpoint, clock = tmp_path / "ckpts" / "step-100", Clock(utc(2026, 3, 1, 3))
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0  # the real scores, seed 1
    history = History(tmp_path / "schedule.sqlite")
    for day, changes, why in [
        (2, ["seeds=[2]"], "seeds 1 -> 2"),
        (3, ["training.epochs=2"], "other settings, seeds 2 -> 1"),
    ]:
        write_jobs(tmp_path, thresholds={"pos": 0.0}, set=changes)
        plant_scores(jobs_path, checkpoint, 0.0, overrides=changes)  # worse than any score before
        clock.now = utc(2026, 3, day, 3)
        result = invoke(clock, "run-due", str(jobs_path))
        assert result.exit_code == 0, result.output
        latest = history.runs("nightly")[0]
        assert (latest.status, latest.regressions, latest.cells_run) == ("ok", [], 0)
        [apart] = latest.not_comparable
        assert (apart.task, apart.method, apart.targets, apart.why) == ("pos", "baseline", targets, why)
        assert f"{len(targets)} score(s) not comparable with the previous run" in result.output
        assert f"  not comparable: pos baseline qaa->{','.join(targets)} [ckpts/step-*]: {why}" in result.output
        report = (tmp_path / "reports" / "nightly.html").read_text(encoding="utf-8")
        listed = f"pos baseline qaa->{','.join(targets)} [ckpts/step-*]: {why}".replace(">", "&gt;")
        assert f"<li>{listed}</li>" in report
    shown = invoke(clock, "history", str(jobs_path), "nightly")
    assert shown.exit_code == 0 and shown.output.count("  not comparable: pos baseline") == 2


def _score(value: float, basis: dict | None, target: str = "qab") -> Score:
    return Score("pos", "m", "m", "baseline", "qaa", target, "accuracy", value, 1, basis)


def test_only_scores_of_one_basis_are_compared():
    """What a score was computed with apart from the model (its basis) decides whether it is compared: a drop on
    the same basis is a regression; one on another task version or other data is not comparable; and a score of
    a snapshot recorded before bases were kept is not comparable with any (whether its settings differed is
    unknown)."""
    basis = {"settings": ["s"], "seeds": [1], "task_version": [1], "data": ["d"]}
    now = [_score(0.2, basis)]
    regressions, apart, compared = compare([_score(0.3, basis)], now, {"pos": 0.02})
    assert [(r.previous, r.score) for r in regressions] == [(0.3, 0.2)] and apart == [] and compared == 1
    for changed, why in [
        ({"task_version": [2]}, "task version 2 -> 1"),
        ({"data": ["e"]}, "other data files"),
        ({"settings": ["t"], "seeds": [1, 2]}, "other settings, seeds 1,2 -> 1"),
    ]:
        regressions, [apart], compared = compare([_score(0.3, {**basis, **changed})], now, {"pos": 0.02})
        assert regressions == [] and apart.why == why and compared == 0
    regressions, [apart], _ = compare([_score(0.3, None)], now, {"pos": 0.02})
    assert regressions == [] and "did not record what its scores were computed with" in apart.why
    assert compare([_score(0.3, None)], now, {}) == ([], [], 0)  # no threshold: nothing is compared, nothing listed


def test_a_score_found_in_one_run_only_is_listed_not_compared():
    """A key in one snapshot only (a target added or dropped, a group's name written otherwise, a limit changed:
    the method is named apart) was passed over without a word, and the report said no score compared got worse;
    it is listed, with which run lacks it, and so is a score whose main metric changed."""
    basis = {"settings": ["s"], "seeds": [1], "task_version": [1], "data": ["d"]}
    before = [_score(0.3, basis, "qab"), _score(0.5, basis, "qac")]
    now = [_score(0.1, basis, "qab"), _score(0.4, basis, "qad")]
    regressions, apart, compared = compare(before, now, {"pos": 0.02})
    assert [r.target for r in regressions] == ["qab"] and compared == 1
    assert {(a.targets[0], a.why) for a in apart} == {("qad", "not in the previous run"), ("qac", "not in this run")}
    renamed = [Score("pos", "./m", "m", "baseline", "qaa", "qab", "accuracy", 0.1, 1, basis)]
    regressions, apart, compared = compare(before[:1], renamed, {"pos": 0.02})
    assert regressions == [] and compared == 0 and len(apart) == 2
    metric = [Score("pos", "m", "m", "baseline", "qaa", "qab", "f1", 0.1, 1, basis)]
    _, [apart], compared = compare(before[:1], metric, {"pos": 0.02})
    assert apart.why == "main metric accuracy -> f1" and compared == 0


def test_a_history_recorded_before_bases_were_kept_still_reads(tmp_path):
    """A history written before scores kept their basis and runs their scores not compared: it opens (gaining
    the column), its runs read, their scores without a basis."""
    import sqlite3
    from contextlib import closing

    history = History(tmp_path / "schedule.sqlite")
    run = history.start("nightly", utc(2026, 3, 1, 2), "due", "pid 1 on h")
    history.finish(run, "ok", snapshot=[_score(0.3, None)])
    old = '[{"task": "pos", "group": "m", "model": "m", "method": "baseline", "source": "qaa", "target": "qab", '
    old += '"metric": "accuracy", "score": 0.3, "seeds": 1}]'
    with closing(sqlite3.connect(tmp_path / "schedule.sqlite")) as conn, conn:
        conn.execute("ALTER TABLE runs DROP COLUMN not_comparable")
        conn.execute("UPDATE runs SET snapshot = ?", (old,))
    [record] = History(tmp_path / "schedule.sqlite").runs()
    assert record.snapshot == [_score(0.3, None)] and record.not_comparable == []


def test_a_jobs_report_never_replaces_an_input(tmp_path, small_family, tiny_model):
    """A job whose report names a file its run reads (here a target's test data) is refused in one line before
    any cell runs, as `mbert-eval run --report` is, and the file is left as it was (the job ran, was `ok`, and
    wrote its report over the test data)."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    data = shutil.copytree(small_family.root / "pos", tmp_path / "data")
    for test in data.glob("*-test.conllu"):
        test.rename(test.with_suffix(".html"))
    raw["tasks"]["pos"]["test"] = f"{data}/{{lang}}-test.html"
    write_config(tmp_path / "exp.yaml", raw)
    shutil.copytree(tiny_model, tmp_path / "ckpts" / "step-100")
    tested = data / f"{raw['targets'][0]}-test.html"
    before = tested.read_bytes()
    jobs_path = write_jobs(tmp_path, report=f"data/{tested.name}")
    result = invoke(Clock(utc(2026, 3, 1, 3)), "run", str(jobs_path), "nightly")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert f"the report {tested} would replace {tested}, which this command reads" in result.output
    assert tested.read_bytes() == before
    assert not (tmp_path / "out").exists()  # no cell ran: no store, no checkpoints
    [run] = History(tmp_path / "schedule.sqlite").runs()
    assert run.status == "failed" and "would replace" in run.error


def test_jobs_due_at_one_slot_run_one_at_a_time(tmp_path, monkeypatch):
    """Two jobs due at the same slot: the daemon runs both, the second once the first has finished (they ran at
    once in its one process, sharing torch's random state and threads, and scored what neither scores alone)."""
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs_path = write_jobs(tmp_path)
    raw = yaml.safe_load(jobs_path.read_text(encoding="utf-8"))
    raw["jobs"]["weekly"] = {**raw["jobs"]["nightly"], "report": "reports/weekly.html"}
    jobs_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    events = []

    def run_due(jobs, now, only=None):  # a job's work, long enough for another job to start meanwhile
        events.append(("start", only[0]))
        time.sleep(0.5)
        events.append(("end", only[0]))
        return []

    monkeypatch.setattr(daemon, "run_due", run_due)
    scheduler = start_daemon(load_jobs(jobs_path), paused=True)
    try:
        slot = datetime.now(timezone.utc)
        for name in ("nightly", "weekly"):
            scheduler.modify_job(name, next_run_time=slot)
        scheduler.resume()
        deadline = time.monotonic() + 30
        while len(events) < 4:
            assert time.monotonic() < deadline, f"the daemon did not run both jobs: {events}"
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    first, second = events[0][1], events[2][1]
    assert events == [("start", first), ("end", first), ("start", second), ("end", second)]
    assert {first, second} == {"nightly", "weekly"}


HOLD_STORE = """
import sys, time
from pathlib import Path
from mbert_eval.store.locks import held_lock
with held_lock(Path(sys.argv[1]), "busy"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.mark.slow
def test_a_scheduled_run_waits_for_a_store_in_use(tmp_path, small_family, tiny_model):
    """A manual run holds the job's store when its slot comes: the scheduled run waits for it and then runs
    (it failed, and its slot counted as run, so the job skipped that slot)."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    shutil.copytree(tiny_model, tmp_path / "ckpts" / "step-100")
    jobs_path = write_jobs(tmp_path)
    experiment, _ = load_experiment(tmp_path / "exp.yaml")
    lock = experiment.store_path.with_name(experiment.store_path.name + ".lock")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD_STORE, str(lock), "3"], stdout=subprocess.PIPE, env=env)
    assert holder.stdout.readline() == b"held\n"
    started = time.monotonic()
    result = invoke(Clock(utc(2026, 3, 1, 3, 0)), "run-due", str(jobs_path))
    holder.wait()
    assert result.exit_code == 0, result.output
    assert (
        f"is in use by another run (pid {holder.pid} on" in result.stderr
        and "waiting until it is free" in result.stderr
    )
    [run] = History(tmp_path / "schedule.sqlite").runs("nightly")
    assert (run.status, run.cells_run) == ("ok", 1) and time.monotonic() - started > 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schedule": "61 * * * *"}, "jobs.nightly.schedule: bad cron expression '61 * * * *'"),
        ({"schedule": "0 2 * *"}, "expected 5 fields"),
        ({"schedule": "0 2 1 * mon"}, "restricts both day-of-month and day-of-week"),
        ({"config": "missing.yaml"}, "jobs.nightly.config: config file not found"),
        ({"timezone": "Mars/Base"}, "jobs.nightly.timezone: unknown time zone"),
        ({"thresholds": {"pos": -1}}, "jobs.nightly.thresholds"),
        ({"shedule": "0 2 * * *"}, "did you mean 'schedule'?"),
    ],
)
def test_a_bad_job_is_one_line_exit_2(tmp_path, change, message):
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs_path = write_jobs(tmp_path, **change)
    for args in (["list"], ["run-due"], ["run", "nightly"]):
        result = invoke(Clock(utc(2026, 1, 1)), args[0], str(jobs_path), *args[1:])
        assert result.exit_code == 2, result.output
        assert message in result.output and result.output.count("\n") == 1


def test_list_and_history_create_no_history(tmp_path):
    """Before any run, `list` and `history` only read: they say there is none, and no history file appears."""
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs_path = write_jobs(tmp_path)
    listed = invoke(Clock(utc(2026, 1, 1)), "list", str(jobs_path))
    assert listed.exit_code == 0 and "last run: never" in listed.output
    shown = invoke(Clock(utc(2026, 1, 1)), "history", str(jobs_path))
    assert shown.exit_code == 0 and "no runs recorded yet" in shown.output
    assert not (tmp_path / "schedule.sqlite").exists()


def test_the_example_jobs_file_is_valid():
    jobs = load_jobs(REPO_ROOT / "examples" / "jobs.yaml")
    assert set(jobs.jobs) == {"nightly-pos", "pretraining-checkpoints"}
    following = jobs.jobs["pretraining-checkpoints"].next_slot(datetime(2026, 3, 7, 12).astimezone())  # Saturday
    assert (following.weekday(), following.hour, following.minute) == (0, 0, 0)  # Monday 00:00, local time


def test_unknown_job_suggests_the_closest(tmp_path):
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    result = invoke(Clock(utc(2026, 1, 1)), "run", str(write_jobs(tmp_path)), "nightyl")
    assert result.exit_code == 2 and "did you mean 'nightly'?" in result.output


def test_latest_slot_follows_crontab_conventions():
    sunday = cron_trigger("0 3 * * 0", "UTC")  # crontab(5): 0 (and 7) is Sunday
    assert latest_slot(sunday, utc(2026, 3, 4, 12)) == utc(2026, 3, 1, 3)  # Wed -> the Sunday before
    assert latest_slot(cron_trigger("30 1 * * 7", "UTC"), utc(2026, 3, 1, 1, 30)) == utc(2026, 3, 1, 1, 30)
    weekdays = cron_trigger("0 9 * * 1-5", "UTC")
    assert latest_slot(weekdays, utc(2026, 3, 2, 8)) == utc(2026, 2, 27, 9)  # Mon 08:00 -> Fri 09:00
    assert latest_slot(cron_trigger("*/15 * * * *", "UTC"), utc(2026, 3, 2, 8, 44, 59)) == utc(2026, 3, 2, 8, 30)
    leap = cron_trigger("0 0 29 2 *", "UTC")
    assert latest_slot(leap, utc(2027, 6, 1)) == utc(2024, 2, 29)
    berlin = cron_trigger("0 2 * * *", "Europe/Berlin")
    assert latest_slot(berlin, utc(2026, 7, 1, 0, 30)) == utc(2026, 7, 1, 0, 0)  # 02:00 CEST
    with pytest.raises(UserError, match="never fires"):
        cron_trigger("0 0 31 2 *", "UTC")


def test_a_time_the_clock_change_repeats_is_one_slot():
    """02:30 comes twice in Berlin on 25 October 2026 (CEST, then CET): crontab(5) runs a job there once, so both
    are the first one's slot, and the slot after 00:30Z is the next day's (before, the job ran twice that night)."""
    berlin = cron_trigger("30 2 * * *", "Europe/Berlin")

    def in_utc(slot):  # an ambiguous local time never equals a time of another zone (PEP 495): compare in UTC
        return slot.astimezone(timezone.utc)

    first = utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert in_utc(latest_slot(berlin, utc(2026, 10, 25, 0, 45))) == first
    assert in_utc(latest_slot(berlin, utc(2026, 10, 25, 1, 45))) == first  # 02:45 CET, after the repeated 02:30
    assert in_utc(next_slot(berlin, utc(2026, 10, 25, 0, 45))) == utc(2026, 10, 26, 1, 30)


def test_daemon_keeps_the_jobs_file_jobs_in_its_sqlite_store(tmp_path):
    (tmp_path / "exp.yaml").write_text("name: x\n", encoding="utf-8")
    jobs_path = write_jobs(tmp_path)
    raw = yaml.safe_load(jobs_path.read_text(encoding="utf-8"))
    raw["jobs"]["weekly"] = {**raw["jobs"]["nightly"], "schedule": "0 4 * * 0"}
    jobs_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    scheduler = start_daemon(load_jobs(jobs_path), paused=True)
    try:
        found = {job.id: job for job in scheduler.get_jobs()}
        assert set(found) == {"nightly", "weekly"}
        assert found["weekly"].func_ref == "mbert_eval.schedule:scheduled_run"
        assert found["weekly"].next_run_time.astimezone(timezone.utc).weekday() == 6  # Sunday
        scheduler.modify_job("nightly", next_run_time=datetime.now(timezone.utc))  # fire now
        scheduler.resume()
        history, deadline = History(tmp_path / "schedule.sqlite"), time.monotonic() + 30
        while not (runs := history.runs()) or runs[0].status == "running":
            assert time.monotonic() < deadline, "the daemon did not run the job"
            time.sleep(0.1)
        (run,) = history.runs()  # it ran through run-due (and failed: no checkpoint matches yet)
        assert (run.job, run.trigger, run.status) == ("nightly", "due", "failed")
        assert "matches no checkpoint folder" in run.error
    finally:
        scheduler.shutdown(wait=True)
    del raw["jobs"]["weekly"]
    jobs_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    scheduler = start_daemon(load_jobs(jobs_path), paused=True)  # same SQLite store: the stale job goes
    try:
        assert [job.id for job in scheduler.get_jobs()] == ["nightly"]
    finally:
        scheduler.shutdown(wait=False)
    assert (tmp_path / "schedule.jobstore.sqlite").is_file()


def test_a_failed_run_is_recorded_and_counts_as_its_slot(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model, targets=["xx-unknown"])
    write_config(tmp_path / "exp.yaml", raw)
    shutil.copytree(tiny_model, tmp_path / "ckpts" / "step-1")
    jobs_path = write_jobs(tmp_path)
    clock = Clock(utc(2026, 3, 1, 3))
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 2 and "nightly: failed: targets[0]" in result.output
    (run,) = History(tmp_path / "schedule.sqlite").runs()
    assert run.status == "failed" and run.error.startswith("targets[0]")
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0  # not retried within the slot
    shown = invoke(clock, "history", str(jobs_path))
    assert "failed: targets[0]" in shown.output


def test_an_accepted_regression_is_what_later_runs_are_compared_with(tmp_path):
    """A drop the user means (a new tokenizer, a smaller model) was flagged at every run, exit 3, with no way to
    say so: `schedule accept` marks the job's last run `accepted`, and later runs compare with it as with an `ok`
    run. Only a run that found a regression can be accepted; an unknown job or run is one line, exit 2."""
    basis = {"settings": ["s"], "seeds": [1], "task_version": [1], "data": ["d"]}
    jobs_path = write_jobs(tmp_path)
    history = History(tmp_path / "schedule.sqlite")
    ok = history.finish(history.start("nightly", utc(2026, 3, 1, 2), "due", "h"), "ok", snapshot=[_score(0.3, basis)])
    regressions, _, _ = compare(ok.snapshot, [_score(0.2, basis)], {"pos": 0.02})
    dropped = history.start("nightly", utc(2026, 3, 2, 2), "due", "h")
    history.finish(dropped, "regression", snapshot=[_score(0.2, basis)], regressions=regressions)
    failed = history.start("nightly", utc(2026, 3, 3, 1), "due", "h")
    history.finish(failed, "failed", error="config file not found")  # passed over by a plain accept
    later = history.start("nightly", utc(2026, 3, 3, 2), "due", "h")
    assert history.previous("nightly", later).id == ok.id
    clock = Clock(utc(2026, 3, 3, 3))
    refused = invoke(clock, "accept", str(jobs_path), "nightly", "--run", str(ok.id))
    assert refused.exit_code == 2 and f"run #{ok.id} of job 'nightly' is ok; only a run that found" in refused.output
    unknown = invoke(clock, "accept", str(jobs_path), "nightly", "--run", "99")
    assert unknown.exit_code == 2 and "job 'nightly' has no finished run #99" in unknown.output
    result = invoke(clock, "accept", str(jobs_path), "nightly")
    assert result.exit_code == 0, result.output
    assert f"nightly #{dropped}: its regression accepted; later runs are compared with it" in result.output
    assert history.previous("nightly", later).id == dropped
    assert [run.status for run in history.runs("nightly")][1:] == ["failed", "accepted", "ok"]
    again = invoke(clock, "accept", str(jobs_path), "nightly", "--run", str(dropped))
    assert again.exit_code == 2 and "is accepted already" in again.output
