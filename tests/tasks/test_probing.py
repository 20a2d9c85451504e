"""The layer-wise POS probe (Tenney et al. 2019) with its control task (Hewitt & Liang 2019): rows per layer,
zero-shot, the main metric at the declared or the best dev layer."""

from collections import Counter

import pytest

from mbert_eval.analysis.overlap import model_tokenizer, subword_counts, subword_overlap
from mbert_eval.config.loading import load_experiment
from mbert_eval.data import TaggedSentence, read_conllu
from mbert_eval.grid.resolve import validate
from mbert_eval.tasks.probing import ControlTask
from tests.helpers import family_experiment, run_rows, write_config


def probe_config(tmp_path, family, model, **options) -> dict:
    """The family's POS data for `pos_probe` (training cut short), source the base, every language a target."""
    codes = [language.code for language in family.languages]
    raw = family_experiment(family, model, targets=codes)
    pos = raw["tasks"]["pos"]
    raw["tasks"] = {"pos_probe": {**pos, "train": pos["train"] + "[:80]", **options}}
    return raw


def test_probe_rows_per_layer_and_main_metric_at_the_best_dev_layer(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, probe_config(tmp_path, small_family, tiny_model))
    layers = range(3)  # the embeddings and the tiny model's 2 layers
    for target in {row.target for row in rows}:
        metrics = {row.metric: row.score for row in rows if row.target == target}
        assert set(metrics) == {"accuracy", "selectivity"} | {
            f"{kind}_layer{layer:02d}" for kind in ("accuracy", "control", "selectivity") for layer in layers
        }
        extra = next(row.extra for row in rows if row.target == target)
        layer = extra["layer"]
        assert extra["layer_chosen_on"] == "source dev accuracy"
        assert extra["dev_accuracy_by_layer"][layer] == max(extra["dev_accuracy_by_layer"])
        assert metrics["accuracy"] == metrics[f"accuracy_layer{layer:02d}"]
        for index in layers:
            assert metrics[f"selectivity_layer{index:02d}"] == pytest.approx(
                metrics[f"accuracy_layer{index:02d}"] - metrics[f"control_layer{index:02d}"]
            )
            assert 0 <= metrics[f"accuracy_layer{index:02d}"] <= 1 and 0 <= metrics[f"control_layer{index:02d}"] <= 1
    source = small_family.languages[0].code
    own = {row.metric: row.score for row in rows if row.target == source}
    # the source's test words share the training words' types: the probe beats the majority tag there
    tags = Counter(tag for s in read_conllu(small_family.pos(source, "train")) for tag in s.tags)
    assert own["accuracy"] > max(tags.values()) / sum(tags.values())


def test_a_declared_layer_gives_the_main_metric(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, probe_config(tmp_path, small_family, tiny_model, layer=0))
    for row in rows:
        assert row.extra["layer"] == 0 and row.extra["layer_chosen_on"] == "the layer option"
    metrics = {row.metric: row.score for row in rows if row.target == rows[0].target}
    assert metrics["accuracy"] == metrics["accuracy_layer00"]


def test_a_layer_beyond_the_model_is_refused_by_validate(tmp_path, small_family, tiny_model):
    raw = probe_config(tmp_path, small_family, tiny_model, layer=5)
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert any("tasks.pos_probe.layer" in problem and "outside 0..2" in problem for problem in validate(experiment))


def test_control_labels_follow_the_training_tag_distribution_per_word_type():
    sentences = [
        TaggedSentence(tuple(f"w{i}-{j}" for j in range(10)), ("NOUN",) * 7 + ("VERB",) * 3) for i in range(300)
    ]
    control = ControlTask.of(sentences, seed=1)
    words = [word for sentence in sentences for word in sentence.tokens]
    drawn = Counter(control.label(word) for word in words)
    assert drawn["NOUN"] / len(words) == pytest.approx(0.7, abs=0.03)  # the tags' distribution, over types
    assert {control.label("w0-0") for _ in range(3)} == {ControlTask.of(sentences, seed=1).label("w0-0")}
    assert control.label("unseen") in {"NOUN", "VERB"}
    other = ControlTask.of(sentences, seed=2)
    assert sum(control.label(w) != other.label(w) for w in words) > len(words) / 5  # the seed draws them


def test_per_sentence_outputs_sum_to_the_main_accuracy(small_family, tiny_model):
    """The chosen layer's correct words and words per sentence (what a bootstrap resamples) give the main score."""
    import torch

    from mbert_eval.tasks import get_task
    from mbert_eval.training.fine_tuning import FineTuning

    base, target = (language.code for language in small_family.languages[:2])
    task = get_task("pos_probe")
    train, dev = read_conllu(small_family.pos(base, "train"))[:60], read_conllu(small_family.pos(base, "dev"))
    prepared = task.prepare(str(tiny_model), train, dev, FineTuning(), torch.device("cpu"))
    test = read_conllu(small_family.pos(target, "test"))
    scores = task.evaluate(prepared, test, torch.device("cpu"))
    stats = scores.examples.array()
    assert len(stats) == len(test) and stats[:, 1].sum() == sum(len(s.tokens) for s in test)
    assert stats[:, 0].sum() / stats[:, 1].sum() == pytest.approx(scores["accuracy"])
    assert scores.chance == 1 / len(prepared.labels)
    assert all(len(p) == len(s.tokens) for p, s in zip(scores.examples.predictions, test))


def test_each_targets_rows_hold_its_subword_overlap_with_the_source_training_text(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, probe_config(tmp_path, small_family, tiny_model, layer=0))
    tokenize, ignore = model_tokenizer(tiny_model)
    source = small_family.languages[0].code
    train = subword_counts([s.tokens for s in read_conllu(small_family.pos(source, "train"))[:80]], tokenize, ignore)
    for language in small_family.languages:
        test = subword_counts(
            [s.tokens for s in read_conllu(small_family.pos(language.code, "test"))], tokenize, ignore
        )
        expected = subword_overlap(train, test)
        stored = [row.extra["subword_overlap"] for row in rows if row.target == language.code]
        assert stored and all(found == pytest.approx(vars(expected)) for found in stored), language.code
    coverage = {row.target: row.extra["subword_overlap"]["token_coverage"] for row in rows}
    assert coverage[source] == max(coverage.values())  # the source's own test text shares the most


def test_words_of_sentences_split_at_the_window_keep_their_places(small_family, tiny_model):
    """Sentences longer than the window are split into pieces, as `pos` splits them: every word keeps its own
    (sentence, word) place (before, a piece's words were placed as if it were the next sentence: wrong words,
    then an IndexError past the last sentence)."""
    import torch

    from mbert_eval.models.encoders import load_model, load_tokenizer
    from mbert_eval.tasks import get_task

    sentences = read_conllu(small_family.root / "pos" / f"{small_family.languages[0].code}-test.conllu")[:6]
    task, tokenizer = get_task("pos_probe"), load_tokenizer(str(tiny_model))
    window = 8  # [CLS], six subwords, [SEP]: every sentence of the family is split
    assert len(task.encode(sentences, tokenizer, {}, window)) > len(sentences)
    states, places = task.word_states(
        load_model(str(tiny_model)), tokenizer, window, sentences, torch.device("cpu"), None
    )
    assert places == [
        (number, word) for number, sentence in enumerate(sentences) for word in range(len(sentence.tokens))
    ]
    assert states.shape[1] == len(places)
