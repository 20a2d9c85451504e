"""Tasks: first-subword labelling, NER end to end, retrieval in both directions and per layer."""

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import TaggedSentence
from mbert_eval.grid.run import run_experiment
from mbert_eval.models.encoders import load_tokenizer
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks import get_task
from mbert_eval.training.batches import PAD_LABEL
from tests.helpers import family_experiment, write_config


def test_pos_labels_only_first_subwords(tiny_model, small_family):
    tokenizer = load_tokenizer(str(tiny_model))
    task = get_task("pos")
    words = small_family.mono(small_family.languages[0].code).read_text().split()[:200]
    glued = next(
        a + b
        for a, b in zip(words, words[1:])
        if len(tokenizer.tokenize(a + b)) > 1 and "[UNK]" not in tokenizer.tokenize(a + b)
    )
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

    sentences = [
        [("Bob", "B-PER"), ("lives", "O"), ("in", "O"), ("Paris", "B-LOC")],
        [("Ann", "B-PER"), ("Lee", "I-PER"), ("sings", "O")],
    ] * 10
    for split in ("train", "dev", "test"):
        write(tmp_path / f"en-{split}", sentences)
        write(tmp_path / f"de-{split}", sentences)
    raw = family_experiment(small_family, tiny_model, sources=["en"], targets=["de"])
    raw["tasks"] = {
        "ner": {
            "train": str(tmp_path / "{lang}-train"),
            "dev": str(tmp_path / "{lang}-dev"),
            "test": str(tmp_path / "{lang}-test"),
            "allow_overlap": True,  # three files of the same sentences: the same rows, as their bytes say
        }
    }
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
    raw["tasks"] = {
        "tatoeba": {
            "test": f"{root}/parallel/{base}-{{lang}}.{{lang}}[0:30]",
            "pivot": f"{root}/parallel/{base}-{{lang}}.{base}",
            "layer": 1,
        }
    }
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    rows = ResultStore(experiment.store_path).rows()
    for target in experiment.targets:
        metrics = {r.metric: r.score for r in rows if r.target == target}
        assert set(metrics) == {
            "accuracy",
            "accuracy_to_pivot",
            "accuracy_from_pivot",
            "accuracy_layer00",
            "accuracy_layer01",
            "accuracy_layer02",
        }
        assert metrics["accuracy"] == pytest.approx((metrics["accuracy_to_pivot"] + metrics["accuracy_from_pivot"]) / 2)
        assert metrics["accuracy"] == pytest.approx(metrics["accuracy_layer01"])
        assert all(r.n_examples == 30 for r in rows if r.target == target)


def test_retrieval_finds_identical_sentences(tiny_model, tmp_path):
    """Identical sides must be retrieved perfectly at every layer: a check of pooling and ordering."""
    import torch

    from mbert_eval.data import ParallelPair
    from mbert_eval.models.encoders import load_model
    from mbert_eval.tasks.base import Prepared

    task = get_task("tatoeba")
    sentences = [f"zi widbehi fowew {'vi ' * i}nunun ." for i in range(12)]
    prepared = Prepared(load_model(str(tiny_model)), load_tokenizer(str(tiny_model)))
    scores = task.evaluate(prepared, [ParallelPair(s, s) for s in sentences], torch.device("cpu"))
    assert scores["accuracy"] == 1.0 and scores["accuracy_layer00"] == 1.0


def test_labelling_skips_bare_metaspace_pieces_with_sentencepiece_vocabularies(e5_small, tiny_model):
    """A CJK sentence under XLM-R's vocabulary: most words start with a bare `▁`; `first_content` labels them at
    their first content piece, XTREME's `first` at the `▁`. WordPiece has no such piece: both rules agree."""
    tokenizer = load_tokenizer(str(e5_small))
    words = ("我们", "在", "北京", "见面", "。")  # 'we', 'in', 'Beijing', 'meet', '.'
    sentence = TaggedSentence(words, ("PRON", "ADP", "PROPN", "VERB", "PUNCT"))
    labels = {tag: i for i, tag in enumerate(sorted(set(sentence.tags)))}
    bare = tokenizer.convert_tokens_to_ids("▁")
    features = {
        rule: get_task("pos", label_subword=rule).encode([sentence], tokenizer, labels, 64)[0]
        for rule in ("first_content", "first")
    }
    ids = features["first"]["input_ids"]
    assert ids == features["first_content"]["input_ids"]
    bare_first = [w for w, start in enumerate(features["first"]["word_starts"]) if ids[start] == bare]
    assert len(bare_first) >= 3, tokenizer.convert_ids_to_tokens(ids)  # the trap is real for this sentence
    content_starts = features["first_content"]["word_starts"]
    assert all(ids[start] != bare for start in content_starts)
    for word in bare_first:  # the next piece of the same word: its first content
        assert content_starts[word] == features["first"]["word_starts"][word] + 1
    for rule, feature in features.items():
        labelled = [i for i, label in enumerate(feature["labels"]) if label != PAD_LABEL]
        assert labelled == feature["word_starts"], rule
    # predictions are read where the labels were put: a model right at content pieces only scores under its rule
    predicted = [0] * len(ids)
    for word, start in enumerate(content_starts):
        predicted[start] = labels[sentence.tags[word]]
    scores = {
        rule: get_task("pos", label_subword=rule).score([sentence], [features[rule]], [predicted], sorted(labels))
        for rule in features
    }
    assert scores["first_content"]["accuracy"] == 1.0 and scores["first"]["accuracy"] < 1.0

    wordpiece = load_tokenizer(str(tiny_model))
    plain = TaggedSentence(("qa", "qab", "."), ("NOUN", "DET", "PUNCT"))
    pos_ids = {"DET": 0, "NOUN": 1, "PUNCT": 2}
    assert get_task("pos", label_subword="first").encode([plain], wordpiece, pos_ids, 64) == get_task("pos").encode(
        [plain], wordpiece, pos_ids, 64
    )


def test_pos_stores_xtremes_seqeval_f1_beside_accuracy():
    """XTREME's run_tag.py scores UD-POS with seqeval: runs of one tag are one chunk, so a shifted boundary
    costs both chunks (F1 0) where word accuracy still counts 2 of 3 words."""
    task = get_task("pos")
    sentence = TaggedSentence(("a", "b", "c"), ("NOUN", "NOUN", "VERB"))
    labels = ["NOUN", "VERB"]
    feature = {"input_ids": [0, 5, 6, 7, 2], "word_starts": [1, 2, 3], "sentence": 0}
    shifted = task.score([sentence], [feature], [[0, 0, 1, 1, 0]], labels)
    assert shifted["accuracy"] == pytest.approx(2 / 3) and shifted["xtreme_f1"] == 0.0
    exact = task.score([sentence], [feature], [[0, 0, 0, 1, 0]], labels)
    assert exact == {"accuracy": 1.0, "xtreme_f1": 1.0}


def test_task_options_are_checked(tmp_path, small_family, tiny_model):
    from mbert_eval.grid.resolve import validate

    raw = family_experiment(small_family, tiny_model)
    raw["tasks"]["pos"]["label_subword"] = "last"
    raw["tasks"]["paraphrase"]["label_subword"] = "first"
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    found = validate(experiment, problems)
    assert any(p.startswith("tasks.pos:") and "unknown rule 'last'" in p for p in found), found
    assert any(p.startswith("tasks.paraphrase:") and "has no option 'label_subword'" in p for p in found), found
