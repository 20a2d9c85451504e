"""Crash safety, resume equality and concurrency of `run` and `schedule run` (issue 13), as real processes.

Runs are child processes forked from a server that has imported the package but computed nothing
(`multiprocessing`'s forkserver): SIGKILL hits them at seeded random moments, and starting one costs
milliseconds, not the seconds of a fresh interpreter's imports, so twenty kills fit in CI's minute."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import family_experiment, write_config

pytestmark = pytest.mark.slow

SEEDS = [1, 2, 3]
KILLS = 20  # SIGKILLs in the crash test, each at a seeded random moment of a run
KILL_SEED = 13


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mbert_eval.grid.run", "mbert_eval.cli", "test_crash_resume"])
    return context


def _child(command: list[str], message_file: str, gate=None) -> None:
    """Run one CLI command as a user would; its exit code and output go to `message_file`. With a `gate` (an
    Event), the run waits for it once it holds its lock, so that a second run finds the lock taken."""
    started = time.perf_counter()
    import torch
    from click.testing import CliRunner

    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    torch.set_num_threads(1)
    if gate is not None:
        import mbert_eval.grid.run as run_module

        remove_stale = run_module.remove_stale

        def wait_then_remove(folder):
            gate.wait(60)
            return remove_stale(folder)

        run_module.remove_stale = wait_then_remove
    from mbert_eval.cli import main

    result = CliRunner().invoke(main, command, prog_name="mbert-eval")
    Path(message_file).write_text(
        json.dumps({"exit_code": result.exit_code, "output": result.output, "seconds": time.perf_counter() - started})
    )
    sys.exit(result.exit_code)


def _start(context, command: list[str], folder: Path, name: str, gate=None):
    message = folder / f"{name}.json"
    process = context.Process(target=_child, args=([str(c) for c in command], str(message), gate))
    process.start()
    return process, message


def _finish(process, message: Path, timeout: float = 120) -> dict:
    process.join(timeout)
    assert process.exitcode is not None, "the run did not end"
    return json.loads(message.read_text())


def _grid(root: Path, family, model: Path, name: str, **changes) -> Path:
    """The 6-cell grid: baseline and tlm x three seeds, POS from the base language to one target."""
    codes = [language.code for language in family.languages]
    raw = family_experiment(
        family, model, name=name, output=str(root / name), methods=["baseline", "tlm"], seeds=SEEDS, targets=codes[1:]
    )
    raw["tasks"].pop("paraphrase")
    base, other, _ = family.parallel(codes[1])
    raw["parallel"] = {"source": str(base), "target": str(other)}
    raw["tlm"] = {"steps": 6, "batch_size": 8, "max_length": 64}
    raw.update(changes)
    return write_config(root / f"{name}.yaml", raw)


def _store(root: Path, name: str) -> Path:
    return root / name / "results.sqlite"


def _stored(store: Path) -> dict[tuple, float]:
    """(method, seed, target, metric) -> score, checking the store on the way: intact, no row twice."""
    if not store.exists():
        return {}
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        if "results" not in tables:
            return {}
        rows = conn.execute("SELECT method, seed, target, metric, score FROM results").fetchall()
    scores = {tuple(row[:4]): row[4] for row in rows}
    assert len(scores) == len(rows), "a row is stored twice"
    return scores


@pytest.fixture(scope="module")
def reference(tmp_path_factory, small_family, tiny_model) -> tuple[Path, dict[tuple, float], float]:
    """The grid run once without interruption: its folder, scores and the run's own wall time."""
    root = tmp_path_factory.mktemp("reference")
    config = _grid(root, small_family, tiny_model, "reference")
    result = _finish(*_start(_context(), ["run", config, "--no-report"], root, "reference"))
    assert result["exit_code"] == 0, result["output"]
    scores = _stored(_store(root, "reference"))
    assert len({(method, seed) for method, seed, *_ in scores}) == 6
    return root, scores, result["seconds"]


def test_killed_runs_resume_to_the_uninterrupted_scores(tmp_path, small_family, tiny_model, reference) -> None:
    _, expected, wall = reference
    context, rng = _context(), random.Random(KILL_SEED)
    kills = rounds = during_tlm = 0
    while kills < KILLS:
        rounds += 1
        name = f"round{rounds}"
        config, store = _grid(tmp_path, small_family, tiny_model, name), _store(tmp_path, name)
        seen: dict[tuple, float] = {}
        while True:
            process, message = _start(context, ["run", config, "--no-report"], tmp_path, name)
            process.join(rng.uniform(0.0, wall))
            if process.exitcode is not None:  # the run ended before its kill: the round is complete
                assert json.loads(message.read_text())["exit_code"] == 0
                break
            process.kill()
            process.join()
            kills += 1
            checkpoints = tmp_path / name / "checkpoints"
            during_tlm += any(".partial-" in p.name for p in checkpoints.glob(".*")) if checkpoints.is_dir() else 0
            now = _stored(store)
            assert now.items() >= seen.items(), "a stored cell was lost or changed"
            seen = now
        assert _stored(store) == expected
        assert not [p for p in (tmp_path / name / "checkpoints").iterdir() if ".partial-" in p.name]
    print(
        f"{kills} kills in {rounds} rounds ({during_tlm} while a TLM checkpoint was being written); "
        f"uninterrupted run {wall:.1f} s"
    )


