"""Tasks fine-tuned on the source language: the shared prepare/evaluate around `training.py`.

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

from mbert_eval.models.specs import Head
from mbert_eval.tasks.base import Prepared, Task
from mbert_eval.training.features import Features

if TYPE_CHECKING:
    import torch

    from mbert_eval.training.loop import FineTuneSettings


class FineTunedTask(Task):
    """A task with a classification head trained on the source language (Devlin et al. 2019).

    Subclasses say how examples become features (`encode`) and how predictions are scored
    (`score`); the model is the encoder with a fresh `head` ("token" or "sequence").
    """

    head: ClassVar[Head]

    def label_set(self, train: list) -> list[str]:
        """The labels of the training data, sorted (the classifier's output space)."""
        raise NotImplementedError

    def encode(self, examples: list, tokenizer, label_ids: dict[str, int], max_length: int) -> list[Features]:
        """Token ids (and labels) for each example."""
        raise NotImplementedError

    def score(self, examples: list, features: list[Features], predicted: list, labels: list[str]) -> dict[str, float]:
        """Metrics for predictions; the main metric first."""
        raise NotImplementedError

    def prepare(
        self, model_spec: str, train: list, dev: list, settings: FineTuneSettings, device: torch.device
    ) -> Prepared:
        """Fine-tune on `train`, keeping the epoch with the best `dev` main metric (XTREME). The new head is drawn
        from the cell's seed alone, so every method starts from the baseline's head for that seed."""
        from mbert_eval.models.encoders import freeze_lower_layers, load_model, load_tokenizer
        from mbert_eval.training.frozen_cache import FrozenPrefixCache
        from mbert_eval.training.loop import fine_tune, predict, seed_everything
        from mbert_eval.training.scalar_mix import ScalarMixClassifier

        tokenizer = load_tokenizer(model_spec)
        labels = self.label_set(train)
        label_ids = {label: i for i, label in enumerate(labels)}
        seed_everything(settings.seed)
        if settings.layer_mix:
            model = ScalarMixClassifier(load_model(model_spec), self.head, len(labels))
        else:
            model = load_model(model_spec, self.head, len(labels))
        freeze_lower_layers(model, settings.freeze)
        model.to(device)
        window = eval_window(model, settings)
        train_features = self.encode(train, tokenizer, label_ids, settings.max_length)
        dev_features = self.encode(dev, tokenizer, label_ids, window)
        truncated = cut_to_window(train_features, settings.max_length, "training")
        pad = tokenizer.pad_token_id or 0
        cache = None
        if settings.cache_frozen and settings.freeze:
            cache = FrozenPrefixCache(model, settings.freeze, train_features, pad, device, settings.eval_batch_size)

        def dev_score(current: torch.nn.Module) -> float:
            predicted = predict(current, dev_features, pad, device, settings.eval_batch_size)
            return next(iter(self.score(dev, dev_features, predicted, labels).values()))

        model, log = fine_tune(
            model, train_features, pad, device, settings, dev_score, progress=self.metadata.name, prefix_cache=cache
        )
        if settings.layer_mix:
            log["layer_weights"] = model.layer_weights()
        if truncated:
            log["train_truncated"] = truncated
        log["eval_window"] = window
        return Prepared(model, tokenizer, labels, log)

    def evaluate(self, prepared: Prepared, examples: list, device: torch.device) -> dict[str, float]:
        """Predict every example of one target language, encoded at the window `prepare` chose, and score it."""
        from mbert_eval.training.loop import predict

        label_ids = {label: i for i, label in enumerate(prepared.labels)}
        window = prepared.log["eval_window"]
        features = self.encode(examples, prepared.tokenizer, label_ids, window)
        cut_to_window(features, window, "evaluation")
        pad = prepared.tokenizer.pad_token_id or 0
        predicted = predict(prepared.model, features, pad, device)
        return self.score(examples, features, predicted, prepared.labels)


def eval_window(model: torch.nn.Module, settings: FineTuneSettings) -> int:
    """The window dev and test examples are encoded at: `eval_max_length`, else the training `max_length`
    (XTREME's `max_seq_length` for training and evaluation alike), at most the model's position table."""
    from mbert_eval.models.encoders import window_length

    return window_length(model, settings.eval_max_length or settings.max_length)


def cut_to_window(features: list[Features], length: int, stage: str) -> int:
    """How many examples filled the whole `length` (their tokens past it were cut, as XTREME's truncation
    does: a word past it counts as an error); says so on stderr when any did."""
    cut = sum(len(f["input_ids"]) >= length for f in features)
    if cut:
        tqdm.write(
            f"{stage}: {cut} of {len(features)} examples fill the whole {length}-token window, longer ones "
            "cut to it (a word past it counts as an error)",
            file=sys.stderr,
        )
    return cut


def feature(encoded, index: int, **fields: object) -> Features:
    """Example `index` of a batch encoding (ids, token types where the model has them) plus `fields`."""
    result: Features = {"input_ids": encoded["input_ids"][index], **fields}
    if "token_type_ids" in encoded:
        result["token_type_ids"] = encoded["token_type_ids"][index]
    return result
