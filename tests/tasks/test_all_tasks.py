"""Every registered task, metric and executor checked the same way (as mteb's test_all_abstasks): declared
metadata complete and consistent, options as the constructor takes them, listed by `mbert-eval ls`, and a
config naming each one validates to key-path problems rather than a traceback."""

import inspect
import re

import pytest
import yaml
from click.testing import CliRunner

from mbert_eval.cli import main
from mbert_eval.config.experiment import Experiment, TaskConfig
from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.executors import EXECUTORS
from mbert_eval.grid.resolve import validate
from mbert_eval.metrics import METRICS
from mbert_eval.tasks import TASKS, get_task, option_keys

CITATION = re.compile(r"[A-Z][a-zà-ÿ]+ (?:et al\. |& [A-Z][a-z]+ )?(?:19|20)\d{2}")  # Hu et al. 2020, Och & Ney 2003
# a valid value of each option
OPTION_VALUES = {
    "layer": 1,
    "label_subword": "first",
    "one_indexed": True,
    "unseen_labels": "score",
    "center": True,
    "all_languages": True,
}


def ls(kind: str) -> list[str]:
    result = CliRunner().invoke(main, ["ls", kind], prog_name="mbert-eval")
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_the_citation_pattern():
    assert (
        CITATION.search("Libovický et al. 2020")
        and CITATION.search("Och & Ney 2003 (AER)")
        and CITATION.search("Pan et al. 2017, Cross-lingual name tagging")
    )
    assert not CITATION.search("word accuracy (main metric)")


@pytest.mark.parametrize("name", TASKS.names())
def test_metadata_is_complete_and_consistent(name):
    task = TASKS.get(name)
    meta = task.metadata
    assert meta.name == name
    assert meta.description and "\n" not in meta.description and TASKS.summary(name) == meta.description
    assert meta.main_metric in meta.metric_descriptions
    assert ("lower is better" in meta.metric_descriptions[meta.main_metric]) == (not meta.higher_is_better)
    assert CITATION.search(meta.reference), meta.reference
    assert meta.epochs >= 1 if task.needs_training else meta.epochs == 0
    assert len({meta.hub_train is None, meta.hub_dev is None, meta.hub_test is None}) == 1  # all Hub data or none


@pytest.mark.parametrize("name", TASKS.names())
def test_options_are_the_constructors_keyword_parameters(name):
    meta = TASKS.get(name).metadata
    parameters = list(inspect.signature(TASKS.get(name).__init__).parameters)
    assert parameters[:3] == ["self", "config", "base_dir"]
    assert parameters[3:] == list(meta.options)
    assert all(option in OPTION_VALUES for option in meta.options)  # a TaskConfig key (see below)
    assert all("default" in what for what in meta.options.values())
    later = TaskConfig.IDENTITY.keyed_when_set  # options added later join a key only where set, not through options()
    assert list(get_task(name).options()) == [option for option in meta.options if option not in later]


def test_every_option_is_a_task_config_key():
    assert set(option_keys()) == set(OPTION_VALUES) and set(OPTION_VALUES) <= set(TaskConfig.__dataclass_fields__)


@pytest.mark.parametrize("name", TASKS.names())
def test_options_are_taken_or_refused_from_the_config(name):
    """The options a task takes reach it; one it does not take is a problem naming the task."""
    meta = TASKS.get(name).metadata
    experiment = Experiment(
        models=["m"],
        tasks={name: TaskConfig(targets=["de"], **{k: OPTION_VALUES[k] for k in meta.options})},
        targets=["de"],
    )
    assert validate(experiment, check_files=False) == []
    foreign = [key for key in option_keys() if key not in meta.options]
    if foreign:
        setattr(experiment.tasks[name], foreign[0], OPTION_VALUES[foreign[0]])
        takes = f" (it takes: {', '.join(meta.options)})" if meta.options else ""
        assert validate(experiment, check_files=False) == [
            f"tasks.{name}: task '{name}' has no option '{foreign[0]}'{takes}"
        ]


@pytest.mark.parametrize("name", TASKS.names())
def test_data_and_epochs_a_task_does_not_read_are_refused(name):
    """`gold:` on pos, `train:` or `epochs:` on tatoeba were read by nothing, and the rows looked as if they had
    been: each is a problem naming what the task reads."""
    task = TASKS.get(name)
    experiment = Experiment(models=["m"], tasks={name: TaskConfig(targets=["de"])}, targets=["de"])
    for key in ("train", "dev", "test", "pivot", "gold"):
        experiment.tasks[name] = TaskConfig(targets=["de"], **{key: "data.txt"})
        found = validate(experiment, check_files=False)
        if key in task.data_keys:
            assert not any("reads no" in problem for problem in found), found
        else:
            assert found == [f"tasks.{name}: task '{name}' reads no {key} data (it reads: {', '.join(task.data_keys)})"]
    experiment.tasks[name] = TaskConfig(targets=["de"], epochs=2)
    found = validate(experiment, check_files=False)
    assert (
        (found == [])
        if task.fine_tunes
        else (found == [f"tasks.{name}: task '{name}' fine-tunes nothing, so it has no epochs to set"])
    )


@pytest.mark.parametrize("name", TASKS.names())
def test_ls_tasks_lists_it(name):
    meta = TASKS.get(name).metadata
    lines = ls("tasks")
    assert any(line.split()[:3] == [name, meta.main_metric, f"epochs={meta.epochs}"] for line in lines), lines
    for option in meta.options:
        assert any(line.split()[:2] == ["option", f"{option}:"] for line in lines), lines


@pytest.mark.parametrize("name", TASKS.names())
def test_a_missing_data_file_is_a_key_path_problem(name, tmp_path):
    task = TASKS.get(name)
    data = {key: str(tmp_path / f"missing-{key}-{{lang}}.txt") for key in task.data_keys}
    path = tmp_path / "exp.yaml"
    path.write_text(
        yaml.safe_dump({"models": ["bert-base-multilingual-cased"], "tasks": {name: data}, "targets": ["de"]}),
        encoding="utf-8",
    )
    experiment, problems = load_experiment(path)
    assert problems == []
    # a task that trains reads train and dev in the source language; one that does not reads all its data
    # (bucc: dev for its threshold) in each target
    read = {key: "en" if key in ("train", "dev") and task.needs_training else "de" for key in task.data_keys}
    assert sorted(validate(experiment)) == sorted(
        f"tasks.{name}.{key}: file not found for {language}: {tmp_path / f'missing-{key}-{language}.txt'}"
        for key, language in read.items()
    )


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_cites_its_source(name):
    metric = METRICS.get(name)
    assert metric.__name__ == name
    assert CITATION.search(inspect.getdoc(metric) or ""), f"{name}'s docstring cites no source"
    assert METRICS.summary(name) and "\n" not in METRICS.summary(name)
    assert any(line.split()[0] == name for line in ls("metrics"))


def test_ls_executors_lists_the_registry():
    assert [line.split()[0] for line in ls("executors")] == EXECUTORS.names() == ["local", "ray"]


def test_validate_lists_unknown_executors_with_the_registrys_names():
    problems = validate(
        Experiment(models=["m"], tasks={"xnli": TaskConfig()}, targets=["de"], executor="rayy"), check_files=False
    )
    assert problems == [
        f"executor: unknown executor 'rayy'; did you mean: ray? (known: {', '.join(EXECUTORS.names())})"
    ]
