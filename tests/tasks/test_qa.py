"""Extractive QA (xquad, mlqa, tydiqa): windows over long contexts, training labels, span decoding back to exact
context substrings, a tiny model fine-tuned end to end, and the tasks' metadata."""

import random

import pytest
import torch

from mbert_eval.config.experiment import MethodConfig, TaskConfig
from mbert_eval.config.loading import load_experiment
from mbert_eval.data import Answer, QAExample, write_squad
from mbert_eval.errors import UserError
from mbert_eval.grid.run import run_experiment
from mbert_eval.languages import lookup
from mbert_eval.metrics.squad import qa_scores
from mbert_eval.models.encoders import load_tokenizer
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks import get_task
from mbert_eval.tasks.qa import QAExamples
from mbert_eval.tasks.qa_windows import (
    Windowing,
    answer_texts,
    best_spans,
    encode_windows,
    predict_spans,
)
from mbert_eval.training.batches import collate
from mbert_eval.training.scalar_mix import SpanMix
from tests.helpers import family_experiment, fine_tuning, random_spans, write_config

SMALL = Windowing(max_length=40, doc_stride=10, max_query_length=8)
MARKER = "suwu"  # the word right before every answer in the templated set
VALUES = 8  # the templated set's answers: this many of the known words


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_tokenizer(str(tiny_model))


@pytest.fixture(scope="module")
def words(small_family, tokenizer):
    """Words of the family's text that the tiny tokenizer knows (no [UNK]), the marker left out; those of fewest
    pieces first."""
    text = small_family.mono(small_family.languages[0].code).read_text(encoding="utf-8").split()
    known = {w for w in text if w.isalpha() and w != MARKER and "[UNK]" not in tokenizer.tokenize(w)}
    assert len(known) > 40
    return sorted(known, key=lambda w: (len(tokenizer.tokenize(w)), w))


def example(context: str, answer: str, question: str = "zi ?", number: int = 0) -> QAExample:
    return QAExample(f"q{number}", question, context, (Answer(answer, context.index(answer)),))


def templated(words: list[str], n: int, seed: int) -> list[QAExample]:
    """`filler… NAME suwu VALUE . filler…` asked `NAME ?`, VALUE one of a few words that are never filler: the
    answer is the word after the marker, anywhere in the context."""
    rng = random.Random(seed)
    values, others = words[:VALUES], words[VALUES:]
    examples = []
    for number in range(n):
        value = rng.choice(values)
        name, *filler = rng.sample(others, 11)
        cut = rng.randrange(len(filler) + 1)
        before, after = " ".join(filler[:cut]), " ".join(filler[cut:])
        context = f"{before} {name} {MARKER} {value} . {after}".strip()
        start = len(context) - len(f"{value} . {after}".strip())
        examples.append(QAExample(f"q{seed}-{number}", f"{name} ?", context, (Answer(value, start),)))
    return examples


def long_example(words: list[str]) -> QAExample:
    context = " ".join(words[i % len(words)] for i in range(120)) + f" {MARKER} {words[0]} ."
    return QAExample("long", "zi ?", context, (Answer(words[0], len(context) - len(words[0]) - 2),))


def test_a_long_context_yields_windows_that_overlap_by_the_stride(tokenizer, words):
    short, long = example("zi su bidbe .", "bidbe"), long_example(words)
    features = encode_windows([short, long], tokenizer, SMALL, labelled=False)
    assert [f["example"] for f in features][:2] == [0, 1] and len(features) > 4  # one window, then several
    assert all(len(f["input_ids"]) <= SMALL.max_length for f in features)
    windows = [f for f in features if f["example"] == 1]
    for left, right in zip(windows, windows[1:]):
        left_spans = left["offsets"][left["context"][0] : left["context"][1] + 1]
        right_spans = right["offsets"][right["context"][0] : right["context"][1] + 1]
        assert left_spans[-SMALL.doc_stride :] == right_spans[: SMALL.doc_stride]  # the stride's tokens shared
    covered = {span for f in windows for span in f["offsets"][f["context"][0] : f["context"][1] + 1]}
    assert max(end for _, end in covered) == len(long.context)  # every window together covers the context


