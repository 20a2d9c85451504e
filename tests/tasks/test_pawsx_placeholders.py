"""PAWS-X's translated dev and test files hold a few pairs whose side is the placeholder `NS` (a sentence left
untranslated); its README asks that they be cleaned up, so the task leaves them out after slicing and each row
says how many."""

from pathlib import Path

import pytest

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.errors import UserError
from mbert_eval.languages import lookup
from mbert_eval.tasks import get_task

ROWS = [
    ("Er kam.", "Er ging.", "0"),
    ("NS", "Sie lachte.", "0"),
    ("Es regnet.", "NS", "0"),
    ("NS", "NS", "1"),
    ("Das Haus ist rot.", "Das rote Haus.", "1"),
]


def pawsx(folder: Path, rows: list[tuple[str, str, str]], test: str = "dev-{lang}.tsv", name: str = "pawsx"):
    lines = ["id\tsentence1\tsentence2\tlabel", *(f"{i}\t{a}\t{b}\t{label}" for i, (a, b, label) in enumerate(rows))]
    (folder / "dev-de.tsv").write_text("\n".join(lines) + "\n")
    return get_task(name, TaskConfig(train="dev-en.tsv", dev="dev-en.tsv", test=test), folder)


@pytest.mark.parametrize("name", ["pawsx", "pawsx_probe"])
def test_placeholder_pairs_are_left_out_and_counted(tmp_path: Path, name: str) -> None:
    task, german = pawsx(tmp_path, ROWS, name=name), lookup("de")
    examples = task.target_examples(german)
    assert [pair.first for pair in examples] == ["Er kam.", "Das Haus ist rot."]
    assert task.target_log(None, german, examples) == {"placeholder_pairs_dropped": 3}


def test_the_count_is_of_the_slice_and_nothing_is_added_without_placeholders(tmp_path: Path) -> None:
    task, german = pawsx(tmp_path, ROWS, test="dev-{lang}.tsv[0:2]"), lookup("de")
    assert task.target_log(None, german, task.target_examples(german)) == {"placeholder_pairs_dropped": 1}
    task = pawsx(tmp_path, ROWS, test="dev-{lang}.tsv[4:5]")
    assert task.target_log(None, german, task.target_examples(german)) == {}


def test_a_selection_of_placeholders_only_is_refused(tmp_path: Path) -> None:
    task = pawsx(tmp_path, ROWS, test="dev-{lang}.tsv[1:4]")
    with pytest.raises(UserError, match="all 3 pairs hold the placeholder 'NS'"):
        task.target_examples(lookup("de"))


def test_real_pawsx_dev_files(shared_data: Path) -> None:
    """68 of German dev's 2000 pairs, 38 of Spanish's, 8 of French's and none of English's hold `NS` (counted
    independently: a sentence field that is exactly `NS`)."""
    task = get_task("pawsx", TaskConfig(test="dev-{lang}.tsv"), shared_data / "pawsx")
    for code in ("de", "es", "fr", "en"):
        rows = [line.split("\t") for line in (shared_data / f"pawsx/dev-{code}.tsv").read_text().splitlines()]
        held = sum("NS" in (row[0].strip(), row[1].strip()) for row in rows)  # sentence1, sentence2, label
        examples = task.target_examples(lookup(code))
        assert len(examples) == len(rows) - held
        assert task.target_log(None, lookup(code), examples) == ({"placeholder_pairs_dropped": held} if held else {})
        assert {code: held} == {code: {"de": 68, "es": 38, "fr": 8, "en": 0}[code]}
