"""Tasks fine-tuned on the source language: the one prepare (`TrainedTask`), and the shared evaluate of labelled
tasks (`FineTunedTask`) around `training/loop.py`.

Dev and test examples are encoded at the training window (`training.max_length`, 128 by default), as XTREME
(Hu et al. 2020) evaluates tagging and pair classification at `max_seq_length`; `training.eval_max_length` sets
another window (e.g. 512, so that no word of a long sentence is cut), within the model's position table.

The training code (torch, transformers) is imported inside `prepare`, `evaluate` and `eval_window`: the task
classes are built by `validate` and named by `ls`, which import no torch (issue 21, "Start fast").
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, ClassVar

from tqdm.auto import tqdm

from mbert_eval.metrics.outputs import Scores
from mbert_eval.models.specs import Head
from mbert_eval.tasks.base import Prepared, Task
from mbert_eval.training.features import Features
from mbert_eval.training.fine_tuning import FineTuning
from mbert_eval.training.options import active_options, build_model, prefix_cache

if TYPE_CHECKING:
    import torch

    from mbert_eval.config.experiment import TrainingConfig


class TrainedTask(Task):
    """A task whose encoder gets a new head and is fine-tuned on the source language (Devlin et al. 2019): the
    one `prepare` of every such task. The task says, through hooks, what its head is (`head`, `label_set`,
    `num_labels`, `mix_model`), how examples become training and dev features (`source_features`), how dev is
    scored (`dev_metric`) and what the frozen-prefix cache gets (`cache_features`); the method's fine-tuning
    options (`training.options`) build, adjust, cache and log through theirs."""

    head: ClassVar[Head]  # "token", "sequence" or "span"
    fine_tunes = True
    # the epoch kept: the one with the best dev score (XTREME's tagging and classification), or the last
    keeps_best_dev_epoch: ClassVar[bool] = True

    def label_set(self, train: list) -> list[str]:
        """The labels of the training data, sorted (the classifier's output space); none by default."""
        return []

    def num_labels(self, labels: list[str]) -> int:
        """How many outputs the head has per position (or per example)."""
        return len(labels)

    def mix_model(self, encoder: torch.nn.Module, num_labels: int) -> torch.nn.Module:
        """The head over a scalar mix of all layers (the `layer_mix` option's model)."""
        from mbert_eval.training.scalar_mix import ScalarMixClassifier

        return ScalarMixClassifier(encoder, self.head, num_labels)

    def source_features(
        self, model: torch.nn.Module, tokenizer, train: list, dev: list, labels: list[str], fine_tuning: FineTuning
    ) -> tuple[list[Features], list[Features], dict[str, object]]:
        """Training and dev features, and what encoding them adds to the log."""
        raise NotImplementedError

    def dev_metric(
        self,
        model: torch.nn.Module,
        dev: list,
        features: list[Features],
        labels: list[str],
        pad_id: int,
        device: torch.device,
        fine_tuning: FineTuning,
    ) -> float:
        """The main dev metric of `model` (the best epoch is chosen by it, as in XTREME)."""
        raise NotImplementedError

    def cache_features(self, features: list[Features]) -> list[Features]:
        """The training features as the frozen-prefix cache reads them (the frozen layers take no labels)."""
        return features

    def prepare(
        self, model_spec: str, train: list, dev: list, fine_tuning: FineTuning, device: torch.device
    ) -> Prepared:
        """Fine-tune on `train`, keeping the epoch with the best `dev` main metric (XTREME), or the last one where
        the task keeps no best epoch (`keeps_best_dev_epoch`: QA, as XTREME). The random state is
        seeded once, here, before the head is drawn: the new head comes from the cell's seed alone, so every
        method starts from the baseline's head for that seed."""
        from mbert_eval.models.encoders import load_tokenizer
        from mbert_eval.training.loop import fine_tune, seed_everything

        tokenizer = load_tokenizer(model_spec)
        labels = self.label_set(train)
        options = active_options(fine_tuning.method)
        seed_everything(fine_tuning.seed)
        model = build_model(options, self, model_spec, self.num_labels(labels))
        for option in options:
            option.adjust(model, fine_tuning)
        model.to(device)
        train_features, dev_features, encoded = self.source_features(model, tokenizer, train, dev, labels, fine_tuning)
        pad = tokenizer.pad_token_id or 0
        cache = prefix_cache(options, model, self.cache_features(train_features), pad, device, fine_tuning)

        def dev_score(current: torch.nn.Module) -> float:
            return self.dev_metric(current, dev, dev_features, labels, pad, device, fine_tuning)

        model, log = fine_tune(
            model,
            train_features,
            pad,
            device,
            fine_tuning,
            dev_score,
            progress=self.metadata.name,
            prefix_cache=cache,
            keep_best=self.keeps_best_dev_epoch,
        )
        for option in options:
            log.update(option.log(model, fine_tuning))
        return Prepared(model, tokenizer, labels, {**log, **encoded})


class FineTunedTask(TrainedTask):
    """A task with a classification head trained on the source language (Devlin et al. 2019).

    Subclasses say how examples become features (`encode`) and how predictions are scored
    (`score`); the model is the encoder with a fresh `head` ("token" or "sequence").
    """

    def label_set(self, train: list) -> list[str]:
        """The labels of the training data, sorted (the classifier's output space)."""
        raise NotImplementedError

    def encode(self, examples: list, tokenizer, label_ids: dict[str, int], max_length: int) -> list[Features]:
        """Token ids (and labels) for each example."""
        raise NotImplementedError

    def score(self, examples: list, features: list[Features], predicted: list, labels: list[str]) -> Scores:
        """Metrics for predictions, the main metric first, with its per-example outputs and chance level."""
        raise NotImplementedError

    def source_features(
        self, model: torch.nn.Module, tokenizer, train: list, dev: list, labels: list[str], fine_tuning: FineTuning
    ) -> tuple[list[Features], list[Features], dict[str, object]]:
        """Training examples at `max_length`, dev examples at the evaluation window (logged as `eval_window`)."""
        label_ids = {label: i for i, label in enumerate(labels)}
        training = fine_tuning.training
        window = eval_window(model, training)
        train_features = self.encode(train, tokenizer, label_ids, training.max_length)
        dev_features = self.encode(dev, tokenizer, label_ids, window)
        truncated = cut_to_window(train_features, training.max_length, "training")
        return (
            train_features,
            dev_features,
            {**({"train_truncated": truncated} if truncated else {}), "eval_window": window},
        )

    def dev_metric(
        self,
        model: torch.nn.Module,
        dev: list,
        features: list[Features],
        labels: list[str],
        pad_id: int,
        device: torch.device,
        fine_tuning: FineTuning,
    ) -> float:
        from mbert_eval.training.loop import predict

        predicted = predict(model, features, pad_id, device, fine_tuning.training.eval_batch_size)
        return next(iter(self.score(dev, features, predicted, labels).values()))

    def evaluate(self, prepared: Prepared, examples: list, device: torch.device, progress: str | None = None) -> Scores:
        """Predict every example of one target language, encoded at the window `prepare` chose, and score it."""
        from mbert_eval.training.loop import predict

        label_ids = {label: i for i, label in enumerate(prepared.labels)}
        window = prepared.log["eval_window"]
        features = self.encode(examples, prepared.tokenizer, label_ids, window)
        cut_to_window(features, window, "evaluation")
        pad = prepared.tokenizer.pad_token_id or 0
        predicted = predict(prepared.model, features, pad, device, progress=progress)
        return self.score(examples, features, predicted, prepared.labels)


def eval_window(model: torch.nn.Module, settings: TrainingConfig) -> int:
    """The window dev and test examples are encoded at: `eval_max_length`, else the training `max_length`
    (XTREME's `max_seq_length` for training and evaluation alike), at most the model's position table."""
    from mbert_eval.models.encoders import window_length

    return window_length(model, settings.eval_max_length or settings.max_length)


def cut_to_window(features: list[Features], length: int, stage: str) -> int:
    """How many examples were cut to the window `length`: those that fill it (sentence pairs: their tokens past
    it were cut, longer side first, as XTREME cuts them), or those a task marks `cut` (a tagging piece: only a
    word longer than the window itself); says so on stderr when any were."""
    cut = sum(bool(f["cut"]) if "cut" in f else len(f["input_ids"]) >= length for f in features)
    if cut:
        tqdm.write(
            f"{stage}: {cut} of {len(features)} examples fill the whole {length}-token window, longer ones cut to it",
            file=sys.stderr,
        )
    return cut


def feature(encoded, index: int, **fields: object) -> Features:
    """Example `index` of a batch encoding (ids, token types where the model has them) plus `fields`."""
    result: Features = {"input_ids": encoded["input_ids"][index], **fields}
    if "token_type_ids" in encoded:
        result["token_type_ids"] = encoded["token_type_ids"][index]
    return result
