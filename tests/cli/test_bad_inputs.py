"""Bad and odd inputs a new user tries (issue 13), one table row each: the input, the command, the exit code,
a fragment of the one line it must print, and the rows in the store before and after (nothing partial is
stored, nothing already stored is lost). Grow the list by adding a row."""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from mbert_eval.data import read_conllu
from mbert_eval.store.examples import read_examples
from mbert_eval.store.results import ResultStore
from tests.helpers import Workspace, assert_refused, family_experiment, one_error_line, run_cli, write_config


def _set(path: str, value) -> Callable[[dict], None]:
    """An edit that sets one dotted key path of the raw config."""

    def edit(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return edit


def _test_file(pattern: str) -> Callable[[dict], None]:
    def edit(raw: dict) -> None:
        raw["tasks"]["pos"]["test"] = raw["tasks"]["pos"]["test"] + pattern

    return edit


def _broken_weights(content: Callable[[bytes], bytes]) -> Callable[[Workspace], list[str]]:
    """A copy of the tiny model whose model.safetensors is replaced by `content(original)`."""

    def setup(ws: Workspace) -> list[str]:
        folder = ws.root / "broken-model"
        shutil.copytree(ws.model, folder)
        weights = folder / "model.safetensors"
        weights.write_bytes(content(weights.read_bytes()))
        return [ws.config(_set("models", [str(folder)]))]

    return setup


def _file(name: str, text: str) -> Callable[[Workspace], list[str]]:
    def setup(ws: Workspace) -> list[str]:
        path = ws.root / name
        path.write_text(text, encoding="utf-8")
        return [str(path)]

    return setup


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Workspace], list[str]]  # prepares the input; returns the command's arguments
    fragment: str  # in the one error line
    commands: tuple[str, ...] = ("validate", "run")
    exit_code: int = 2


def _edit(id: str, edit: Callable[[dict], object], fragment: str, **more) -> Case:
    return Case(id, lambda ws: [ws.config(edit)], fragment, **more)


def _step(step: str, key: str, value: object, **parallel: object) -> Case:
    """A grid whose one method is the checkpoint step `step` (tlm or align) over the family's parallel text,
    its `key` (e.g. `tlm.learning_rate`) set to `value`; the row's id is the key's, its fragment names the key."""

    def setup(ws: Workspace) -> list[str]:
        base, other, gold = ws.family.parallel(ws.family.languages[1].code)

        def edit(raw: dict) -> None:
            raw.update(methods=[step], targets=[ws.family.languages[1].code], tlm={"steps": 2})
            raw["parallel"] = {"source": str(base), "target": str(other), "alignments": str(gold), **parallel}
            _set(key, value)(raw)

        return [ws.config(edit)]

    return Case(f"{key.replace('.', '-').replace('_', '-')}-{value}", setup, f"{key}: ")


def _place(id: str, key: str, where: str, make: Callable[[Path], object] = lambda path: None) -> Case:
    """`key` (output or store) set to `where` in the workspace folder (exp.yaml: the config file), after `make`
    prepared that path; the one line names the key (`--no-report`: the report's place tells nothing of it)."""

    def setup(ws: Workspace) -> list[str]:
        path = ws.root / where
        make(path)
        return [ws.config(_set(key, str(path))), "--no-report"]

    return Case(id, setup, f"{key}: ")


def _output_in_the_model(ws: Workspace) -> list[str]:
    """A copy of the tiny model, the run's output set to a folder inside it."""
    model = shutil.copytree(ws.model, ws.root / "model")

    def edit(raw: dict) -> None:
        raw.update(models=[str(model)], output=str(model / "runs"))

    return [ws.config(edit), "--no-report"]


def _empty_parallel_text(ws: Workspace) -> list[str]:
    """A TLM grid whose parallel text is two empty files (it failed naming a file of the run's own)."""
    empty = ws.root / "empty.txt"
    empty.write_text("", encoding="utf-8")

    def edit(raw: dict) -> None:
        raw.update(methods=["tlm"], targets=[ws.family.languages[1].code], tlm={"steps": 2})
        raw["parallel"] = {"source": str(empty), "target": str(empty)}

    return [ws.config(edit)]


