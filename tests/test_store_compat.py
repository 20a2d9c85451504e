"""What the restructure of issue 11 must not change: a store written before it opens, and every cell of a grid
keeps its key (so a rerun over an old store computes nothing again). Both fixtures were recorded by the main of
2026-12-03, before the restructure."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.cells import cell_key, expand
from mbert_eval.store import ResultStore

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_cell_keeps_the_key_it_had():
    experiment, problems = load_experiment(FIXTURES / "cell-keys-grid.yaml")
    assert problems == []
    recorded = json.loads((FIXTURES / "cell-keys.json").read_text(encoding="utf-8"))
    now = {f"{c.model}|{c.method}|{c.task}|{c.source}|{c.seed}": cell_key(experiment, c) for c in expand(experiment)}
    assert now == recorded


def test_a_store_written_before_the_restructure_opens(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "store-2026-12-03.sqlite", path)
    rows = ResultStore(path).rows(task="pos")
    assert len(rows) == 336 and {row.method for row in rows} >= {"baseline", "tlm", "freeze3"}
