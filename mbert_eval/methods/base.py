"""What a method step is and the registry the built-in steps (`steps.py`) register in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import AlignConfig, Experiment, ParallelConfig, TLMConfig
from mbert_eval.registry import Registry


@dataclass(frozen=True)
class StepSettings:
    """What the checkpoint steps read of an experiment, and nothing more: its parallel text (`parallel:`, read for
    `parallel.languages`, else for `targets`: the grid's, or where it names none its tasks' own; relative paths
    anchored at `base_dir`) and the settings of translation LM (`tlm:`) and alignment (`align:`). A cell's job
    carries this, not the experiment."""

    parallel: ParallelConfig
    tlm: TLMConfig
    align: AlignConfig
    targets: tuple[str, ...]
    base_dir: Path

    @classmethod
    def of(cls, experiment: Experiment) -> StepSettings:
        """The experiment's step settings."""
        targets = experiment.targets or [code for task in experiment.tasks.values() for code in task.targets]
        return cls(experiment.parallel, experiment.tlm, experiment.align, tuple(targets), experiment.base_dir)


@dataclass(frozen=True)
class MethodContext:
    """What a step may use: the step settings, the cell's source language and seed, a cache, and the device
    to train on (`auto`, `cpu`, `cuda`, `cuda:1`, …: the experiment's `device`)."""

    settings: StepSettings
    source: str
    seed: int
    cache_dir: Path
    device: str


@dataclass(frozen=True)
class Step:
    """A checkpoint-deriving step: `build(base, out_dir, context)` writes a model folder;
    `fingerprint(context)` is what, besides the base checkpoint and seed, its output depends on; `needs_parallel`:
    it reads parallel text, and `reads_alignments` the word alignments given beside it. `version` is
    raised whenever `build` changes what it makes of the same inputs (as lm-evaluation-harness versions its
    tasks): a checkpoint built by another version is not reused, and stored rows of cells whose method ran
    another version are recomputed (`grid.freshness`)."""

    build: Callable[[str, Path, MethodContext], None]
    fingerprint: Callable[[MethodContext], dict[str, Any]]
    needs_parallel: bool = False
    reads_alignments: bool = False
    version: int = 1


STEPS = Registry[Step]("method step")
