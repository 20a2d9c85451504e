"""The task registry (one `Registry` per kind, as lm-evaluation-harness keeps them): a new task is one class
with its `TaskMetadata`, registered here under its metadata's name."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.errors import UserError
from mbert_eval.registry import VARIANT, Registry, registered_name
from mbert_eval.tasks.base import Prepared, Task
from mbert_eval.tasks.metadata import TaskMetadata

# Registered by module path: a task's module is imported when the task is used (its summary is its metadata's
# description), so that naming tasks imports no task module; task modules import torch only inside the methods
# that train or evaluate.
TASKS: Registry[type[Task]] = Registry("task", describe=lambda task: task.metadata.description)
for _name, _target in (
    ("pos", "tagging:POSTask"),
    ("ner", "tagging:NERTask"),
    ("xnli", "pair_classification:XNLITask"),
    ("pawsx", "pair_classification:PAWSXTask"),
    ("paraphrase", "pair_classification:ParaphraseTask"),
    ("xquad", "qa:XQuADTask"),
    ("mlqa", "qa:MLQATask"),
    ("tydiqa", "qa:TyDiQATask"),
    ("tatoeba", "retrieval:RetrievalTask"),
    ("bucc", "mining:BUCCTask"),
    ("alignment", "alignment:AlignmentTask"),
    ("pos_probe", "probing:POSProbeTask"),
    ("xnli_probe", "pair_probing:XNLIProbeTask"),
    ("pawsx_probe", "pair_probing:PAWSXProbeTask"),
    ("language_identity", "language_identity:LanguageIdentityTask"),
    ("similarity", "similarity:SimilarityTask"),
):
    TASKS.register_lazy(_name, f"mbert_eval.tasks.{_target}")


def get_task(name: str, config: TaskConfig | None = None, base_dir: Path = Path("."), **options: Any) -> Task:
    """A task by registry name over `config` (its data; none is enough for the metadata), with `options`;
    an unknown name is a UserError that lists the known ones."""
    return TASKS.get(name)(config, base_dir, **options)


def option_keys() -> list[str]:
    """The keys of `tasks.NAME` that some registered task takes as an option, in `TaskConfig`'s order."""
    taken = {key for name in TASKS for key in TASKS.get(name).metadata.options}
    return [field.name for field in dataclasses.fields(TaskConfig) if field.name in taken]


DATA_KEYS = ("train", "dev", "test", "pivot", "gold")  # `TaskConfig`'s data; each task reads its `data_keys`
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")  # a variant's label: `tatoeba:centred`


def build_task(name: str, config: TaskConfig, base_dir: Path) -> Task:
    """The task object of one config entry (`tasks.NAME`, its relative paths anchored at `base_dir`), with its data
    and the options it takes; an option, a data key or `epochs` set for a task that does not read it is an error
    (it was silently unused). An entry NAME:LABEL is
    a variant: the registered task NAME under the entry's own data and options (`registry.registered_name`)."""
    registered = registered_name(name)
    label = name[len(registered) + len(VARIANT) :]
    if VARIANT in name and not (registered and LABEL.fullmatch(label)):
        raise UserError(
            f"a task variant is named TASK{VARIANT}LABEL, its label up to 40 letters, digits, '-' or '_' "
            f"(e.g. tatoeba{VARIANT}centred); got {name!r}"
        )
    task = TASKS.get(registered)
    unread = [key for key in DATA_KEYS if getattr(config, key) is not None and key not in task.data_keys]
    if unread:
        raise UserError(f"task '{registered}' reads no {unread[0]} data (it reads: {', '.join(task.data_keys)})")
    if config.epochs is not None and not task.fine_tunes:
        raise UserError(f"task '{registered}' fine-tunes nothing, so it has no epochs to set")
    takes = task.metadata.options
    given = {key: getattr(config, key) for key in option_keys() if getattr(config, key) is not None}
    for key in given:
        if key not in takes:
            raise UserError(
                f"task '{registered}' has no option '{key}'" + (f" (it takes: {', '.join(takes)})" if takes else "")
            )
    return get_task(registered, config, base_dir, **given)


__all__ = ["TASKS", "Prepared", "Task", "TaskMetadata", "build_task", "get_task", "option_keys"]
