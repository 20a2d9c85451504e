"""XTREME's labelling (Hu et al. 2020, third_party/utils_tag.py) on an mBERT-shaped WordPiece tokenizer and an
XLM-R-shaped Unigram one built here: the subword a word is labelled at, words without subwords, the evaluation
window; and what a model load and a retrieval row say about themselves."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import SentencePair, TaggedSentence
from mbert_eval.errors import UserError
from mbert_eval.grid.run import run_experiment
from mbert_eval.models.encoders import load_model, load_tokenizer, new_module_lines
from mbert_eval.models.specs import content_free_ids, space_markers
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks import get_task
from mbert_eval.tasks.tagging import pieces
from mbert_eval.training.batches import PAD_LABEL
from tests.helpers import family_experiment, fine_tuning, write_config

TAGS = {"DET": 0, "NOUN": 1, "PUNCT": 2, "X": 3}


def wordpiece_tokenizer() -> PreTrainedTokenizerFast:
    """mBERT's shape: BERT normalizer (deletes control and format characters such as U+200B), BERT
    pre-tokenizer, WordPiece with `##` continuations, and `▁`/`Ġ` as ordinary pieces of its vocabulary."""
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁", "Ġ", "the", "dog", "##dog", "##s", "."]
    backend = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(pieces)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def unigram_tokenizer() -> PreTrainedTokenizerFast:
    """XLM-R's shape: Unigram pieces behind a Metaspace pre-tokenizer (nested in a Sequence, as some tokenizer
    files write it), `<s> A </s>`, and a normalizer that deletes control characters, as XLM-R's does."""
    pieces = [
        ("<s>", 0.0),
        ("<pad>", 0.0),
        ("</s>", 0.0),
        ("<unk>", 0.0),
        ("▁", -1.0),
        ("▁the", -2.0),
        ("dog", -2.0),
        ("s", -3.0),
        ("d", -5.0),
        ("o", -5.0),
        ("g", -5.0),
        (".", -2.0),
        ("▁.", -6.0),
        ("t", -5.0),
        ("h", -5.0),
        ("e", -5.0),
    ]
    backend = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    backend.normalizer = normalizers.Replace("\x01", "")
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace()])
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
    )


def encode(tokenizer, sentence: TaggedSentence, rule: str = "first_content", length: int = 64) -> dict:
    return get_task("pos", label_subword=rule).encode([sentence], tokenizer, TAGS, length)[0]


def test_space_markers_only_where_the_pre_tokenizer_writes_them():
    """WordPiece holds `▁` and `Ġ` as ordinary pieces: none is content-free. Metaspace (inside a Sequence)
    writes `▁`, ByteLevel BPE writes `Ġ`, a Llama-style normalizer writes `▁` for spaces."""
    wordpiece, unigram = wordpiece_tokenizer(), unigram_tokenizer()
    assert {"▁", "Ġ"} <= set(wordpiece.get_vocab())
    assert space_markers(wordpiece) == frozenset() and content_free_ids(wordpiece) == frozenset()
    assert content_free_ids(unigram) == {unigram.convert_tokens_to_ids("▁")}
    byte_level = Tokenizer(models.BPE({"Ġ": 0, "a": 1, "Ġa": 2}, merges=[("Ġ", "a")]))
    byte_level.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    assert space_markers(PreTrainedTokenizerFast(tokenizer_object=byte_level)) == {"\u0120"}
    llama_style = Tokenizer(models.BPE({"▁": 0, "a": 1, "▁a": 2}, merges=[("▁", "a")]))
    llama_style.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    assert space_markers(PreTrainedTokenizerFast(tokenizer_object=llama_style)) == {"▁"}


def test_wordpiece_labels_the_first_subword_even_when_it_is_a_space_symbol():
    """`▁dog` is `▁ ##dog` in this WordPiece vocabulary: XTREME labels the `▁`, and so does `first_content` here
    (the `▁` is an ordinary symbol of the text, not a space marker)."""
    tokenizer = wordpiece_tokenizer()
    sentence = TaggedSentence(("the", "▁dog", "dogs", "."), ("DET", "NOUN", "NOUN", "PUNCT"))
    feature = encode(tokenizer, sentence)
    tokens = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert tokens == ["[CLS]", "the", "▁", "##dog", "dog", "##s", ".", "[SEP]"]
    assert feature["word_starts"] == [1, 2, 4, 6]
    assert feature == encode(tokenizer, sentence, "first")
    assert [i for i, label in enumerate(feature["labels"]) if label != PAD_LABEL] == [1, 2, 4, 6]


