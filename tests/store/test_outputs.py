"""Writing outputs (store/outputs.py): identity by path or by inode, a whole file or none."""

import os
from pathlib import Path

import pytest

from mbert_eval.errors import UserError
from mbert_eval.store.outputs import check_output, write_output


def test_a_hard_link_under_another_name_is_the_same_file(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("input\n", encoding="utf-8")
    os.link(data, tmp_path / "out.txt")
    with pytest.raises(UserError, match="would replace"):
        check_output(tmp_path / "out.txt", [data], "the output")
    check_output(tmp_path / "other.txt", [data], "the output")  # a new name is fine


def test_a_failed_replace_keeps_the_earlier_file_and_leaves_no_temporary(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "report.html"
    out.write_text("earlier\n", encoding="utf-8")

    def refuse(*args) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(UserError, match="cannot write the report .*Permission denied"):
        write_output(out, "new\n", [], "the report")
    assert out.read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_new_output_gets_an_ordinary_mode(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = write_output(tmp_path / "a" / "b.csv", "x\n", [], "the export")
    finally:
        os.umask(umask)
    assert path.read_text(encoding="utf-8") == "x\n" and path.stat().st_mode & 0o777 == 0o644
