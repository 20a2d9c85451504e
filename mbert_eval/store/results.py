"""The results store: one embedded SQLite file, one transaction per finished cell.

A *cell* is one fine-tuning run (model, method, task, source language, seed) evaluated on many
target languages. Its rows are written together when the cell finishes, so a run killed mid-way
leaves either all of a cell's rows or none of them, and a rerun computes only what is missing.

The store describes itself, so that a report needs nothing else: `configs` holds each run's config as
JSON with its reference method (the one every other is compared with), `metrics` each task's metric
roles (main or not, which way is better, what the metric is). A store written before these tables
existed gains them, empty, when opened.

Rows record what they were computed from (the model's content fingerprint, the task's version, the data
files' checksums); rows a run replaces because that content changed move to `superseded`, with the reason
and when, so no score is lost. `file_hashes` remembers each file's checksum by its state
(`data.checksums.FileState`) across runs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mbert_eval.errors import UserError
from mbert_eval.store.sqlite import SQLiteFile

# the columns of a row (`ResultRow`), in `results` and in `superseded`, which keeps the rows a run replaced
_ROW_COLUMNS = """
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
    model_fingerprint TEXT,
    task_version    INTEGER"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results ({_ROW_COLUMNS},
    PRIMARY KEY (cell_key, target, metric)
);
CREATE INDEX IF NOT EXISTS results_by_task ON results (task, model, method, source, target);
CREATE TABLE IF NOT EXISTS superseded ({_ROW_COLUMNS},
    reason          TEXT NOT NULL,
    superseded_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_hashes (
    path            TEXT PRIMARY KEY,
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    ctime_ns        INTEGER,
    inode           INTEGER
);
CREATE TABLE IF NOT EXISTS configs (
    config_hash     TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    config          TEXT NOT NULL,
    reference       TEXT,
    written_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    task            TEXT NOT NULL,
    metric          TEXT NOT NULL,
    is_main         INTEGER NOT NULL,
    higher_is_better INTEGER,
    description     TEXT NOT NULL DEFAULT '',
    xtreme          TEXT,
    fraction        INTEGER,
    PRIMARY KEY (task, metric)
);
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
    model_fingerprint: str | None = None  # the model's content (models/fingerprint.py); None in older stores
    task_version: int | None = None  # the task's `TaskMetadata.version`; None in older stores (read as 1)


_JSON_COLUMNS = ("library_versions", "data_checksums", "extra")
_NOT_AN_OBJECT = "CASE WHEN json_valid({0}) THEN json_type({0}) != 'object' ELSE 1 END"  # SQL: not a JSON object


COLUMNS = tuple(f.name for f in fields(ResultRow))


@dataclass(frozen=True)
class StoredConfig:
    """The config of one run as plain data: its hash (the rows' `config_hash`), name, the whole config as
    JSON-able values, and its reference method (None: the grid lists no method)."""

    config_hash: str
    name: str
    config: dict[str, Any]
    reference: str | None
    written_at: str = ""


@dataclass(frozen=True)
class MetricRole:
    """What one stored metric of a task is: the main one or not, whether higher is better (None: not
    declared, as for most non-main metrics), and a description."""

    task: str
    metric: str
    is_main: bool
    higher_is_better: bool | None
    description: str = ""
    xtreme: str | None = None  # XTREME's name of the task when this metric makes up its XTREME score
    fraction: bool = True  # a fraction of 1, shown in %; False: a value shown as it is (BUCC's threshold)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _move_to_superseded(conn: sqlite3.Connection, cell_key: str, superseding: Mapping[str, str], now: str) -> None:
    """Within `conn`'s transaction, move the rows of `cell_key` on each target of `superseding` from `results` to
    `superseded`, with the target's reason."""
    columns = ", ".join(COLUMNS)
    for target, reason in superseding.items():
        conn.execute(
            f"INSERT INTO superseded ({columns}, reason, superseded_at) SELECT {columns}, ?, ? "
            "FROM results WHERE cell_key = ? AND target = ?",
            (reason, now, cell_key, target),
        )
        conn.execute("DELETE FROM results WHERE cell_key = ? AND target = ?", (cell_key, target))


class ResultStore(SQLiteFile):
    """SQLite-backed store of `ResultRow`s, configs and metric roles. Safe to open from several processes
    (WAL mode)."""

    SCHEMA = SCHEMA
    ADDED_COLUMNS = {
        "metrics": {"xtreme": "TEXT", "fraction": "INTEGER"},
        "results": {"model_fingerprint": "TEXT", "task_version": "INTEGER"},
        "file_hashes": {"ctime_ns": "INTEGER", "inode": "INTEGER"},  # a store's before: each file hashed once again
    }
    KIND = "results store"

    def _problem(self, conn: sqlite3.Connection) -> str | None:
        """A file with tables but no `results`, a column this suite does not know or lacks, a score that is not
        a number, invalid JSON in a row or a config (None: none of these)."""
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None  # a new (empty) file
        if "results" not in tables:
            return f"it has no `results` table (its tables: {', '.join(sorted(tables))}; another program's database?)"
        for table, own in (("results", ()), ("superseded", ("reason", "superseded_at"))):
            if table not in tables:
                continue
            present = [name for _, name, *_ in conn.execute(f"PRAGMA table_info({table})")]
            foreign = [name for name in present if name not in COLUMNS and name not in own]
            if foreign:
                return f"its `{table}` table has a column this suite does not know: {foreign[0]!r}"
            added = self.ADDED_COLUMNS["results"]  # columns an older store lacks, in both tables
            lacking = [name for name in (*COLUMNS, *own) if name not in present and name not in added]
            if lacking:
                return f"its `{table}` table lacks the column {lacking[0]!r}"
        bad = conn.execute(
            "SELECT target, score FROM results WHERE typeof(score) NOT IN ('real', 'integer') OR abs(score) > 1e308 "
            "LIMIT 1"
        ).fetchone()
        if bad:
            return f"a score that is not a finite number ({bad[1]!r}, target {bad[0]!r})"
        for column in _JSON_COLUMNS:
            bad = conn.execute(f"SELECT target FROM results WHERE {_NOT_AN_OBJECT.format(column)} LIMIT 1").fetchone()
            if bad:
                return f"invalid JSON in the `{column}` column, or not a JSON object (a row of target {bad[0]!r})"
        if "configs" in tables:
            bad = conn.execute(f"SELECT name FROM configs WHERE {_NOT_AN_OBJECT.format('config')} LIMIT 1").fetchone()
            if bad:
                return f"invalid JSON in the `configs` table, or not a JSON object (the config named {bad[0]!r})"
        return None

    def write_cell(
        self, rows: Iterable[ResultRow], overwrite: bool = False, superseding: Mapping[str, str] | None = None
    ) -> int:
        """Write all rows of one finished cell in a single transaction; returns the rows actually stored (rows
        already there are kept, unless `overwrite`). `superseding` maps targets whose stored rows of this cell
        are stale to the reason: those rows move to `superseded` first, in the same transaction."""
        now = _now()
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
        with self.writing() as conn:
            for key in {row[0] for row in records}:
                _move_to_superseded(conn, key, superseding or {}, now)
            before = conn.total_changes
            conn.executemany(
                f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({placeholders}) "
                f"ON CONFLICT (cell_key, target, metric) {on_conflict}",
                records,
            )
            return conn.total_changes - before

    def rekey(self, recorded_key: str, cell_key: str) -> int:
        """Give the rows a cell's `recorded_key` names (current and superseded) its `cell_key` instead, in one
        transaction, where no row holds `cell_key` yet: a store written before the cell's identity lost a field
        (`grid.resolve.ResolvedCell.recorded_key`) keeps its rows as the cell's. Their per-example files stay
        where their rows name them. Returns the rows of `results` moved."""
        with self.writing() as conn:
            if conn.execute("SELECT 1 FROM results WHERE cell_key = ? LIMIT 1", (cell_key,)).fetchone():
                return 0
            conn.execute("UPDATE superseded SET cell_key = ? WHERE cell_key = ?", (cell_key, recorded_key))
            return conn.execute("UPDATE results SET cell_key = ? WHERE cell_key = ?", (cell_key, recorded_key)).rowcount

    def supersede(self, cell_key: str, superseding: Mapping[str, str]) -> None:
        """Move the stored rows of one cell's targets (`superseding`: target -> why they are stale) to
        `superseded`, in one transaction, without rows that replace them."""
        with self.writing() as conn:
            _move_to_superseded(conn, cell_key, superseding, _now())

    def write_config(self, config: StoredConfig) -> None:
        """Keep a run's config; a config already stored (same hash) only moves its `written_at` to now."""
        with self.writing() as conn:
            conn.execute(
                "INSERT INTO configs (config_hash, name, config, reference, written_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (config_hash) DO UPDATE SET written_at = excluded.written_at",
                (
                    config.config_hash,
                    config.name,
                    json.dumps(config.config, default=str),
                    config.reference,
                    config.written_at or _now(),
                ),
            )

    def write_metric_roles(self, roles: Iterable[MetricRole]) -> None:
        """Replace the metric roles of every task named in `roles` by `roles` (one transaction)."""
        roles = list(roles)
        with self.writing() as conn:
            conn.executemany("DELETE FROM metrics WHERE task = ?", [(task,) for task in {r.task for r in roles}])
            conn.executemany(
                "INSERT INTO metrics (task, metric, is_main, higher_is_better, description, xtreme, fraction) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.task,
                        r.metric,
                        int(r.is_main),
                        None if r.higher_is_better is None else int(r.higher_is_better),
                        r.description,
                        r.xtreme,
                        int(r.fraction),
                    )
                    for r in roles
                ],
            )

    def configs(self) -> list[StoredConfig]:
        """The stored configs, oldest first (empty for a store written before configs were kept)."""
        records = self.select(
            "configs", "SELECT config_hash, name, config, reference, written_at FROM configs ORDER BY written_at, rowid"
        )
        return [
            StoredConfig(hash_, name, json.loads(config), reference, written)
            for hash_, name, config, reference, written in records
        ]

    def metric_roles(self) -> list[MetricRole]:
        """The stored metric roles, per task the main metric first (empty for a store that predates them)."""
        present = self.columns("metrics")  # a read-only store written before a column lacks it
        xtreme, fraction = (name if name in present else "NULL" for name in ("xtreme", "fraction"))
        records = self.select(
            "metrics",
            f"SELECT task, metric, is_main, higher_is_better, description, {xtreme}, {fraction} "
            "FROM metrics ORDER BY task, is_main DESC, metric",
        )
        return [  # a store written before units were kept: every metric a fraction, as it was shown
            MetricRole(
                task, metric, bool(main), None if higher is None else bool(higher), description, xtreme, fraction != 0
            )
            for task, metric, main, higher, description, xtreme, fraction in records
        ]

    def has_results(self) -> bool:
        """Whether any score is stored."""
        return bool(self.select("results", "SELECT 1 FROM results LIMIT 1"))

    def rows(self, **filters: Any) -> list[ResultRow]:
        """All stored rows, optionally filtered by equality on columns (e.g. task="pos")."""
        query = (
            f"SELECT {self._columns('results')} FROM results{_where(filters)} "
            "ORDER BY task, model, method, source, target, seed, metric"
        )
        records = self.select("results", query, tuple(filters.values()))
        return [_row_from_record(record) for record in records]

    def superseded(self, **filters: Any) -> list[tuple[ResultRow, str, str]]:
        """The rows a run replaced because their content changed, each with the reason and when, oldest first;
        optionally filtered by equality on columns."""
        query = (
            f"SELECT {self._columns('superseded')}, reason, superseded_at FROM superseded{_where(filters)} "
            "ORDER BY superseded_at, rowid"
        )
        records = self.select("superseded", query, tuple(filters.values()))
        return [(_row_from_record(record[:-2]), *record[-2:]) for record in records]

    def file_hashes(self) -> dict[tuple[str, int, int, int, int], str]:
        """The checksums earlier runs computed, by file state (`data.checksums.FileState`); those recorded before
        the change time and inode were kept match no state (each such file is hashed once again)."""
        if not {"ctime_ns", "inode"} <= self.columns("file_hashes"):
            return {}  # a store opened read-only, written before they were kept
        query = "SELECT path, size, mtime_ns, ctime_ns, inode, sha256 FROM file_hashes WHERE ctime_ns IS NOT NULL"
        return {tuple(record[:5]): record[5] for record in self.select("file_hashes", query)}

    def write_file_hashes(self, hashes: Mapping[tuple[str, int, int, int, int], str]) -> None:
        """Keep each file's current checksum (one per path) for later runs."""
        with self.writing() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, ctime_ns, inode, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(*state, digest) for state, digest in hashes.items()],
            )

    def _columns(self, table: str) -> str:
        """The row columns to select from `table`, NULL for those a read-only older store lacks."""
        present = self.columns(table)
        return ", ".join(column if column in present else "NULL" for column in COLUMNS)

    def dataframe(self, **filters: Any) -> pandas.DataFrame:  # noqa: F821
        """The stored rows as a pandas DataFrame (JSON columns decoded to dicts)."""
        import pandas

        return pandas.DataFrame([asdict(row) for row in self.rows(**filters)], columns=list(COLUMNS))


