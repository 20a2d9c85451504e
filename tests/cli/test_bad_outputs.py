"""Outputs and the results store (issue 22), one table row each: where a command is told to write (onto the
store, an input, a symlink or hard link to one, a folder that is a file, a full disk), a store broken in odd
ways, a lock file that is no plain file, and cells a spreadsheet would run as formulas. Each row checks the exit
code, a fragment of the one error line, that the store still opens with its rows, and that no input changed."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.freshness import PARALLEL
from mbert_eval.grid.resolve import resolve
from mbert_eval.store.results import ResultRow, ResultStore
from tests.helpers import STORED, Workspace, one_error_line, run_cli

# --- outputs that would replace the store or an input, or cannot be written ------------------------------------


@dataclass(frozen=True)
class Out:
    id: str
    args: Callable[[Workspace], list[str]]  # the command line (run in the workspace's folder)
    fragment: str  # in the one error line
    disk_full: bool = False  # every write fails with ENOSPC


def _report(out: Callable[[Workspace], object], *more: str) -> Callable[[Workspace], list[str]]:
    return lambda ws: ["report", "--store", ws.store, "--out", out(ws), *more]


def _export(option: str, out: Callable[[Workspace], object]) -> Callable[[Workspace], list[str]]:
    return lambda ws: ["results", "--store", ws.store, option, out(ws)]


def _link(kind: str, to: Callable[[Workspace], Path]) -> Callable[[Workspace], Path]:
    """A symbolic or hard link to `to(ws)`, made in the workspace."""

    def make(ws: Workspace) -> Path:
        link = ws.root / f"{kind}-link.html"
        (os.symlink if kind == "sym" else os.link)(to(ws), link)
        return link

    return make


def _under_a_file(ws: Workspace) -> Path:
    (ws.root / "notes.txt").write_text("my notes\n", encoding="utf-8")
    return ws.root / "notes.txt" / "report.csv"


def _database(ws: Workspace) -> Path:
    other = ws.root / "other.sqlite"
    ResultStore(other).write_cell([_row("x")])
    return other


def _good(ws: Workspace) -> Path:
    """An earlier good output that a failed write must leave as it was."""
    path = ws.root / "good.csv"
    path.write_text("an earlier good output\n", encoding="utf-8")
    return path


def _report_place_is_a_folder(ws: Workspace) -> str:
    """A config whose report's default place, beside the store (out/report.html), is a folder."""
    (ws.root / "out" / "report.html").mkdir()
    return ws.config()


def _own_inputs(ws: Workspace, **changes: str) -> str:
    """A config whose model folder and test files are copies in the workspace (out of reach of other tests),
    with top-level `changes`."""
    shutil.copytree(ws.model, ws.root / "model")
    (ws.root / "data").mkdir()
    for language in ws.family.languages:
        name = f"{language.code}-test.conllu"
        shutil.copy(ws.family.root / "pos" / name, ws.root / "data" / name)

    def edit(raw: dict) -> None:
        raw["models"] = [str(ws.root / "model")]
        raw["tasks"]["pos"]["test"] = f"{ws.root}/data/{{lang}}-test.conllu"
        raw.update(changes)

    return ws.config(edit)


def _report_links_to(to: Callable[[Workspace], Path]) -> Callable[[Workspace], list[str]]:
    """`run` of `_own_inputs`, its report's default place (out/report.html, beside the store) a symlink to
    `to(ws)`."""

    def args(ws: Workspace) -> list[str]:
        config = _own_inputs(ws)
        (ws.root / "out" / "report.html").symlink_to(to(ws))
        return ["run", config]

    return args


def _parallel_text(ws: Workspace) -> Path:
    """The source side of a TLM grid's parallel text, copied into the workspace."""
    return ws.root / "parallel" / "source.txt"


