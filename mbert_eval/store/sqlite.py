"""SQLite files that several processes share (the results store, the schedule's history): WAL journal, a
generous lock timeout, tables created when missing; or opened read-only, for reading a store that must not
change (reports, `results`, a store on read-only media)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

from mbert_eval.errors import UserError


class SQLiteFile:
    """One SQLite file shared by several processes; subclasses name their tables in `SCHEMA`, which is
    run at every writable open (`CREATE ... IF NOT EXISTS`), so a file written before a table existed gains
    it. `read_only=True` never writes: the file must exist, tables it lacks read as empty, and a file
    whose folder cannot be written (read-only media) is read as immutable."""

    SCHEMA = ""
    ADDED_COLUMNS: dict[str, dict[str, str]] = {}  # table -> column -> type, for columns added after a release
    KIND = "SQLite file"

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.is_file():
            raise UserError(f"no {self.KIND} at {self.path}")
        try:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as conn:
                problem = self._problem(conn)
                if problem:
                    raise UserError(f"{self.path} is a damaged {self.KIND}: {problem}; it was not changed")
                if not read_only:
                    conn.executescript(self.SCHEMA)
                    self._add_columns(conn)
                self.tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as err:
            raise self._user_error(err) from None
        except OSError as err:
            raise UserError(f"cannot create the {self.KIND} at {self.path}: {err.strerror}") from None

    def _problem(self, conn: sqlite3.Connection) -> str | None:
        """What makes the file unfit to read or write, checked at every open before anything is written (None:
        nothing); subclasses check their own tables."""
        return None

    def _add_columns(self, conn: sqlite3.Connection) -> None:
        """Give a file written before a column existed that column (empty in its old records); another process
        opening the same old file at the same moment may add it first."""
        for table, added in self.ADDED_COLUMNS.items():
            present = {name for _, name, *_ in conn.execute(f"PRAGMA table_info({table})")}
            for column, kind in added.items():
                if column not in present:
                    try:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                    except sqlite3.OperationalError as err:
                        if "duplicate column" not in str(err):
                            raise

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (committed on success, rolled back on error); SQLite's errors
        (a full disk, a file made read-only since) end in one line; a broken constraint is a bug, not the
        user's, and stays SQLite's own error."""
        try:
            with closing(self._connect()) as conn, conn:
                yield conn
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as err:
            raise self._user_error(err) from None

    def _user_error(self, err: sqlite3.DatabaseError) -> UserError:
        """One line for what SQLite says of a file that is not a database or cannot be written."""
        message = str(err)
        if "not a database" in message or "malformed" in message:
            return UserError(
                f"{self.path} is not a {self.KIND} (SQLite says: {message}); pass the path of one, or a new path"
            )
        if not self.read_only:
            return UserError(
                f"cannot write the {self.KIND} at {self.path} (SQLite says: {message}); "
                "is its folder or file system read-only? choose another output"
            )
        return UserError(f"cannot read the {self.KIND} at {self.path} (SQLite says: {message})")

    def _connect(self) -> sqlite3.Connection:
        """A connection that several processes can share: WAL journal, a generous lock timeout. Read-only:
        SQLite's `mode=ro`, or `immutable=1` where the folder cannot be written (SQLite could not create
        the WAL index there, and nothing can change the file)."""
        if not self.read_only:
            conn = sqlite3.connect(self.path, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            return conn
        writable = os.access(self.path.resolve().parent, os.W_OK)
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro" + ("" if writable else "&immutable=1")
        return sqlite3.connect(uri, uri=True, timeout=60)

    def select(self, table: str, query: str, parameters: tuple = ()) -> list[tuple]:
        """Run a SELECT on `table`; a table the file lacks (a read-only open of an old or empty file) has
        no records."""
        if table not in self.tables:
            return []
        try:
            with closing(self._connect()) as conn:
                return conn.execute(query, parameters).fetchall()
        except sqlite3.DatabaseError as err:
            raise self._user_error(err) from None

    def columns(self, table: str) -> set[str]:
        """The columns `table` has in this file (empty when it lacks the table)."""
        return {name for _, name, *_ in self.select(table, f"PRAGMA table_info({table})")}
