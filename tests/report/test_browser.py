"""The HTML report in a real browser: headless Chromium opens it from a file URL with the network cut
off; the DOM's table cells must equal the store's values, the console must stay clean, no request may
leave the page, script-tag names must show as text, and the columns must sort.

Skips when Chromium is not installed (CI installs Debian's `chromium`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import EVIL, seed_stats
from tests.report.browser import find_chromium, screenshot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium)"),
]

READ_PAGE = """(() => {
  const cells = (row) => Array.from(row.cells).map((c) => ({text: c.textContent, value: c.getAttribute("data-value"),
                                                            kind: c.className}));
  const tables = Array.from(document.querySelectorAll("table")).map((t) => ({
    caption: t.caption ? t.caption.textContent : "",
    block: t.closest(".block") ? Object.assign({}, t.closest(".block").dataset) : null,
    head: Array.from(t.tHead.rows).map((r) => Array.from(r.cells).map((c) => [c.textContent, c.colSpan, c.rowSpan])),
    body: Array.from(t.tBodies[0].rows).map(cells),
    foot: t.tFoot ? Array.from(t.tFoot.rows).map(cells) : [],
  }));
  const table = document.querySelector("table.sortable");
  const header = table.querySelector("th.num[data-col]");
  const column = Number(header.getAttribute("data-col"));
  const order = () => Array.from(table.tBodies[0].rows).map((r) => r.cells[column].getAttribute("data-value"));
  header.click();
  const first = order();
  header.click();
  const second = order();
  return {tables, sorted: [first, second], text: document.body.innerText, title: document.title,
          scripts: document.scripts.length, svgs: document.querySelectorAll("svg").length};
})()"""


def column_labels(head: list[list[list]]) -> list[tuple[str, str]]:
    """(group, label) per body column, from the header rows as the DOM has them."""
    if len(head) == 1:
        return [("", text) for text, _, _ in head[0]]
    bottom = iter(head[1])
    labels = []
    for text, span, rows in head[0]:
        labels += [("", text)] if rows == 2 else [(text, next(bottom)[0]) for _ in range(span)]
    return labels


def _expected(mean: float, std: float, n: int, rows: list) -> str:
    """A cell's text: ± std over several seeds (the store's per-example files lie beside the grid's store, not this
    one), ± the half-width of its own 95% interval for one seed (none for a row without one)."""
    if n > 1:
        return f"{100 * mean:.1f} ± {100 * std:.1f}"
    extra = rows[0].extra
    if extra.get("ci_low") is None:
        return f"{100 * mean:.1f}"
    return f"{100 * mean:.1f} ± {100 * (extra['ci_high'] - extra['ci_low']) / 2:.1f}"


def test_report_in_headless_chromium(rich_store, evil_language, tmp_path):
    from mbert_eval.report import write_report

    page = write_report(rich_store, tmp_path / "report.html", f"Report {EVIL}")
    visit = screenshot(page, tmp_path / "report.png", evaluate=READ_PAGE)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert visit.requests == [visit.url] and visit.blocked == []
    assert visit.console_errors == [] and visit.dialogs == []
    dom = visit.value
    assert dom["title"] == f"Report {EVIL}" and dom["scripts"] == 1 and dom["svgs"] >= 3
    assert dom["text"].count(EVIL) >= 3  # the title, the model and the language name, as text

    stored = next(r.model for r in rich_store.rows() if r.model != EVIL)
    paths = {Path(stored).name: stored, EVIL: EVIL}  # local paths are shown by their folder name
    checked = 0
    for table in dom["tables"]:
        if table["caption"] != "pos: accuracy (%) by language" or table["block"]["source"] != "qaa":
            continue
        labels = column_labels(table["head"])
        table_model = paths[table["block"]["model"]]
        languages = {label.split(" n=")[0]: i for i, (group, label) in enumerate(labels) if " n=" in label}
        assert labels[languages["qaa"]][0] == "in-language (source)" and list(languages)[-1] == "qaa"
        for row in table["body"]:
            method = row[0]["text"]
            for target, column in languages.items():
                cell = row[column]
                rows = rich_store.rows(
                    task="pos", metric="accuracy", model=table_model, method=method, source="qaa", target=target
                )
                if not rows:
                    assert cell["text"] == "missing" and cell["value"] is None
                    continue
                mean, std, n = seed_stats(
                    rich_store,
                    task="pos",
                    metric="accuracy",
                    model=table_model,
                    method=method,
                    source="qaa",
                    target=target,
                )
                assert cell["text"].split("Δ")[0] == _expected(mean, std, n, rows)
                assert float(cell["value"]) == pytest.approx(mean, rel=1e-14, abs=0)
                checked += 1
            everything = row[labels.index(("mean over languages", "all"))]
            assert ("partial" in everything["text"]) == (table_model == EVIL or method == "mixing")
    assert checked == 4 + 3 + 3  # baseline on 4 languages, mixing on 3 of them, the second model on 3

    for order, reverse in zip(dom["sorted"], (True, False)):  # first click: best first; second: reversed
        present = [float(v) for v in order if v is not None]
        assert order[: len(present)] == [v for v in order if v is not None]  # missing values last, both ways
        assert present == sorted(present, reverse=reverse) and len(present) < len(order)


def test_harness_catches_requests_errors_and_dialogs(tmp_path):
    """The checks above mean something: a page that calls out, logs an error and alerts is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><title>x</title><img src='http://example.com/x.png'>"
        "<script>console.error('boom'); alert('hi')</script>",
        encoding="utf-8",
    )
    visit = screenshot(page, None)
    assert visit.blocked == ["http://example.com/x.png"] and "http://example.com/x.png" in visit.requests
    assert "boom" in visit.console_errors and visit.dialogs == ["hi"]
