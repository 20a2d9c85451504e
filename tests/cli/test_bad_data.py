"""Bad data, labels and model folders (issue 22), one table row each: the input, the command, the exit code, a
fragment of the one line it must print, and the store's rows before and after (a refusal stores nothing and loses
nothing). `validate` refuses whatever `run` would, before any training."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mbert_eval.errors import UserError
from mbert_eval.store.results import ResultStore
from tests.helpers import Workspace, assert_refused, one_error_line, run_cli

Setup = Callable[[Workspace], list[str]]


def _target(ws: Workspace, index: int = 1) -> str:
    return ws.family.languages[index].code


def _pos_test_with(tag: str, line_index: int = 3, entry: str = "pos", **options: object) -> Setup:
    """A copy of the first target's POS test file whose token at `line_index` (0-based, a token line) is
    tagged `tag`; the grid is evaluated on that target only, with the task's `options`, under the config entry
    `entry` (a variant, `pos:LABEL`, in place of the plain entry)."""

    def setup(ws: Workspace) -> list[str]:
        target = _target(ws)
        lines = (ws.family.root / "pos" / f"{target}-test.conllu").read_text(encoding="utf-8").splitlines()
        columns = lines[line_index].split("\t")
        columns[3] = tag
        lines[line_index] = "\t".join(columns)
        path = ws.root / f"{target}-test.conllu"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

        def edit(raw: dict) -> None:
            raw["tasks"]["pos"].update(test={target: str(path)}, **options)
            raw["tasks"][entry] = raw["tasks"].pop("pos")
            raw["targets"] = [target]

        return [ws.config(edit)]

    return setup


def _probe_trained_on_one_tag(ws: Workspace) -> list[str]:
    """A POS probe whose training file (the source's) tags every word NOUN; test tags it never saw are scored."""
    source = _target(ws, 0)
    lines = (ws.family.root / "pos" / f"{source}-train.conllu").read_text(encoding="utf-8").splitlines()
    columns = [line.split("\t") for line in lines]
    path = ws.root / f"{source}-train.conllu"
    path.write_text(
        "\n".join("\t".join(c[:3] + ["NOUN"] + c[4:]) if len(c) > 3 else "\t".join(c) for c in columns) + "\n"
    )

    def edit(raw: dict) -> None:
        raw["tasks"]["pos_probe"] = {**raw["tasks"].pop("pos"), "train": str(path), "unseen_labels": "score"}

    return [ws.config(edit)]


def _ner_files(ws: Workspace, test_tag: str) -> dict[str, str]:
    """WikiANN-style NER files made from the family's POS files (nouns are B-PER, the rest O); the test file's
    first noun is tagged `test_tag` instead (e.g. CoNLL-2002's B-MISC)."""
    files = {}
    for split in ("train", "dev", "test"):
        code = _target(ws, 0 if split != "test" else 1)
        lines = []
        for line in (ws.family.root / "pos" / f"{code}-{split}.conllu").read_text(encoding="utf-8").splitlines():
            if not line or line.startswith("#"):
                lines.append("")
                continue
            columns = line.split("\t")
            lines.append(f"{columns[1]}\t{'B-PER' if columns[3] == 'NOUN' else 'O'}")
        if split == "test":
            first = next(i for i, line in enumerate(lines) if line.endswith("\tB-PER"))
            lines[first] = lines[first].replace("\tB-PER", f"\t{test_tag}")
        path = ws.root / f"ner-{split}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[split] = str(path)
    return files


def _ner_with(test_tag: str) -> Setup:
    def setup(ws: Workspace) -> list[str]:
        files = _ner_files(ws, test_tag)

        def edit(raw: dict) -> None:
            raw["tasks"] = {"ner": {**files, "test": {_target(ws): files["test"]}}}
            raw["targets"] = [_target(ws)]

        return [ws.config(edit)]

    return setup


def _pairs_second_unlabeled(ws: Workspace) -> list[str]:
    """A paraphrase grid over two targets: the first labeled, the second an unlabeled test file (XNLI's
    `test.unlabeled.tsv` layout)."""
    first, second = _target(ws, 1), _target(ws, 2)
    root = ws.family.root / "pairs"
    unlabeled = ws.root / f"{second}-test.unlabeled.tsv"
    rows = (root / f"{second}-test.tsv").read_text(encoding="utf-8").splitlines()
    unlabeled.write_text("".join("\t".join(row.split("\t")[:2]) + "\n" for row in rows), encoding="utf-8")

    def edit(raw: dict) -> None:
        raw["tasks"] = {
            "paraphrase": {
                "train": f"{root}/{{lang}}-train.tsv",
                "dev": f"{root}/{{lang}}-dev.tsv",
                "test": {first: str(root / f"{first}-test.tsv"), second: str(unlabeled)},
            }
        }
        raw["targets"] = [first, second]

    return [ws.config(edit)]


def _pairs_with(split: str, change: Callable[[list[str]], list[str]], **options: object) -> Setup:
    """A paraphrase grid whose `split` file is changed, a line's fields at a time, with the task's `options`."""

    def setup(ws: Workspace) -> list[str]:
        root = ws.family.root / "pairs"
        files = {
            key: str(root / f"{_target(ws, 0 if key != 'test' else 1)}-{key}.tsv") for key in ("train", "dev", "test")
        }
        rows = Path(files[split]).read_text(encoding="utf-8").splitlines()
        changed = ws.root / f"changed-{split}.tsv"
        changed.write_text("".join("\t".join(change(row.split("\t"))) + "\n" for row in rows), encoding="utf-8")
        files[split] = str(changed)

        def edit(raw: dict) -> None:
            raw["tasks"] = {"paraphrase": {**files, "test": {_target(ws): files["test"]}, **options}}
            raw["targets"] = [_target(ws)]

        return [ws.config(edit)]

    return setup


def _qa_test(text: str) -> Setup:
    """A QA grid (the family's SQuAD-shaped files) whose target test file holds `text`."""

    def setup(ws: Workspace) -> list[str]:
        root = ws.family.root / "qa"
        test = ws.root / "qa-test.json"
        test.write_text(text, encoding="utf-8")

        def edit(raw: dict) -> None:
            raw["tasks"] = {
                "xquad": {
                    "train": f"{root}/{{lang}}-train.json",
                    "dev": f"{root}/{{lang}}-dev.json",
                    "test": {_target(ws): str(test)},
                }
            }
            raw["targets"] = [_target(ws)]

        return [ws.config(edit)]

    return setup


def _qa_on_a_short_model(ws: Workspace) -> list[str]:
    """The QA grid of `_qa_test` (its own test files) on a copy of the tiny model with 64 positions: a window
    holds no context after a question of up to 64 tokens."""
    folder = shutil.copytree(ws.model, ws.root / "short-model")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 64}), encoding="utf-8")
    root = ws.family.root / "qa"

    def edit(raw: dict) -> None:
        raw["tasks"] = {"xquad": {split: f"{root}/{{lang}}-{split}.json" for split in ("train", "dev", "test")}}
        raw["models"], raw["training"]["max_length"] = [str(folder)], 64

    return [ws.config(edit)]


