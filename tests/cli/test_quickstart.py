"""`mbert-eval quickstart` (issue 23), cut down to seconds (a smaller family, a few pretraining steps, one epoch):
its report goes into its working folder, beside the store, and nothing into the current folder; `-q` prints the
summary lines only."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mbert_eval.synthetic.family import SynthConfig
from tests.helpers import run_cli

module = importlib.import_module("mbert_eval.cli.quickstart")  # the package's `quickstart` is the command


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


@pytest.mark.slow  # the whole quickstart: family, pretraining, two fine-tuned cells
def test_quickstart_writes_into_its_working_folder_only(tmp_path, monkeypatch):
    small = dict(n_monolingual=60, n_train=16, n_dev=8, n_test=8, n_parallel=16, qa_train=4, qa_dev=2, qa_test=2)
    monkeypatch.setattr(module, "FAMILY", SynthConfig(n_languages=2, seed=0, **small))
    monkeypatch.setattr(module, "PRETRAINING", {**module.PRETRAINING, "max_steps": 2, "vocab_size": 300})
    monkeypatch.setattr(module, "EPOCHS", {"pos": 1, "paraphrase": 1})
    cwd, out = tmp_path / "cwd", tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = run_cli("quickstart", "--out", out, "-q", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert _files(cwd) == set()
    assert {"report.html", "results.sqlite", "quickstart.yaml"} <= _files(out)
    summary, report = result.stdout.splitlines()
    assert summary.startswith("2 cells run, 0 already stored") and report.startswith(f"report: {out / 'report.html'}")
    assert "\r" not in result.stderr
