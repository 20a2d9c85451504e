"""Cross-lingual similarity per layer: linear CKA between the source's and a target's representations of the same
parallel sentences.

Kornblith et al. (2019) define linear CKA (`metrics.cka`); Conneau et al. (2020, "Emerging Cross-lingual Structure
in Pretrained Language Models") compare languages' representations of parallel sentences with it, layer by layer.
Here: mean-pooled sentence states (`tasks.parallel_layers`) of each target's sentences against their translations
in the source, at every layer. CKA is not zero for unrelated sentences of similar text, so each row also holds the
same CKA with the pairing broken (`cka_unpaired`: sentence i against the translation of sentence i − ⌊n/2⌋, mod n): the
share of the similarity that the translations themselves carry is the distance between the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mbert_eval.data import ParallelPair
from mbert_eval.errors import UserError
from mbert_eval.tasks.base import Prepared, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.parallel_layers import ParallelLayersTask

if TYPE_CHECKING:
    import torch

    from mbert_eval.metrics.outputs import Scores


class SimilarityTask(ParallelLayersTask):
    """Linear CKA per layer between a target's and the source's states of parallel sentences."""

    # over few sentences linear CKA is near 1 whatever the states (2 pairs: exactly 1, paired or not; 3 unrelated
    # random ones: 0.99), a number that looks real and says nothing
    min_pairs = 10

    metadata = TaskMetadata(
        name="similarity",
        description="Linear CKA per layer between source and target states of the same parallel sentences",
        main_metric="cka",
        reference="Kornblith et al. 2019; Conneau et al. 2020",
        version=2,  # 2: pairs with PAWS-X's placeholder `NS` left out (`parallel_layers.target_examples`)
        epochs=0,
        options={"layer": "the layer of the main number (default: two thirds of the depth, mBERT's 8)"},
        metric_descriptions={
            "cka": "linear CKA of the translations' mean-pooled states at the chosen layer (main metric)",
            "cka_unpaired": "the same with each sentence against another's translation (the pairing broken)",
            "cka_layerNN": "linear CKA at layer NN (00: the embeddings)",
            "cka_unpaired_layerNN": "linear CKA at layer NN with the pairing broken",
        },
    )

    def evaluate(
        self, prepared: Prepared, examples: list[ParallelPair], device: torch.device, progress: str | None = None
    ) -> Scores:
        """Linear CKA (Kornblith et al. 2019) of the target's and the source's states at every layer, paired and
        unpaired; the chosen layer's first. CKA is no sum over examples: no per-example outputs, and no chance
        level (the unpaired CKA is its baseline)."""
        import torch

        from mbert_eval.metrics.cka import linear_cka
        from mbert_eval.metrics.outputs import Scores

        targets, pivots = self.layer_states(prepared, examples, device, progress)
        unpaired = torch.roll(pivots, len(examples) // 2, dims=1)
        try:
            paired = [linear_cka(targets[i], pivots[i]) for i in range(len(targets))]
            broken = [linear_cka(targets[i], unpaired[i]) for i in range(len(targets))]
        except ValueError as err:  # a side whose states are all the same: no similarity to measure
            raise UserError(
                f"task 'similarity': {err} (one side's {len(examples)} sentences have the same states at a layer: "
                "are they all one sentence?)"
            ) from None
        layer = pick_layer(self.layer, len(targets) - 1, self.metadata.name)
        scores = {"cka": paired[layer], "cka_unpaired": broken[layer]}
        scores.update({f"cka_layer{i:02d}": score for i, score in enumerate(paired)})
        scores.update({f"cka_unpaired_layer{i:02d}": score for i, score in enumerate(broken)})
        return Scores(scores)
