"""Sentence-pair classification (XNLI, PAWS-X, synthetic paraphrase pairs), accuracy.

The pair is encoded as `[CLS] first [SEP] second [SEP]` and classified from the pooled output
(Devlin et al. 2019), the longer side cut first to fit the window (training's `max_length` for evaluation too,
as XTREME; see `tasks.fine_tuned`); XNLI after Conneau et al. (2018), PAWS-X after Yang et al. (2019). Labels
are compared case-insensitively (`Entailment` is `entailment`); a test label that training never has is refused.
"""

from __future__ import annotations

import functools
import sys

from tqdm.auto import tqdm

from mbert_eval.data import SentencePair, read_hub_pairs, read_sentence_pairs
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.languages import Language
from mbert_eval.metrics.accuracy import accuracy
from mbert_eval.metrics.outputs import ExampleOutputs, Scores
from mbert_eval.tasks.base import Prepared
from mbert_eval.tasks.fine_tuned import FineTunedTask, feature
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.training.features import Features


class PairClassificationTask(FineTunedTask):
    """Classify a sentence pair into one of the labels seen in training."""

    head = "sequence"

    def read_file(self, path) -> list[SentencePair]:
        return read_sentence_pairs(path)

    def read_hub(self, dataset: str, config: str | None, split: str, revision: str | None = None) -> list[SentencePair]:
        return read_hub_pairs(dataset, config, split, revision)

    def passages(self, example: SentencePair) -> tuple[str, ...]:
        """Both sentences: XNLI's dev and test files hold each premise in three rows in a row, one per hypothesis
        (Conneau et al. 2018), and PAWS-X reuses a sentence in pairs far apart (Yang et al. 2019), so a test row
        holding a sentence that training read (in translation) was read too."""
        return (example.first, example.second)

    def source_examples(self, source: Language) -> tuple[list[SentencePair], list[SentencePair]]:
        """Training and dev pairs, refused before any training where one has no label or training has fewer than
        two labels."""
        train, dev = super().source_examples(source)
        for pair in (pair for pair in [*train, *dev] if pair.label is None):
            raise UserError(f"{pair.where or 'training data'}: no label (training and dev pairs need one)")
        self.label_set(train)
        return train, dev

    def label_set(self, train: list[SentencePair]) -> list[str]:
        labels = sorted({pair_label(pair) for pair in train if pair.label is not None})
        if len(labels) < 2:
            raise UserError(f"task '{self.metadata.name}': training data needs at least two labels, found {labels}")
        return labels

    def examples_problem(self, train: list[SentencePair], test: list[SentencePair]) -> str | None:
        """Test pairs without a label (an unlabeled test file) cannot be scored, and test labels that training
        never has would be scored as errors whatever the model does: name the first, before any training."""
        unlabeled = [pair for pair in test if pair.label is None]
        if unlabeled:
            return (
                f"{unlabeled[0].where or 'test data'}: no label ({len(unlabeled)} of {len(test)} pairs; an "
                "unlabeled test set, such as XNLI's test.unlabeled.tsv, cannot be scored); evaluate on a labeled "
                "split such as dev"
            )
        known = {pair_label(pair) for pair in train if pair.label is not None}
        unknown = [pair for pair in test if pair.label is not None and pair_label(pair) not in known]
        if not unknown:
            return None
        first = unknown[0]
        labels = ", ".join(sorted({repr(pair.label) for pair in unknown})[:5])
        return (
            f"{first.where or 'test data'}: label {labels} never occurs in training ({len(unknown)} of "
            f"{len(test)} pairs; training has {', '.join(sorted(known))}); fix the labels or the file"
        )

    def encode(
        self, examples: list[SentencePair], tokenizer, label_ids: dict[str, int], max_length: int
    ) -> list[Features]:
        """`[CLS] first [SEP] second [SEP]`, truncating the longer side first."""
        if any(pair.label is None for pair in examples):
            raise UserError(
                f"task '{self.metadata.name}': a data file has no label column (unlabeled test set?); "
                "evaluate on a labeled split such as dev"
            )
        encoded = tokenizer(
            [p.first for p in examples], [p.second for p in examples], truncation=True, max_length=max_length
        )
        return [
            feature(encoded, index, labels=label_ids.get(pair_label(pair), -1)) for index, pair in enumerate(examples)
        ]

    def score(self, examples, features, predicted, labels) -> Scores:
        """Accuracy; per pair, 1 where its label is right (`mean`); chance is uniform guessing over the training
        labels (1/3 for XNLI, 1/2 for PAWS-X)."""
        gold, guessed = [pair_label(p) for p in examples], [labels[int(i)] for i in predicted]
        outputs = ExampleOutputs(
            self.metadata.name, "accuracy", "mean", [[float(g == p)] for g, p in zip(gold, guessed)], gold, guessed
        )
        return Scores({"accuracy": accuracy(gold, guessed)}, outputs, 1 / len(labels))


PLACEHOLDER = "NS"  # PAWS-X's stand-in for a sentence left untranslated


