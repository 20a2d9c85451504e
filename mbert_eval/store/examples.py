"""Per-example outputs beside the results store, as mteb and lm-evaluation-harness keep them: for each cell and
target, one gzipped JSON Lines file `OUTPUT/examples/{cell_key}/{target}.jsonl.gz`, a header line (the task,
metric, the aggregate that turns the statistics into the score: `metrics.bootstrap.AGGREGATES`) and one line per
test example: its index in the test data, the gold answer, the prediction and the statistics its score sums.

They are what a score's confidence interval and a paired test of two methods are computed from (the same test
examples, row for row), and what a researcher opens to see which examples a method gets wrong. A file is
written whole (to a temporary name, then renamed) before the cell's rows reach the store, so a stored row never
points to a half-written file.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

from mbert_eval.metrics.outputs import ExampleOutputs
from mbert_eval.store.outputs import EXAMPLES_FOLDER, plain_mode

FORMAT = 1  # the header's `format`: bumped when the layout changes


def examples_path(store: Path, cell_key: str, target: str) -> Path:
    """Where a cell's outputs on `target` live: beside the store, under examples/{cell_key}/."""
    return Path(store).parent / EXAMPLES_FOLDER / cell_key / f"{target}.jsonl.gz"


def write_examples(store: Path, cell_key: str, target: str, outputs: ExampleOutputs) -> Path:
    """Write one target's outputs whole (temporary file, then rename); returns the file."""
    path = examples_path(store, cell_key, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "task": outputs.task, "metric": outputs.metric, "aggregate": outputs.aggregate}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{target}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as file:
            file.write((json.dumps(header) + "\n").encode())
            for index, stats in enumerate(outputs.stats):
                line = {
                    "index": index,
                    "gold": outputs.gold[index] if outputs.gold else None,
                    "prediction": outputs.predictions[index] if outputs.predictions else None,
                    "stats": [float(value) for value in stats],
                }
                file.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
        plain_mode(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_examples(store: Path, cell_key: str, target: str) -> ExampleOutputs | None:
    """A target's outputs as written by `write_examples`; None when there is no (readable) file: a row stored
    before outputs were kept, or one whose file was removed."""
    path = examples_path(store, cell_key, target)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            header = json.loads(file.readline())
            lines = [json.loads(line) for line in file]
    except (OSError, EOFError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    return ExampleOutputs(
        header["task"],
        header["metric"],
        header["aggregate"],
        [line["stats"] for line in lines],
        [line["gold"] for line in lines],
        [line["prediction"] for line in lines],
    )