def _report_links_to_parallel_text(ws: Workspace) -> list[str]:
    """`run` of `_own_inputs` with TLM on parallel text of its own, its report's default place a symlink to that
    text: a file the run reads, as its test files are."""
    base, other, links = ws.family.parallel(ws.family.languages[1].code)
    (ws.root / "parallel").mkdir()
    copies = [shutil.copy(path, ws.root / "parallel" / name) for path, name in zip(
        (base, other, links), ("source.txt", "target.txt", "links.align")
    )]  # fmt: skip
    parallel = dict(zip(("source", "target", "alignments"), map(str, copies)))
    config = _own_inputs(ws, methods=["tlm"], parallel=parallel, targets=[ws.family.languages[1].code])
    (ws.root / "out" / "report.html").symlink_to(_parallel_text(ws))
    return ["run", config]


def _store(ws: Workspace) -> Path:
    return ws.store


def _kept_beside_store(*parts: str) -> Callable[[Workspace], Path]:
    """A file a run keeps beside the store, which the report reads (per-example outputs, an unsaved cell)."""

    def make(ws: Workspace) -> Path:
        path = Path(ws.store).parent.joinpath(*(part.format(store=Path(ws.store).name) for part in parts))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"kept by a run\n")
        return path

    return make


def _config(ws: Workspace) -> Path:
    return Path(ws.config())


def _yaml(ws: Workspace, name: str) -> Path:
    path = ws.root / name
    path.write_text("name: nightly\nconfig: exp.yaml\n", encoding="utf-8")
    return path


def _test_file(ws: Workspace) -> Path:
    return ws.root / "data" / f"{ws.family.languages[1].code}-test.conllu"


def _bitext(ws: Workspace) -> Path:
    path = ws.root / "bitext.txt"
    path.write_text("a b ||| x y\n", encoding="utf-8")
    return path


def _text_onto(out: Callable[[Workspace, Path], object]) -> Callable[[Workspace], list[str]]:
    """`text` of a copy of a test file, its --out `out(ws, input)`."""

    def args(ws: Workspace) -> list[str]:
        copy = ws.root / "input.conllu"
        copy.write_bytes((ws.family.root / "pos" / f"{ws.family.languages[1].code}-test.conllu").read_bytes())
        return ["text", copy, "--out", out(ws, copy)]

    return args


def _report_into_checkpoints(*parts: str, made: bool = True) -> Callable[[Workspace], list[str]]:
    """`run` of `_own_inputs`, its --report a file under the run's checkpoints folder (OUTPUT/checkpoints, the
    derived checkpoints its methods build and reuse): one a run made (`made`), or one not there yet."""

    def args(ws: Workspace) -> list[str]:
        config = _own_inputs(ws)
        path = ws.root.joinpath("out", "checkpoints", *parts)
        if made:
            path.parent.mkdir(parents=True)
            path.write_bytes(b"derived TLM weights\n")
        return ["run", config, "--report", path]

    return args


def _report_into_model(ws: Workspace) -> list[str]:
    """`run` of `_own_inputs`, its --report a new file in the model folder (read as the model's vocabulary)."""
    return ["run", _own_inputs(ws), "--report", ws.root / "model" / "vocab.txt"]


def _recorded_inputs(out: Callable[[Workspace], Path], *command: str) -> Callable[[Workspace], list[str]]:
    """`report` (or `command`: `results --csv`) of a store whose rows were computed from `_own_inputs`' model
    folder, a slice of its test file, parallel text and Hub data (as their `model` and `data_checksums` record
    them), its output `out(ws)`."""

    def args(ws: Workspace) -> list[str]:
        _own_inputs(ws)
        parallel = ws.root / "parallel" / "source.txt"
        parallel.parent.mkdir()
        parallel.write_text("a b c\n", encoding="utf-8")
        checksums = {
            f"{_test_file(ws)}[:50]": "1",
            f"{PARALLEL}{parallel}": "2",
            "hub:google/xtreme@tydiqa:validation (only ar)": "3",
        }
        model = str(ws.root / "model")
        ws.store.unlink()
        ResultStore(ws.store).write_cell(
            [replace(_row(f"t{index}", model=model), data_checksums=checksums) for index in range(STORED)]
        )
        return [*(command or ("report", "--out")), out(ws), "--store", ws.store]

    return args