def pair_label(pair: SentencePair) -> str:
    """A pair's label as compared: case-folded (XNLI files write `entailment`, some copies `Entailment`)."""
    return (pair.label or "").casefold()


class XNLITask(PairClassificationTask):
    """Natural language inference (entailment, neutral, contradiction) after Conneau et al. (2018)."""

    metadata = TaskMetadata(
        name="xnli",
        version=2,  # 2: evaluated at the training window (was 512 tokens), as XTREME
        xtreme="xnli",
        xtreme_metrics=("accuracy",),
        description="Cross-lingual natural language inference (3 classes), accuracy",
        main_metric="accuracy",
        reference="Conneau et al. 2018, XNLI; Hu et al. 2020, XTREME",
        epochs=5,
        hub_train="hub:facebook/xnli@en:train",
        hub_dev="hub:facebook/xnli@en:validation",
        hub_test="hub:facebook/xnli@{lang}:test",
        metric_descriptions={"accuracy": "share of pairs with the gold label (main metric)"},
    )


class PAWSXData(PairClassificationTask):
    """PAWS-X's pairs (Yang et al. 2019), for the tasks that read them. A few translated dev and test pairs hold
    the placeholder `NS` for a sentence left untranslated; PAWS-X's README asks that they be cleaned up
    (google-research-datasets/paws#15), so they are left out, after slicing (the rows stay line-parallel for
    `grid/leakage.py`), and each row says how many (`extra.placeholder_pairs_dropped`)."""

    @functools.cached_property
    def placeholders(self) -> dict[DataSpec, int]:
        """How many pairs each spec's selection held with `NS` (`load` fills it)."""
        return {}

    def passages(self, example: SentencePair) -> tuple[str, ...]:
        """Both sentences but the placeholder, which stands for no sentence (its pairs are left out: `load`)."""
        return tuple(text for text in super().passages(example) if text.strip() != PLACEHOLDER)

    def load(self, spec: DataSpec) -> list[SentencePair]:
        """The selected pairs but those with a side that is the placeholder `NS`; a note names any left out of the
        training or dev data (each test row records its count: `target_log`)."""
        pairs = super().load(spec)
        kept = [pair for pair in pairs if PLACEHOLDER not in (pair.first.strip(), pair.second.strip())]
        if not kept:
            raise UserError(f"no examples in {spec}: all {len(pairs)} pairs hold the placeholder {PLACEHOLDER!r}")
        self.placeholders[spec] = len(pairs) - len(kept)
        return kept

    def source_examples(self, source: Language) -> tuple[list[SentencePair], list[SentencePair]]:
        """Training and dev pairs (`load`), saying how many were left out for the placeholder."""
        train, dev = super().source_examples(source)
        for key in ("train", "dev"):
            spec = self.spec(key, source)
            if self.placeholders.get(spec):
                dropped = self.placeholders[spec]
                tqdm.write(
                    f"{self.metadata.name} {key} {spec}: {dropped} pairs hold the placeholder {PLACEHOLDER!r}, left out",
                    file=sys.stderr,
                )
        return train, dev

    def target_log(self, prepared: Prepared, target: Language, examples: list[SentencePair]) -> dict[str, int]:
        """How many of the target's selected test pairs held the placeholder (none: nothing added)."""
        dropped = self.placeholders.get(self.spec("test", target), 0)
        return {"placeholder_pairs_dropped": dropped} if dropped else {}


class PAWSXTask(PAWSXData):
    """Paraphrase identification on adversarial pairs after Yang et al. (2019)."""

    metadata = TaskMetadata(
        name="pawsx",
        version=3,  # 2: evaluated at the training window (was 512 tokens), as XTREME; 3: `NS` pairs left out
        xtreme="pawsx",
        xtreme_metrics=("accuracy",),
        description="Cross-lingual paraphrase adversaries from word scrambling (2 classes), accuracy",
        main_metric="accuracy",
        reference="Yang et al. 2019, PAWS-X; Zhang et al. 2019, PAWS; Hu et al. 2020, XTREME",
        epochs=5,
        hub_train="hub:google-research-datasets/paws-x@en:train",
        hub_dev="hub:google-research-datasets/paws-x@en:validation",
        hub_test="hub:google-research-datasets/paws-x@{lang}:test",
        metric_descriptions={"accuracy": "share of pairs with the gold label (main metric)"},
    )


class ParaphraseTask(PairClassificationTask):
    """Paraphrase pairs of the synthetic language family (`mbert_eval.synthetic`), PAWS-style."""

    metadata = TaskMetadata(
        name="paraphrase",
        version=2,  # 2: evaluated at the training window (was 512 tokens), as XTREME
        description="Paraphrase pairs of the synthetic language family (2 classes), accuracy",
        main_metric="accuracy",
        reference="PAWS-style pairs (Zhang et al. 2019) generated by mbert_eval.synthetic",
        epochs=5,
        metric_descriptions={"accuracy": "share of pairs with the gold label (main metric)"},
    )
