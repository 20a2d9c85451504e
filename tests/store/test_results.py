"""The SQLite results store: round trip, one transaction per cell, no duplicates."""

import sqlite3

import pytest

from mbert_eval.store.results import ResultRow, ResultStore, comparable_method
from tests.helpers import FIXTURES


def _row(target: str, score: float, key: str = "cell1", metric: str = "accuracy") -> ResultRow:
    return ResultRow(
        cell_key=key,
        task="pos",
        metric=metric,
        model="m",
        method="baseline",
        source="en",
        target=target,
        seed=1,
        score=score,
        n_examples=10,
        config_hash="abc",
        code_version="0.1.0",
        library_versions={"torch": "2.13.0"},
        data_checksums={"f.conllu": "00ff"},
        wall_time=1.5,
        extra={"dev_scores": [0.5, 0.6]},
    )


def test_round_trip(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    rows = [_row("de", 0.8), _row("fr", 0.7)]
    assert store.write_cell(rows) == 2
    back = ResultStore(tmp_path / "r.sqlite").rows()
    assert {(r.target, r.score) for r in back} == {("de", 0.8), ("fr", 0.7)}
    assert back[0].library_versions == {"torch": "2.13.0"}
    assert back[0].extra == {"dev_scores": [0.5, 0.6]}
    assert back[0].created_at
    assert {r.target for r in store.rows(cell_key="cell1")} == {"de", "fr"}
    assert store.rows(cell_key="other") == []


def test_existing_rows_are_kept_unless_overwrite(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    store.write_cell([_row("de", 0.8)])
    store.write_cell([_row("de", 0.1)])
    assert [r.score for r in store.rows()] == [0.8]
    store.write_cell([_row("de", 0.1)], overwrite=True)
    assert [r.score for r in store.rows()] == [0.1]


def test_a_failing_cell_writes_nothing(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    bad = _row("fr", 0.5)
    object.__setattr__(bad, "score", None)  # NOT NULL violation inside the transaction
    with pytest.raises(sqlite3.IntegrityError):
        store.write_cell([_row("de", 0.8), bad])
    assert store.rows() == []


def test_filters_and_dataframe(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    store.write_cell([_row("de", 0.8), _row("de", 0.3, metric="f1")])
    assert len(store.rows(metric="f1")) == 1
    frame = store.dataframe(target="de")
    assert sorted(frame["metric"]) == ["accuracy", "f1"]
    with pytest.raises(ValueError):
        store.rows(nonsense=1)


def test_results_table_shows_mean_and_std_over_seeds(tmp_path):
    from dataclasses import replace

    from mbert_eval.report.text_table import format_results

    store = ResultStore(tmp_path / "r.sqlite")
    for seed, score in ((1, 0.5), (2, 0.7), (3, 0.9)):
        store.write_cell([replace(_row("de", score, key=f"c{seed}"), seed=seed)])
    text = format_results(store)
    assert "70.0 ± 20.0" in text and text.splitlines()[1].split()[-1] == "3"  # percent, one decimal; 3 seeds
    assert "90.0" in format_results(store, per_seed=True)


def test_configs_and_metric_roles_round_trip(tmp_path):
    from mbert_eval.store.results import MetricRole, StoredConfig

    store = ResultStore(tmp_path / "r.sqlite")
    assert store.configs() == [] and store.metric_roles() == []
    store.write_config(StoredConfig("h1", "one", {"training": {"learning_rate": 2e-5}, "path": tmp_path}, "base"))
    store.write_config(StoredConfig("h2", "two", {}, None, written_at="2099-01-01T00:00:00+0000"))
    store.write_config(StoredConfig("h1", "one", {}, "base"))  # the same hash again: kept, only its time moves
    configs = ResultStore(tmp_path / "r.sqlite").configs()
    assert [c.config_hash for c in configs] == ["h1", "h2"] and configs[1].reference is None
    assert configs[0].config == {"training": {"learning_rate": 2e-5}, "path": str(tmp_path)}  # JSON, default=str
    store.write_metric_roles([MetricRole("pos", "f1", True, True), MetricRole("aer", "aer", True, False, "error")])
    store.write_metric_roles(
        [MetricRole("pos", "xtreme_f1", False, None, "XTREME's"), MetricRole("pos", "accuracy", True, True, "main")]
    )  # replaces pos's roles
    assert store.metric_roles() == [
        MetricRole("aer", "aer", True, False, "error"),
        MetricRole("pos", "accuracy", True, True, "main"),
        MetricRole("pos", "xtreme_f1", False, None, "XTREME's"),
    ]


def test_stale_rows_move_to_superseded_with_their_reason(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    store.write_cell([_row("de", 0.8), _row("de", 0.6, metric="f1"), _row("fr", 0.7)])
    new = [_row("de", 0.1)]
    assert store.write_cell(new, superseding={"de": "model changed: a -> b"}) == 1
    assert {(r.target, r.metric, r.score) for r in store.rows()} == {("de", "accuracy", 0.1), ("fr", "accuracy", 0.7)}
    moved = store.superseded(cell_key="cell1")
    assert {(r.target, r.metric, r.score) for r, _, _ in moved} == {("de", "accuracy", 0.8), ("de", "f1", 0.6)}
    assert {reason for _, reason, _ in moved} == {"model changed: a -> b"} and all(when for _, _, when in moved)
    assert moved[0][0].extra == {"dev_scores": [0.5, 0.6]}


def test_file_hashes_keep_the_latest_state_of_each_path(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    store.write_file_hashes({("/d/a.conllu", 10, 1, 1, 7): "aa", ("/d/b.conllu", 5, 1, 1, 8): "bb"})
    store.write_file_hashes({("/d/a.conllu", 10, 2, 2, 7): "aa"})
    assert ResultStore(tmp_path / "r.sqlite").file_hashes() == {
        ("/d/a.conllu", 10, 2, 2, 7): "aa",
        ("/d/b.conllu", 5, 1, 1, 8): "bb",
    }


def test_a_same_size_rewrite_whose_modification_time_was_kept_is_hashed_again(tmp_path):
    """A file's checksum was kept by (path, size, modification time): a rewrite of the same size whose time a copy
    kept (`cp -p`, `rsync -a`, an archive's fixed times) kept the old checksum, and a rerun found nothing changed
    (a retrained model of one architecture always has the same size). The change time and inode are part of the
    state; a store's hashes recorded without them are hashed once again."""
    import os
    import sqlite3
    from contextlib import closing

    from mbert_eval.data.checksums import current_hashes, file_checksum

    path = tmp_path / "weights.bin"
    path.write_bytes(b"a" * 64)
    first, stat = file_checksum(path), path.stat()
    path.write_bytes(b"b" * 64)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and file_checksum(path) != first
    store = ResultStore(tmp_path / "r.sqlite")
    store.write_file_hashes(current_hashes())
    with closing(sqlite3.connect(tmp_path / "r.sqlite")) as conn, conn:
        conn.execute("UPDATE file_hashes SET ctime_ns = NULL, inode = NULL")  # as a store before them held them
    assert ResultStore(tmp_path / "r.sqlite").file_hashes() == {}


def test_an_old_store_read_only_reads_the_new_columns_as_empty(tmp_path):
    """Opened read-only (a report), a store written before rows recorded fingerprints gains no columns."""
    import shutil

    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "store-2026-12-03.sqlite", path)
    store = ResultStore(path, read_only=True)
    rows = store.rows(task="pos")
    assert len(rows) == 336 and {(r.model_fingerprint, r.task_version) for r in rows} == {(None, None)}
    assert store.superseded() == [] and store.file_hashes() == {}


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        ({}, "baseline"),
        (None, "baseline"),
        ({"centered": True}, "baseline (centred)"),
        ({"all_languages": 8}, "baseline (8-way)"),
        ({"all_languages": 4, "limit": 5}, "baseline (4-way) (limit 5)"),
        ({"centered": True, "limit": 5}, "baseline (centred) (limit 5)"),
        ({"allow_overlap": True}, "baseline (overlap allowed)"),
    ],
)
def test_rows_of_another_measurement_count_as_their_own_method(extra, shown):
    """Limited, centred and L-way language-identity rows are never averaged with the plain rows of a cell."""
    assert comparable_method("baseline", extra) == shown