def _tatoeba(ws: Workspace) -> Path:
    """A small Tatoeba folder (two languages) for `mining-mix` to read."""
    folder = ws.root / "tatoeba"
    folder.mkdir(exist_ok=True)
    for iso3, word in (("deu", "satz"), ("fra", "phrase")):
        (folder / f"tatoeba.{iso3}-eng.{iso3}").write_text("".join(f"{word} {n}\n" for n in range(40)), "utf-8")
        (folder / f"tatoeba.{iso3}-eng.eng").write_text("".join(f"{iso3} line {n}\n" for n in range(40)), "utf-8")
    return folder


def _mining_mix(out: Callable[[Workspace], object]) -> Callable[[Workspace], list[str]]:
    return lambda ws: ["mining-mix", "--tatoeba", _tatoeba(ws), "--out", out(ws), "--kept", "5"]


def _mix_links_to(output: str, to: str) -> Callable[[Workspace], Path]:
    """A mining-mix output folder holding `output`, a symbolic link to the Tatoeba input `to`."""

    def make(ws: Workspace) -> Path:
        out = ws.root / "mix"
        out.mkdir()
        os.symlink(Path("..") / "tatoeba" / to, out / output)
        return out

    return make


READS = "which this command reads"
CACHE = "the run's checkpoints folder"
OUTPUTS = [
    Out("report-onto-store", _report(_store), READS),
    Out("csv-onto-store", _export("--csv", _store), READS),
    Out("json-onto-store", _export("--json", _store), READS),
    Out("report-onto-store-wal", _report(lambda ws: f"{ws.store}-wal"), READS),
    Out("report-onto-its-config", lambda ws: _report(_config, "--config", ws.config())(ws), READS),
    Out("report-onto-a-config-not-named", _report(_config), "would replace a YAML file"),
    Out("json-onto-a-config", _export("--json", _config), "would replace a YAML file"),
    Out("csv-onto-a-job-config", _export("--csv", lambda ws: _yaml(ws, "job.YML")), "would replace a YAML file"),
    Out("report-onto-symlink-to-store", _report(_link("sym", _store)), READS),
    Out("csv-onto-symlink-to-store", _export("--csv", _link("sym", _store)), READS),
    Out("json-onto-hard-link-to-store", _export("--json", _link("hard", _store)), READS),
    Out("report-onto-per-example-outputs", _report(_kept_beside_store("examples", "key", "qab.jsonl.gz")), READS),
    Out("csv-onto-per-example-outputs", _export("--csv", _kept_beside_store("examples", "key", "qab.jsonl.gz")), READS),
    Out("json-onto-an-unsaved-cell", _export("--json", _kept_beside_store("{store}.unsaved", "key.json")), READS),
    Out("report-onto-another-database", _report(_database), "is an SQLite database"),
    Out("csv-onto-another-database", _export("--csv", _database), "is an SQLite database"),
    Out("report-under-a-file", _report(_under_a_file), "is a file, not a folder"),
    Out("csv-under-a-file", _export("--csv", _under_a_file), "is a file, not a folder"),
    Out("json-under-a-file", _export("--json", _under_a_file), "is a file, not a folder"),
    Out(
        "report-default-place-is-a-folder",
        lambda ws: ["report", "--store", ws.store] if _report_place_is_a_folder(ws) else [],
        "out/report.html is a folder",
    ),
    Out("report-onto-a-device", _report(lambda ws: "/dev/full"), "not a regular file"),
    Out("csv-onto-a-device", _export("--csv", lambda ws: "/dev/full"), "not a regular file"),
    Out("report-disk-full", _report(_good, "--format", "csv"), "the disk is full", disk_full=True),
    Out("csv-disk-full", _export("--csv", _good), "the disk is full", disk_full=True),
    Out(
        "csv-and-json-one-file",
        lambda ws: ["results", "--store", ws.store, "--csv", _good(ws), "--json", ws.root / "." / "good.csv"],
        "name the same file",
    ),
    Out("csv-and-json-both-stdout", lambda ws: ["results", "--store", ws.store, "--csv", "-", "--json", "-"], "both"),
    Out("json-disk-full", _export("--json", _good), "the disk is full", disk_full=True),
    Out("run-report-place-is-a-folder", lambda ws: ["run", _report_place_is_a_folder(ws)], "report.html is a folder"),
    Out("run-report-under-a-file", lambda ws: ["run", ws.config(), "--report", _under_a_file(ws)], "not a folder"),
    Out("run-report-links-to-store", _report_links_to(_store), READS),
    Out("run-report-links-to-config", _report_links_to(_config), READS),
    Out("run-report-links-to-data", _report_links_to(_test_file), READS),
    Out("run-report-links-to-model", _report_links_to(lambda ws: ws.root / "model" / "config.json"), READS),
    Out("run-report-links-to-parallel-text", _report_links_to_parallel_text, READS),
    Out("run-report-into-checkpoints", _report_into_checkpoints("tlm-0123", "model.safetensors"), CACHE),
    Out("run-report-into-checkpoints-not-made", _report_into_checkpoints("r.html", made=False), CACHE),
    Out("report-onto-recorded-model", _recorded_inputs(lambda ws: ws.root / "model" / "config.json"), READS),
    Out("report-onto-recorded-data", _recorded_inputs(_test_file), READS),
    Out("report-into-recorded-model", _recorded_inputs(lambda ws: ws.root / "model" / "added_tokens.json"), READS),
    Out(
        "csv-into-recorded-model",
        _recorded_inputs(lambda ws: ws.root / "model" / "special_tokens_map.json", "results", "--csv"),
        READS,
    ),
    Out("run-report-into-model", _report_into_model, READS),
    Out(
        "run-report-where-nothing-can-be-made",  # found before the run (it was after every cell had run)
        lambda ws: ["run", ws.config(), "--report", "/proc/sys/report.html"],
        "cannot write the report: nothing can be made in /proc/sys",
    ),
    # a link to /dev/stdout, not /dev/stdout itself: the code before replaced the link it was given by a file
    Out("report-onto-a-link-to-dev-stdout", _report(_link("sym", lambda ws: Path("/dev/stdout"))), "not to a file"),
    Out(
        "csv-onto-a-link-to-stdout", _export("--csv", _link("sym", lambda ws: Path("/proc/self/fd/1"))), "not to a file"
    ),
    Out(
        "text-onto-a-link-to-stdout",
        _text_onto(lambda ws, copy: _link("sym", lambda ws: Path("/proc/self/fd/1"))(ws)),
        "not to a file",
    ),
    Out("report-onto-recorded-parallel-text", _recorded_inputs(_parallel_text), READS),
    Out(
        "csv-onto-recorded-model",
        _recorded_inputs(lambda ws: ws.root / "model" / "config.json", "results", "--csv"),
        READS,
    ),
    Out("json-onto-recorded-data", _recorded_inputs(_test_file, "results", "--json"), READS),
    Out("text-onto-its-input", _text_onto(lambda ws, copy: copy), READS),
    Out("text-onto-store", _text_onto(lambda ws, copy: ws.store), "is an SQLite database"),
    Out(
        "align-onto-its-input",
        lambda ws: ["align", _bitext(ws), "--model", ws.model, "--layer", "1", "--out", ws.root / "bitext.txt"],
        READS,
    ),
    Out("synth-under-a-file", lambda ws: ["synth", "--out", _under_a_file(ws)], "is a file, not a folder"),
    Out("quickstart-under-a-file", lambda ws: ["quickstart", "--out", _under_a_file(ws)], "is a file, not a folder"),
    Out(
        "quickstart-report-onto-a-device",
        lambda ws: ["quickstart", "--out", ws.root / "qs", "--report", "/dev/null"],
        "not a regular file",
    ),
    Out("mining-mix-under-a-file", _mining_mix(_under_a_file), "is a file, not a folder"),
    Out("mining-mix-links-to-its-input", _mining_mix(_mix_links_to("de-en.dev.de", "tatoeba.deu-eng.deu")), READS),
    Out("mining-mix-links-to-a-distractor", _mining_mix(_mix_links_to("fr-en.test.en", "tatoeba.deu-eng.eng")), READS),
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing a file's data to disk fails as on a full disk (ENOSPC, what /dev/full answers)."""

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)