def _alignment(ws: Workspace, gold_edit: Callable[[str], str] = lambda line: line, **options: object) -> list[str]:
    """An alignment grid over the family's parallel text, its gold lines changed by `gold_edit`, with `options`."""
    base, other = _target(ws, 0), _target(ws, 1)
    stem = ws.family.root / "parallel" / f"{base}-{other}"
    sources = stem.with_suffix(f".{base}").read_text(encoding="utf-8").splitlines()
    targets = stem.with_suffix(f".{other}").read_text(encoding="utf-8").splitlines()
    gold = stem.with_suffix(".align").read_text(encoding="utf-8").splitlines()
    test = ws.root / "bitext.txt"
    test.write_text("".join(f"{s} ||| {t}\n" for s, t in zip(sources, targets)), encoding="utf-8")
    possible = ws.root / "gold-possible.txt"
    possible.write_text("".join(gold_edit(line) + "\n" for line in gold), encoding="utf-8")

    def edit(raw: dict) -> None:
        raw["tasks"] = {"alignment": {"test": str(test), "gold": str(possible), "one_indexed": False, **options}}
        raw["targets"] = [other]

    return [ws.config(edit)]


def _model_with(change: Callable[[Path], None]) -> Setup:
    """A copy of the tiny model changed by `change(folder)`."""

    def setup(ws: Workspace) -> list[str]:
        folder = ws.root / "changed-model"
        shutil.copytree(ws.model, folder)
        change(folder)
        return [ws.config(lambda raw: raw.update(models=[str(folder)]))]

    return setup


