"""Reading an experiment: YAML (errors name file:line; `read_yaml`, which the jobs file uses too),
`--set key.path=value` overrides, typed conversion that collects every problem with its key path, model paths
anchored at the config's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mbert_eval.config.experiment import Experiment
from mbert_eval.config.typed import _build
from mbert_eval.errors import UserError
from mbert_eval.paths import anchor_model


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides (value parsed as YAML) to a raw config mapping."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"override '{item}' is not of the form key.path=value")
        path, value = item.split("=", 1)
        node = raw
        keys = path.strip().split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise UserError(f"override '{item}': {key} is not a mapping")
        node[keys[-1]] = yaml.safe_load(value)
    return raw


def read_yaml(file: Path) -> Any:
    """The YAML document in `file` (None when empty); invalid YAML is a UserError naming file:line and the
    problem."""
    text = file.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        else:  # a reader error (a NUL byte, a control character) knows only its position
            line = text.count("\n", 0, getattr(err, "position", 0)) + 1
        problem = getattr(err, "problem", None) or getattr(err, "reason", None) or err
        character = getattr(err, "character", None)
        if isinstance(character, int):
            problem = f"{problem}: U+{character:04X}"
        raise UserError(f"{file}:{line}: not valid YAML ({' '.join(str(problem).split())})") from None


def load_experiment(path: str | Path | None, overrides: list[str] = ()) -> tuple[Experiment, list[str]]:
    """Read a YAML config and apply overrides; returns the experiment and the problems found
    while reading it (unknown keys, wrong types), each prefixed by its key path."""
    raw: dict[str, Any] = {}
    base = Path(".")
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise UserError(f"config file not found: {file}")
        raw = read_yaml(file)
        if raw is None:
            raise UserError(
                f"{file}: the config is empty (an experiment names at least its models: and tasks:; see examples/)"
            )
        if not isinstance(raw, dict):
            raise UserError(f"{file}: the config must be a YAML mapping")
        base = file.resolve().parent
    raw = apply_overrides(raw, list(overrides))
    problems: list[str] = []
    experiment = _build(Experiment, raw, "", problems)
    experiment.base_dir = base
    experiment.models = [anchor_model(model, base) for model in experiment.models]
    return experiment, problems
