"""The layer-wise tasks over parallel sentences: language identity (Libovický et al. 2020) and linear CKA between
languages (Kornblith et al. 2019; Conneau et al. 2020), on the synthetic family and on identical sides."""

import pytest

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.config.loading import load_experiment
from mbert_eval.data import ParallelPair
from mbert_eval.errors import UserError
from mbert_eval.grid.resolve import validate
from mbert_eval.languages import lookup
from mbert_eval.tasks import get_task
from tests.helpers import family_experiment, run_rows, write_config

TASKS = ("language_identity", "similarity")


def parallel_config(family, model, name: str, stop: int = 40, **data) -> dict:
    """The family's parallel text (target side `test`, base side `pivot`) for task `name`, the base the source."""
    base, root = family.languages[0].code, family.root
    raw = family_experiment(family, model)
    raw["tasks"] = {
        name: {
            "test": f"{root}/parallel/{base}-{{lang}}.{{lang}}[0:{stop}]",
            "pivot": f"{root}/parallel/{base}-{{lang}}.{base}",
            **data,
        }
    }
    return raw


def test_similarity_rows_per_layer(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, parallel_config(small_family, tiny_model, "similarity", layer=1))
    targets = {row.target for row in rows}
    assert targets == {language.code for language in small_family.languages[1:]}
    for target in targets:
        metrics = {row.metric: row.score for row in rows if row.target == target}
        assert set(metrics) == {"cka", "cka_unpaired"} | {
            f"cka{kind}_layer{layer:02d}" for kind in ("", "_unpaired") for layer in range(3)
        }
        assert metrics["cka"] == metrics["cka_layer01"] and metrics["cka_unpaired"] == metrics["cka_unpaired_layer01"]
        assert all(0 <= score <= 1 + 1e-9 for score in metrics.values())
        assert all(row.n_examples == 40 and row.extra["layer"] == 1 for row in rows if row.target == target)


def test_language_identity_rows_per_layer(tmp_path, small_family, tiny_model):
    rows = run_rows(tmp_path, parallel_config(small_family, tiny_model, "language_identity", stop=50))
    for target in {row.target for row in rows}:
        metrics = {row.metric: row.score for row in rows if row.target == target}
        assert set(metrics) == {"accuracy"} | {f"accuracy_layer{layer:02d}" for layer in range(3)}
        extra = next(row.extra for row in rows if row.target == target)
        assert extra["layer"] == 1  # two thirds of 2 layers, rounded
        # the family's languages share no word form: 25 training pairs tell them apart well above chance
        assert all(score > 0.7 for score in metrics.values())
        assert {row.n_examples for row in rows if row.target == target} == {25}  # of 50 pairs, the tested half


