"""Experiment configs: YAML → typed dataclasses, `--set key.path=value` overrides, validation.

An experiment is a grid: models × tasks × source languages × methods × seeds, each cell evaluated on
every target language. Defaults follow XTREME (Hu et al. 2020). Validation reports every problem
with its key path (e.g. `targets[2]: unknown language 'ger'; did you mean: de (German)?`) and
runs nothing.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from mbert_eval.errors import UserError


@dataclass
class TrainingConfig:
    """Fine-tuning hyperparameters; the defaults are XTREME's (Hu et al. 2020)."""

    learning_rate: float = 2e-5
    max_length: int = 128
    batch_size: int = 32
    epochs: int | None = None  # None: the task's XTREME default (POS/NER 10, XNLI/PAWS-X 5)
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    eval_batch_size: int = 128
    batching: str = "random"  # random (as a plain loop), megabatch (sorted within random groups), sorted (whole set)
    word_embeddings: str = "train"  # train, or freeze the word-embedding matrix (cheaper for 250k-piece vocabularies)
    lr_schedule: str = "linear"  # linear decay to 0 after warmup (XTREME), or constant after warmup
    activation_checkpointing: bool = False  # recompute layer activations in the backward: less memory, same scores


@dataclass
class TaskConfig:
    """One task's data: file patterns with `{lang}`/`{iso3}`/`{name}`, or a map language → file.

    Left empty, the task's Hub datasets are used (needs the Hub). `[a:b]` after a spec slices it.
    """

    train: str | None = None
    dev: str | None = None
    test: str | dict[str, str] | None = None
    pivot: str | dict[str, str] | None = None
    gold: str | dict[str, str] | None = None  # alignment only: Pharaoh gold links
    epochs: int | None = None  # overrides training.epochs for this task
    targets: list[str] | None = None  # overrides the grid's targets for this task (e.g. where only some have data)
    layer: int | None = None  # retrieval only: the layer to pool (default: 2/3 of the depth)
    label_subword: str | None = None  # pos/ner: first_content (default) or first (XTREME's); see tasks/tagging.py
    one_indexed: bool | None = None  # alignment only: gold links count from 1 (default: read off the file)


@dataclass
class MethodConfig:
    """A transfer method: a chain of checkpoint-deriving steps, then fine-tuning options.

    Written as a name (`baseline`, `tlm`, `align`, `tlm+align`, `scratch`, `freeze3`, `mix`,
    `tlm+align+freeze3`: steps joined by `+`) or as a mapping with these keys, where `name` is
    only a label (e.g. `{name: freeze, freeze: 3}`).
    """

    name: str = "baseline"
    chain: list[str] = field(default_factory=list)  # checkpoint steps in order: tlm, align, scratch
    freeze: int = 0  # embeddings + the bottom k layers get no gradient (Wu & Dredze 2019)
    cache_frozen: bool = False  # compute the frozen stack once and reuse it across epochs
    layer_mix: bool = False  # learned softmax-weighted sum of all layers (Peters et al. 2018)

    @classmethod
    def from_name(cls, name: str) -> "MethodConfig":
        """Parse `tlm+align+freeze3`-style names; unknown parts are left to validation."""
        method = cls(name=name)
        for part in name.split("+"):
            if part == "baseline":
                continue
            if re.fullmatch(r"freeze\d+", part):
                method.freeze = int(part[len("freeze"):])
            elif part == "mix":
                method.layer_mix = True
            else:
                method.chain.append(part)
        return method


@dataclass
class ParallelConfig:
    """Parallel text between the source and each target (`{lang}` = the target, `{src}` = the source)."""

    source: str | list[str] | dict[str, str | list[str]] | None = None  # source side; a list is concatenated
    target: str | list[str] | dict[str, str | list[str]] | None = None  # line-aligned with `source`
    alignments: str | dict[str, str] | None = None  # Pharaoh gold links; absent: computed by the aligner
    one_indexed: bool = False  # the Pharaoh file counts words from 1
    languages: list[str] | None = None  # default: the grid's targets


@dataclass
class TLMConfig:
    """Continued pretraining with translation LM (Conneau & Lample 2019), optionally mixed with MLM."""

    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 128
    mix_mlm: bool = False  # objectives [mlm, tlm]: MLM on each side of the parallel text as well


@dataclass
class AlignConfig:
    """Alignment-aware fine-tuning (Cao, Kitaev & Klein 2020)."""

    layer: int = -1  # the layer whose word vectors are aligned (-1: the last)
    regularization: float = 1.0  # λ of the source-side term ‖f(source) − f₀(source)‖²
    learning_rate: float = 5e-5  # Adam, as in the paper
    warmup_ratio: float = 0.1
    epochs: int = 1
    batch_size: int = 8
    max_length: int = 128
    aligner_layer: int = 8  # SimAlign's layer when alignments are computed (Jalili Sabet et al. 2020)
    aligner_method: str = "itermax"


@dataclass
class RayConfig:
    """Where `executor: ray` sends cells and what each cell asks for."""

    address: str | None = None  # None: RAY_ADDRESS, else a new local instance; auto; HOST:PORT; ray://HOST:PORT
    num_gpus: float = 0.0  # per cell; above 1 (whole numbers): one process per GPU inside the cell (accelerate)
    num_cpus: float = 1.0
    max_retries: int = 3  # retries of a cell whose worker dies


