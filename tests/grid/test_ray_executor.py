"""The Ray executor: the local executor's rows, a dead worker's cell retried without duplicates, a failing
cell that lets the cells already running finish and be stored, and one-line errors for a missing Ray or an
unreachable cluster."""

import dataclasses
import functools
import importlib.util
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mbert_eval.config.experiment import Experiment
from mbert_eval.config.loading import load_experiment
from mbert_eval.errors import UserError
from mbert_eval.grid.executors import make_executor
from mbert_eval.grid.executors.local import LocalExecutor
from mbert_eval.grid.executors.multi_gpu import run_cell_on_gpus
from mbert_eval.grid.executors.ray_executor import RayExecutor
from mbert_eval.grid.job import run_cell
from mbert_eval.grid.resolve import resolve
from mbert_eval.grid.run import plan, run_experiment
from mbert_eval.store.results import ResultStore
from tests.helpers import family_experiment, write_config

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is an optional extra: pip install -e '.[ray]'"
)


pytestmark = pytest.mark.slow


def crash_once(marker: str, job):
    """Run the cell, except that the first attempt at seed 1 kills its worker process."""
    if job.cell.seed == 1 and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        os._exit(1)
    return run_cell(job)


def wait_for(path: Path, seconds: float = 120.0) -> None:
    """Wait until another cell's process has written `path`."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.05)


def fail_while_another_runs(folder: str, job):
    """Seed 1 fails once seed 2 has started; seed 2 goes on only after that; every cell marks that it started."""
    marks = Path(folder)
    (marks / f"started-{job.cell.seed}").touch()
    if job.cell.seed == 1:
        wait_for(marks / "started-2")
        (marks / "failed-1").touch()
        raise UserError("seed 1's data is broken")
    if job.cell.seed == 2:
        wait_for(marks / "failed-1")
    return run_cell(job)


def comparable(rows):
    """Rows without what differs from run to run: timings and write times (and the processes a cell ran in)."""
    return [
        dataclasses.replace(
            row,
            wall_time=0.0,
            created_at="",
            code_version="",  # each process's own: a commit between the runs changes it
            extra={k: v for k, v in row.extra.items() if k not in ("train_time", "processes")},
        )
        for row in rows
    ]


@needs_ray
def test_ray_rows_match_local_and_a_dead_worker_is_retried(tmp_path, small_family, tiny_model):
    import ray

    raw = family_experiment(small_family, tiny_model, seeds=[1, 2])
    raw["tasks"].pop("paraphrase")
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    run_experiment(experiment, executor=LocalExecutor(), problems=problems)
    local_rows = ResultStore(experiment.store_path).rows()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{experiment.store_path}{suffix}").unlink(missing_ok=True)

    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024**2
    )
    try:
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
        marker = tmp_path / "crashed"
        executor = RayExecutor(
            address=None, num_cpus_per_cell=1, max_retries=2, cell_function=functools.partial(crash_once, str(marker))
        )
        summary = run_experiment(experiment, executor=executor, problems=problems)
    finally:
        ray.shutdown()
    assert marker.is_file(), "the first attempt at the seed-1 cell should have killed its worker"
    assert summary.cells_run == 2 and summary.rows_written == len(local_rows) == 8  # 2 cells x 2 targets x 2 metrics
    ray_rows = ResultStore(experiment.store_path).rows()
    assert comparable(ray_rows) == comparable(local_rows)
    keys = [(row.cell_key, row.target, row.metric) for row in ray_rows]
    assert len(keys) == len(set(keys))


@needs_ray
def test_a_failing_cell_lets_the_running_ones_finish_and_starts_no_other(tmp_path, small_family, tiny_model, capsys):
    """Three cells on a cluster that fits two: the first fails while the second runs. The second finishes and is
    stored, the third never starts, and the run ends in the first cell's error, saying that one cell finished
    after it."""
    import ray

    raw = family_experiment(small_family, tiny_model, seeds=[1, 2, 3])
    raw["tasks"].pop("paraphrase")
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    marks = tmp_path / "marks"
    marks.mkdir()
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024**2
    )
    try:
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
        executor = RayExecutor(
            address=None, num_cpus_per_cell=1, cell_function=functools.partial(fail_while_another_runs, str(marks))
        )
        with pytest.raises(UserError) as caught:
            run_experiment(experiment, executor=executor, problems=problems)
    finally:
        ray.shutdown()
    message = str(caught.value)
    assert "seed 1's data is broken" in message and "1 cell already running when it happened finished" in message
    assert "waiting for 1 cell already started to finish" in capsys.readouterr().err
    assert sorted(path.name for path in marks.iterdir()) == ["failed-1", "started-1", "started-2"]
    rows = ResultStore(experiment.store_path).rows()
    assert {row.seed for row in rows} == {2} and len(rows) == 4  # 2 targets x 2 metrics


def test_cells_are_submitted_as_the_cluster_fits_them():
    cluster = SimpleNamespace(cluster_resources=lambda: {"CPU": 1.0, "GPU": 2.0})
    assert RayExecutor(num_cpus_per_cell=0.1).capacity(cluster) == 10  # not 9 (1.0 // 0.1 in floats)
    assert RayExecutor(num_cpus_per_cell=0.25, num_gpus_per_cell=0.5).capacity(cluster) == 4
    assert RayExecutor(num_cpus_per_cell=0.5, num_gpus_per_cell=2).capacity(cluster) == 1


@needs_ray
def test_unreachable_address_fails_fast_in_one_line():
    import ray

    assert not ray.is_initialized()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(UserError) as caught:
        RayExecutor(address=f"127.0.0.1:{port}").connect()
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in message and "\n" not in message
    with pytest.raises(UserError, match="bad Ray address 'nowhere'"):
        RayExecutor(address="nowhere").connect()


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(UserError, match=r"pip install 'mbert-eval\[ray\]'"):
        RayExecutor().connect()


@pytest.mark.skipif(
    importlib.util.find_spec("accelerate") is None,
    reason="accelerate is part of the ray extra: pip install -e '.[ray]'",
)
def test_a_cell_launched_as_accelerate_processes_gives_the_same_rows(tmp_path, small_family, tiny_model):
    """One process or two data-parallel ones train the cell as the local executor does: with dropout off (the
    one randomness the processes draw apart), the same dev and test scores. Two processes used to weigh each
    half-batch's mean loss alike, whatever the labelled tokens in each (`training.loop.share_weight`)."""
    model = tmp_path / "no-dropout"
    shutil.copytree(tiny_model, model)
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (model / "config.json").write_text(json.dumps(config))
    raw = family_experiment(small_family, model)
    raw["tasks"].pop("paraphrase")
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    (job,), _ = plan(resolve(experiment), ResultStore(experiment.store_path))
    local = comparable(run_cell(job))
    launched = run_cell_on_gpus(job, num_processes=1, cpu=True)  # torchrun, one CPU process
    assert comparable(launched) == local
    assert {row.extra["processes"] for row in launched} == {1}
    two = run_cell_on_gpus(job, num_processes=2, cpu=True)  # data-parallel: each process takes half of each batch
    assert {row.extra["processes"] for row in two} == {2}
    scores = [(row.target, row.metric, round(row.score, 9), row.extra["dev_scores"]) for row in comparable(two)]
    assert scores == [(row.target, row.metric, round(row.score, 9), row.extra["dev_scores"]) for row in local]


