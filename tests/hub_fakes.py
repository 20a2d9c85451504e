"""A stand-in for `datasets.load_dataset_builder` (what `data/hub.py` calls), serving in-memory rows."""

from types import SimpleNamespace
from typing import Any

import pytest

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeBuilder:
    """The three things `data/hub.py` uses of a builder: download_and_prepare, as_dataset and hash."""

    hash = FAKE_COMMIT

    def __init__(self, columns: dict[str, list[Any]], features: Any, calls: list[tuple], call: tuple) -> None:
        self.columns, self.features, self.calls, self.call = columns, features, calls, call
        self.config = SimpleNamespace(data_files={})

    def download_and_prepare(self) -> None:
        """Nothing to download."""

    def as_dataset(self, split: str) -> Any:
        """The rows, recording (path, config, split, revision) of the load."""
        import datasets

        self.calls.append(self.call[:2] + (split,) + self.call[2:])
        return datasets.Dataset.from_dict(self.columns, features=self.features)


def fake_hub(monkeypatch: pytest.MonkeyPatch, columns: dict[str, list[Any]], features: Any = None) -> list[tuple]:
    """Make `datasets.load_dataset_builder` serve `columns`; returns the recorded (path, config, split,
    revision) of each load."""
    import datasets

    calls: list[tuple] = []

    def load_dataset_builder(path: str, name: str | None = None, revision: str | None = None) -> FakeBuilder:
        return FakeBuilder(columns, features, calls, (path, name, revision))

    monkeypatch.setattr(datasets, "load_dataset_builder", load_dataset_builder)
    return calls
