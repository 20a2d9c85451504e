"""Every task's per-example outputs give its main score back: `metrics.bootstrap.score` of the statistics
`evaluate` returns equals the stored main metric, on real evaluation output of the tiny model (heads drawn at
random, so that predictions are partly wrong), one example (sentence, pair, question, query) per row; chance is
uniform guessing where the task defines it."""

import random

import pytest
import torch

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import Answer, ParallelPair, QAExample, SentencePair, TaggedSentence, pharaoh, read_conllu
from mbert_eval.data.bucc import tatoeba_mix, write_bucc
from mbert_eval.data.types import AlignmentLinks
from mbert_eval.languages import lookup
from mbert_eval.metrics.bootstrap import AGGREGATES, score
from mbert_eval.metrics.outputs import Scores
from mbert_eval.models.encoders import load_model, load_tokenizer
from mbert_eval.tasks import get_task
from mbert_eval.tasks.alignment import GoldAlignments
from mbert_eval.tasks.base import Prepared
from mbert_eval.tasks.mining import BUCCTask

CPU = torch.device("cpu")


@pytest.fixture
def sentences(small_family) -> list[str]:
    words = small_family.mono(small_family.languages[0].code).read_text().split()
    rng = random.Random(0)
    return [" ".join(rng.sample(words, 6)) for _ in range(24)]


def head_prepared(model, head: str, labels: list[str], seed: int = 0) -> Prepared:
    """The tiny encoder with a head drawn at random from `seed`, as `evaluate` takes it."""
    torch.manual_seed(seed)
    return Prepared(load_model(str(model), head, len(labels)), load_tokenizer(str(model)), labels, {"eval_window": 64})


def blended(sentences: list[str]) -> list[ParallelPair]:
    """Pairs whose second side shares half its words with the first and half with the next sentence: some are
    retrieved, some not."""
    halves = [s.split() for s in sentences]
    return [
        ParallelPair(s, " ".join(halves[i][:3] + halves[(i + 1) % len(halves)][3:])) for i, s in enumerate(sentences)
    ]


def encoder_prepared(model) -> Prepared:
    return Prepared(load_model(str(model)), load_tokenizer(str(model)))


def assert_reproduces(scores: Scores, main: str, examples: int, aggregate: str) -> None:
    """The outputs name the main metric and its aggregate, one row per example, and give its score back."""
    outputs = scores.examples
    assert outputs is not None and (outputs.metric, outputs.aggregate) == (main, aggregate)
    assert next(iter(scores)) == main
    assert len(outputs.stats) == len(outputs.gold) == len(outputs.predictions) == examples
    assert all(len(row) == len(AGGREGATES[aggregate].stats) for row in outputs.stats)
    assert score(outputs.array(), aggregate) == pytest.approx(scores[main], abs=1e-12)
    assert 0 < scores[main] < 1  # partly right, partly wrong: the equality is not that of all ones or all zeros


def test_pos_keeps_correct_and_gold_words_per_sentence(small_family, tiny_model):
    test = read_conllu(small_family.root / "pos" / f"{small_family.languages[1].code}-test.conllu")
    labels = sorted({tag for sentence in test for tag in sentence.tags})
    task = get_task("pos")
    scores = task.evaluate(head_prepared(tiny_model, "token", labels), test, CPU)
    assert_reproduces(scores, "accuracy", len(test), "ratio")
    outputs = scores.examples
    assert [row[1] for row in outputs.stats] == [len(sentence.tokens) for sentence in test]
    assert outputs.gold[0] == list(test[0].tags) and len(outputs.predictions[0]) == len(test[0].tags)
    assert scores.chance == 1 / len(labels)


def test_a_sentence_longer_than_the_window_is_scored_whole(tiny_model):
    """82 tokens in a 64-token window: split into pieces that fit, as XTREME's preprocessing splits it, and every
    word predicted (the sentence's row counts all 80)."""
    sentence = TaggedSentence(tuple(["qa"] * 80), tuple(["NOUN"] * 80))
    task = get_task("pos")
    scores = task.evaluate(head_prepared(tiny_model, "token", ["NOUN"]), [sentence], CPU)
    assert scores.examples.stats == [[80, 80]] and scores["accuracy"] == 1.0
    assert "_" not in scores.examples.predictions[0] and scores.chance == 1.0


