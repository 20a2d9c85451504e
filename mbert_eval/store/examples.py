"""Per-example outputs beside the results store, as mteb and lm-evaluation-harness keep them: for each cell and
target, one gzipped JSON Lines file `OUTPUT/examples/{cell_key}/{target}.{digest}.jsonl.gz`, a header line (the
task, metric, the aggregate that turns the statistics into the score: `metrics.bootstrap.AGGREGATES`) and one
line per test example: its index in the test data, the gold answer, the prediction and the statistics its score
sums. The main metric's row names its file (`extra["examples"]`, relative to the store's folder).

They are what a score's confidence interval and a paired test of two methods are computed from (the same test
examples, row for row), and what a researcher opens to see which examples a method gets wrong. A file is
written whole (to a temporary name, then renamed) before the cell's rows reach the store, so a stored row never
points to a half-written file; its name holds a digest of its content, so a cell computed again (its data
changed) writes a new file beside the old one, which the rows it replaces (`superseded`) still name, and a run
stopped before its rows are stored leaves the stored rows' file as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path

from mbert_eval.metrics.outputs import ExampleOutputs
from mbert_eval.store.outputs import EXAMPLES_FOLDER, plain_mode

FORMAT = 1  # the header's `format`: bumped when the layout changes


def write_examples(store: Path, cell_key: str, target: str, outputs: ExampleOutputs) -> Path:
    """Write one target's outputs whole (temporary file, then rename) under examples/{cell_key}/, named by a
    digest of their content; returns the file."""
    header = {"format": FORMAT, "task": outputs.task, "metric": outputs.metric, "aggregate": outputs.aggregate}
    lines = [json.dumps(header)] + [
        json.dumps(
            {
                "index": index,
                "gold": outputs.gold[index] if outputs.gold else None,
                "prediction": outputs.predictions[index] if outputs.predictions else None,
                "stats": [float(value) for value in stats],
            },
            ensure_ascii=False,
        )
        for index, stats in enumerate(outputs.stats)
    ]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = (
        Path(store).parent / EXAMPLES_FOLDER / cell_key / f"{target}.{hashlib.sha256(data).hexdigest()[:12]}.jsonl.gz"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{target}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        plain_mode(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_examples(store: Path, name: str | None) -> ExampleOutputs | None:
    """The outputs a row names (`name`: its `extra["examples"]`, relative to the store's folder), as written by
    `write_examples`; None when there is no (readable) file under the store's examples/ folder: a row stored
    before outputs were kept, or one whose file was removed."""
    folder = (Path(store).parent / EXAMPLES_FOLDER).resolve()
    path = (Path(store).parent / name).resolve() if name else folder
    if not path.is_relative_to(folder) or path == folder:
        return None
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
