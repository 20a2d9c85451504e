"""A run's `limit:` (issue 23): each task reads at most N examples of every split of every language (train and dev
of the source, test of each target), where its examples are read, before any fine-tuning; a task that scores
whole test sets (BUCC mining) refuses it in `validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.languages import lookup
from mbert_eval.tasks import build_task


def _configs(family) -> dict[str, dict]:
    """Each task family's data over the synthetic family: tagging, pairs, retrieval and word alignment."""
    parallel = family.root / "parallel" / "qaa-qab"
    return {
        "pos": {key: f"{family.root}/pos/{{lang}}-{key}.conllu" for key in ("train", "dev", "test")},
        "paraphrase": {key: f"{family.root}/pairs/{{lang}}-{key}.tsv" for key in ("train", "dev", "test")},
        "tatoeba": {"test": {"qab": f"{parallel}.qab"}, "pivot": {"qab": f"{parallel}.qaa"}},
        "alignment": {
            "test": {"qab": f"{parallel}.qab"},
            "pivot": {"qab": f"{parallel}.qaa"},
            "gold": {"qab": f"{parallel}.align"},
        },
    }


def _sizes(task, source: str, target: str) -> list[int]:
    train, dev = task.source_examples(lookup(source))
    test = task.target_examples(lookup(target))
    gold = getattr(test, "gold", None)  # word alignment: the gold links of each sentence pair
    return [len(train), len(dev), len(test)] + ([] if gold is None else [len(gold)])


@pytest.mark.parametrize("name", ["pos", "paraphrase", "tatoeba", "alignment"])
def test_every_split_is_cut_to_the_limit(name, small_family):
    data = _configs(small_family)[name]
    whole = _sizes(build_task(name, TaskConfig(**data), Path(".")), "qaa", "qab")
    limited = _sizes(build_task(name, TaskConfig(**data, limit=8), Path(".")), "qaa", "qab")
    assert limited == [min(size, 8) for size in whole]
    assert max(whole) > 8  # the limit cut something (8: the first pairs hold both labels)
