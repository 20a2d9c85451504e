"""One kind of registry for everything a config names: tasks, method steps, executors and metrics
(lm-evaluation-harness keeps one registry per kind the same way). `validate` and `mbert-eval ls` read them.

An entry may be registered lazily, as "module:attribute": its module is imported on the first `get`, so that
naming, listing and checking names (`--help`, `ls`, `validate`) import no torch (issue 21, "Start fast")."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from mbert_eval.errors import UserError, shown

Entry = TypeVar("Entry")

VARIANT = ":"  # a config entry named NAME:LABEL runs the registered entry NAME under settings of its own


def registered_name(entry: str) -> str:
    """The registered name a config entry runs: the entry's own name, or NAME of a variant NAME:LABEL (one task
    run twice in a grid under different settings, e.g. `tatoeba` and `tatoeba:centred`; each variant's rows carry
    its whole name, so every reader of the store knows which task made them)."""
    return entry.partition(VARIANT)[0]


class Registry(Generic[Entry]):
    """Named entries of one kind (e.g. "task"), each with a one-line summary for `ls`; an unknown name is a
    one-line UserError with the closest names."""

    def __init__(self, kind: str, describe: Callable[[Entry], str] | None = None) -> None:
        """`describe` gives the summary of an entry registered without one (read off the entry once loaded)."""
        self.kind = kind
        self._describe = describe
        self._entries: dict[str, tuple[Entry, str]] = {}
        self._lazy: dict[str, str] = {}  # name -> "module:attribute", until the first `get`

    def register(self, name: str, entry: Entry, summary: str = "") -> Entry:
        """Add `entry` under `name` (a name is registered once)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = (entry, summary)
        return entry

    def register_lazy(self, name: str, target: str, summary: str = "") -> None:
        """Add the entry `target` ("package.module:attribute") under `name`, imported on the first `get`; without
        a summary, `summary` loads the entry and asks `describe`."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"{self.kind} '{name}': lazy target {target!r} is not 'module:attribute'")
        self._entries[name] = (None, summary)  # type: ignore[assignment]
        self._lazy[name] = target

    def get(self, name: str) -> Entry:
        """The entry called `name` (its module imported now if it was registered lazily), or a UserError that
        suggests the closest names."""
        if name not in self._entries:
            raise UserError(self.unknown(name))
        if name in self._lazy:
            module, _, attribute = self._lazy[name].partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = (entry, self._entries[name][1])
            del self._lazy[name]
        return self._entries[name][0]

    def unknown(self, name: str, extra: tuple[str, ...] = ()) -> str:
        """The message for an unknown name: the closest known names, letter case aside (`POS` suggests `pos`),
        then all of them."""
        known = [*self._entries, *extra]
        spelled = {known_name.lower(): known_name for known_name in known}
        close = [spelled[match] for match in difflib.get_close_matches(name.lower(), list(spelled), n=3)]
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {shown(name)}{hint} (known: {', '.join(sorted(known))})"

    def summary(self, name: str) -> str:
        """The one-line summary an entry was registered with (or, without one, `describe` of the entry)."""
        summary = self._entries[name][1]
        if not summary and self._describe is not None:
            return self._describe(self.get(name))
        return summary

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