def test_unigram_labels_the_first_content_piece():
    """Under Metaspace, `dog` is `▁ dog`: `first_content` labels `dog`, XTREME's `first` the bare `▁`."""
    tokenizer = unigram_tokenizer()
    sentence = TaggedSentence(("the", "dog", "."), ("DET", "NOUN", "PUNCT"))
    content, first = encode(tokenizer, sentence), encode(tokenizer, sentence, "first")
    tokens = tokenizer.convert_ids_to_tokens(content["input_ids"])
    assert tokens == ["<s>", "▁the", "▁", "dog", "▁", ".", "</s>"]
    assert content["word_starts"] == [1, 3, 5] and first["word_starts"] == [1, 2, 4]
    assert content["labels"][3] == TAGS["NOUN"] and content["labels"][2] == PAD_LABEL


@pytest.mark.parametrize(
    "build, empty, unknown",
    [
        (wordpiece_tokenizer, "\u200b", "[UNK]"),
        (wordpiece_tokenizer, "\u00ad", "[UNK]"),
        (unigram_tokenizer, "\x01", "<unk>"),
    ],
)
def test_a_word_without_subwords_is_labelled_and_predicted_at_the_unknown_token(build, empty, unknown):
    """The normalizer deletes the word whole; XTREME labels it at `[tokenizer.unk_token]`, and so it is
    predicted and scored like any word instead of counting as an error."""
    tokenizer = build()
    assert tokenizer([empty], is_split_into_words=True, add_special_tokens=False)["input_ids"] == []
    sentence = TaggedSentence(("the", empty, "dog"), ("DET", "X", "NOUN"))
    feature = encode(tokenizer, sentence)
    start = feature["word_starts"][1]
    assert tokenizer.convert_ids_to_tokens(feature["input_ids"][start]) == unknown
    assert feature["labels"][start] == TAGS["X"]
    predicted = [0] * len(feature["input_ids"])
    for word, tag in enumerate(sentence.tags):
        predicted[feature["word_starts"][word]] = TAGS[tag]
    task = get_task("pos")
    assert task.predicted_tags([feature], [predicted], sorted(TAGS, key=TAGS.get)) == [["DET", "X", "NOUN"]]
    assert task.score([sentence], [feature], [predicted], sorted(TAGS, key=TAGS.get))["accuracy"] == 1.0


def test_real_sentencepiece_tokenizer_labels_a_control_character_at_unk(e5_small):
    """multilingual-e5-small (XLM-R's vocabulary) deletes U+0001: that word is labelled at `<unk>`."""
    tokenizer = load_tokenizer(str(e5_small))
    feature = encode(tokenizer, TaggedSentence(("Haus", "\x01", "."), ("NOUN", "X", "PUNCT")))
    assert -1 not in feature["word_starts"]
    assert feature["input_ids"][feature["word_starts"][1]] == tokenizer.unk_token_id


def test_fine_tuned_tasks_evaluate_at_the_training_window_unless_told(tiny_model, monkeypatch, capsys):
    """XTREME evaluates at `max_seq_length`: dev and test features are at most `max_length` (16 here), or
    `eval_max_length`, capped by the model's 128 positions; the Prepared carries the window to `evaluate`. A
    sentence longer than the window comes in pieces that fit it (XTREME's preprocessing splits it so), not cut."""
    sentence = TaggedSentence(tuple(["qa"] * 40), tuple(["NOUN"] * 40))
    train = [sentence, TaggedSentence(("qa", "."), ("NOUN", "PUNCT"))]
    task = get_task("pos")
    lengths: list[int] = []
    scored = task.score
    monkeypatch.setattr(
        task,
        "score",
        lambda ex, features, *rest: (
            lengths.extend(len(f["input_ids"]) for f in features) or scored(ex, features, *rest)
        ),
    )
    for eval_max_length, window in [(None, 16), (64, 64), (1000, 128)]:
        settings = fine_tuning(max_length=16, epochs=1, eval_max_length=eval_max_length)
        prepared = task.prepare(str(tiny_model), train, train, settings, torch.device("cpu"))
        assert prepared.log["eval_window"] == window
        lengths.clear()
        capsys.readouterr()
        scores = task.evaluate(prepared, [sentence], torch.device("cpu"))
        assert lengths == ([16, 16, 14] if window == 16 else [42])  # 14 words and [CLS], [SEP] a piece
        assert scores.examples.stats[0][1] == 40 and "_" not in scores.examples.predictions[0]
        assert "fill the whole" not in capsys.readouterr().err


def test_pair_classification_evaluates_at_the_training_window(tiny_model, monkeypatch):
    """XNLI and PAWS-X are evaluated at `max_seq_length` in XTREME too: a long pair is cut to `max_length`."""
    pairs = [SentencePair(" ".join(["qa"] * 30), " ".join(["qa"] * 30), label) for label in ("yes", "no")]
    task = get_task("paraphrase")
    lengths: list[int] = []
    scored = task.score
    monkeypatch.setattr(
        task,
        "score",
        lambda ex, features, *rest: (
            lengths.extend(len(f["input_ids"]) for f in features) or scored(ex, features, *rest)
        ),
    )
    prepared = task.prepare(str(tiny_model), pairs, pairs, fine_tuning(max_length=24, epochs=1), torch.device("cpu"))
    lengths.clear()
    task.evaluate(prepared, pairs, torch.device("cpu"))
    assert lengths == [24, 24]


