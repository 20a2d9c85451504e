"""The runner: one fine-tuning per cell whatever the number of targets, resume, overwrite."""

from dataclasses import asdict

import pytest
from click.testing import CliRunner

from mbert_eval.cli import main
from mbert_eval.config.experiment import MethodConfig
from mbert_eval.config.loading import load_experiment
from mbert_eval.errors import UserError
from mbert_eval.grid.cells import expand, fine_tune_settings
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks import build_task
from mbert_eval.tasks.fine_tuned import FineTunedTask
from tests.helpers import family_experiment, write_config


@pytest.mark.slow
def test_grid_fine_tunes_once_per_cell_and_resumes(tmp_path, small_family, tiny_model, monkeypatch):
    config = write_config(tmp_path / "exp.yaml", family_experiment(small_family, tiny_model, seeds=[1, 2]))
    experiment, problems = load_experiment(config)
    assert problems == []
    cells = expand(experiment)
    assert len(cells) == 4  # 2 tasks x 1 source x 2 seeds; targets live inside a cell

    calls = []
    original = FineTunedTask.prepare

    def counting_prepare(self, *args, **kwargs):
        calls.append(self.metadata.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FineTunedTask, "prepare", counting_prepare)
    summary = run_experiment(experiment)
    assert summary.cells_run == 4 and summary.cells_skipped == 0
    assert sorted(calls) == ["paraphrase", "paraphrase", "pos", "pos"]

    store = ResultStore(experiment.store_path)
    rows = store.rows()
    targets = {lang.code for lang in small_family.languages[1:]}
    assert {r.target for r in rows} == targets
    assert {(r.task, r.metric) for r in rows} == {("pos", "accuracy"), ("pos", "xtreme_f1"), ("paraphrase", "accuracy")}
    assert len(rows) == 2 * 3 * len(targets)  # 2 seeds x (pos: 2 metrics, paraphrase: 1) per target
    for row in rows:
        assert 0.0 <= row.score <= 1.0
        assert row.n_examples == 40
        assert row.source == small_family.languages[0].code
        assert row.library_versions["torch"].startswith("2.13")
        assert {"numpy", "scipy", "scikit-learn"} <= set(row.library_versions)  # the probes' solver and metrics
        assert any(
            path.endswith(f"{row.target}-test.conllu") or path.endswith(f"{row.target}-test.tsv")
            for path in row.data_checksums
        )
        assert row.code_version and row.config_hash

    calls.clear()
    again = run_experiment(experiment)
    assert again.cells_run == 0 and again.cells_skipped == 4 and calls == []
    assert [r.created_at for r in store.rows()] == [r.created_at for r in rows]


def test_rows_record_the_versions_of_the_process_that_computed_them(tmp_path, small_family, tiny_model, monkeypatch):
    """On Ray a worker computes the scores with its own install; rows named the driver's code and torch."""
    from mbert_eval.grid import job as cell_job
    from mbert_eval.grid.resolve import resolve
    from mbert_eval.grid.run import plan

    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    jobs, _ = plan(resolve(experiment, problems), ResultStore(experiment.store_path))
    monkeypatch.setattr(cell_job, "code_version", lambda: "0+worker")
    monkeypatch.setattr(cell_job, "library_versions", lambda: {"torch": "9.9.9+worker"})
    rows = cell_job.run_cell(jobs[0])
    assert rows and {(row.code_version, row.library_versions["torch"]) for row in rows} == {
        ("0+worker", "9.9.9+worker")
    }


def test_a_cell_takes_the_training_config_whole(tmp_path, small_family, tiny_model):
    """Every training key reaches the cell's settings; epochs: the task's override, then the training config's;
    seed from the cell, freezing from the method."""
    training = {
        "learning_rate": 3e-4,
        "batch_size": 8,
        "max_length": 48,
        "epochs": 2,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "max_grad_norm": 0.5,
        "eval_batch_size": 64,
        "batching": "megabatch",
        "word_embeddings": "freeze",
        "lr_schedule": "constant",
        "activation_checkpointing": True,
        "eval_max_length": 64,
        "eval_steps": 5,
    }
    raw = family_experiment(small_family, tiny_model, training=training, methods=["freeze1"], seeds=[7])
    raw["tasks"]["paraphrase"]["epochs"] = 3
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    for cell in expand(experiment):
        settings = fine_tune_settings(
            experiment, build_task(cell.task, experiment.tasks[cell.task], experiment.base_dir), cell
        )
        epochs = 3 if cell.task == "paraphrase" else 2
        assert asdict(settings.training) == {**training, "epochs": epochs}
        assert (settings.seed, settings.method) == (7, MethodConfig(name="freeze1", freeze=1))


def test_new_target_only_evaluates_what_is_missing(tmp_path, small_family, tiny_model):
    codes = [language.code for language in small_family.languages]
    raw = family_experiment(small_family, tiny_model, targets=codes[1:2])
    raw["tasks"].pop("paraphrase")
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    run_experiment(experiment)
    first = ResultStore(experiment.store_path).rows()
    raw["targets"] = codes[1:]
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    summary = run_experiment(experiment)
    assert summary.cells_run == 1 and summary.rows_written == 2  # the new target: accuracy and xtreme_f1
    rows = ResultStore(experiment.store_path).rows()
    assert {r.target for r in rows} == set(codes[1:])
    kept = [r for r in rows if r.target == codes[1]]
    assert kept == first


