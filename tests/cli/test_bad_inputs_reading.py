"""Bad inputs in how configs, jobs files, overrides and data files are read (issue 22), one table row each: the
input, the commands (`validate`, `run`, and `schedule run` of a job on the config), the exit code, a fragment of
the one line it must print, and the store's rows before and after (a refusal loses nothing, stores nothing).
Each row is a class of input: duplicate keys, encodings, alias bombs, unsafe or malformed overrides, format
specs in patterns, seeds out of range, paths that are no regular file, deep nesting."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import STORED, Workspace, assert_refused, one_error_line, run_cli

BOMB = "bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 9)
)  # the last expands to 10**9 values


def _text(ws: Workspace, raw: dict | None = None) -> str:
    """The workspace's config (or `raw`) as YAML text."""
    return yaml.safe_dump(ws.raw() if raw is None else raw, sort_keys=False)


def _config_bytes(make: Callable[[Workspace], bytes | str]) -> Callable[[Workspace], str]:
    """A setup writing `make(ws)` as the config file (text is written as UTF-8)."""

    def setup(ws: Workspace) -> str:
        content = make(ws)
        path = ws.root / "exp.yaml"
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return str(path)

    return setup


def _edited(edit: Callable[[dict], object]) -> Callable[[Workspace], str]:
    return lambda ws: ws.config(edit)


def _pos_edit(key: str, value: Callable[[Workspace, str], str]) -> Callable[[Workspace], str]:
    def setup(ws: Workspace) -> str:
        return ws.config(lambda raw: raw["tasks"]["pos"].update({key: value(ws, raw["tasks"]["pos"][key])}))

    return setup


def _utf16_test_files(ws: Workspace, old: str, encoding: str = "utf-16") -> str:
    """Every target's test file re-saved as UTF-16 (with its BOM, or none: `utf-16-le`); the copies' pattern."""
    folder = ws.root / encoding
    folder.mkdir(exist_ok=True)
    for language in ws.family.languages:
        text = Path(old.format(lang=language.code)).read_text(encoding="utf-8")
        (folder / f"{language.code}-test.conllu").write_bytes(text.encode(encoding))
    return str(folder / "{lang}-test.conllu")


def _fifo(ws: Workspace, old: str = "") -> str:
    path = ws.root / "pipe"
    os.mkfifo(path)
    return str(path)


def _loop(ws: Workspace, old: str = "") -> str:
    path = ws.root / "loop"
    path.symlink_to(path)
    return str(path)


def _folder(ws: Workspace, old: str = "") -> str:
    path = ws.root / "a-folder"
    path.mkdir()
    return str(path)


def _output_in_loop(ws: Workspace) -> str:
    """A config whose output folder lies under a symbolic link that loops (relative to the config)."""
    _loop(ws)
    return ws.config(lambda raw: raw.update(output="loop/out"))


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Workspace], str]  # prepares the input; returns the config path
    fragment: str  # in the one error line (validate: in its problem lines)
    overrides: tuple[str, ...] = ()  # --set (and the job's `set:`)
    commands: tuple[str, ...] = ("validate", "run", "schedule")