@pytest.mark.parametrize("case", OUTPUTS, ids=[case.id for case in OUTPUTS])
def test_an_output_never_replaces_the_store_or_an_input(case: Out, workspace: Workspace, monkeypatch) -> None:
    monkeypatch.chdir(workspace.root)
    workspace.fill_store()
    args = case.args(workspace)
    inputs = {p.resolve() for p in workspace.root.rglob("*") if p.is_file()}  # links: the files they name
    inputs = {path for path in inputs if path.is_file()}  # not a link to the captured stdout
    before = {path: _digest(path) for path in inputs}
    if case.disk_full:
        _full_disk(monkeypatch)
    result = run_cli(*args)
    monkeypatch.undo()
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-200:])
    message = one_error_line(result)
    assert message.startswith("Error:") and case.fragment in message, message
    assert workspace.rows() == STORED  # nothing trained, nothing lost
    assert len(ResultStore(workspace.store, read_only=True).rows()) == STORED  # the store still opens
    assert {path: _digest(path) for path in inputs} == before  # no input, no earlier output replaced
    assert not list(workspace.root.rglob(".*.tmp"))  # no temporary file left behind


def test_mining_mix_checks_every_output_before_writing_any(workspace: Workspace) -> None:
    """The last output of the last language links to an input: refused before the first file is written."""
    args = _mining_mix(_mix_links_to("fr-en.test.fr", "tatoeba.fra-eng.fra"))(workspace)
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert READS in one_error_line(result)
    assert sorted(path.name for path in (workspace.root / "mix").iterdir()) == ["fr-en.test.fr"]
    assert (workspace.root / "tatoeba" / "tatoeba.fra-eng.fra").read_text("utf-8").startswith("phrase 0\n")


