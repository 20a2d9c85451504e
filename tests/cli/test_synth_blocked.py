"""`mbert-eval synth --out DIR` and `mbert-eval quickstart --out DIR` with something in the way inside the family's
folder (a file where a folder goes, a folder where a file goes): one line naming the blocking path, exit 2, never
a traceback."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from mbert_eval.synthetic.family import SynthConfig
from tests.helpers import one_error_line, run_cli

quickstart = importlib.import_module("mbert_eval.cli.quickstart")  # the package's `quickstart` is the command


def _file(relative: str) -> Callable[[Path], Path]:
    def block(root: Path) -> Path:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("in the way\n", encoding="utf-8")
        return root / relative

    return block


def _folder(relative: str) -> Callable[[Path], Path]:
    def block(root: Path) -> Path:
        (root / relative).mkdir(parents=True)
        return root / relative

    return block


BLOCKS = {  # what is in the way, and what the message says of it
    "file-for-text-folder": (_file("mono"), "is a file, not a folder"),
    "file-for-nested-folder": (_file("parallel"), "is a file, not a folder"),
    "folder-for-text-file": (_folder("mono/qaa.txt"), "is a folder, not a file"),
    "folder-for-qa-file": (_folder("qa/qaa-train.json"), "is a folder, not a file"),
    "file-for-qa-folder": (_file("qa"), "is a file, not a folder"),
    "folder-for-manifest": (_folder("family.json"), "is a folder, not a file"),
}


@pytest.mark.parametrize("name", BLOCKS)
def test_synth_with_a_path_in_the_way_is_one_line(name: str, tmp_path: Path) -> None:
    block, fragment = BLOCKS[name]
    out = tmp_path / "family"
    blocking = block(out)
    result = run_cli("synth", "--out", out, "--languages", 2)
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert message.startswith("Error:") and "\n" not in message, message
    assert f"{blocking} {fragment}" in message and str(out) in message, message


def test_quickstart_with_a_path_in_the_way_of_its_family_is_one_line(tmp_path: Path, monkeypatch) -> None:
    small = dict(n_monolingual=60, n_train=16, n_dev=8, n_test=8, n_parallel=16, qa_train=4, qa_dev=2, qa_test=2)
    monkeypatch.setattr(quickstart, "FAMILY", SynthConfig(n_languages=2, seed=0, **small))
    out = tmp_path / "work"
    blocking = _file("synth/pos")(out)
    result = run_cli("quickstart", "--out", out, "-q", "--threads", "1")
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert message.startswith("Error:") and "\n" not in message, message
    assert f"{blocking} is a file, not a folder" in message, message
    assert not (out / "model").exists()  # refused before pretraining
