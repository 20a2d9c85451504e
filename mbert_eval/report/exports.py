"""The report's tables for papers and spreadsheets: CSV and JSON (tidy, exact numbers), Markdown and
LaTeX (the display tables of the HTML page, booktabs rules; Markdown adds the findings of report/why.py).

CSV and JSON hold one record per number, with scores as stored (fractions, full precision) so that
they read back to exactly the store's values; `kind` says what a record is: target, average, family,
script, layer (per-layer score), layer_weight or other_metric (a task's further declared metric, named in
`metric`). A score's interval is `ci_low`-`ci_high` of kind `ci_kind` (bootstrap: 95% over test examples;
std: ± one standard deviation over seeds), `ci_why` saying why it has no bootstrap interval; `chance_rule` says
how its `chance` level guesses. JSON adds the run metadata.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pandas as pd

from mbert_eval.report.context import ReportData
from mbert_eval.report.metadata import collect
from mbert_eval.report.summary import KEYS, TaskSummary
from mbert_eval.report.tables import Table, overview_table, task_tables
from mbert_eval.report.why import WhySection
from mbert_eval.report.xtreme import XtremeScores, xtreme_table

TIDY_COLUMNS = [
    "kind",
    "task",
    "metric",
    "model",
    "method",
    "source",
    "target",
    "language",
    "script",
    "family",
    "layer",
    "mean",
    "std",
    "n_seeds",
    "delta",
    "reference",  # the method Δ is against: the reference method of the row's comparability group
    "delta_seeds",  # the seeds Δ is over where the method and its reference ran different seeds (empty: all)
    "verdict",
    "gap",
    "n_present",
    "n_total",
    "missing",
    "ci_low",
    "ci_high",
    "ci_kind",
    "ci_why",  # why a score has no bootstrap interval (report/uncertainty.py)
    "n_examples",
    "chance",
    "chance_rule",  # how chance guesses: uniformly, or always the training data's most frequent label
    "p_value",
    "p_seeds",  # Welch's t-test over the seeds (report/summary.py)
    "p_adjusted",  # the larger p, Benjamini-Hochberg over the languages: what decides the mark
    "limit",
    "targets_mean",
    "n_targets",  # the targets-only mean's coverage: targets scored, of the targets the task's rows have
    "n_targets_total",
    "as_is",  # true where mean and std are the metric's own values, no fraction (`roles.TaskRoles.unscaled`)
]
FRACTIONS = ("mean", "std", "delta", "gap", "ci_low", "ci_high", "chance", "targets_mean")  # the score's scale
DECIMALS = 4
UNITS = {
    **{column: f"fraction (0-1), rounded to {DECIMALS} decimals" for column in FRACTIONS},
    **{column: f"probability, rounded to {DECIMALS} decimals" for column in ("p_value", "p_seeds", "p_adjusted")},
    "n_examples": "test examples",
    "n_seeds": "seeds",
    "delta_seeds": "seeds, space-separated",
    "limit": "examples per split of a limited run (empty: a full run)",
    "as_is": "true: mean and std are the metric's own values, no fraction (BUCC's threshold); empty: fractions",
}
LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "≈": r"$\approx$",
    "–": "--",
    "—": "---",
    "−": "$-$",
    "·": r"\textperiodcentered{}",
    "→": r"$\to$",
    "…": r"\ldots{}",
    "[": "{[}",  # `\\`, \midrule and the other rules read a `[` after them as their optional argument
    "]": "{]}",
    "|": r"\textbar{}",  # OT1 prints `|` as a dash
    '"': r"\texttt{\char34}",  # OT1 prints `"` as a right quote; \textquotedbl needs T1
    "\r": " ",  # a line break inside a cell is a space (a blank line would end the paragraph)
    "\n": " ",
}
LATEX_LEADING_STAR = re.compile(r"^(\s*)\*")  # `\\` reads a `*` after it as its starred form
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>~&#$])")  # CommonMark escapes any ASCII punctuation ($: GitHub's math)
MARKDOWN_LINE_BREAK = re.compile(r"\s*[\r\n]\s*")  # CR, LF or CRLF, with the blanks around it


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP CSV injection)


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV for spreadsheets: every text cell a spreadsheet would read as a formula prefixed by a single
    quote, as OWASP advises (numbers, a negative score too, stay numbers); RFC 4180's CRLF line ends, so that a
    cell holding a CR or LF is quoted and stays one cell."""
    safe = frame.apply(
        lambda column: (
            column.map(lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v)
            if not pd.api.types.is_numeric_dtype(column)
            else column
        )
    )
    return safe.to_csv(index=False, lineterminator="\r\n")


