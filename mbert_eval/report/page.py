"""The self-contained HTML report: a jinja2 template with inline CSS, inline SVG and a little JavaScript.

The page loads nothing: a Content-Security-Policy allows no source at all except the page's own
style and script blocks (by their sha256), so even a string that escaped escaping could neither run
nor fetch anything. Every string from the store, a config or a model name goes through jinja2's
autoescaping (or `markupsafe.escape` inside the SVG charts).
"""
from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import pandas as pd
from markupsafe import Markup

import mbert_eval
from mbert_eval.report.figures import Figure, task_figures
from mbert_eval.report.metadata import metadata_section
from mbert_eval.report.summary import TaskSummary
from mbert_eval.report.tables import (
    Table,
    block_tables,
    blocks,
    language_label,
    model_table,
    overview_table,
)

if TYPE_CHECKING:
    from mbert_eval.config.experiment import Experiment

TEMPLATES = files("mbert_eval.report") / "templates"


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
    duplicates: int
    blocks: list[Block]
    models: Table | None
    figures: list[Figure]


def headers(table: Table) -> list[list[Header]]:
    """One header row, or two when columns are grouped (a method over its mean, n, Δ and gap)."""
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
    sections = [Block(model, source, language_label(source), *block_tables(summary, model, source))
                for model, source in blocks(summary)]
    models = model_table(summary) if len(summary.values("model")) > 1 else None
    return TaskSection(summary.task, summary.metric, summary.duplicates, sections, models, task_figures(summary))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def render_html(frame: pd.DataFrame, summaries: list[TaskSummary], store_path: Path, title: str,
                experiment: Experiment | None = None) -> str:
    """The whole page as one string."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    csp = (f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = environment.from_string((TEMPLATES / "report.html.j2").read_text(encoding="utf-8"))
    return template.render(
        title=title, css=Markup(css), js=Markup(js), csp=csp, headers=headers, version=mbert_eval.__version__,
        store=str(store_path), n_rows=len(frame), written=time.strftime("%Y-%m-%d %H:%M"),
        tasks=[task_section(summary) for summary in summaries],
        overview=overview_table(summaries) if summaries else None,
        metadata=metadata_section(frame, store_path, experiment) if not frame.empty else None,
    )
