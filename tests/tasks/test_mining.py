"""BUCC bitext mining: the reader's errors, ratio margin against a hand computation (Artetxe & Schwenk 2019),
the dev threshold, exact neighbours by every method, a planted synthetic set, Tatoeba mixes, the task end to end."""

import math
import random
from pathlib import Path

import pytest
import torch

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data.bucc import (
    bucc_paths,
    read_bucc,
    tatoeba_mix,
    write_bucc,
    write_tatoeba_bucc,
)
from mbert_eval.data.types import MiningCorpus, ParallelPair
from mbert_eval.errors import DataError, UserError
from mbert_eval.languages import lookup
from mbert_eval.metrics import mining
from mbert_eval.metrics.mining import (
    Candidates,
    choose_threshold,
    mine,
    mining_scores,
    nearest_neighbours,
    scores_at,
)
from mbert_eval.tasks.mining import BUCCTask

CORPUS = MiningCorpus(
    {"de-1": "Hallo Welt .", "de-2": "Guten Tag ."},
    {"en-1": "Good day .", "en-2": "Hello world .", "en-3": "Bye ."},
    frozenset({("de-1", "en-2"), ("de-2", "en-1")}),
)


def write_split(folder: Path, source: str, target: str, gold: str) -> Path:
    for end, text in (("de", source), ("en", target), ("gold", gold)):
        (folder / f"de-en.test.{end}").write_text(text, encoding="utf-8")
    return folder / "de-en.test.de"


def test_bucc_files_round_trip(tmp_path):
    path = write_bucc(tmp_path, CORPUS, ("de", "en"), "test")
    assert path == tmp_path / "de-en.test.de"
    assert bucc_paths(tmp_path / "de-en.test.en") == (path, tmp_path / "de-en.test.en", tmp_path / "de-en.test.gold")
    assert read_bucc(path) == read_bucc(tmp_path / "de-en.test.en") == CORPUS


@pytest.mark.parametrize(
    "source, target, gold, message",
    [
        ("1\tHallo\n", "1\tHello\n", "1\t1\t1\n", "de-en.test.gold:1: expected a source id and a target id"),
        ("1\tHallo\n", "1\tHello\n", "1\t1\n\n", "de-en.test.gold:2: expected a source id and a target id"),
        ("1\tHallo\n", "1\tHello\n", "1\t2\n", "de-en.test.gold:1: id '2' is not in"),
        ("1\tHallo\n", "1\tHello\n", "2\t1\n", "de-en.test.gold:1: id '2' is not in"),
        ("1\tHallo\n", "1\tHello\n", "1\t1\n1\t1\n", "de-en.test.gold:2: duplicate pair (first on line 1)"),
        ("1\tHallo\n", "1\tHello\n", "", "de-en.test.gold: no gold pairs"),
        ("1\tHallo\n1\tWelt\n", "1\tHello\n", "1\t1\n", "de-en.test.de:2: duplicate id '1' (first on line 1)"),
        ("1\tHallo\n", "Hello\n", "1\t1\n", "de-en.test.en:1: expected an id and a sentence"),
    ],
)
def test_reader_errors_name_file_and_line(tmp_path, source, target, gold, message):
    with pytest.raises(DataError) as caught:
        read_bucc(write_split(tmp_path, source, target, gold))
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["de-en.test.fr", "de.test.de", "de-en.de", "tatoeba.deu-eng.deu"])
def test_names_that_are_not_bucc_files(name):
    with pytest.raises(DataError, match="not a BUCC file name"):
        bucc_paths(Path(name))


def test_margin_and_max_strategy_by_hand():
    """x1=(1,0), x2=(0,1); y1=(1,0), y2=(.6,.8), y3=(0,1); k=2. Mean cosine of the 2 nearest: x1 .8, x2 .9;
    y1 .5, y2 .7, y3 .5. margin(x1,y1) = 1/((.8+.5)/2), margin(x2,y3) = 1/((.9+.5)/2), margin(x2,y2) = .8/.8;
    backward, y2's best is x2 (1.0 against x1's .6/.75): a conflict with x2→y3, which scores higher."""
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    candidates = mine(source, target, k=2)
    assert candidates.source.tolist() == [0, 1] and candidates.target.tolist() == [0, 2]
    assert candidates.margin.tolist() == pytest.approx([1 / 0.65, 1 / 0.7], rel=1e-6)
    scores = scores_at(candidates, {(0, 0), (1, 1)}, threshold=1.5)  # keeps (0, 0) only
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((1.0, 0.5, 2 / 3))


