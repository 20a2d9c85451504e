"""The run-metadata section: configs, code and library versions, data checksums, timings, machine.

Everything comes from the store's rows (they carry it), except the description of the machine that
writes the report and, when given, the experiment config itself. Values that differ between rows
where they should not (two checksums for one file, several library versions) are flagged.
"""
from __future__ import annotations

import os
import platform
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from mbert_eval.report.tables import Cell, Column, Table

if TYPE_CHECKING:
    from mbert_eval.config.experiment import Experiment


def _text_table(key: str, caption: str, labels: list[str], records: list[list[Cell]]) -> Table:
    return Table(key, caption, [Column(label, numeric=False) for label in labels], records)


def _counted(values: list[str]) -> str:
    counts = Counter(values)
    return ", ".join(f"{value} ({count} rows)" if len(counts) > 1 else value for value, count in counts.most_common())


def overview(frame: pd.DataFrame, store_path: Path) -> Table:
    """Store path, rows, cells, tasks and the time span of the stored results."""
    created = sorted(frame["created_at"])
    items = [("store", str(store_path)), ("rows", str(len(frame))), ("cells", str(frame["cell_key"].nunique())),
             ("tasks", ", ".join(sorted(set(frame["task"])))),
             ("first result", created[0]), ("last result", created[-1]),
             ("code version", _counted(list(frame["code_version"])))]
    return _text_table("meta-overview", "Results", ["item", "value"], [[Cell(k), Cell(v)] for k, v in items])


def configs(frame: pd.DataFrame, experiment: Experiment | None) -> Table:
    """One row per config hash: its tasks, cells and time span; the given experiment's hash is marked."""
    current = experiment.config_hash() if experiment else None
    records = []
    for config_hash, rows in frame.groupby("config_hash", sort=False):
        mark = " (this config)" if config_hash == current else ""
        records.append([Cell(f"{config_hash}{mark}", config_hash), Cell(", ".join(sorted(set(rows["task"])))),
                        Cell(str(rows["cell_key"].nunique())), Cell(f"{min(rows['created_at'])} – "
                                                                    f"{max(rows['created_at'])}")])
    notes = []
    if experiment and current not in set(frame["config_hash"]):
        notes.append(f"The given config (hash {current}) produced none of these rows.")
    table = _text_table("meta-configs", "Config hashes", ["config hash", "tasks", "cells", "results written"],
                        records)
    return Table(table.key, table.caption, table.columns, table.rows, notes=notes)


def config_text(experiment: Experiment) -> str:
    """The experiment config as YAML, the way a user would write it."""
    return yaml.safe_dump(experiment.to_dict(), sort_keys=False, allow_unicode=True)


def collect(frame: pd.DataFrame, column: str) -> dict[str, list[str]]:
    """For a JSON mapping column (library_versions, data_checksums): each key's value in every row."""
    found: dict[str, list[str]] = {}
    for mapping in frame[column]:
        for key, value in mapping.items():
            found.setdefault(key, []).append(str(value))
    return dict(sorted(found.items()))


def libraries(frame: pd.DataFrame) -> Table:
    """Each library's version(s) across rows; more than one version is flagged."""
    versions = collect(frame, "library_versions")
    records = [[Cell(name), Cell(_counted(found), kind="warn" if len(set(found)) > 1 else "",
                                 title="rows were computed with different versions" if len(set(found)) > 1 else "")]
               for name, found in versions.items()]
    return _text_table("meta-libraries", "Library versions", ["library", "version"], records)


def checksums(frame: pd.DataFrame) -> Table:
    """Each data file's sha256 across rows; a file seen with two checksums changed between runs."""
    seen = {name: set(sums) for name, sums in collect(frame, "data_checksums").items()}
    records = [[Cell(name), Cell(", ".join(sorted(sums)), kind="warn" if len(sums) > 1 else "",
                                 title="the file changed between runs" if len(sums) > 1 else "")]
               for name, sums in seen.items()]
    return _text_table("meta-checksums", f"Data checksums ({len(records)} files)", ["data", "sha256"], records)


def timings(frame: pd.DataFrame) -> Table:
    """Cells, fine-tuning and evaluation time per (task, model, method, source)."""
    cells = frame.drop_duplicates("cell_key")
    cells = cells.assign(train_time=[extra.get("train_time", 0.0) if isinstance(extra, dict) else 0.0
                                     for extra in cells["extra"]])
    evaluations = frame.drop_duplicates(["cell_key", "target"])
    keys = ["task", "model", "method", "source"]
    train = cells.groupby(keys).agg(cells=("cell_key", "size"), train=("train_time", "sum"))
    table = train.join(evaluations.groupby(keys)["wall_time"].sum().rename("evaluate")).reset_index()
    records = [[Cell(r.task), Cell(r.model), Cell(r.method), Cell(r.source), Cell(str(r.cells), r.cells),
                Cell(_duration(r.train), r.train), Cell(_duration(r.evaluate), r.evaluate)]
               for r in table.itertuples()]
    total = [Cell("all", kind="label"), Cell(""), Cell(""), Cell(""), Cell(str(table["cells"].sum())),
             Cell(_duration(table["train"].sum())), Cell(_duration(table["evaluate"].sum()))]
    labels = ["task", "model", "method", "source", "cells", "fine-tuning", "evaluation"]
    return Table("meta-timings", "Timings (sums over cells)",
                 [Column(label, numeric=i >= 4) for i, label in enumerate(labels)], records, [total])


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes < 60 else f"{minutes / 60:.1f} h"


def machine(frame: pd.DataFrame) -> Table:
    """Devices the runs used (from the rows) and the machine that wrote this report."""
    devices = [extra.get("device", "unknown") if isinstance(extra, dict) else "unknown"
               for extra in frame.drop_duplicates("cell_key")["extra"]]
    items = [("devices used by the runs", ", ".join(f"{d} ({n} cells)" for d, n in Counter(devices).most_common())),
             ("report written on", platform.platform()), ("processor", platform.processor() or platform.machine()),
             ("CPU count", str(os.cpu_count())), ("python", platform.python_version())]
    return _text_table("meta-machine", "Machine", ["item", "value"], [[Cell(k), Cell(v)] for k, v in items])


@dataclass(frozen=True)
class Metadata:
    """The section's tables: short ones (side by side), wide ones, folded ones (long), the config."""

    short: list[Table]
    wide: list[Table]
    folded: list[Table]
    config: str | None


def metadata_section(frame: pd.DataFrame, store_path: Path, experiment: Experiment | None) -> Metadata:
    """All metadata tables of the store's rows, and the experiment config when given."""
    return Metadata([overview(frame, store_path), configs(frame, experiment), machine(frame), libraries(frame)],
                    [timings(frame)], [checksums(frame)], config_text(experiment) if experiment else None)
