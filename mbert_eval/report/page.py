"""The self-contained HTML report: a jinja2 template with inline CSS, inline SVG and a little JavaScript.

The page loads nothing: a Content-Security-Policy allows no source at all except the page's own
style and script blocks (by their sha256), so even a string that escaped escaping could neither run
nor fetch anything. Every string from the store, a config or a model name goes through jinja2's
autoescaping (or `markupsafe.escape` inside the SVG charts).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from mbert_eval.report.context import ReportData
from mbert_eval.report.figures import Figure, task_figures
from mbert_eval.report.metadata import metadata_section
from mbert_eval.report.regressions import Regressions
from mbert_eval.report.summary import TaskSummary
from mbert_eval.report.tables import (
    Cell,
    Column,
    Table,
    block_tables,
    blocks,
    language_label,
    limited_note,
    limits_of,
    model_table,
    overview_table,
)
from mbert_eval.report.why import WhySection
from mbert_eval.report.xtreme import XtremeScores, xtreme_table
from mbert_eval.store.results import StoredConfig

TEMPLATES = files("mbert_eval.report") / "templates"
REGRESSION_LABELS = ("task", "models", "method", "source", "target", "metric")
REGRESSION_NUMBERS = ("before", "now", "worse_by", "threshold")


@dataclass(frozen=True)
class Header:
    """A header cell; `column` is the body column it sorts (None for a group label)."""

    label: str
    colspan: int = 1
    rowspan: int = 1
    column: int | None = None
    numeric: bool = False


@dataclass(frozen=True)
class Block:
    """One (model, source) pair of a task: its target table and its family and script tables."""

    model: str
    source: str
    source_label: str
    targets: Table
    family: Table
    script: Table
    metrics: Table | None  # the task's other declared metrics, each explained


@dataclass(frozen=True)
class TaskSection:
    """What the page shows for one task."""

    name: str
    metric: str
    reference: str | None  # the reference method of each comparability group, in words (`References.label`)
    duplicates: int
    blocks: list[Block]
    models: Table | None
    figures: list[Figure]


def headers(table: Table) -> list[list[Header]]:
    """One header row, or two when columns are grouped (the zero-shot targets, the source, the means)."""
    columns = table.columns
    if not any(column.group for column in columns):
        return [[Header(c.label, column=i, numeric=c.numeric) for i, c in enumerate(columns)]]
    top: list[Header] = []
    bottom: list[Header] = []
    i = 0
    while i < len(columns):
        group = columns[i].group
        if not group:
            top.append(Header(columns[i].label, rowspan=2, column=i, numeric=columns[i].numeric))
            i += 1
            continue
        end = i
        while end < len(columns) and columns[end].group == group:
            end += 1
        top.append(Header(group, colspan=end - i))
        bottom += [Header(columns[k].label, column=k, numeric=columns[k].numeric) for k in range(i, end)]
        i = end
    return [top, bottom]


def task_section(summary: TaskSummary) -> TaskSection:
    """The tables and charts of one task."""
    sections = [
        Block(model, source, language_label(source), *block_tables(summary, model, source))
        for model, source in blocks(summary)
    ]
    models = model_table(summary) if len(summary.values("model")) > 1 else None
    return TaskSection(
        summary.task,
        summary.metric,
        summary.references.label() or None,
        summary.duplicates,
        sections,
        models,
        task_figures(summary),
    )


def regression_table(regressions: Regressions) -> Table:
    """A job's regressions as a table: where, and the scores as stored (four decimals)."""
    columns = [Column(label, numeric=False) for label in REGRESSION_LABELS] + [
        Column(label.replace("_", " ")) for label in REGRESSION_NUMBERS
    ]
    rows = [
        [Cell(getattr(line, label), getattr(line, label)) for label in REGRESSION_LABELS]
        + [Cell(f"{getattr(line, label):.4f}", getattr(line, label)) for label in REGRESSION_NUMBERS]
        for line in regressions.lines
    ]
    return Table("regressions-table", "Scores that got worse by more than their task's threshold", columns, rows)


def guessed_roles(summaries: list[TaskSummary]) -> str:
    """The sentence naming the tasks whose metric roles were guessed (empty when none was)."""
    tasks = [f"{s.task} ({s.guessed})" for s in summaries if s.guessed]
    if not tasks:
        return ""
    return (
        f"Metric roles guessed for {', '.join(tasks)}: the main metric is accuracy where present (else the first "
        "metric), and higher is taken as better unless the store says otherwise of it."
    )


def package_version() -> str:
    """The installed mbert-eval's version ("unknown" when running from an uninstalled checkout)."""
    try:
        return version("mbert-eval")
    except PackageNotFoundError:
        return "unknown"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def limited_banner(summaries: list[TaskSummary]) -> str:
    """The page's banner when any score comes from a run with an example limit (empty when none does)."""
    limits = sorted({limit for s in summaries for limit in limits_of(s.scores)})
    article = "a " if len(limits) == 1 else ""
    return f"This store holds {article}{limited_note(limits)}: marked in each affected table." if limits else ""


def html_report(data: ReportData) -> str:
    """The whole page as one string (the `html` export format)."""
    return render_html(
        data.frame,
        data.summaries,
        data.store_path,
        data.title,
        data.configs,
        data.config,
        data.regressions,
        data.xtreme,
        data.why,
    )


def render_html(
    frame: pd.DataFrame,
    summaries: list[TaskSummary],
    store_path: Path,
    title: str,
    configs: list[StoredConfig],
    given: StoredConfig | None = None,
    regressions: Regressions | None = None,
    xtreme: XtremeScores | None = None,
    why: list[WhySection] | None = None,
) -> str:
    """The whole page as one string: `configs` are the store's, `given` one it may lack, `regressions` a
    scheduled job's (shown first), `xtreme` the XTREME score (shown with the overview; None: not shown), `why` the
    "Why transfer differs" section per model (after the tasks; None or empty: not shown). The page is a function
    of the store: it shows when its newest row was written, not when the page was, so one store gives one page,
    byte for byte."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    csp = (
        f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = environment.from_string((TEMPLATES / "report.html.j2").read_text(encoding="utf-8"))
    return template.render(
        title=title,
        css=Markup(css),
        js=Markup(js),
        csp=csp,
        headers=headers,
        version=package_version(),
        store=store_path.name,  # the full path is in the metadata section only
        n_rows=len(frame),
        newest=max(frame["created_at"]) if len(frame) else "none",
        tasks=[task_section(summary) for summary in summaries],
        guessed=guessed_roles(summaries),
        limited=limited_banner(summaries),
        overview=overview_table(summaries) if summaries else None,
        regressions=regressions,
        xtreme=xtreme_table(xtreme) if xtreme else None,
        why=why or [],
        regression_table=regression_table(regressions) if regressions and regressions.lines else None,
        metadata=metadata_section(frame, store_path, configs, given) if not frame.empty else None,
    )
