"""Layer-wise zero-shot probing of sentence pairs: a linear XNLI or PAWS-X probe per layer of the frozen encoder,
trained on the source language, scored on every target.

Tenney et al. (2019) read what each layer of a frozen encoder holds with a linear classifier over it; Conneau et al.
(2018) and Hu et al. (2020) score XNLI and PAWS-X zero-shot by fine-tuning; here nothing is fine-tuned. Each side of
a pair is encoded alone (cut at the training window) and its states mean-pooled per layer over its tokens (the
pooling of `tatoeba`; Reimers & Gurevych 2019), giving u and v; the probe sees SentEval's pair features
[u, v, |u - v|, u * v] (Conneau & Kiela 2018; Conneau et al. 2017, InferSent), with which a linear model can weigh
how the two sides differ, which it could not from one mean over a jointly encoded pair. One logistic regression
per layer (`training.probes`) is fit on the source's training pairs and applied zero-shot to each target's.

No control task (Hewitt & Liang 2019 define theirs over word types, which a sentence pair is not): the baseline
beside every row is the majority guess, the accuracy of always answering the training pairs' most frequent label
(`extra.majority_label`) on that target's pairs, which uniform chance understates where labels are unbalanced
(PAWS-X's dev pairs are 57% non-paraphrases). Rows per target: the probe's `accuracy` at one layer, the `layer`
option, else the best on the source's dev pairs (chosen without target data; `extra.layer`, and
`extra.dev_accuracy_by_layer` holds the dev curve), then `accuracy_layerNN` for every layer (00: the embeddings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import SentencePair
from mbert_eval.tasks.base import Prepared, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.pair_classification import PairClassificationTask, PAWSXData, PAWSXTask, XNLITask, pair_label
from mbert_eval.tasks.probing import layer_choice, pooled_states

if TYPE_CHECKING:  # torch and numpy come with the forward pass: naming the task needs none
    import numpy as np
    import torch

    from mbert_eval.metrics.outputs import Scores
    from mbert_eval.training.fine_tuning import FineTuning
    from mbert_eval.training.probes import LinearProbes

LAYER_OPTION = {"layer": "the layer whose probe gives the main metric (default: the best on the source's dev set)"}
METRICS = {
    "accuracy": "share of pairs the probe labels right at the chosen layer (main metric; extra.layer names it)",
    "accuracy_layerNN": "share of pairs layer NN's probe labels right (00: the embeddings)",
}


@dataclass
class PairProbes:
    """What `prepare` hands to `evaluate`: the frozen encoder and its fitted probes, one per layer."""

    encoder: Any
    probes: LinearProbes


class PairProbeTask(PairClassificationTask):
    """A linear sentence-pair probe on every layer of the frozen encoder (source-trained, zero-shot)."""

    batch_size = 32  # pairs per forward pass
    fine_tunes = False  # each probe is fit to convergence (`training.probes`): no epochs

    def __init__(self, config: TaskConfig | None = None, base_dir: Path = Path("."), layer: int | None = None) -> None:
        super().__init__(config, base_dir)
        self.layer = layer

    def prepare(
        self, model_spec: str, train: list, dev: list, fine_tuning: FineTuning, device: torch.device
    ) -> Prepared:
        """Fit a probe per layer on the source's training pairs' features (Tenney et al. 2019; Conneau & Kiela 2018)
        and pick the main metric's layer (`layer`, else the best on dev), each side cut at the training window
        (`training.max_length`)."""
        import numpy as np

        from mbert_eval.models.encoders import load_model, load_tokenizer
        from mbert_eval.tasks.fine_tuned import eval_window
        from mbert_eval.training.probes import fit_linear_probes

        labels = self.label_set(train)
        tokenizer = load_tokenizer(model_spec)
        encoder = load_model(model_spec).to(device)
        window = eval_window(encoder, fine_tuning.training)
        depth = encoder.config.num_hidden_layers
        layer = pick_layer(self.layer, depth, self.metadata.name) if self.layer is not None else None
        states = self.pair_features(encoder, tokenizer, window, train, device, "source")
        gold = np.array([labels.index(pair_label(pair)) for pair in train])
        probed = PairProbes(encoder, fit_linear_probes(states, gold[None]))
        prepared = Prepared(probed, tokenizer, labels, {"eval_window": window})
        dev_accuracy = self.layer_accuracy(prepared, dev, device, None)[0]
        majority = max(labels, key=lambda label: (int((gold == labels.index(label)).sum()), label))
        prepared.log.update(
            layer_choice(dev_accuracy, layer, probed.probes), train_pairs=len(train), majority_label=majority
        )
        return prepared

    def layer_accuracy(
        self, prepared: Prepared, pairs: list[SentencePair], device: torch.device, progress: str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per layer, the probes' accuracy on `pairs`, and their predicted label indices (layers + 1, pairs)."""
        import numpy as np

        probed: PairProbes = prepared.model
        window = prepared.log["eval_window"]
        states = self.pair_features(probed.encoder, prepared.tokenizer, window, pairs, device, progress)
        predicted = probed.probes.predict(states)[0]
        known = {label: index for index, label in enumerate(prepared.labels)}
        gold = np.array([known.get(pair_label(pair), -1) for pair in pairs])  # -1: a label training never had
        return (predicted == gold).mean(axis=1), predicted

    def pair_features(
        self,
        encoder: torch.nn.Module,
        tokenizer: Any,
        window: int,
        pairs: list[SentencePair],
        device: torch.device,
        progress: str | None,
    ) -> np.ndarray:
        """SentEval's features of each pair at every layer (Conneau & Kiela 2018): [u, v, |u - v|, u * v] from the
        mean-pooled states u and v of its two sides, each encoded alone; (layers + 1, pairs, 4 × hidden)."""
        import numpy as np

        pad = tokenizer.pad_token_id or 0
        sides = []
        for name, texts in (("first", [pair.first for pair in pairs]), ("second", [pair.second for pair in pairs])):
            encoded = tokenizer(texts, truncation=True, max_length=window)["input_ids"]
            features = [{"input_ids": ids} for ids in encoded]
            part = f"{progress}: {name} sides" if progress else None
            sides.append(pooled_states(encoder, features, pad, device, self.batch_size, part).cpu().numpy())
        u, v = sides
        return np.concatenate([u, v, np.abs(u - v), u * v], axis=2)

    def evaluate(
        self, prepared: Prepared, examples: list[SentencePair], device: torch.device, progress: str | None = None
    ) -> Scores:
        """The probes' accuracy on one target's pairs at every layer, the chosen layer's first (Tenney et al.
        2019). Per pair (the unit resampled), 1 where the chosen layer's probe labels it right (`mean`), with the
        gold and predicted labels; chance is the majority guess's accuracy on these pairs."""
        from mbert_eval.metrics.outputs import ExampleOutputs, Scores

        accuracy, predicted = self.layer_accuracy(prepared, examples, device, progress)
        layer = prepared.log["layer"]
        scores = {"accuracy": float(accuracy[layer])}
        scores.update({f"accuracy_layer{index:02d}": float(score) for index, score in enumerate(accuracy)})
        gold = [pair_label(pair) for pair in examples]
        guessed = [prepared.labels[int(index)] for index in predicted[layer]]
        hits = [[float(want == got)] for want, got in zip(gold, guessed)]
        outputs = ExampleOutputs(self.metadata.name, "accuracy", "mean", hits, gold, guessed)
        majority = sum(label == prepared.log["majority_label"] for label in gold) / len(gold)
        return Scores(scores, outputs, majority)


