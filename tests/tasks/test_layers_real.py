"""The layer-wise tasks on multilingual-e5-small and the real data (slow): the POS probe from English LinES to PUD,
language identity and CKA on Tatoeba. Each prints its per-layer numbers (`pytest -s`)."""

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from tests.helpers import write_config

PUD_TARGETS = ["en", "de", "zh", "ar"]
TATOEBA = {"de": "deu", "zh": "cmn", "ar": "ara"}  # Tatoeba's codes (Mandarin: cmn)
TATOEBA_TARGETS = list(TATOEBA)


def run_rows(tmp_path, model, task: str, targets: list[str], data: dict) -> list:
    raw = {
        "name": task,
        "models": [str(model)],
        "sources": ["en"],
        "targets": targets,
        "seeds": [1],
        "output": str(tmp_path / "out"),
        "threads": 1,
        "tasks": {task: data},
    }
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    return ResultStore(experiment.store_path).rows()


def curves(rows: list, prefix: str) -> dict[str, list[float]]:
    """Per target, the scores of metrics `{prefix}_layerNN` in layer order."""
    found: dict[str, dict[int, float]] = {}
    for row in rows:
        if row.metric.startswith(f"{prefix}_layer"):
            found.setdefault(row.target, {})[int(row.metric.rsplit("layer", 1)[1])] = row.score
    return {target: [by_layer[i] for i in sorted(by_layer)] for target, by_layer in found.items()}


def show(name: str, by_target: dict[str, list[float]]) -> None:
    for target, scores in sorted(by_target.items()):
        print(f"{name} {target}: " + " ".join(f"{score:.3f}" for score in scores))


def test_pos_probe_on_e5_from_english_to_pud(tmp_path, e5_small, shared_data):
    ud = shared_data / "ud"
    data = {
        "train": f"{ud}/en/en_lines-ud-train.conllu[:400]",
        "dev": f"{ud}/en/en_lines-ud-dev.conllu[:100]",
        "test": f"{ud}/pud/{{lang}}_pud-ud-test.conllu[:150]",
        "unseen_labels": "score",  # LinES has no INTJ, which PUD uses
    }
    rows = run_rows(tmp_path, e5_small, "pos_probe", PUD_TARGETS, data)
    accuracy, control = curves(rows, "accuracy"), curves(rows, "control")
    show("probe accuracy", accuracy)
    show("probe control", control)
    extra = rows[0].extra
    print("dev accuracy by layer:", extra["dev_accuracy_by_layer"], "chosen layer:", extra["layer"])
    assert len(accuracy["en"]) == 13  # the embeddings and 12 layers
    assert max(accuracy["en"]) > 0.85  # English PUD by an English-trained linear probe
    for target in PUD_TARGETS:
        best = max(range(13), key=accuracy[target].__getitem__)
        assert accuracy[target][best] > control[target][best]  # selective where it is best
    # zero-shot: some layer above its embeddings' accuracy in every target (contextual states help)
    assert all(max(accuracy[target][1:]) > accuracy[target][0] for target in PUD_TARGETS)


@pytest.mark.parametrize("task", ["language_identity", "similarity"])
def test_parallel_layer_tasks_on_e5_and_tatoeba(task, tmp_path, e5_small, shared_data):
    tatoeba = shared_data / "tatoeba"
    data = {
        "test": {lang: f"{tatoeba}/tatoeba.{code}-eng.{code}[:300]" for lang, code in TATOEBA.items()},
        "pivot": {lang: f"{tatoeba}/tatoeba.{code}-eng.eng" for lang, code in TATOEBA.items()},
    }
    rows = run_rows(tmp_path, e5_small, task, TATOEBA_TARGETS, data)
    if task == "similarity":
        paired, unpaired = curves(rows, "cka"), curves(rows, "cka_unpaired")
        show("cka", paired)
        show("cka unpaired", unpaired)
        # translations are more alike than unrelated sentences at every layer above the embeddings
        assert all(p > u for target in TATOEBA_TARGETS for p, u in zip(paired[target][1:], unpaired[target][1:]))
    else:
        accuracy = curves(rows, "accuracy")
        show("language identity", accuracy)
        assert all(0 <= score <= 1 for scores in accuracy.values() for score in scores)
        # Chinese and Arabic share no script with English: their embeddings alone tell them apart
        assert accuracy["zh"][0] > 0.95 and accuracy["ar"][0] > 0.95
