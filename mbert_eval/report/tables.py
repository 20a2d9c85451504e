"""Display tables built from task summaries: the same cells feed HTML, Markdown and LaTeX.

Scores are shown as percentages with one decimal; each cell keeps the exact number (`value`) so
that HTML can sort by it and tests can compare it with the store. A cell's `kind` says what it is
(better / worse / same / unknown for Δ, missing, partial) and becomes a CSS class in HTML.

A task's main table has the methods as rows and the languages as columns (the zero-shot targets first, the
source language apart, labelled in-language, then the targets-only and all-languages means); a cell is the mean
over seeds ± the half-width of its 95% interval, with Δ against the reference method and its significance
below it; each language's header gives its test-set size n (examples, not seeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from mbert_eval.report.summary import KEYS, TaskSummary, language_frame

SIGNIFICANT = "*"
NOT_SIGNIFICANT = "n.s."
TEST_NOTE = (  # what a Δ's mark means, in the tables' notes
    "* significant, n.s. not: the larger p of the paired bootstrap over the test examples (Koehn 2004) and, with 2 "
    "seeds or more a side, Welch's t-test over the seeds, below 0.05 after Benjamini-Hochberg over the languages"
)


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, its exact value (for sorting and checks), its kind and a tooltip."""

    text: str
    value: float | str | None = None
    kind: str = ""
    title: str = ""
    note: str = ""  # a short flag such as "partial 3/4": its own line in HTML, in parentheses elsewhere
    detail: str = ""  # a second line such as "Δ +1.2 n.s.": below the text in HTML, in brackets elsewhere

    @property
    def full_text(self) -> str:
        """The text with its detail and note, for formats without styling."""
        text = f"{self.text} [{self.detail}]" if self.detail else self.text
        return f"{text} ({self.note})" if self.note else text


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


def _partial_note(
    n_present: int, n_total: int, missing: list[str] | None = None, what: str = "languages"
) -> tuple[str, str]:
    """A partial mean's flag and tooltip: how many of `what` it covers, and which are missing."""
    title = f"partial: {n_present} of {n_total} {what}"
    return f"partial {n_present}/{n_total}", title + (f"; missing: {', '.join(missing)}" if missing else "")


def as_is(value: float) -> str:
    """A value that is no fraction (`roles.TaskRoles.unscaled`), to four significant digits."""
    return f"{value:.4g}"


def score_cell(
    mean: float,
    std: float,
    n: int,
    partial: tuple[str, str] | None = None,
    title: str = "",
    shown: Callable[[float], str] = percent,
) -> Cell:
    """mean ± std (± left out with one seed), marked partial when some languages are missing; `shown` writes a
    number (in %, or `as_is`)."""
    if math.isnan(mean):
        return _missing()
    text = shown(mean) + (f" ± {shown(std)}" if n > 1 and not math.isnan(std) else "")
    if partial:
        return Cell(text, float(mean), "partial", partial[1], partial[0])
    return Cell(text, float(mean), "num", title or (f"{n} seed{'s' if n != 1 else ''}" if n else ""))


def _context(model: str, source: str) -> str:
    return f"model {model}, source {language_label(source)}"


def average_cell(average: pd.Series) -> Cell:
    """An XTREME average: mean ± sd over seeds, flagged partial (with the missing codes) when incomplete."""
    partial = None
    if average["partial"]:
        partial = _partial_note(int(average["n_present"]), int(average["n_total"]), list(average["missing"]))
    return score_cell(average["mean"], average["std"], int(average["n"]), partial)


def _half_width(score: pd.Series) -> str:
    """ " ± h" from the score's interval (percent points), "" when it has none."""
    if pd.isna(score["ci_low"]) or pd.isna(score["ci_high"]):
        return ""
    return f" ± {100 * (score['ci_high'] - score['ci_low']) / 2:.1f}"


def _sureness(score: pd.Series) -> str:
    """The tooltip line saying what the ± of a score is."""
    seeds = f"mean over {int(score['n'])} seed{'s' if score['n'] != 1 else ''}"
    if score["ci_kind"] == "bootstrap":
        return (
            f"{seeds}; 95% bootstrap interval [{percent(score['ci_low'])}, {percent(score['ci_high'])}] over "
            f"{int(score['n_examples'])} test examples"
        )
    if score["ci_kind"] == "std":
        return f"{seeds}; ± one standard deviation over seeds, no bootstrap interval: {score['ci_why']}"
    return f"{seeds}; no interval: {score['ci_why']}"


