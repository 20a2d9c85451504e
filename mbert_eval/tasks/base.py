"""The task base class, in the style of mteb's `AbsTask` and lm-eval-harness (the registry is `mbert_eval.tasks`).

A task knows its data and its metric; it knows nothing of grids, stores or methods. A new task is a
small declarative entry: a `TaskMetadata`, a reader, and (for fine-tuned tasks) a metric.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data.spec import SLICE, DataSpec
from mbert_eval.errors import UserError
from mbert_eval.languages import Language
from mbert_eval.metrics.outputs import Scores
from mbert_eval.tasks.metadata import TaskMetadata

if TYPE_CHECKING:  # task modules import no torch at import: `validate` and `ls` build tasks (issue 21)
    import torch

    from mbert_eval.training.fine_tuning import FineTuning

HUB_KEYS = ("train", "dev", "test")  # the data keys a task's metadata has Hub defaults for
# the files read within `files_read_once`: (task, path) -> its examples
_READ_ONCE: ContextVar[dict[tuple[int, str], list] | None] = ContextVar("read_once", default=None)


@contextmanager
def files_read_once() -> Iterator[None]:
    """Within the block each task reads each local file once (`Task.read`); its examples are let go at the
    block's end (a grid's resolution: nothing is kept for the cells, nor pickled with a task)."""
    token = _READ_ONCE.set({})
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


@dataclass
class Prepared:
    """What `Task.prepare` hands to `Task.evaluate`: a model ready for inference (or what the task evaluates with,
    e.g. an aligner over the encoder), and its log."""

    model: Any
    tokenizer: Any
    labels: list[str] = field(default_factory=list)
    log: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """A zero-shot transfer task: prepared once on the source language, evaluated on each target."""

    metadata: ClassVar[TaskMetadata]
    needs_training: ClassVar[bool] = True
    data_keys: ClassVar[tuple[str, ...]] = ("train", "dev", "test")
    optional_data_keys: ClassVar[tuple[str, ...]] = ()  # data keys a config may leave out
    fine_tunes: ClassVar[bool] = False  # whether the task fine-tunes for epochs (`tasks.NAME.epochs` is read)
    # data keys whose files are line-parallel to `test`'s (a pivot side, gold links): `test`'s slice picks their
    # rows too, so a slice of their own is refused when the task is built (`paired_slice_problem`)
    paired_keys: ClassVar[tuple[str, ...]] = ()
    reads_hub: ClassVar[bool] = True  # False: local files only (`local_file`); `validate` refuses a Hub spec
    limitable: ClassVar[bool] = True  # False: the task scores its test data whole, and a run's `limit:` is refused

    def __init__(self, config: TaskConfig | None = None, base_dir: Path = Path(".")) -> None:
        """`config` is the experiment's `tasks.NAME` entry; its relative paths are anchored at `base_dir` (the
        config file's folder). The task's options come as keyword arguments (see `metadata.options`)."""
        self.config = config or TaskConfig()
        self.base_dir = base_dir
        self._parsed: dict[tuple[str, str], DataSpec] = {}  # each (pattern, language) parsed once (`spec`)
        problem = self.paired_slice_problem()
        if problem:
            raise UserError(problem)

    def paired_slice_problem(self) -> str | None:
        """Why a paired key's spec (`paired_keys`) may not be read as written: a slice `[a:b]` of its own, which
        the rows would not follow (`test`'s slice picks them), or None. Asked when the task is built, so that
        `validate` and `run` refuse it alike."""
        for key in self.paired_keys:
            value = getattr(self.config, key)
            for code, text in value.items() if isinstance(value, dict) else [(None, value)]:
                found = SLICE.match(text) if isinstance(text, str) else None
                if found and (found["start"] or found["stop"]):
                    where = key if code is None else f"{key} ({code})"
                    return (
                        f"{where}: a slice ([{found['start']}:{found['stop']}]) is not applied to a {key} file, "
                        "whose lines follow the test file's; slice `test:` instead"
                    )
        return None

    def options(self) -> dict[str, Any]:
        """The task's options as resolved (defaults filled in); part of each cell's identity. Options added after
        keys were first recorded are left out: they join a cell's key through `TaskConfig`'s `keyed_when_set`, only
        where set."""
        later = TaskConfig.IDENTITY.keyed_when_set
        return {name: getattr(self, name) for name in self.metadata.options if name not in later}

    def joint_targets(self) -> list[str] | None:
        """The languages a cell scores together, where one target's score depends on which others are evaluated
        beside it (a key of its own in the cell's identity, `grid.cells.cell_identity`); None, the default: each
        target is scored on its own, so which targets a cell evaluates is no part of its identity."""
        return None

    def language_problem(self, language: Language) -> str | None:
        """Why the task cannot score `language` (hook: e.g. a metric that knows some languages only), or None;
        `validate` asks it for every source and target, before anything runs."""
        return None

    def positions_problem(self, positions: int) -> str | None:
        """Why the task cannot run on a model whose position table takes `positions` tokens (hook: e.g. QA's
        windows, which must hold a question and some context), or None; `validate` asks it for each local model
        whose table it reads."""
        return None

    def data_problem(self) -> str | None:
        """Why the task's data cannot be used as a whole (hook: e.g. language identity's L languages, read
        together), or None; `validate` asks it, and so `run` before anything runs, where the data is local."""
        return None

    def languages_problem(self, sources: list[Language], targets: list[Language]) -> str | None:
        """Why the task cannot take these sources and targets together (hook: e.g. a target that is a source
        where that makes no sense), or None; asked by `validate`, and so by `run`, before anything runs."""
        return None

    def examples_problem(self, train: list, test: list) -> str | None:
        """What makes `test` unscorable by a model trained on `train` (hook: e.g. labels training never has),
        or None; asked before fine-tuning, by `run` and by `validate`."""
        return None

    def target_log(self, prepared: Prepared, target: Language, examples: list) -> dict[str, Any]:
        """What each result row of one target adds to its `extra` (hook: e.g. how many gold labels training never
        had); nothing by default."""
        return {}

    def passages(self, example: Any) -> tuple[str, ...]:
        """The texts an example may share with other rows of its file (hook: a QA question's context paragraph,
        the sentences of a pair), so that a test row holding a text that training read counts as read
        (`grid/leakage.py`); none, the default: each example stands alone."""
        return ()

    def words(self, examples: list) -> list[list[str]] | None:
        """The words of each example, for the subword overlap of source and target text (`analysis.overlap`;
        Pires et al. 2019), or None (the default) for a task whose examples are not given as words."""
        return None

    def _given(self, key: str) -> str | dict[str, str] | None:
        """The config's value of a data key, else the task's Hub default (for train, dev and test)."""
        value = getattr(self.config, key)
        if not value and key in HUB_KEYS:
            return getattr(self.metadata, f"hub_{key}")
        return value

    def has_data(self, key: str, language: Language) -> bool:
        """Whether `key` is given for `language` (a pattern, or a mapping that names the language)."""
        value = self._given(key)
        return language.code in value if isinstance(value, dict) else value is not None

    def spec(self, key: str, language: Language) -> DataSpec:
        """The data spec of `key` ("train", "dev", "test", "pivot", "gold") for one language."""
        value = self._given(key)
        if isinstance(value, dict):
            value = value.get(language.code)
        if value is None:
            raise UserError(f"no '{key}' data given for language {language.code}")
        if (value, language.code) not in self._parsed:  # a run builds each task once (`grid.resolve`)
            self._parsed[value, language.code] = DataSpec.parse(value, language, self.base_dir)
        return self._parsed[value, language.code]

    def read_file(self, path: Path) -> list:
        """Examples from a local file (each task family overrides it)."""
        raise NotImplementedError

    def read(self, path: Path) -> list:
        """`read_file(path)`, once per file as it is within `files_read_once` (a grid's checks read one file for
        its examples, its slices and the leakage check: three parses each)."""
        memo = _READ_ONCE.get()
        if memo is None:
            return self.read_file(path)
        key = (id(self), str(path))
        if key not in memo:
            memo[key] = self.read_file(path)
        return memo[key]

    def read_hub(self, dataset: str, config: str | None, split: str, revision: str | None = None) -> list:
        """Examples from a Hub dataset at `revision` (None: the latest) (override where the task has Hub data)."""
        raise UserError(f"task '{self.metadata.name}' has no Hub reader; pass a local file")

    def load(self, spec: DataSpec) -> list:
        """Examples named by a data spec; an empty selection is an error naming the spec."""
        if spec.is_hub:
            from mbert_eval.data.hub import parse_hub_spec

            examples = self.read_hub(*parse_hub_spec(spec.location))
        else:
            examples = self.read(_existing(spec))
        selected = examples[spec.start : spec.stop]
        if not selected:
            held = (
                f" (the file holds {len(examples)})"
                if examples and (spec.start is not None or spec.stop is not None)
                else ""
            )
            raise UserError(f"no examples in {spec}{held}")
        return selected

    def data_specs(self, source: Language, target: Language | None = None) -> list[DataSpec]:
        """The specs a cell reads: the source's training data, or one target's test data."""
        if target is None:
            return [self.spec(k, source) for k in ("train", "dev") if k in self.data_keys]
        return [self.spec(k, target) for k in ("test", "pivot") if k in self.data_keys]

    def source_examples(self, source: Language) -> tuple[list, list]:
        """Training and dev examples in the source language (empty for tasks without training)."""
        if not self.needs_training:
            return [], []
        return self.limited(self.load(self.spec("train", source))), self.limited(self.load(self.spec("dev", source)))

    def target_examples(self, target: Language) -> list:
        """Test examples in one target language."""
        return self.limited(self.load(self.spec("test", target)))

    def limited(self, examples: list) -> list:
        """The first examples of one split of one language, at most the run's `limit:` (all when none is set); a
        run applies it where examples are read, before any fine-tuning."""
        return examples[: self.config.limit]

    def prepare(
        self, model_spec: str, train: list, dev: list, fine_tuning: FineTuning, device: torch.device
    ) -> Prepared:
        """Fine-tune on the source language (hook; tasks without training just load the encoder and ignore
        `fine_tuning`)."""
        from mbert_eval.models.encoders import load_model, load_tokenizer

        return Prepared(load_model(model_spec).to(device), load_tokenizer(model_spec))

    @abstractmethod
    def evaluate(self, prepared: Prepared, examples: list, device: torch.device, progress: str | None = None) -> Scores:
        """Scores on one target language's examples; the main metric comes first, with its per-example outputs
        (`Scores.examples`: the statistics its aggregate sums, so that `metrics.bootstrap.score` gives the main
        score back) and its chance level where one is defined. `progress`: the name of a progress bar on stderr
        (`run_cell` passes e.g. "pos de"); None shows none."""


def _existing(spec: DataSpec) -> Path:
    path = Path(spec.location).expanduser()
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    return path


def local_file(spec: DataSpec, task: str) -> Path:
    """The existing local file of `spec`, for tasks that have no Hub reader; a Hub spec or a missing file is a
    one-line error."""
    if spec.is_hub:
        raise UserError(hub_refused(spec, task))
    return _existing(spec)


def hub_refused(spec: DataSpec, task: str) -> str:
    """What a task that reads local files only (`Task.reads_hub` False) says of a Hub spec."""
    return f"task '{task}' reads local files, not {spec}"


def pick_layer(requested: int | None, depth: int, task: str) -> int:
    """The requested hidden layer, or two thirds of the depth: layer 8 of mBERT's 12, XTREME's layer for
    retrieval (Hu et al. 2020) and SimAlign's for alignment (Jalili Sabet et al. 2020)."""
    layer = round(depth * 2 / 3) if requested is None else requested
    if not 0 <= layer <= depth:
        raise UserError(f"task '{task}': layer {layer} is outside 0..{depth} for this model")
    return layer
