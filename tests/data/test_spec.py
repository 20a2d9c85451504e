"""Data specs' `[start:stop]` slices: an empty one is refused when parsed, and a spec prints as it was written."""

import re
from pathlib import Path

import pytest

from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.tasks import get_task


@pytest.mark.parametrize("written", ["f.tsv[:0]", "f.tsv[0:0]", "f.tsv[3:1]", "hub:facebook/xnli@de:test[5:5]"])
def test_an_empty_slice_is_refused_as_written(written: str) -> None:
    """`[:0]` was accepted (and failed later as 'no examples in f.tsv[:]', naming the whole file)."""
    with pytest.raises(UserError) as caught:
        DataSpec.parse(written)
    assert str(caught.value) == f"{written}: an empty slice (its start is not before its stop)"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("f.tsv[-500:]", "f.tsv[-500:]: a slice is [start:stop], whole numbers 0 or more"),
        ("f.tsv[a:b]", "f.tsv[a:b]: a slice is [start:stop]"),
        (
            "hub:facebook/xnli@de:test[0:10]#abc",
            "the slice [0:10] goes after the revision, at the end: hub:facebook/xnli@de:test#abc[0:10]",
        ),
    ],
)
def test_a_slice_written_otherwise_is_refused_as_a_slice(written: str, message: str) -> None:
    """A slice the parser did not read stayed in the path: `f.tsv[-500:]` was 'file not found', and a slice before
    a Hub revision was refused with the hint to write what was written."""
    with pytest.raises(UserError, match=re.escape(message)):
        DataSpec.parse(written)
    assert str(DataSpec.parse("f.tsv[1:2] ")) == "f.tsv[1:2]"  # a trailing blank: read as the slice it ends


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("f.tsv", "f.tsv"),
        ("f.tsv[0:]", "f.tsv"),  # the whole file: it printed as `f.tsv[:]`
        ("f.tsv[:5]", "f.tsv[:5]"),
        ("f.tsv[0:5]", "f.tsv[:5]"),  # the same rows, under the same name
        ("f.tsv[3:]", "f.tsv[3:]"),
        ("hub:facebook/xnli@de:test[0:10]", "hub:facebook/xnli@de:test[:10]"),
    ],
)
def test_a_slice_has_one_name_for_its_rows(written: str, name: str) -> None:
    """A slice's name is its rows': a start of 0 is no start, so rows record `[0:5]` and `[:5]` alike."""
    assert str(DataSpec.parse(written)) == name


def test_a_selection_past_the_end_names_the_slice_and_the_files_size(tmp_path: Path) -> None:
    data = tmp_path / "pairs.tsv"
    data.write_text("a\tb\tx\nc\td\ty\n", encoding="utf-8")
    task = get_task("paraphrase")
    with pytest.raises(UserError, match=r"^no examples in .*pairs\.tsv\[5:\] \(the file holds 2\)$"):
        task.load(DataSpec.parse(f"{data}[5:]"))
    with pytest.raises(UserError, match=r"^no examples in .*pairs\.tsv\[:0\] \(the file holds 2\)$"):
        task.load(DataSpec(str(data), None, 0))  # built directly, past `parse`'s check: a bound 0 is a bound