def test_training_labels_point_at_the_answer_or_at_cls(tokenizer, words):
    long = long_example(words)
    features = encode_windows([long], tokenizer, SMALL, labelled=True)
    plain = encode_windows([long], tokenizer, SMALL, labelled=False)
    labelled = [i for i, f in enumerate(features) if f["start_positions"] > 0]
    assert 0 < labelled[0] and labelled == list(range(labelled[0], len(features)))  # the windows at the end
    for i in labelled:
        offsets = plain[i]["offsets"]
        begin, end = offsets[features[i]["start_positions"]][0], offsets[features[i]["end_positions"]][1]
        assert long.context[begin:end] == long.answers[0].text
    assert all((f["start_positions"], f["end_positions"]) == (0, 0) for f in features[: labelled[0]])
    batch = collate(features, tokenizer.pad_token_id, torch.device("cpu"))
    assert batch["start_positions"].tolist() == [f["start_positions"] for f in features]
    assert batch["end_positions"].dtype == torch.long


def one_hot_spans(features: list[dict], labels: list[dict]) -> torch.Tensor:
    """`best_spans` of logits that peak exactly at each window's labelled start and end."""
    width = max(len(f["input_ids"]) for f in features)
    start, end = torch.zeros(len(features), width), torch.zeros(len(features), width)
    for row, label in enumerate(labels):
        start[row, label["start_positions"]] = end[row, label["end_positions"]] = 10.0
    return best_spans(start, end, torch.tensor([f["context"] for f in features]))


def test_decoding_gives_exact_context_substrings_with_multibyte_and_cjk_text(tokenizer):
    examples = [
        example("我住在東京。 天氣很好", "東京"),
        example("Herr Müller wohnt in Köln 😀 heute", "Köln 😀"),
        example("la ñandú corre . zi", "ñandú corre"),
        example("  spaces  at  both  ends  ", "at  both"),
    ]
    features = encode_windows(examples, tokenizer, Windowing(), labelled=False)
    labels = encode_windows(examples, tokenizer, Windowing(), labelled=True)
    texts = answer_texts(examples, features, one_hot_spans(features, labels).numpy())
    assert texts == ["東京", "Köln 😀", "ñandú corre", "at  both"]
    assert all(text in e.context for text, e in zip(texts, examples))