def _delta_detail(score: pd.Series, reference: str) -> tuple[str, str]:
    """The Δ line under a score and its tooltip: `*` significant, `n.s.` not (`summary._with_delta`: the paired
    bootstrap over the examples, Welch's t-test over the seeds, Benjamini-Hochberg over the languages), unmarked
    where neither test could be made."""
    delta = f"Δ {100 * score['delta']:+.1f}"
    shared = score.get("delta_seeds")
    over = f" over seeds {', '.join(map(str, shared))}, the seeds both ran" if shared else ""
    if pd.isna(score.get("p_adjusted")):
        return delta, (
            f"Δ against {reference}{over}: significance not tested (a single seed on a side, and no per-example "
            "outputs to resample)"
        )
    tests = []
    if not pd.isna(score["p_value"]):
        tests.append(f"paired bootstrap over the same examples, p = {score['p_value']:.3f}")
    else:
        tests.append("no per-example outputs to resample")
    if not pd.isna(score.get("p_seeds")):
        tests.append(f"Welch's t-test over the seeds, p = {score['p_seeds']:.3f}")
    else:
        tests.append("one seed on a side: the seeds' spread not tested")
    if score.get("p_family", 1) > 1:
        tests.append(f"Benjamini-Hochberg over {int(score['p_family'])} languages: {score['p_adjusted']:.3f}")
    mark = SIGNIFICANT if score["verdict"] != "same" else f" {NOT_SIGNIFICANT}"
    return delta + mark, f"Δ against {reference}{over}: " + "; ".join(tests)


def method_cell(score: pd.Series) -> Cell:
    """A method's score on one language: mean ± CI half-width, and Δ against its reference (`reference`, of its
    comparability group) below it."""
    if pd.isna(score["mean"]):
        return _missing()
    title = _sureness(score)
    if pd.isna(score["delta"]):
        return Cell(percent(score["mean"]) + _half_width(score), float(score["mean"]), "num", title)
    detail, why = _delta_detail(score, str(score["reference"]))
    kind = score["verdict"] if score["verdict"] in ("better", "worse", "same") else "num"
    return Cell(percent(score["mean"]) + _half_width(score), float(score["mean"]), kind, f"{title}; {why}", "", detail)


def _test_size(frame: pd.DataFrame) -> str:
    """The n of a language's header: its test-set size (examples), or the sizes when methods differ."""
    sizes = sorted({int(n) for n in frame["n_examples"].dropna()})
    return "n=" + "/".join(str(n) for n in sizes) if sizes else "n=?"


def limits_of(frame: pd.DataFrame) -> list[int]:
    """The example limits of the limited runs among the scores, smallest first (empty: all full runs)."""
    return sorted({int(limit) for limit in frame["limit"].dropna()}) if "limit" in frame else []


def limited_note(limits: list[int]) -> str:
    """What a limited run's mark says, naming every limit among the scores."""
    if len(limits) == 1:
        return f"limited run: {limits[0]} examples per split — not comparable to full runs"
    return f"limited runs: {', '.join(map(str, limits))} examples per split — not comparable to full runs"


def target_table(summary: TaskSummary, model: str, source: str) -> Table:
    """Methods as rows, languages as columns (targets, then the source in-language, then the targets-only and
    all-languages means): mean ± CI half-width per cell, Δ with its significance mark, n per language."""
    block = summary.scores[(summary.scores["model"] == model) & (summary.scores["source"] == source)]
    methods = [m for m in summary.values("method") if m in set(block["method"])]
    references = {m for m in methods if summary.references.is_reference(m)} if len(methods) > 1 else set()
    codes = [c for c in summary.languages.index if c != source] + [c for c in summary.languages.index if c == source]
    by_target = {code: block[block["target"] == code] for code in codes}
    columns = [Column("Method", numeric=False)] + [
        Column(
            f"{code} {_test_size(by_target[code])}", "in-language (source)" if code == source else "zero-shot targets"
        )
        for code in codes
    ]
    columns += [Column("targets", "mean over languages"), Column("all", "mean over languages")]
    averages = summary.averages[(summary.averages["model"] == model) & (summary.averages["source"] == source)]
    averages = averages.set_index("method")
    rows = []
    for method in methods:
        scores = block[block["method"] == method].set_index("target")
        row = [
            Cell(
                method,
                method,
                "label" if method in references else "",
                "reference method" if method in references else "",
            )
        ]
        row += [method_cell(scores.loc[code]) for code in codes]
        average = averages.loc[method]
        row += [_targets_cell(average), _all_languages_cell(average)]
        rows.append(row)
    notes = _table_notes(summary, block, source, methods)
    direction = "" if summary.higher_is_better else " (lower is better)"
    limits = limits_of(block)
    return Table(
        f"{summary.task}-{model}-{source}",
        f"{summary.task}: {summary.metric} (%){direction} by language"
        + (f" — {limited_note(limits)}" if limits else ""),
        columns,
        rows,
        [],
        notes,
        _context(model, source),
    )


