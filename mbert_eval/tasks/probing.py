"""Layer-wise zero-shot probing: a linear POS probe per layer of the frozen encoder, trained on the source language,
scored on every target, with a control task per layer.

Tenney et al. (2019) and de Vries et al. (2020) read what each layer of a frozen encoder holds by training a linear
classifier on it; here one per layer, trained on the source language's words and applied zero-shot to each target
(the probes never see target data). One forward pass gives every layer's state of each word at the subword
`pos` labels it at (`label_subword`, see `tasks.tagging`), a sentence longer than the training window split into
pieces of whole words as `pos` splits it (only a word longer than the window alone gets no prediction, and counts as
wrong). The probes are `training.probes`' logistic regressions.

Hewitt & Liang (2019): a probe's accuracy alone does not say whether the representation encodes the property or the
probe learnt it; their control task gives each word type a random label drawn from the training tags' distribution,
and the same probe trained on those labels measures what the probe can memorise. Selectivity is accuracy minus
control accuracy. A type's control label is a seeded hash of the type (its exact form) mapped through that
distribution, so a type keeps its label in every language and types training never saw get their own.

Rows per target: the probe's accuracy (main metric) and selectivity at one layer, the `layer` option, else the
layer with the best accuracy on the source's dev set (chosen without target data; each row's `extra.layer` names
it, `extra.dev_accuracy_by_layer` holds the dev curve); then `accuracy_layerNN`, `control_layerNN` and
`selectivity_layerNN` for every layer (00: the embeddings).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import TaggedSentence
from mbert_eval.errors import UserError
from mbert_eval.models.progress import progress_bar
from mbert_eval.tasks.base import Prepared, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.tagging import LABEL_SUBWORDS, NO_PREDICTION, TAGGING_OPTIONS, UNSEEN_LABELS, POSTask
from mbert_eval.training.features import Features

if TYPE_CHECKING:  # torch and numpy come with the forward pass: naming the task needs none
    import numpy as np
    import torch

    from mbert_eval.metrics.outputs import Scores
    from mbert_eval.training.fine_tuning import FineTuning
    from mbert_eval.training.probes import LinearProbes


@dataclass(frozen=True)
class ControlTask:
    """Hewitt & Liang's (2019) control task: each word type's label drawn from the training tags' distribution,
    by a seeded hash of the type (so every type, seen in training or not, has one fixed label)."""

    tags: tuple[str, ...]
    cumulative: tuple[int, ...]  # running counts of `tags` in the training words
    seed: int

    @classmethod
    def of(cls, sentences: list[TaggedSentence], seed: int) -> ControlTask:
        """The control task of training `sentences` (their tag distribution), under `seed`."""
        counts = Counter(tag for sentence in sentences for tag in sentence.tags)
        tags = tuple(sorted(counts))
        return cls(tags, tuple(accumulate(counts[tag] for tag in tags)), seed)

    def label(self, word: str) -> str:
        """The control label of a word type (Hewitt & Liang 2019)."""
        digest = hashlib.blake2b(f"{self.seed}\0{word}".encode(), digest_size=8).digest()
        draw = int.from_bytes(digest, "big") * self.cumulative[-1] >> 64  # uniform in [0, training words)
        return self.tags[bisect_right(self.cumulative, draw)]


@dataclass
class Probed:
    """What `prepare` hands to `evaluate`: the frozen encoder, the fitted probes (task labels, then control
    labels) and the control task."""

    encoder: Any
    probes: LinearProbes
    control: ControlTask


class POSProbeTask(POSTask):
    """A linear UPOS probe per layer of the frozen encoder, with Hewitt & Liang's control task."""

    fine_tunes = False  # each probe is fit to convergence (`training.probes`): no epochs

    metadata = TaskMetadata(
        name="pos_probe",
        description="Linear UPOS probe on every layer of the frozen encoder (source-trained, zero-shot), "
        "with a control task",
        main_metric="accuracy",
        reference="Tenney et al. 2019; Hewitt & Liang 2019; de Vries et al. 2020",
        epochs=1,  # unused: each probe is fit to convergence (`training.probes`)
        hub_train=POSTask.metadata.hub_train,
        hub_dev=POSTask.metadata.hub_dev,
        hub_test=POSTask.metadata.hub_test,
        options={
            **TAGGING_OPTIONS,
            "layer": "the layer whose probe gives the main metric (default: the best on the source's dev set)",
        },
        metric_descriptions={
            "accuracy": "word accuracy of the probe at the chosen layer (main metric; extra.layer names it)",
            "selectivity": "accuracy minus control-task accuracy at the chosen layer (Hewitt & Liang 2019)",
            "accuracy_layerNN": "word accuracy of layer NN's probe (00: the embeddings)",
            "control_layerNN": "control-task accuracy of layer NN's probe on the target's words",
            "selectivity_layerNN": "accuracy minus control accuracy at layer NN",
        },
    )
    batch_size = 32  # sentences per forward pass

    def __init__(
        self,
        config: TaskConfig | None = None,
        base_dir: Path = Path("."),
        label_subword: str = LABEL_SUBWORDS[0],
        unseen_labels: str = UNSEEN_LABELS[0],
        layer: int | None = None,
    ) -> None:
        super().__init__(config, base_dir, label_subword, unseen_labels)
        self.layer = layer

    def tags_problem(self, train: list) -> str | None:
        """A probe tells tags apart: training data with one tag has nothing to tell (None: it has two or more)."""
        labels = self.label_set(train)
        return (
            None
            if len(labels) > 1
            else f"{self.metadata.name}: the training data has one tag ({labels[0]}); a probe needs two"
        )

    def examples_problem(self, train: list, test: list) -> str | None:
        """The training data's tags (`tags_problem`), then the tagging tasks' check of the test data against it,
        before anything runs (`validate` asks it of local files)."""
        return self.tags_problem(train) or super().examples_problem(train, test)

    def prepare(
        self, model_spec: str, train: list, dev: list, fine_tuning: FineTuning, device: torch.device
    ) -> Prepared:
        """Fit a probe per layer on the source's training words, for their tags and for their control labels,
        and pick the main metric's layer (`layer`, else the best on dev). The window is the training window, as
        `pos` encodes its training data (`training.max_length`)."""
        import numpy as np

        from mbert_eval.models.encoders import load_model, load_tokenizer
        from mbert_eval.tasks.fine_tuned import eval_window
        from mbert_eval.training.probes import fit_linear_probes

        problem = self.tags_problem(train)
        if problem:
            raise UserError(problem)
        labels = self.label_set(train)
        tokenizer = load_tokenizer(model_spec)
        encoder = load_model(model_spec).to(device)
        window = eval_window(encoder, fine_tuning.training)
        depth = encoder.config.num_hidden_layers
        layer = pick_layer(self.layer, depth, self.metadata.name) if self.layer is not None else None
        control = ControlTask.of(train, fine_tuning.seed)
        states, places = self.word_states(encoder, tokenizer, window, train, device, f"{self.metadata.name} source")
        tags = np.array([labels.index(train[s].tags[w]) for s, w in places])
        controls = np.array([labels.index(control.label(train[s].tokens[w])) for s, w in places])
        probed = Probed(encoder, fit_linear_probes(states, np.stack([tags, controls])), control)
        prepared = Prepared(probed, tokenizer, labels, {"eval_window": window})
        dev_accuracy = self.layer_scores(prepared, dev, device, None)[0]["accuracy"]
        prepared.log.update(layer_choice(dev_accuracy, layer, probed.probes), train_words=len(places))
        return prepared

    def word_states(
        self,
        encoder: torch.nn.Module,
        tokenizer: Any,
        window: int,
        sentences: list[TaggedSentence],
        device: torch.device,
        progress: str | None,
    ) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Every layer's state of each word at the subword `pos` labels it at, (layers + 1, words, hidden), and
        the place (sentence, word) of each word that has a subword, in sentence order (Tenney et al. 2019 probe
        such frozen states). A sentence longer than the window comes in pieces (`encode`), in order: a piece's
        words follow the words of its sentence's pieces before it."""
        features = self.encode(sentences, tokenizer, {}, window)  # the labels are read off the sentences
        places, before, last = [], 0, None
        for feature in features:
            sentence = int(feature["sentence"])
            before = before if sentence == last else 0  # the words of the sentence's earlier pieces
            places += [(sentence, before + index) for index, start in enumerate(feature["word_starts"]) if start >= 0]
            before, last = before + len(feature["word_starts"]), sentence
        pad = tokenizer.pad_token_id or 0
        return encoder_word_states(encoder, features, pad, device, self.batch_size, progress), places

    def layer_scores(
        self, prepared: Prepared, sentences: list[TaggedSentence], device: torch.device, progress: str | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray, list[tuple[int, int]]]:
        """Per layer, the probes' word accuracy on `sentences` for their tags (`accuracy`) and for their control
        labels (`control`, Hewitt & Liang 2019), a word without a subword in its window wrong in both; with the tag probes'
        predictions, (layers + 1, words inside the window), and those words' places (sentence, word)."""
        import numpy as np

        probed: Probed = prepared.model
        window = prepared.log["eval_window"]
        states, places = self.word_states(probed.encoder, prepared.tokenizer, window, sentences, device, progress)
        total = sum(len(sentence.tokens) for sentence in sentences)
        predicted = np.array(prepared.labels)[probed.probes.predict(states)]  # (2, layers + 1, words): tags
        gold = np.array([sentences[s].tags[w] for s, w in places])
        controls = np.array([probed.control.label(sentences[s].tokens[w]) for s, w in places])
        accuracy = {
            "accuracy": (predicted[0] == gold).sum(axis=1) / total,
            "control": (predicted[1] == controls).sum(axis=1) / total,
        }
        return accuracy, predicted[0], places

    def evaluate(
        self, prepared: Prepared, examples: list[TaggedSentence], device: torch.device, progress: str | None = None
    ) -> Scores:
        """The probes' accuracy, control accuracy and selectivity (Hewitt & Liang 2019) on one target's words, at
        every layer; the chosen layer's accuracy first. Per sentence (the unit resampled), the chosen layer's
        correct words and words (`ratio`), with the gold tags and the predicted ones (`_`: no subword in its window);
        chance is 1 / the number of tags."""
        from mbert_eval.metrics.outputs import ExampleOutputs, Scores

        scores, predicted, places = self.layer_scores(prepared, examples, device, progress)
        accuracy, control = scores["accuracy"], scores["control"]
        layer = prepared.log["layer"]
        result = {"accuracy": float(accuracy[layer]), "selectivity": float(accuracy[layer] - control[layer])}
        for index in range(len(accuracy)):
            result[f"accuracy_layer{index:02d}"] = float(accuracy[index])
            result[f"control_layer{index:02d}"] = float(control[index])
            result[f"selectivity_layer{index:02d}"] = float(accuracy[index] - control[index])
        tags = [[NO_PREDICTION] * len(sentence.tokens) for sentence in examples]
        for (sentence, word), tag in zip(places, predicted[layer]):
            tags[sentence][word] = str(tag)
        gold = [list(sentence.tags) for sentence in examples]
        stats = [[sum(g == p for g, p in zip(want, got)), len(want)] for want, got in zip(gold, tags)]
        outputs = ExampleOutputs(self.metadata.name, "accuracy", "ratio", stats, gold, tags)
        return Scores(result, outputs, 1 / len(prepared.labels))