def write_sides(tmp_path, sentences: list[str]) -> TaskConfig:
    (tmp_path / "de.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return TaskConfig(test=str(tmp_path / "de.txt"), pivot=str(tmp_path / "en.txt"))


@pytest.fixture
def identical(tmp_path, tiny_model):
    """Both tasks prepared on the tiny model, and pairs whose two sides are the same sentence."""
    import torch

    config = write_sides(tmp_path, [f"zi widbehi fowew {'vi ' * i}nunun ." for i in range(16)])
    prepared = {}
    for name in TASKS:
        task = get_task(name, config)
        prepared[name] = (task, task.prepare(str(tiny_model), [], [], None, torch.device("cpu")))
    return prepared, get_task(TASKS[0], config).target_examples(lookup("de"))


def test_identical_sides_are_one_representation(identical):
    """Identical sides: CKA 1 at every layer, and a classifier that can only guess (each test sentence appears
    once with each label, so exactly one of the two is right)."""
    import torch

    prepared, examples = identical
    task, ready = prepared["similarity"]
    scores = task.evaluate(ready, examples, torch.device("cpu"))
    assert list(scores)[:2] == ["cka", "cka_unpaired"]  # the main metric first
    assert scores.examples is None and scores.chance is None  # CKA sums no per-example statistics
    assert all(scores[f"cka_layer{i:02d}"] == pytest.approx(1.0) for i in range(3))
    assert scores["cka_unpaired"] < 1.0
    task, ready = prepared["language_identity"]
    scores = task.evaluate(ready, examples, torch.device("cpu"))
    assert list(scores)[0] == "accuracy" and scores.chance == 0.5
    assert len(scores.examples.stats) == len(examples) - len(examples) // 2  # the test half's pairs
    assert scores.examples.array().mean() == scores["accuracy"]
    assert all(scores[f"accuracy_layer{i:02d}"] == 0.5 for i in range(3))


def test_repeated_pairs_count_once_and_unequal_files_are_refused(tmp_path):
    config = write_sides(tmp_path, ["a b", "c d", "a b", "e f"] + [f"w{i} x" for i in range(9)])
    assert len(get_task("similarity", config).target_examples(lookup("de"))) == 12
    (tmp_path / "en.txt").write_text("a b\nc d\n", encoding="utf-8")
    with pytest.raises(UserError, match="13 sentences, but .*en.txt has 2"):
        get_task("similarity", config).target_examples(lookup("de"))


def test_too_few_pairs_are_refused(tmp_path):
    config = write_sides(tmp_path, ["a b", "c d", "e f"])
    with pytest.raises(UserError, match="3 distinct sentence pairs; task 'language_identity' needs 4"):
        get_task("language_identity", config).target_examples(lookup("de"))
    # linear CKA over 2 pairs is 1.0 whatever the states, paired or not (3 unrelated random ones: 0.99)
    config = write_sides(tmp_path, [f"w{i} x" for i in range(9)])
    with pytest.raises(UserError, match="9 distinct sentence pairs; task 'similarity' needs 10"):
        get_task("similarity", config).target_examples(lookup("de"))


def test_a_side_of_one_sentence_repeated_is_refused_in_one_line():
    """Every target sentence the same ("N/A" ten times): linear CKA of a constant side is undefined, and its
    ValueError ended the run in a traceback; it is a UserError saying why."""
    import torch

    from mbert_eval.tasks.similarity import SimilarityTask

    task = SimilarityTask()
    same, varied = torch.ones(2, 10, 4), torch.randn(2, 10, 4)
    task.layer_states = lambda *args: (same, varied)
    with pytest.raises(UserError, match="linear CKA of a constant representation is undefined .*all one sentence"):
        task.evaluate(None, [ParallelPair(f"t{i}", f"p{i}") for i in range(10)], torch.device("cpu"))


@pytest.mark.parametrize("name", TASKS)
def test_validate_refuses_a_bad_layer_and_a_missing_file(name, tmp_path, small_family, tiny_model):
    raw = parallel_config(small_family, tiny_model, name, layer=7)
    raw["tasks"][name]["pivot"] = str(tmp_path / "missing-{lang}.txt")
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    problems = validate(experiment)
    assert any(p.startswith(f"tasks.{name}.layer:") and "outside 0..2" in p for p in problems), problems
    assert any(p.startswith(f"tasks.{name}.pivot: file not found") for p in problems), problems


def test_pair_files_read_both_sides_of_each_row(tmp_path):
    rows = ["p1\th1\tentailment", "p1\th2\tneutral", "p2\th3\tneutral"]
    (tmp_path / "dev-de.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "dev-en.tsv").write_text("\n".join(r.upper() for r in rows) + "\n", encoding="utf-8")
    config = TaskConfig(test=str(tmp_path / "dev-{lang}.tsv"), pivot=str(tmp_path / "dev-en.tsv"))
    pairs = get_task("language_identity", config).target_examples(lookup("de"))
    assert [(p.source, p.target) for p in pairs] == [
        ("p1", "P1"),
        ("h1", "H1"),
        ("h2", "H2"),
        ("p2", "P2"),
        ("h3", "H3"),
    ]


def test_pairwise_identity_never_tests_a_sentence_it_trained_on(tmp_path, monkeypatch):
    """A source sentence with two translations (PAWS-X's pair files repeat sentences) lands on one side of the
    split, as `all_languages` splits: the first half of the pairs trained on `p0`, the second tested on it."""
    import torch

    from mbert_eval.training import probes

    (tmp_path / "de.txt").write_text("de a\nde b\nde c\nde d\nde e\nde f\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("p0\np1\np2\np0\np3\np4\n", encoding="utf-8")
    task = get_task("language_identity", TaskConfig(test=str(tmp_path / "de.txt"), pivot=str(tmp_path / "en.txt")))
    examples = task.target_examples(lookup("de"))
    ids: dict[str, int] = {}

    def states(prepared, pairs, device, progress):  # a sentence's "state" is its id
        def of(sentences):
            return torch.tensor([[ids.setdefault(s, len(ids))] for s in sentences], dtype=torch.float32)[None]

        return of([pair.source for pair in pairs]), of([pair.target for pair in pairs])

    seen: dict[str, set[str]] = {}
    fit = probes.fit_linear_probes

    def spy(features, labels):
        seen["train"] = {s for s, i in ids.items() if i in features[0, :, 0]}
        fitted = fit(features, labels)
        predict = fitted.predict

        def held_out(tested):
            seen["test"] = {s for s, i in ids.items() if i in tested[0, :, 0]}
            return predict(tested)

        fitted.predict = held_out
        return fitted

    monkeypatch.setattr(task, "layer_states", states)
    monkeypatch.setattr(probes, "fit_linear_probes", spy)
    scores = task.evaluate(None, examples, torch.device("cpu"))
    assert seen["train"] and seen["test"] and not seen["train"] & seen["test"]
    assert "p0" in seen["train"] and {"de a", "de d"} <= seen["train"]  # both of p0's translations train
    assert scores.tested == len(scores.examples.stats) == 3  # the pairs of p2, p3 and p4 (p0 and p1 train)


def test_pawsx_placeholder_pairs_are_left_out(tmp_path):
    """PAWS-X's `NS` (a sentence left untranslated) is no sentence of the language: its pairs are left out, as the
    PAWS-X tasks leave them out, and each row says how many."""
    more = [f"k{i} l" for i in range(8)]
    (tmp_path / "de.txt").write_text("a b\nNS\nc d\ne f\ng h\ni j\n" + "\n".join(more) + "\n", encoding="utf-8")
    upper = "\n".join(line.upper() for line in more)
    (tmp_path / "en.txt").write_text("A B\nX Y\nC D\n NS\nG H\nI J\n" + upper + "\n", encoding="utf-8")
    for name in TASKS:
        task = get_task(name, TaskConfig(test=str(tmp_path / "de.txt"), pivot=str(tmp_path / "en.txt")))
        pairs = task.target_examples(lookup("de"))
        assert [pair.source for pair in pairs] == ["a b", "c d", "g h", "i j", *more], name
        assert task.target_log(None, lookup("de"), pairs) == {"placeholder_pairs_dropped": 2}
