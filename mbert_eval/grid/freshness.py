"""Whether a cell's stored rows still hold: they were computed from the model content, data files, task
version and method step versions they record; when one of those has changed since (a model folder retrained
in place, a test file rewritten, a task whose scoring changed, a step that now builds its checkpoint another
way), the rows are stale and the cell is computed again.

Rows that record nothing about some content (stores written before fingerprints were kept, a Hub model not
in the local cache, Hub data) are not stale for that reason alone; a row without a task version is version 1,
and so is each step of a row that records no step versions.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mbert_eval.data import file_checksum
from mbert_eval.data.spec import DataSpec
from mbert_eval.grid.cells import Cell
from mbert_eval.languages import lookup
from mbert_eval.models.fingerprint import knows_content
from mbert_eval.store.results import ResultRow
from mbert_eval.tasks.base import Task


@dataclass
class Staleness:
    """What a plan found stale: per reason line (with `{n}` for its row count) the rows it covers."""

    rows: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """One line per reason, e.g. "model runs/ckpt changed since its 3 rows were stored: recomputing"."""
        return [reason.replace("{n}", str(count)) for reason, count in self.rows.items()]


@dataclass(frozen=True)
class CellIdentity:
    """A cell's identity, the way its stored rows are compared with it. The key (`grid.cells.cell_key`) names
    the rows: what ran, with which settings. The model's content fingerprint, the checksums of the local data
    files each target's rows read (the source's train/dev, the target's test, and the parallel text of a method
    that derives its checkpoint from one), the task's version and the versions of the method's checkpoint steps
    say whether those rows still hold; they are not part of the key (keys recorded before them hold, and a
    changed model, file or version supersedes the rows instead of adding new ones beside them)."""

    key: str
    model_fingerprint: str
    task_version: int
    data: dict[str, dict[str, str]]  # target -> {spec: checksum} of its local files (Hub data is not hashed)
    kinds: dict[str, str] = field(default_factory=dict)  # spec -> what it is: training data, test data, parallel text
    step_versions: dict[str, int] = field(default_factory=dict)  # step -> its version (`methods.step_versions`)
    unread: frozenset[str] = frozenset()  # parallel files named in the config that the method does not read
    common: dict[str, str] = field(default_factory=dict)  # what every target's rows read: source files, parallel text


SET_ASIDE = "set aside in `superseded`, not recomputed"  # stale rows of a target this run leaves out
PARALLEL = "parallel:"  # how rows name their parallel text among their data checksums (apart from task data)


def _place(name: str) -> str:
    """A data file's name as rows record it (`str(DataSpec)`, parallel text after `PARALLEL`), with its `..` and
    `.` steps resolved: `ckpt/examples/../../shared/x` and `other/examples/../../shared/x` name one file, so a
    config run from another checkout matches the names its rows recorded. Hub specs are names, not paths."""
    spec = name.removeprefix(PARALLEL)
    return name if spec.startswith("hub:") else name[: len(name) - len(spec)] + posixpath.normpath(spec)


def parallel_checksums(specs: Iterable[DataSpec]) -> dict[str, str]:
    """The checksums of a cell's parallel text (`ResolvedCell.parallel`) as its rows record them: each existing
    file under its spec after `PARALLEL`."""
    return {PARALLEL + str(spec): file_checksum(Path(spec.location)) for spec in specs if Path(spec.location).is_file()}


def identity_now(
    key: str,
    cell: Cell,
    task: Task,
    fingerprint: str,
    parallel: Iterable[DataSpec] = (),
    steps: dict[str, int] | None = None,
    unread: Iterable[DataSpec] = (),
) -> CellIdentity:
    """The cell's identity as its model, data, task and method are now (`fingerprint`: the model's content;
    `parallel`, `steps`: the parallel text its method reads and the versions of its checkpoint steps, as
    `grid.resolve.ResolvedCell` holds them; `unread`: the alignment files it does not read, which rows stored
    before TLM stopped reading them recorded); data files are named by `_place`, as the rows' names are compared."""
    source = lookup(cell.source)
    trained = task.data_specs(source)
    kinds = {_place(str(spec)): "training data" for spec in trained}
    text = {_place(name): digest for name, digest in parallel_checksums(parallel).items()}
    kinds |= {name: "parallel text" for name in text}
    common = _local_checksums(trained) | text  # what every target's rows read
    data = {}
    for target in cell.targets:
        tested = task.data_specs(source, lookup(target))
        kinds |= {_place(str(spec)): "test data" for spec in tested}
        data[target] = common | _local_checksums(tested)
    ignored = frozenset(_place(PARALLEL + str(spec)) for spec in unread)
    return CellIdentity(key, fingerprint, task.metadata.version, data, kinds, dict(steps or {}), ignored, common)


def _local_checksums(specs: Iterable[DataSpec]) -> dict[str, str]:
    """The checksums of the specs' local files, named by `_place` (Hub data is not hashed; a missing file is not
    compared)."""
    local = [spec for spec in specs if not spec.is_hub and Path(spec.location).is_file()]
    return {_place(str(spec)): file_checksum(Path(spec.location)) for spec in local}


