"""Model folders as inputs and outputs: `pretrain` never writes its model onto, into or around its --init-from
checkpoint or the text it reads, `align` never writes its links into the model folder it reads, pretraining
numbers that would train nothing or diverge are refused by their option's name, and a run in which no step fit
writes no model. Each row checks exit code 2, the one error line, and that every file under the test's folder
is byte for byte as it was, with nothing added (no output folder, no half-written one)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import one_error_line, run_cli

QUICK = ["--max-steps", "2", "--batch-size", "4", "--device", "cpu"]  # a few seconds at most, on any machine
READS = "which this command reads"


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, small_family) -> Path:
    """A model folder `pretrain` wrote (tiny preset, two steps): an earlier output, recognised by pretrain.json."""
    folder = tmp_path_factory.mktemp("pretrained") / "model"
    corpus = [small_family.mono(language.code) for language in small_family.languages]
    result = run_cli("pretrain", *corpus, "--out", folder, "--vocab-size", 200, *QUICK)
    assert result.exit_code == 0, result.output
    return folder


@dataclass
class Folder:
    """One test's folder: `model`, a copy of the pretrained model, and `text`, `source`, `target` to read."""

    root: Path

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def text(self) -> Path:
        return self.root / "text.txt"

    @property
    def source(self) -> Path:
        return self.root / "bitext.src"

    @property
    def target(self) -> Path:
        return self.root / "bitext.tgt"

    def link(self, to: Path, name: str = "link") -> Path:
        (self.root / name).symlink_to(to)
        return self.root / name


@pytest.fixture
def folder(tmp_path, pretrained, small_family) -> Folder:
    made = Folder(tmp_path)
    shutil.copytree(pretrained, made.model)
    shutil.copy(small_family.mono(small_family.languages[0].code), made.text)
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    shutil.copy(source, made.source)
    shutil.copy(target, made.target)
    return made


