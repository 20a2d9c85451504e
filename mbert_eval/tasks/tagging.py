"""Sequence tagging: POS (UD UPOS) and NER (BIO), labelled and scored at one subword of each word.

Following Devlin et al. (2019) and XTREME (Hu et al. 2020), a word's label is predicted from its
first subword; the other subwords carry no label. With a SentencePiece vocabulary (XLM-R, e5) many words
begin with a bare metaspace piece `▁` that says nothing about the word (with XLM-R's vocabulary: 82% of
Chinese PUD words, 10% of German), so by default (`label_subword: first_content`) a word is labelled and
predicted at its first subword that is not a bare space marker, when it has one; `label_subword: first` is
XTREME's rule, kept for comparison. Only Unigram and BPE tokenizers whose pre-tokenizer (or normalizer) writes a
space marker have such pieces (`models.specs.space_markers`); for WordPiece (mBERT) both rules are XTREME's
first subword, whatever pieces its vocabulary holds.
A word that tokenizes to no subword at all (a lone zero-width space or soft hyphen, which BERT's normalizer
deletes) is replaced by the tokenizer's unknown token and labelled there, as XTREME's `utils_tag.py` does.
A sentence longer than the window (see `tasks.fine_tuned`) is split into pieces of whole words that fit it
(`pieces`), as XTREME's preprocessing splits them, so that every word is predicted and scored (a single word
longer than the window is a piece of its own, cut to the window, and still predicted).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import TaggedSentence, read_conllu, read_hub_tagged, read_ner
from mbert_eval.errors import UserError, shown
from mbert_eval.languages import Language
from mbert_eval.metrics.accuracy import token_accuracy
from mbert_eval.metrics.entity_f1 import entity_counts, entity_scores
from mbert_eval.metrics.outputs import ExampleOutputs, Scores
from mbert_eval.models.specs import content_free_ids
from mbert_eval.tasks.base import Prepared
from mbert_eval.tasks.fine_tuned import FineTunedTask, feature
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.training.features import PAD_LABEL, Features

NO_PREDICTION = "_"
LABEL_SUBWORDS = ("first_content", "first")  # the default, then XTREME's
UNSEEN_LABELS = ("refuse", "score")  # the default, then scoring them as errors
TAGGING_OPTIONS = {
    "label_subword": "the subword a word is labelled and predicted at: first_content (default; its "
    "first that is not a bare space marker) or first (XTREME's)",
    "unseen_labels": "test tags training never has: refuse (default) or score (always wrong; each row's extra "
    "says how many words had one)",
}


def word_positions(
    word_ids: list[int | None], input_ids: list[int], n_words: int, content_free: frozenset[int]
) -> list[int]:
    """Per word, the position it is labelled at: its first subword, or its first one outside `content_free`
    where it has one; -1 for a word with no subword in the window."""
    starts = [-1] * n_words
    for position, word in enumerate(word_ids):
        if word is None:
            continue
        start = starts[word]
        if start < 0 or (input_ids[start] in content_free and input_ids[position] not in content_free):
            starts[word] = position
    return starts


def unknown_for_empty_words(examples: list[TaggedSentence], tokenizer) -> list[list[str]]:
    """Each sentence's words, those that tokenize to no subword replaced by the tokenizer's unknown token, as
    XTREME's `convert_examples_to_features` (third_party/utils_tag.py) replaces their tokens by `[unk_token]`:
    the word is then labelled and predicted there instead of being lost. Found by one encoding without
    special tokens or truncation (a tokenizer without an unknown token keeps its words)."""
    words = [list(sentence.tokens) for sentence in examples]
    if tokenizer.unk_token is None:
        return words
    probe = tokenizer(words, is_split_into_words=True, add_special_tokens=False, verbose=False)
    for index, sentence in enumerate(words):
        present = set(probe.word_ids(index))
        words[index] = [word if position in present else tokenizer.unk_token for position, word in enumerate(sentence)]
    return words


def pieces(words: list[list[str]], tokenizer, max_length: int) -> list[tuple[int, int, int, bool]]:
    """Each sentence as (sentence, first word, word after the last, cut) spans of whole words whose subwords fit
    the window with the special tokens, cut greedily where the next word would overrun it, as XTREME's
    `utils_preprocess.py` cuts UD-POS and PAN-X sentences at `max_len` (a sentence that fits is one span; a word
    longer than the window alone is one span, which the encoding cuts: `cut`)."""
    room = max_length - tokenizer.num_special_tokens_to_add()
    probe = tokenizer(words, is_split_into_words=True, add_special_tokens=False, verbose=False)
    spans = []
    for sentence, sentence_words in enumerate(words):
        lengths = [0] * len(sentence_words)
        for word in probe.word_ids(sentence):
            if word is not None:
                lengths[word] += 1
        start, used = 0, 0
        for word, length in enumerate(lengths):
            if used + length > room and word > start:
                spans.append((sentence, start, word, used > room))
                start, used = word, 0
            used += length
        spans.append((sentence, start, len(sentence_words), used > room))
    return spans


class TaggingTask(FineTunedTask):
    """Token classification over pre-tokenized sentences."""

    head = "token"
    hub_tag_column: ClassVar[str]

    def __init__(
        self,
        config: TaskConfig | None = None,
        base_dir: Path = Path("."),
        label_subword: str = LABEL_SUBWORDS[0],
        unseen_labels: str = UNSEEN_LABELS[0],
    ) -> None:
        super().__init__(config, base_dir)
        if label_subword not in LABEL_SUBWORDS:
            raise UserError(f"label_subword: unknown rule {shown(label_subword)}; known: {', '.join(LABEL_SUBWORDS)}")
        if unseen_labels not in UNSEEN_LABELS:
            raise UserError(f"unseen_labels: unknown value {shown(unseen_labels)}; known: {', '.join(UNSEEN_LABELS)}")
        self.label_subword = label_subword
        self.unseen_labels = unseen_labels

    def examples_problem(self, train: list[TaggedSentence], test: list[TaggedSentence]) -> str | None:
        """Test tags that training never has are scored as errors whatever the model does (a UPOS column with a
        stray space, CoNLL-2002's MISC against WikiANN's training): name the first, with its file and line,
        unless `unseen_labels: score` asks to score them."""
        if self.unseen_labels == "score":
            return None
        known = set(self.label_set(train))
        unseen = [(sentence, index) for sentence in test for index, tag in enumerate(sentence.tags) if tag not in known]
        if not unseen:
            return None
        sentence, index = unseen[0]
        tags = ", ".join(sorted({repr(s.tags[i]) for s, i in unseen})[:5])
        words = sum(len(s.tags) for s in test)
        return (
            f"{sentence.where(index) or 'test data'}: tag {tags} never occurs in training ({len(unseen)} of {words} "
            f"words; training has {', '.join(sorted(known))}); fix the tags or the file, or set the task's "
            f"`unseen_labels: score` to score them as errors"
        )

    def target_log(self, prepared: Prepared, target: Language, examples: list[TaggedSentence]) -> dict[str, int]:
        """With `unseen_labels: score`, how many of the target's words have a gold tag training never had."""
        if self.unseen_labels != "score":
            return {}
        known = set(prepared.labels)
        return {"unseen_gold_labels": sum(tag not in known for sentence in examples for tag in sentence.tags)}

    def words(self, examples: list[TaggedSentence]) -> list[list[str]]:
        """Each sentence's words, as the tagger reads them one by one (Pires et al. 2019 measure overlap so)."""
        return [sentence.tokens for sentence in examples]

    def read_hub(
        self, dataset: str, config: str | None, split: str, revision: str | None = None
    ) -> list[TaggedSentence]:
        return read_hub_tagged(dataset, config, split, self.hub_tag_column, revision)

    def label_set(self, train: list[TaggedSentence]) -> list[str]:
        return sorted({tag for sentence in train for tag in sentence.tags})

    def encode(
        self, examples: list[TaggedSentence], tokenizer, label_ids: dict[str, int], max_length: int
    ) -> list[Features]:
        """Subword ids; each word's label at its labelled subword (see `word_positions`), -100 elsewhere. Words
        without subwords are encoded as the unknown token first (`unknown_for_empty_words`). A sentence longer
        than the window is split into pieces of whole words that fit it (`pieces`), as XTREME's preprocessing
        does, so that every word is trained on and scored; each piece is one feature, and `sentence` says whose."""
        words = unknown_for_empty_words(examples, tokenizer)
        spans = pieces(words, tokenizer, max_length)
        encoded = tokenizer(
            [words[sentence][start:stop] for sentence, start, stop, _ in spans],
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
        )
        content_free = content_free_ids(tokenizer) if self.label_subword == "first_content" else frozenset()
        features = []
        for index, (sentence, start, stop, cut) in enumerate(spans):
            input_ids = encoded["input_ids"][index]
            starts = word_positions(encoded.word_ids(index), input_ids, stop - start, content_free)
            labels = [PAD_LABEL] * len(input_ids)
            for word, position in enumerate(starts):
                if position >= 0:
                    labels[position] = label_ids.get(examples[sentence].tags[start + word], 0)
            features.append(feature(encoded, index, labels=labels, word_starts=starts, sentence=sentence, cut=cut))
        return features

    def predicted_tags(self, features: list[Features], predicted: list, labels: list[str]) -> list[list[str]]:
        """Per sentence, the predicted tag of each word, its pieces joined (`_` where a word got no subword in the
        window: none but a word longer than the window itself)."""
        tags: dict[int, list[str]] = {}
        for piece, row in zip(features, predicted):
            tags.setdefault(int(piece["sentence"]), []).extend(
                labels[row[start]] if start >= 0 else NO_PREDICTION for start in piece["word_starts"]
            )
        return list(tags.values())


