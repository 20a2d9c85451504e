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

from mbert_eval.paths import anchor

# Fields added after cell keys were first recorded are declared `repr=False` (the key hashes the dataclasses'
# reprs) with this metadata: such a field joins a cell's key only when it is set away from its default, so every
# key recorded before it holds (tests/store/test_compat.py). A `repr=False` field without it is no part of a key.
KEYED_WHEN_SET = {"keyed_when_set": True}


# The values of TrainingConfig's choice keys, declared here so that `validate` checks them without importing the
# training code (torch); training/batches.py, loop.py and optim.py implement them and import these.
BATCHINGS = ("random", "megabatch", "sorted")
WORD_EMBEDDINGS = ("train", "freeze")
LR_SCHEDULES = ("linear", "constant")


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
    # the window fine-tuned tasks are evaluated at; None: max_length, as XTREME evaluates (Hu et al. 2020)
    eval_max_length: int | None = field(default=None, repr=False, metadata=KEYED_WHEN_SET)


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
    allow_overlap: bool = field(default=False, repr=False)


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
    def from_name(cls, name: str) -> MethodConfig:
        """Parse `tlm+align+freeze3`-style names; unknown parts are left to validation."""
        method = cls(name=name)
        for part in name.split("+"):
            if part == "baseline":
                continue
            if re.fullmatch(r"freeze\d+", part):
                method.freeze = int(part[len("freeze") :])
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
    executor: str = "local"  # local, or ray (see `ray:`)
    ray: RayConfig = field(default_factory=RayConfig)
    device: str = "auto"
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    @property
    def output_dir(self) -> Path:
        return anchor(self.output.format(name=self.name), self.base_dir)

    @property
    def store_path(self) -> Path:
        return anchor(self.store, self.base_dir) if self.store else self.output_dir / "results.sqlite"

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (without the internal base folder)."""
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        return data

    def config_hash(self) -> str:
        """sha256 (16 hex digits) of the canonical JSON of the whole config."""
        return stable_hash(self.to_dict())

    def reference_method(self) -> str | None:
        """The method every other is compared with (Δ): `baseline:` when set, else the method named `baseline`
        if the grid lists it, else the first method (None: the grid lists none)."""
        names = [method.name for method in self.methods]
        if self.baseline is not None:
            return self.baseline
        return "baseline" if "baseline" in names else next(iter(names), None)


def keyed_when_set(*objects: Any) -> dict[str, Any]:
    """The `KEYED_WHEN_SET` fields of these dataclasses that differ from their defaults, as
    `{"ClassName.field": value}`: what a cell key adds to the reprs it hashes (empty for every config that
    sets none of them, so older keys are unchanged)."""
    added = {}
    for obj in objects:
        if not dataclasses.is_dataclass(obj):
            continue
        for item in dataclasses.fields(obj):
            if not item.metadata.get("keyed_when_set"):
                continue
            value = getattr(obj, item.name)
            default = item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default
            if value != default:
                added[f"{type(obj).__name__}.{item.name}"] = value
    return added


def stable_hash(data: Any) -> str:
    """Short sha256 of canonical JSON, used for config hashes and cell keys."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