def nfkc_tokenizer():
    """A SentencePiece-style tokenizer (unigram pieces, `▁` before each word) over a few words that normalizes its
    text to NFKC, as XLM-R's and multilingual-e5's do; `▁` and `六` are pieces, `▁六` is not."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = ["<unk>", "[CLS]", "[SEP]", "[PAD]", "▁", "六", "?", "▁quoi", "▁nous", "▁bu", "▁un", "▁café", "▁au"]
    pieces += ["▁lait", "▁est", "▁il"]
    model = Tokenizer(models.Unigram([(piece, -1.0) for piece in pieces], unk_id=0))
    model.normalizer = normalizers.NFKC()
    model.pre_tokenizer = pre_tokenizers.Metaspace()
    model.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=model, unk_token="<unk>", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]"
    )


def test_an_answer_in_decomposed_text_keeps_its_final_combining_mark():
    """NFD text: `e` + U+0301 is one character to an NFKC tokenizer, whose offsets leave the mark out; the label
    and the decoded answer still end after it."""
    import unicodedata

    context, answer = (unicodedata.normalize("NFD", text) for text in ("nous bu un café au lait", "café"))
    examples = [QAExample("q0", "quoi ?", context, (Answer(answer, context.index(answer)),))]
    tokenizer = nfkc_tokenizer()
    features = encode_windows(examples, tokenizer, Windowing(), labelled=False)
    labels = encode_windows(examples, tokenizer, Windowing(), labelled=True)
    tokens = tokenizer.convert_ids_to_tokens(features[0]["input_ids"].tolist())
    assert labels[0]["start_positions"] == labels[0]["end_positions"] == tokens.index("▁café")
    [text] = answer_texts(examples, features, one_hot_spans(features, labels).numpy())
    assert text.strip() == answer and qa_scores({"q0": text}, {"q0": [answer]}, "fr", "squad")["exact_match"] == 1


def test_a_one_character_answer_after_a_lone_word_start_ends_where_it_starts():
    """XLM-R-style pieces: `▁` alone before `六` shares its offsets; the label spans 六, never ending before it
    starts (XQuAD zh has two such questions under multilingual-e5's tokenizer)."""
    examples = [example("六 est il", "六", question="quoi ?")]
    tokenizer = nfkc_tokenizer()
    labels = encode_windows(examples, tokenizer, Windowing(), labelled=True)
    tokens = tokenizer.convert_ids_to_tokens(labels[0]["input_ids"].tolist())
    assert labels[0]["start_positions"] == labels[0]["end_positions"] == tokens.index("六")


def test_decoding_respects_the_maximum_answer_length_order_and_context():
    start, end = torch.zeros(1, 60), torch.zeros(1, 60)
    start[0, 5], end[0, 50] = 9.0, 9.0  # the best pair is 46 tokens long: too long
    end[0, 12] = 4.0  # the best pair of at most 30 tokens
    start[0, 0] = end[0, 0] = 20.0  # the CLS token: outside the context
    end[0, 3] = 8.0  # before the start
    score, first, last = best_spans(start, end, torch.tensor([[2, 58]]))[0].tolist()
    assert (first, last, score) == (5, 12, 13.0)
    start[0, 30] = 9.5  # a later start makes the long end reachable within 30 tokens
    assert best_spans(start, end, torch.tensor([[2, 58]]))[0, 1:].tolist() == [30.0, 50.0]
    score, first, last = best_spans(start, end, torch.tensor([[2, 58]]), max_answer_length=5)[0].tolist()
    assert first == 30 and 30 <= last < 35 and score == 9.5  # no end logit within 5 tokens of a start: a 0
    assert best_spans(start, end, torch.tensor([[1, 0]]))[0, 0] == -torch.inf  # no context: no span


def test_the_best_window_of_an_example_answers_it(tokenizer, words):
    long = long_example(words)
    features = encode_windows([long], tokenizer, SMALL, labelled=False)
    spans = torch.tensor([[1.0, f["context"][0], f["context"][0]] for f in features])
    spans[2] = torch.tensor([5.0, features[2]["context"][0] + 1, features[2]["context"][0] + 2])
    offsets = features[2]["offsets"]
    first = features[2]["context"][0]
    expected = long.context[offsets[first + 1][0] : offsets[first + 2][1]]
    assert answer_texts([long], features, spans.numpy()) == [expected]


@pytest.mark.slow
def test_a_tiny_model_fine_tuned_on_templated_questions_beats_random_spans(tiny_model, words):
    task = get_task("xquad")
    train, dev, test = templated(words, 400, 0), QAExamples(templated(words, 40, 1), "en"), templated(words, 60, 2)
    settings = fine_tuning(learning_rate=3e-3, batch_size=16, epochs=8, seed=1, warmup_ratio=0.1)
    prepared = task.prepare(str(tiny_model), train, dev, settings, torch.device("cpu"))
    assert len(prepared.log["dev_scores"]) == 8 and prepared.log["best_epoch"] is None  # the last kept, as XTREME
    scores = task.evaluate(prepared, QAExamples(test, "de"), torch.device("cpu"))
    assert list(scores) == ["f1", "exact_match", "em_f1", "mlqa_f1", "mlqa_exact_match"]
    assert set(scores) <= set(task.metadata.metric_descriptions)
    assert scores["em_f1"] == pytest.approx((scores["f1"] + scores["exact_match"]) / 2)
    golds = {e.id: [a.text for a in e.answers] for e in test}
    baseline = qa_scores(dict(zip(golds, random_spans(test, 0))), golds, "en", "squad")["f1"]
    assert baseline < 0.2 and scores["f1"] > baseline + 0.6, (scores, baseline)  # 0.92 against 0.11 here
    answers = task.answers(prepared, test, torch.device("cpu"))
    assert all(answer in e.context for answer, e in zip(answers, test))


@pytest.mark.parametrize("mix", [False, True], ids=["cached-frozen-layer", "layer-mix"])
def test_the_freezing_methods_train_a_span_head(tiny_model, words, mix):
    task = get_task("tydiqa")
    method = MethodConfig(freeze=1, cache_frozen=not mix, layer_mix=mix)
    settings = fine_tuning(method=method, learning_rate=1e-3, batch_size=16, epochs=1)
    prepared = task.prepare(
        str(tiny_model), templated(words, 32, 3), templated(words, 8, 4), settings, torch.device("cpu")
    )
    assert isinstance(prepared.model, SpanMix) == mix
    assert len(prepared.log.get("layer_weights", [])) == (3 if mix else 0)  # embeddings + 2 layers
    assert not prepared.model.base_model.embeddings.word_embeddings.weight.requires_grad
    features = encode_windows(templated(words, 4, 5), prepared.tokenizer, SMALL, labelled=False)
    assert predict_spans(prepared.model, features, 0, torch.device("cpu")).shape == (len(features), 3)


def test_scores_follow_each_tasks_normalization():
    examples = [
        QAExample("1", "?", "der Hund , bellt", (Answer("der Hund", 0),)),
        QAExample("2", "?", "a b c", (Answer("b", 2),)),
    ]
    answers = ["Hund", "b"]  # German's article counts under SQuAD's normalization, not under MLQA's for de
    xquad = get_task("xquad").score(QAExamples(examples, "de"), answers)
    assert xquad["exact_match"] == 0.5 and xquad["mlqa_exact_match"] == 1.0
    assert "mlqa_f1" not in get_task("xquad").score(QAExamples(examples, "th"), answers)  # not one of MLQA's
    mlqa = get_task("mlqa").score(QAExamples(examples, "de"), answers)
    assert mlqa == {"f1": 1.0, "exact_match": 1.0, "em_f1": 1.0}
    with pytest.raises(UserError, match="MLQA's normalization knows ar, de, en, es, hi, vi, zh, not 'th'"):
        get_task("mlqa").in_language(examples, "th")


def test_examples_carry_their_language(tmp_path):
    path = tmp_path / "squad.json"
    write_squad(path, [example("zi su bidbe .", "bidbe")])
    task = get_task("mlqa", TaskConfig(train=str(path), dev=str(path), test=str(path)))
    train, dev = task.source_examples(lookup("en"))
    assert dev.language == "en" and task.target_examples(lookup("de")).language == "de" and len(train) == 1
    with pytest.raises(UserError, match="not 'th'"):  # before fine-tuning, where the cell reads its data
        task.target_examples(lookup("th"))


def test_a_grid_cell_stores_each_targets_scores(tmp_path, small_family, tiny_model, words):
    for language, seed in (("en", 6), ("de", 7), ("zh", 8)):
        write_squad(tmp_path / f"{language}.json", templated(words, 24, seed))
    raw = family_experiment(small_family, tiny_model, sources=["en"], targets=["de", "zh"])
    raw["tasks"] = {"mlqa": {key: str(tmp_path / "{lang}.json") for key in ("train", "dev", "test")}}
    raw["tasks"]["mlqa"]["allow_overlap"] = True  # dev is the training file (the files are no translations)
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    rows = ResultStore(experiment.store_path).rows()
    assert {(r.target, r.metric) for r in rows} == {
        (t, m) for t in ("de", "zh") for m in ("f1", "exact_match", "em_f1")
    }
    assert all(0 <= r.score <= 1 and r.n_examples == 24 for r in rows)


@pytest.mark.parametrize("name", ["xquad", "mlqa", "tydiqa"])
def test_qa_metadata_is_complete(name):
    meta = get_task(name).metadata
    assert (meta.name, meta.main_metric, meta.epochs, meta.xtreme) == (name, "f1", 2, name)
    assert meta.xtreme_metrics == ("exact_match", "f1") and meta.higher_is_better
    assert (meta.hub_train, meta.hub_dev) == (
        "hub:rajpurkar/squad@plain_text:train",
        "hub:rajpurkar/squad@plain_text:validation",
    )
    assert meta.hub_test.startswith("hub:") and meta.options == {}
    expected = {"f1", "exact_match", "em_f1"} | ({"mlqa_f1", "mlqa_exact_match"} if name != "mlqa" else set())
    assert set(meta.metric_descriptions) == expected and all(meta.metric_descriptions.values())
    assert "384" in meta.description and "main metric" in meta.metric_descriptions["f1"]
