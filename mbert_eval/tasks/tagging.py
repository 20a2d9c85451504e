"""Sequence tagging: POS (UD UPOS) and NER (BIO), labelled and scored at each word's first subword.

Following Devlin et al. (2019) and XTREME (Hu et al. 2020), a word's label is predicted from its
first subword; the other subwords carry no label. Words that fall beyond the model's window get no
prediction and count as wrong.
"""
from __future__ import annotations

from typing import ClassVar

from mbert_eval.data import TaggedSentence, read_conllu, read_hub_tagged, read_ner
from mbert_eval.metrics import entity_scores, token_accuracy
from mbert_eval.tasks.base import TaskMetadata
from mbert_eval.tasks.fine_tuned import FineTunedTask, feature
from mbert_eval.training import PAD_LABEL, Features

NO_PREDICTION = "_"


class TaggingTask(FineTunedTask):
    """Token classification over pre-tokenized sentences."""

    head = "token"
    hub_tag_column: ClassVar[str]

    def read_hub(self, dataset: str, config: str | None, split: str) -> list[TaggedSentence]:
        return read_hub_tagged(dataset, config, split, self.hub_tag_column)

    def label_set(self, train: list[TaggedSentence]) -> list[str]:
        return sorted({tag for sentence in train for tag in sentence.tags})

    def encode(
        self, examples: list[TaggedSentence], tokenizer, label_ids: dict[str, int], max_length: int
    ) -> list[Features]:
        """Subword ids; the label at each word's first subword, -100 elsewhere."""
        encoded = tokenizer(
            [list(s.tokens) for s in examples], is_split_into_words=True, truncation=True, max_length=max_length
        )
        features = []
        for index, sentence in enumerate(examples):
            word_ids = encoded.word_ids(index)
            labels, starts, previous = [], [-1] * len(sentence.tokens), None
            for position, word in enumerate(word_ids):
                if word is not None and word != previous:
                    starts[word] = position
                    labels.append(label_ids.get(sentence.tags[word], 0))
                else:
                    labels.append(PAD_LABEL)
                previous = word
            features.append(feature(encoded, index, labels=labels, word_starts=starts))
        return features

    def predicted_tags(self, features: list[Features], predicted: list, labels: list[str]) -> list[list[str]]:
        """Per sentence, the predicted tag of each word (`_` where a word got no subword in the window)."""
        return [
            [labels[row[start]] if start >= 0 else NO_PREDICTION for start in feature["word_starts"]]
            for feature, row in zip(features, predicted)
        ]


class POSTask(TaggingTask):
    """Universal POS tagging, accuracy over words (Nivre et al. 2020; XTREME UD-POS)."""

    metadata = TaskMetadata(
        name="pos",
        description="Universal Dependencies POS tagging (UPOS), word accuracy",
        main_metric="accuracy",
        reference="Nivre et al. 2020, Universal Dependencies v2; Hu et al. 2020, XTREME",
        epochs=10,
        hub_train="hub:google/xtreme@udpos.English:train",
        hub_dev="hub:google/xtreme@udpos.English:validation",
        hub_test="hub:google/xtreme@udpos.{name}:test",
    )
    hub_tag_column = "pos_tags"

    def read_file(self, path) -> list[TaggedSentence]:
        return read_conllu(path)

    def score(self, examples, features, predicted, labels) -> dict[str, float]:
        gold = [list(sentence.tags) for sentence in examples]
        return {"accuracy": token_accuracy(gold, self.predicted_tags(features, predicted, labels))}


class NERTask(TaggingTask):
    """Named-entity recognition on WikiANN (Pan et al. 2017; Rahimi et al. 2019 splits), entity F1."""

    metadata = TaskMetadata(
        name="ner",
        description="WikiANN / PAN-X named entities (BIO), entity F1",
        main_metric="f1",
        reference="Pan et al. 2017, Cross-lingual name tagging; Rahimi et al. 2019; Hu et al. 2020",
        epochs=10,
        hub_train="hub:google/xtreme@PAN-X.en:train",
        hub_dev="hub:google/xtreme@PAN-X.en:validation",
        hub_test="hub:google/xtreme@PAN-X.{lang}:test",
    )
    hub_tag_column = "ner_tags"

    def read_file(self, path) -> list[TaggedSentence]:
        return read_ner(path)

    def score(self, examples, features, predicted, labels) -> dict[str, float]:
        gold = [list(sentence.tags) for sentence in examples]
        predicted_tags = [
            [tag if tag != NO_PREDICTION else "O" for tag in sentence]
            for sentence in self.predicted_tags(features, predicted, labels)
        ]
        return entity_scores(gold, predicted_tags)