def _config_json(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        edit(config)
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")

    return change


def _config_text(text: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / "config.json").write_text(text, encoding="utf-8")

    return change


def _pickle_only(folder: Path) -> None:
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup  # prepares the input; returns the command's arguments
    fragment: str | Callable[[Workspace], str]  # in the one error line
    commands: tuple[str, ...] = ("validate", "run")
    exit_code: int = 2


CASES = [
    Case("pos-test-tag-with-space", _pos_test_with("NOUN "), lambda ws: f"{_target(ws)}-test.conllu:4: tag 'NOUN '"),
    Case("pos-test-tag-unseen", _pos_test_with("XYZ", 5), lambda ws: f"{_target(ws)}-test.conllu:6: tag 'XYZ'"),
    Case("ner-test-tag-unseen", _ner_with("B-MISC"), "never occurs in training"),
    Case(
        "pos-unseen-labels-unknown-value",
        _pos_test_with("NOUN", unseen_labels="keep"),
        "unseen_labels: unknown value 'keep'",
    ),
    Case("pairs-second-target-unlabeled", _pairs_second_unlabeled, "test.unlabeled.tsv:1: no label"),
    Case("pairs-dev-unlabeled", _pairs_with("dev", lambda fields: fields[:2]), "changed-dev.tsv:1: no label"),
    Case("pairs-train-one-label", _pairs_with("train", lambda fields: [*fields[:2], "1"]), "at least two labels"),
    Case("probe-train-one-tag", _probe_trained_on_one_tag, "pos_probe: the training data has one tag (NOUN)"),
    Case(
        "unseen-labels-on-a-task-without-it",
        _pairs_with("dev", lambda fields: fields, unseen_labels="score"),
        "has no option 'unseen_labels'",
    ),
    Case(
        "alignment-gold-possible-links-only",
        lambda ws: _alignment(ws, lambda line: line.replace("-", "p")),
        "no sure links",
    ),
    Case("qa-test-not-json", _qa_test('{"data": [}'), "qa-test.json:1: not valid JSON"),
    Case("qa-on-a-short-model", _qa_on_a_short_model, "QA windows of 64 tokens leave no room for the context"),
    Case(
        "qa-test-unanswerable",
        _qa_test(
            json.dumps(
                {"data": [{"paragraphs": [{"context": "a b", "qas": [{"id": "q1", "question": "a?", "answers": []}]}]}]}
            )
        ),
        "no answers",
    ),
    Case("alignment-layer-beyond-depth", lambda ws: _alignment(ws, layer=50), "layer 50 is outside 0..2"),
    Case(
        "model-depth-a-string",
        _model_with(_config_json(lambda c: c.update(num_hidden_layers="2"))),
        "num_hidden_layers must be a whole number of at least 1, got '2'",
    ),
    Case("model-config-not-json", _model_with(_config_text('{"model_type": "bert",\n  oops}')), "line 2, column 3"),
    Case("model-config-not-an-object", _model_with(_config_text("[1, 2]")), "config.json holds no JSON object"),
    Case("model-config-nested-deep", _model_with(_config_text("[" * 200_000 + "]" * 200_000)), "nested too deep"),
    Case("model-pickle-weights-only", _model_with(_pickle_only), "safetensors only"),
    Case(
        "model-type-unknown",
        _model_with(_config_json(lambda c: c.update(model_type="nosuch"))),
        "model_type 'nosuch' is not",
    ),
    Case("model-type-missing", _model_with(_config_json(lambda c: c.pop("model_type"))), "no model_type"),
    Case(
        "model-heads-do-not-divide-width",
        _model_with(_config_json(lambda c: c.update(num_attention_heads=3))),
        "hidden_size 32 is not a multiple of num_attention_heads 3",
    ),
    Case(
        "model-vocabulary-smaller-than-tokenizer",
        _model_with(_config_json(lambda c: c.update(vocab_size=100))),
        "the tokenizer has 400 tokens but config.json's vocab_size is 100",
    ),
    Case(
        "model-vocabulary-larger-than-embeddings",
        _model_with(_config_json(lambda c: c.update(vocab_size=500))),
        "config.json's vocab_size is 500 but the word embeddings in model.safetensors have 400 rows",
    ),
    Case(
        "model-more-layers-than-the-checkpoint",
        _model_with(_config_json(lambda c: c.update(num_hidden_layers=3))),
        "num_hidden_layers is 3 but the checkpoint holds layers 0-1",
    ),
    Case(
        "model-fewer-layers-than-the-checkpoint",
        _model_with(_config_json(lambda c: c.update(num_hidden_layers=1))),
        "num_hidden_layers is 1 but the checkpoint holds layers 0-1",
    ),
    Case(
        "model-no-tokenizer",
        _model_with(lambda f: [(f / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")]),
        "has no tokenizer",
    ),
    *(
        Case(
            f"model-{name.removesuffix('.json').replace('_', '-')}-{kind}",
            _model_with(lambda f, name=name, text=text: (f / name).write_text(text, encoding="utf-8")),
            said(name),
        )
        for name in ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
        for kind, text, said in (
            ("not-json", "<!doctype html>", lambda name: f"{name}:1:1: not JSON (Expecting value)"),
            ("a-list", '["[CLS]"]', lambda name: f"{name}: a JSON list, not an object"),
        )
    ),
    Case(
        "model-remote-code",
        _model_with(_config_json(lambda c: c.update(auto_map={"AutoModel": "modeling_x.XModel"}))),
        "remote code",
    ),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_data(case: Case, command: str, workspace: Workspace) -> None:
    if command not in case.commands:
        pytest.skip(f"{case.id} is not a `{command}` case")
    workspace.fill_store()
    result = run_cli(command, *case.setup(workspace))
    fragment = case.fragment(workspace) if callable(case.fragment) else case.fragment
    assert_refused(result, command, fragment, workspace, case.exit_code)
    assert "epoch" not in result.stderr  # refused before any training


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_variants_unseen_tag_is_refused_under_its_own_key(command: str, workspace: Workspace) -> None:
    """The line's key names the variant (`tasks.pos:first`), and its hint names no other entry's setting."""
    workspace.fill_store()
    result = run_cli(command, *_pos_test_with("XYZ", 5, entry="pos:first")(workspace))
    place = f"{workspace.root / _target(workspace)}-test.conllu:6"
    message = assert_refused(result, command, f"tasks.pos:first: {place}: tag 'XYZ' never occurs", workspace)
    assert "or set the task's `unseen_labels: score` to score them as errors" in message
    assert "tasks.pos." not in message


def test_unseen_test_labels_scored_when_asked_and_counted(workspace: Workspace) -> None:
    """`unseen_labels: score` scores gold tags training never had (always wrong), and each row says how many."""
    (config,) = _pos_test_with("XYZ", 5, unseen_labels="score")(workspace)
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 0, result.output
    rows = ResultStore(workspace.store).rows(task="pos")
    assert rows and {row.extra["unseen_gold_labels"] for row in rows} == {1}


@pytest.mark.parametrize(
    "failure, said",
    [
        (UserError("the test file went away"), "the test file went away"),
        (  # the host's memory; the GPU's is `torch.OutOfMemoryError`, caught alike
            MemoryError("cannot allocate 3.1 GiB"),
            "out of memory while evaluating (cannot allocate 3.1 GiB); lower training.eval_batch_size",
        ),
    ],
    ids=["user-error", "out-of-memory"],
)
def test_a_target_failing_after_fine_tuning_keeps_the_targets_before_it(
    failure: BaseException, said: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second target fails while evaluated (a user error, or it runs out of memory): the one line names it
    and says why, the first target's rows are stored, and the next run computes the failed target only."""
    from mbert_eval.tasks.tagging import POSTask

    first, second = _target(workspace, 1), _target(workspace, 2)
    evaluate = POSTask.evaluate

    def failing(self, prepared, examples, device, progress=None):
        if progress == f"pos {second}":
            raise failure
        return evaluate(self, prepared, examples, device, progress)

    monkeypatch.setattr(POSTask, "evaluate", failing)
    workspace.fill_store()
    config = workspace.config()
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert message.startswith(f"Error: pos {second}: {said}") and "2 rows" in message, message
    new = [row for row in ResultStore(workspace.store).rows() if row.task == "pos" and row.cell_key != "earlier"]
    assert {row.target for row in new} == {first} and len(new) == 2
    monkeypatch.setattr(POSTask, "evaluate", evaluate)
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 0, result.output
    assert "1 cells run" in result.output and f"pos {first}" not in result.stderr  # the failed target only
    stored = [row for row in ResultStore(workspace.store).rows() if row.cell_key != "earlier"]
    assert sorted(row.target for row in stored) == sorted([first, first, second, second])


def test_running_out_of_memory_while_fine_tuning_is_one_line(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fine-tuning runs out of memory: one line names the cell and what to lower; the store keeps its rows."""
    import torch

    from mbert_eval.tasks.tagging import POSTask

    def exhausted(self, spec, train, dev, settings, device):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")

    monkeypatch.setattr(POSTask, "prepare", exhausted)
    workspace.fill_store()
    before = ResultStore(workspace.store).rows()
    result = run_cli("run", workspace.config(), "--no-report")
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert "out of memory while fine-tuning (CUDA out of memory. Tried to allocate 2.00 GiB)" in message, message
    assert "training.batch_size" in message and "activation_checkpointing" in message
    assert ResultStore(workspace.store).rows() == before


def test_an_unfinished_cell_crosses_process_boundaries_with_its_rows() -> None:
    """Ray and the multi-GPU launcher return a cell's error from another process: its finished rows come too."""
    import pickle

    from mbert_eval.grid.job import UnfinishedCell

    back = pickle.loads(pickle.dumps(UnfinishedCell("pos qac: gone", ["row"], {"qab": "stale"})))
    assert (str(back), back.rows, back.superseding) == ("pos qac: gone", ["row"], {"qab": "stale"})
