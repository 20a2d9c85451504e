"""Reports built from the results store (they only read it): one self-contained HTML page, or the
same tables as CSV, Markdown, LaTeX or JSON.

`write_report(store, path, title, fmt)` is the one entry point; `summary` computes the numbers,
`tables` lays them out, `figures`/`charts` draw the SVG charts, `page` renders HTML, `exports` the
other formats, `metadata` the run-metadata section, `screenshot` opens a page in headless Chromium.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.errors import UserError
from mbert_eval.store.results import ResultStore

if TYPE_CHECKING:
    from mbert_eval.config.experiment import Experiment

SUFFIXES = {"html": ".html", "csv": ".csv", "md": ".md", "latex": ".tex", "json": ".json"}
FORMATS = tuple(SUFFIXES)
REPORTS_DIR = Path("reports")


def _check_format(fmt: str) -> None:
    if fmt not in SUFFIXES:
        raise UserError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def default_report_path(name: str, fmt: str = "html") -> Path:
    """Where a report named `name` goes by default: reports/NAME.html (or .csv, .md, .tex, .json)."""
    _check_format(fmt)
    return REPORTS_DIR / f"{name}{SUFFIXES[fmt]}"


def render_report(store: ResultStore, title: str, fmt: str = "html", experiment: Experiment | None = None) -> str:
    """The report of everything in `store` as text in format `fmt` (html, csv, md, latex or json)."""
    _check_format(fmt)
    from mbert_eval.report.exports import to_csv, to_json, to_latex, to_markdown
    from mbert_eval.report.page import render_html
    from mbert_eval.report.summary import summarize

    frame = store.dataframe()
    summaries = summarize(frame)
    if fmt == "html":
        return render_html(frame, summaries, store.path, title, experiment)
    if fmt == "csv":
        return to_csv(summaries)
    if fmt == "json":
        return to_json(summaries, frame, title)
    return to_markdown(summaries, title) if fmt == "md" else to_latex(summaries, title)


def write_report(store: ResultStore, path: Path, title: str, fmt: str = "html",
                 experiment: Experiment | None = None) -> Path:
    """Write the report of `store` to `path` (folders created); `experiment` adds its config to the page."""
    text = render_report(store, title, fmt, experiment)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