def _where(filters: dict[str, Any]) -> str:
    """` WHERE a = ? AND b = ?` for equality filters on row columns ('' for none); an unknown column is a
    ValueError."""
    unknown = set(filters) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown result columns: {sorted(unknown)}")
    return " WHERE " + " AND ".join(f"{name} = ?" for name in filters) if filters else ""


def open_store_for_reading(path: str | Path) -> ResultStore:
    """A results store opened read-only for a report or a listing: it must exist, and it is never written
    (a 0-byte file stays one; a store on read-only media can be read)."""
    if not Path(path).is_file():
        raise UserError(f"no results store at {path} (run an experiment first, or pass --store)")
    return ResultStore(path, read_only=True)


def _row_from_record(record: tuple) -> ResultRow:
    data = dict(zip(COLUMNS, record))
    for column in _JSON_COLUMNS:
        data[column] = json.loads(data[column])
    return ResultRow(**data)


def comparable_method(method: str, extra: object) -> str:
    """The method a row's score is comparable under: a limited run's rows as `method (limit N)`, rows of centred
    retrieval or mining (`center: true`) as `method (centred)` and rows of one language classifier over L languages
    (`language_identity` with `all_languages: true`, chance 1/L) as `method (L-way)`, and rows whose test or dev
    data may hold training rows or their translations (`allow_overlap: true`) as `method (overlap allowed)`, so
    that reports and analyses never average them with (or take them for) the plain full run's rows of the same
    cell coordinates."""
    extra = extra if isinstance(extra, dict) else {}
    shown = f"{method} (centred)" if extra.get("centered") else method
    shown = f"{shown} (overlap allowed)" if extra.get("allow_overlap") else shown
    languages = extra.get("all_languages")
    shown = shown if not languages else f"{shown} ({int(languages)}-way)"
    limit = extra.get("limit")
    return shown if limit is None else f"{shown} (limit {int(limit)})"
