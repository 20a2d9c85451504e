"""SQLite files that several processes share (the results store, the schedule's history): WAL journal, a
generous lock timeout, tables created when missing."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def open_database(path: Path, schema: str) -> None:
    """Create the folder and the tables of an SQLite file if they are missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect(path)) as conn:
        conn.executescript(schema)


def connect(path: Path) -> sqlite3.Connection:
    """A connection that several processes can share: WAL journal, a generous lock timeout."""
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn
