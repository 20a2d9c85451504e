"""Inter-process locks that say who holds them: a grid run holds its results store's, a scheduled run its
job's. The lock is a `filelock` file; beside it a small JSON file names the holder (pid, host, start)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from mbert_eval.errors import UserError


class Locked(UserError):
    """Another process holds the lock."""


@contextmanager
def held_lock(
    lock_file: Path, busy: str, error: type[Locked] = Locked, wait: bool = False, **details: str
) -> Iterator[str]:
    """Hold `lock_file` (or raise `error`: `busy`, then who holds it and since when; with `wait`, say so on
    stderr and wait until it is free); yields the holder, "pid N on HOST". `details` are recorded with the
    holder and shown to whoever finds the lock taken."""
    side = lock_file.with_name(f"{lock_file.stem}.holder.json")
    for path in (lock_file, side):
        if path.is_symlink():
            raise UserError(f"the lock file {path} is a symbolic link; it is never followed: remove it")
        if path.exists() and not path.is_file():
            raise UserError(f"the lock file {path} is not a file (a folder?); remove it")
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot make the folder of the lock file {lock_file}: {err.strerror}") from None
    lock = FileLock(lock_file, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        if not wait:
            raise error(f"{busy} ({_describe_holder(side)}); not started again") from None
        print(f"{busy} ({_describe_holder(side)}); waiting until it is free", file=sys.stderr, flush=True)
        lock.acquire(timeout=-1)
    holder = f"pid {os.getpid()} on {socket.gethostname()}"
    try:
        record = {"holder": holder, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **details}
        side.write_text(json.dumps(record), encoding="utf-8")
        yield holder
    finally:
        side.unlink(missing_ok=True)
        lock.release()


def _describe_holder(side: Path) -> str:
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "holder unknown"
    return ", ".join(
        [
            info.pop("holder", "holder unknown"),
            f"started {info.pop('started', '?')}",
            *(f"{key} {value}" for key, value in info.items()),
        ]
    )