def _all_languages_cell(average: pd.Series) -> Cell:
    """The all-languages mean of one method (no ±: the table's ± are intervals, this spread would be over seeds),
    flagged partial when languages are missing."""
    if pd.isna(average["mean"]):
        return _missing()
    title = f"plain mean over {int(average['n_present'])} languages, the source included"
    if not pd.isna(average["std"]):
        title += f"; standard deviation over seeds {percent(average['std'])}"
    if average["partial"]:
        flag, why = _partial_note(int(average["n_present"]), int(average["n_total"]), list(average["missing"]))
        return Cell(percent(average["mean"]), float(average["mean"]), "partial", why, flag)
    return Cell(percent(average["mean"]), float(average["mean"]), "num", title)


def _delta_notes(block: pd.DataFrame, methods: list[str]) -> list[str]:
    """What Δ is against and whether it was tested, once per reference method the table's Δs are against (one per
    comparability group: `references`); each note names its methods when the table has several groups."""
    compared = block[block["delta"].notna()]
    references = [m for m in methods if m in set(compared["reference"])]
    notes = []
    for reference in references:
        rows = compared[compared["reference"] == reference]
        tested = rows["p_adjusted"].notna()
        which = f"Δ of {', '.join(m for m in methods if m in set(rows['method']))}" if len(references) > 1 else "Δ"
        notes.append(
            f"{which} = method − {reference}; {TEST_NOTE}"
            + (
                "; unmarked Δ: one seed and no per-example outputs, significance not tested."
                if not tested.all()
                else "."
            )
            if tested.any()
            else f"{which} = method − {reference}; one seed and no per-example outputs: significance not tested."
        )
    return notes


def _table_notes(summary: TaskSummary, block: pd.DataFrame, source: str, methods: list[str]) -> list[str]:
    """What the main table's ± and marks mean here, and why a number is absent."""
    shown = block[block["mean"].notna()]  # the scores shown (a missing one has none)
    notes = []
    if "bootstrap" in set(shown["ci_kind"]):
        notes.append("± = half-width of the 95% bootstrap interval over test examples (Efron & Tibshirani 1993).")
    for why, cells in shown[shown["ci_kind"] != "bootstrap"].groupby("ci_why", sort=False):
        some = "every cell" if len(cells) == len(shown) else f"{len(cells)} cell{'s' if len(cells) > 1 else ''}"
        if set(cells["ci_kind"]) == {"std"}:
            notes.append(f"± on {some} = one standard deviation over seeds, no bootstrap interval: {why}.")
        elif "std" in set(cells["ci_kind"]):
            notes.append(f"No bootstrap interval on {some} (± over seeds where there are several): {why}.")
        else:
            notes.append(f"No ± on {some}: {why}.")
    notes += _delta_notes(block, methods)
    paired = int(block["delta_seeds"].notna().sum()) if "delta_seeds" in block else 0
    if paired:
        notes.append(
            f"Δ on {paired} cell{'s' if paired > 1 else ''} is over the seeds both methods ran, where they ran "
            "different seeds (hover a cell for which); the scores shown are over every seed each ran."
        )
    chance = shown.dropna(subset=["chance"])
    for rule, levels in chance.groupby("chance_rule", sort=False)["chance"]:
        low, high = percent(float(levels.min())), percent(float(levels.max()))
        notes.append(
            f"Chance level ({rule}): {low}." if low == high else f"Chance level ({rule}): {low}–{high} by language."
        )
    notes.append(
        "targets = mean over the zero-shot target languages only; all = mean over every language scored, the "
        "source included (XTREME's plain mean)."
    )
    if source not in summary.languages.index and summary.fine_tunes:
        notes.append(
            f"Transfer gap not shown: the grid did not evaluate the source language {language_label(source)} "
            "itself (add it to the targets)."
        )
    if len(methods) > 1:
        notes += summary.references.no_delta_notes(methods)
        notes += [summary.reference_note] if summary.reference_note else []
    return notes + _config_note(summary, block, methods)


def _config_note(summary: TaskSummary, block: pd.DataFrame, methods: list[str]) -> list[str]:
    """Which methods' cells come from which config, when a table mixes configs (empty when it does not)."""
    model, source = block["model"].iloc[0], block["source"].iloc[0]
    by_configs: dict[tuple[str, ...], list[str]] = {}
    for method in methods:
        by_configs.setdefault(summary.config_hashes.get((model, method, source), ()), []).append(method)
    if len({h for hashes in by_configs for h in hashes}) < 2:
        return []
    parts = [f"{', '.join(found)} from config {' + '.join(hashes)}" for hashes, found in by_configs.items()]
    return [f"Cells from more than one config (see Run metadata): {'; '.join(parts)}."]