class POSTask(TaggingTask):
    """Universal POS tagging, accuracy over words (Nivre et al. 2020; XTREME UD-POS)."""

    metadata = TaskMetadata(
        name="pos",
        # 2: evaluated at the training window (was 512 tokens), words without subwords labelled at the unknown
        # token, no space-marker pieces skipped in WordPiece vocabularies; 3: sentences longer than the window
        # split into pieces that fit it, as XTREME's preprocessing splits them (`pieces`)
        version=3,
        xtreme="udpos",
        xtreme_metrics=("xtreme_f1",),
        description="Universal Dependencies POS tagging (UPOS), word accuracy",
        main_metric="accuracy",
        reference="Nivre et al. 2020, Universal Dependencies v2; Hu et al. 2020, XTREME",
        epochs=10,
        hub_train="hub:google/xtreme@udpos.English:train",
        hub_dev="hub:google/xtreme@udpos.English:validation",
        hub_test="hub:google/xtreme@udpos.{name}:test",
        options=TAGGING_OPTIONS,
        metric_descriptions={
            "accuracy": "word accuracy (main metric)",
            "xtreme_f1": "seqeval F1 over UPOS sequences: the number XTREME (Hu et al. 2020) reports for UD-POS",
        },
    )
    hub_tag_column = "pos_tags"

    def read_file(self, path) -> list[TaggedSentence]:
        return read_conllu(path)

    def score(self, examples, features, predicted, labels) -> Scores:
        """Word accuracy (main), and `xtreme_f1`: seqeval's F1 over the tag sequences, the score XTREME's
        `run_tag.py` reports for UD-POS (a word without a prediction, which only a tokenizer without an unknown
        token leaves, is left out).
        Per sentence, its correct and gold words (the `ratio` accuracy sums); chance is uniform guessing over
        the training tags."""
        gold = [list(sentence.tags) for sentence in examples]
        predicted_tags = self.predicted_tags(features, predicted, labels)
        kept = [
            [(g, p) for g, p in zip(gold_tags, tags) if p != NO_PREDICTION]
            for gold_tags, tags in zip(gold, predicted_tags)
        ]
        with warnings.catch_warnings():  # seqeval warns that UPOS tags are not BIO tags: XTREME scores them so
            warnings.simplefilter("ignore", UserWarning)
            xtreme = entity_scores([[g for g, _ in s] for s in kept], [[p for _, p in s] for s in kept])
        outputs = ExampleOutputs(
            self.metadata.name,
            "accuracy",
            "ratio",
            [
                [sum(g == p for g, p in zip(gold_tags, tags)), len(gold_tags)]
                for gold_tags, tags in zip(gold, predicted_tags)
            ],
            gold,
            predicted_tags,
        )
        return Scores(
            {"accuracy": token_accuracy(gold, predicted_tags), "xtreme_f1": xtreme["f1"]},
            outputs,
            1 / len(labels),
        )


