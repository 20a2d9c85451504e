"""The `threads` setting of a run: from the config, overridden by `--threads`, refused below 1, recorded in every
row's `extra`, no part of a cell key or the config hash; and each target's evaluation shows a progress bar."""

import pytest
import torch

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from tests.helpers import family_experiment, run_cli, write_config


@pytest.fixture(autouse=True)
def one_thread_after():
    yield
    torch.set_num_threads(1)  # as tests/conftest.py leaves it


def pos_grid(tmp_path, family, model, **changes):
    """One POS cell, one target: the smallest grid that fine-tunes and evaluates."""
    raw = family_experiment(family, model, targets=[family.languages[1].code], **changes)
    raw["tasks"] = {"pos": raw["tasks"]["pos"]}
    return write_config(tmp_path / "exp.yaml", raw)


def test_the_configs_threads_run_the_cell_and_land_in_extra_and_the_cli_overrides_them(
    tmp_path, small_family, tiny_model, capsys
):
    target = small_family.languages[1].code
    config = pos_grid(tmp_path, small_family, tiny_model, threads=2)
    experiment, problems = load_experiment(config)
    assert problems == [] and experiment.threads == 2
    torch.set_num_threads(3)
    run_experiment(experiment)
    assert torch.get_num_threads() == 3  # the caller's, given back after the cells ran with their own (each row's
    # `extra`; `grid.process_state`)
    store = ResultStore(experiment.store_path)
    first = store.rows()
    assert first and {row.extra["threads"] for row in first} == {2}
    assert f"pos {target}" in capsys.readouterr().err  # the evaluation's progress bar, named by task and target

    # same cell key and config hash: the cell is stored already, whatever the thread count
    assert run_cli("run", config, "--threads", "1", "--no-report").stdout.startswith("0 cells run, 1 already stored")
    result = run_cli("run", config, "--threads", "1", "--overwrite", "--no-report")
    assert result.exit_code == 0, result.output
    rows = store.rows()
    assert {row.extra["threads"] for row in rows} == {1} and torch.get_num_threads() == 3
    assert {row.config_hash for row in rows} == {row.config_hash for row in first}
    assert f"pos {target}" in result.stderr


def test_validate_refuses_fewer_than_one_thread_in_one_line(tmp_path, small_family, tiny_model):
    config = pos_grid(tmp_path, small_family, tiny_model, threads=0)
    result = run_cli("validate", config)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == f"{config}: threads: at least 1 CPU thread (or null for the default), got 0"
    run = run_cli("run", config)
    assert run.exit_code == 2 and run.stderr.strip().splitlines()[-1].startswith("Error: threads: at least 1")


@pytest.mark.parametrize("command", ["run", "pretrain", "align", "quickstart"])
def test_every_command_that_runs_models_takes_threads_and_refuses_zero(command):
    assert "--threads" in run_cli(command, "--help").output
    result = run_cli(command, "--threads", "0")
    assert result.exit_code == 2 and "'--threads'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
