"""Word alignment against gold links: SimAlign (Jalili Sabet et al. 2020) with the encoder's hidden states, scored
by alignment error rate (Och & Ney 2003; lower is better). No fine-tuning: the encoder as it is.

Data per target language: `test` is either one `source ||| target` file (awesome-align's format; the source
language on the left) or the target side, with `pivot` the source side (line-aligned files, or the simalign
sample's `id<TAB>sentence` files); `gold` holds Pharaoh links (`i-j` sure, `ipj` possible; with id files,
`id<TAB>links` lines, matched to the sentence pairs by id), 0- or 1-indexed as the file shows (see
`read_gold_links`), i indexing the source side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import (
    AlignmentLinks,
    pharaoh,
    read_gold_links,
    read_word_pairs,
)
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.languages import Language
from mbert_eval.metrics.outputs import ExampleOutputs, Scores
from mbert_eval.tasks.base import Prepared, Task, local_file, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata

if TYPE_CHECKING:  # the aligner (torch) is imported when the task is prepared
    import torch

Pair = tuple[list[str], list[str]]


@dataclass(frozen=True)
class GoldAlignments:
    """One language pair's whitespace-tokenized sentence pairs and their gold links."""

    pairs: list[Pair]
    gold: list[AlignmentLinks]
    gold_file: str = ""  # where the gold links were read, for messages

    def __len__(self) -> int:
        return len(self.pairs)


class AlignmentTask(Task):
    """Align each gold pair with SimAlign at one layer; AER for argmax (main), itermax and match."""

    metadata = TaskMetadata(
        name="alignment",
        description="Word alignment of gold-aligned sentence pairs with SimAlign, alignment error rate (lower is better)",
        main_metric="aer",
        higher_is_better=False,
        reference="Och & Ney 2003 (AER); Jalili Sabet et al. 2020, SimAlign",
        epochs=0,
        options={
            "layer": "the hidden layer SimAlign aligns with (default: two thirds of the depth, mBERT's 8)",
            "one_indexed": "gold links count words from 1 (default: read off the file)",
        },
        metric_descriptions={
            "aer": "alignment error rate of SimAlign's argmax links (main metric, lower is better)",
            "aer_itermax": "alignment error rate of itermax links (lower is better)",
            "aer_match": "alignment error rate of match links (lower is better)",
            "precision": "precision of argmax links against possible gold links",
            "recall": "recall of argmax links against sure gold links",
        },
    )
    needs_training = False
    data_keys = ("test", "pivot", "gold")
    optional_data_keys = ("pivot",)
    paired_keys = ("pivot", "gold")  # line by line with `test`, whose slice picks the pairs
    reads_hub = False

    def __init__(
        self,
        config: TaskConfig | None = None,
        base_dir: Path = Path("."),
        layer: int | None = None,
        one_indexed: bool | None = None,
    ) -> None:
        super().__init__(config, base_dir)
        self.layer = layer
        self.one_indexed = one_indexed

    def _specs(self, target: Language) -> dict[str, DataSpec]:
        keys = ["test", "gold"] + (["pivot"] if self.has_data("pivot", target) else [])
        return {key: self.spec(key, target) for key in keys}

    def data_specs(self, source: Language, target: Language | None = None) -> list[DataSpec]:
        """The files one target's evaluation reads (test, gold, and pivot where given); none for the source."""
        return [] if target is None else list(self._specs(target).values())

    def target_examples(self, target: Language) -> GoldAlignments:
        """Sentence pairs (source side first) and gold links of one target language, range-checked."""
        specs = self._specs(target)
        files = {key: local_file(spec, "alignment") for key, spec in specs.items()}
        test, gold, pivot = files["test"], files["gold"], files.get("pivot")
        ids, pairs = read_word_pairs(test) if pivot is None else read_word_pairs(pivot, test)
        lengths = [(len(source), len(target)) for source, target in pairs]
        links = read_gold_links(gold, lengths, self.one_indexed, ids)
        start, stop = specs["test"].start, specs["test"].stop
        examples = GoldAlignments(self.limited(pairs[start:stop]), self.limited(links[start:stop]), str(gold))
        if not examples.pairs:
            raise UserError(f"no examples in {specs['test']}")
        return examples

    def examples_problem(self, train: list, test: GoldAlignments) -> str | None:
        """Gold without any sure (`i-j`) link: recall, measured against sure links, would be 0 and AER 1 - P
        whatever the aligner does (Och & Ney 2003)."""
        if any(links.sure for links in test.gold):
            return None
        return (
            f"{test.gold_file}: no sure links (i-j) in the gold of the {len(test)} pairs evaluated, only possible "
            "ones (ipj): recall and AER need sure links; mark the sure links with '-'"
        )

    def prepare(self, model_spec: str, train: list, dev: list, settings, device: torch.device) -> Prepared:
        """A SimAlign aligner over the encoder, cut at the chosen layer."""
        from mbert_eval.aligner.word_aligner import WordAligner, WordAlignerConfig
        from mbert_eval.models.encoders import encoder_depth

        layer = pick_layer(self.layer, encoder_depth(model_spec), "alignment")
        aligner = WordAligner(WordAlignerConfig(model_spec, layer=layer, device=str(device)))
        return Prepared(aligner, aligner.tokenizer, log={"layer": layer})

    def evaluate(
        self, prepared: Prepared, examples: GoldAlignments, device: torch.device, progress: str | None = None
    ) -> Scores:
        """AER of each SimAlign method, and argmax's precision and recall (Och & Ney 2003). Per sentence pair,
        the link counts argmax's AER sums (`aer`: |A∩S|, |A∩P|, |A|, |S|), with the gold and predicted links in
        Pharaoh notation (`i-j` sure, `ipj` possible only); no chance level."""
        from mbert_eval.metrics.aer import alignment_counts, alignment_scores

        links = prepared.model.align(examples.pairs, progress=progress)
        argmax = alignment_scores(links["argmax"], examples.gold)
        outputs = ExampleOutputs(
            self.metadata.name,
            "aer",
            "aer",
            [list(counts) for counts in alignment_counts(links["argmax"], examples.gold)],
            [pharaoh(gold) for gold in examples.gold],
            [pharaoh(predicted) for predicted in links["argmax"]],
        )
        scores = {
            "aer": argmax.aer,
            "aer_itermax": alignment_scores(links["itermax"], examples.gold).aer,
            "aer_match": alignment_scores(links["match"], examples.gold).aer,
            "precision": argmax.precision,
            "recall": argmax.recall,
        }
        return Scores(scores, outputs)
