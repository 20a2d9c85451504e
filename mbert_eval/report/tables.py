"""Display tables built from task summaries: the same cells feed HTML, Markdown and LaTeX.

Scores are shown as percentages with one decimal; each cell keeps the exact number (`value`) so
that HTML can sort by it and tests can compare it with the store. A cell's `kind` says what it is
(better / worse / same / unknown for Δ, missing, partial) and becomes a CSS class in HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from mbert_eval.report.summary import KEYS, TaskSummary, language_frame

VERDICT_TITLES = {
    "better": "better than the reference method by more than one standard deviation",
    "worse": "worse than the reference method by more than one standard deviation",
    "same": "not distinguishable from the reference method: within one standard deviation",
    "unknown": "a single seed on at least one side: no spread to judge the difference by",
}


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, its exact value (for sorting and checks), its kind and a tooltip."""

    text: str
    value: float | str | None = None
    kind: str = ""
    title: str = ""
    note: str = ""  # a short flag such as "partial 3/4": its own line in HTML, in parentheses elsewhere

    @property
    def full_text(self) -> str:
        """The text with its note, for formats without styling."""
        return f"{self.text} ({self.note})" if self.note else self.text


@dataclass(frozen=True)
class Column:
    """A column label, under an optional group label spanning neighbouring columns (a method)."""

    label: str
    group: str = ""
    numeric: bool = True


@dataclass(frozen=True)
class Table:
    """A titled table: body rows (sortable in HTML) and footer rows (averages, never sorted).

    `context` (model, source) is shown once above a block of tables in HTML, in each title elsewhere.
    """

    key: str
    caption: str
    columns: list[Column]
    rows: list[list[Cell]]
    foot: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context: str = ""

    @property
    def title(self) -> str:
        """The caption with its context."""
        return f"{self.caption} ({self.context})" if self.context else self.caption


def percent(value: float) -> str:
    """A fraction as a percentage with one decimal."""
    return f"{100 * value:.1f}"


def language_label(code: str) -> str:
    """`Name (code)` from the language table, or the code itself when the table does not know it."""
    name = language_frame([code]).loc[code, "name"]
    return code if name == code else f"{name} ({code})"


def _missing(title: str = "not evaluated") -> Cell:
    return Cell("missing", None, "missing", title)


def _partial_note(n_present: int, n_total: int, missing: list[str] | None = None) -> tuple[str, str]:
    title = f"partial: {n_present} of {n_total} languages"
    return f"partial {n_present}/{n_total}", title + (f"; missing: {', '.join(missing)}" if missing else "")


def score_cell(mean: float, std: float, n: int, partial: tuple[str, str] | None = None, title: str = "") -> Cell:
    """mean ± std (± left out with one seed), marked partial when some languages are missing."""
    if math.isnan(mean):
        return _missing()
    text = percent(mean) + (f" ± {percent(std)}" if n > 1 and not math.isnan(std) else "")
    if partial:
        return Cell(text, float(mean), "partial", partial[1], partial[0])
    return Cell(text, float(mean), "num", title or (f"{n} seed{'s' if n != 1 else ''}" if n else ""))


def delta_cell(delta: float, verdict: str, partial: bool = False) -> Cell:
    """Δ against the reference method: coloured by verdict in HTML, `≈` marks 'not distinguishable'."""
    if math.isnan(delta):
        return _missing("no score to compare with the reference method")
    text = ("≈" if verdict == "same" else "") + f"{100 * delta:+.1f}"
    if partial:  # averages over different languages: no verdict
        return Cell(
            text, float(delta), "unknown", "the averages are over different languages: not comparable", "partial"
        )
    return Cell(text, float(delta), verdict, VERDICT_TITLES[verdict])


def gap_cell(gap: float, is_source: bool, source_known: bool) -> Cell:
    """The transfer gap (source − target); empty on the source row, missing without a source score."""
    if is_source:
        return Cell("", None, "", "the source language itself")
    if not source_known:
        return _missing("the source language was not evaluated for this method")
    if math.isnan(gap):
        return _missing()
    return Cell(percent(gap), float(gap), "num")


def _method_columns(methods: list[str], reference: str | None, with_gap: bool) -> list[Column]:
    columns = []
    for method in methods:
        columns += [Column("mean ± sd", method), Column("n", method)]
        if reference and method != reference:
            columns.append(Column("Δ", method))
        if with_gap:
            columns.append(Column("gap", method))
    return columns


def _context(model: str, source: str) -> str:
    return f"model {model}, source {language_label(source)}"