def test_a_cell_scores_the_same_alone_after_others_and_after_a_cache_hit(
    tmp_path, small_family, tiny_model, reference
) -> None:
    """The third seed's cells alone, and again with the full grid's TLM checkpoints already in the cache, score
    what they scored after the other five cells: each cell starts from its own seed, whatever ran before."""
    root, expected, _ = reference
    context = _context()
    third = {key: score for key, score in expected.items() if key[1] == SEEDS[-1]}
    for name, cached in (("alone", False), ("cache-hit", True)):
        config = _grid(tmp_path, small_family, tiny_model, name, seeds=SEEDS[-1:])
        if cached:
            shutil.copytree(root / "reference" / "checkpoints", tmp_path / name / "checkpoints")
        result = _finish(*_start(context, ["run", config, "--no-report"], tmp_path, name))
        assert result["exit_code"] == 0, result["output"]
        assert _stored(_store(tmp_path, name)) == third, name


def test_two_runs_of_one_config_at_once(tmp_path, small_family, tiny_model, reference) -> None:
    _, expected, _ = reference
    context, gate = _context(), _context().Event()
    config = _grid(tmp_path, small_family, tiny_model, "twice", methods=["baseline"])
    first, first_message = _start(context, ["run", config, "--no-report"], tmp_path, "first", gate)
    holder = tmp_path / "twice" / "results.sqlite.holder.json"
    deadline = time.monotonic() + 60
    while not holder.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = _finish(*_start(context, ["run", config, "--no-report"], tmp_path, "second"))
    gate.set()
    assert _finish(first, first_message)["exit_code"] == 0
    assert second["exit_code"] == 2, second["output"]
    assert "is in use by another run" in second["output"] and f"pid {first.pid} on" in second["output"]
    assert second["output"].count("\n") == 1
    assert _stored(_store(tmp_path, "twice")) == {k: v for k, v in expected.items() if k[0] == "baseline"}


def test_two_scheduled_runs_of_one_job_at_once(tmp_path, small_family, tiny_model) -> None:
    import yaml

    context, gate = _context(), _context().Event()
    raw = family_experiment(small_family, tiny_model, output=str(tmp_path / "out"))
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        yaml.safe_dump(
            {
                "jobs": {
                    "nightly": {
                        "config": "exp.yaml",
                        "schedule": "0 2 * * *",
                        "models": [str(tiny_model)],
                        "report": "reports/nightly.html",
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    command = ["schedule", "run", jobs, "nightly"]
    first, first_message = _start(context, command, tmp_path, "first", gate)
    deadline = time.monotonic() + 60
    while not list(tmp_path.rglob("*.holder.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    second = _finish(*_start(context, command, tmp_path, "second"))
    gate.set()
    first_result = _finish(first, first_message)
    assert first_result["exit_code"] == 0, first_result["output"]
    assert second["exit_code"] == 2 and "already running" in second["output"], second["output"]
    assert f"pid {first.pid} on" in second["output"]
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as conn:
        rows, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT cell_key || target || metric) FROM results"
        ).fetchone()
    assert rows == distinct > 0  # the one cell's rows, once


def test_stale_folders_of_dead_processes_are_removed(tmp_path) -> None:
    import subprocess

    from mbert_eval.models.folders import remove_stale

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    names = {
        "partial": f".tlm-abc.partial-{pid}",
        "mine": f".tlm-def.partial-{os.getpid()}",
        "old": f".tlm-ghi.old-{pid}",
        "old-replaced": f".tlm-jkl.old-{pid}",
    }
    for name in [*names.values(), "tlm-jkl"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(name)
    removed = remove_stale(tmp_path)
    assert sorted(p.name for p in removed) == sorted([names["partial"], names["old"], names["old-replaced"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names["mine"], "tlm-ghi", "tlm-jkl"])
    assert (tmp_path / "tlm-ghi" / "config.json").read_text() == names["old"]  # moved back: the rename was cut
    assert (tmp_path / "tlm-jkl" / "config.json").read_text() == "tlm-jkl"  # the newer folder wins