CASES = [
    # 1. duplicate keys: the second must never silently replace the first
    Case(
        "duplicate-top-level-key",
        _config_bytes(lambda ws: _text(ws) + "training:\n  epochs: 3\n"),
        "duplicate key 'training' (first at line",
    ),
    Case(
        "duplicate-nested-key",
        _config_bytes(lambda ws: _text(ws).replace("  epochs: 1\n", "  epochs: 1\n  epochs: 2\n")),
        "duplicate key 'epochs' (first at line",
    ),
    Case(
        "duplicate-key-in-flow-mapping",
        _config_bytes(lambda ws: _text(ws) + "align: {epochs: 1, epochs: 2}\n"),
        "duplicate key 'epochs'",
    ),
    # 2. encodings
    Case(
        "config-latin-1",
        _config_bytes(lambda ws: _text(ws).encode("utf-8") + "# café\n".encode("latin-1")),
        "not valid UTF-8",
    ),
    Case("config-utf-16", _config_bytes(lambda ws: _text(ws).encode("utf-16")), "is UTF-16"),
    Case("config-utf-16-be", _config_bytes(lambda ws: b"\xfe\xff" + _text(ws).encode("utf-16-be")), "is UTF-16"),
    Case("config-utf-32", _config_bytes(lambda ws: _text(ws).encode("utf-32")), "is UTF-32"),
    Case("data-utf-16", _pos_edit("test", _utf16_test_files), "is UTF-16 (by its byte-order mark)"),
    Case(
        "data-utf-16-without-mark",
        _pos_edit("test", lambda ws, old: _utf16_test_files(ws, old, "utf-16-le")),
        "holds NUL bytes: UTF-16 without a byte-order mark",
    ),
    Case("config-utf-16-without-mark", _config_bytes(lambda ws: _text(ws).encode("utf-16-le")), "holds NUL bytes"),
    # 3. alias bombs and recursive aliases
    Case("alias-bomb", _config_bytes(lambda ws: _text(ws) + BOMB), "expands to more than 100,000 values"),
    Case(
        "alias-bomb-as-seeds",
        _config_bytes(lambda ws: _text(ws).replace("seeds:", "old_seeds:") + BOMB + "seeds: *b8\n"),
        "expands to more than 100,000 values",
    ),
    Case(
        "alias-inside-itself",
        _config_bytes(lambda ws: _text(ws) + "extra: &loop [1, *loop]\n"),
        "an alias inside the value it names",
    ),
    # 4. overrides
    Case(
        "set-bad-yaml",
        lambda ws: ws.config(),
        "override 'training.epochs=[1,': not valid YAML",
        ("training.epochs=[1,",),
    ),
    Case(
        "set-python-tag",
        lambda ws: ws.config(),
        "could not determine a constructor for the tag",
        ("name=!!python/object/apply:os.system ['true']",),
    ),
    Case(
        "set-empty-key", lambda ws: ws.config(), "override 'training..epochs=2': an empty key", ("training..epochs=2",)
    ),
    Case("set-no-equals", lambda ws: ws.config(), "is not of the form key.path=value", ("training.epochs",)),
    Case("set-alias-bomb", lambda ws: ws.config(), "expands to more than 100,000 values", ("seeds=" + BOMB,)),
    Case("set-nested-deep", lambda ws: ws.config(), "nested", ("name=" + "[" * 200_000 + "]" * 200_000,)),
    # 5. format specs and conversions in patterns
    Case(
        "output-huge-width",
        _edited(lambda raw: raw.update(output=raw["output"] + "/{name:>999999999999}")),
        "output: bad pattern",
    ),
    Case(
        "data-pattern-huge-width",
        _pos_edit("test", lambda ws, old: old.replace("{lang}", "{lang:>999999999999}")),
        "tasks.pos.test: bad pattern",
    ),
    Case(
        "data-pattern-conversion",
        _pos_edit("train", lambda ws, old: old.replace("{lang}", "{lang!r}")),
        "write {lang} alone",
    ),
    Case(
        "data-pattern-attribute",
        _pos_edit("test", lambda ws, old: old.replace("{lang}", "{lang.__class__}")),
        "no field {lang.__class__}",
    ),
    # 6. seeds a generator cannot take
    Case("seed-negative", _edited(lambda raw: raw.update(seeds=[-1])), "seeds[0]: a seed is a whole number from 0"),
    Case("seed-2-to-the-32", _edited(lambda raw: raw.update(seeds=[1, 2**32])), "seeds[1]: a seed is a whole number"),
    Case("seed-huge", _edited(lambda raw: raw.update(seeds=[10**40])), "seeds[0]: a seed is a whole number"),
    # 7. paths that are no regular file
    Case("config-dev-null", lambda ws: "/dev/null", "is a device, not a regular file", commands=("validate", "run")),
    Case("config-fifo", _fifo, "is a named pipe (FIFO)"),
    Case("config-symlink-loop", _loop, "is a symbolic link that loops"),
    Case("config-folder", _folder, "is a directory", commands=("validate", "run")),
    Case("data-dev-null", _pos_edit("test", lambda ws, old: "/dev/null"), "is a device, not a regular file"),
    Case("data-fifo", _pos_edit("test", _fifo), "is a named pipe (FIFO)"),
    Case("data-symlink-loop", _pos_edit("dev", _loop), "tasks.pos.dev: "),
    Case("data-folder", _pos_edit("train", _folder), "is a folder, not a file"),
    Case(
        "output-in-a-looping-folder",
        _output_in_loop,
        "output: loop/out: a symbolic link on the way loops",
    ),
    Case(
        "data-in-a-looping-folder",
        _pos_edit("test", lambda ws, old: _loop(ws) + "/{lang}-test.conllu"),
        "or lies in a folder that does",
    ),
    # 8. deep nesting
    Case(
        "config-nested-200000-deep",
        _config_bytes(lambda ws: _text(ws) + "x: " + "[" * 200_000 + "]" * 200_000),
        "nested",
    ),
    Case(
        "config-json-nested-deep",
        _config_bytes(lambda ws: _text(ws) + "x: " + '{"a": ' * 200 + "1" + "}" * 200 + "\n"),
        "nested more than 100 levels deep",
    ),
    # values in messages are cut short
    Case(
        "long-value-cut-in-message",
        _edited(lambda raw: raw["training"].update(batching="b" * 100_000)),
        "training.batching: unknown value 'bbbb",
    ),
    # a CUDA index past what torch's device parser reads (2**31 on)
    Case(
        "device-index-past-int64",
        _edited(lambda raw: raw.update(device="cuda:99999999999999999999")),
        "device 'cuda:99999999999999999999' asked for, but this machine has",
    ),
]


