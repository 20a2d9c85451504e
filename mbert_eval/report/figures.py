"""The charts of a task section: source × target heatmaps, per-layer curves, layer-mixing weights."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from mbert_eval.report.charts import Series, heatmap, line_chart
from mbert_eval.report.summary import TaskSummary
from mbert_eval.report.tables import language_label


@dataclass(frozen=True)
class Figure:
    """An inline SVG chart and its caption."""

    caption: str
    svg: Markup


def _value(x: float) -> float | None:
    return None if pd.isna(x) else float(x)


def source_heatmaps(summary: TaskSummary) -> list[Figure]:
    """One source × target heatmap per (model, method), when the task has more than one source."""
    sources = summary.values("source")
    if len(sources) < 2:
        return []
    targets = list(summary.languages.index)
    columns = [(code, language_label(code)) for code in targets]
    figures = []
    for (model, method), frame in summary.scores.groupby(["model", "method"], sort=True):
        grid = frame.pivot_table(index="source", columns="target", values="mean", dropna=False)
        grid = grid.reindex(index=sources, columns=targets)
        rows = [(code, language_label(code)) for code in sources]
        values = [[_value(v) for v in grid.loc[code]] for code in sources]
        title = f"{summary.metric} (%): source (rows) × target (columns)"
        figures.append(
            Figure(f"{summary.task}: {title} — model {model}, method {method}", heatmap(title, rows, columns, values))
        )
    return figures


def layer_curves(summary: TaskSummary) -> list[Figure]:
    """Per-layer scores (e.g. retrieval accuracy) per target, with their mean, per (model, method, source)."""
    figures = []
    for (model, method, source), frame in summary.layers.groupby(["model", "method", "source"], sort=True):
        grid = frame.pivot_table(index="target", columns="layer", values="mean")
        grid = grid.reindex(columns=range(int(grid.columns.max()) + 1))
        series = [Series(language_label(code), [_value(v) for v in grid.loc[code]]) for code in grid.index]
        series.append(Series("mean over targets", [_value(v) for v in grid.mean(axis=0, skipna=True)], True))
        title = f"{summary.task}: {summary.metric} by layer (%)"
        figures.append(
            Figure(
                f"{title} — model {model}, method {method}, source {language_label(source)}",
                line_chart(title, series, "layer", f"{summary.metric} (%)"),
            )
        )
    return figures


def layer_weights(summary: TaskSummary) -> list[Figure]:
    """The learned layer-mixing weights (mean over cells), one line per (model, method, source)."""
    if summary.layer_weights.empty:
        return []
    many_models = len(summary.values("model")) > 1
    series = []
    for (model, method, source), frame in summary.layer_weights.groupby(["model", "method", "source"], sort=True):
        weights = frame.set_index("layer")["weight"].reindex(range(int(frame["layer"].max()) + 1))
        label = f"{method}, {source}" + (f", {model}" if many_models else "")
        series.append(Series(label, [_value(w) for w in weights]))
    title = f"{summary.task}: learned layer-mixing weights"
    return [Figure(f"{title} (mean over seeds)", line_chart(title, series, "layer", "weight", percent=False))]


def task_figures(summary: TaskSummary) -> list[Figure]:
    """Every chart of a task section, in page order."""
    return source_heatmaps(summary) + layer_curves(summary) + layer_weights(summary)