class NERTask(TaggingTask):
    """Named-entity recognition on WikiANN (Pan et al. 2017; Rahimi et al. 2019 splits), entity F1."""

    metadata = TaskMetadata(
        name="ner",
        # 2: evaluated at the training window (was 512 tokens), words without subwords labelled at the unknown
        # token, no space-marker pieces skipped in WordPiece vocabularies; 3: sentences longer than the window
        # split into pieces that fit it, as XTREME's preprocessing splits them (`pieces`)
        version=3,
        xtreme="panx",
        xtreme_metrics=("f1",),
        description="WikiANN / PAN-X named entities (BIO), entity F1",
        main_metric="f1",
        reference="Pan et al. 2017, Cross-lingual name tagging; Rahimi et al. 2019; Hu et al. 2020",
        epochs=10,
        hub_train="hub:google/xtreme@PAN-X.en:train",
        hub_dev="hub:google/xtreme@PAN-X.en:validation",
        hub_test="hub:google/xtreme@PAN-X.{lang}:test",
        options=TAGGING_OPTIONS,
        metric_descriptions={"f1": "micro-averaged entity F1, seqeval's default mode (main metric)"},
    )
    hub_tag_column = "ner_tags"

    def read_file(self, path) -> list[TaggedSentence]:
        return read_ner(path)

    def score(self, examples, features, predicted, labels) -> Scores:
        """Entity F1 (main), precision and recall; per sentence, the true positives, false positives and false
        negatives F1 sums (`f1`); no chance level (F1 has none)."""
        gold = [list(sentence.tags) for sentence in examples]
        predicted_tags = [
            [tag if tag != NO_PREDICTION else "O" for tag in sentence]
            for sentence in self.predicted_tags(features, predicted, labels)
        ]
        counts = [list(count) for count in entity_counts(gold, predicted_tags)]
        return Scores(
            entity_scores(gold, predicted_tags),
            ExampleOutputs(self.metadata.name, "f1", "f1", counts, gold, predicted_tags),
        )