def _invoke(command: str, config: str, overrides: tuple[str, ...], ws: Workspace):
    if command != "schedule":
        return run_cli(command, config, *[arg for item in overrides for arg in ("--set", item)])
    jobs = ws.root / "jobs.yaml"
    job = {"config": config, "schedule": "0 2 * * *", "timezone": "UTC", "report": "nightly.html"}
    job.update(models=[str(ws.model)], set=list(overrides))
    jobs.write_text(yaml.safe_dump({"jobs": {"nightly": job}}), encoding="utf-8")
    return run_cli("schedule", "run", jobs, "nightly")


@pytest.mark.parametrize("command", ["validate", "run", "schedule"])
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_reading(case: Case, command: str, workspace: Workspace) -> None:
    if command not in case.commands:
        pytest.skip(f"{case.id} is not a `{command}` case")
    workspace.fill_store()
    config = case.setup(workspace)
    started = time.monotonic()
    result = _invoke(command, config, case.overrides, workspace)
    assert time.monotonic() - started < 30  # a bomb is refused, not expanded
    message = assert_refused(result, command, case.fragment, workspace)
    assert max(len(line) for line in message.splitlines()) < 500  # no huge value written out


# --- the jobs file itself ---------------------------------------------------------------------------------------


def _jobs_text(ws: Workspace, **job) -> str:
    spec = {"config": ws.config(), "schedule": "0 2 * * *", "report": "nightly.html", **job}
    return yaml.safe_dump({"jobs": {"nightly": spec}}, sort_keys=False)


JOBS_CASES = [  # id, the jobs file's bytes, fragment, whether the whole file is refused (else only that job fails)
    (
        "duplicate-job",
        lambda ws: _jobs_text(ws) + "  nightly:\n    config: other.yaml\n",
        "duplicate key 'nightly'",
        True,
    ),
    ("duplicate-jobs-key", lambda ws: _jobs_text(ws) + "jobs: {}\n", "duplicate key 'jobs' (first at line 1)", True),
    ("utf-16", lambda ws: _jobs_text(ws).encode("utf-16"), "is UTF-16", True),
    ("set-bad-yaml", lambda ws: _jobs_text(ws, set=["training.epochs=[1,"]), "jobs.nightly.set[0]: override", False),
    ("set-python-tag", lambda ws: _jobs_text(ws, set=["name=!!python/name:os.system"]), "jobs.nightly.set[0]:", False),
    ("alias-bomb", lambda ws: _jobs_text(ws) + BOMB, "expands to more than 100,000 values", True),
]


@pytest.mark.parametrize("command", ["list", "run"])
@pytest.mark.parametrize("case", JOBS_CASES, ids=[case[0] for case in JOBS_CASES])
def test_bad_jobs_file(case: tuple, command: str, workspace: Workspace) -> None:
    _, make, fragment, whole_file = case
    workspace.fill_store()
    content = make(workspace)
    jobs = workspace.root / "jobs.yaml"
    jobs.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    result = run_cli("schedule", command, jobs, *(["nightly"] if command == "run" else []))
    assert result.exit_code == 2, result.output
    if whole_file or command == "run":
        message = one_error_line(result)
        assert fragment in message and message.startswith("Error:") and "\n" not in message, message
    else:  # `list` shows the other jobs, and this one as unable to run
        assert f"nightly: cannot run: {fragment}" in result.output and "Traceback" not in result.output
    assert workspace.rows() == STORED
    if whole_file:
        assert not (workspace.root / "schedule.sqlite").exists()  # refused before any history is written


@pytest.mark.parametrize(
    "make, fragment",
    [(_fifo, "is a named pipe (FIFO)"), (_loop, "is a symbolic link that loops")],
    ids=["fifo", "loop"],
)
def test_a_jobs_file_that_is_no_regular_file_is_named(make, fragment: str, workspace: Workspace) -> None:
    result = run_cli("schedule", "list", make(workspace))
    assert result.exit_code == 2, result.output
    assert fragment in one_error_line(result)


def test_merge_keys_overridden_after_them_and_boundary_seeds_still_validate(workspace: Workspace) -> None:
    """The reading rules refuse only what they should: a key after a `<<:` merge that overrides a merged one is
    no duplicate, and the seeds 0 and 2**32 - 1 are seeds."""
    config = workspace.root / "exp.yaml"
    config.write_text(_text(workspace) + "tlm:\n  <<: {steps: 5, batch_size: 4}\n  steps: 6\n", encoding="utf-8")
    result = run_cli("validate", config, "--set", "seeds=[0, 4294967295]")
    assert result.exit_code == 0, result.output
    assert "OK (2 cells" in result.output
