"""SHA-256 checksums of data files, so a run records exactly which files it read.

Each file is hashed once per state (`file_state`: path, size, modification and change times, inode; a same-size
rewrite whose modification time a copy kept, `cp -p` or `rsync -a`, still changes the change time): the checksums
are memoised in-process, and a caller may hand over those of an earlier process (`remember`, e.g. a results
store's record of them) and keep the ones now current (`current_hashes`), so that a rerun over an unchanged 470 MB
model folder hashes nothing."""

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from mbert_eval.data.types import PathLike
from mbert_eval.errors import DataError

_CHUNK_BYTES = 1 << 20
FileState = tuple[str, int, int, int, int]  # resolved path, size in bytes, mtime and ctime in ns, inode
_cache: dict[FileState, str] = {}


def _sha256(path: PathLike) -> str:
    """Hex SHA-256 of the file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def file_state(path: PathLike) -> FileState:
    """What says a file is as it was (`FileState`); the one definition, also of a model folder's state
    (`models.specs`). OSError where it cannot be read."""
    stat = os.stat(path)
    return str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def file_checksum(path: PathLike) -> str:
    """Hex SHA-256 of the file's bytes, streamed; memoised until the file's state (`FileState`) changes."""
    try:
        key = file_state(path)
        if key not in _cache:
            _cache[key] = _sha256(path)
    except OSError as err:
        raise DataError(path, f"cannot read file: {err.strerror or err}") from err
    return _cache[key]


def checksums(paths: Iterable[PathLike]) -> dict[str, str]:
    """Map each path (as given, as a string) to its file_checksum."""
    return {str(path): file_checksum(path) for path in paths}


def remember(hashes: Mapping[FileState, str]) -> None:
    """Take checksums computed earlier (another process, an earlier run) as known: a file whose state is still
    the one recorded is not hashed again."""
    _cache.update(hashes)


def current_hashes() -> dict[FileState, str]:
    """The known checksums whose file is still in that state (one per file; files gone are left out)."""
    current = {}
    for key, digest in _cache.items():
        try:
            if file_state(key[0]) == key:
                current[key] = digest
        except OSError:
            continue
    return current
