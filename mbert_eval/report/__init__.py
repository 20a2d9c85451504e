"""Reports built from the results store (they only read it): one self-contained HTML page, or the
same tables as CSV, Markdown, LaTeX or JSON.

`write_report(store, path, title, fmt)` is the one entry point; `roles` reads each task's main metric and
reference method off the store, `names` gives models their display names, `summary` computes the numbers and
`uncertainty` their intervals and paired tests, `tables` lays them out, `figures`/`charts` draw the SVG charts,
`page` renders HTML (with a scheduled job's `regressions` first), `exports` the other formats, `metadata` the
run-metadata section, `text_table` the `results` command's table.

Export formats are a registry (`EXPORTS`): a new format is one function of `context.ReportData` and one
`register_format` line; so are the charts of a task section (`figures.VIEWS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.errors import UserError
from mbert_eval.registry import Registry
from mbert_eval.report.regressions import Regressions
from mbert_eval.store.outputs import check_output, store_paths, write_output
from mbert_eval.store.results import ResultStore, StoredConfig

if TYPE_CHECKING:
    from mbert_eval.report.context import ReportData

EXPORTS: Registry[Callable[[ReportData], str]] = Registry("report format")
SUFFIXES: dict[str, str] = {}  # format → file suffix


def register_format(name: str, suffix: str, target: str, summary: str) -> None:
    """Add an export format: `target` ("module:function", imported when first used) renders a `ReportData` as text,
    written to files ending in `suffix`."""
    SUFFIXES[name] = suffix
    EXPORTS.register_lazy(name, target, summary)


register_format("html", ".html", "mbert_eval.report.page:html_report", "the self-contained HTML page")
register_format("csv", ".csv", "mbert_eval.report.exports:csv_report", "tidy records, fractions to 4 decimals")
register_format("md", ".md", "mbert_eval.report.exports:markdown_report", "the display tables as Markdown")
register_format("latex", ".tex", "mbert_eval.report.exports:latex_report", "the display tables as booktabs LaTeX")
register_format("json", ".json", "mbert_eval.report.exports:json_report", "tidy records and the run metadata")
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
    from mbert_eval.report.context import ReportData
    from mbert_eval.report.names import with_display_names
    from mbert_eval.report.summary import summarize
    from mbert_eval.report.why import why_sections
    from mbert_eval.report.xtreme import xtreme_scores

    frame = store.dataframe()
    configs = store.configs()
    roles = store.metric_roles()
    known = [c for c in configs if not config or c.config_hash != config.config_hash]
    summaries = summarize(frame, roles, known + ([config] if config else []), store.path)
    xtreme = xtreme_scores(with_display_names(frame), roles)
    why = why_sections(store, frame)
    data = ReportData(frame, summaries, store.path, title, configs, config, regressions, xtreme, why)
    return EXPORTS.get(fmt)(data)


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
    check_output(path, [*store_paths(store.path), *protected], "the report")
    text = render_report(store, title, fmt, config, regressions)
    return write_output(path, text, [*store_paths(store.path), *protected], "the report")
