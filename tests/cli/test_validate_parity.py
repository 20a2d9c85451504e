"""What `run` refused only after it started (after creating the store, or after computing a cell), which `validate`
passed: each is refused by both, before anything runs (validate = run); and `report --config` refuses a config
with problems rather than show its defaults as what ran."""

from __future__ import annotations

import pytest

from tests.helpers import Workspace, assert_refused, run_cli


def _tlm(changes: dict):
    """The workspace's POS grid with the `tlm` method over the family's parallel text, then `changes` to it."""

    def edit(raw: dict, ws: Workspace) -> None:
        parallel = ws.family.root / "parallel"
        raw["methods"] = ["tlm"]
        raw["parallel"] = {
            "source": f"{parallel}/{{src}}-{{lang}}.{{src}}",
            "target": f"{parallel}/{{src}}-{{lang}}.{{lang}}",
        }
        raw["tlm"] = {"steps": 2, "batch_size": 4, "max_length": 32}
        raw["parallel"].update(changes)

    return edit


CASES = [
    ("empty-parallel-source", _tlm({"source": []}), "needs parallel text: set parallel.source and parallel.target"),
    ("empty-parallel-target", _tlm({"target": {}}), "needs parallel text: set parallel.source and parallel.target"),
    ("unknown-parallel-language", _tlm({"languages": ["xx"]}), "parallel: unknown language 'xx'"),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("edit", "fragment"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_what_run_refused_after_starting_validate_refuses_too(edit, fragment, command, workspace: Workspace) -> None:
    workspace.fill_store()
    result = run_cli(command, workspace.config(lambda raw: edit(raw, workspace)))
    assert_refused(result, command, fragment, workspace)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_report_where_the_run_makes_its_output_folder_is_refused_before_it_runs(command, workspace) -> None:
    """`--report out` where the run makes `out/` (its output folder, not there yet): validate said OK, the run
    computed every cell and then failed to write the report onto the folder it had made."""
    config = workspace.config()
    output = workspace.root / "out"
    result = run_cli(command, config, "--report", output)
    assert result.exit_code == 2 and f"would be a file where the run makes the folder {output}" in result.output
    assert not (output / "results.sqlite").exists()  # nothing ran, no store was made


def test_report_refuses_a_config_with_problems(tmp_path, workspace: Workspace) -> None:
    """`report --config` with a typo'd key showed the config's defaults as what ran, with no word of the typo."""
    workspace.fill_store()
    config = workspace.config(lambda raw: raw["training"].update(learning_rat=1e-4))
    result = run_cli("report", "--store", workspace.store, "--config", config, "--out", tmp_path / "r.html")
    assert result.exit_code == 2 and "training.learning_rat: unknown key" in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "r.html").exists()
