"""Bitext retrieval (Tatoeba, as in XTREME): no fine-tuning, nearest neighbours of mean-pooled states.

Sentences are embedded by mean-pooling the hidden states of one layer over their tokens (Hu et al.
2020 use mBERT's layer 8 of 12; Libovický et al. 2019 for mean pooling). One forward pass yields
every layer, so a score per layer comes at no extra cost (Pires et al. 2019 plot such curves); each row records
the layer its main number was taken at (`extra.layer`).

`center: true` subtracts each language's mean vector, over the sentences embedded, from its sentence vectors at
every layer before they are compared (Libovický et al. 2020: the mean carries the language, and removing it makes
the representations more language-neutral); the rows of a centred run say so (`extra.centered: true`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import ParallelPair, read_parallel
from mbert_eval.errors import UserError
from mbert_eval.languages import Language
from mbert_eval.metrics.outputs import ExampleOutputs, Scores
from mbert_eval.tasks.base import Prepared, Task, local_file, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.probing import pooled_states

if TYPE_CHECKING:  # torch is imported where embeddings are computed: naming the task needs none
    import torch


RETRIEVAL_OPTIONS = {
    "layer": "the hidden layer whose states are pooled (default: two thirds of the depth, mBERT's 8)",
    "center": "subtract each language's mean sentence vector before comparing (default: false)",
}


class RetrievalTask(Task):
    """Tatoeba-style retrieval between a target language and the pivot (source) language."""

    metadata = TaskMetadata(
        name="tatoeba",
        xtreme="tatoeba",
        # XTREME's direction: each English sentence retrieves among the target's (its evaluate_retrieval.py indexes
        # the target side and queries it with the English side), not the mean of both directions
        xtreme_metrics=("accuracy_from_pivot",),
        description="Tatoeba bitext retrieval by cosine nearest neighbour, accuracy in both directions",
        main_metric="accuracy",
        reference="Artetxe & Schwenk 2019; Hu et al. 2020, XTREME",
        epochs=0,
        options=RETRIEVAL_OPTIONS,
        metric_descriptions={
            "accuracy": "mean of the two directions' nearest-neighbour accuracy at the chosen layer (main metric)",
            "accuracy_from_pivot": "each pivot (English) sentence retrieves among the target's: XTREME's direction",
            "accuracy_to_pivot": "each target sentence retrieves among the pivot's (English)",
            "accuracy_layerNN": "the mean of the two directions at layer NN (00: the embeddings)",
        },
    )
    needs_training = False
    data_keys = ("test", "pivot")
    paired_keys = ("pivot",)  # line by line with `test`, whose slice picks the pairs
    reads_hub = False
    batch_size: ClassVar[int] = 64  # sentences per forward pass

    def __init__(
        self,
        config: TaskConfig | None = None,
        base_dir: Path = Path("."),
        layer: int | None = None,
        center: bool = False,
    ) -> None:
        super().__init__(config, base_dir)
        self.layer = layer
        self.center = center

    def target_examples(self, target: Language) -> list[ParallelPair]:
        """Line-aligned (target sentence, pivot sentence) pairs; `[a:b]` slices the pairs (then the run's limit)."""
        test, pivot = self.spec("test", target), self.spec("pivot", target)
        pairs = read_parallel(local_file(test, "tatoeba"), local_file(pivot, "tatoeba"))[test.start : test.stop]
        pairs = self.limited(pairs)
        if not pairs:
            raise UserError(f"no examples in {test}")
        return pairs

    def prepare(self, model_spec: str, train: list, dev: list, settings: Any, device: torch.device) -> Prepared:
        """The encoder as it is (no fine-tuning); its log names the layer the main number is taken at (`layer`,
        copied into every row's `extra`), so a row says which layer its score is without reading the config, and
        `centered: true` where each language's mean was subtracted (rows without it, those stored before the
        option among them, were not centred)."""
        prepared = super().prepare(model_spec, train, dev, settings, device)
        prepared.log["layer"] = pick_layer(self.layer, prepared.model.config.num_hidden_layers, self.metadata.name)
        if self.center:
            prepared.log["centered"] = True
        return prepared

    def embed(
        self, prepared: Prepared, sentences: list[str], device: torch.device, progress: str | None = None
    ) -> torch.Tensor:
        """Mean-pooled hidden states of every layer: shape (layers + 1, sentences, hidden), less their mean over
        the sentences with `center` (they are one language's). `progress`: the name of a bar over the forward
        passes (None: no bar)."""
        from mbert_eval.models.encoders import window_length

        encoded = prepared.tokenizer(sentences, truncation=True, max_length=window_length(prepared.model))["input_ids"]
        pad = prepared.tokenizer.pad_token_id or 0
        states = pooled_states(
            prepared.model, [{"input_ids": ids} for ids in encoded], pad, device, self.batch_size, progress
        )
        return states - states.mean(1, keepdim=True) if self.center else states

    def evaluate(
        self, prepared: Prepared, examples: list[ParallelPair], device: torch.device, progress: str | None = None
    ) -> Scores:
        """Accuracy target→pivot and pivot→target at the chosen layer, and their mean per layer. Per pair i (the
        unit resampled, its two sentences together), the mean of its two directions' hits at the chosen layer
        (`mean`), with gold i and the retrieved [pivot, target] rows; chance is 1 / the number of candidates."""
        from mbert_eval.metrics.retrieval import nearest_candidates, retrieval_accuracy

        targets = self.embed(prepared, [p.source for p in examples], device, part(progress, "target side"))
        pivots = self.embed(prepared, [p.target for p in examples], device, part(progress, "pivot side"))
        layer = pick_layer(self.layer, targets.shape[0] - 1, self.metadata.name)
        per_layer = {}
        for index in range(targets.shape[0]):
            to_pivot = retrieval_accuracy(targets[index], pivots[index])
            from_pivot = retrieval_accuracy(pivots[index], targets[index])
            per_layer[index] = (to_pivot, from_pivot)
        to_pivot, from_pivot = per_layer[layer]
        scores = {
            "accuracy": (to_pivot + from_pivot) / 2,
            "accuracy_to_pivot": to_pivot,
            "accuracy_from_pivot": from_pivot,
        }
        scores.update({f"accuracy_layer{i:02d}": (a + b) / 2 for i, (a, b) in per_layer.items()})
        retrieved = [
            nearest_candidates(targets[layer], pivots[layer]).tolist(),
            nearest_candidates(pivots[layer], targets[layer]).tolist(),
        ]
        outputs = ExampleOutputs(
            self.metadata.name,
            "accuracy",
            "mean",
            [[(int(pivot == i) + int(target == i)) / 2] for i, (pivot, target) in enumerate(zip(*retrieved))],
            list(range(len(examples))),
            [list(pair) for pair in zip(*retrieved)],
        )
        return Scores(scores, outputs, 1 / len(examples))


def part(progress: str | None, name: str) -> str | None:
    """The name of a bar for one part of an evaluation named `progress` (None: no bar)."""
    return None if progress is None else f"{progress}: {name}"