def _snapshot(root: Path) -> dict[str, str]:
    """Every file, folder and link under `root`, a file by the SHA-256 of its bytes (links not followed)."""
    entries = {}
    for parent, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(parent) / name
            if path.is_symlink():
                entries[str(path.relative_to(root))] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                entries[str(path.relative_to(root))] = "folder"
            else:
                entries[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def _refused(folder: Folder, args: list[object], fragment: str) -> str:
    """Run `mbert-eval ARGS`: exit 2, one `Error:` line holding `fragment`, nothing under the folder changed."""
    before = _snapshot(folder.root)
    assert before[str(Path("model") / "pretrain.json")]  # the model is an earlier output: replaceable by a run
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert message.startswith("Error:") and "\n" not in message, message
    assert fragment in message, message
    assert _snapshot(folder.root) == before, "a refused command changed, added or removed files"
    return message


@dataclass(frozen=True)
class Case:
    id: str
    args: Callable[[Folder], list[object]]  # the command line
    fragment: str  # in the one error line


def _continued(out: Callable[[Folder], Path], init_from: Callable[[Folder], Path] = lambda f: f.model):
    """`pretrain` continuing `init_from(f)` on the test's text into `out(f)`."""
    return lambda f: ["pretrain", f.text, "--init-from", init_from(f), "--out", out(f), *QUICK]


def _holds_the_checkpoint(f: Folder) -> list[object]:
    """`pretrain` into an earlier output folder (outer) that holds the checkpoint it continues (outer/inner):
    replacing the folder would delete the checkpoint."""
    shutil.copytree(f.model, f.root / "outer")
    shutil.copytree(f.model, f.root / "outer" / "inner")
    return _continued(lambda f: f.root / "outer", init_from=lambda f: f.root / "outer" / "inner")(f)


def _earlier_output(f: Folder) -> Path:
    """Another earlier output folder (a copy of the model) for --out: a refused run leaves it as it was."""
    shutil.copytree(f.model, f.root / "earlier")
    return f.root / "earlier"


def _text_in_model(f: Folder) -> Path:
    path = f.model / "notes.txt"
    shutil.copy(f.text, path)
    return path


PRETRAIN_OUTPUTS = [
    Case("out-is-init-from", _continued(lambda f: f.model), READS),
    Case("out-is-init-from-by-dotdot", _continued(lambda f: f.root / "model" / ".." / "model"), READS),
    Case("out-links-to-init-from", _continued(lambda f: f.link(f.model)), READS),
    Case("init-from-links-to-out", _continued(lambda f: f.model, init_from=lambda f: f.link(f.model)), READS),
    Case("out-inside-init-from", _continued(lambda f: f.model / "sub"), "would be written into"),
    Case("out-holds-init-from", _holds_the_checkpoint, "holds"),
    Case(
        "out-holds-corpus",
        lambda f: ["pretrain", _text_in_model(f), "--vocab-size", 200, "--out", f.model, *QUICK],
        "holds",
    ),
    Case(
        "out-inside-corpus",
        lambda f: ["pretrain", f.text, "--vocab-size", 200, "--out", f.text / "model", *QUICK],
        "would be written into",
    ),
    Case(
        "out-inside-parallel-text",
        lambda f: [
            "pretrain",
            *("--parallel", f.source, f.target, "--objective", "tlm", "--init-from", f.model),
            *("--out", f.target / "model", *QUICK),
        ],
        "would be written into",
    ),
]


@pytest.mark.parametrize("case", PRETRAIN_OUTPUTS, ids=lambda case: case.id)
def test_pretrain_never_writes_onto_into_or_around_what_it_reads(folder: Folder, case: Case) -> None:
    _refused(folder, case.args(folder), case.fragment)


def _align(out: Callable[[Folder], Path], model: Callable[[Folder], Path] = lambda f: f.model):
    return lambda f: ["align", f.source, f.target, "--model", model(f), "--layer", 1, "--out", out(f)]


ALIGN_OUTPUTS = [
    Case("onto-model-config", _align(lambda f: f.model / "config.json"), READS),
    Case("onto-model-weights", _align(lambda f: f.model / "model.safetensors"), READS),
    Case("into-model-folder", _align(lambda f: f.model / "links.txt"), READS),
    Case("into-model-through-link", _align(lambda f: f.model / "links.txt", model=lambda f: f.link(f.model)), READS),
    Case(
        "into-model-by-absolute-path",
        _align(lambda f: f.model / "config.json", model=lambda f: f.model.resolve()),
        READS,
    ),
]


@pytest.mark.parametrize("case", ALIGN_OUTPUTS, ids=lambda case: case.id)
def test_align_never_writes_into_its_model_folder(folder: Folder, case: Case) -> None:
    _refused(folder, case.args(folder), case.fragment)


def _from_scratch(*options: object) -> Callable[[Folder], list[object]]:
    """`pretrain` from scratch on the test's text with `options`, its --out the earlier output folder `model`,
    which a refused run must leave as it was; --max-steps 2 unless `options` give one."""
    quick = QUICK[2:] if "--max-steps" in options else QUICK
    return lambda f: ["pretrain", f.text, "--vocab-size", 200, *options, "--out", f.model, *quick]


NUMBERS = [
    Case(
        "learning-rate-minus-1",
        _from_scratch("--learning-rate", "-1"),
        "--learning-rate: must be a positive finite number, got -1",
    ),
    Case(
        "learning-rate-nan",
        _from_scratch("--learning-rate", "nan"),
        "--learning-rate: must be a positive finite number, got nan",
    ),
    Case(
        "learning-rate-inf",
        _from_scratch("--learning-rate", "inf"),
        "--learning-rate: must be a positive finite number, got inf",
    ),
    Case(
        "learning-rate-0",
        _from_scratch("--learning-rate", "0"),
        "--learning-rate: must be a positive finite number, got 0",
    ),
    Case("vocab-size-minus-5", _from_scratch("--vocab-size", "-5"), "--vocab-size: must be a whole number from 16"),
    Case("vocab-size-0", _from_scratch("--vocab-size", "0"), "--vocab-size: must be a whole number from 16"),
    Case("vocab-size-below-the-special-tokens", _from_scratch("--vocab-size", "5"), "got 5"),
    Case(
        "max-minutes-nan",
        _from_scratch("--max-minutes", "nan"),
        "--max-minutes: must be a positive finite number, got nan",
    ),
    Case(
        "max-minutes-inf",
        _from_scratch("--max-minutes", "inf"),
        "--max-minutes: must be a positive finite number, got inf",
    ),
    Case(
        "max-minutes-0", _from_scratch("--max-minutes", "0"), "--max-minutes: must be a positive finite number, got 0"
    ),
    Case("max-steps-0", _from_scratch("--max-steps", "0"), "--max-steps: must be a whole number of at least 1, got 0"),
    Case(
        "batch-size-0",
        lambda f: _from_scratch()(f) + ["--batch-size", "0"],
        "--batch-size: must be a whole number of at least 1",
    ),
    Case("no-step-fits-the-time", _from_scratch("--max-minutes", "1e-9"), "no training step fit in the time given"),
    Case(
        "no-step-fits-the-time-continued",
        lambda f: [*_continued(_earlier_output)(f), "--max-minutes", "1e-9"],
        "no training step fit in the time given",
    ),
]


@pytest.mark.parametrize("case", NUMBERS, ids=lambda case: case.id)
def test_pretrain_refuses_numbers_that_train_nothing(folder: Folder, case: Case) -> None:
    """A learning rate, vocabulary size or time budget that trains nothing (or diverges) is refused by the option's
    name before anything is read; a run that fit no step in its time writes no model and leaves --out as it was."""
    message = _refused(folder, case.args(folder), case.fragment)
    if case.id.startswith("no-step"):
        assert "nothing was written" in message


@pytest.mark.parametrize("command", ["pretrain", "align"])
def test_an_unknown_device_is_one_line(folder: Folder, command: str) -> None:
    """`--device mps` on a machine whose torch has no MPS backend: one line, not a traceback from deep in the run."""
    if command == "pretrain":
        args = ["pretrain", folder.text, "--vocab-size", 200, "--out", folder.model, "--max-steps", 2]
    else:
        args = _align(lambda f: f.root / "links.txt")(folder)
    _refused(folder, [*args, "--device", "mps"], "device 'mps'")


def test_pretrain_writes_beside_its_checkpoint(folder: Folder) -> None:
    """The checks refuse only what would replace an input: a sibling whose name starts like the checkpoint's is
    written, and the checkpoint is as it was."""
    model = _snapshot(folder.model)
    out = folder.root / "model-continued"
    result = run_cli("pretrain", folder.text, "--init-from", folder.model, "--out", out, *QUICK)
    assert result.exit_code == 0, result.output
    assert (out / "pretrain.json").is_file() and _snapshot(folder.model) == model
