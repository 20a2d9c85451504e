"""One kind of registry for everything a config names: tasks, method steps, executors and metrics
(lm-evaluation-harness keeps one registry per kind the same way). `validate` and `mbert-eval ls` read them."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

from mbert_eval.errors import UserError

Entry = TypeVar("Entry")


class Registry(Generic[Entry]):
    """Named entries of one kind (e.g. "task"), each with a one-line summary for `ls`; an unknown name is a
    one-line UserError with the closest names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, tuple[Entry, str]] = {}

    def register(self, name: str, entry: Entry, summary: str = "") -> Entry:
        """Add `entry` under `name` (a name is registered once)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = (entry, summary)
        return entry

    def get(self, name: str) -> Entry:
        """The entry called `name`, or a UserError that suggests the closest names."""
        if name not in self._entries:
            raise UserError(self.unknown(name))
        return self._entries[name][0]

    def unknown(self, name: str, extra: tuple[str, ...] = ()) -> str:
        """The message for an unknown name: the closest known names, then all of them."""
        known = [*self._entries, *extra]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} '{name}'{hint} (known: {', '.join(sorted(known))})"

    def summary(self, name: str) -> str:
        """The one-line summary an entry was registered with."""
        return self._entries[name][1]

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
