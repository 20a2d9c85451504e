"""Opening the text files a user names (`data.files`): encodings named by their byte-order mark, and paths
that are no regular file refused before they are opened."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mbert_eval.data.files import read_text, text_file_problem
from mbert_eval.errors import DataError


@pytest.mark.parametrize(
    "encoding, said",
    [
        ("utf-16", "is UTF-16 (by its byte-order mark)"),
        ("utf-16-le", "holds NUL bytes: UTF-16 without a byte-order mark"),
        ("utf-32", "is UTF-32 (by its byte-order mark)"),
        ("latin-1", "not valid UTF-8"),
    ],
)
def test_encodings_are_named_by_their_byte_order_mark_or_their_nul_bytes(
    encoding: str, said: str, tmp_path: Path
) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes("un café\n".encode(encoding))
    with pytest.raises(DataError) as raised:
        read_text(path)
    assert str(raised.value).startswith(str(path))
    assert said in str(raised.value)
    marked = "byte-order mark)" in said
    assert (text_file_problem(path) is not None) == marked  # the BOM is all validate looks at before reading


def test_utf8_with_and_without_its_bom_reads(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"\xef\xbb\xbfa\n")
    assert read_text(path) == "a\n" and text_file_problem(path) is None


@pytest.mark.parametrize("kind", ["fifo", "loop", "folder", "dangling", "dev-null"])
def test_paths_that_are_no_regular_file_are_never_opened(kind: str, tmp_path: Path) -> None:
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)  # opening it would wait for a writer: this test would hang
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to(tmp_path / "nothing")
    else:
        path = Path("/dev/null")
    expected = {
        "fifo": "is a named pipe (FIFO)",
        "loop": "is a symbolic link that loops",
        "folder": "is a folder, not a file",
        "dangling": "is a symbolic link to a file that does not exist",
        "dev-null": "is a device, not a regular file (it reads as empty)",
    }[kind]
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: {re.escape(expected)}"):
        read_text(path)
