"""Opening a text file the user names (a config, a jobs file, a data file): only a regular file is opened (a
FIFO would wait forever for a writer), and its bytes are UTF-8 (an optional BOM); anything else is a DataError
that says what the path is or which encoding the file has."""

from __future__ import annotations

import codecs
import errno
import stat
from pathlib import Path

from mbert_eval.errors import DataError

# UTF-32 LE's mark starts with UTF-16 LE's: the longer marks are tried first
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


NOT_FOUND = "not found"


def path_problem(path: str | Path) -> str | None:
    """Why `path` is no regular file to read (None: it is one), without opening it."""
    file = Path(path)
    try:
        mode = file.stat().st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "is a symbolic link that loops, or lies in a folder that does (it never reaches a file)"
        if err.errno == errno.ENOENT:
            return "is a symbolic link to a file that does not exist" if file.is_symlink() else NOT_FOUND
        return f"cannot read file: {err.strerror or err}"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file (reading it would wait for a writer)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file" + (" (it reads as empty)" if str(path) == "/dev/null" else "")
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def text_file_problem(path: str | Path) -> str | None:
    """Why `path` is no UTF-8 text file to read, as far as its kind and its first bytes tell (None: no
    problem seen; `read_text` checks the whole file)."""
    problem = path_problem(path)
    if problem is None:
        try:
            with open(path, "rb") as handle:
                problem = _marked_encoding(handle.read(4))
        except OSError as err:
            problem = f"cannot read file: {err.strerror or err}"
    return problem


def _marked_encoding(start: bytes) -> str | None:
    """The problem of a file that starts with a UTF-16 or UTF-32 byte-order mark (None: no such mark)."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if start.startswith(mark):
            return f"is {encoding} (by its byte-order mark), not UTF-8; save it as UTF-8"
    return None


def read_text(path: str | Path) -> str:
    """The text of a regular UTF-8 file (an optional UTF-8 BOM dropped). A path that is no regular file, a file
    in UTF-16 or UTF-32 (by its byte-order mark), a file holding NUL bytes (UTF-16 without a mark, whose ASCII
    text would decode as UTF-8 with a NUL between letters), lines ended by a carriage return alone and invalid UTF-8
    raise DataError naming the file (and line)."""
    problem = path_problem(path)
    if problem is not None:
        raise DataError(path, f"cannot read file: {problem}" if problem == NOT_FOUND else problem)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DataError(path, f"cannot read file: {err.strerror or err}") from err
    problem = _marked_encoding(data[:4])
    if problem is not None:
        raise DataError(path, problem)
    if b"\r" in data and b"\n" not in data:  # one line to every reader: a CoNLL-U file read as one comment line
        raise DataError(path, "its lines end in a carriage return alone (classic Mac OS); save it with LF line ends")
    if b"\0" in data:  # valid UTF-8, but no text holds NUL: UTF-16 of ASCII without a mark decodes "fine"
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise DataError(path, "holds NUL bytes: UTF-16 without a byte-order mark, or not text; save it as UTF-8", line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(path, f"not valid UTF-8 (byte {err.start}); save it as UTF-8", line) from err
