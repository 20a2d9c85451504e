"""Reading an experiment: YAML (`yaml_reader`: errors name file:line),
`--set key.path=value` overrides, typed conversion that collects every problem with its key path, model paths
anchored at the config's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import Experiment
from mbert_eval.config.typed import _build
from mbert_eval.config.yaml_reader import parse_yaml, read_yaml
from mbert_eval.data.files import NOT_FOUND, path_problem
from mbert_eval.errors import UserError, cut
from mbert_eval.paths import anchor_model


def parse_override(item: str) -> tuple[list[str], Any]:
    """The key path and the value (read as YAML, as `parse_yaml` reads a config) of a `key.path=value`
    override; a malformed one is a UserError naming it."""
    name = f"override {cut(item, 80)!r}"
    if "=" not in item:
        raise UserError(f"{name} is not of the form key.path=value")
    path, value = item.split("=", 1)
    keys = path.strip().split(".")
    if not all(keys):
        raise UserError(f"{name}: an empty key in {cut(path.strip(), 80)!r}")
    return keys, parse_yaml(value, name, lines=False)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides (value parsed as YAML) to a raw config mapping."""
    for item in overrides:
        keys, value = parse_override(item)
        node = raw
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise UserError(f"override {cut(item, 80)!r}: {key} is not a mapping")
        node[keys[-1]] = value
    return raw


def load_experiment(path: str | Path | None, overrides: list[str] = ()) -> tuple[Experiment, list[str]]:
    """Read a YAML config and apply overrides; returns the experiment and the problems found
    while reading it (unknown keys, wrong types), each prefixed by its key path."""
    raw: dict[str, Any] = {}
    base = Path(".")
    if path is not None:
        file = Path(path)
        if path_problem(file) == NOT_FOUND:  # anything else that is no file: `read_yaml` says what it is
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