def _clean(value: Any) -> Any:
    """Plain JSON-able values: NaN and "" → None, numpy scalars → Python numbers, lists → "a b c"."""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    if hasattr(value, "item"):
        value = value.item()
    return None if value == "" or (isinstance(value, float) and math.isnan(value)) else value


def _rounded(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its fractions and p-value rounded to DECIMALS places."""
    return {
        key: round(value, DECIMALS)
        if key in (*FRACTIONS, "p_value", "p_seeds", "p_adjusted") and isinstance(value, float)
        else value
        for key, value in record.items()
    }


def _record(kind: str, summary: TaskSummary, values: dict[str, Any]) -> dict[str, Any]:
    record = {column: None for column in TIDY_COLUMNS}
    record.update(kind=kind, task=summary.task, metric=summary.metric)
    record.update({key: _clean(value) for key, value in values.items() if key in record})
    return _rounded(record)


def tidy_records(summaries: list[TaskSummary]) -> list[dict[str, Any]]:
    """Every number of the report, one record each (columns `TIDY_COLUMNS`)."""
    records = []
    for s in summaries:
        names = s.languages
        for row in s.scores.to_dict("records"):
            language = names.loc[row["target"]]
            present = not math.isnan(row["mean"])
            records.append(
                _record(
                    "target",
                    s,
                    {
                        **row,
                        "language": language["name"],
                        "script": language["script"],
                        "family": language["family"],
                        "n_seeds": row["n"],
                        "n_present": int(present),
                        "n_total": 1,
                    },
                )
            )
        for row in s.averages.to_dict("records"):
            records.append(_record("average", s, {**row, "n_seeds": row["n"] or None}))  # 0: seeds differ by language
        for kind, frame in s.groups.items():
            for row in frame.to_dict("records"):
                records.append(_record(kind, s, {**row, kind: row["group"]}))
        for row in s.layers.to_dict("records"):
            records.append(_record("layer", s, {**row, "language": names.loc[row["target"], "name"]}))
        for row in s.layer_weights.to_dict("records"):
            records.append(_record("layer_weight", s, {**row, "mean": row["weight"]}))
        for row in s.secondary.to_dict("records"):  # the task's other declared metrics, e.g. XTREME's POS F1
            language, unscaled = names.loc[row["target"], "name"], row["metric"] in s.unscaled
            values = {**row, "language": language, "n_seeds": row["n"], "as_is": True if unscaled else None}
            records.append(_record("other_metric", s, values))
    return records


def xtreme_records(xtreme: XtremeScores | None) -> list[dict[str, Any]]:
    """The XTREME score as tidy records: `xtreme_task` (a task's average over its languages, `n_present` of
    `n_total` of the languages the table lists for it, the missing ones named) and `xtreme_average`."""
    if xtreme is None:
        return []
    records = []
    for row in xtreme.tasks.to_dict("records"):
        record = {column: None for column in TIDY_COLUMNS}
        record.update(
            kind="xtreme_task",
            task=row["task"],
            metric="xtreme",
            model=row["model"],
            method=row["method"],
            source=row["source"],
            mean=_clean(row["score"]),
            n_present=len(row["languages"]),
            n_total=len(row["languages"]) + len(row["missing"]),
            missing=_clean(row["missing"]),
        )
        records.append(_rounded(record))
    for row in xtreme.overall.to_dict("records"):
        record = {column: None for column in TIDY_COLUMNS}
        record.update(
            kind="xtreme_average",
            metric="xtreme",
            model=row["model"],
            method=row["method"],
            source=row["source"],
            mean=_clean(row["score"]),
            n_present=len(row["tasks"]),
            n_total=len(row["tasks"]) + len(row["missing_tasks"]),
            missing=_clean(row["missing_tasks"]),
        )
        records.append(_rounded(record))
    return records


def to_csv(summaries: list[TaskSummary], xtreme: XtremeScores | None = None) -> str:
    """The tidy records as CSV (`csv_text`; fractions rounded to DECIMALS places, `(fraction)` in their header;
    empty = missing)."""
    frame = pd.DataFrame(tidy_records(summaries) + xtreme_records(xtreme), columns=TIDY_COLUMNS)
    for column in ("layer", "n_seeds", "n_present", "n_total", "n_examples", "limit"):
        frame[column] = frame[column].astype("Int64")
    return csv_text(frame.rename(columns={column: f"{column} (fraction)" for column in FRACTIONS}))


def to_json(summaries: list[TaskSummary], frame: pd.DataFrame, title: str, xtreme: XtremeScores | None = None) -> str:
    """The tidy records plus the run metadata, as JSON (null = missing)."""
    devices = sorted({str(extra.get("device", "unknown")) for extra in frame["extra"]}) if not frame.empty else []
    metadata = {
        "config_hashes": sorted(set(frame["config_hash"])),
        "code_versions": sorted(set(frame["code_version"])),
        "library_versions": {k: sorted(set(v)) for k, v in collect(frame, "library_versions").items()},
        "data_checksums": {k: sorted(set(v)) for k, v in collect(frame, "data_checksums").items()},
        "devices": devices,
        "reference_methods": {s.task: s.reference for s in summaries},
    }
    document = {
        "title": title,
        "key_columns": KEYS + ["target"],
        "units": UNITS,
        "records": tidy_records(summaries) + xtreme_records(xtreme),
        "metadata": metadata,
    }
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"  # NaN is not JSON


def _markdown_text(text: str) -> str:
    """`text` as one line of Markdown inline text: its line breaks one space each, no blanks at either end, and
    Markdown's special characters backslash-escaped (raw HTML included), so that it cannot end a table row or a
    heading, nor become markup."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", MARKDOWN_LINE_BREAK.sub(" ", text.strip()))


