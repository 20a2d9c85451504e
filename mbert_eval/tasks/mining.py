"""BUCC 2018 bitext mining (Zweigenbaum et al. 2018) as XTREME runs it (Hu et al. 2020): no fine-tuning, sentences
pooled like Tatoeba's, pairs mined by ratio margin (Artetxe & Schwenk 2019), F1 at a threshold chosen on dev.

Data per target language: `test` and `dev` each name one split by the target language's BUCC sentence file,
e.g. `test: bucc2018/{lang}-en.test.{lang}` and `dev: bucc2018/{lang}-en.dev.{lang}` (XTREME's names for
BUCC's training and sample sets). The English side and the gold pairs are the files beside it that BUCC names
alike (`{lang}-en.test.en`, `{lang}-en.test.gold`; see `data.bucc`), so one key names a whole split and the
task takes no `pivot` or `gold` key. BUCC is not on the Hub with its unpaired sentences: local files only
(`data.bucc.write_tatoeba_bucc` builds a BUCC-like set from Tatoeba).

Every layer is embedded in one forward pass (see `RetrievalTask.embed`); at each layer the threshold that
maximizes dev F1 is applied to test, and the chosen layer's precision, recall, F1 and threshold are stored
with every layer's F1; each row records the chosen layer (`extra.layer`, from `RetrievalTask.prepare`).

Per-example outputs are per test sentence of the target language (every one, so two models' files hold the same
rows): the true positive, false positive and false negative counts of its own mined and gold pairs (`f1`). Their
bootstrap interval resamples sentences with the mined pairs held as mined: the threshold comes from dev, not
from the test data, but each sentence's margin depends on its neighbours and mining is one-to-one, which the
interval does not redraw (as Tatoeba's holds its candidates fixed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mbert_eval.data.bucc import bucc_paths, read_bucc
from mbert_eval.data.spec import DataSpec
from mbert_eval.data.types import MiningCorpus
from mbert_eval.errors import UserError
from mbert_eval.languages import Language
from mbert_eval.metrics.outputs import ExampleOutputs, Scores
from mbert_eval.models.progress import progress_bar
from mbert_eval.tasks.base import Prepared, local_file, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.retrieval import RETRIEVAL_OPTIONS, RetrievalTask, part

if TYPE_CHECKING:  # torch is imported where embeddings are mined: naming the task needs none
    import torch

SPLITS = ("dev", "test")


@dataclass(frozen=True)
class MiningSplits:
    """One language pair's dev split (for the threshold) and test split; its size is the test's gold pairs."""

    dev: MiningCorpus
    test: MiningCorpus

    def __len__(self) -> int:
        return len(self.test.gold)


class BUCCTask(RetrievalTask):
    """Mine a target language's sentences against English ones; F1 of the mined pairs against BUCC's gold."""

    metadata = TaskMetadata(
        name="bucc",
        xtreme="bucc",
        xtreme_metrics=("f1",),
        version=2,  # 2: dev candidates without a gold pair keep threshold 0, as LASER's bucc_optimize does
        description="BUCC bitext mining by ratio margin, F1 at the threshold best on dev",
        main_metric="f1",
        reference="Zweigenbaum et al. 2018, BUCC; Artetxe & Schwenk 2019 (margin); Hu et al. 2020, XTREME",
        epochs=0,
        options=RETRIEVAL_OPTIONS,
        metric_descriptions={
            "f1": "F1 of the test pairs mined at the chosen layer, at the margin threshold best on dev (main metric)",
            "precision": "share of the mined test pairs that are gold pairs",
            "recall": "share of the gold test pairs that are mined",
            "threshold": "the ratio-margin threshold, chosen where dev F1 is highest (a margin, not a percentage)",
            "f1_layerNN": "the same F1 at layer NN, its threshold chosen on dev at that layer (00: the embeddings)",
        },
        unscaled_metrics=("threshold",),
    )
    data_keys = ("test", "dev")
    limitable = False  # mines whole splits (as it refuses slices)

    def _specs(self, target: Language) -> dict[str, DataSpec]:
        specs = {split: self.spec(split, target) for split in SPLITS}
        for spec in specs.values():
            if spec.start is not None or spec.stop is not None:
                raise UserError(f"task 'bucc' mines whole splits; drop the slice from {spec}")
        return specs

    def data_specs(self, source: Language, target: Language | None = None) -> list[DataSpec]:
        """The six files one target's evaluation reads (both sides and gold of dev and test); none for the source."""
        if target is None:
            return []
        paths = [path for spec in self._specs(target).values() for path in bucc_paths(spec.location)]
        return [DataSpec(str(path)) for path in paths]

    def target_examples(self, target: Language) -> MiningSplits:
        """The dev and test splits of one target language, each read whole."""
        specs = self._specs(target)
        return MiningSplits(*(read_bucc(local_file(specs[split], "bucc")) for split in SPLITS))

    def evaluate(
        self, prepared: Prepared, examples: MiningSplits, device: torch.device, progress: str | None = None
    ) -> Scores:
        """Precision, recall, F1 and threshold at the chosen layer, and F1 at every layer, with the per-sentence
        counts of the chosen layer's F1 (see the module). `progress`: bars over the forward passes of each side
        and over the layers mined (None: none)."""
        from mbert_eval.metrics.mining import mining_scores, sentence_counts

        embedded, gold = {}, {}
        for split in SPLITS:
            corpus: MiningCorpus = getattr(examples, split)
            embedded[split] = (
                self.embed(prepared, list(corpus.source.values()), device, part(progress, f"{split} source side")),
                self.embed(prepared, list(corpus.target.values()), device, part(progress, f"{split} target side")),
            )
            rows = [
                {sentence_id: row for row, sentence_id in enumerate(side)} for side in (corpus.source, corpus.target)
            ]
            gold[split] = {(rows[0][s], rows[1][t]) for s, t in corpus.gold}
        depth = embedded["test"][0].shape[0] - 1
        layer = pick_layer(self.layer, depth, "bucc")
        per_layer = {
            index: mining_scores(
                embedded["dev"][0][index],
                embedded["dev"][1][index],
                gold["dev"],
                embedded["test"][0][index],
                embedded["test"][1][index],
                gold["test"],
            )
            for index in progress_bar(
                range(depth + 1), shown=progress is not None, desc=part(progress, "mining layers"), leave=False
            )
        }
        chosen = per_layer[layer]
        scores = {
            "f1": chosen.f1,
            "precision": chosen.precision,
            "recall": chosen.recall,
            "threshold": chosen.threshold,
        }
        scores.update({f"f1_layer{index:02d}": result.f1 for index, result in per_layer.items()})
        sources, targets = list(examples.test.source), list(examples.test.target)
        gold_of: dict[int, list[str]] = {}
        for source, target in sorted(gold["test"]):
            gold_of.setdefault(source, []).append(targets[target])
        mined = dict(chosen.pairs)
        outputs = ExampleOutputs(
            self.metadata.name,
            "f1",
            "f1",
            [list(counts) for counts in sentence_counts(chosen.pairs, gold["test"], len(sources))],
            [gold_of.get(row, []) for row in range(len(sources))],
            [targets[mined[row]] if row in mined else None for row in range(len(sources))],
        )
        return Scores(scores, outputs)