def test_validate_refuses_a_report_into_the_checkpoints_folder(workspace: Workspace) -> None:
    """`validate` refuses what `run` would (`api.plan_run`): a report among the run's derived checkpoints."""
    args = _report_into_checkpoints("tlm-0123", "model.safetensors")(workspace)
    result = run_cli("validate", *args[1:])
    assert result.exit_code == 2, result.output
    assert CACHE in one_error_line(result)
    assert args[-1].read_bytes() == b"derived TLM weights\n"


def test_an_output_that_can_be_written_replaces_an_earlier_one_whole(workspace: Workspace) -> None:
    workspace.fill_store()
    out = workspace.root / "rows.csv"
    out.write_text("an earlier export\n", encoding="utf-8")
    result = run_cli("results", "--store", workspace.store, "--csv", out)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == STORED
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # an ordinary file, not the temporary file's mode


# --- a store broken in odd ways --------------------------------------------------------------------------------


def _sql(*statements: str) -> Callable[[Path], None]:
    def damage(store: Path) -> None:
        with sqlite3.connect(store) as conn:
            for statement in statements:
                conn.execute(statement)
        conn.close()

    return damage


def _config_row(text: str) -> str:
    return f"INSERT INTO configs (config_hash, name, config, written_at) VALUES ('h', 'mine', '{text}', 'now')"


