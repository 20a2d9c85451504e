"""Reading an experiment: YAML (`yaml_reader`: errors name file:line) or a mapping (the Python API), settings
(`--set key.path=value` overrides, or the API's keyword arguments), typed conversion that collects every problem
with its key path, `models:` entries written as `{path:, name:}` split into the model and its display name, model
paths anchored at the config's folder. A file and a mapping go through the same `build_experiment`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import Experiment, ModelEntry
from mbert_eval.config.typed import _build
from mbert_eval.config.yaml_reader import parse_yaml, read_yaml
from mbert_eval.data.files import NOT_FOUND, path_problem
from mbert_eval.errors import UserError, cut, shown
from mbert_eval.languages import lookup
from mbert_eval.paths import anchor_model

Setting = tuple[list[str], Any]  # a key path and the value it is set to


def parse_override(item: str) -> Setting:
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


def apply_settings(raw: dict[str, Any], settings: Iterable[Setting]) -> dict[str, Any]:
    """Set each key path of `settings` to its value in a raw config mapping (mappings on the way are created; an
    empty value on the way, `pos:`, is the empty mapping it reads as, and a list of names, `tasks: [pos]`, the
    mapping of those names it stands for, unless the next key is an index: `models.0` is the first model)."""
    for keys, value in settings:
        node: dict[str, Any] | list[Any] = raw
        for depth, key in enumerate(keys):
            slot = _slot(node, key, keys[: depth + 1])
            if depth == len(keys) - 1:
                node[slot] = value  # type: ignore[index]
                break
            child = node[slot] if isinstance(node, list) else node.get(slot)  # type: ignore[call-overload]
            if child is None and _index(keys[depth + 1]) is not None:  # a list the config leaves at its default
                whole = cut(".".join(keys[: depth + 1]), 80)
                raise UserError(
                    f"override {cut('.'.join(keys), 80)!r}: the config writes no {whole} list to name an entry of; "
                    f"set the whole list, e.g. --set {whole}=[...]"
                )
            if child is None:
                child = {}
            elif isinstance(child, list) and _index(keys[depth + 1]) is None and all(isinstance(n, str) for n in child):
                child = {name: {} for name in child}
            if not isinstance(child, (dict, list)):
                raise UserError(
                    f"override {cut('.'.join(keys), 80)!r}: {cut('.'.join(keys[: depth + 1]), 80)} is not a mapping"
                )
            node[slot] = child  # type: ignore[index]
            node = child
    return raw


def _index(key: str) -> int | None:
    """A key path's part read as a list index (`0`, `-1`), else None."""
    try:
        return int(key)
    except ValueError:
        return None


def _slot(node: dict[str, Any] | list[Any], key: str, path: list[str]) -> str | int:
    """Where `key` (the last part of `path`) sets a value in `node`: the key of a mapping, or the index of a list
    (a UserError past the list's end, or for a name where a list is)."""
    if isinstance(node, dict):
        return key
    name, parent = cut(".".join(path), 80), path[-2] if len(path) > 1 else "the config"
    index = _index(key)
    if index is None:
        raise UserError(f"override {name!r}: {parent} is a list; name an entry by its index, e.g. {parent}.0")
    if not -len(node) <= index < len(node):
        raise UserError(f"override {name!r}: {parent} has {len(node)} entries (index 0 to {len(node) - 1})")
    return index


def read_config(path: str | Path) -> tuple[dict[str, Any], Path]:
    """A YAML config file's mapping and the folder its relative paths are anchored at."""
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
    return raw, file.resolve().parent


def load_experiment(path: str | Path | None, overrides: Iterable[str] = ()) -> tuple[Experiment, list[str]]:
    """Read a YAML config and apply `key.path=value` overrides; returns the experiment and the problems found
    while reading it (unknown keys, wrong types), each prefixed by its key path."""
    raw, base = read_config(path) if path is not None else ({}, Path("."))
    return build_experiment(raw, base, [parse_override(item) for item in overrides])