@dataclass
class Experiment:
    """A grid of zero-shot transfer runs; see README for an annotated example."""

    models: list[str] = field(default_factory=list)
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    sources: list[str] = field(default_factory=lambda: ["en"])
    targets: list[str] = field(default_factory=list)
    methods: list[MethodConfig] = field(default_factory=lambda: [MethodConfig()])
    seeds: list[int] = field(default_factory=lambda: [1])
    training: TrainingConfig = field(default_factory=TrainingConfig)
    name: str = "experiment"
    output: str = "runs/{name}"  # relative to the config file's folder
    store: str | None = None  # default: OUTPUT/results.sqlite
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    tlm: TLMConfig = field(default_factory=TLMConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    executor: str = "local"  # local, or ray (see `ray:`)
    ray: RayConfig = field(default_factory=RayConfig)
    device: str = "auto"
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    @property
    def output_dir(self) -> Path:
        return _anchor(self.output.format(name=self.name), self.base_dir)

    @property
    def store_path(self) -> Path:
        return _anchor(self.store, self.base_dir) if self.store else self.output_dir / "results.sqlite"

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (without the internal base folder)."""
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        return data

    def config_hash(self) -> str:
        """sha256 (16 hex digits) of the canonical JSON of the whole config."""
        return stable_hash(self.to_dict())


def stable_hash(data: Any) -> str:
    """Short sha256 of canonical JSON, used for config hashes and cell keys."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _anchor(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


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


def load_experiment(path: str | Path | None, overrides: list[str] = ()) -> tuple[Experiment, list[str]]:
    """Read a YAML config and apply overrides; returns the experiment and the problems found
    while reading it (unknown keys, wrong types), each prefixed by its key path."""
    raw: dict[str, Any] = {}
    base = Path(".")
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise UserError(f"config file not found: {file}")
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise UserError(f"{file}{where}: not valid YAML ({getattr(err, 'problem', err)})") from err
        if not isinstance(raw, dict):
            raise UserError(f"{file}: the config must be a YAML mapping")
        base = file.resolve().parent
    raw = apply_overrides(raw, list(overrides))
    problems: list[str] = []
    experiment = _build(Experiment, raw, "", problems)
    experiment.base_dir = base
    experiment.models = [_anchor_model(model, base) for model in experiment.models]
    return experiment, problems


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def is_local_path(spec: str) -> bool:
    """Whether a model spec can only be a local path (a Hub id is `name` or `org/name`)."""
    return spec.startswith((".", "/", "~")) or not HUB_ID.match(spec)


def _anchor_model(spec: str, base: Path) -> str:
    """A model path relative to the config file becomes absolute; Hub names stay as they are."""
    path = Path(spec).expanduser()
    if path.is_absolute() or not (is_local_path(spec) or (base / path).exists()):
        return spec
    return str((base / path).resolve())


def _build(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    """A dataclass instance from a mapping, collecting key-path problems instead of raising."""
    if not isinstance(raw, dict):
        problems.append(f"{path or '(top)'}: expected a mapping, got {type(raw).__name__}")
        return cls()
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")]
    values = {}
    for key, value in raw.items():
        key_path = f"{path}.{key}" if path else str(key)
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            problems.append(f"{key_path}: unknown key{hint}")
            continue
        values[key] = _convert(hints[key], value, key_path, problems)
    return cls(**{k: v for k, v in values.items() if v is not _INVALID})


_INVALID = object()


def _convert(hint: Any, value: Any, path: str, problems: list[str]) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        candidates = [a for a in args if a is not type(None)]
        for candidate in candidates:
            trial: list[str] = []
            converted = _convert(candidate, value, path, trial)
            if not trial:
                return converted
        names = " or ".join(_type_name(a) for a in candidates)
        problems.append(f"{path}: expected {names}, got {value!r}")
        return _INVALID
    if dataclasses.is_dataclass(hint):
        if isinstance(value, str) and hasattr(hint, "from_name"):
            return hint.from_name(value)
        return _build(hint, value, path, problems)
    if origin is list:
        if isinstance(value, (str, int, float)):
            value = [value]  # a single value where a list is expected
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return _INVALID
        items = [_convert(args[0], v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return [v for v in items if v is not _INVALID]
    if origin is dict:
        if isinstance(value, list) and args[1] is not str:  # `tasks: [pos, xnli]` means default data
            value = {name: {} for name in value}
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping, got {value!r}")
            return _INVALID
        return {str(k): _convert(args[1], {} if v is None else v, f"{path}.{k}", problems) for k, v in value.items()}
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # YAML reads 2e-5 as a string
        except ValueError:
            pass
    if hint is bool and isinstance(value, bool):
        return value
    if hint in (int, str) and isinstance(value, hint) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    problems.append(f"{path}: expected {_type_name(hint)}, got {value!r}")
    return _INVALID


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is dict:
        return "a mapping"
    if origin is list:
        return "a list"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, getattr(hint, "__name__", str(hint)))