BROKEN = [  # id, damage, fragment
    ("foreign-column", _sql("ALTER TABLE results ADD COLUMN note TEXT"), "column this suite does not know: 'note'"),
    ("column-missing", _sql("ALTER TABLE results DROP COLUMN n_examples"), "lacks the column 'n_examples'"),
    (
        "score-not-a-number",
        _sql("UPDATE results SET score = 'high' WHERE target = 't0'"),
        "not a finite number ('high'",
    ),
    ("score-infinite", _sql("UPDATE results SET score = -9e999 WHERE target = 't1'"), "not a finite number (-inf"),
    (
        "extra-invalid-json",
        _sql("UPDATE results SET extra = '{oops' WHERE target = 't1'"),
        "invalid JSON in the `extra`",
    ),
    (
        "checksums-invalid-json",
        _sql("UPDATE results SET data_checksums = 'nope'"),
        "invalid JSON in the `data_checksums`",
    ),
    ("extra-not-an-object", _sql("UPDATE results SET extra = '[1]' WHERE target = 't1'"), "not a JSON object"),
    ("configs-invalid-json", _sql(_config_row("{oops")), "invalid JSON in the `configs` table"),
    ("configs-not-an-object", _sql(_config_row("42")), "invalid JSON in the `configs` table, or not a JSON object"),
    ("results-table-missing", _sql("DROP TABLE results"), "it has no `results` table"),
    (
        "another-programs-database",
        lambda store: store.unlink() or _sql("CREATE TABLE contacts (name TEXT)")(store),
        "it has no `results` table",
    ),
    ("not-sqlite", lambda store: store.write_bytes(b"my notes\n" * 200), "is not a results store"),
]
STORE_COMMANDS = ["results", "report", "validate", "run"]


@pytest.mark.parametrize("command", STORE_COMMANDS)
@pytest.mark.parametrize("id, damage, fragment", BROKEN, ids=[case[0] for case in BROKEN])
def test_a_broken_store_is_one_line_before_any_training(
    id: str, damage: Callable[[Path], None], fragment: str, command: str, workspace: Workspace, monkeypatch
) -> None:
    monkeypatch.chdir(workspace.root)
    workspace.fill_store()
    damage(workspace.store)
    before = _digest(workspace.store)
    config = workspace.config()
    out = workspace.root / "r.html"
    args = {
        "results": ["--store", workspace.store],
        "report": ["--store", workspace.store, "--out", out],
        "validate": [config],
        "run": [config],
    }[command]
    result = run_cli(command, *args)
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-200:])
    message = one_error_line(result)
    assert fragment in message and str(workspace.store) in message, message
    assert _digest(workspace.store) == before  # nothing written: not a table added, not a row
    assert not out.exists() and not (workspace.root / "out" / "checkpoints").exists()  # nothing trained


# --- the store's lock -------------------------------------------------------------------------------------------


def _lock(ws: Workspace) -> Path:
    return ws.store.with_name(ws.store.name + ".lock")


def _holder(ws: Workspace) -> Path:
    return ws.store.with_name(ws.store.name + ".holder.json")


LOCKS = [  # id, setup, fragment
    ("lock-is-a-folder", lambda ws: _lock(ws).mkdir(), "is not a file"),
    ("lock-links-to-config", lambda ws: _lock(ws).symlink_to(ws.config()), "is a symbolic link"),
    ("lock-links-nowhere", lambda ws: _lock(ws).symlink_to(ws.root / "missing"), "is a symbolic link"),
    ("holder-links-to-config", lambda ws: _holder(ws).symlink_to(ws.config()), "is a symbolic link"),
    ("holder-is-a-folder", lambda ws: _holder(ws).mkdir(), "is not a file"),
]


@pytest.mark.parametrize("id, setup, fragment", LOCKS, ids=[case[0] for case in LOCKS])
def test_a_lock_that_is_no_plain_file_is_refused(id: str, setup, fragment: str, workspace: Workspace) -> None:
    workspace.fill_store()
    config = workspace.config()
    before = _digest(Path(config))
    setup(workspace)
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-200:])
    message = one_error_line(result)
    assert fragment in message, message
    assert workspace.rows() == STORED
    assert _digest(Path(config)) == before
    assert not (workspace.root / "missing").exists()


# --- a store that refuses a finished cell ------------------------------------------------------------------------