def test_every_neighbour_method_agrees(monkeypatch):
    generator = torch.Generator().manual_seed(0)
    source, target = torch.randn(53, 16, generator=generator), torch.randn(71, 16, generator=generator)
    dense = nearest_neighbours(source, target, method="dense")
    monkeypatch.setattr(mining, "TILE_ROWS", 7)
    monkeypatch.setattr(mining, "DENSE_ENTRIES", 7 * 20)  # tiles of 7 × 20: 8 × 4, ragged at both edges
    methods = ["tiles", "auto"] + (["faiss"] if mining.load_faiss() is not None else [])
    for method in methods:
        found = nearest_neighbours(source, target, method=method)
        for field in ("forward", "forward_index", "backward", "backward_index"):
            expected, got = getattr(dense, field), getattr(found, field)
            assert torch.allclose(got.float(), expected.float(), atol=1e-5), (method, field)
    with pytest.raises(ValueError, match="unknown method"):
        nearest_neighbours(source, target, method="annoy")


def brute_force_best_f1(candidates: Candidates, gold: set) -> float:
    return max(scores_at(candidates, gold, float(threshold)).f1 for threshold in candidates.margin.unique())


@pytest.mark.parametrize("seed", range(5))
def test_threshold_chosen_on_dev_maximizes_dev_f1(seed):
    rng = random.Random(seed)
    n = 40
    margins = sorted((round(rng.uniform(0.9, 1.3), 2) for _ in range(n)), reverse=True)  # ties included
    candidates = Candidates(torch.arange(n), torch.arange(n), torch.tensor(margins, dtype=torch.float64))
    gold = {(i, i) for i in range(n) if rng.random() < 0.8 - i / n} | {(n + 1, n + 1)}  # one gold pair never mined
    threshold = choose_threshold(candidates, gold)
    assert scores_at(candidates, gold, threshold).f1 == pytest.approx(brute_force_best_f1(candidates, gold))
    assert threshold not in margins or threshold == margins[-1]  # midway between two candidates


def test_without_a_gold_pair_among_the_candidates_the_threshold_mines_them_all():
    """LASER's `bucc_optimize` moves its threshold only for an F1 above 0: with no gold pair among the dev
    candidates it stays at 0, and every candidate is mined (the suite cut between the top two)."""
    candidates = Candidates(torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7]), torch.tensor([1.3, 1.2, 1.1]).double())
    assert choose_threshold(candidates, {(0, 0)}) == 0.0


def planted(seed: int, n_pairs: int = 60, n_source: int = 200, n_target: int = 300, dim: int = 64):
    """Random unit vectors; the first `n_pairs` sources have a slightly perturbed copy among the targets."""
    generator = torch.Generator().manual_seed(seed)
    source = torch.randn(n_source, dim, generator=generator)
    target = torch.randn(n_target, dim, generator=generator)
    rows = torch.randperm(n_target, generator=generator)[:n_pairs]
    target[rows] = source[:n_pairs] + 0.3 * torch.randn(n_pairs, dim, generator=generator)
    return source, target, {(i, int(row)) for i, row in enumerate(rows)}


def test_planted_pairs_are_mined_perfectly():
    scores = mining_scores(*planted(1), *planted(2))
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)
    assert math.isfinite(scores.threshold) and scores.threshold > 1


def toy_pairs(n: int) -> list[ParallelPair]:
    return [ParallelPair(f"satz {i} .", f"sentence {i} .") for i in range(n)] + [ParallelPair("satz 0 .", "again")]


