"""The Python API (`mbert_eval.run`, `mbert_eval.load_results`, `mbert_eval.UserError`): the README's example runs
as written, a dict config goes through the same typed reading as a file, keyword overrides are `--set`, user errors
carry the command line's one line, and the results come back as the rows the store holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mbert_eval
from mbert_eval.store.results import ResultStore
from tests.helpers import REPO_ROOT, family_experiment, run_cli, write_config


def tiny_config(family, model: Path, **changes) -> dict:
    """A one-cell POS grid over the synthetic family, its training data cut short, as a dict (no `output:`: the
    default, runs/NAME under the current folder)."""
    raw = family_experiment(family, model, name="tiny", **changes)
    raw.pop("output")
    pos = raw["tasks"]["pos"]
    raw["tasks"] = {"pos": {**pos, "train": pos["train"] + "[:32]", "dev": pos["dev"] + "[:16]"}}
    return raw


def files_under(folder: Path) -> set[str]:
    """Every file under `folder`, relative to it."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_the_readme_example_runs_and_writes_only_into_its_output_folder(tmp_path, small_family, tiny_model):
    """`python -c "import mbert_eval; r = mbert_eval.run({...}); print(r.to_dataframe())"`, in a fresh interpreter
    in an empty folder: it prints one row per target and metric, and writes only under runs/NAME."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    config = tiny_config(small_family, tiny_model)
    code = f"import mbert_eval; r = mbert_eval.run({config!r}); print(r.to_dataframe())"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = 2 * len(config["targets"])  # accuracy and xtreme_f1 per target
    columns = 12 + 4  # and the main metric's interval (ci_low, ci_high, ci_level) and chance level
    assert done.stdout.split()[0] == "task" and f"[{rows} rows x {columns} columns]" in done.stdout, done.stdout
    assert {path.split("/")[0] for path in files_under(cwd)} == {"runs"}
    assert {"runs/tiny/results.sqlite", "runs/tiny/report.html"} <= files_under(cwd)


def test_load_results_returns_the_rows_of_the_run(tmp_path, small_family, tiny_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = mbert_eval.run(tiny_config(small_family, tiny_model), report=False, quiet=True)
    frame = results.to_dataframe()
    assert len(frame) == len(ResultStore(results.store).rows()) == 4
    assert frame.equals(mbert_eval.load_results(results.store))
    assert frame.equals(mbert_eval.load_results(tmp_path / "runs" / "tiny"))  # the output folder names its store
    main = frame[frame["main"]]
    assert set(main["metric"]) == {"accuracy"} and set(main["target"]) == set(
        tiny_config(small_family, tiny_model)["targets"]
    )
    assert main["score"].between(0, 1).all() and (main["n_examples"] > 0).all()  # fractions, the test sets' sizes
    assert results.report is None and not (tmp_path / "runs" / "tiny" / "report.html").exists()
    assert results.summary.cells_run == 1 and results.store == tmp_path / "runs" / "tiny" / "results.sqlite"


def test_results_are_the_rows_of_this_runs_cells_only(tmp_path, small_family, tiny_model, monkeypatch):
    """A store shared by two runs: each run's results hold its own cells' rows; `load_results` all of them."""
    monkeypatch.chdir(tmp_path)
    codes = [language.code for language in small_family.languages]
    first = mbert_eval.run(tiny_config(small_family, tiny_model), report=False, quiet=True)
    second = mbert_eval.run(tiny_config(small_family, tiny_model, seeds=[2]), report=False, quiet=True)
    assert first.store == second.store
    assert set(first.to_dataframe()["seed"]) == {1} and set(second.to_dataframe()["seed"]) == {2}
    assert len(mbert_eval.load_results(first.store)) == 2 * 2 * len(codes[1:])


def test_keyword_overrides_are_set_options(tmp_path, small_family, tiny_model, monkeypatch):
    """`training__epochs=2` is `--set training.epochs=2`: the same cells (keys), the same scores."""
    monkeypatch.chdir(tmp_path)
    raw = tiny_config(small_family, tiny_model, output=str(tmp_path / "cli"))
    config = write_config(tmp_path / "exp.yaml", raw)
    cli = run_cli("run", config, "--set", "training.epochs=2", "--set", "seeds=[3]", "--no-report", "-q")
    assert cli.exit_code == 0, cli.output
    api = mbert_eval.run(config, training__epochs=2, seeds=[3], report=False, quiet=True)
    assert api.summary.cells_run == 0  # the command line's run stored them: the same keys
    frame = api.to_dataframe()
    assert len(frame) == 4 and set(frame["seed"]) == {3}
    unchanged = mbert_eval.run(raw, report=False, quiet=True)  # the dict: its own store, under this folder
    assert unchanged.summary.cells_run == 1 and set(unchanged.to_dataframe()["seed"]) == {1}


def test_a_dict_config_is_read_as_a_file_is_and_left_as_it_was(tmp_path, small_family, tiny_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = tiny_config(small_family, tiny_model, models=[tiny_model])  # a Path where YAML has a string
    before = repr(raw)
    with pytest.raises(mbert_eval.UserError, match=r"^training.learning_rat: unknown key; did you mean"):
        mbert_eval.run(raw, training__learning_rat=1e-3)
    with pytest.raises(mbert_eval.UserError, match=r"^seeds\[0\]: expected an integer, got 'one'"):
        mbert_eval.run({**raw, "seeds": ["one"]})  # a bare TypeError before: the same typed reading as YAML
    with pytest.raises(mbert_eval.UserError, match="a config is a YAML file or a mapping of keys .*, got list"):
        mbert_eval.run([raw])
    assert repr(raw) == before  # overrides go to a copy


def _bad_batch(raw: dict) -> None:
    raw["training"]["batch_size"] = 0


def _unnamed_path(raw: dict) -> None:
    raw["models"] = [{"name": "x"}]


def _two_names(raw: dict) -> None:
    raw["models"] = [{"path": raw["models"][0], "name": "m"}, {"path": "bert-base-multilingual-cased", "name": "m"}]


def _unknown_source(raw: dict) -> None:
    raw["sources"] = ["xx-nowhere"]


@pytest.mark.parametrize(
    "edit, api, cli, fragment",
    [
        (
            lambda raw: None,
            {"training__batch_size": 0},
            ["--set", "training.batch_size=0"],
            "training.batch_size: must",
        ),
        (lambda raw: None, {"limit": 0}, ["--set", "limit=0"], "limit: at least 1 example per split"),
        (_bad_batch, {}, [], "training.batch_size: must be positive, got 0"),
        (_unnamed_path, {}, [], "models[0]: a model written as a mapping names its folder or Hub name in `path:`"),
        (_two_names, {}, [], "models[1].name: 'm' is already the name of models[0]"),
        (_unknown_source, {}, [], "sources[0]:"),
    ],
)
def test_a_user_error_is_the_command_lines_line(
    edit, api, cli, fragment, tmp_path, small_family, tiny_model, monkeypatch
):
    """The API raises `mbert_eval.UserError` with the very line `mbert-eval run` prints after `Error: `, before
    anything runs."""
    monkeypatch.chdir(tmp_path)
    raw = tiny_config(small_family, tiny_model)
    edit(raw)
    config = write_config(tmp_path / "exp.yaml", raw)
    with pytest.raises(mbert_eval.UserError) as raised:
        mbert_eval.run(config, **api)
    result = run_cli("run", config, *cli)
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: {raised.value}"
    assert fragment in str(raised.value)
    assert not (tmp_path / "runs").exists()  # nothing ran, nothing written


def test_load_results_refuses_a_missing_or_damaged_store(tmp_path):
    with pytest.raises(mbert_eval.UserError, match="no results store at"):
        mbert_eval.load_results(tmp_path / "nothing.sqlite")
    damaged = tmp_path / "results.sqlite"
    damaged.write_bytes(b"my notes\n" * 200)
    with pytest.raises(mbert_eval.UserError, match="is not a results store"):
        mbert_eval.load_results(tmp_path)  # a folder: its results.sqlite


def test_a_named_model_keeps_its_key_and_its_rows_carry_the_name(tmp_path, small_family, tiny_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = mbert_eval.run(tiny_config(small_family, tiny_model), report=False, quiet=True)
    named = mbert_eval.run(
        tiny_config(small_family, tiny_model, models=[{"path": str(tiny_model), "name": "my tiny BERT"}]),
        report=False,
        quiet=True,
        overwrite=True,
    )
    assert named.cell_keys == plain.cell_keys  # the model's identity is its path
    frame = named.to_dataframe()
    assert set(frame["model_name"]) == {"my tiny BERT"} and set(frame["model"]) == {str(tiny_model)}
    assert all(row.extra["model_name"] == "my tiny BERT" for row in ResultStore(named.store).rows())


def test_import_mbert_eval_imports_no_torch():
    code = "import sys, mbert_eval; mbert_eval.UserError; mbert_eval.run; assert 'torch' not in sys.modules"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_quiet_run_switches_the_bars_of_its_worker_processes_off(monkeypatch):
    """`-q` (`hidden_progress`) reaches the processes a run starts: a subprocess (accelerate's) inherits tqdm's
    TQDM_DISABLE, and Ray's workers get it with each task; after the block all is as it was."""
    from mbert_eval.api import hidden_progress
    from mbert_eval.grid.executors.ray_executor import RayExecutor

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    bars = "from tqdm import tqdm\nfor _ in tqdm(range(3)): pass\n"
    shown = subprocess.run([sys.executable, "-c", bars], capture_output=True, text=True, check=True)
    assert "100%" in shown.stderr and "runtime_env" not in RayExecutor().task_options()
    with hidden_progress():
        hidden = subprocess.run([sys.executable, "-c", bars], capture_output=True, text=True, check=True)
        assert hidden.stderr == ""
        assert RayExecutor().task_options()["runtime_env"] == {"env_vars": {"TQDM_DISABLE": "1"}}
    assert "TQDM_DISABLE" not in os.environ


def test_a_quiet_run_keeps_the_warnings_of_workers_and_drops_every_bar(capsys):
    """Ray forwards each line a worker writes to this process's stderr behind a coloured prefix, the carriage
    returns of the worker's bars included: under `-q` the bars go and the warning a worker wrote between two of
    them stays (its text after the last carriage return, as a terminal shows it), as does a line of this
    process's own between its bars."""
    from tqdm.auto import tqdm

    from mbert_eval.api import hidden_progress

    prefix = "\x1b[36m(_call pid=7)\x1b[0m "
    bar = "\rfine-tuning de:  50%|█████     | 1/2 [00:01<00:01,  1.00it/s]"
    warning = "pos qab: per-example outputs not written: examples is not a folder"
    with hidden_progress():
        print(f"{prefix}{bar}\r{' ' * 60}\r{warning}", file=sys.stderr)  # a bar cleared by tqdm.write's line
        print(f"{prefix}{bar}\x1b[A\rpos de: 3it [00:00, 9.87it/s]", file=sys.stderr)  # bars only
        print(f"{prefix}a plain line", file=sys.stderr)
        with tqdm(total=2, desc="cells", file=sys.stderr, disable=False) as cells:  # this process's own bars
            with tqdm(total=2, desc="targets", file=sys.stderr, disable=False, position=1) as targets:
                cells.update()
                tqdm.write("pos de: a warning of this process", file=sys.stderr)
                targets.update(2)
            cells.update()
        sys.stderr.write("pos de: a line of this process")  # as tqdm.write writes it, its newline apart
        sys.stderr.write("\n")
        sys.stderr.write("\n")  # a bar moving down to the one nested under it, then drawing that
        sys.stderr.write("\rtargets:   0%|          | 0/2 [00:00<?, ?it/s]")
    lines = ["(_call pid=7) a plain line", "pos de: a warning of this process", "pos de: a line of this process"]
    assert capsys.readouterr().err == "".join(f"{line}\n" for line in [warning, *lines])


@pytest.mark.parametrize("interrupted", [False, True])
def test_a_run_gives_the_caller_its_random_state_threads_and_transformers_logging_back(
    interrupted, tmp_path, small_family, tiny_model, monkeypatch
):
    """Each cell seeds the global random generators, sets torch's thread count and quiets transformers' logging
    and progress bars; `run` gives the caller its own back, also when the run ends in an interrupt."""
    import random

    import numpy as np
    import torch
    from transformers.utils import logging

    from mbert_eval.grid.executors import local
    from mbert_eval.models.encoders import quiet_loading

    monkeypatch.chdir(tmp_path)
    if interrupted:

        def interrupt(job):  # what a cell changes before Ctrl-C stops it
            random.seed(1)
            np.random.seed(1)
            torch.manual_seed(1)
            torch.set_num_threads(1)
            quiet_loading()
            raise KeyboardInterrupt

        monkeypatch.setattr(local, "run_cell", interrupt)

    def seeded() -> None:  # the caller's own seeds
        random.seed(42)
        np.random.seed(42)
        torch.manual_seed(42)

    def draws() -> tuple:
        return random.random(), np.random.rand(), torch.rand(1).item()

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    try:
        logging.set_verbosity_info()
        logging.enable_progress_bar()
        torch.set_num_threads(2)
        seeded()
        expected = draws()
        seeded()
        if interrupted:
            with pytest.raises(KeyboardInterrupt):
                mbert_eval.run(tiny_config(small_family, tiny_model), report=False, quiet=True)
        else:
            mbert_eval.run(tiny_config(small_family, tiny_model, threads=1), report=False, quiet=True)
        assert draws() == expected
        assert torch.get_num_threads() == 2
        assert logging.get_verbosity() == logging.INFO and logging.is_progress_bar_enabled()
    finally:
        torch.set_num_threads(1)  # as tests/conftest.py leaves it
        logging.set_verbosity(verbosity)
        (logging.enable_progress_bar if bars else logging.disable_progress_bar)()