def layer_choice(dev_accuracy: np.ndarray, layer: int | None, probes: LinearProbes) -> dict[str, Any]:
    """What a probe task's rows say of their main layer (`layer`, else the best on the source's dev set: chosen
    without target data) and of its probes: the layer, why it was chosen, the dev curve, and how many probes
    stopped before converging."""
    import numpy as np

    return {
        "layer": int(np.argmax(dev_accuracy)) if layer is None else layer,
        "layer_chosen_on": "source dev accuracy" if layer is None else "the layer option",
        "dev_accuracy_by_layer": [round(float(score), 4) for score in dev_accuracy],
        "probes_unconverged": probes.unconverged,
    }


def hidden_state_batches(
    encoder: torch.nn.Module,
    features: list[Features],
    pad_id: int,
    device: torch.device,
    batch_size: int,
    progress: str | None,
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """One forward pass per length-sorted batch of `features` under `torch.inference_mode`, yielding the batch's
    feature indices, every hidden layer's states (layers + 1, batch, length, hidden; NaN or infinite ones are a
    UserError: `finite_states`) and its attention mask (batch, length); `progress` names a bar over the batches
    (None: no bar)."""
    import torch

    from mbert_eval.models.encoders import autocast, finite_states
    from mbert_eval.training.batches import collate, length_sorted_batches

    keys = [key for key in ("input_ids", "token_type_ids") if features and key in features[0]]
    encoder.eval()
    with torch.inference_mode(), autocast(device):
        batches = length_sorted_batches(features, batch_size)
        for indices in progress_bar(batches, shown=progress is not None, desc=progress, leave=False):
            batch = collate([{key: features[i][key] for key in keys} for i in indices], pad_id, device)
            states = torch.stack(encoder(**batch, output_hidden_states=True).hidden_states)
            yield indices, finite_states(states, encoder), batch["attention_mask"]


def pooled_states(
    encoder: torch.nn.Module,
    features: list[Features],
    pad_id: int,
    device: torch.device,
    batch_size: int,
    progress: str | None,
) -> torch.Tensor:
    """Every hidden layer's mean over each feature's tokens (padding left out), in feature order: (layers + 1,
    features, hidden), float32, on `device` (the sentence vectors of Pires et al. 2019 and Libovický et al. 2020)."""
    import torch

    layers, hidden = encoder.config.num_hidden_layers + 1, encoder.config.hidden_size
    states = torch.empty((layers, len(features), hidden), dtype=torch.float32, device=device)
    for indices, layer_states, mask in hidden_state_batches(encoder, features, pad_id, device, batch_size, progress):
        weights = mask[None, :, :, None].to(layer_states.dtype)
        states[:, torch.tensor(indices, device=device)] = ((layer_states * weights).sum(2) / weights.sum(2)).float()
    return states


def encoder_word_states(
    encoder: torch.nn.Module,
    features: list[Features],
    pad_id: int,
    device: torch.device,
    batch_size: int,
    progress: str | None,
) -> np.ndarray:
    """Every hidden layer's state at each feature's `word_starts` (those inside the window), in feature order:
    (layers + 1, words, hidden), float32."""
    import numpy as np

    starts = [[start for start in feature["word_starts"] if start >= 0] for feature in features]
    offsets = [0, *accumulate(len(positions) for positions in starts)]
    layers, hidden = encoder.config.num_hidden_layers + 1, encoder.config.hidden_size
    states = np.zeros((layers, offsets[-1], hidden), dtype=np.float32)
    for indices, layer_states, _ in hidden_state_batches(encoder, features, pad_id, device, batch_size, progress):
        for row, index in enumerate(indices):
            picked = layer_states[:, row, starts[index]].float().cpu().numpy()
            states[:, offsets[index] : offsets[index + 1]] = picked
    return states