def test_ner_keeps_entity_counts_per_sentence(tiny_model):
    sentences = [
        TaggedSentence(("Bob", "lives", "in", "Paris"), ("B-PER", "O", "O", "B-LOC")),
        TaggedSentence(("Ann", "Lee", "sings"), ("B-PER", "I-PER", "O")),
        TaggedSentence(("nothing", "here"), ("O", "O")),
    ] * 8
    labels = ["B-LOC", "B-PER", "I-PER", "O"]
    scores = get_task("ner").evaluate(head_prepared(tiny_model, "token", labels, seed=4), sentences, CPU)
    assert_reproduces(scores, "f1", len(sentences), "f1")
    tp, fp, fn = (sum(column) for column in zip(*scores.examples.stats))
    assert tp + fn == 24  # the gold entities: 2 + 1 + 0 per three sentences
    assert scores["precision"] == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
    assert scores.chance is None


def test_entity_counts_follow_seqeval_by_hand():
    from mbert_eval.metrics.entity_f1 import entity_counts, entity_scores

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"], ["I-PER"]]
    predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG"], ["I-PER"]]
    # PER 0-1 missed and PER 0-0 spurious, LOC hit; ORG 1-1 missed, ORG 0-1 spurious; a lone I- is an entity
    assert entity_counts(gold, predicted) == [(1, 1, 1), (0, 1, 1), (1, 0, 0)]
    assert score([[1, 1, 1], [0, 1, 1], [1, 0, 0]], "f1") == pytest.approx(entity_scores(gold, predicted)["f1"])


def test_pair_classification_keeps_one_hit_per_pair(small_family, tiny_model):
    from mbert_eval.data import read_sentence_pairs

    pairs = read_sentence_pairs(small_family.root / "pairs" / f"{small_family.languages[1].code}-test.tsv")
    task = get_task("paraphrase")
    labels = sorted({pair.label.casefold() for pair in pairs})
    scores = task.evaluate(head_prepared(tiny_model, "sequence", labels), pairs, CPU)
    assert_reproduces(scores, "accuracy", len(pairs), "mean")
    assert {row[0] for row in scores.examples.stats} <= {0.0, 1.0}
    assert set(scores.examples.gold) == set(labels) and set(scores.examples.predictions) <= set(labels)
    assert scores.chance == 1 / 2


def test_xnli_chance_is_a_third():
    pairs = [SentencePair("a", "b", "entailment"), SentencePair("a", "c", "neutral")]
    labels = ["contradiction", "entailment", "neutral"]
    scores = get_task("xnli").score(pairs, [], [1, 0], labels)
    assert scores.examples.stats == [[1.0], [0.0]] and scores.chance == 1 / 3
    assert scores.examples.predictions == ["entailment", "contradiction"]


def test_qa_keeps_each_questions_best_f1(tiny_model, sentences):
    from transformers import BertForQuestionAnswering

    examples = [
        QAExample(f"q{i}", "zi ?", s, (Answer(s.split()[1], len(s.split()[0]) + 1), Answer(s.split()[0], 0)))
        for i, s in enumerate(sentences)
    ]
    torch.manual_seed(0)
    model = BertForQuestionAnswering.from_pretrained(str(tiny_model))
    scores = get_task("xquad").evaluate(Prepared(model, load_tokenizer(str(tiny_model))), examples, CPU)
    assert_reproduces(scores, "f1", len(examples), "mean")
    assert scores.examples.gold[0] == [examples[0].answers[0].text, examples[0].answers[1].text]
    assert all(answer in example.context for answer, example in zip(scores.examples.predictions, examples))
    assert scores.chance is None


def test_question_scores_take_the_best_gold_answer():
    from mbert_eval.metrics.squad import qa_scores, question_scores

    predictions, golds = {"a": "the Paris", "b": "in Berlin city"}, {"a": ["Paris", "Rome"], "b": ["Berlin", "x"]}
    assert question_scores(predictions, golds, "en", "squad") == {"a": (1.0, 1.0), "b": (0.0, 0.5)}
    assert qa_scores(predictions, golds, "en", "squad") == {"exact_match": 0.5, "f1": 0.75}


