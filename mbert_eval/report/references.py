"""Which method each shown method's Δ, paired test and heatmap are against: the task's reference method within the
method's comparability group.

Rows that are no measurement of the plain full run are shown under their own method name
(`store.results.comparable_method`): a limited run's as `m (limit N)` (another, smaller test set), centred
retrieval's as `m (centred)`, an L-way classifier's as `m (L-way)`. The suffix after the stored method's name is
the row's comparability group ("" for the full, plain run). Within each group the reference is the task's
reference method's row of that group (`baseline (limit 20)` for `tlm (limit 20)`); that row itself gets no Δ,
nor does a method whose group holds no reference row (`References.no_delta_notes` says why). Every consumer
(`summary`'s Δ, `uncertainty.paired_p_values`, the tables' notes and the heatmaps) reads it from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mbert_eval.report.roles import reference_method
from mbert_eval.store.results import StoredConfig


@dataclass(frozen=True)
class References:
    """A task's reference method per comparability group, and each shown method's group."""

    stored: str | None = None  # the reference method's stored name (None: no reference method at all)
    by_group: dict[str, str] = field(default_factory=dict)  # group suffix → its reference's shown name
    group: dict[str, str] = field(default_factory=dict)  # shown method → its group suffix
    note: str = ""  # why there is no reference method at all

    @property
    def main(self) -> str | None:
        """The reference the task is named by: the full run's, else (only other groups hold one) the first."""
        return self.by_group.get("") or min(self.by_group.values(), default=None)

    def of(self, method: str) -> str | None:
        """The method `method` is compared with (None: it is its group's reference, or its group has none)."""
        reference = self.by_group.get(self.group.get(method, ""))
        return None if reference == method else reference

    def is_reference(self, method: str) -> bool:
        """Whether `method` is the reference of its comparability group."""
        return self.by_group.get(self.group.get(method, "")) == method

    def against(self) -> dict[str, str]:
        """Each method that has a reference to be compared with → that reference."""
        return {method: reference for method in self.group if (reference := self.of(method)) is not None}

    def sort_key(self, method: str) -> tuple[bool, str, bool, str]:
        """Methods in order: the full group first, then the others by suffix; each group's reference first."""
        group = self.group.get(method, "")
        return group != "", group, not self.is_reference(method), method

    def label(self) -> str:
        """The groups' reference methods in words, the full run's first (empty: none)."""
        return ", ".join(sorted(self.by_group.values(), key=self.sort_key))

    def no_delta_notes(self, methods: Iterable[str]) -> list[str]:
        """Why those of `methods` whose group holds no reference row get no Δ (empty: every group has one, or there
        is no reference method at all, which `note` explains)."""
        if self.stored is None:
            return []
        unmatched: dict[str, list[str]] = {}
        for method in methods:
            group = self.group.get(method, "")
            if group not in self.by_group:
                unmatched.setdefault(group, []).append(method)
        return [
            f"No Δ for {', '.join(names)}: the store holds no {self.stored}{group} run to compare "
            f"{'them' if len(names) > 1 else 'it'} with (Δ is taken within a comparability group only: a limited, "
            "centred or L-way run against the reference method's run of the same kind)."
            for group, names in sorted(unmatched.items())
        ]


def task_references(task: str, methods: Mapping[str, str], configs: Sequence[StoredConfig]) -> References:
    """The references of one task whose `methods` map each shown name (`names.with_display_names`) to its stored
    name; the reference method itself by `roles.reference_method`."""
    group = {shown: shown[len(stored) :] if shown.startswith(stored) else "" for shown, stored in methods.items()}
    stored, note = reference_method(task, set(methods.values()), configs)
    by_group = {group[shown]: shown for shown, name in sorted(methods.items()) if name == stored}
    return References(stored, by_group, group, note)
