"""The one shared helper module of the tests: paths, config writers, the CLI runner, a stand-in Hub, the
bad-input workspace, the schedule under a hand-moved clock, toy training features, a random-span QA baseline,
and the reports' hostile strings. Tests import helpers from here only, never from another test file; fixtures
(pytest's own sharing) live in conftest.py (tests/report/conftest.py: the reports' store)."""

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml

from mbert_eval.store.results import ResultRow, ResultStore

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


def run_rows(tmp_path: Path, raw: dict) -> list[ResultRow]:
    """Write `raw` as tmp_path/exp.yaml, check it validates cleanly, run it, and return the stored rows."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.resolve import validate
    from mbert_eval.grid.run import run_experiment

    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == [] and validate(experiment) == []
    run_experiment(experiment)
    return ResultStore(experiment.store_path).rows()


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


# One test's folder for bad inputs: a config over the synthetic family and a store that must survive refusals.
STORED = 2  # rows a store holds before a refused command: they must still be there after it


@dataclass
class Workspace:
    """One test's folder: the synthetic family, the tiny model, a config and a store in `out/`."""

    root: Path
    family: object
    model: Path

    @property
    def store(self) -> Path:
        return self.root / "out" / "results.sqlite"

    def raw(self) -> dict:
        raw = family_experiment(self.family, self.model)
        raw["output"] = str(self.root / "out")
        raw["tasks"].pop("paraphrase")
        return raw

    def config(self, edit: Callable[[dict], object] = lambda raw: None) -> str:
        raw = self.raw()
        edit(raw)
        return str(write_config(self.root / "exp.yaml", raw))

    def fill_store(self, rows: int = STORED) -> None:
        ResultStore(self.store).write_cell([_row(f"t{index}") for index in range(rows)])

    def rows(self) -> int | None:
        """Rows in the store (None: there is no store, or it is no database)."""
        if not self.store.is_file() or self.store.stat().st_size == 0:
            return None
        try:
            with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as conn:
                return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.DatabaseError:
            return None


def _row(target: str) -> ResultRow:
    return ResultRow(
        cell_key="earlier",
        task="pos",
        metric="accuracy",
        model="m",
        method="baseline",
        source="qaa",
        target=target,
        seed=1,
        score=0.5,
        n_examples=10,
        config_hash="abc",
        code_version="0",
        library_versions={},
        data_checksums={},
        wall_time=1.0,
        extra={},
    )


def cell_keys(experiment: Any, as_recorded: bool = False) -> dict[str, str]:
    """Each cell's key as `grid.resolve` gives it (whether or not its data files exist), by
    `model|method|task|source|seed`; `as_recorded`: the key a store written before a task's own `targets:` left
    cell keys holds its rows under (`ResolvedCell.recorded_key`), where it differs."""
    from mbert_eval.grid.cells import expand
    from mbert_eval.grid.resolve import build_tasks, resolve_cell
    from mbert_eval.methods.base import StepSettings

    tasks, steps = build_tasks(experiment), StepSettings.of(experiment)
    resolved = {
        f"{c.model}|{c.method}|{c.task}|{c.source}|{c.seed}": resolve_cell(experiment, tasks[c.task], c, steps)
        for c in expand(experiment)
    }
    return {name: (as_recorded and cell.recorded_key) or cell.key for name, cell in resolved.items()}


def one_error_line(result) -> str:
    """The single `Error:` line (validate prints `CONFIG: problem` lines instead); no traceback."""
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip() and "it/s" not in line]
    assert lines, result.output
    return lines[-1] if lines[-1].startswith("Error:") else "\n".join(lines)


def assert_refused(result, command: str, fragment: str, workspace: Workspace, exit_code: int = 2) -> str:
    """A bad-input table row's promise: `exit_code`, the one line holding `fragment` (for `validate`, its problem
    lines), a command other than `validate` ending in one `Error:` line, and the store's rows as they were (nothing
    lost, nothing partial). Returns the message."""
    assert result.exit_code == exit_code, result.output
    message = one_error_line(result)
    assert fragment in message, message
    if command != "validate":
        assert message.startswith("Error:") and "\n" not in message
    assert workspace.rows() == STORED  # nothing lost, nothing partial
    return message


def token_features(n: int = 12, vocab: int = 300, seed: int = 0) -> list[dict]:
    """`n` random token-tagging examples (ids between [CLS]=2 and [SEP]=3, labels 0-2), for training loops."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        length = 5 + i % 7
        ids = [2] + torch.randint(5, vocab, (length,), generator=g).tolist() + [3]
        out.append({"input_ids": ids, "labels": [-100] + torch.randint(0, 3, (length,), generator=g).tolist() + [-100]})
    return out


def random_spans(examples: list, seed: int) -> list[str]:
    """A baseline: a random run of one to three words of each QA example's context."""
    import random

    rng = random.Random(seed)
    answers = []
    for e in examples:
        tokens = e.context.split()
        start = rng.randrange(len(tokens))
        answers.append(" ".join(tokens[start : start + rng.randint(1, 3)]))
    return answers


# The schedule's command under a clock a test moves by hand.
def _schedule_cli():
    """The schedule group under a main-like group (UserError -> one line, exit 2)."""
    import click

    from mbert_eval.cli.group import Group
    from mbert_eval.cli.schedule import schedule

    @click.group(cls=Group)
    def cli() -> None:
        """The schedule group."""

    cli.add_command(schedule)
    return cli


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def invoke(clock: Clock, *args: str):
    from click.testing import CliRunner

    return CliRunner().invoke(_schedule_cli(), ["schedule", *args], obj={"clock": clock})


def write_jobs(folder, **job_changes) -> object:
    job = {
        "config": "exp.yaml",
        "schedule": "0 2 * * *",
        "timezone": "UTC",
        "models": ["ckpts/step-*"],
        "report": "reports/nightly.html",
        "thresholds": {"pos": 0.05},
    }
    job.update(job_changes)
    path = folder / "jobs.yaml"
    path.write_text(yaml.safe_dump({"jobs": {"nightly": job}}), encoding="utf-8")
    return path


# The reports' hostile strings and the numbers they are checked against.
EVIL = "<script>alert(1)</script>"
EXTRA_CODE = "qad"  # a fourth language, evaluated by the baseline only; its name is EVIL in the report


def seed_stats(store: ResultStore, **key) -> tuple[float, float, int]:
    """mean, sample std and seed count straight from the store, for comparison with the report."""
    scores = [r.score for r in store.rows(**key)]
    return float(np.mean(scores)), float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan"), len(scores)


def tiny_bert(folder: Path, corpus: list[Path]) -> Path:
    """A randomly initialized (seed 0) 2-layer BERT of width 32 in `folder`, with a 400-piece WordPiece tokenizer
    trained on `corpus`: the test suite's stand-in encoder."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from mbert_eval.pretraining.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(corpus, "wordpiece", 400, folder)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def hub_cached_model(folder: Path, repo_id: str) -> Path:
    """`folder`'s files laid out as the Hugging Face cache keeps a model downloaded as `repo_id` (in the test
    session's own cache, `HF_HUB_CACHE`: conftest.py), so that offline `from_pretrained(repo_id)` reads them
    as a Hub name, not a local folder. Returns the repository's folder in the cache, for the test to remove."""
    import shutil

    repository = Path(os.environ["HF_HUB_CACHE"]) / f"models--{repo_id.replace('/', '--')}"
    revision = "0" * 40
    shutil.copytree(folder, repository / "snapshots" / revision)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(revision, encoding="utf-8")
    return repository