def markdown_table(table: Table) -> str:
    """A GitHub-flavoured Markdown table; grouped columns read `group label`, the footer follows the body."""
    labels = [_markdown_text(f"{c.group} {c.label}".strip()) for c in table.columns]
    lines = [
        f"**{_markdown_text(table.title)}**",
        "",
        "| " + " | ".join(labels) + " |",
        "|" + "|".join("---:" if c.numeric else ":---" for c in table.columns) + "|",
    ]
    lines += [
        "| " + " | ".join(_markdown_text(cell.full_text) for cell in row) + " |" for row in table.rows + table.foot
    ]
    lines += [f"\n_{_markdown_text(note)}_" for note in table.notes]
    return "\n".join(lines) + "\n"


def to_markdown(summaries: list[TaskSummary], title: str, xtreme: XtremeScores | None = None) -> str:
    """Every task's tables as Markdown, under a heading per task."""
    parts = [f"# {_markdown_text(title)}\n"] + ([markdown_table(overview_table(summaries))] if summaries else [])
    parts += [markdown_table(xtreme_table(xtreme))] if xtreme else []
    for s in summaries:
        against = f", Δ against {s.references.label()}" if s.references.label() else ""
        parts.append(f"## {_markdown_text(s.task)} ({_markdown_text(s.metric)}, %{_markdown_text(against)})\n")
        parts += [markdown_table(table) for table in task_tables(s)]
    return "\n".join(parts)


def latex_text(text: str) -> str:
    """Text with LaTeX's special characters escaped (and a few symbols spelled for pdflatex), on one line, safe at
    the start of a table row: no `[` or leading `*` for the `\\\\` or rule before it to take as an argument."""
    return LATEX_LEADING_STAR.sub(r"\1{*}", "".join(LATEX_SPECIAL.get(char, char) for char in text))


