"""Tasks: first-subword labelling, NER end to end, retrieval in both directions and per layer."""
import pytest
from conftest import family_experiment, write_config

from mbert_eval.config import load_experiment
from mbert_eval.data import TaggedSentence
from mbert_eval.encoders import load_tokenizer
from mbert_eval.runner import run_experiment
from mbert_eval.store import ResultStore
from mbert_eval.tasks import TaskData, get_task
from mbert_eval.training import PAD_LABEL


def test_pos_labels_only_first_subwords(tiny_model, small_family):
    tokenizer = load_tokenizer(str(tiny_model))
    task = get_task("pos")
    words = small_family.mono(small_family.languages[0].code).read_text().split()[:200]
    glued = next(a + b for a, b in zip(words, words[1:])
                 if len(tokenizer.tokenize(a + b)) > 1 and "[UNK]" not in tokenizer.tokenize(a + b))
    sentence = TaggedSentence((glued, words[0], "."), ("NOUN", "DET", "PUNCT"))  # the first word splits
    [feature] = task.encode([sentence], tokenizer, {"DET": 0, "NOUN": 1, "PUNCT": 2}, 64)
    pieces = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert len(pieces) > 5  # [CLS] + several pieces for the first word + 2 + [SEP]
    labelled = [i for i, label in enumerate(feature["labels"]) if label != PAD_LABEL]
    assert labelled == feature["word_starts"] and feature["labels"][labelled[0]] == 1
    assert feature["labels"][0] == PAD_LABEL and feature["labels"][-1] == PAD_LABEL
    # a prediction at a later subword of the word is ignored: only the first counts
    predicted = [[0] * len(pieces)]
    predicted[0][labelled[0]] = 1
    assert task.score([sentence], [feature], predicted, ["DET", "NOUN", "PUNCT"])["accuracy"] == pytest.approx(2 / 3)


def test_ner_end_to_end(tmp_path, small_family, tiny_model):
    def write(path, sentences):
        path.write_text("\n\n".join("\n".join(f"en:{w}\t{t}" for w, t in s) for s in sentences) + "\n")

    sentences = [[("Bob", "B-PER"), ("lives", "O"), ("in", "O"), ("Paris", "B-LOC")],
                 [("Ann", "B-PER"), ("Lee", "I-PER"), ("sings", "O")]] * 10
    for split in ("train", "dev", "test"):
        write(tmp_path / f"en-{split}", sentences)
        write(tmp_path / f"de-{split}", sentences)
    raw = family_experiment(small_family, tiny_model, sources=["en"], targets=["de"])
    raw["tasks"] = {"ner": {"train": str(tmp_path / "{lang}-train"), "dev": str(tmp_path / "{lang}-dev"),
                            "test": str(tmp_path / "{lang}-test")}}
    raw["training"]["epochs"] = 2
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    metrics = {r.metric: r.score for r in ResultStore(experiment.store_path).rows()}
    assert set(metrics) == {"f1", "precision", "recall"} and all(0 <= v <= 1 for v in metrics.values())


def test_retrieval_scores_both_directions_and_every_layer(tmp_path, small_family, tiny_model):
    base = small_family.languages[0].code
    root = small_family.root
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"] = {"tatoeba": {"test": f"{root}/parallel/{base}-{{lang}}.{{lang}}[0:30]",
                                "pivot": f"{root}/parallel/{base}-{{lang}}.{base}", "layer": 1}}
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    rows = ResultStore(experiment.store_path).rows()
    for target in experiment.targets:
        metrics = {r.metric: r.score for r in rows if r.target == target}
        assert set(metrics) == {"accuracy", "accuracy_to_pivot", "accuracy_from_pivot",
                                "accuracy_layer00", "accuracy_layer01", "accuracy_layer02"}
        assert metrics["accuracy"] == pytest.approx((metrics["accuracy_to_pivot"] + metrics["accuracy_from_pivot"]) / 2)
        assert metrics["accuracy"] == pytest.approx(metrics["accuracy_layer01"])
        assert all(r.n_examples == 30 for r in rows if r.target == target)


def test_retrieval_finds_identical_sentences(tiny_model, tmp_path):
    """Identical sides must be retrieved perfectly at every layer: a check of pooling and ordering."""
    import torch

    from mbert_eval.data import ParallelPair
    from mbert_eval.encoders import load_model
    from mbert_eval.tasks.base import Prepared

    task = get_task("tatoeba", TaskData())
    sentences = [f"zi widbehi fowew {'vi ' * i}nunun ." for i in range(12)]
    prepared = Prepared(load_model(str(tiny_model)), load_tokenizer(str(tiny_model)))
    scores = task.evaluate(prepared, [ParallelPair(s, s) for s in sentences], torch.device("cpu"))
    assert scores["accuracy"] == 1.0 and scores["accuracy_layer00"] == 1.0