def test_tatoeba_keeps_both_directions_per_pair(tiny_model, sentences):
    pairs = blended(sentences)
    scores = get_task("tatoeba", layer=1).evaluate(encoder_prepared(tiny_model), pairs, CPU)
    assert_reproduces(scores, "accuracy", len(pairs), "mean")
    assert {row[0] for row in scores.examples.stats} <= {0.0, 0.5, 1.0}
    assert scores.examples.gold == list(range(len(pairs)))
    to_pivot = sum(retrieved[0] == i for i, retrieved in enumerate(scores.examples.predictions)) / len(pairs)
    assert to_pivot == scores["accuracy_to_pivot"]
    assert scores.chance == 1 / len(pairs)


def test_language_identity_keeps_each_held_out_pairs_two_hits(small_family, tiny_model):
    """Pairwise language identity (Libovický et al. 2020): per held-out pair, the mean of its two sentences' hits
    (0, 1/2 or 1), which give the held-out accuracy back; the family's qab is written in its own script, so most
    pairs are told apart on both sides."""
    parallel = small_family.root / "parallel"
    sides = [(parallel / f"qaa-qab.{code}").read_text(encoding="utf-8").splitlines()[:40] for code in ("qab", "qaa")]
    pairs = [ParallelPair(target, source) for target, source in zip(*sides)]
    task = get_task("language_identity", layer=1)
    scores = task.evaluate(task.prepare(str(tiny_model), [], [], None, CPU), pairs, CPU)
    assert_reproduces(scores, "accuracy", len(pairs) // 2, "mean")
    assert {row[0] for row in scores.examples.stats} <= {0.0, 0.5, 1.0}
    assert any(row[0] == 1.0 for row in scores.examples.stats)
    assert scores.tested == len(pairs) // 2 and scores.chance == 0.5


def test_alignment_keeps_link_counts_per_pair(tiny_model, sentences):
    task = get_task("alignment", layer=1)
    prepared = task.prepare(str(tiny_model), [], [], None, CPU)
    rng = random.Random(1)
    pairs = [(s.split(), list(reversed(s.split()))) for s in sentences]
    gold = []
    for source, _ in pairs:
        sure = {(i, len(source) - 1 - i) for i in range(len(source)) if rng.random() < 0.7}
        gold.append(AlignmentLinks(frozenset(sure), frozenset(sure | {(0, 0), (1, 1)})))
    scores = task.evaluate(prepared, GoldAlignments(pairs, gold), CPU)
    assert_reproduces(scores, "aer", len(pairs), "aer")
    assert [row[3] for row in scores.examples.stats] == [len(links.sure) for links in gold]
    assert scores.examples.gold[0] == pharaoh(gold[0]) and scores.chance is None


def test_pharaoh_marks_possible_only_links():
    links = AlignmentLinks(frozenset({(1, 0)}), frozenset({(1, 0), (0, 2)}))
    assert pharaoh(links) == "0p2 1-0"


def test_bucc_keeps_counts_per_target_language_sentence(tmp_path, tiny_model, sentences):
    pairs = blended(sentences)
    for split in ("dev", "test"):
        write_bucc(tmp_path, tatoeba_mix(pairs, [], split=split, kept=8, languages=("de", "en")), ("de", "en"), split)
    task = BUCCTask(TaskConfig(test="{lang}-en.test.{lang}", dev="{lang}-en.dev.{lang}"), tmp_path, layer=1)
    examples = task.target_examples(lookup("de"))
    scores = task.evaluate(encoder_prepared(tiny_model), examples, CPU)
    assert_reproduces(scores, "f1", len(examples.test.source), "f1")
    tp, fp, fn = (sum(column) for column in zip(*scores.examples.stats))
    assert tp + fn == len(examples.test.gold)
    assert scores["precision"] == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
    assert sum(bool(gold) for gold in scores.examples.gold) == len(examples.test.gold)


def test_sentence_counts_attribute_pairs_to_their_source():
    from mbert_eval.metrics.mining import sentence_counts

    # source 0 mined right, 1 mined wrong (its gold missed), 2 not mined with no gold, 3's gold missed
    assert sentence_counts([(0, 0), (1, 2)], {(0, 0), (1, 1), (3, 3)}, 4) == [
        (1, 0, 0),
        (0, 1, 1),
        (0, 0, 0),
        (0, 0, 1),
    ]
