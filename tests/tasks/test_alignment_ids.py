"""The alignment task on `id<TAB>sentence` files (the simalign sample's layout): gold links follow the ids."""

from pathlib import Path

import pytest

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.errors import DataError
from mbert_eval.languages import lookup
from mbert_eval.tasks.alignment import AlignmentTask


def _task(folder: Path, gold: str) -> AlignmentTask:
    (folder / "eng.txt").write_text("0\tthe cat sleeps\n1\ta dog runs\n", encoding="utf-8")
    (folder / "deu.txt").write_text("0\tdie Katze schläft\n1\tein Hund läuft\n", encoding="utf-8")
    (folder / "eng_deu.gold").write_text(gold, encoding="utf-8")
    config = TaskConfig(test="deu.txt", pivot="eng.txt", gold="eng_deu.gold", one_indexed=False)
    return AlignmentTask(config, base_dir=folder)


def test_a_gold_file_in_another_order_gives_each_pair_its_own_links(tmp_path: Path) -> None:
    examples = _task(tmp_path, "1\t0-2 1-1 2-0\n0\t0-0 1-1 2-2\n").target_examples(lookup("de"))
    assert examples.pairs[0] == (["the", "cat", "sleeps"], ["die", "Katze", "schläft"])
    assert [sorted(gold.sure) for gold in examples.gold] == [[(0, 0), (1, 1), (2, 2)], [(0, 2), (1, 1), (2, 0)]]


def test_a_gold_file_with_other_ids_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"eng_deu.gold: no links for id '1' of the sentence files"):
        _task(tmp_path, "0\t0-0 1-1 2-2\n2\t0-2 1-1 2-0\n").target_examples(lookup("de"))