def test_a_model_load_names_each_newly_initialized_module(tiny_model, capsys):
    """The tiny checkpoint is a BertForMaskedLM: no pooler. A sequence head therefore starts from a random
    pooler (said as such) and its classifier (the task head); a token head has no pooler to report."""
    load_model(str(tiny_model), "sequence", 3)
    assert capsys.readouterr().err.splitlines() == [
        f"model {tiny_model}: pooler newly initialized (not in the checkpoint)",
        f"model {tiny_model}: classifier newly initialized (the sequence task head)",
    ]
    load_model(str(tiny_model), "token", 3)
    assert capsys.readouterr().err.splitlines() == [
        f"model {tiny_model}: classifier newly initialized (the token task head)"
    ]
    load_model(str(tiny_model))  # headless (retrieval, alignment): no pooler is read, none reported
    assert capsys.readouterr().err == ""


def test_new_module_lines_group_missing_and_mismatched_keys():
    """Keys group by their module under the encoder; a head whose shape did not match is new as well."""
    info = {
        "missing_keys": {"roberta.pooler.dense.weight", "roberta.pooler.dense.bias"},
        "mismatched_keys": {("classifier.out_proj.weight", (2, 8), (3, 8))},
    }
    assert new_module_lines("m", info, "roberta", "sequence") == [
        "model m: classifier newly initialized (the sequence task head)",
        "model m: pooler newly initialized (not in the checkpoint)",
    ]
    assert new_module_lines("m", {"missing_keys": set(), "mismatched_keys": set()}, "bert", "none") == []


@pytest.mark.parametrize("task_name", ["tatoeba", "bucc"])
def test_retrieval_rows_record_their_layer(task_name, tiny_model):
    """The layer the main number is taken at goes into the Prepared's log (each row's `extra`): two thirds of the
    tiny model's 2 layers by default, the configured one otherwise; one beyond the model is refused there."""
    prepared = get_task(task_name).prepare(str(tiny_model), [], [], None, torch.device("cpu"))
    assert prepared.log == {"layer": 1}
    assert get_task(task_name, layer=2).prepare(str(tiny_model), [], [], None, torch.device("cpu")).log == {"layer": 2}
    with pytest.raises(UserError, match="layer 3 is outside 0..2"):
        get_task(task_name, layer=3).prepare(str(tiny_model), [], [], None, torch.device("cpu"))


def test_rows_record_the_retrieval_layer_and_the_evaluation_window(tmp_path, small_family, tiny_model):
    """Through a run, each row's `extra` says what its number was taken at: tatoeba's layer (the default, two
    thirds of 2 layers), pos's evaluation window (the training max_length, 64)."""
    base, root = small_family.languages[0].code, small_family.root
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"] = {
        "pos": raw["tasks"]["pos"],
        "tatoeba": {
            "test": f"{root}/parallel/{base}-{{lang}}.{{lang}}[0:20]",
            "pivot": f"{root}/parallel/{base}-{{lang}}.{base}",
        },
    }
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    rows = ResultStore(experiment.store_path).rows()
    assert {row.extra["layer"] for row in rows if row.task == "tatoeba"} == {1}
    assert {row.extra["eval_window"] for row in rows if row.task == "pos"} == {64}
    for target in experiment.targets:
        scores = {row.metric: row.score for row in rows if row.task == "tatoeba" and row.target == target}
        assert scores["accuracy"] == scores["accuracy_layer01"]


def _xtreme_split(lengths: list[int], room: int) -> list[list[int]]:
    """XTREME's `utils_preprocess.py` (udpos_tokenize, panx_tokenize), one word at a time: a new line starts where
    the word would take the subwords so far past `max_len` minus the special tokens."""
    lines, line, used = [], [], 0
    for word, length in enumerate(lengths):
        if used + length > room and line:
            lines.append(line)
            line, used = [], 0
        line.append(word)
        used += length
    return [*lines, line]


def test_pieces_cut_sentences_where_xtreme_cuts_them(tiny_model, small_family):
    tokenizer = load_tokenizer(str(tiny_model))
    text = small_family.mono(small_family.languages[0].code).read_text().split()
    long = [word for word in dict.fromkeys(text) if len(tokenizer.tokenize(word)) > 1][:12]
    assert len(long) == 12
    words = [["qa"] * 40, ["qa", "."], long]  # the last: words of several subwords
    for window in (16, 24, 64):
        spans = pieces(words, tokenizer, window)
        room = window - tokenizer.num_special_tokens_to_add()
        for sentence, sentence_words in enumerate(words):
            lengths = [len(tokenizer.tokenize(word)) for word in sentence_words]
            mine = [list(range(start, stop)) for s, start, stop, cut in spans if s == sentence]
            assert mine == _xtreme_split(lengths, room), (window, sentence)
            assert not any(cut for s, *_, cut in spans if s == sentence)
