"""Language identity per layer: how well a linear classifier tells languages apart in mean-pooled sentence states.

Libovický et al. (2020, "On the Language Neutrality of Pre-trained Multilingual Representations") train one linear
language classifier over all their languages on mean-pooled states (chance 1/L); the more language-neutral a layer,
the lower its accuracy. This task has two modes, each a logistic regression per layer (`training.probes`) on the
parallel sentences of `tasks.parallel_layers`, tested on sentences none of whose translations it was trained on.

Pairwise (the default): per target, one source-or-target classifier (chance 1/2). The pairs are split by index,
the first half's both sides train it and the second half's both sides test it; a pair is never split. Each row is
a number of its (source, target) pair alone: how separable the two languages are at each layer.

`all_languages: true` (Libovický et al.'s setting): one classifier per layer over L languages, the source and every
language of the task's own `targets:` (chance 1/L). The L languages are part of a cell's identity (`joint_targets`);
the mode reads them from the task's `targets:` (the grid's are every task's) and is refused without. `prepare` reads
every listed language's pairs and splits them by source sentence (`split_by_pivot`): the first half of the first
listed language's distinct source sentences are the training ones; every language's pair trains iff its source
sentence is one of them (the source class trains on those and tests on the rest). Each target's row then holds its
recall, the share of its held-out sentences the L-way classifier assigns to it, per layer; every row's `extra`
says `all_languages: L` and holds the L-way accuracy per layer (`overall_accuracy_by_layer`: the mean recall over
all L languages, source included; Libovický et al.'s number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data import ParallelPair
from mbert_eval.errors import UserError
from mbert_eval.languages import Language, lookup
from mbert_eval.tasks.base import Prepared, pick_layer
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.parallel_layers import ParallelLayersTask

if TYPE_CHECKING:
    import numpy as np
    import torch

    from mbert_eval.metrics.outputs import Scores

SOURCE_CLASS = "source"  # the source language's class (prepare does not know the cell's source code)
TARGET_CLASS = "target"  # the target's class in the pairwise mode (its pairs, split as one language's)


@dataclass(frozen=True)
class PivotSplit:
    """Every language's pairs split by their source (pivot) sentence: `train[code]` and `test[code]` are its
    training and held-out pairs; `source_train` and `source_test` the source sentences of each side."""

    train: dict[str, list[ParallelPair]]
    test: dict[str, list[ParallelPair]]
    source_train: list[str]
    source_test: list[str]


def split_by_pivot(pairs: dict[str, list[ParallelPair]]) -> PivotSplit:
    """Split every language's (target sentence, source sentence) pairs so that no held-out sentence's translation
    (in the source or, through the shared source sentence, in another language) was trained on: the first half of
    the first language's distinct source sentences are the training set P; a pair trains iff its source sentence
    is in P, else it is held out (unless its target sentence is itself a training sentence of its language, with
    another source sentence: then it is dropped). The source class trains on P and holds out every other source
    sentence of the pairs. A language or the source with nothing on either side is refused: its files are not
    translations of the first language's source sentences."""
    first = next(iter(pairs.values()))
    pivots = list(dict.fromkeys(pair.target for pair in first))
    trained = set(pivots[: len(pivots) // 2])
    train, test = {}, {}
    for code, found in pairs.items():
        train[code] = [pair for pair in found if pair.target in trained]
        seen = {pair.source for pair in train[code]}
        test[code] = [pair for pair in found if pair.target not in trained and pair.source not in seen]
    every = dict.fromkeys(pair.target for found in pairs.values() for pair in found)
    split = PivotSplit(train, test, [p for p in every if p in trained], [p for p in every if p not in trained])
    first_code = next(iter(pairs))
    if not split.source_train or not split.source_test:
        raise UserError(
            f"task 'language_identity': {first_code}'s pairs hold {len(pivots)} distinct source sentence(s), too few "
            "to hold some out from training"
        )
    for code in pairs:
        if not split.train[code] or not split.test[code]:
            raise UserError(
                f"task 'language_identity' (all_languages): {code} has {len(split.train[code])} pairs to train on "
                f"and {len(split.test[code])} to test; its source sentences must be those of {first_code}'s pairs "
                f"(multi-parallel files), half of which train"
            )
    return split


@dataclass
class LanguagesPrepared(Prepared):
    """`Prepared` of the L-way mode: the classes (`SOURCE_CLASS` first, then each target code), each target's pairs
    as read (what `evaluate` is handed) and the class the classifier predicts for its held-out sentences at every
    layer, (layers + 1, held-out sentences)."""

    classes: list[str] = field(default_factory=list)
    pairs: dict[str, list[ParallelPair]] = field(default_factory=dict)
    held_out: dict[str, Any] = field(default_factory=dict)


class LanguageIdentityTask(ParallelLayersTask):
    """A linear language classifier per layer, on held-out parallel sentences: source or target (pairwise), or
    one over the source and all the task's targets (`all_languages`)."""

    metadata = TaskMetadata(
        name="language_identity",
        description="Linear language identification of mean-pooled sentence states, per layer: source or target, "
        "or one classifier over all the task's languages",
        main_metric="accuracy",
        reference="Libovický et al. 2020",
        # 2: a held-out pair's statistic is the mean of its two hits (was 1/2 where either hit); 3: pairwise, split by
        # source sentence (a sentence with two translations was trained on and tested); PAWS-X's `NS` left out
        version=3,
        epochs=0,
        options={
            "layer": "the layer of the main number (default: two thirds of the depth, mBERT's 8)",
            "all_languages": "one classifier over the source and every language of the task's own `targets:` "
            "(chance 1/L; Libovický et al. 2020) instead of one source-or-target classifier per target "
            "(default: false)",
        },
        metric_descriptions={
            "accuracy": "held-out accuracy of the source-or-target classifier at the chosen layer (main metric; "
            "chance 1/2); with all_languages, the target's held-out recall under the L-way classifier (chance 1/L)",
            "accuracy_layerNN": "the same of layer NN's classifier (00: the embeddings)",
        },
    )
    min_pairs = 4  # two to train on, two to test

    def __init__(
        self,
        config: TaskConfig | None = None,
        base_dir: Path = Path("."),
        layer: int | None = None,
        all_languages: bool = False,
    ) -> None:
        super().__init__(config, base_dir, layer)
        self.all_languages = bool(all_languages)
        if self.all_languages and not self.config.targets:
            raise UserError(
                "all_languages needs the task's own `targets:`: they name the classifier's languages besides the source"
            )

    def joint_targets(self) -> list[str] | None:
        """With `all_languages`, the L-way classifier's languages other than the source (the task's `targets:`,
        each once, as `languages_split` reads them): every target's recall depends on them all (Libovický et
        al. 2020)."""
        if not self.all_languages:
            return None
        return list(dict.fromkeys(lookup(code).code for code in self.config.targets or ()))

    def languages_problem(self, sources: list[Language], targets: list[Language]) -> str | None:
        """With `all_languages`, a target that is also a source is refused: the source's sentences are the pivot
        sides, a class already, and a second class of the same sentences would split them at random."""
        both = [language.code for language in targets if language in sources]
        if self.all_languages and both:
            return f"all_languages: target {', '.join(both)} is the source, a class already; leave it out of targets"
        return None

    def languages_split(self) -> tuple[dict[str, list[ParallelPair]], PivotSplit]:
        """With `all_languages`: the pairs of every language of the task's `targets:` (in their order, each once)
        and their split by source sentence (`split_by_pivot`); a UserError where two languages have the same pairs
        (`evaluate` tells a target by its pairs) or the split leaves one nothing to train on or test."""
        codes = self.joint_targets() or []
        pairs = {code: self.target_examples(lookup(code)) for code in codes}
        for index, code in enumerate(codes):
            same = next((other for other in codes[:index] if pairs[other] == pairs[code]), None)
            if same is not None:
                raise UserError(f"task 'language_identity' (all_languages): {code} has the same pairs as {same}")
        return pairs, split_by_pivot(pairs)

    def data_problem(self) -> str | None:
        """With `all_languages`, why the L languages' pairs cannot be split and told apart (`languages_split`)."""
        if not self.all_languages:
            return None
        try:
            self.languages_split()
        except UserError as err:
            return str(err)
        return None

    def prepare(self, model_spec: str, train: list, dev: list, settings: Any, device: torch.device) -> Prepared:
        """The encoder as it is; with `all_languages`, also the L-way classifier per layer, fitted on every
        listed language's training sentences (`split_by_pivot`), and its predictions for their held-out ones."""
        prepared = super().prepare(model_spec, train, dev, settings, device)
        if not self.all_languages:
            return prepared
        import numpy as np

        from mbert_eval.training.probes import fit_linear_probes

        pairs, split = self.languages_split()
        codes = list(pairs)

        def states(sentences: list[str]) -> np.ndarray:
            return self.embed(prepared, sentences, device).cpu().numpy()

        sides = [(split.source_train, split.source_test)] + [
            ([p.source for p in split.train[code]], [p.source for p in split.test[code]]) for code in codes
        ]
        train_states, test_states, train_labels, test_counts = [], [], [], []
        for label, (trained, tested) in enumerate(sides):
            both = states(trained + tested)
            train_states.append(both[:, : len(trained)])
            test_states.append(both[:, len(trained) :])
            train_labels += [label] * len(trained)
            test_counts.append(len(tested))
        probes = fit_linear_probes(np.concatenate(train_states, axis=1), np.array([train_labels]))
        predicted = probes.predict(np.concatenate(test_states, axis=1))[0]  # (layers + 1, held-out sentences)
        bounds = np.cumsum([0, *test_counts])
        recalls = np.stack(
            [(predicted[:, bounds[k] : bounds[k + 1]] == k).mean(axis=1) for k in range(len(sides))]
        )  # (L, layers + 1)
        ready = LanguagesPrepared(prepared.model, prepared.tokenizer, prepared.labels, prepared.log)
        ready.classes = [SOURCE_CLASS, *codes]
        ready.pairs = pairs
        ready.held_out = {code: predicted[:, bounds[k + 1] : bounds[k + 2]] for k, code in enumerate(codes)}
        ready.log["all_languages"] = len(sides)
        ready.log["overall_accuracy_by_layer"] = [float(value) for value in recalls.mean(axis=0)]
        return ready

    def evaluate(
        self, prepared: Prepared, examples: list[ParallelPair], device: torch.device, progress: str | None = None
    ) -> Scores:
        """Pairwise: held-out accuracy of a per-layer logistic regression that tells target sentences from source
        ones (Libovický et al. 2020), trained on the pairs of the first half of the distinct source sentences and
        tested on the others' (`split_by_pivot`: no sentence is tested that was trained on, nor a translation of
        one); the chosen layer's first. Per test pair (the unit resampled, its two sentences together), the mean of its two
        sentences' hits at the chosen layer (`mean`), with the languages predicted for its [target, source]
        sentences; chance 1/2. With `all_languages`: the target's recall under the L-way classifier `prepare`
        fitted (`_target_recall`)."""
        if isinstance(prepared, LanguagesPrepared):
            return self._target_recall(prepared, examples)
        import numpy as np

        from mbert_eval.metrics.outputs import ExampleOutputs, Scores
        from mbert_eval.training.probes import fit_linear_probes

        targets, pivots = (side.numpy() for side in self.layer_states(prepared, examples, device, progress))
        split = split_by_pivot({TARGET_CLASS: examples})
        place = {pair: index for index, pair in enumerate(examples)}  # the pairs are distinct (`target_examples`)

        def side(pairs: list[ParallelPair]) -> tuple[np.ndarray, np.ndarray]:
            indices = [place[pair] for pair in pairs]
            states = np.concatenate([targets[:, indices], pivots[:, indices]], axis=1)
            return states, np.array([1] * len(indices) + [0] * len(indices))  # 1: the target language

        train_states, train_labels = side(split.train[TARGET_CLASS])
        test_states, test_labels = side(split.test[TARGET_CLASS])
        predicted = fit_linear_probes(train_states, train_labels[None]).predict(test_states)[0]
        accuracy = (predicted == test_labels).mean(axis=1)
        layer = pick_layer(self.layer, len(accuracy) - 1, self.metadata.name)
        scores = {"accuracy": float(accuracy[layer])}
        scores.update({f"accuracy_layer{i:02d}": float(score) for i, score in enumerate(accuracy)})
        tested = len(split.test[TARGET_CLASS])
        hits = (predicted[layer] == test_labels).astype(float)  # numbers: two numpy bools add as `or`
        named = np.where(predicted[layer] == 1, "target", "source")
        outputs = ExampleOutputs(
            self.metadata.name,
            "accuracy",
            "mean",
            [[float(hits[i] + hits[tested + i]) / 2] for i in range(tested)],
            [["target", "source"]] * tested,
            [[str(named[i]), str(named[tested + i])] for i in range(tested)],
        )
        return Scores(scores, outputs, 0.5, tested=tested)  # the held-out pairs, not all of them

    def _target_recall(self, prepared: LanguagesPrepared, examples: list[ParallelPair]) -> Scores:
        """One target's recall under the L-way classifier, per layer (the chosen layer's first): per held-out
        sentence (the unit resampled) its hit, with gold its language's code and prediction the class predicted
        (a code, or `source`); chance 1/L."""
        from mbert_eval.metrics.outputs import ExampleOutputs, Scores

        # `evaluate` is not told the target, only handed its pairs: they are those `prepare` read for one listed
        # language (`target_examples` reads the same files the same way; `prepare` refuses two languages with the
        # same pairs), so the pairs name the language
        code = next((code for code, pairs in prepared.pairs.items() if pairs == examples), None)
        if code is None:
            raise UserError("task 'language_identity' (all_languages): these pairs are no listed target's")
        predicted = prepared.held_out[code]
        label = prepared.classes.index(code)
        recall = (predicted == label).mean(axis=1)
        layer = pick_layer(self.layer, len(recall) - 1, self.metadata.name)
        scores = {"accuracy": float(recall[layer])}
        scores.update({f"accuracy_layer{i:02d}": float(score) for i, score in enumerate(recall)})
        hits = predicted[layer] == label
        outputs = ExampleOutputs(
            self.metadata.name,
            "accuracy",
            "mean",
            [[float(hit)] for hit in hits],
            [code] * len(hits),
            [prepared.classes[int(index)] for index in predicted[layer]],
        )
        return Scores(scores, outputs, 1 / len(prepared.classes), tested=len(hits))  # its held-out sentences
