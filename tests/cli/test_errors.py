"""Bad input ends in one line naming the problem, exit code 2, no traceback, no partial row."""

from pathlib import Path

import pytest

from mbert_eval.store.results import ResultStore
from tests.helpers import family_experiment, run_cli, write_config


def assert_one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines  # progress bars may come before it
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def assert_store_empty(tmp_path: Path) -> None:
    store = tmp_path / "out" / "results.sqlite"
    assert not store.exists() or ResultStore(store).rows() == []


def copy_family_file(family, relative: str, tmp_path: Path, edit) -> str:
    """A copy of one family file with `edit` applied to its lines; returns its pattern path."""
    source = family.root / relative
    target = tmp_path / "data" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(edit(source.read_text(encoding="utf-8").splitlines())) + "\n", encoding="utf-8")
    return str(target)


def test_malformed_conllu_line(tmp_path, small_family, tiny_model):
    target = small_family.languages[1].code
    broken = copy_family_file(
        small_family, f"pos/{target}-test.conllu", tmp_path, lambda lines: lines[:3] + ["3\tbroken line"] + lines[3:]
    )
    raw = family_experiment(small_family, tiny_model, targets=[target])
    raw["tasks"]["pos"]["test"] = {target: broken}
    config = write_config(tmp_path / "exp.yaml", raw)
    assert_one_line_error(run_cli("run", str(config)), f"{target}-test.conllu:4")
    assert_store_empty(tmp_path)


def test_empty_training_file(tmp_path, small_family, tiny_model):
    empty = tmp_path / "empty.conllu"
    empty.write_text("")
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"]["pos"]["train"] = str(empty)
    raw["tasks"].pop("paraphrase")
    assert_one_line_error(run_cli("run", str(write_config(tmp_path / "exp.yaml", raw))), "empty.conllu")
    assert_store_empty(tmp_path)


def test_tsv_with_wrong_column_count(tmp_path, small_family, tiny_model):
    target = small_family.languages[1].code
    broken = copy_family_file(
        small_family, f"pairs/{target}-test.tsv", tmp_path, lambda lines: lines[:5] + ["only one column"] + lines[5:]
    )
    raw = family_experiment(small_family, tiny_model, targets=[target])
    raw["tasks"]["paraphrase"]["test"] = {target: broken}
    raw["tasks"].pop("pos")
    assert_one_line_error(run_cli("run", str(write_config(tmp_path / "exp.yaml", raw))), f"{target}-test.tsv:6")
    assert_store_empty(tmp_path)


def test_unknown_language_code(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model, targets=["ger"])
    config = write_config(tmp_path / "exp.yaml", raw)
    line = assert_one_line_error(run_cli("run", str(config)), "targets[0]", "'ger'", "de (German)")
    assert line.startswith("Error:")
    assert_store_empty(tmp_path)