CASES = [
    _edit("learning-rate-nan", _set("training.learning_rate", math.nan), "training.learning_rate: must be a finite"),
    _edit("inf-anywhere", _set("tlm.learning_rate", math.inf), "tlm.learning_rate: must be a finite number"),
    _edit("device-banana", _set("device", "banana"), "banana"),
    _edit("epochs-0", _set("training.epochs", 0), "training.epochs: must be at least 1, got 0"),
    _edit("epochs-minus-1", _set("training.epochs", -1), "training.epochs: must be at least 1, got -1"),
    _edit("task-epochs-0", _set("tasks.pos.epochs", 0), "tasks.pos.epochs: must be at least 1"),
    _edit("seeds-empty", _set("seeds", []), "seeds: no seed given"),
    _edit(  # it ran the baseline under freeze1's name
        "method-name-spells-another", _set("methods", [{"name": "freeze1"}]), "its name spells another method"
    ),
    _edit("method-option-twice", _set("methods", ["freeze1+freeze2"]), "sets freeze twice (freeze1, freeze2)"),
    _edit(
        "max-length-beyond-model",
        _set("training.max_length", 100000),
        "training.max_length: 100000 tokens is beyond the position table",
    ),
    _edit(
        "eval-max-length-beyond-model",
        _set("training.eval_max_length", 100000),
        "training.eval_max_length: 100000 tokens is beyond the position table",
    ),
    _edit("eval-max-length-0", _set("training.eval_max_length", 0), "training.eval_max_length: at least 3 tokens"),
    _edit("eval-steps-0", _set("training.eval_steps", 0), "training.eval_steps: at least 1 (or null"),
    _edit("output-unknown-field", lambda raw: raw.update(output=raw["output"] + "/{nam}"), "output: bad pattern"),
    _edit(  # the output folder holds the checkpoints even where the store is elsewhere
        "output-unknown-field-store-elsewhere",
        lambda raw: raw.update(output=raw["output"] + "/{nam}", store=raw["output"] + "/results.sqlite"),
        "output: bad pattern",
    ),
    _edit("name-2000-chars", _set("name", "x" * 2000), "name: at most 200 bytes"),
    _edit("name-with-slash", _set("name", "a/b"), "no '/'"),
    _edit("slice-beyond-file", _test_file("[5000:5010]"), "(the file holds 40)"),
    _edit("slice-reversed", _test_file("[10:5]"), "an empty slice"),
    Case("weights-cut-short", _broken_weights(lambda data: data[: len(data) // 2]), "do not open"),
    Case("weights-not-safetensors", _broken_weights(lambda data: b"\xff" * 64), "do not open"),
    Case("yaml-nul-byte", _file("nul.yaml", "name: a\x00b\n"), "nul.yaml:1: holds NUL bytes"),
    Case("yaml-empty", _file("empty.yaml", ""), "the config is empty"),
    Case("yaml-syntax", _file("bad.yaml", "name: test\ntasks: [pos\n"), "bad.yaml:"),
    # a clipping norm of 0 zeroes every gradient (the head never trains), a negative one turns it round
    _edit("max-grad-norm-0", _set("training.max_grad_norm", 0), "training.max_grad_norm: must be positive, got 0"),
    _edit("max-grad-norm-minus-1", _set("training.max_grad_norm", -1), "training.max_grad_norm: must be positive"),
    _edit("weight-decay-negative", _set("training.weight_decay", -0.1), "training.weight_decay: must not be negative"),
    # a window shorter than [CLS] x [SEP] is not cut at all by the tokenizer, while the rows record it
    _edit("max-length-1", _set("training.max_length", 1), "training.max_length: at least 3 tokens"),
    _edit("eval-max-length-2", _set("training.eval_max_length", 2), "training.eval_max_length: at least 3 tokens"),
    _step("tlm", "tlm.learning_rate", -1),
    _step("tlm", "tlm.learning_rate", 0),
    _step("tlm", "tlm.batch_size", 0),
    _step("tlm", "tlm.max_length", 2),
    _step("tlm", "tlm.max_length", 3),  # passed, then every pair was [CLS] [SEP] [SEP]: a NaN loss blamed the rate
    _step("tlm", "tlm.steps", 1),  # its one step ran at the warm-up's learning rate 0: an untrained checkpoint
    _step("tlm", "tlm.head_steps", -1),
    _step("tlm", "tlm.head_learning_rate", 0),  # refused as the pretraining run refuses it, warm-up or not
    _step("align", "align.learning_rate", 0),
    _step("align", "align.batch_size", 0),
    _step("align", "align.max_length", 2),
    _step("align", "align.regularization", -1),
    _step("align", "align.warmup_ratio", 1),
    _step("align", "align.warmup_ratio", -0.5),
    _step("align", "align.layer", 3),  # the tiny model has 2 layers: hidden states 0..2
    _step("align", "align.layer", -4),
    _step("align", "align.aligner_layer", -1, alignments=None),  # the aligner computes the links
    _edit("device-mps", _set("device", "mps"), "unknown device 'mps'; use auto, cpu, cuda or cuda:<index>"),
    _edit("device-meta", _set("device", "meta"), "unknown device 'meta'"),
    _edit("device-xpu", _set("device", "xpu"), "unknown device 'xpu'"),
    _edit("threads-huge", _set("threads", 99999999999999999999), "threads: at most 4096 CPU threads"),
    Case(
        "threads-option-huge",
        lambda ws: [ws.config(), "--threads", "99999999999999999999"],
        "'--threads': 99999999999999999999 is not in the range 1<=x<=4096",
        commands=("run",),
    ),
    _edit("models-a-number", _set("models", 5), "models: "),
    Case("models-a-number-set", lambda ws: [ws.config(), "--set", "models=5"], "models: "),
    _edit("models-listed-twice", lambda raw: raw.update(models=raw["models"] * 2), "is listed twice"),
    _edit(  # Tatoeba and the other retrieval, identity and alignment tasks read local files only
        "hub-data-for-a-local-task",
        _set("tasks.tatoeba", {"test": "hub:org/tatoeba:test", "pivot": "hub:org/tatoeba:pivot"}),
        "tasks.tatoeba.test: task 'tatoeba' reads local files, not hub:org/tatoeba:test",
    ),
    _edit(
        "model-spelt-twice",  # one folder, with a trailing slash and through `..`: the same cells twice
        lambda raw: raw.update(models=[(m := raw["models"][0]), f"{m}/", f"{m}/../{Path(m).name}"]),
        "is listed twice",
    ),
    _edit("output-nul-byte", lambda raw: raw.update(output=raw["output"] + "\0x"), "output: "),
    _edit("store-nul-byte", lambda raw: raw.update(store=raw["output"] + "/a\0b.sqlite"), "store: "),
    _edit("name-nul-byte", lambda raw: raw.update(name="a\0b", output="out/{name}"), "name: "),  # anchored: resolved
    _edit("task-train-nul-byte", lambda raw: raw["tasks"]["pos"].update(train="a\0b"), "tasks.pos.train: "),
    _edit("task-test-nul-byte", _test_file("\0"), "tasks.pos.test: "),
    Case(
        "output-in-the-model-folder",
        _output_in_the_model,
        "output: ",
    ),
    Case("parallel-text-empty", _empty_parallel_text, "parallel: no sentence pairs between "),
    _place("output-is-a-file", "output", "exp.yaml"),
    _place("output-under-a-file", "output", "exp.yaml/sub"),
    _place("store-is-a-folder", "store", "folder", lambda path: path.mkdir()),
    _place("store-under-a-file", "store", "exp.yaml/results.sqlite"),
    _place("output-cannot-be-made", "output", "/proc/mbert-eval-output"),  # no folder can be made in /proc
    _place("store-a-device", "store", "/dev/full"),  # not a file: every write fails
    _edit("sources-empty", _set("sources", []), "sources: no source language given"),
    _edit("seeds-twice", _set("seeds", [1, 1]), "seeds: 1 is listed twice"),
    _edit("sources-twice", lambda raw: raw.update(sources=raw["sources"] * 2), "is listed twice"),
    # YAML slips (an audit of 2026-12-07): a traceback, a number read as another name, a problem without its place
    _edit("tasks-a-list-of-mappings", lambda raw: raw.update(tasks=[raw["tasks"]]), "tasks[0]: expected a task name"),
    Case("tasks-a-list-of-lists-set", lambda ws: [ws.config(), "--set", "tasks=[[pos]]"], "tasks[0]: expected a task"),
    _edit(
        "test-keyed-by-an-unknown-language",
        lambda raw: raw["tasks"]["pos"].update(test={"qab": raw["tasks"]["pos"]["test"], "xx": "x.conllu"}),
        "tasks.pos.test.xx: unknown language 'xx'",
    ),
    _edit(
        "name-a-number", _set("name", 1.10), "name: expected a string, got the number 1.1 (YAML reads"
    ),  # `name: 1.10` named runs/1.1
    Case(
        "task-targets-an-element-set",
        lambda ws: [ws.config(), "--set", "tasks.pos.targets=[qab, true]"],
        "tasks.pos.targets[1]: expected a string, got True",
    ),
    # an audit of 2026-12-08: tracebacks (ENAMETOOLONG, pathlib's RuntimeError for an unknown ~user)
    _edit("store-name-too-long", _set("store", "a" * 300), "a file name too long for the file system"),
    _edit("output-name-too-long", _set("output", "a" * 300), "a file name too long for the file system"),
    _edit("model-name-too-long", _set("models", ["./" + "a" * 300]), "a file name too long for the file system"),
    _edit(
        "one-method-under-two-names",
        _set("methods", ["baseline", "freeze1", "freeze01"]),
        "methods[2]: 'freeze01' runs what 'freeze1' runs (the same settings)",
    ),
    _edit(
        "weight-decay-past-the-learning-rate",
        _set("training.weight_decay", 1e12),
        "training.weight_decay: 1e+12 times the learning rate",
    ),  # the run diverged, and the line blamed the learning rate
    _edit("model-an-empty-name", _set("models", [""]), "models[0]: a model is a folder or a Hub name, got ''"),
    Case("report-an-empty-name", lambda ws: [ws.config(), "--report", ""], "--report: name the report's file"),
    _edit("output-of-an-unknown-user", _set("output", "~nosuchuser/x"), "no home folder is known for ~nosuchuser"),
    _edit("model-of-an-unknown-user", _set("models", ["~nosuchuser/m"]), "no home folder is known for ~nosuchuser"),
    _edit(
        "train-of-an-unknown-user", _set("tasks.pos.train", "~nosuchuser/t"), "no home folder is known for ~nosuchuser"
    ),
]
if not torch.cuda.is_available():
    CASES.append(_edit("device-cuda-without-cuda", _set("device", "cuda"), "cuda"))


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_config(case: Case, command: str, workspace: Workspace) -> None:
    if command not in case.commands:
        pytest.skip(f"{case.id} is not a `{command}` case")
    workspace.fill_store()
    assert_refused(run_cli(command, *case.setup(workspace)), command, case.fragment, workspace, case.exit_code)


@pytest.mark.parametrize("key", ["training.epochs", "tasks.pos.epochs"])
def test_a_count_below_one_is_one_problem(key: str, workspace: Workspace) -> None:
    """`validate` lists a bad epoch count once (the training config's check and the run's counts both read
    `training.epochs`)."""
    result = run_cli("validate", workspace.config(_set(key, 0)))
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if f"{key}:" in line] == [
        f"{workspace.root / 'exp.yaml'}: {key}: must be at least 1, got 0 (an untrained head's scores are no result)"
    ]


def test_settings_of_a_step_no_method_runs_are_not_checked(workspace: Workspace) -> None:
    """`tlm.*` and `align.*` are checked only where a method has that step (the baseline grid runs neither)."""
    config = workspace.config(_set("tlm", {"batch_size": 0, "learning_rate": -1, "max_length": 1}))
    result = run_cli("validate", config)
    assert result.exit_code == 0, result.output


def test_the_api_refuses_a_number_for_models_and_a_huge_thread_count(workspace: Workspace) -> None:
    """What the command line refuses, the Python API refuses with the same line (and `resolve_threads`, which
    every command's `--threads` reaches, refuses a count torch would overflow on)."""
    import mbert_eval
    from mbert_eval.errors import UserError
    from mbert_eval.models.threads import resolve_threads

    with pytest.raises(UserError, match=r"^models: a model is a folder or a Hub name, got 5$"):
        mbert_eval.run({**workspace.raw(), "models": 5})
    with pytest.raises(UserError, match="threads: at most 4096"):
        mbert_eval.run(workspace.raw(), threads=10**20)
    with pytest.raises(UserError, match="threads: from 1 to 4096"):
        resolve_threads(10**20)
    assert workspace.rows() is None


@pytest.mark.hub_check
def test_hub_name_while_offline_is_refused_by_validate(workspace: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = workspace.config(_set("models", ["bert-base-multilingual-cased"]))
    for command in ("validate", "run"):
        result = run_cli(command, config)
        assert result.exit_code == 2, result.output
        assert "pass a local model folder" in one_error_line(result)
    assert workspace.rows() is None


@pytest.mark.parametrize(
    "cut", [lambda data: data[: len(data) // 2], lambda data: b"\xff" * 64], ids=["cut-short", "not-safetensors"]
)
def test_align_with_broken_weights_is_one_line(cut, workspace: Workspace) -> None:
    model = Path(_broken_weights(cut)(workspace)[0]).parent / "broken-model"
    text = workspace.root / "bitext.txt"
    text.write_text(ALIGN_TEXT, encoding="utf-8")
    out = workspace.root / "links.txt"
    result = run_cli("align", text, "--model", model, "--out", out)
    assert result.exit_code == 2, result.output
    assert "do not open" in one_error_line(result)
    assert not out.exists()


def test_odd_but_fine_conllu_runs_and_scores_every_word(workspace: Workspace) -> None:
    """A BOM, CRLF line ends, a multiword-token line, an empty node and a 10,000-token sentence: all read; the
    long sentence comes in pieces that fit the evaluation window (the training max_length, 64 here), as XTREME
    splits it, so nothing is cut and every one of its words is scored."""
    target = workspace.family.languages[1].code
    lines = (workspace.family.root / "pos" / f"{target}-test.conllu").read_text(encoding="utf-8").splitlines()
    first = lines.index("") + 1  # where the second sentence starts; the first gains a multiword token and an empty node
    words = [line.split("\t") for line in lines[:first] if line and not line.startswith("#")]
    mwt = "\t".join(["1-2", words[0][1] + words[1][1]] + ["_"] * 8)
    empty_node = "\t".join(["2.1", "ghost"] + ["_"] * 8)
    at = lines.index("\t".join(words[0]))
    odd = lines[:at] + [mwt] + lines[at : at + 2] + [empty_node] + lines[at + 2 : first - 1]
    long = [f"{i}\t{words[0][1]}\t_\t{words[0][3]}\t_\t_\t_\t_\t_\t_" for i in range(1, 10001)]
    text = "\r\n".join(odd + [""] + lines[first:] + long + [""])
    path = workspace.root / f"{target}-test.conllu"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    config = workspace.config(
        lambda raw: raw["tasks"]["pos"].update(test={target: str(path)}) or raw.update(targets=[target])
    )
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 0, result.output
    assert "fill the whole" not in result.stderr
    original, read = read_conllu(workspace.family.root / "pos" / f"{target}-test.conllu"), read_conllu(path)
    assert read[0] == original[0] and len(read[-1].tokens) == 10000  # the multiword line and the empty node skipped
    rows = ResultStore(workspace.store).rows()
    assert {row.n_examples for row in rows if row.target == target} == {len(original) + 1}
    main = next(row for row in rows if row.target == target and row.metric == "accuracy")
    outputs = read_examples(workspace.store, main.extra["examples"])  # the long sentence: all 10,000 words predicted
    assert outputs.stats[-1][1] == 10000 and "_" not in outputs.predictions[-1]


# --- stores that are not SQLite, empty, or cannot be written --------------------------------------------------


@pytest.mark.parametrize("command", ["run", "results", "report"])
def test_a_store_that_is_not_sqlite_is_one_line_and_untouched(command: str, workspace: Workspace) -> None:
    workspace.store.parent.mkdir(parents=True)
    junk = b"not a database, but my notes\n" * 100
    workspace.store.write_bytes(junk)
    args = [workspace.config()] if command == "run" else ["--store", workspace.store]
    result = run_cli(command, *args)
    assert result.exit_code == 2, result.output
    assert "is not a results store" in one_error_line(result)
    assert workspace.store.read_bytes() == junk


@pytest.mark.parametrize(
    "command, exit_code, fragment", [("results", 0, "no results stored"), ("report", 2, "nothing to report")]
)
def test_an_empty_store_is_read_never_written(
    command: str, exit_code: int, fragment: str, workspace: Workspace
) -> None:
    workspace.store.parent.mkdir(parents=True)
    workspace.store.write_bytes(b"")
    result = run_cli(
        command, "--store", workspace.store, *(["--out", workspace.root / "r.html"] if command == "report" else [])
    )
    assert result.exit_code == exit_code, result.output
    assert fragment in result.output
    assert workspace.store.stat().st_size == 0
    assert sorted(p.name for p in workspace.store.parent.iterdir()) == ["results.sqlite"]  # no -wal, no -shm
    assert not (workspace.root / "r.html").exists()


def test_results_and_report_read_a_store_in_a_read_only_folder(workspace: Workspace, monkeypatch) -> None:
    workspace.fill_store()
    before = workspace.store.read_bytes()
    real_access = os.access
    folder = workspace.store.parent.resolve()
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode, **kw: False if Path(path) == folder and mode & os.W_OK else real_access(path, mode, **kw),
    )
    result = run_cli("results", "--store", workspace.store)
    assert result.exit_code == 0 and "t1" in result.output, result.output
    report = workspace.root / "report.html"
    assert run_cli("report", "--store", workspace.store, "--out", report).exit_code == 0
    assert report.is_file() and workspace.store.read_bytes() == before


def test_a_store_that_cannot_be_written_is_one_line(workspace: Workspace, monkeypatch) -> None:
    """SQLite's "unable to open database file" (a read-only folder or file system, as a user who cannot write
    there sees it; the tests may run as root, who can write anywhere, so SQLite's answer is stood in for)."""

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr("mbert_eval.store.sqlite.sqlite3.connect", refuse)
    result = run_cli("run", workspace.config())
    assert result.exit_code == 2, result.output
    assert "cannot write the results store" in one_error_line(result)


# --- pair-classification labels --------------------------------------------------------------------------------


def _relabel(source: Path, target: Path, names: dict[str, str]) -> None:
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        first, second, label = line.split("\t")
        lines.append(f"{first}\t{second}\t{names[label]}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pairs_config(ws: Workspace, train: dict[str, str], test: dict[str, str], name: str) -> str:
    """The paraphrase task alone, its training files labelled by `train`, its test files by `test`."""
    raw = family_experiment(ws.family, ws.model, name=name, output=str(ws.root / name))
    raw["tasks"].pop("pos")
    files = ws.root / f"{name}-pairs"
    files.mkdir()
    for language in ws.family.languages:
        for split, names in (("train", train), ("dev", train), ("test", test)):
            _relabel(
                ws.family.root / "pairs" / f"{language.code}-{split}.tsv", files / f"{language.code}-{split}.tsv", names
            )
    raw["tasks"]["paraphrase"] = {split: f"{files}/{{lang}}-{split}.tsv" for split in ("train", "dev", "test")}
    return str(write_config(ws.root / f"{name}.yaml", raw))


def test_labels_in_another_case_score_as_the_same_labels(workspace: Workspace) -> None:
    lower = {"0": "different", "1": "same"}
    same = _pairs_config(workspace, lower, lower, "lower")
    other_case = _pairs_config(workspace, lower, {"0": "Different", "1": "SAME"}, "upper")
    scores = []
    for config, name in ((same, "lower"), (other_case, "upper")):
        result = run_cli("run", config, "--no-report")
        assert result.exit_code == 0, result.output
        rows = ResultStore(workspace.root / name / "results.sqlite").rows()
        scores.append(sorted((row.target, row.score) for row in rows if row.metric == "accuracy"))
    assert scores[0] == scores[1]
    assert all(score > 0 for _, score in scores[0])


def test_test_labels_that_training_never_has_are_refused(workspace: Workspace) -> None:
    config = _pairs_config(workspace, {"0": "0", "1": "1"}, {"0": "2", "1": "2"}, "unknown")
    for command in ("validate", "run"):
        result = run_cli(command, config)
        assert result.exit_code == 2, result.output
        message = one_error_line(result)
        assert "label '2' never occurs in training" in message and "-test.tsv:1" in message, message
    assert (
        not (workspace.root / "unknown" / "results.sqlite").exists()
        or ResultStore(workspace.root / "unknown" / "results.sqlite").rows() == []
    )


# --- align-eval and text ---------------------------------------------------------------------------------------

ALIGN_TEXT = "a b c ||| x y z\nd e ||| u v\n"
PRED = "0-0 1-1 2-2\n0-0 1-1\n"
ALIGN_CASES = [  # gold file, options, exit code, fragment
    ("1-1 2-2 3-3\n1-1 2-2\n", [], 2, "pass --one-indexed"),
    ("1-1 2-2 3-3\n1-1 2-2\n", ["--text"], 0, "AER 0.0000"),
    ("1-1 2-2 3-3\n1-1 2-2\n", ["--one-indexed"], 0, "ranges not checked: pass --text"),
    ("1-1 2-2 3-3\n1-1 2-2\n", ["--zero-indexed", "--text"], 2, "--drop-out-of-range"),
    ("0-0 1-1 2-2\n0-0 1-1 5-1\n", ["--text"], 2, "--drop-out-of-range"),
    (
        "0-0 1-1 2-2\n0-0 1-1 5-1\n",
        ["--text", "--drop-out-of-range"],
        0,
        "1 out-of-range gold links dropped (first on line 2)",
    ),
    ("0-0 1-1 2-2\n0-0 1-1\n", ["--drop-out-of-range"], 2, "needs --text"),
]


@pytest.mark.parametrize(
    "gold, options, exit_code, fragment",
    ALIGN_CASES,
    ids=[f"{'+'.join(c[1]) or 'default'}-{c[2]}-{i}" for i, c in enumerate(ALIGN_CASES)],
)
def test_align_eval(gold: str, options: list[str], exit_code: int, fragment: str, tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("gold.txt", "pred.txt", "text.txt")}
    for (_name, path), content in zip(files.items(), (gold, PRED, ALIGN_TEXT)):
        path.write_text(content, encoding="utf-8")
    args = [a for option in options for a in ([option, files["text.txt"]] if option == "--text" else [option])]
    result = run_cli("align-eval", "--gold", files["gold.txt"], "--pred", files["pred.txt"], *args)
    assert result.exit_code == exit_code, result.output
    assert fragment in (one_error_line(result) if exit_code else result.output)


def test_text_reads_conll2002_ner_as_words(tmp_path: Path) -> None:
    conll = tmp_path / "ned.train"
    conll.write_text(
        "-DOCSTART- -DOCSTART- O\nDe Art O\nkat N O\nin Prep O\nParijs N B-LOC\n. Punc O\n\nJan N B-PER\nslaapt V O\n",
        encoding="utf-8",
    )
    out = tmp_path / "corpus.txt"
    result = run_cli("text", conll, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines() == ["De kat in Parijs .", "Jan slaapt"]


def test_case_variants_inside_training_are_one_class() -> None:
    from mbert_eval.data.types import SentencePair
    from mbert_eval.tasks.pair_classification import PairClassificationTask

    train = [
        SentencePair("a", "b", "Entailment"),
        SentencePair("c", "d", "entailment"),
        SentencePair("e", "f", "CONTRADICTION"),
        SentencePair("g", "h", "contradiction"),
    ]
    task = PairClassificationTask()
    assert task.label_set(train) == ["contradiction", "entailment"]
    assert task.examples_problem(train, [SentencePair("x", "y", "ENTAILMENT")]) is None


@pytest.mark.parametrize(
    "args",
    [("results", "--store", "a" * 300), ("report", "--store", "STORE", "--out", "a" * 300 + ".html")],
    ids=["results-store", "report-out"],
)
def test_a_file_name_too_long_for_an_option_is_one_line(args, workspace: Workspace) -> None:
    """A name over the file system's 255 bytes was a traceback (OSError: File name too long) before any work."""
    workspace.fill_store()
    store = str(workspace.root / "out" / "results.sqlite")
    result = run_cli(*[store if arg == "STORE" else arg for arg in args])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "a file name too long for the file system" in one_error_line(result)
