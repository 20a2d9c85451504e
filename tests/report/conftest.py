"""The reports' fixtures: the real grid's rows (tests/conftest.py) plus rows written by hand, in one store."""

from __future__ import annotations

import dataclasses

import pytest

from mbert_eval.languages import Language
from mbert_eval.store.results import ResultRow, ResultStore
from tests.helpers import EVIL, EXTRA_CODE


def _copy(row: ResultRow, tag: str, **changes) -> ResultRow:
    """A copy of `row` with changes, in a new cell named by `tag` ("" keeps the row's cell)."""
    return dataclasses.replace(row, cell_key=row.cell_key + (f"-{tag}" if tag else ""), **changes)


def hand_rows(grid: list[ResultRow]) -> list[ResultRow]:
    """Rows the grid cannot make yet (see the module docstring), derived from the grid's rows."""
    pos = [r for r in grid if r.task == "pos"]
    source = pos[0].source
    rows: list[ResultRow] = []
    offsets = {2: 0.02, 3: -0.01}
    better = {"qaa": -0.08, "qab": 0.10, "qac": 0.001}  # mixing − baseline: worse, better, not distinguishable
    for row in pos:
        rows += [_copy(row, f"s{seed}", seed=seed, score=row.score + d) for seed, d in offsets.items()]
        for seed, d in {1: 0.0, **offsets}.items():
            rows.append(
                _copy(
                    row,
                    f"mix{seed}",
                    method="mixing",
                    seed=seed,
                    score=row.score + d + better[row.target],
                    extra={**row.extra, "layer_weights": [0.2, 0.5, 0.3]},
                )
            )
        if row.target == source:
            for seed, d in {1: 0.0, **offsets}.items():
                rows.append(_copy(row, f"s{seed}" if seed > 1 else "", target=EXTRA_CODE, seed=seed, score=0.3 + d))
        rows.append(_copy(row, "src2", source="qab", score=row.score / 2))
        rows.append(_copy(row, "evil", model=EVIL, score=row.score * 0.9))
    for row in pos:  # a second task with one seed per method: Δ without spread
        rows.append(_copy(row, "para", task="paraphrase", score=0.5 + row.score / 4))
        rows.append(_copy(row, "para-mix", task="paraphrase", method="mixing", score=0.55 + row.score / 4))
    for i, row in enumerate(r for r in pos if r.target != source):
        scores = {
            "accuracy": 0.4 + i / 10,
            "accuracy_to_pivot": 0.5,
            "accuracy_from_pivot": 0.3 + i / 10,
            "accuracy_layer00": 0.1,
            "accuracy_layer01": 0.3 + i / 10,
            "accuracy_layer02": 0.2,
        }
        rows += [
            _copy(row, "tatoeba", task="tatoeba", metric=metric, score=score, extra={"device": "cpu"})
            for metric, score in scores.items()
        ]
    return rows


@pytest.fixture(scope="session")
def rich_store(tmp_path_factory, grid_config, grid_rows) -> ResultStore:
    """The grid's rows plus `hand_rows`, in a fresh store that describes itself as a run's store does: the grid's
    config, and the metric roles of every task."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(tmp_path_factory.mktemp("report-store") / "results.sqlite")
    store.write_cell(grid_rows + hand_rows(grid_rows))
    for config in ResultStore(load_experiment(grid_config)[0].store_path).configs():
        store.write_config(config)
    store.write_metric_roles(metric_roles(sorted({row.task for row in store.rows()})))
    return store


@pytest.fixture
def evil_language(monkeypatch):
    """The language table names EXTRA_CODE `<script>alert(1)</script>` for the duration of a test."""
    from mbert_eval.report import summary

    original = summary.lookup

    def lookup(code: str) -> Language:
        if code == EXTRA_CODE:
            return Language(code, None, code, EVIL, "Qaaa", "Synthetic", "Synthetic", ())
        return original(code)

    monkeypatch.setattr(summary, "lookup", lookup)