def test_executor_follows_the_experiment():
    assert isinstance(make_executor(Experiment().executor, Experiment().ray), LocalExecutor)
    experiment = Experiment(executor="ray")
    experiment.ray = SimpleNamespace(address="auto", num_gpus=1, num_cpus=4, max_retries=5)
    executor = make_executor(experiment.executor, experiment.ray)
    assert (executor.address, executor.num_gpus, executor.num_cpus, executor.max_retries) == ("auto", 1, 4, 5)
    assert executor.cell_function is run_cell
    assert RayExecutor(num_gpus_per_cell=4).cell_function.keywords == {"num_processes": 4}
    with pytest.raises(UserError, match="whole number"):
        RayExecutor(num_gpus_per_cell=1.5)


def test_run_with_an_unreachable_ray_address_ends_in_one_line(tmp_path, small_family, tiny_model):
    """`mbert-eval run` with `executor: ray` and a dead address: one line, exit 2, no row."""
    pytest.importorskip("ray", reason="ray is an optional extra (pip install -e .[ray])")
    from click.testing import CliRunner

    from mbert_eval.cli import main
    from tests.helpers import family_experiment, write_config

    raw = family_experiment(small_family, tiny_model, executor="ray", ray={"address": "127.0.0.1:9"})
    result = CliRunner().invoke(main, ["run", str(write_config(tmp_path / "exp.yaml", raw))])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and "Traceback" not in result.output and len(errors) == 1, result.output
    assert "127.0.0.1:9" in errors[0]
    store = tmp_path / "out" / "results.sqlite"
    assert not store.exists() or ResultStore(store).rows() == []
