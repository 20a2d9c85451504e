"""The charts of a task section: per-language bars with interval whiskers and the chance line, the method ×
language Δ heatmap with significance, source × target heatmaps, per-layer curves, layer-mixing weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from mbert_eval.registry import Registry
from mbert_eval.report.charts import Series, bar_chart, delta_heatmap, heatmap, line_chart
from mbert_eval.report.summary import TaskSummary
from mbert_eval.report.tables import NOT_SIGNIFICANT, SIGNIFICANT, blocks, language_label


@dataclass(frozen=True)
class Figure:
    """An inline SVG chart and its caption."""

    caption: str
    svg: Markup


def _value(x: float) -> float | None:
    return None if pd.isna(x) else float(x)


def _codes(summary: TaskSummary, source: str) -> list[str]:
    """The languages in the main table's order: the targets, then the source."""
    codes = list(summary.languages.index)
    return [c for c in codes if c != source] + [c for c in codes if c == source]


def _whiskers(block: pd.DataFrame) -> str:
    """What the bars' whiskers are, from the kinds of interval among the scores."""
    kinds = set(block[block["mean"].notna()]["ci_kind"])
    said = {"bootstrap": "95% bootstrap interval", "std": "± one standard deviation over seeds"}
    shown = [said[kind] for kind in ("bootstrap", "std") if kind in kinds]
    return " or ".join(shown) + (" (none where neither is known)" if "" in kinds else "") if shown else "none"


def _range(levels: pd.Series) -> str:
    """Percent levels as "a–b" (one decimal)."""
    return f"{100 * levels.min():.1f}–{100 * levels.max():.1f}"


def language_bars(summary: TaskSummary) -> list[Figure]:
    """Per (model, source): one group of bars per language, one bar per method, whiskers for the 95% interval
    (± std where only that is known), a dashed chance line where the task defines one and it is the same for every
    language (a majority guess's differs by language: the caption gives its range)."""
    figures = []
    for model, source in blocks(summary):
        block = summary.scores[(summary.scores["model"] == model) & (summary.scores["source"] == source)]
        methods = [m for m in summary.values("method") if m in set(block["method"])]
        codes = _codes(summary, source)
        indexed = block.set_index(["method", "target"])
        values = [
            [
                None
                if pd.isna(indexed.loc[(method, code), "mean"])
                else (
                    float(indexed.loc[(method, code), "mean"]),
                    float(indexed.loc[(method, code), "ci_low"]),
                    float(indexed.loc[(method, code), "ci_high"]),
                )
                for code in codes
            ]
            for method in methods
        ]
        chance = block.loc[block["mean"].notna(), "chance"].dropna()
        one_chance = len(chance) and chance.max() - chance.min() < 5e-4  # one line where the levels round alike
        title = f"{summary.task}: {summary.metric} (%) by language"
        groups = [(code + (" (src)" if code == source else ""), language_label(code)) for code in codes]
        levels = "" if one_chance or not len(chance) else f"; chance {_range(chance)} by language, no line drawn"
        figures.append(
            Figure(
                f"{title}, whiskers: {_whiskers(block)}{levels} — model {model}, source {language_label(source)}",
                bar_chart(
                    title,
                    groups,
                    methods,
                    values,
                    f"{summary.metric} (%)",
                    _value(chance.iloc[0]) if one_chance else None,
                ),
            )
        )
    return figures


def delta_heatmaps(summary: TaskSummary) -> list[Figure]:
    """Per (model, source) and comparability group (`references`) with a reference and another method: Δ against
    that reference, methods × languages."""
    figures = []
    for model, source in blocks(summary):
        block = summary.scores[(summary.scores["model"] == model) & (summary.scores["source"] == source)]
        shown = [m for m in summary.values("method") if m in set(block["method"])]
        for reference in [m for m in shown if summary.references.is_reference(m)]:
            methods = [m for m in shown if summary.references.of(m) == reference]
            if methods:
                figures.append(_delta_heatmap(summary, block, model, source, reference, methods))
    return figures


def _delta_heatmap(
    summary: TaskSummary, block: pd.DataFrame, model: str, source: str, reference: str, methods: list[str]
) -> Figure:
    """One (model, source)'s heatmap of `methods`' Δ against `reference`, with their significance marks."""
    codes = _codes(summary, source)
    indexed = block.set_index(["method", "target"])
    values = [[_value(indexed.loc[(m, c), "delta"]) for c in codes] for m in methods]
    marks = [
        [
            ""
            if pd.isna(indexed.loc[(m, c), "p_adjusted"])
            else (NOT_SIGNIFICANT if indexed.loc[(m, c), "verdict"] == "same" else SIGNIFICANT)
            for c in codes
        ]
        for m in methods
    ]
    title = f"{summary.task}: Δ {summary.metric} (points) against {reference}"
    columns = [(code + (" (src)" if code == source else ""), language_label(code)) for code in codes]
    return Figure(
        f"{title} — model {model}, source {language_label(source)}",
        delta_heatmap(title, methods, columns, values, marks, summary.higher_is_better),
    )


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
    """The learned layer-mixing weights (mean over cells), one line per (model, method, source), on a zero-based
    axis with the uniform weight 1/L dashed (so that near-uniform weights do not look like a pattern): one chart
    per number of weights L, so that each line's uniform weight is its own chart's (a 4-layer model's uniform
    weights drawn against a 13-layer model's 1/13 looked far from uniform)."""
    if summary.layer_weights.empty:
        return []
    many_models = len(summary.values("model")) > 1
    by_depth: dict[int, list[Series]] = {}
    for (model, method, source), frame in summary.layer_weights.groupby(["model", "method", "source"], sort=True):
        weights = frame.set_index("layer")["weight"].reindex(range(int(frame["layer"].max()) + 1))
        label = f"{method}, {source}" + (f", {model}" if many_models else "")
        by_depth.setdefault(len(weights), []).append(Series(label, [_value(w) for w in weights]))
    title = f"{summary.task}: learned layer-mixing weights"
    return [
        Figure(
            f"{title}{f' ({layers} weights)' if len(by_depth) > 1 else ''} (mean over each line's cells)",
            line_chart(
                title,
                series,
                "layer",
                "weight",
                percent=False,
                zero_based=True,
                guide=(1 / layers, f"uniform 1/{layers}"),
            ),
        )
        for layers, series in sorted(by_depth.items())
    ]


@dataclass(frozen=True)
class View:
    """A chart view of a task section: its place on the page (lower first) and the function drawing it."""

    order: int
    draw: Callable[[TaskSummary], list[Figure]]


VIEWS: Registry[View] = Registry("report view")
VIEWS.register("bars", View(10, language_bars), "per-language bars with 95% interval whiskers and the chance line")
VIEWS.register("delta-heatmap", View(20, delta_heatmaps), "method × language Δ against the reference, significance")
VIEWS.register("source-heatmaps", View(30, source_heatmaps), "source × target scores, with several sources")
VIEWS.register("layer-curves", View(40, layer_curves), "per-layer scores (retrieval)")
VIEWS.register("layer-weights", View(50, layer_weights), "learned layer-mixing weights, zero-based, uniform line")


def task_figures(summary: TaskSummary) -> list[Figure]:
    """Every chart of a task section: each registered view's, in page order."""
    views = sorted((VIEWS.get(name) for name in VIEWS), key=lambda view: view.order)
    return [figure for view in views for figure in view.draw(summary)]
