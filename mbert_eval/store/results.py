"""The results store: one embedded SQLite file, one transaction per finished cell.

A *cell* is one fine-tuning run (model, method, task, source language, seed) evaluated on many
target languages. Its rows are written together when the cell finishes, so a run killed mid-way
leaves either all of a cell's rows or none of them, and a rerun computes only what is missing.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from mbert_eval.store.sqlite import connect, open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    cell_key        TEXT NOT NULL,
    task            TEXT NOT NULL,
    metric          TEXT NOT NULL,
    model           TEXT NOT NULL,
    method          TEXT NOT NULL,
    source          TEXT NOT NULL,
    target          TEXT NOT NULL,
    seed            INTEGER NOT NULL,
    score           REAL NOT NULL,
    n_examples      INTEGER NOT NULL,
    config_hash     TEXT NOT NULL,
    code_version    TEXT NOT NULL,
    library_versions TEXT NOT NULL,
    data_checksums  TEXT NOT NULL,
    wall_time       REAL NOT NULL,
    created_at      TEXT NOT NULL,
    extra           TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (cell_key, target, metric)
);
CREATE INDEX IF NOT EXISTS results_by_task ON results (task, model, method, source, target);
"""


@dataclass(frozen=True)
class ResultRow:
    """One score: a (cell, target language, metric) triple with everything needed to trust it."""

    cell_key: str
    task: str
    metric: str
    model: str
    method: str
    source: str
    target: str
    seed: int
    score: float
    n_examples: int
    config_hash: str
    code_version: str
    library_versions: dict[str, str] = field(default_factory=dict)
    data_checksums: dict[str, str] = field(default_factory=dict)
    wall_time: float = 0.0
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_JSON_COLUMNS = ("library_versions", "data_checksums", "extra")


COLUMNS = tuple(f.name for f in fields(ResultRow))


class ResultStore:
    """SQLite-backed store of `ResultRow`s. Safe to open from several processes (WAL mode)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        open_database(self.path, SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def write_cell(self, rows: Iterable[ResultRow], overwrite: bool = False) -> int:
        """Write all rows of one finished cell in a single transaction; returns the row count."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        records = []
        for row in rows:
            data = asdict(row)
            data["created_at"] = data["created_at"] or now
            for column in _JSON_COLUMNS:
                data[column] = json.dumps(data[column], sort_keys=True)
            records.append(tuple(data[c] for c in COLUMNS))
        placeholders = ", ".join("?" for _ in COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS)
        on_conflict = f"DO UPDATE SET {updates}" if overwrite else "DO NOTHING"
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({placeholders}) "
                f"ON CONFLICT (cell_key, target, metric) {on_conflict}",
                records,
            )
        return len(records)

    def done_targets(self, cell_key: str) -> set[str]:
        """Target languages for which the cell already has stored scores."""
        with closing(self._connect()) as conn:
            cursor = conn.execute("SELECT DISTINCT target FROM results WHERE cell_key = ?", (cell_key,))
            return {target for (target,) in cursor}

    def rows(self, **filters: Any) -> list[ResultRow]:
        """All stored rows, optionally filtered by equality on columns (e.g. task="pos")."""
        unknown = set(filters) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown result columns: {sorted(unknown)}")
        where = " AND ".join(f"{name} = ?" for name in filters)
        query = f"SELECT {', '.join(COLUMNS)} FROM results"
        if where:
            query += f" WHERE {where}"
        query += " ORDER BY task, model, method, source, target, seed, metric"
        with closing(self._connect()) as conn:
            records = conn.execute(query, tuple(filters.values())).fetchall()
        return [_row_from_record(record) for record in records]

    def dataframe(self, **filters: Any) -> "pandas.DataFrame":  # noqa: F821
        """The stored rows as a pandas DataFrame (JSON columns decoded to dicts)."""
        import pandas

        return pandas.DataFrame([asdict(row) for row in self.rows(**filters)], columns=list(COLUMNS))


def _row_from_record(record: tuple) -> ResultRow:
    data = dict(zip(COLUMNS, record))
    for column in _JSON_COLUMNS:
        data[column] = json.loads(data[column])
    return ResultRow(**data)