def average_cell(average: pd.Series) -> Cell:
    """An XTREME average: mean ± sd over seeds, flagged partial (with the missing codes) when incomplete."""
    partial = None
    if average["partial"]:
        partial = _partial_note(int(average["n_present"]), int(average["n_total"]), list(average["missing"]))
    return score_cell(average["mean"], average["std"], int(average["n"]), partial)


def target_table(summary: TaskSummary, model: str, source: str) -> Table:
    """One row per language, per method: mean ± sd, seeds, Δ, transfer gap; the XTREME average below."""
    block = summary.scores[(summary.scores["model"] == model) & (summary.scores["source"] == source)]
    methods = [m for m in summary.values("method") if m in set(block["method"])]
    reference = summary.reference if summary.reference in methods and len(methods) > 1 else None
    with_gap = bool(block["source_mean"].notna().any())
    columns = [
        Column("Language", numeric=False),
        Column("Code", numeric=False),
        Column("Script", numeric=False),
        Column("Family", numeric=False),
    ] + _method_columns(methods, reference, with_gap)
    by_method = {m: block[block["method"] == m].set_index("target") for m in methods}
    rows = []
    for code, language in summary.languages.iterrows():
        row = [
            Cell(language["name"], language["name"], "is-source" if code == source else ""),
            Cell(code, code),
            Cell(language["script"], language["script"]),
            Cell(language["family"], language["family"]),
        ]
        for method in methods:
            score = by_method[method].loc[code]
            row += [score_cell(score["mean"], score["std"], int(score["n"])), Cell(str(score["n"]), int(score["n"]))]
            if reference and method != reference:
                row.append(delta_cell(score["delta"], score["verdict"]))
            if with_gap:
                row.append(gap_cell(score["gap"], code == source, not math.isnan(score["source_mean"])))
        rows.append(row)
    averages = summary.averages[(summary.averages["model"] == model) & (summary.averages["source"] == source)]
    notes = (
        []
        if with_gap
        else [
            (
                f"Transfer gap not shown: the grid did not evaluate the source language "
                f"{language_label(source)} itself (add it to the targets)."
            )
        ]
    )
    if not reference and len(methods) > 1 and summary.reference_note:
        notes.append(summary.reference_note)
    direction = "" if summary.higher_is_better else " (lower is better)"
    return Table(
        f"{summary.task}-{model}-{source}",
        f"{summary.task}: {summary.metric}{direction} by target language",
        columns,
        rows,
        [_average_row(summary, averages.set_index("method"), methods, reference, with_gap)],
        notes,
        _context(model, source),
    )


def _average_row(
    summary: TaskSummary, averages: pd.DataFrame, methods: list[str], reference: str | None, with_gap: bool
) -> list[Cell]:
    n_languages = len(summary.languages)
    plural = "language" if n_languages == 1 else "languages"
    row = [
        Cell(f"Average ({n_languages} {plural})", None, "label", "XTREME: plain mean over the task's languages"),
        Cell(""),
        Cell(""),
        Cell(""),
    ]
    base_partial = bool(reference) and bool(averages.loc[reference, "partial"])
    for method in methods:
        average = averages.loc[method]
        seeds = int(average["n"])
        row += [
            average_cell(average),
            Cell(str(seeds) if seeds else "", seeds or None, title="" if seeds else "seeds cover different languages"),
        ]
        if reference and method != reference:
            row.append(delta_cell(average["delta"], average["verdict"], bool(average["partial"]) or base_partial))
        if with_gap:
            gap, partial = average["gap"], bool(average["partial"])
            row.append(
                _missing("the source language was not evaluated")
                if math.isnan(gap)
                else Cell(
                    percent(gap),
                    float(gap),
                    "partial" if partial else "num",
                    "XTREME: source score − mean over the other languages",
                    "partial" if partial else "",
                )
            )
    return row


def group_table(summary: TaskSummary, kind: str, model: str, source: str) -> Table:
    """Plain means over the languages of each family (or script), one column per method."""
    frame = summary.groups[kind]
    frame = frame[(frame["model"] == model) & (frame["source"] == source)]
    methods = [m for m in summary.values("method") if m in set(frame["method"])]
    columns = [Column(kind.capitalize(), numeric=False), Column("Languages")] + [Column(m) for m in methods]
    rows = []
    for group, entries in frame.groupby("group", sort=True):
        by_method = entries.set_index("method")
        total = int(entries["n_total"].max())
        row = [Cell(str(group), str(group)), Cell(str(total), total)]
        for method in methods:
            g = by_method.loc[method]
            partial = _partial_note(int(g["n_present"]), int(g["n_total"])) if g["partial"] else None
            row.append(score_cell(g["mean"], math.nan, 0, partial, f"mean over {int(g['n_present'])} languages"))
        rows.append(row)
    return Table(
        f"{summary.task}-{model}-{source}-{kind}",
        f"{summary.task}: mean by {kind}",
        columns,
        rows,
        context=_context(model, source),
    )