def build_experiment(
    config: Mapping[str, Any], base: Path, settings: Iterable[Setting] = ()
) -> tuple[Experiment, list[str]]:
    """The experiment of a config mapping (read from YAML, or given as a dict: it is copied, never changed, and
    its path objects are read as strings, as are those of `settings`) with `settings` applied; relative paths are anchored at `base`.
    Returns the experiment and the problems found (unknown keys, wrong types, bad `models:` entries), each
    prefixed by its key path."""
    if not isinstance(config, Mapping):
        raise UserError(
            f"a config is a YAML file or a mapping of keys (models:, tasks:, ...), got {type(config).__name__}"
        )
    # rebuilt first, so that an override changes one place only: a YAML alias (`align: *tlm`) or a dict given twice
    # is one object, which `copy.deepcopy` keeps one (`--set tlm.learning_rate=…` changed `align:` too)
    raw = _plain(apply_settings(_plain(dict(config)), settings))  # overrides' paths and tuples too
    problems: list[str] = []
    names = _split_model_entries(raw, problems)
    experiment = _build(Experiment, raw, "", problems)
    _key_by_code(experiment, problems)
    experiment.base_dir = base
    experiment.models = [anchor_model(model, base) for model in experiment.models]
    if len(experiment.models) == len(raw.get("models") or []):  # else some entry is refused (its problem says)
        experiment.model_names = {experiment.models[index]: name for index, name in names.items()}
    return experiment, problems


def _key_by_code(experiment: Experiment, problems: list[str]) -> None:
    """Key every per-language mapping of data (a task's `test`, `pivot` and `gold`; the parallel text's `source`,
    `target` and `alignments`) by the language table's codes, as the grid's languages are: `deu:` or `German:` is
    `de:`. A key the table does not know, or a language keyed twice under two spellings, is a problem."""
    records = [(f"tasks.{name}", task, ("test", "pivot", "gold")) for name, task in experiment.tasks.items()]
    for path, record, keys in [*records, ("parallel", experiment.parallel, ("source", "target", "alignments"))]:
        for key in keys:
            mapping = getattr(record, key)
            if not isinstance(mapping, dict):
                continue
            by_code: dict[str, Any] = {}
            spelt: dict[str, str] = {}
            for written, value in mapping.items():
                try:
                    code = lookup(written).code
                except UserError as err:
                    problems.append(f"{path}.{key}.{cut(written, 40)}: {err}")
                    continue
                if code in by_code:
                    problems.append(
                        f"{path}.{key}.{cut(written, 40)}: language {code} is keyed twice (also as {spelt[code]!r})"
                    )
                    continue
                by_code[code], spelt[code] = value, written
            setattr(record, key, by_code)


def _plain(value: Any) -> Any:
    """A config value as YAML would give it, rebuilt (no mapping or list shared between two places, as a YAML
    alias shares them): path objects (`pathlib.Path`) become their strings."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _split_model_entries(raw: dict[str, Any], problems: list[str]) -> dict[int, str]:
    """Replace each `models:` entry written as a mapping (`{path: ..., name: ...}`) by its path; returns the
    display names given, by the entry's index in the list left. A mapping without a path is a problem (and left
    out, so that no other check reports it again), as are an empty name and a name given to two models. A single
    model is made a list of one; a number (`--set models=5`) names no model and is a problem, left out too."""
    models = raw.get("models")
    single = isinstance(models, (str, int, float, bool))
    if single:
        models = raw["models"] = [models]  # a single model: a list of one
    if not isinstance(models, list):
        return {}  # no models, or no list: the typed conversion reads (or refuses) it
    kept: list[Any] = []
    names: dict[int, str] = {}
    given: dict[str, int] = {}
    for index, entry in enumerate(models):
        where = "models" if single else f"models[{index}]"
        if isinstance(entry, (int, float, bool)) or (isinstance(entry, str) and not entry.strip()):
            # YAML's `5` or `true`, or '' (read as the config's own folder): no folder or Hub name is written so
            problems.append(f"{where}: a model is a folder or a Hub name, got {shown(entry)}")
            continue
        if not isinstance(entry, dict):
            kept.append(entry)
            continue
        parsed = _build(ModelEntry, entry, where, problems)
        if not parsed.path:
            problems.append(f"{where}: a model written as a mapping names its folder or Hub name in `path:`")
            continue
        name = None if parsed.name is None else parsed.name.strip()
        if name == "":
            problems.append(f"{where}.name: an empty name; leave `name:` out to show the model's folder or Hub name")
        elif name in given:
            problems.append(f"{where}.name: {cut(name)!r} is already the name of models[{given[name]}]")
        elif name is not None:
            given[name] = index
            names[len(kept)] = name
        kept.append(parsed.path)
    raw["models"] = kept
    return names
