"""A file read line by line with a task's `test:` file (tatoeba's and the layer-wise tasks' `pivot:`, alignment's
`pivot:` and `gold:`) follows the rows `test:`'s slice picks: a slice of its own would be ignored, so it is refused,
by `validate` as by `run`, before anything is computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.errors import UserError
from mbert_eval.tasks import build_task
from tests.helpers import family_experiment, one_error_line, run_cli, write_config

REFUSED = "is not applied to a {key} file, whose lines follow the test file's; slice `test:` instead"


def _sliced_config(family, model: Path) -> dict:
    """Tatoeba with a sliced pivot pattern, alignment with a sliced gold file of one target (a mapping)."""
    base, parallel = family.languages[0].code, family.root / "parallel"
    return family_experiment(
        family,
        model,
        tasks={
            "tatoeba": {
                "test": f"{parallel}/{base}-{{lang}}.{{lang}}",
                "pivot": f"{parallel}/{base}-{{lang}}.{base}[20:40]",
            },
            "alignment": {
                "test": f"{parallel}/{base}-{{lang}}.{{lang}}[0:10]",
                "pivot": f"{parallel}/{base}-{{lang}}.{base}",
                "gold": {
                    language.code: f"{parallel}/{base}-{language.code}.align" + ("[:10]" if index == 1 else "")
                    for index, language in enumerate(family.languages[1:], 1)
                },
            },
        },
    )


def test_a_sliced_pivot_or_gold_is_refused_by_validate_and_run(tmp_path, small_family, tiny_model):
    config = write_config(tmp_path / "exp.yaml", _sliced_config(small_family, tiny_model))
    target = small_family.languages[1].code

    validated = run_cli("validate", config)
    assert validated.exit_code == 2, validated.output
    assert one_error_line(validated).splitlines() == [
        f"{config}: tasks.tatoeba: pivot: a slice ([20:40]) {REFUSED.format(key='pivot')}",
        f"{config}: tasks.alignment: gold ({target}): a slice ([:10]) {REFUSED.format(key='gold')}",
    ]

    ran = run_cli("run", config)
    assert ran.exit_code == 2, ran.output
    message = one_error_line(ran)
    assert message.startswith("Error: tasks.tatoeba: pivot: a slice ([20:40])") and "\n" not in message
    assert not (tmp_path / "out").exists()  # nothing computed, nothing stored


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("tatoeba", "pivot"),
        ("similarity", "pivot"),
        ("language_identity", "pivot"),
        ("alignment", "pivot"),
        ("alignment", "gold"),
    ],
)
def test_every_paired_key_refuses_a_slice_when_the_task_is_built(name, key):
    data = {"test": "t.{lang}", "pivot": "p.{lang}", "gold": "g.{lang}"} if name == "alignment" else {}
    data = {"test": "t.{lang}", "pivot": "p.{lang}", **data, key: f"{key}.{{lang}}[5:]"}
    with pytest.raises(UserError, match=r"^" + key + r": a slice \(\[5:\]\) is not applied"):
        build_task(name, TaskConfig(**data), Path("."))
    build_task(name, TaskConfig(**{**data, "test": "t.{lang}[5:]", key: f"{key}.{{lang}}"}), Path("."))  # test's: fine