def model_table(summary: TaskSummary) -> Table:
    """The XTREME average of each model (rows) for each source and method (columns)."""
    sources, methods = summary.values("source"), summary.values("method")
    columns = [Column("Model", numeric=False)] + [
        Column(method, language_label(source) if len(sources) > 1 else "") for source in sources for method in methods
    ]
    averages = summary.averages.set_index(["model", "source", "method"])
    rows = []
    for model in summary.values("model"):
        row = [Cell(model, model)]
        for source in sources:
            row += [
                average_cell(averages.loc[(model, source, method)])
                if (model, source, method) in averages.index
                else _missing()
                for method in methods
            ]
        rows.append(row)
    return Table(f"{summary.task}-models", f"{summary.task}: models compared (average over languages)", columns, rows)


def overview_table(summaries: list[TaskSummary]) -> Table:
    """The XTREME average of every (model, source, method) on every task, one task per column."""
    averages = {s.task: s.averages.set_index(KEYS) for s in summaries}
    references = {s.reference for s in summaries}
    keys = sorted(
        {key for frame in averages.values() for key in frame.index},
        key=lambda k: (k[0], k[2], k[1] not in references, k[1]),
    )
    columns = [Column("Model", numeric=False), Column("Method", numeric=False), Column("Source", numeric=False)]
    columns += [Column(f"{s.task} ({s.metric}{'' if s.higher_is_better else ', lower is better'})") for s in summaries]
    rows = [
        [Cell(model, model), Cell(method, method), Cell(source, source)]
        + [
            average_cell(averages[s.task].loc[(model, method, source)])
            if (model, method, source) in averages[s.task].index
            else _missing()
            for s in summaries
        ]
        for model, method, source in keys
    ]
    return Table("overview", "Average over each task's languages (XTREME: plain mean)", columns, rows)


def blocks(summary: TaskSummary) -> list[tuple[str, str]]:
    """The (model, source) pairs the task has scores for: one target table (and group tables) each."""
    return list(
        summary.scores[["model", "source"]]
        .drop_duplicates()
        .sort_values(["model", "source"])
        .itertuples(index=False, name=None)
    )


def secondary_table(summary: TaskSummary, model: str, source: str) -> Table | None:
    """The task's other declared metrics by target language (e.g. XTREME's seqeval F1 beside POS accuracy),
    one column per method and metric, each metric explained in the notes; None when there are none."""
    frame = summary.secondary
    frame = frame[(frame["model"] == model) & (frame["source"] == source)] if not frame.empty else frame
    if frame.empty:
        return None
    metrics = sorted(set(frame["metric"]))
    methods = [m for m in summary.values("method") if m in set(frame["method"])]
    columns = [Column("Language", numeric=False), Column("Code", numeric=False)]
    columns += [Column(metric, method) for method in methods for metric in metrics]
    indexed = frame.set_index(["method", "target", "metric"])
    rows = []
    for code, language in summary.languages.iterrows():
        row = [Cell(language["name"], language["name"], "is-source" if code == source else ""), Cell(code, code)]
        for method in methods:
            for metric in metrics:
                key = (method, code, metric)
                row.append(
                    score_cell(indexed.loc[key, "mean"], indexed.loc[key, "std"], int(indexed.loc[key, "n"]))
                    if key in indexed.index
                    else _missing()
                )
        rows.append(row)
    described = [summary.metric] + metrics
    notes = [f"{metric}: {summary.descriptions[metric]}" for metric in described if metric in summary.descriptions]
    return Table(
        f"{summary.task}-{model}-{source}-metrics",
        f"{summary.task}: other metrics by target language",
        columns,
        rows,
        [],
        notes,
        _context(model, source),
    )


def block_tables(summary: TaskSummary, model: str, source: str) -> tuple[Table, Table, Table, Table | None]:
    """The target, family, script and other-metrics tables of one (model, source) pair."""
    return (
        target_table(summary, model, source),
        group_table(summary, "family", model, source),
        group_table(summary, "script", model, source),
        secondary_table(summary, model, source),
    )


def task_tables(summary: TaskSummary) -> list[Table]:
    """Every table of a task, in page order: per (model, source) targets, family, script, other metrics; then
    models."""
    tables = [
        table
        for model, source in blocks(summary)
        for table in block_tables(summary, model, source)
        if table is not None
    ]
    if len(summary.values("model")) > 1:
        tables.append(model_table(summary))
    return tables
