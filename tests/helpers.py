"""The one shared helper module of the tests: paths, config writers, the CLI runner and a stand-in Hub.
Fixtures (pytest's own sharing) live in conftest.py."""

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_DATA = Path(os.environ.get("MBERT_EVAL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def run_cli(*args: Any, command: Any = None):
    """`mbert-eval ARGS` (or one click `command`) in-process, with stdout and stderr apart."""
    from click.testing import CliRunner

    from mbert_eval.cli import main

    return CliRunner().invoke(command or main, [str(a) for a in args], prog_name="mbert-eval")


def write_config(path: Path, data: dict) -> Path:
    """Write an experiment config as YAML and return its path."""
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def family_experiment(family, model: Path, **changes) -> dict:
    """A small POS + paraphrase grid over a synthetic family, as a raw config mapping."""
    codes = [language.code for language in family.languages]
    root = family.root
    data = {
        "name": "test",
        "models": [str(model)],
        "sources": [codes[0]],
        "targets": codes[1:],
        "seeds": [1],
        "output": "out",
        "training": {"learning_rate": 1e-3, "batch_size": 16, "max_length": 64, "epochs": 1},
        "tasks": {
            "pos": {
                "train": f"{root}/pos/{{lang}}-train.conllu",
                "dev": f"{root}/pos/{{lang}}-dev.conllu",
                "test": f"{root}/pos/{{lang}}-test.conllu",
            },
            "paraphrase": {
                "train": f"{root}/pairs/{{lang}}-train.tsv",
                "dev": f"{root}/pairs/{{lang}}-dev.tsv",
                "test": f"{root}/pairs/{{lang}}-test.tsv",
            },
        },
    }
    data.update(changes)
    return data


# A stand-in for `datasets.load_dataset_builder` (what `data/hub.py` calls), serving in-memory rows.

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


def fine_tuning(seed: int = 1, method: Any = None, **training_fields: Any):
    """A cell's `FineTuning`: a training config of `training_fields` (epochs 3 unless given), `method` (a
    MethodConfig, a method name such as `freeze1+mix`, or None: baseline) and `seed`."""
    from mbert_eval.config.experiment import MethodConfig, TrainingConfig
    from mbert_eval.training.fine_tuning import FineTuning

    if isinstance(method, str):
        method = MethodConfig.from_name(method)
    return FineTuning(TrainingConfig(**{"epochs": 3, **training_fields}), method or MethodConfig(), seed)