def test_overwrite_recomputes(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("pos")
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    run_experiment(experiment)
    store = ResultStore(experiment.store_path)
    first = store.rows()
    summary = run_experiment(experiment, overwrite=True)
    assert summary.cells_run == 1 and summary.rows_written == 2
    # the rows it replaced are kept, as stale rows are, not dropped
    replaced = sorted((row.target, row.metric, row.created_at, reason) for row, reason, _ in store.superseded())
    assert replaced == sorted((row.target, row.metric, row.created_at, "recomputed (--overwrite)") for row in first)


@pytest.mark.slow
def test_killed_run_resumes_with_only_the_missing_cells(tmp_path, small_family, tiny_model):
    """SIGKILL a real `mbert-eval run` after its first cell is stored; the rerun adds the rest."""
    import signal
    import subprocess
    import sys
    import time

    raw = family_experiment(small_family, tiny_model, seeds=[1, 2, 3, 4])
    raw["training"]["epochs"] = 3
    config = write_config(tmp_path / "exp.yaml", raw)
    experiment, _ = load_experiment(config)
    command = [sys.executable, "-m", "mbert_eval.cli", "run", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store_path = experiment.store_path
    deadline = time.time() + 300
    first: list = []
    while time.time() < deadline and process.poll() is None:
        if store_path.exists():
            first = ResultStore(store_path).rows()
            if first:
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = ResultStore(store_path).rows()
    done_cells = {r.cell_key for r in first}
    assert 1 <= len(done_cells) < 8, "the run should be killed part-way"
    per_cell = {key: sum(r.cell_key == key for r in first) for key in done_cells}
    metrics = {"pos": 2, "paraphrase": 1}  # pos stores accuracy and xtreme_f1
    whole = {r.cell_key: 2 * metrics[r.task] for r in first}
    assert per_cell == whole  # whole cells only: both targets, never one

    summary = run_experiment(experiment)
    assert summary.cells_run == 8 - len(done_cells) and summary.cells_skipped == len(done_cells)
    rows = ResultStore(store_path).rows()
    assert len(rows) == 4 * 2 * (2 + 1)  # 4 seeds x 2 targets x (pos: 2 metrics, paraphrase: 1)
    assert [r for r in rows if r.cell_key in done_cells] == first
    again = CliRunner().invoke(main, ["run", str(config), "--no-report"])
    assert again.exit_code == 0 and f"0 cells run, 8 already stored, 0 rows written to {store_path}" in again.output


class ThreeAtOnce:
    """An executor with three cells running at once: the first fails, the second finishes after it (computed for
    real), the third fails too. Records when the run asked it to stop."""

    def __init__(self) -> None:
        self.stopped_after: list[int] = []
        self.yielded = 0

    def stop(self) -> None:
        self.stopped_after.append(self.yielded)

    def map(self, jobs):
        from mbert_eval.grid.job import run_cell

        outcomes = [UserError("first cell's data is broken"), run_cell, UserError("third cell's data is broken")]
        for job, outcome in zip(jobs, outcomes, strict=True):
            self.yielded += 1
            yield job, outcome if isinstance(outcome, Exception) else outcome(job)


def test_the_first_failure_stops_the_run_and_what_still_finishes_is_stored(tmp_path, small_family, tiny_model, capsys):
    raw = family_experiment(small_family, tiny_model, seeds=[1, 2, 3])
    raw["tasks"].pop("paraphrase")
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    executor = ThreeAtOnce()
    with pytest.raises(UserError) as caught:
        run_experiment(experiment, executor=executor, problems=problems)
    message = str(caught.value)
    assert message == "first cell's data is broken; 1 cell already running when it happened finished and stored"
    assert executor.stopped_after == [1]  # once, at the first failure
    assert "seed 3: third cell's data is broken" in capsys.readouterr().err  # a later failure: a line, not lost
    assert {row.seed for row in ResultStore(experiment.store_path).rows()} == {2}


def test_a_store_named_as_a_file_a_run_keeps_beside_another_store_is_refused(tmp_path, small_family, tiny_model):
    """`store: out/results.sqlite.holder.json` was filled by a run, then written over and removed by the next run on
    `out/results.sqlite` (the holder file of its lock): the whole store lost. Such names are refused, by
    `validate` as by `run`, before anything is made."""
    from tests.helpers import run_cli

    raw = family_experiment(small_family, tiny_model)
    for name in ("results.sqlite.holder.json", "results.sqlite.lock", "results.sqlite-wal", "results.sqlite.unsaved"):
        config = write_config(tmp_path / "exp.yaml", {**raw, "store": f"out/{name}"})
        for command in ("validate", "run"):
            result = run_cli(command, config)
            assert result.exit_code == 2, result.output
            assert f"store: {name} is the name of a file a run on a store results.sqlite beside it" in result.stderr
        assert not (tmp_path / "out").exists()


def test_a_store_reached_through_a_link_is_locked_where_it_lies(tmp_path, small_family, tiny_model):
    """Two runs on one store through two names (a link) each took a lock of their own, and both computed every
    cell (the second's rows dropped without a word); the lock is the store's where it lies."""
    from mbert_eval.store.locks import held_lock
    from tests.helpers import run_cli

    (tmp_path / "out").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.sqlite").symlink_to(tmp_path / "out" / "results.sqlite")
    config = write_config(tmp_path / "exp.yaml", family_experiment(small_family, tiny_model) | {"output": "other"})
    with held_lock(tmp_path / "out" / "results.sqlite.lock", "held by the test"):
        result = run_cli("run", config, "--no-report")
    assert result.exit_code == 2 and "is in use by another run (pid" in result.stderr, result.output
