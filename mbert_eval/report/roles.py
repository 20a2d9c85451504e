"""Which metric of a task is the main one, which way is better, and which method every other is compared with.

All of it comes from the store: its `metrics` table (written by each run for the tasks of its grid) and its
`configs` table (each run's config and reference method). A store written before these tables existed has
neither; then the main metric is guessed (accuracy if present, else the first plain metric), higher is taken
as better, and the reference is the method called `baseline` if there is one. The main metric is guessed the same
way for a task none of whose rows holds the main metric its stored roles name. The report says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mbert_eval.registry import registered_name
from mbert_eval.store.results import MetricRole, StoredConfig

OLD_STORE_REFERENCE = "baseline"  # a store without configs: the reference by its conventional name, if present
# tasks that score the pretrained encoder as it is (retrieval, bitext mining, word alignment) or compare a source
# with a target (language identity, CKA similarity): nothing is trained on the source language alone, so a source
# score and a transfer gap mean nothing for them (pos_probe trains a probe on the source: its gap is a gap)
NOT_FINE_TUNED = frozenset({"tatoeba", "bucc", "alignment", "language_identity", "similarity"})
# tasks whose score is no aggregate of per-example statistics (linear CKA is computed over all sentences at once):
# they keep no per-example outputs, so their scores have no bootstrap interval (every other task's `evaluate`
# returns its statistics, `metrics/outputs.ExampleOutputs`)
NOT_RESAMPLED = frozenset({"similarity"})
_LAYER = re.compile(r"_layer\d+$")  # per-layer scores of a metric (retrieval): derived, never a main metric


@dataclass(frozen=True)
class TaskRoles:
    """A task's main metric, its direction, its other declared metrics and what each metric is."""

    metric: str
    higher_is_better: bool = True
    secondary: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    guessed: str = ""  # why the main metric was guessed (empty: it was not)
    unscaled: frozenset[str] = frozenset()  # metrics that are no fraction: shown as they are, not in %


def fine_tunes(task: str) -> bool:
    """Whether a task (or a variant of one: `tatoeba:centred`) fine-tunes the encoder on the source language (see
    NOT_FINE_TUNED)."""
    return registered_name(task) not in NOT_FINE_TUNED


def resampled(task: str) -> bool:
    """Whether a task (or a variant of one) keeps per-example outputs to resample for an interval (see
    NOT_RESAMPLED)."""
    return registered_name(task) not in NOT_RESAMPLED


def guess_metric(metrics: Iterable[str]) -> str:
    """For a task without stored roles: accuracy if present, else its first plain (not per-layer) metric."""
    found = sorted(set(metrics))
    plain = [metric for metric in found if not _LAYER.search(metric)]
    return "accuracy" if "accuracy" in plain else (plain or found)[0]


def task_roles(metrics: Iterable[str], stored: Iterable[MetricRole]) -> TaskRoles:
    """The roles of one task whose rows hold `metrics`, from its stored roles; the main metric is guessed when it
    has none, or when none of its rows holds the main metric they name (rows of an older grid of the task)."""
    stored, metrics = list(stored), set(metrics)
    main = next((role for role in stored if role.is_main), None)
    if main is None or main.metric not in metrics:
        picked = guess_metric(metrics)
        role = next((r for r in stored if r.metric == picked), None)
        why = f"none of its rows holds its main metric, {main.metric}" if main else "the store predates metric roles"
        return TaskRoles(picked, role is None or role.higher_is_better is not False, guessed=why)
    layers = re.compile(rf"^{re.escape(main.metric)}_layer\d+$")
    return TaskRoles(
        main.metric,
        main.higher_is_better is not False,
        [r.metric for r in stored if not r.is_main and not layers.match(r.metric)],
        {r.metric: r.description for r in stored if r.description},
        unscaled=frozenset(r.metric for r in stored if not r.fraction),
    )


def roles_by_task(pairs: Iterable[tuple[str, str]], stored: Iterable[MetricRole]) -> dict[str, TaskRoles]:
    """The roles of every task among the stored (task, metric) pairs."""
    metrics: dict[str, set[str]] = {}
    for task, metric in pairs:
        metrics.setdefault(task, set()).add(metric)
    stored = list(stored)
    return {task: task_roles(found, [r for r in stored if r.task == task]) for task, found in sorted(metrics.items())}


def main_metrics(pairs: Iterable[tuple[str, str]], stored: Iterable[MetricRole]) -> dict[str, str]:
    """The main metric of every task among the stored (task, metric) pairs: the stored one, else guessed."""
    return {task: roles.metric for task, roles in roles_by_task(pairs, stored).items()}


def reference_method(task: str, methods: Iterable[str], configs: Sequence[StoredConfig]) -> tuple[str | None, str]:
    """The stored method a task's others are compared with, and why there is none (empty when there is one).

    `methods` are the task's stored method names: a limited, centred or L-way run's rows are compared with the
    reference's rows of the same kind (`references`). The reference of the latest config whose grid has the task
    and lists all of its methods; else of the latest that has the task and whose reference is among them; a store
    without a config for the task (written before configs were kept): the method called `baseline`, if one is.
    """
    methods = set(methods)
    grids = [c for c in reversed(configs) if task in c.config.get("tasks", {})]
    covering = [c for c in grids if methods <= {m.get("name") for m in c.config.get("methods", [])}]
    for config in covering + grids:
        if config.reference in methods:
            return config.reference, ""
    if grids:
        return None, f"No Δ for {task}: no stored config names one of its methods as the reference method."
    if OLD_STORE_REFERENCE in methods:
        return OLD_STORE_REFERENCE, ""
    return None, (
        f"No Δ for {task}: there is no reference method (the store predates stored configs and no "
        f"method is called {OLD_STORE_REFERENCE})."
    )
