"""The run-metadata section: configs, code and library versions, data checksums, timings, machine.

Everything comes from the store (its rows and its stored configs), except the description of the machine
that writes the report and, when given, a config the store lacks. Values that differ between rows where
they should not (two checksums for one file, several library versions) are flagged.
"""

from __future__ import annotations

import os
import platform
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from mbert_eval.report.names import display_names
from mbert_eval.report.roles import fine_tunes
from mbert_eval.report.tables import Cell, Column, Table
from mbert_eval.store.results import StoredConfig


def _text_table(key: str, caption: str, labels: list[str], records: list[list[Cell]]) -> Table:
    return Table(key, caption, [Column(label, numeric=False) for label in labels], records)


def _counted(values: list[str]) -> str:
    counts = Counter(values)
    return ", ".join(f"{value} ({count} rows)" if len(counts) > 1 else value for value, count in counts.most_common())


def overview(frame: pd.DataFrame, store_path: Path) -> Table:
    """Store path, rows, cells, tasks and the time span of the stored results."""
    created = sorted(frame["created_at"])
    items = [
        ("store", str(store_path)),
        ("rows", str(len(frame))),
        ("cells", str(frame["cell_key"].nunique())),
        ("tasks", ", ".join(sorted(set(frame["task"])))),
        ("first result", created[0]),
        ("last result", created[-1]),
        ("code version", _counted(list(frame["code_version"]))),
    ]
    return _text_table("meta-overview", "Results", ["item", "value"], [[Cell(k), Cell(v)] for k, v in items])


def configs(frame: pd.DataFrame, stored: list[StoredConfig], given: StoredConfig | None) -> Table:
    """One row per config hash of the rows or the store: its name, reference method, learning rate, tasks,
    cells and time span; the given config's hash is marked."""
    current = given.config_hash if given else None
    by_hash = {config.config_hash: config for config in stored + ([given] if given else [])}
    row_groups = dict(list(frame.groupby("config_hash", sort=False)))
    records = []
    for config_hash in list(row_groups) + [h for h in by_hash if h not in row_groups]:
        mark = " (this config)" if config_hash == current else ""
        config = by_hash.get(config_hash)
        training = config.config.get("training", {}) if config else {}
        rows = row_groups.get(config_hash)
        written = f"{min(rows['created_at'])} – {max(rows['created_at'])}" if rows is not None else "none"
        records.append(
            [
                Cell(f"{config_hash}{mark}", config_hash),
                Cell(config.name if config else "not stored"),
                Cell((config.reference or "none") if config else ""),
                Cell(str(training.get("learning_rate", ""))),
                Cell(", ".join(sorted(set(rows["task"]))) if rows is not None else ""),
                Cell(str(rows["cell_key"].nunique()) if rows is not None else "0"),
                Cell(written),
            ]
        )
    notes = []
    if given and current not in row_groups:
        notes.append(f"The given config (hash {current}) produced none of these rows.")
    if any(h not in by_hash for h in row_groups):
        notes.append('Configs marked "not stored" were run before the store kept configs.')
    labels = ["config hash", "name", "reference method", "learning rate", "tasks", "cells", "results written"]
    table = _text_table("meta-configs", "Configs", labels, records)
    return Table(table.key, table.caption, table.columns, table.rows, notes=notes)


def config_texts(stored: list[StoredConfig], given: StoredConfig | None) -> list[tuple[str, str]]:
    """(label, YAML) of every stored config, and of the given one when the store lacks it; newest first."""
    current = given.config_hash if given else None
    found = {config.config_hash: config for config in stored}
    if given:
        found.setdefault(given.config_hash, given)
    return [
        (
            f"{config.name} (hash {config.config_hash}{', this config' if config.config_hash == current else ''})",
            yaml.safe_dump(config.config, sort_keys=False, allow_unicode=True),
        )
        for config in reversed(list(found.values()))
    ]


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
    records = [
        [
            Cell(name),
            Cell(
                _counted(found),
                kind="warn" if len(set(found)) > 1 else "",
                title="rows were computed with different versions" if len(set(found)) > 1 else "",
            ),
        ]
        for name, found in versions.items()
    ]
    return _text_table("meta-libraries", "Library versions", ["library", "version"], records)


