"""The experiment config as typed dataclasses: a grid of models × tasks × source languages × methods × seeds,
each cell evaluated on every target language. Defaults follow XTREME (Hu et al. 2020)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbert_eval.paths import anchor, fill_pattern

# How a run runs or shows its results, not what it computes: left out of `config_hash` (so setting it splits no
# stored config).
RUN_ONLY = {"run_only": True}
# where a run's cells go, which changes no score: hashed at its default, so that the configs hashed before it was
# (every one of them at the default) keep their hashes, and a grid rerun on another executor is the same config
WHERE_CELLS_RUN = {"hashed_at_default": True}
# a field of a nested config (`tlm:`, ...) added after config hashes were first recorded: hashed only when set away
# from its default, so that the hashes recorded before it hold (`pretraining.loop.PretrainConfig` marks its own
# fields added later the same way, for the hash that names its output folders)
HASHED_WHEN_SET = {"hashed_when_set": True}


# The values of TrainingConfig's choice keys, declared here so that `validate` checks them without importing the
# training code (torch); training/batches.py, loop.py and optim.py implement them and import these.
BATCHINGS = ("random", "megabatch", "sorted")
WORD_EMBEDDINGS = ("train", "freeze")
LR_SCHEDULES = ("linear", "constant")
MAX_SEED = 2**32 - 1  # numpy's and torch's CUDA generators take 32-bit seeds


@dataclass(frozen=True)
class Identity:
    """What of a config makes up the identity of a cell's results (and so its key), declared on the config class
    by `declare_identity` instead of read off its repr.

    `record` names the record and `fields` are its fields in their recorded order; `given` are record fields the
    cell supplies (the seed, the method's options), not fields of the config. `keyed_when_set` are fields added
    after keys were first recorded: one joins a cell's key only when set away from its default, so every key
    recorded before it holds (tests/store/test_compat.py). `outside` are fields that are no part of identity
    (permissions, speed, where a cell runs). `retired` are record fields found, after keys were recorded, to
    change no score: they stay in the record at their default whatever their value, so keys recorded at the
    default hold and setting them splits no cell. Every field of the class is in exactly one of `fields`,
    `keyed_when_set` and `outside`. A declaration without a `record` is not rendered (its identity fields are
    rendered by the records and coordinates of the cell)."""

    owner: str
    record: str | None
    fields: tuple[str, ...]
    given: tuple[str, ...] = ()
    keyed_when_set: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()
    retired: dict[str, Any] = dataclasses.field(default_factory=dict)  # field -> the default it is rendered at

    def render(self, obj: Any, *, as_recorded: bool = False, **values: Any) -> str:
        """The record as a string: `Record(field=repr(value), ...)` in the declared order. `values` supplies the
        `given` fields (all of them) and may replace a config field's value by its resolved one (e.g. epochs).
        `as_recorded`: the retired fields at their values, as keys recorded before their retirement hold them
        (what a store written then is read by: `grid.resolve.ResolvedCell.recorded_key`)."""
        unknown = set(values) - set(self.fields)
        missing = set(self.given) - set(values)
        if self.record is None or unknown or missing:
            raise ValueError(f"identity of {self.owner}: cannot render (unknown {unknown}, missing {missing})")
        shown = {name: values[name] if name in values else getattr(obj, name) for name in self.fields}
        if not as_recorded:
            shown |= self.retired
        return f"{self.record}({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

    def set_later(self, obj: Any) -> dict[str, Any]:
        """The `keyed_when_set` fields of `obj` set away from their defaults, by field name."""
        defaults = {item.name: item for item in dataclasses.fields(obj)}
        found = {}
        for name in self.keyed_when_set:
            item = defaults[name]
            default = item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default
            if getattr(obj, name) != default:
                found[name] = getattr(obj, name)
        return found

    def fingerprint(self, obj: Any) -> dict[str, Any]:
        """Every field of `obj` as plain data, less the `keyed_when_set` ones left at their defaults: what a
        checkpoint step built from these settings is cached under (`methods.steps`), so that a field added later
        leaves every earlier checkpoint's folder in place."""
        data = dataclasses.asdict(obj)
        return {name: data[name] for name in data if name not in self.keyed_when_set} | self.set_later(obj)


def declare_identity(
    record: str | None,
    fields: tuple[str, ...] = (),
    *,
    given: tuple[str, ...] = (),
    keyed_when_set: tuple[str, ...] = (),
    outside: tuple[str, ...] = (),
    retired: tuple[str, ...] = (),
) -> Any:
    """Class decorator: declare a config dataclass's `Identity` (as `cls.IDENTITY`). A field the declaration does
    not place (or places twice) is a TypeError when the class is defined: a new field must say whether it is
    part of identity. `retired` names fields of `fields` rendered at their default (see `Identity`)."""

    def declare(cls: type) -> type:
        declared = [name for name in fields if name not in given] + list(keyed_when_set) + list(outside)
        names = [item.name for item in dataclasses.fields(cls)]
        if sorted(declared) != sorted(names) or not set(given).isdisjoint(names):
            raise TypeError(
                f"{cls.__name__}: every field must be declared once as identity, keyed_when_set or outside "
                f"(undeclared: {sorted(set(names) - set(declared))}, "
                f"unknown or twice: {sorted(n for n in declared if declared.count(n) > 1 or n not in names)})"
            )
        if not set(retired) <= set(fields) - set(given):
            raise TypeError(f"{cls.__name__}: a retired field must be a field of the record: {sorted(retired)}")
        defaults = {item.name: item.default for item in dataclasses.fields(cls)}
        cls.IDENTITY = Identity(
            cls.__name__,
            record,
            tuple(fields),
            tuple(given),
            tuple(keyed_when_set),
            tuple(outside),
            {name: defaults[name] for name in retired},
        )
        return cls

    return declare


def render_identity(obj: Any, *, as_recorded: bool = False, **values: Any) -> str:
    """The identity record of a config object, by its class's declaration (see `Identity.render`)."""
    return type(obj).IDENTITY.render(obj, as_recorded=as_recorded, **values)


@declare_identity(
    "FineTuneSettings",  # the name the cell's fine-tuning record was first recorded under
    (
        "learning_rate",
        "max_length",
        "batch_size",
        "epochs",  # resolved per cell: task override, then this, then the task's default
        "warmup_ratio",
        "weight_decay",
        "max_grad_norm",
        "eval_batch_size",
        "seed",
        "freeze",
        "cache_frozen",
        "layer_mix",
        "batching",
        "word_embeddings",
        "lr_schedule",
    ),
    given=("seed", "freeze", "cache_frozen", "layer_mix"),  # the cell's seed, the method's options
    keyed_when_set=("eval_max_length", "eval_steps"),
    outside=("activation_checkpointing",),  # the same numbers, less memory
    # how many test examples are encoded at once: padding is masked, so other batches give the same predictions;
    # lowering it after evaluation runs out of memory, as that error advises, recomputes no stored cell
    retired=("eval_batch_size",),
)
@dataclass
class TrainingConfig:
    """Fine-tuning hyperparameters, the one declaration of each (a cell's fine-tuning gets this record whole:
    `training.fine_tuning.FineTuning`); the defaults are XTREME's (Hu et al. 2020)."""

    learning_rate: float = 2e-5
    max_length: int = 128
    batch_size: int = 32
    epochs: int | None = None  # None: the task's XTREME default (POS/NER 10, XNLI/PAWS-X 5)
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    eval_batch_size: int = 128
    batching: str = "random"  # random (as a plain loop), megabatch (sorted within random groups), sorted (whole set)
    word_embeddings: str = "train"  # train, or freeze the word-embedding matrix (cheaper on a GPU for 250k pieces)
    lr_schedule: str = "linear"  # linear decay to 0 after warmup (XTREME), or constant after warmup
    # recompute layer activations in the backward: less memory, the same scores, so no part of a cell's key
    activation_checkpointing: bool = False
    # the window fine-tuned tasks are evaluated at; None: max_length, as XTREME evaluates (Hu et al. 2020)
    eval_max_length: int | None = None
    # score dev every this many optimizer steps (and after the last), keeping the best state, as XTREME's
    # `save_steps` (UD-POS 500, PAN-X 1000, XNLI 100, PAWS-X 200); None: once an epoch
    eval_steps: int | None = field(default=None, metadata=HASHED_WHEN_SET)


@declare_identity(
    "TaskConfig",
    ("train", "dev", "test", "pivot", "gold", "epochs", "targets", "layer", "label_subword", "one_indexed"),
    keyed_when_set=("unseen_labels", "limit", "center", "all_languages"),
    outside=("allow_overlap",),  # a permission, not a setting that changes scores
    # which targets a cell evaluates changes none of their scores, as the grid's `targets:` (never part of a key)
    # do not: a language added later is computed alone; a task whose targets are scored together keys them itself
    # (`Task.joint_targets`)
    retired=("targets",),
)
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
    # test or dev rows that overlap the training rows (or their translations) are refused unless this is set
    allow_overlap: bool = False
    # pos/ner: test tags training never has are refused (None, the default) unless `score` (scored as errors)
    unseen_labels: str | None = None
    # at most this many examples per split and language: the experiment's `limit:` (`Experiment.task_config`)
    limit: int | None = field(default=None, metadata={"internal": True})
    # tatoeba/bucc: subtract each language's mean sentence vector before comparing (None: no, as XTREME)
    center: bool | None = None
    # language_identity: one classifier over the source and every language of the task's own `targets:`
    # (chance 1/L, Libovický et al. 2020) in place of one source-or-target classifier per target (None: no)
    all_languages: bool | None = None


def name_part(pattern: str) -> dict[str, str]:
    """Field metadata of a fine-tuning option's field on `MethodConfig`: a method-name part that fully matches
    `pattern` (a regular expression) sets the field, to its one group converted to the field's type, or to True
    when the pattern has no group (`freeze3` → freeze=3, `mix` → layer_mix=True)."""
    return {"name_part": pattern}


@dataclass
class ModelEntry:
    """A `models:` entry written as a mapping: the model (a folder or a Hub name: what identifies its results) and
    the name reports show for it (`config/loading.py` turns the entry into its path and keeps the name apart)."""

    path: str | None = None
    name: str | None = None


@declare_identity("MethodConfig", ("name", "chain", "freeze", "cache_frozen", "layer_mix"))
@dataclass
class MethodConfig:
    """A transfer method: a chain of checkpoint-deriving steps, then fine-tuning options.

    Written as a name (`baseline`, `tlm`, `align`, `tlm+align`, `scratch`, `freeze3`, `mix`,
    `tlm+align+freeze3`: steps joined by `+`) or as a mapping with these keys, where `name` is
    only a label (e.g. `{name: freeze, freeze: 3}`). The fields after `chain` belong to the fine-tuning options
    (`training/options/`: one file each, with its description, validation and hooks); cell keys render the
    fields in this order, so a new option's field is added last and declared `keyed_when_set` in its identity.
    """

    name: str = "baseline"
    chain: list[str] = field(default_factory=list)  # checkpoint steps in order: tlm, align, scratch
    freeze: int = field(default=0, metadata=name_part(r"freeze(\d+)"))  # embeddings + the bottom k layers frozen
    cache_frozen: bool = False  # compute the frozen stack once and reuse it across epochs
    layer_mix: bool = field(default=False, metadata=name_part("mix"))  # scalar mix of all layers

    @classmethod
    def from_name(cls, name: str) -> MethodConfig:
        """Parse `tlm+align+freeze3`-style names: a part an option's field claims (`name_part`) sets that field,
        any other part is a checkpoint step; unknown parts are left to validation."""
        method = cls(name=name)
        options = [item for item in dataclasses.fields(cls) if "name_part" in item.metadata]
        for part in name.split("+"):
            if part == "baseline":
                continue
            for option in options:
                match = re.fullmatch(option.metadata["name_part"], part)
                if match:
                    value = type(option.default)(match.group(1)) if match.groups() else True
                    setattr(method, option.name, value)
                    break
            else:
                method.chain.append(part)
        return method


@declare_identity("ParallelConfig", ("source", "target", "alignments", "one_indexed", "languages"))
@dataclass
class ParallelConfig:
    """Parallel text between the source and each target (`{lang}` = the target, `{src}` = the source)."""

    source: str | list[str] | dict[str, str | list[str]] | None = None  # source side; a list is concatenated
    target: str | list[str] | dict[str, str | list[str]] | None = None  # line-aligned with `source`
    alignments: str | dict[str, str] | None = None  # Pharaoh gold links; absent: computed by the aligner
    one_indexed: bool = False  # the Pharaoh file counts words from 1
    languages: list[str] | None = None  # default: the grid's targets


@declare_identity(
    "TLMConfig",
    ("steps", "batch_size", "learning_rate", "max_length", "mix_mlm"),
    keyed_when_set=("head_steps", "head_learning_rate"),
)
@dataclass
class TLMConfig:
    """Continued pretraining with translation LM (Conneau & Lample 2019), optionally mixed with MLM."""

    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 128
    mix_mlm: bool = False  # objectives [mlm, tlm]: MLM on each side of the parallel text as well
    # steps that train the masked-LM head alone (the encoder frozen) before `steps`: for an encoder published
    # without its head (multilingual-e5), whose head starts random (`pretraining.loop.PretrainConfig.head_steps`)
    head_steps: int = field(default=0, metadata=HASHED_WHEN_SET)
    head_learning_rate: float = field(default=1e-3, metadata=HASHED_WHEN_SET)  # constant over those steps


@declare_identity(
    "AlignConfig",
    (
        "layer",
        "regularization",
        "learning_rate",
        "warmup_ratio",
        "epochs",
        "batch_size",
        "max_length",
        "aligner_layer",
        "aligner_method",
    ),
)
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


@declare_identity(None, outside=("address", "num_gpus", "num_cpus", "max_retries"))  # where cells run
@dataclass
class RayConfig:
    """Where `executor: ray` sends cells and what each cell asks for."""

    address: str | None = None  # None: RAY_ADDRESS, else a new local instance; auto; HOST:PORT; ray://HOST:PORT
    num_gpus: float = 0.0  # per cell; above 1 (whole numbers): one process per GPU inside the cell (accelerate)
    num_cpus: float = 1.0
    max_retries: int = 3  # retries of a cell whose worker dies


@declare_identity(
    None,  # not a record: its cells' coordinates and the records of its parts make up each cell's identity
    # limit: joins each cell's key through its task's config (`task_config`)
    ("models", "tasks", "sources", "methods", "seeds", "training", "parallel", "tlm", "align", "limit"),
    # targets: each stored row is one target's; model_names only name models; the rest name, place or schedule the run
    outside=(
        "targets",
        "baseline",
        "name",
        "output",
        "store",
        "executor",
        "ray",
        "device",
        "threads",
        "model_names",
        "base_dir",
    ),
)
@dataclass
class Experiment:
    """A grid of zero-shot transfer runs; see README for an annotated example."""

    models: list[str] = field(default_factory=list)  # each a folder or a Hub name (written `{path:, name:}` to name it)
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    sources: list[str] = field(default_factory=lambda: ["en"])
    targets: list[str] = field(default_factory=list)
    methods: list[MethodConfig] = field(default_factory=lambda: [MethodConfig()])
    baseline: str | None = (
        None  # the method every other is compared with (Δ); default: `baseline` if listed, else the first
    )
    seeds: list[int] = field(default_factory=lambda: [1])
    training: TrainingConfig = field(default_factory=TrainingConfig)
    name: str = "experiment"
    output: str = "runs/{name}"  # relative to the config file's folder
    store: str | None = None  # default: OUTPUT/results.sqlite
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    tlm: TLMConfig = field(default_factory=TLMConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    executor: str = field(default="local", metadata=WHERE_CELLS_RUN)  # local, or ray (see `ray:`)
    ray: RayConfig = field(default_factory=RayConfig, metadata=WHERE_CELLS_RUN)
    device: str = "auto"
    # CPU threads torch uses (`--threads` overrides); None: OMP_NUM_THREADS, else the idle CPUs (models/threads.py)
    threads: int | None = field(default=None, metadata=RUN_ONLY)
    # at most this many examples per split (train, dev, test) and language, for a quick try (`--limit`); None: all
    limit: int | None = None
    # model → its display name, from the `name:` of a `models:` entry written as a mapping (config/loading.py)
    model_names: dict[str, str] = field(default_factory=dict, metadata={**RUN_ONLY, "internal": True})
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    @property
    def output_dir(self) -> Path:
        return anchor(fill_pattern(self.output, name=self.name), self.base_dir)

    @property
    def store_path(self) -> Path:
        return anchor(self.store, self.base_dir) if self.store else self.output_dir / "results.sqlite"

    def task_config(self, name: str) -> TaskConfig:
        """The `tasks.NAME` entry as its task is built and its cells keyed: with the run's `limit`."""
        return dataclasses.replace(self.tasks[name], limit=self.limit)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (without the internal base folder)."""
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        return data

    def config_hash(self) -> str:
        """sha256 (16 hex digits) of the canonical JSON of the whole config, less its `RUN_ONLY` fields and the
        `HASHED_WHEN_SET` fields at their defaults, with where its cells run at the default (`WHERE_CELLS_RUN`)."""
        data = self.to_dict()
        default = Experiment().to_dict()
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.metadata.get("run_only"):
                data.pop(item.name)
            elif item.metadata.get("hashed_at_default"):
                data[item.name] = default[item.name]
            elif dataclasses.is_dataclass(value):
                for inner in dataclasses.fields(value):
                    if inner.metadata.get("hashed_when_set") and getattr(value, inner.name) == inner.default:
                        data[item.name].pop(inner.name)
        return stable_hash(data)

    def reference_method(self) -> str | None:
        """The method every other is compared with (Δ): `baseline:` when set, else the method named `baseline`
        if the grid lists it, else the first method (None: the grid lists none)."""
        names = [method.name for method in self.methods]
        if self.baseline is not None:
            return self.baseline
        return "baseline" if "baseline" in names else next(iter(names), None)


def keyed_when_set(*objects: Any) -> dict[str, Any]:
    """The `keyed_when_set` fields of these configs (see `Identity`) set away from their defaults, as
    `{"ClassName.field": value}`: what a cell key adds to its records (empty for every config that sets none of
    them, so older keys are unchanged)."""
    return {
        f"{type(obj).__name__}.{name}": value
        for obj in objects
        for name, value in type(obj).IDENTITY.set_later(obj).items()
    }


def stable_hash(data: Any) -> str:
    """Short sha256 of canonical JSON, used for config hashes and cell keys."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
