"""What a method step is and the registry the built-in steps (`steps.py`) register in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import Experiment
from mbert_eval.registry import Registry


@dataclass(frozen=True)
class MethodContext:
    """What a step may use: the experiment's settings, the cell's languages and seed, a cache, and the device
    to train on (`auto`, `cpu`, `cuda`, `cuda:1`, …: the experiment's `device`)."""

    experiment: Experiment
    source: str
    seed: int
    cache_dir: Path
    device: str


@dataclass(frozen=True)
class Step:
    """A checkpoint-deriving step: `build(base, out_dir, context)` writes a model folder;
    `fingerprint(context)` is what, besides the base checkpoint and seed, its output depends on."""

    build: Callable[[str, Path, MethodContext], None]
    fingerprint: Callable[[MethodContext], dict[str, Any]]
    needs_parallel: bool = False


STEPS = Registry[Step]("method step")