@pytest.mark.parametrize("kept", [True, False], ids=["rows-kept", "disk-full-too"])
def test_a_cell_the_store_refuses_is_kept_for_the_next_run(
    kept: bool, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses the first finished cell (a full disk): the run ends in one line; the cell's rows are kept
    beside the store and the next run writes them without computing the cell again, or, where they cannot be
    kept either, the line says so and the next run computes the cell again."""
    write_cell = ResultStore.write_cell

    def refusing(self, rows, overwrite=False, superseding=None):
        if not kept:
            _full_disk(monkeypatch)
        raise self._user_error(sqlite3.OperationalError("database or disk is full"))

    workspace.fill_store()
    config = workspace.config()
    monkeypatch.setattr(ResultStore, "write_cell", refusing)
    result = run_cli("run", config, "--no-report")
    monkeypatch.undo()
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-200:])
    message = one_error_line(result)
    assert "database or disk is full" in message, message
    unsaved = workspace.store.with_name(workspace.store.name + ".unsaved")
    files = list(unsaved.glob("*.json"))
    if kept:
        assert f"rows are kept in {files[0]}: the next run on this store writes them" in message, message
    else:
        assert "could not be kept either" in message and "the disk is full" in message, message
        assert not files
    assert workspace.rows() == STORED
    for command in ("results", "report"):  # both say what is kept and not yet stored
        said = run_cli(
            command, "--store", workspace.store, *(["--out", workspace.root / "r.html"] * (command == "report"))
        )
        assert said.exit_code == 0 and ("not in the store yet" in said.stderr) == kept, said.output
    cells = len(resolve(load_experiment(config)[0]).cells)

    calls = []
    monkeypatch.setattr(ResultStore, "write_cell", lambda self, *a, **k: calls.append(1) or write_cell(self, *a, **k))
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 0, result.output
    assert f"{cells - 1 if kept else cells} cells run" in result.output, result.output
    assert ("rows of cells an earlier run could not store written" in result.stderr) == kept
    keys = {row.cell_key for row in ResultStore(workspace.store).rows()} - {"earlier"}
    assert len(keys) == cells and len(calls) == cells and not unsaved.exists()


@pytest.mark.parametrize("command", ["validate", "run"])
def test_unsaved_rows_that_cannot_be_read_back_are_one_line(command: str, workspace: Workspace) -> None:
    workspace.fill_store()
    unsaved = workspace.store.with_name(workspace.store.name + ".unsaved")
    unsaved.mkdir()
    (unsaved / "abc.json").write_text('{"rows": [{"cell_key": "abc"}]', encoding="utf-8")
    result = run_cli(command, workspace.config(), *(["--no-report"] if command == "run" else []))
    assert result.exit_code == 2, result.output
    assert "abc.json: not a cell's unsaved rows as a run keeps them" in one_error_line(result)
    assert workspace.rows() == STORED and (unsaved / "abc.json").is_file()


# --- cells a spreadsheet would run --------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _row(target: str, method: str = "baseline", model: str = "m", score: float = 0.5) -> ResultRow:
    return ResultRow(
        cell_key=f"{model}-{method}",
        task="pos",
        metric="accuracy",
        model=model,
        method=method,
        source="qaa",
        target=target,
        seed=1,
        score=score,
        n_examples=10,
        config_hash="abc",
        code_version="0",
    )


@pytest.mark.parametrize("formula", FORMULAS, ids=["hyperlink", "plus", "minus", "at", "tab", "cr"])
@pytest.mark.parametrize("command", ["results", "report"])
def test_csv_cells_a_spreadsheet_would_run_are_quoted(formula: str, command: str, tmp_path: Path) -> None:
    store = tmp_path / "results.sqlite"
    ResultStore(store).write_cell([_row("qab", method=formula, score=-0.5), _row("qac", model=formula, score=0.25)])
    out = tmp_path / "out.csv"
    args = ["--csv", out] if command == "results" else ["--out", out, "--format", "csv"]
    result = run_cli(command, "--store", store, *args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert command == "report" or len(frame) == 2  # a CR in a cell is quoted: it splits no row
    texts = {value for column in ("model", "method") for value in frame[column]}
    assert f"'{formula}" in texts and formula not in texts
    scores = frame["score (fraction)" if command == "results" else "mean (fraction)"]
    assert pd.api.types.is_numeric_dtype(scores) and -0.5 in set(scores)  # numbers stay numbers


def test_other_formats_keep_the_name_and_escape_it(tmp_path: Path) -> None:
    store = tmp_path / "results.sqlite"
    name = '=HYPERLINK("http://x","<b>y_z</b>")'
    ResultStore(store).write_cell([_row("qab", method=name)])
    texts = {}
    for fmt in ("html", "md", "latex", "json"):
        out = tmp_path / f"r.{fmt}"
        assert run_cli("report", "--store", store, "--out", out, "--format", fmt).exit_code == 0
        texts[fmt] = out.read_text(encoding="utf-8")
    assert "<b>y_z</b>" not in texts["html"] and "&lt;b&gt;y_z&lt;/b&gt;" in texts["html"]
    assert r"\<b\>y\_z\</b\>" in texts["md"]
    assert r"\textless{}b\textgreater{}y\_z" in texts["latex"]
    assert name in texts["json"].replace('\\"', '"')  # JSON keeps the name exactly


# --- a store set onto an input ------------------------------------------------------------------------------------

STORE_ONTO = [  # id, the `store:` the config names (in the workspace), what the line says of it
    ("the-config-itself", lambda ws: ws.root / "exp.yaml", "is not a results store"),
    (
        "a-data-file",
        lambda ws: ws.root / "data" / f"{ws.family.languages[1].code}-test.conllu",
        "is not a results store",
    ),
    ("a-model-file", lambda ws: ws.root / "model" / "config.json", "lies in the model folder"),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("id, store, said", STORE_ONTO, ids=[case[0] for case in STORE_ONTO])
def test_a_store_set_onto_an_input_is_refused(id: str, store, said: str, command: str, workspace: Workspace) -> None:
    config = _own_inputs(workspace, store=str(store(workspace)))
    before = _digest(store(workspace))
    result = run_cli(command, config)
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-200:])
    assert f"store: {store(workspace)} {said}" in one_error_line(result)  # under its key, not output:
    assert _digest(store(workspace)) == before


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_store_in_the_model_folder_is_refused(command: str, workspace: Workspace) -> None:
    """A store (its lock, its per-example outputs) in the model folder changed the model's content at every run,
    so every run recomputed every cell."""
    store = workspace.root / "model" / "results.sqlite"
    result = run_cli(command, _own_inputs(workspace, store=str(store)))
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-200:])
    assert f"store: {store} lies in the model folder {workspace.root / 'model'}" in one_error_line(result)
    assert sorted(path.name for path in store.parent.iterdir()) == sorted(
        path.name for path in workspace.model.iterdir()
    )


def test_an_output_through_a_link_to_a_file_replaces_the_file_and_keeps_the_link(workspace: Workspace) -> None:
    """A link to a file is written through (the link was replaced by a file before); the file's folder holds no
    temporary file after."""
    workspace.fill_store()
    target = workspace.root / "exports" / "rows.csv"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    link = workspace.root / "rows.csv"
    link.symlink_to(target)
    result = run_cli("results", "--store", workspace.store, "--csv", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and target.read_text(encoding="utf-8").startswith("cell_key,task,")
    assert not list(target.parent.glob(".*.tmp"))


@pytest.mark.parametrize("inside", ["model/vocab.txt", "synth/pos/qaa-test.conllu"])
def test_a_quickstart_report_into_what_it_makes_is_refused_before_pretraining(inside: str, tmp_path: Path) -> None:
    """The data and model folders the quickstart is about to make are inputs of its run: a report there was
    refused only after minutes of pretraining had made them."""
    out = tmp_path / "qs"
    result = run_cli("quickstart", "--out", out, "--report", out / inside)
    assert result.exit_code == 2, result.output
    assert f"would be written into {out / inside.split('/')[0]}, which this command reads" in one_error_line(result)
    assert not (out / "model").exists() and not (out / "synth").exists()