def test_unknown_task(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"]["posx"] = raw["tasks"].pop("pos")
    assert_one_line_error(
        run_cli("run", str(write_config(tmp_path / "exp.yaml", raw))), "tasks.posx", "unknown task", "pos"
    )
    assert_store_empty(tmp_path)


def test_missing_model_folder(tmp_path, small_family):
    raw = family_experiment(small_family, tmp_path / "no" / "such-model")
    assert_one_line_error(
        run_cli("run", str(write_config(tmp_path / "exp.yaml", raw))), "models[0]", "such-model", "does not exist"
    )
    assert_store_empty(tmp_path)


def test_hub_name_while_offline(tmp_path, small_family, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    raw = family_experiment(small_family, Path("bert-base-multilingual-cased"))
    raw["tasks"].pop("paraphrase")
    line = assert_one_line_error(
        run_cli("run", str(write_config(tmp_path / "exp.yaml", raw))), "bert-base-multilingual-cased"
    )
    assert "local model folder" in line
    assert_store_empty(tmp_path)


def test_config_typo(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model)
    raw["traning"] = raw.pop("training")
    assert_one_line_error(
        run_cli("run", str(write_config(tmp_path / "exp.yaml", raw))), "traning", "did you mean 'training'"
    )
    assert_store_empty(tmp_path)


def test_validate_lists_every_problem_with_key_paths(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model, targets=["ger", "qab"], methods=["basline"])
    raw["traning"] = raw.pop("training")
    raw["tasks"]["pos"]["test"] = str(tmp_path / "missing-{lang}.conllu")
    raw["tasks"]["nerr"] = {}
    result = run_cli("validate", str(write_config(tmp_path / "exp.yaml", raw)))
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = result.stderr
    assert "traning: unknown key; did you mean 'training'?" in text
    assert "targets[0]: unknown language 'ger'" in text
    assert "methods[0]: unknown method step 'basline'; did you mean: baseline?" in text
    assert "tasks.pos.test: file not found for qab" in text
    assert "tasks.nerr: unknown task 'nerr'; did you mean: ner?" in text
    assert len(text.strip().splitlines()) == 5


def test_validate_ok(tmp_path, small_family, tiny_model):
    result = run_cli("validate", str(write_config(tmp_path / "exp.yaml", family_experiment(small_family, tiny_model))))
    assert result.exit_code == 0 and "OK (2 cells, 4 target evaluations)" in result.output


def test_set_overrides_any_key(tmp_path, small_family, tiny_model):
    config = write_config(tmp_path / "exp.yaml", family_experiment(small_family, tiny_model))
    result = run_cli("validate", str(config), "--set", "targets=[ger]")
    assert result.exit_code == 2 and "targets[0]: unknown language 'ger'" in result.stderr
    result = run_cli("validate", str(config), "--set", "training.batch_size=-1")
    assert "training.batch_size: must be positive" in result.stderr
    result = run_cli("validate", str(config), "--set", "training.learning_rate=fast")
    assert "training.learning_rate: expected a number, got 'fast'" in result.stderr
    result = run_cli("validate", str(config), "--set", "executor=rayy")
    assert "executor: unknown executor 'rayy'; did you mean: ray? (known: local, ray)" in result.stderr


RAY_REFUSALS = [  # id, --set overrides, modules missing, the problem validate reports
    ("no-ray", ["executor=ray"], {"ray"}, "executor 'ray' needs Ray, which is not installed: pip install"),
    (
        "no-accelerate",
        ["executor=ray", "ray.num_gpus=2"],
        {"accelerate"},
        "ray.num_gpus: a cell on several GPUs needs accelerate, which is not installed",
    ),
    ("bad-address", ["executor=ray", "ray.address=nowhere"], set(), "ray.address: bad Ray address 'nowhere'"),
    ("dead-address", ["executor=ray", "ray.address=127.0.0.1:9"], set(), "ray.address: cannot reach the Ray cluster"),
]


@pytest.mark.parametrize("id, overrides, missing, problem", RAY_REFUSALS, ids=[case[0] for case in RAY_REFUSALS])
def test_validate_refuses_what_a_run_on_ray_would(
    id, overrides, missing, problem, tmp_path, small_family, tiny_model, monkeypatch
):
    """`validate` = `run`: what `RayExecutor.connect` or a multi-GPU cell would refuse, validate reports, and
    `run` stops there, before any cell."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in missing else find_spec(name, *a))
    config = write_config(tmp_path / "exp.yaml", family_experiment(small_family, tiny_model))
    sets = [item for override in overrides for item in ("--set", override)]
    for command in ("validate", "run"):
        result = run_cli(command, str(config), *sets)
        assert result.exit_code == 2 and problem in result.stderr, (command, result.output)
    assert not (tmp_path / "out" / "results.sqlite").exists()


@pytest.mark.parametrize("args", [["results", "--store", "nowhere.sqlite"], ["ls", "languages", "--task", "nope"]])
def test_other_commands_fail_in_one_line(args):
    result = run_cli(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ["align", "pairs.txt", "--model", "m", "--batch-size", "many", "--out", "o"],
            ["Invalid value for '--batch-size'", "'many'", "see 'mbert-eval align --help'"],
        ),
        (["align", "pairs.txt"], ["Missing option '--model'", "see 'mbert-eval align --help'"]),
        (["fly"], ["No such command 'fly'", "see 'mbert-eval --help'"]),
        (["--fly"], ["No such option '--fly'", "see 'mbert-eval --help'"]),
        (["schedule", "fly"], ["No such command 'fly'", "see 'mbert-eval schedule --help'"]),
    ],
)
def test_click_usage_errors_are_one_line(args, needles):
    """A bad option value, a missing option, an unknown command or option: one line, no usage block."""
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [assert_one_line_error(result, *needles)]


def test_a_group_without_a_command_shows_its_help():
    for args in ([], ["schedule"]):
        result = run_cli(*args)
        assert "Commands:" in result.output and "Error" not in result.output


def test_a_huge_value_is_cut_in_every_problem_that_shows_it(tmp_path, small_family, tiny_model):
    """A value of 5,000 characters was written out whole (lines of 5,100 characters) where a problem named an
    unknown language, method, executor, baseline or tagging rule; every such line shows it cut."""
    huge = "a" * 5000
    raw = family_experiment(small_family, tiny_model, targets=[huge], methods=[huge], baseline=huge, executor=huge)
    raw["tasks"]["pos"].update(label_subword=huge)
    result = run_cli("validate", str(write_config(tmp_path / "exp.yaml", raw)))
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 4 and max(map(len, lines)) < 400, [line[:120] for line in lines]
