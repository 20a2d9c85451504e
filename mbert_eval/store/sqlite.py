"""SQLite files that several processes share (the results store, the schedule's history): WAL journal, a
generous lock timeout, tables created when missing."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


class SQLiteFile:
    """One SQLite file shared by several processes; subclasses name their tables in `SCHEMA`, which is
    run at every open (`CREATE ... IF NOT EXISTS`), so a file written before a table existed gains it."""

    SCHEMA = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.executescript(self.SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        """A connection that several processes can share: WAL journal, a generous lock timeout."""
        conn = sqlite3.connect(self.path, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn
