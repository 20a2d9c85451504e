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


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"abc \xff\xfe def\n", "corpus.txt:1: not valid UTF-8 (byte 4)"),
        (b"one\nt\x00wo\n", "corpus.txt:2: holds NUL bytes"),
    ],
)
def test_corpus_that_is_not_utf8_text_is_named(data: bytes, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    with pytest.raises(DataError, match=re.escape(fragment)) as raised:
        check_corpus([path])
    assert "\n" not in str(raised.value)


def test_pretrain_on_invalid_utf8_is_one_line(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"abc \xff\xfe def\n")
    result = run_cli("pretrain", bad, "--out", tmp_path / "m", "--max-steps", 2, "--vocab-size", 200)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.txt:1: not valid UTF-8" in lines[0], result.stderr