class XNLIProbeTask(PairProbeTask):
    """A linear XNLI probe per layer of the frozen encoder (Conneau et al. 2018's data, Tenney et al. 2019's probe)."""

    metadata = TaskMetadata(
        name="xnli_probe",
        description="Linear XNLI probe on every layer of the frozen encoder (source-trained, zero-shot), accuracy",
        main_metric="accuracy",
        reference="Conneau et al. 2018, XNLI; Tenney et al. 2019",
        epochs=1,  # unused: each probe is fit to convergence (`training.probes`)
        hub_train=XNLITask.metadata.hub_train,
        hub_dev=XNLITask.metadata.hub_dev,
        hub_test=XNLITask.metadata.hub_test,
        options=LAYER_OPTION,
        metric_descriptions=METRICS,
    )


class PAWSXProbeTask(PAWSXData, PairProbeTask):
    """A linear PAWS-X probe per layer of the frozen encoder (Yang et al. 2019's data, Tenney et al. 2019's probe)."""

    metadata = TaskMetadata(
        name="pawsx_probe",
        version=2,  # 2: pairs holding PAWS-X's placeholder `NS` left out (`PAWSXData`)
        description="Linear PAWS-X probe on every layer of the frozen encoder (source-trained, zero-shot), accuracy",
        main_metric="accuracy",
        reference="Yang et al. 2019, PAWS-X; Tenney et al. 2019",
        epochs=1,  # unused: each probe is fit to convergence (`training.probes`)
        hub_train=PAWSXTask.metadata.hub_train,
        hub_dev=PAWSXTask.metadata.hub_dev,
        hub_test=PAWSXTask.metadata.hub_test,
        options=LAYER_OPTION,
        metric_descriptions=METRICS,
    )
