"""A pretraining corpus that is no regular UTF-8 file is named for what it is before training starts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mbert_eval.errors import DataError
from mbert_eval.pretraining.tokenizer import check_corpus


def _make(kind: str, path: Path) -> None:
    if kind == "utf-16":
        path.write_bytes("a sentence\n".encode("utf-16"))
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("utf-16", "is UTF-16 (by its byte-order mark)"),
        ("fifo", "is a named pipe (FIFO)"),
        ("folder", "is a folder, not a file"),
        ("missing", "corpus file not found"),
    ],
)
def test_corpus_files_that_cannot_be_read_are_named(kind: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    _make(kind, path)
    with pytest.raises(DataError, match=re.escape(fragment)) as raised:
        check_corpus([path])
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)