def checksums(frame: pd.DataFrame) -> Table:
    """Each data file's sha256 across rows; a file seen with two checksums changed between runs."""
    seen = {name: set(sums) for name, sums in collect(frame, "data_checksums").items()}
    records = [
        [
            Cell(name),
            Cell(
                ", ".join(sorted(sums)),
                kind="warn" if len(sums) > 1 else "",
                title="the file changed between runs" if len(sums) > 1 else "",
            ),
        ]
        for name, sums in seen.items()
    ]
    return _text_table("meta-checksums", f"Data checksums ({len(records)} files)", ["data", "sha256"], records)


def models(frame: pd.DataFrame) -> Table:
    """Each model's display name (the one the tables show) and its stored identifier (a Hub id or a full path)."""
    records = [[Cell(name), Cell(model)] for model, name in sorted(display_names(frame).items(), key=lambda i: i[1])]
    return _text_table("meta-models", "Models", ["shown as", "stored as (path or Hub id)"], records)


def timings(frame: pd.DataFrame) -> Table:
    """Cells, fine-tuning and evaluation time per (task, model, method, source); tasks that fine-tune nothing
    (`roles.fine_tunes`) show no fine-tuning time (theirs is loading the model), counted in the total apart."""
    frame = frame.assign(model=frame["model"].map(display_names(frame)))
    cells = frame.drop_duplicates("cell_key")
    cells = cells.assign(
        train_time=[extra.get("train_time", 0.0) if isinstance(extra, dict) else 0.0 for extra in cells["extra"]]
    )
    evaluations = frame.drop_duplicates(["cell_key", "target"])
    keys = ["task", "model", "method", "source"]
    train = cells.groupby(keys).agg(cells=("cell_key", "size"), train=("train_time", "sum"))
    table = train.join(evaluations.groupby(keys)["wall_time"].sum().rename("evaluate")).reset_index()
    records = [
        [
            Cell(r.task),
            Cell(r.model),
            Cell(r.method),
            Cell(r.source),
            Cell(str(r.cells), r.cells),
            Cell(_duration(r.train), r.train)
            if fine_tunes(r.task)
            else Cell("none", None, "", f"{r.task} fine-tunes nothing (loading the model: {_duration(r.train)})"),
            Cell(_duration(r.evaluate), r.evaluate),
        ]
        for r in table.itertuples()
    ]
    tuned = table[[fine_tunes(task) for task in table["task"]]]
    total = [
        Cell("all", kind="label"),
        Cell(""),
        Cell(""),
        Cell(""),
        Cell(str(table["cells"].sum())),
        Cell(_duration(tuned["train"].sum())),
        Cell(_duration(table["evaluate"].sum())),
    ]
    labels = ["task", "model", "method", "source", "cells", "fine-tuning", "evaluation"]
    return Table(
        "meta-timings",
        "Timings (sums over cells)",
        [Column(label, numeric=i >= 4) for i, label in enumerate(labels)],
        records,
        [total],
    )


def _duration(seconds: float) -> str:
    """Seconds to one decimal under a minute, whole minutes and seconds under an hour (rounded before splitting,
    so never "14 min 60 s"), hours to one decimal beyond."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    if round(seconds) < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s"
    return f"{seconds / 3600:.1f} h"


def machine(frame: pd.DataFrame) -> Table:
    """Devices the runs used (from the rows) and the machine that wrote this report."""
    devices = [
        extra.get("device", "unknown") if isinstance(extra, dict) else "unknown"
        for extra in frame.drop_duplicates("cell_key")["extra"]
    ]
    items = [
        ("devices used by the runs", ", ".join(f"{d} ({n} cells)" for d, n in Counter(devices).most_common())),
        ("report written on", platform.platform()),
        ("processor", platform.processor() or platform.machine()),
        ("CPU count", str(os.cpu_count())),
        ("python", platform.python_version()),
    ]
    return _text_table("meta-machine", "Machine", ["item", "value"], [[Cell(k), Cell(v)] for k, v in items])


@dataclass(frozen=True)
class Metadata:
    """The section's tables: short ones (side by side), wide ones, folded ones (long), the configs as YAML."""

    short: list[Table]
    wide: list[Table]
    folded: list[Table]
    configs: list[tuple[str, str]]  # (label, YAML), newest first


def metadata_section(
    frame: pd.DataFrame, store_path: Path, stored: list[StoredConfig], given: StoredConfig | None
) -> Metadata:
    """All metadata tables of the store, and its configs (with the given one when the store lacks it)."""
    return Metadata(
        [overview(frame, store_path), models(frame), configs(frame, stored, given), machine(frame), libraries(frame)],
        [timings(frame)],
        [checksums(frame)],
        config_texts(stored, given),
    )
