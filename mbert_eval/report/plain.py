"""A plain, self-contained HTML results page: one table per task, targets × (model, method).

Every string from the store is escaped; the page loads nothing from the network.
"""
from __future__ import annotations

import html
import time
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.languages import lookup
from mbert_eval.results_table import main_metrics
from mbert_eval.store import ResultStore

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}caption{text-align:left;font-weight:600}"""


def _language_label(code: str) -> str:
    try:
        language = lookup(code)
    except UserError:  # a code the table does not know: show it as it is
        return code
    return f"{language.name} ({code})"


def write_results_page(store: ResultStore, path: Path, title: str = "mbert-eval results") -> Path:
    """Write the page to `path`: per task, the main metric's mean over seeds for each target."""
    frame = store.dataframe()
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>"]
    if frame.empty:
        parts.append("<p>No results stored yet.</p>")
    main = main_metrics(set(frame["task"])) if not frame.empty else {}
    for task, rows in frame.groupby("task", sort=True):
        metric = main.get(task, rows["metric"].iloc[0])
        rows = rows[rows["metric"] == metric]
        table = rows.pivot_table(index=["source", "target"], columns=["model", "method"], values="score",
                                 aggfunc="mean")
        seeds = rows.groupby(["model", "method"])["seed"].nunique()
        parts.append(f"<table><caption>{esc(task)}: {esc(metric)} (mean over seeds)</caption><tr>"
                     "<th class='l'>source</th><th class='l'>target</th>")
        parts += [f"<th>{esc(str(model))}<br>{esc(str(method))} (n={seeds[(model, method)]})</th>"
                  for model, method in table.columns]
        parts.append("</tr>")
        for (source, target), values in table.iterrows():
            cells = "".join(f"<td>{'' if v != v else f'{100 * v:.1f}'}</td>" for v in values)
            parts.append(f"<tr><td class='l'>{esc(_language_label(source))}</td>"
                         f"<td class='l'>{esc(_language_label(target))}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append(f"<p><small>Store: {esc(str(store.path))}; written {esc(time.strftime('%Y-%m-%d %H:%M'))}."
                 "</small></p></body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
