"""`mbert-eval run` and `validate` (issue 23): the report goes beside the store and nothing is written into the
current folder; the run prints its results table (not with -q, which shows no progress bars either); `--limit N`
(tests/tasks/test_limit.py: every split cut) marks each row and keys the cells apart from a full run's; validate
refuses what run would about the report's place."""

from __future__ import annotations

from pathlib import Path

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.resolve import resolve
from mbert_eval.store.results import ResultStore
from tests.helpers import family_experiment, run_cli, write_config


def _config(folder: Path, family, model: Path, **changes) -> Path:
    """A one-cell POS grid (training data cut short; or `tasks` as given) in `folder`/exp.yaml; its output, out/,
    beside it."""
    raw = family_experiment(family, model, **changes)
    if "tasks" not in changes:
        pos = raw["tasks"]["pos"]
        raw["tasks"] = {"pos": {**pos, "train": pos["train"] + "[:32]", "dev": pos["dev"] + "[:16]"}}
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder / "exp.yaml", raw)


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_run_writes_beside_its_store_prints_its_results_and_nothing_into_the_current_folder(
    tmp_path, small_family, tiny_model, monkeypatch
):
    cwd, configs = tmp_path / "cwd", tmp_path / "configs"
    cwd.mkdir()
    config = _config(configs, small_family, tiny_model)
    monkeypatch.chdir(cwd)
    result = run_cli("run", config)
    assert result.exit_code == 0, result.output
    assert _files(cwd) == set()  # not reports/NAME.html, not anything
    assert {"exp.yaml", "out/results.sqlite", "out/report.html"} <= _files(configs)
    summary, *table = result.stdout.splitlines()
    assert summary.startswith("1 cells run, 0 already stored")
    shown = run_cli("results", "--store", configs / "out" / "results.sqlite").stdout  # the table `results` prints
    assert "\n".join(table[:-1]).strip() == shown.strip() and "accuracy" in shown
    assert table[-1] == f"report: {configs / 'out' / 'report.html'}"
    again = run_cli("run", config, "--report", tmp_path / "elsewhere" / "r.html")  # a path given: there
    assert again.exit_code == 0 and (tmp_path / "elsewhere" / "r.html").is_file()
    assert _files(cwd) == set()


def test_quiet_shows_no_progress_and_no_table(tmp_path, small_family, tiny_model):
    config = _config(tmp_path, small_family, tiny_model)
    loud = run_cli("run", config, "--no-report")
    assert loud.exit_code == 0 and "\r" in loud.stderr and "it/s" in loud.stderr  # the bars this hides
    quiet = run_cli("run", config, "--no-report", "--overwrite", "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.splitlines() == [
        f"1 cells run, 0 already stored, 4 rows written to {tmp_path}/out/results.sqlite"
    ]
    assert "\r" not in quiet.stderr and "it/s" not in quiet.stderr and "\x1b[" not in quiet.stderr
    assert "classifier newly initialized" in quiet.stderr  # what the run says (not a bar) is still said


def test_limit_marks_the_rows_and_keys_the_cells_apart(tmp_path, small_family, tiny_model):
    config = _config(tmp_path, small_family, tiny_model)
    full, _ = load_experiment(config)
    limited, _ = load_experiment(config, ["limit=5"])
    full_keys = {cell.key for cell in resolve(full).cells}
    limited_keys = {cell.key for cell in resolve(limited).cells}
    assert full_keys and limited_keys and full_keys.isdisjoint(limited_keys)  # neither reuses the other's rows
    result = run_cli("run", config, "--limit", "5", "--no-report", "-q")
    assert result.exit_code == 0, result.output
    rows = ResultStore(limited.store_path).rows()
    assert rows and {row.cell_key for row in rows} == limited_keys
    assert all(row.extra["limit"] == 5 and row.n_examples == 5 for row in rows)  # 5 test sentences each
    same = run_cli("run", config, "--set", "limit=5", "--no-report", "-q")  # the config key is the same run
    assert same.stdout.startswith("0 cells run, 1 already stored")


def test_validate_refuses_what_run_would_about_the_report(tmp_path, small_family, tiny_model):
    config = _config(tmp_path, small_family, tiny_model)
    (tmp_path / "out" / "report.html").mkdir(parents=True)
    for command in ("validate", "run"):
        result = run_cli(command, config)
        assert result.exit_code == 2 and "report.html is a folder; pass a file name" in result.stderr, result.output
    assert not (tmp_path / "out" / "results.sqlite").exists()  # run refused before anything
    assert run_cli("validate", config, "--no-report").exit_code == 0
    assert run_cli("validate", config, "--report", tmp_path / "r.html").exit_code == 0
    both = run_cli("validate", config, "--report", tmp_path / "r.html", "--no-report")
    assert both.exit_code == 2 and "contradict" in both.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--limit", "0"], "Invalid value for '--limit'"),
        (["--set", "limit=0"], "limit: at least 1 example per split (or null for all of them), got 0"),
        (["--set", "limit=many"], "limit: expected an integer, got 'many'"),
    ],
)
def test_a_bad_limit_is_one_line(args, fragment, tmp_path, small_family, tiny_model):
    config = _config(tmp_path, small_family, tiny_model)
    result = run_cli("validate", config, *args)
    assert result.exit_code == 2 and fragment in result.stderr, result.output


def test_a_task_that_scores_whole_test_sets_refuses_a_limit(tmp_path, small_family, tiny_model):
    config = _config(tmp_path, small_family, tiny_model, tasks={"bucc": {"test": "bucc/{lang}", "dev": "bucc/{lang}"}})
    result = run_cli("validate", config, "--limit", "5")
    assert result.exit_code == 2
    assert "tasks.bucc: it scores whole test sets; run it without `limit:` (--limit)" in result.stderr
    assert "without `limit:`" not in run_cli("validate", config).stderr


def test_a_runs_table_shows_its_own_grid_and_says_what_else_the_store_holds(tmp_path, small_family, tiny_model):
    """`run` printed the whole store's table: after a run under other training settings into the same store, the
    mean of each seed mixed the two grids' cells. It prints its grid's cells, and says how many rows it left out."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    config = write_config(tmp_path / "exp.yaml", raw)
    assert run_cli("run", config, "--no-report").exit_code == 0
    other = run_cli("run", config, "--no-report", "--set", "training.learning_rate=0.003")
    assert other.exit_code == 0, other.output
    store = ResultStore(tmp_path / "out" / "results.sqlite")
    assert len({row.cell_key for row in store.rows()}) == 2
    assert "average several cells of the same seed" not in other.stdout
    assert f"{len(store.rows()) // 2} rows of other grids in this store are left out" in other.stdout
    whole = run_cli("results", "--store", tmp_path / "out" / "results.sqlite")
    assert "average several cells of the same seed (other settings)" in whole.stdout  # `results` shows them all
