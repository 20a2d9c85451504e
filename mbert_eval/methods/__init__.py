"""Transfer methods: each turns a base encoder into the encoder a cell fine-tunes.

A method produces an encoder checkpoint (a model spec) and knows nothing about tasks. `baseline`
fine-tunes the base model as it is (Devlin et al. 2019; Wu & Dredze 2019 for mBERT's zero-shot
transfer). Methods that derive checkpoints (translation LM, alignment) register here too.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mbert_eval.errors import UserError


@dataclass(frozen=True)
class MethodContext:
    """What a method may use: a cache folder for derived checkpoints, and the cell's seed."""

    cache_dir: Path
    seed: int


Method = Callable[[str, MethodContext], str]


def baseline(model: str, context: MethodContext) -> str:
    """The base encoder, unchanged."""
    return model


METHODS: dict[str, Method] = {"baseline": baseline}


def get_method(name: str) -> Method:
    """A method by name; unknown names list close matches and the known ones."""
    if name not in METHODS:
        close = difflib.get_close_matches(name, METHODS, n=2)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise UserError(f"unknown method '{name}'{hint} (known: {', '.join(sorted(METHODS))})")
    return METHODS[name]
