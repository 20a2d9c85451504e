"""Per-example outputs beside the store (store/examples.py)."""

from __future__ import annotations

import numpy as np

from mbert_eval.store.examples import ExampleOutputs, examples_path, read_examples, write_examples


def test_outputs_round_trip_beside_the_store(tmp_path):
    store = tmp_path / "out" / "results.sqlite"
    outputs = ExampleOutputs("pos", "accuracy", "ratio", [[3, 4], [1, 2]], [["NOUN"], ["VERB"]], [["NOUN"], ["ADJ"]])
    path = write_examples(store, "abc123", "de", outputs)
    assert path == tmp_path / "out" / "examples" / "abc123" / "de.jsonl.gz" == examples_path(store, "abc123", "de")
    assert [p.name for p in path.parent.iterdir()] == ["de.jsonl.gz"]  # no temporary file left
    back = read_examples(store, "abc123", "de")
    assert back == outputs
    assert np.array_equal(back.array(), np.array([[3.0, 4.0], [1.0, 2.0]]))


def test_missing_or_damaged_files_read_as_none(tmp_path):
    store = tmp_path / "results.sqlite"
    assert read_examples(store, "nokey", "de") is None
    path = write_examples(store, "k", "de", ExampleOutputs("pos", "accuracy", "mean", [[1.0]]))
    path.write_bytes(path.read_bytes()[:10])  # cut short
    assert read_examples(store, "k", "de") is None


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
