"""A finished cell's rows that the results store refused (SQLite could not write: a full disk, a file made
read-only since, a lock held past its timeout), kept beside the store so that nothing computed is lost: one
JSON file per cell in `STORE.unsaved/`, written whole (`store.outputs.write_output`), holding the rows, the
targets whose stored rows they supersede and whether the run overwrote. The next run on the store writes them
before it plans (`grid.run.run_resolved`), so it does not compute those cells again, and removes each file
once its rows are in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.store.outputs import UNSAVED_SUFFIX, store_files, write_output
from mbert_eval.store.results import ResultRow, ResultStore


def unsaved_folder(store: Path) -> Path:
    """Where a store's unsaved cells are kept: `STORE.unsaved/` beside it."""
    return store.with_name(store.name + UNSAVED_SUFFIX)


def keep_unsaved(store: Path, rows: list[ResultRow], superseding: Mapping[str, str], overwrite: bool) -> str:
    """Keep one cell's rows that `store` refused; returns what the run's error line adds: where they are and
    that the next run writes them, or, where they cannot be kept either (the disk is full), that they are lost
    and the next run computes the cell again."""
    if not rows:
        return "no finished target of the cell was lost"
    path = unsaved_folder(store) / f"{rows[0].cell_key}.json"
    record = {"rows": [asdict(row) for row in rows], "superseding": dict(superseding), "overwrite": overwrite}
    try:
        write_output(path, json.dumps(record, indent=1), store_files(store), "the unsaved rows")
    except UserError as err:
        return f"the cell's {len(rows)} rows could not be kept either ({err}): the next run computes them again"
    return f"the cell's {len(rows)} rows are kept in {path}: the next run on this store writes them"


def unsaved_note(store: Path) -> str | None:
    """What `results` and `report` say of the cells kept beside `store` and not yet in it (None: there are none);
    the files are counted, not read."""
    folder = unsaved_folder(Path(store))
    kept = len(list(folder.glob("*.json")))
    if not kept:
        return None
    cells = "1 finished cell" if kept == 1 else f"{kept} finished cells"
    return (
        f"{cells} that a run could not store are kept in {folder}, not in the store yet: the next run on it writes them"
    )


@dataclass(frozen=True)
class UnsavedCell:
    """One kept cell (`keep_unsaved`): its file, rows, the targets whose stored rows they supersede, and whether
    the run that computed it overwrote."""

    path: Path
    rows: list[ResultRow]
    superseding: dict[str, str]
    overwrite: bool


def unsaved_cells(store: Path) -> list[UnsavedCell]:
    """The cells kept beside `store`; a file this suite cannot read back is a UserError naming it (`validate`
    refuses it as `run` does)."""
    folder = unsaved_folder(store)
    cells = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            rows = [ResultRow(**row) for row in record["rows"]]
            cells.append(UnsavedCell(path, rows, dict(record["superseding"]), bool(record["overwrite"])))
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise UserError(
                f"{path}: not a cell's unsaved rows as a run keeps them ({err}); move it out of {folder}"
            ) from None
    return cells


def store_unsaved(store: ResultStore) -> int:
    """Write every kept cell to `store`, removing each file once its rows are in; returns the rows written."""
    written = 0
    for cell in unsaved_cells(store.path):
        written += store.write_cell(cell.rows, overwrite=cell.overwrite, superseding=cell.superseding)
        cell.path.unlink()
    folder = unsaved_folder(store.path)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return written
