"""Reports built from the results store (they only read it): one self-contained HTML page, or the
same tables as CSV, Markdown, LaTeX or JSON.

`write_report(store, path, title, fmt)` is the one entry point; `roles` reads each task's main metric and
reference method off the store, `summary` computes the numbers, `tables` lays them out, `figures`/`charts`
draw the SVG charts, `page` renders HTML (with a scheduled job's `regressions` first), `exports` the other
formats, `metadata` the run-metadata section, `text_table` the `results` command's table.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.report.regressions import Regressions
from mbert_eval.store.outputs import check_output, store_files, write_output
from mbert_eval.store.results import ResultStore, StoredConfig

SUFFIXES = {"html": ".html", "csv": ".csv", "md": ".md", "latex": ".tex", "json": ".json"}
FORMATS = tuple(SUFFIXES)


def _check_format(fmt: str) -> None:
    if fmt not in SUFFIXES:
        raise UserError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def render_report(
    store: ResultStore,
    title: str,
    fmt: str = "html",
    config: StoredConfig | None = None,
    regressions: Regressions | None = None,
) -> str:
    """The report of everything in `store` as text in format `fmt` (html, csv, md, latex or json).

    `config`: a run's config, marked in the metadata and used like a stored one when the store lacks it;
    `regressions`: a scheduled job's, the HTML page's first section.
    """
    _check_format(fmt)
    from mbert_eval.report.exports import to_csv, to_json, to_latex, to_markdown
    from mbert_eval.report.page import render_html
    from mbert_eval.report.summary import summarize
    from mbert_eval.report.xtreme import xtreme_scores

    frame = store.dataframe()
    configs = store.configs()
    roles = store.metric_roles()
    known = [c for c in configs if not config or c.config_hash != config.config_hash]
    summaries = summarize(frame, roles, known + ([config] if config else []))
    xtreme = xtreme_scores(frame, roles)
    if fmt == "html":
        return render_html(frame, summaries, store.path, title, configs, config, regressions, xtreme)
    if fmt == "csv":
        return to_csv(summaries, xtreme)
    if fmt == "json":
        return to_json(summaries, frame, title, xtreme)
    return to_markdown(summaries, title, xtreme) if fmt == "md" else to_latex(summaries, title, xtreme)


def write_report(
    store: ResultStore,
    path: Path,
    title: str,
    fmt: str = "html",
    config: StoredConfig | None = None,
    regressions: Regressions | None = None,
    protected: Iterable[Path] = (),
) -> Path:
    """Write the report of `store` to `path` (folders created); `config` and `regressions` as `render_report`.
    The report never replaces the store, any database or a `protected` file (the command's inputs)."""
    check_output(path, [*store_files(store.path), *protected], "the report")
    text = render_report(store, title, fmt, config, regressions)
    return write_output(path, text, [*store_files(store.path), *protected], "the report")
