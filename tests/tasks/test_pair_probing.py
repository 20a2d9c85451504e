"""The layer-wise sentence-pair probe (Tenney et al. 2019 over XNLI- or PAWS-X-shaped pairs): rows per layer,
zero-shot, the main metric at the declared or the best dev layer, and a probe that reads what the states hold."""

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import read_sentence_pairs
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from tests.helpers import family_experiment, run_rows, write_config


def probe_config(family, model, **options) -> dict:
    """The family's paraphrase pairs for `pawsx_probe`, source the base, every language a target."""
    codes = [language.code for language in family.languages]
    raw = family_experiment(family, model, targets=codes)
    raw["tasks"] = {"pawsx_probe": {**raw["tasks"]["paraphrase"], **options}}
    return raw


def test_pair_probe_rows_per_layer_and_main_metric_at_the_best_dev_layer(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, probe_config(small_family, tiny_model))
    targets = {row.target for row in rows}
    assert targets == {language.code for language in small_family.languages}
    for target in targets:
        mine = [row for row in rows if row.target == target]
        metrics = {row.metric: row.score for row in mine}
        assert set(metrics) == {"accuracy", "accuracy_layer00", "accuracy_layer01", "accuracy_layer02"}
        extra = next(row.extra for row in mine if row.metric == "accuracy")
        layer = extra["layer"]
        assert extra["layer_chosen_on"] == "source dev accuracy"
        assert extra["dev_accuracy_by_layer"][layer] == max(extra["dev_accuracy_by_layer"])
        assert metrics["accuracy"] == metrics[f"accuracy_layer{layer:02d}"]
        assert all(0 <= score <= 1 for score in metrics.values())
        test = read_sentence_pairs(small_family.root / "pairs" / f"{target}-test.tsv")
        train = read_sentence_pairs(small_family.root / "pairs" / f"{small_family.languages[0].code}-train.tsv")
        labels = [pair.label for pair in train]
        majority = max(set(labels), key=lambda label: (labels.count(label), label))
        assert extra["majority_label"] == majority  # the chance line: always answering it, on this target
        assert extra["chance"] == pytest.approx(sum(pair.label == majority for pair in test) / len(test))
        assert {row.n_examples for row in mine} == {len(test)}


def test_a_declared_layer_gives_the_main_metric(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, probe_config(small_family, tiny_model, layer=0))
    for row in rows:
        assert row.extra["layer"] == 0 and row.extra["layer_chosen_on"] == "the layer option"
    for target in {row.target for row in rows}:
        metrics = {row.metric: row.score for row in rows if row.target == target}
        assert metrics["accuracy"] == metrics["accuracy_layer00"]


def test_the_probe_reads_a_label_the_pooled_states_hold(small_family, tiny_model):
    """A labelling the mean-pooled states hold (whether the pair contains a given word: its embedding is in the
    mean) is learnt far above the majority share on held-out pairs: the probe reads the states, it does not
    guess."""
    from collections import Counter

    import numpy as np

    from mbert_eval.models.encoders import load_model, load_tokenizer
    from mbert_eval.tasks.pair_probing import pooled_states
    from mbert_eval.training.probes import fit_linear_probes

    pairs = read_sentence_pairs(small_family.root / "pairs" / f"{small_family.languages[0].code}-train.tsv")
    words = [set(f"{p.first} {p.second}".split()) for p in pairs]
    counts = Counter(word for found in words for word in found if word.isalpha())
    word = min(counts, key=lambda w: abs(counts[w] - len(pairs) / 2))  # in about half of the pairs
    has = np.array([word in found for found in words], dtype=int)
    tokenizer, encoder = load_tokenizer(str(tiny_model)), load_model(str(tiny_model))
    encoded = tokenizer([p.first for p in pairs], [p.second for p in pairs], truncation=True, max_length=64)
    features = [{"input_ids": ids} for ids in encoded["input_ids"]]
    states = pooled_states(encoder, features, tokenizer.pad_token_id, encoder.device, 16, None)
    assert states.shape == (3, len(pairs), encoder.config.hidden_size)
    half = len(pairs) // 2
    probes = fit_linear_probes(states[:, :half], has[None, :half])
    accuracy = (probes.predict(states[:, half:])[0] == has[half:]).mean(axis=1)
    majority = max(has[half:].mean(), 1 - has[half:].mean())
    assert accuracy[0] > majority + 0.1, (word, accuracy, majority)  # measured: 0.75 against 0.58


def test_the_report_draws_the_pair_probes_curves_without_a_control(tmp_path, small_family, tiny_model):
    from mbert_eval.report import write_report

    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", probe_config(small_family, tiny_model)))
    run_experiment(experiment)
    page = write_report(ResultStore(experiment.store_path), tmp_path / "page.html", "t").read_text(encoding="utf-8")
    assert "PAWS-X probe accuracy by layer (%); best layer per target in the legend" in page
    assert "Best PAWS-X probe layer:" in page and "dashed: the control task" not in page