def _changed_files(target: str, recorded: dict[str, str], now: CellIdentity) -> list[tuple[str, str]]:
    """(kind, spec) of the target's local files whose checksum differs from the one a row recorded. Task data
    under a name the rows did not record, where they recorded their task data (a config naming its files
    relatively, run from a moved or copied folder), is compared by content: changed unless one of the files the
    rows recorded under other names had its checksum. Rows that recorded no task data (stored before it was)
    are not compared."""
    files = now.data[target]
    changed = [spec for spec, digest in files.items() if spec in recorded and recorded[spec] != digest]
    if any(not name.startswith(PARALLEL) for name in recorded):  # parallel text: `_parallel_files_differ`
        elsewhere = {digest for name, digest in recorded.items() if name not in files}
        changed += [
            spec
            for spec, digest in files.items()
            if spec not in recorded and not spec.startswith(PARALLEL) and digest not in elsewhere
        ]
    return [(now.kinds[spec], spec.removeprefix(PARALLEL)) for spec in changed]


def _parallel_files_differ(target: str, recorded: dict[str, str], now: CellIdentity) -> bool:
    """Whether a row was computed from parallel text of other files than the cell reads now: languages added to or
    dropped from `parallel.languages` (or the grid's targets, its default) change the derived checkpoint but not
    the key. Files under other names than the rows recorded (a moved project whose config names them relatively)
    are compared by content, as task data is: the same contents under other names are the same text. Rows that
    recorded no parallel text (of a method that reads none, or stored before it was recorded) are not compared;
    a file rewritten under its recorded name is `_changed_files`'s."""
    earlier = {
        name: digest for name, digest in recorded.items() if name.startswith(PARALLEL) and name not in now.unread
    }
    current = {name: digest for name, digest in now.data[target].items() if name.startswith(PARALLEL)}
    if not earlier or earlier.keys() == current.keys():
        return False
    return sorted(earlier.values()) != sorted(current.values())


def _data_reasons(
    target: str, rows: list[ResultRow], cell: Cell, now: CellIdentity, done: str = "recomputing"
) -> dict[str, str]:
    """Why a target's stored rows are stale for their data (reason line -> reason kept with them): parallel text of
    other languages, or a file whose content changed (`_changed_files`); `done` says what becomes of them."""
    files = {_place(name): digest for row in rows for name, digest in row.data_checksums.items()}
    reasons = {}
    if _parallel_files_differ(target, files, now):
        reasons[
            f"the parallel text of {cell.method} changed languages or files since its {{n}} rows were stored: {done}"
        ] = "parallel text languages or files changed"
    for kind, spec in _changed_files(target, files, now):
        where = f" ({target})" if kind == "test data" else ""
        reasons[f"{kind} {spec}{where} changed since its {{n}} rows were stored: {done}"] = f"{kind} {spec} changed"
    return reasons


def stale_against(
    now: CellIdentity, cell: Cell, task: Task, stored: list[ResultRow], found: Staleness
) -> dict[str, str]:
    """The targets whose stored rows of the cell no longer match its identity `now`, each with why (for the
    `superseded` table); adds the reasons, with their rows, to `found`. Targets of the cell's stored rows that
    this run leaves out (`cell.targets` names those it computes) are judged on what holds for every target (the
    model, the task's and the steps' versions, the source's training and dev files, the method's parallel text:
    `CellIdentity.common`): their stale rows are set aside, not recomputed."""
    by_target: dict[str, list[ResultRow]] = {}
    for row in stored:
        by_target.setdefault(row.target, []).append(row)
    version, fingerprint = now.task_version, now.model_fingerprint
    stale = {}
    for target, rows in by_target.items():
        done = "recomputing" if target in cell.targets else SET_ASIDE
        reasons: dict[str, str] = {}  # reason line for the terminal -> reason kept with the superseded rows
        recorded = {row.model_fingerprint for row in rows if knows_content(row.model_fingerprint, cell.model)}
        if knows_content(fingerprint, cell.model) and recorded - {fingerprint}:
            reasons[f"model {cell.model} changed since its {{n}} rows were stored: {done}"] = (
                f"model changed: {', '.join(sorted(recorded))} -> {fingerprint}"
            )
        versions = {row.task_version or 1 for row in rows}
        if versions != {version}:
            old = ", ".join(map(str, sorted(versions)))
            reasons[f"task {cell.task} is version {version} now, its rows are version {old}: {done}"] = (
                f"task version {old} -> {version}"
            )
        for step, version_now in now.step_versions.items():
            built = {row.extra.get("step_versions", {}).get(step, 1) for row in rows}
            if built != {version_now}:
                old = ", ".join(map(str, sorted(built)))
                reasons[
                    f"method step {step} is version {version_now} now, the {{n}} rows of {cell.method} were built "
                    f"with version {old}: {done}"
                ] = f"step {step} version {old} -> {version_now}"
        if target in cell.targets:  # the data files of the targets this run reads (and hashes)
            reasons |= _data_reasons(target, rows, cell, now)
        else:  # left out: the files every target's rows read (a new fine-tuning or checkpoint makes them stale too)
            reasons |= _data_reasons(target, rows, cell, replace(now, data={target: now.common}), SET_ASIDE)
        for line in reasons:
            found.rows[line] += len(rows)
        if reasons:
            stale[target] = "; ".join(reasons.values())
    return stale
