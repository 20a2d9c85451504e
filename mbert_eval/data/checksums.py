"""SHA-256 checksums of data files, so a run records exactly which files it read."""
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from mbert_eval.data.types import PathLike
from mbert_eval.errors import DataError

_CHUNK_BYTES = 1 << 20
_cache: dict[tuple[str, int, int], str] = {}


def file_checksum(path: PathLike) -> str:
    """Hex SHA-256 of the file's bytes, streamed; memoised until the file's size or mtime changes."""
    try:
        stat = os.stat(path)
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _cache:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    digest.update(chunk)
            _cache[key] = digest.hexdigest()
    except OSError as err:
        raise DataError(path, f"cannot read file: {err.strerror or err}") from err
    return _cache[key]


def checksums(paths: Iterable[PathLike]) -> dict[str, str]:
    """Map each path (as given, as a string) to its file_checksum."""
    return {str(path): file_checksum(path) for path in paths}
