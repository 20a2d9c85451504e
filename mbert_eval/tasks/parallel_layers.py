"""What the layer-wise tasks over parallel sentences share (`language_identity`, `similarity`): the sentence pairs
of one target and the source, read from two line-aligned files of any format `data.text.read_sentences` knows
(Tatoeba's plain lines, PUD's CoNLL-U `# text` lines, XNLI's or PAWS-X's pair TSVs, both sides of each row), and
their mean-pooled states at every layer from one forward pass (`tatoeba`'s pooling: Libovický et al. 2019;
Hu et al. 2020).

`test` is the target side, `pivot` the source side (as `tatoeba` reads them); a pair that repeats an earlier one
(XNLI repeats each premise for its three hypotheses) is kept once, and `[a:b]` after `test` slices the distinct
pairs; a pair with PAWS-X's placeholder `NS` on either side is left out. The encoder is frozen (no fine-tuning), and `layer` picks the layer of each row's main number (default: two
thirds of the depth, mBERT's 8); every layer's number is stored beside it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import ParallelPair
from mbert_eval.data.text import read_sentences
from mbert_eval.errors import DataError, UserError
from mbert_eval.languages import Language
from mbert_eval.tasks.base import Prepared, local_file
from mbert_eval.tasks.pair_classification import PLACEHOLDER
from mbert_eval.tasks.retrieval import RetrievalTask, part

if TYPE_CHECKING:
    import torch


class ParallelLayersTask(RetrievalTask):
    """A frozen-encoder task over the parallel sentences of a target and the source, at every layer."""

    min_pairs = 2  # fewer pairs give the task nothing to measure

    def __init__(self, config: TaskConfig | None = None, base_dir: Path = Path("."), layer: int | None = None) -> None:
        super().__init__(config, base_dir, layer)  # never centred: CKA centres itself, identity needs the means

    def target_examples(self, target: Language) -> list[ParallelPair]:
        """The distinct (target sentence, source sentence) pairs of the two files, sliced by `test`'s `[a:b]`, less
        those with a side that is PAWS-X's placeholder `NS` (a sentence left untranslated: no sentence of the
        language; counted for the row, `target_log`); files of unequal sentence counts are refused (they are not
        line-aligned)."""
        test, pivot = self.spec("test", target), self.spec("pivot", target)
        name = self.metadata.name
        targets, pivots = read_sentences(local_file(test, name)), read_sentences(local_file(pivot, name))
        if len(targets) != len(pivots):
            raise DataError(
                test.location,
                f"{len(targets)} sentences, but {pivot.location} has {len(pivots)}; parallel files need the same count",
            )
        selected = list(dict.fromkeys(ParallelPair(t, p) for t, p in zip(targets, pivots)))[test.start : test.stop]
        pairs = [pair for pair in selected if PLACEHOLDER not in (pair.source.strip(), pair.target.strip())]
        self.placeholders[target.code] = len(selected) - len(pairs)
        pairs = self.limited(pairs)
        if len(pairs) < self.min_pairs:
            raise UserError(f"{test}: {len(pairs)} distinct sentence pairs; task '{name}' needs {self.min_pairs}")
        return pairs

    @functools.cached_property
    def placeholders(self) -> dict[str, int]:
        """How many selected pairs of each target held the placeholder (`target_examples` fills it)."""
        return {}

    def target_log(self, prepared: Prepared, target: Language, examples: list[ParallelPair]) -> dict[str, int]:
        """How many of the target's selected pairs held the placeholder (none: nothing added)."""
        dropped = self.placeholders.get(target.code, 0)
        return {"placeholder_pairs_dropped": dropped} if dropped else {}

    def layer_states(
        self, prepared: Prepared, examples: list[ParallelPair], device: torch.device, progress: str | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean-pooled states of the target sides and the source sides at every layer, each (layers + 1, pairs,
        hidden), on the CPU."""
        targets = self.embed(prepared, [pair.source for pair in examples], device, part(progress, "target side"))
        pivots = self.embed(prepared, [pair.target for pair in examples], device, part(progress, "source side"))
        return targets.cpu(), pivots.cpu()