def group_table(summary: TaskSummary, kind: str, model: str, source: str) -> Table:
    """Plain means over the target languages of each family (or script), one column per method."""
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
        f"{summary.task}: mean over target languages by {kind} (source left out)",
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


def _targets_cell(average: pd.Series) -> Cell:
    """The targets-only mean of one (model, method, source): the zero-shot languages, the source left out;
    flagged partial (with the missing codes) when some target the task's other rows have is missing."""
    if pd.isna(average["targets_mean"]):
        return _missing("no target language other than the source scored")
    mean, n = average["targets_mean"], int(average["n_targets"])
    if average["targets_partial"]:
        flag, why = _partial_note(
            n, int(average["n_targets_total"]), list(average["targets_missing"]), "target languages"
        )
        return Cell(percent(mean), float(mean), "partial", why, flag)
    return Cell(percent(mean), float(mean), "num", f"plain mean over {n} target languages")


def overview_table(summaries: list[TaskSummary]) -> Table:
    """Per task two columns for every (model, source, method): the targets-only mean (zero-shot transfer) and the
    all-languages mean (XTREME's plain mean, the source included), each labelled."""
    averages = {s.task: s.averages.set_index(KEYS) for s in summaries}
    references = {r for s in summaries for r in s.references.by_group.values()}
    keys = sorted(
        {key for frame in averages.values() for key in frame.index},
        key=lambda k: (k[0], k[2], k[1] not in references, k[1]),
    )
    columns = [Column("Model", numeric=False), Column("Method", numeric=False), Column("Source", numeric=False)]
    for s in summaries:
        group = f"{s.task} ({s.metric}{'' if s.higher_is_better else ', lower is better'})"
        columns += [Column("targets", group), Column("all", group)]
    rows = []
    for model, method, source in keys:
        row = [Cell(model, model), Cell(method, method), Cell(source, source)]
        for s in summaries:
            if (model, method, source) in averages[s.task].index:
                average = averages[s.task].loc[(model, method, source)]
                row += [_targets_cell(average), average_cell(average)]
            else:
                row += [_missing(), _missing()]
        rows.append(row)
    notes = [
        "targets = mean over the zero-shot target languages (the source left out); all = plain mean over every "
        "language scored, the source included (XTREME's average), ± one standard deviation over seeds."
    ]
    return Table("overview", "Average over each task's languages (%)", columns, rows, notes=notes)


def blocks(summary: TaskSummary) -> list[tuple[str, str]]:
    """The (model, source) pairs the task has scores for: one target table (and group tables) each."""
    return list(
        summary.scores[["model", "source"]]
        .drop_duplicates()
        .sort_values(["model", "source"])
        .itertuples(index=False, name=None)
    )


def secondary_table(summary: TaskSummary, model: str, source: str) -> Table | None:
    """The task's other declared metrics (e.g. XTREME's seqeval F1 beside POS accuracy) in the main table's layout:
    one row per method and metric, the languages as columns, each metric explained in the notes; None when there
    are none."""
    frame = summary.secondary
    frame = frame[(frame["model"] == model) & (frame["source"] == source)] if not frame.empty else frame
    if frame.empty:
        return None
    metrics = sorted(set(frame["metric"]))
    methods = [m for m in summary.values("method") if m in set(frame["method"])]
    codes = [c for c in summary.languages.index if c != source] + [c for c in summary.languages.index if c == source]
    columns = [Column("Method", numeric=False), Column("Metric", numeric=False)] + [
        Column(code, "in-language (source)" if code == source else "zero-shot targets") for code in codes
    ]
    indexed = frame.set_index(["method", "target", "metric"])
    rows = []
    for method in methods:
        for metric in metrics:
            row = [Cell(method, method), Cell(metric, metric)]
            for code in codes:
                key = (method, code, metric)
                shown = as_is if metric in summary.unscaled else percent
                row.append(
                    score_cell(
                        indexed.loc[key, "mean"], indexed.loc[key, "std"], int(indexed.loc[key, "n"]), shown=shown
                    )
                    if key in indexed.index
                    else _missing()
                )
            rows.append(row)
    described = [summary.metric] + metrics
    notes = [f"{metric}: {summary.descriptions[metric]}" for metric in described if metric in summary.descriptions]
    notes += [f"{metric} is shown as it is, not in %." for metric in metrics if metric in summary.unscaled]
    notes.append("± = one standard deviation over seeds (intervals are computed for the main metric only).")
    return Table(
        f"{summary.task}-{model}-{source}-metrics",
        f"{summary.task}: other metrics (%) by language",
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
