"""Language identity per layer: how well a linear classifier tells the target language from the source in
mean-pooled sentence states.

Libovický et al. (2020, "On the Language Neutrality of Pre-trained Multilingual Representations") train a linear
language classifier on mean-pooled states; the more language-neutral a layer, the lower its accuracy. Here, per
target: the parallel sentence pairs of the target and the source (`tasks.parallel_layers`) are split by index, the
first half's both sides train a logistic regression per layer (`training.probes`) to say which language a sentence
is in, and the second half's both sides test it. A pair is never split, so no sentence is tested whose translation
was trained on; chance is 1/2.

Why two languages per row and not one classifier over all of a grid's languages (chance 1/L, as Libovický et al.):
a cell's rows are one target's each, and a task sees one target's data at a time; one accuracy over all languages
stored under each target would look like a number of that target and would not be one. Each row here is a real
number of its (source, target) pair: how separable the two languages are at each layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mbert_eval.data import ParallelPair
from mbert_eval.tasks.base import Prepared, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.parallel_layers import ParallelLayersTask

if TYPE_CHECKING:
    import torch

    from mbert_eval.metrics.outputs import Scores


class LanguageIdentityTask(ParallelLayersTask):
    """A linear source-or-target language classifier per layer, on held-out parallel sentences."""

    metadata = TaskMetadata(
        name="language_identity",
        description="Linear language identification (source or target) of mean-pooled sentence states, per layer",
        main_metric="accuracy",
        reference="Libovický et al. 2020",
        epochs=0,
        options={"layer": "the layer of the main number (default: two thirds of the depth, mBERT's 8)"},
        metric_descriptions={
            "accuracy": "held-out accuracy of the source-or-target classifier at the chosen layer (main metric; "
            "chance 1/2)",
            "accuracy_layerNN": "held-out accuracy of layer NN's classifier (00: the embeddings)",
        },
    )
    min_pairs = 4  # two to train on, two to test

    def evaluate(
        self, prepared: Prepared, examples: list[ParallelPair], device: torch.device, progress: str | None = None
    ) -> Scores:
        """Held-out accuracy of a per-layer logistic regression that tells target sentences from source ones
        (Libovický et al. 2020), trained on the first half of the pairs, tested on the second; the chosen layer's
        first. Per test pair (the unit resampled, its two sentences together), the mean of its two sentences' hits
        at the chosen layer (`mean`), with the languages predicted for its [target, source] sentences; chance 1/2."""
        import numpy as np

        from mbert_eval.metrics.outputs import ExampleOutputs, Scores
        from mbert_eval.training.probes import fit_linear_probes

        targets, pivots = (side.numpy() for side in self.layer_states(prepared, examples, device, progress))
        half = len(examples) // 2

        def split(part: slice) -> tuple[np.ndarray, np.ndarray]:
            states = np.concatenate([targets[:, part], pivots[:, part]], axis=1)
            count = states.shape[1] // 2
            return states, np.array([1] * count + [0] * count)  # 1: the target language

        train_states, train_labels = split(slice(0, half))
        test_states, test_labels = split(slice(half, None))
        predicted = fit_linear_probes(train_states, train_labels[None]).predict(test_states)[0]
        accuracy = (predicted == test_labels).mean(axis=1)
        layer = pick_layer(self.layer, len(accuracy) - 1, self.metadata.name)
        scores = {"accuracy": float(accuracy[layer])}
        scores.update({f"accuracy_layer{i:02d}": float(score) for i, score in enumerate(accuracy)})
        tested = len(examples) - half
        hits = predicted[layer] == test_labels
        named = np.where(predicted[layer] == 1, "target", "source")
        outputs = ExampleOutputs(
            self.metadata.name,
            "accuracy",
            "mean",
            [[(hits[i] + hits[tested + i]) / 2] for i in range(tested)],
            [["target", "source"]] * tested,
            [[str(named[i]), str(named[tested + i])] for i in range(tested)],
        )
        return Scores(scores, outputs, 0.5)