def latex_table(table: Table) -> str:
    """A booktabs `table` float: grouped columns under \\multicolumn labels with \\cmidrule."""
    columns = table.columns
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\small",
        rf"\caption{{{latex_text(table.title)}}}",
        rf"\label{{tab:{re.sub(r'[^A-Za-z0-9]+', '-', table.key).strip('-')}}}",
        r"\begin{tabular}{" + "".join("r" if c.numeric else "l" for c in columns) + "}",
        r"\toprule",
    ]
    if any(c.group for c in columns):
        spans: list[tuple[str, int, int]] = []  # (group, first column, last column), 1-based
        for index, column in enumerate(columns, start=1):
            if spans and spans[-1][0] == column.group:
                spans[-1] = (column.group, spans[-1][1], index)
            else:
                spans.append((column.group, index, index))
        lines.append(
            " & ".join(
                rf"\multicolumn{{{b - a + 1}}}{{c}}{{{latex_text(g)}}}" if g else " & ".join([""] * (b - a + 1))
                for g, a, b in spans
            )
            + r" \\"
        )
        lines.append("".join(rf"\cmidrule(lr){{{a}-{b}}}" for g, a, b in spans if g))
    lines.append(" & ".join(latex_text(c.label) for c in columns) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(latex_text(cell.full_text) for cell in row) + r" \\" for row in table.rows]
    if table.foot:
        lines.append(r"\midrule")
        lines += [" & ".join(latex_text(cell.full_text) for cell in row) + r" \\" for row in table.foot]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_latex(summaries: list[TaskSummary], title: str, xtreme: XtremeScores | None = None) -> str:
    """Every task's tables as LaTeX fragments (needs \\usepackage{booktabs})."""
    parts = [
        f"% {latex_text(' '.join(title.split()))}: tables written by mbert-eval; needs \\usepackage{{booktabs}}.",
        "% Scores in %: mean over seeds +/- the half-width of its 95% bootstrap interval over test examples (or one "
        "std over seeds where each table says so); Delta against each task's reference method, * significant "
        "(the paired bootstrap over examples and Welch's t-test over seeds, the larger p, below 0.05 after "
        "Benjamini-Hochberg over the languages), n.s. not; n = test examples.",
        "",
    ]
    parts += [latex_table(overview_table(summaries))] if summaries else []
    parts += [latex_table(xtreme_table(xtreme))] if xtreme else []
    for s in summaries:
        parts += [latex_table(table) for table in task_tables(s)]
    return "\n".join(parts)


def csv_report(data: ReportData) -> str:
    """The `csv` export format."""
    return to_csv(data.summaries, data.xtreme)


def json_report(data: ReportData) -> str:
    """The `json` export format."""
    return to_json(data.summaries, data.frame, data.title, data.xtreme)


def why_markdown(sections: list[WhySection]) -> str:
    """The section "Why transfer differs" (report/why.py) as Markdown: per model, its findings as a list, its notes
    and the distances' source, every name and sentence escaped as Markdown text ('' when no model has rows of the
    section's tasks); the charts stay in the HTML page."""
    if not sections:
        return ""
    lines = ["", "## Why transfer differs", ""]
    for part in sections:
        sentences = [*part.findings, *part.quiet]
        lines += [f"### Model {_markdown_text(part.model)}", ""]
        lines += [*(f"- {_markdown_text(sentence)}" for sentence in sentences), ""]
        lines += [f"{_markdown_text(note)}\n" for note in part.notes]
        lines += [f"Typological distances: {_markdown_text(part.source_line)}.", ""]
    return "\n".join(lines)


def markdown_report(data: ReportData) -> str:
    """The `md` export format: the tables, then the findings of "Why transfer differs" (`why_markdown`)."""
    return to_markdown(data.summaries, data.title, data.xtreme) + why_markdown(data.why)


def latex_report(data: ReportData) -> str:
    """The `latex` export format."""
    return to_latex(data.summaries, data.title, data.xtreme)
