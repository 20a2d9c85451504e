"""Per-example outputs beside the store (store/examples.py)."""

from __future__ import annotations

import re

import numpy as np

from mbert_eval.store.examples import ExampleOutputs, read_examples, write_examples


def test_outputs_round_trip_beside_the_store(tmp_path):
    store = tmp_path / "out" / "results.sqlite"
    outputs = ExampleOutputs("pos", "accuracy", "ratio", [[3, 4], [1, 2]], [["NOUN"], ["VERB"]], [["NOUN"], ["ADJ"]])
    path = write_examples(store, "abc123", "de", outputs)
    assert path.parent == tmp_path / "out" / "examples" / "abc123" and re.fullmatch(
        r"de\.[0-9a-f]{12}\.jsonl\.gz", path.name
    )
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    back = read_examples(store, f"examples/abc123/{path.name}")
    assert back == outputs
    assert np.array_equal(back.array(), np.array([[3.0, 4.0], [1.0, 2.0]]))
    assert write_examples(store, "abc123", "de", outputs) == path  # the same outputs: the same file


def test_outputs_computed_again_go_beside_the_ones_rows_name(tmp_path):
    """A cell computed again (its data changed) writes a new file; the file of the rows it replaces stays, so
    a run stopped before its rows are stored leaves the stored rows' outputs as they were."""
    store = tmp_path / "results.sqlite"
    first = write_examples(store, "k", "de", ExampleOutputs("pos", "accuracy", "mean", [[1.0], [0.0]]))
    second = write_examples(store, "k", "de", ExampleOutputs("pos", "accuracy", "mean", [[0.0], [0.0]]))
    assert first != second and first.is_file()
    assert read_examples(store, str(first.relative_to(tmp_path))).stats == [[1.0], [0.0]]
    assert read_examples(store, str(second.relative_to(tmp_path))).stats == [[0.0], [0.0]]


def test_a_name_outside_the_examples_folder_is_not_read(tmp_path):
    store = tmp_path / "out" / "results.sqlite"
    path = write_examples(store, "k", "de", ExampleOutputs("pos", "accuracy", "mean", [[1.0]]))
    outside = tmp_path / "elsewhere.jsonl.gz"
    outside.write_bytes(path.read_bytes())
    assert read_examples(store, "../elsewhere.jsonl.gz") is None and read_examples(store, None) is None


def test_missing_or_damaged_files_read_as_none(tmp_path):
    store = tmp_path / "results.sqlite"
    assert read_examples(store, "examples/nokey/de.0123456789ab.jsonl.gz") is None
    path = write_examples(store, "k", "de", ExampleOutputs("pos", "accuracy", "mean", [[1.0]]))
    path.write_bytes(path.read_bytes()[:10])  # cut short
    assert read_examples(store, str(path.relative_to(tmp_path))) is None


def test_a_file_gets_an_ordinary_mode(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = write_examples(
            tmp_path / "results.sqlite", "k", "de", ExampleOutputs("pos", "accuracy", "mean", [[1.0]])
        )
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # as a plain write makes it, not the temporary file's 0600
