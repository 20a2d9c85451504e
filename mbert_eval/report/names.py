"""Models by a display name: `extra["model_name"]` (the config's `name:`) when the rows carry one, else a Hub id as
is and a local path by its folder name (with its parent folder too when two paths share a folder name). Full paths
stay in the run-metadata section only."""

from __future__ import annotations

import re
from pathlib import PurePath

import pandas as pd

from mbert_eval.store.results import comparable_method

_PLAIN_PATH = re.compile(r"[\w.\- /]+")


def is_local_path(model: str) -> bool:
    """A model given as a local path: absolute, relative (./, ../, ~), or plain folder names deeper than a Hub
    `org/name` id; anything else (a Hub id, an odd name) is shown as it is."""
    return model.startswith(("/", "./", "../", "~")) or (model.count("/") > 1 and bool(_PLAIN_PATH.fullmatch(model)))


def derived_name(model: str, depth: int = 1) -> str:
    """A Hub id as is; a local path by its last `depth` folders."""
    if not is_local_path(model):
        return model
    parts = PurePath(model.rstrip("/")).parts
    return "/".join(parts[-depth:]) if parts else model


def display_names(frame: pd.DataFrame) -> dict[str, str]:
    """Each stored model's display name: the rows' `extra["model_name"]` when one name is given for it and no
    other model has it, else `derived_name`, deepened until no two models share a name."""
    given: dict[str, set[str]] = {}
    for model, extra in zip(frame["model"], frame["extra"]):
        name = extra.get("model_name") if isinstance(extra, dict) else None
        given.setdefault(str(model), set()).update({str(name)} if name else set())
    names = {model: next(iter(found)) if len(found) == 1 else derived_name(model) for model, found in given.items()}
    for depth in range(1, 8):
        clashes = {name for name in names.values() if list(names.values()).count(name) > 1}
        if not clashes:
            return names
        names = {model: derived_name(model, depth + 1) if name in clashes else name for model, name in names.items()}
    return {model: model for model in names}  # unresolvable: the full identifiers


def with_display_names(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with `model` replaced by its display name (`model_path` keeps the stored identifier) and a
    limited, centred or L-way run's methods named apart (`store.results.comparable_method`; `stored_method` keeps
    the stored name, whose suffix is the row's comparability group: `references`)."""
    if frame.empty:
        return frame.assign(model_path=frame["model"], stored_method=frame["method"])
    names = display_names(frame)
    methods = [comparable_method(method, extra) for method, extra in zip(frame["method"], frame["extra"])]
    return frame.assign(
        model_path=frame["model"], stored_method=frame["method"], model=frame["model"].map(names), method=methods
    )