def test_tatoeba_mix_hides_kept_pairs_and_splits_disjointly():
    pairs = toy_pairs(100)
    distractors = [f"other {i} ." for i in range(80)] + ["Sentence 5!", "sentence 99 ."]  # two are translations
    splits = {
        split: tatoeba_mix(pairs, distractors, split=split, kept=10, languages=("de", "en"), seed=3)
        for split in ("dev", "test")
    }
    assert splits["dev"] == tatoeba_mix(pairs, distractors, split="dev", kept=10, languages=("de", "en"), seed=3)
    for corpus in splits.values():
        assert len(corpus.source) == 50 and len(corpus.target) == 10 + 40 and len(corpus.gold) == 10
        for source_id, target_id in corpus.gold:
            assert corpus.source[source_id].replace("satz", "sentence") == corpus.target[target_id]
        assert all(
            not text.startswith("sentence") for i, text in corpus.target.items() if i not in {t for _, t in corpus.gold}
        )  # no translation of any pair among the distractors
        assert all(i.startswith("de-") for i in corpus.source) and all(i.startswith("en-") for i in corpus.target)
    for side in ("source", "target"):
        assert not set(getattr(splits["dev"], side).values()) & set(getattr(splits["test"], side).values())
    with pytest.raises(ValueError, match="kept must be in 1..50"):
        tatoeba_mix(pairs, distractors, split="test", kept=51)


def tiny_prepared(model: Path):
    """The tiny model (128 positions) as the task gets it: Tatoeba sentences longer than its window under its
    synthetic vocabulary are cut at the window (`window_length`), not at 512."""
    from mbert_eval.models.encoders import load_model, load_tokenizer
    from mbert_eval.tasks.base import Prepared

    torch.manual_seed(0)
    return Prepared(load_model(str(model)), load_tokenizer(str(model)))


def test_task_on_identical_sides_finds_every_pair(tmp_path, tiny_model, small_family):
    """Identical sentences on both sides, every one paired, dev the test split itself: each pair is mined, at a
    threshold that keeps them all, at every layer: a check of pooling and of ids against rows."""
    words = small_family.mono(small_family.languages[0].code).read_text().split()
    rng = random.Random(0)
    pairs = [ParallelPair(text, text) for text in (" ".join(rng.sample(words, 6)) for _ in range(30))]
    write_bucc(tmp_path, tatoeba_mix(pairs, [], split="test", kept=15, languages=("de", "en")), ("de", "en"), "test")
    task = BUCCTask(TaskConfig(test="{lang}-en.test.{lang}", dev="{lang}-en.test.en"), tmp_path, layer=1)
    german = lookup("de")
    assert [Path(s.location).name for s in task.data_specs(german, german)] == [
        f"de-en.test.{end}" for _ in ("dev", "test") for end in ("de", "en", "gold")
    ]
    assert task.data_specs(german) == []
    examples = task.target_examples(german)
    assert len(examples) == 15
    scores = task.evaluate(tiny_prepared(tiny_model), examples, torch.device("cpu"))
    assert scores["f1"] == scores["f1_layer00"] == scores["f1_layer02"] == 1.0
    assert list(scores)[:4] == ["f1", "precision", "recall", "threshold"] and scores["f1"] == scores["f1_layer01"]


def test_task_refuses_slices(tmp_path):
    task = BUCCTask(TaskConfig(test="{lang}-en.test.{lang}[0:10]", dev="{lang}-en.dev.{lang}"), tmp_path)
    with pytest.raises(UserError, match="mines whole splits"):
        task.target_examples(lookup("de"))


def test_task_end_to_end_on_a_tatoeba_mix(tmp_path, shared_data, tiny_model):
    paths = write_tatoeba_bucc(shared_data / "tatoeba", "deu", "de", tmp_path, kept=100, seed=1)
    assert paths == {split: tmp_path / f"de-en.{split}.de" for split in ("dev", "test")}
    task = BUCCTask(
        TaskConfig(test=f"{tmp_path}/{{lang}}-en.test.{{lang}}", dev=f"{tmp_path}/{{lang}}-en.dev.{{lang}}")
    )
    examples = task.target_examples(lookup("de"))
    assert len(examples.test.gold) == 100 and len(examples.test.target) > 2000  # the English of 6 other files
    scores = task.evaluate(tiny_prepared(tiny_model), examples, torch.device("cpu"))
    assert {"f1", "precision", "recall", "threshold", "f1_layer00", "f1_layer01", "f1_layer02"} == set(scores)
    assert all(0 <= scores[m] <= 1 for m in ("f1", "precision", "recall")) and math.isfinite(scores["threshold"])
    assert scores["f1"] == scores["f1_layer01"]  # 2 layers: two thirds of the depth rounds to 1
