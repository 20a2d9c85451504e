"""The Markdown and LaTeX exports (report/exports.py) of names that are hostile to them: a model's display name and
method names holding HTML, Markdown and LaTeX specials, line breaks (a YAML block scalar ends a name with one), and
a leading `[` or `*` that the `\\\\` or rule before a LaTeX row would take as its argument."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mbert_eval.store.results import ResultRow, ResultStore
from tests.helpers import EVIL

MODEL = f'[v2] {EVIL} *m* | _x_ "q" $x$\n# injected\n'  # the rows' `model_name`: the model's display name
METHOD = '[x] fz1 | "q"\r\n'
STARRED = "*fz2"
TITLE = "Results\n# not a heading"
MODEL_MD = r'\[v2\] \<script\>alert(1)\</script\> \*m\* \| \_x\_ "q" \$x\$ \# injected'  # MODEL as Markdown text
METHOD_MD = r'\[x\] fz1 \| "q"'
RULE = re.compile(r"\\(toprule|midrule|bottomrule|cmidrule)")


@pytest.fixture
def hostile_store(tmp_path: Path) -> ResultStore:
    """POS rows of one model displayed as MODEL: the baseline, METHOD and STARRED, two seeds, two targets."""
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(tmp_path / "results.sqlite")
    rows = [
        ResultRow(
            f"{i}-{seed}",
            "pos",
            "accuracy",
            "m",
            method,
            "qaa",
            target,
            seed,
            0.5 + 0.1 * i + 0.01 * seed,
            10,
            "h",
            "v",
            extra={"model_name": MODEL},
        )
        for i, method in enumerate(("baseline", METHOD, STARRED))
        for seed in (1, 2)
        for target in ("qab", "qac")
    ]
    store.write_cell(rows)
    store.write_metric_roles(metric_roles(["pos"]))
    return store


def _separators(line: str) -> int:
    """The `|` of a Markdown table line that separate cells: those after an even run of backslashes (none too)."""
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def _tables(markdown: str) -> list[list[str]]:
    """The Markdown's tables: each a run of lines that start with `|`, its header first."""
    tables: list[list[str]] = []
    previous = ""
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(line)
        previous = line
    return tables


def test_markdown_table_rows_keep_their_cells(hostile_store: ResultStore) -> None:
    """Every row of every table has the header's cells: a name's `|` is escaped and its line break a space."""
    from mbert_eval.report import render_report

    markdown = render_report(hostile_store, TITLE, "md")
    tables = _tables(markdown)
    assert len(tables) >= 3
    for table in tables:
        assert [_separators(line) for line in table] == [_separators(table[0])] * len(table), table
    lines = markdown.splitlines()
    assert any(line.startswith(f"| {MODEL_MD} | {METHOD_MD} | qaa | ") for line in lines)
    assert f"| {METHOD_MD} | " in markdown and r"| \*fz2 | " in markdown
    assert EVIL not in markdown


def test_markdown_headings_are_the_reports_own(hostile_store: ResultStore) -> None:
    """A title or name with a line break makes no heading of its own: the title is the one level-1 heading."""
    from mbert_eval.report import render_report

    markdown = render_report(hostile_store, TITLE, "md")
    headings = [line for line in markdown.splitlines() if line.lstrip().startswith("#")]
    assert headings[0] == r"# Results \# not a heading"
    assert all(heading.startswith("## pos ") for heading in headings[1:]), headings


def test_why_markdown_escapes_the_model_and_its_sentences() -> None:
    """The section's heading, findings, quiet sentences and notes are escaped like the tables' text, each on its
    own line, and read as they did."""
    from mbert_eval.report.exports import why_markdown
    from mbert_eval.report.why import WhySection

    part = WhySection(
        MODEL,
        [],
        [],
        [f"pos ({METHOD}, source en): ρ(score, syntactic distance) = -1.00 (p < 0.0001, n = 6 targets)."],
        ["Distances not computed: no URIEL data in /data/my_dir/<lang2vec>."],
        "URIEL (Littell et al. 2017)",
        [f"pos ({STARRED}, source en): no evidence of a correlation (p ≥ 0.05) at n = 6 targets for score."],
    )
    text = why_markdown([part])
    assert EVIL not in text and "<lang2vec>" not in text
    lines = text.splitlines()
    assert [line for line in lines if line.lstrip().startswith("#")] == [
        "## Why transfer differs",
        f"### Model {MODEL_MD}",
    ]
    assert [line for line in lines if line.startswith("- ")] == [
        rf"- pos ({METHOD_MD} , source en): ρ(score, syntactic distance) = -1.00 (p \< 0.0001, n = 6 targets).",
        r"- pos (\*fz2, source en): no evidence of a correlation (p ≥ 0.05) at n = 6 targets for score.",
    ]
    assert r"Distances not computed: no URIEL data in /data/my\_dir/\<lang2vec\>." in lines
    assert "Typological distances: URIEL (Littell et al. 2017)." in lines


def test_latex_rows_never_start_with_an_argument(hostile_store: ResultStore) -> None:
    """No line of a table starts with `[` (an optional argument of the `\\\\` or rule before it: the file does not
    compile) or `*` (the starred `\\\\`: the star is lost); each row, caption and name stays on one line."""
    from mbert_eval.report import render_report

    latex = render_report(hostile_store, TITLE, "latex")
    lines = latex.splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("[", "*"))]
    for before, line in zip(lines, lines[1:]):
        if before.endswith("\\\\") or RULE.search(before):
            assert not line.lstrip().startswith(("[", "*")), (before, line)
    for body in re.findall(r"\\midrule\n(.*?)\\bottomrule", latex, re.DOTALL):
        assert all(line.endswith("\\\\") or RULE.fullmatch(line) for line in body.splitlines()), body
    assert r"{[}x{]} fz1 " in latex and r"{*}fz2 & " in latex
    assert all(line.endswith("}") for line in lines if line.startswith(r"\caption{"))


def test_latex_cells_hold_no_raw_bar_or_quote(hostile_store: ResultStore) -> None:
    """`|` (a dash in OT1) and `"` (a right quote in OT1, a shorthand under babel) are written as commands in
    every caption and cell."""
    from mbert_eval.report import render_report

    latex = render_report(hostile_store, TITLE, "latex")
    text = [line for line in latex.splitlines() if not line.startswith(("%", r"\begin{tabular}"))]
    assert text and not [line for line in text if "|" in line or '"' in line]
    assert r"fz1 \textbar{} \texttt{\char34}q\texttt{\char34}" in latex


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[v2] tiny", "{[}v2{]} tiny"),
        ('a|b "c"', r"a\textbar{}b \texttt{\char34}c\texttt{\char34}"),
        ("*x*", "{*}x*"),
        (" *x", " {*}x"),
        ("one\r\ntwo\nthree\r", "one  two three "),
    ],
)
def test_latex_text(text: str, expected: str) -> None:
    from mbert_eval.report.exports import latex_text

    assert latex_text(text) == expected


def test_markdown_shows_every_name_as_stored(tmp_path: Path) -> None:
    """Rendered by a CommonMark parser (with GitHub's tables and strikethrough), the Markdown export shows a name's
    `~~`, entities (`&amp;`) and a heading's closing `#`s as they are stored, not as markup."""
    from markdown_it import MarkdownIt

    from mbert_eval.grid.run import metric_roles
    from mbert_eval.report import render_report

    model, title = "~~s~~ &amp; &#124; x #", "Results ##"
    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell(
        [
            ResultRow(
                "k", "pos", "accuracy", "m", "baseline", "qaa", "qab", 1, 0.5, 10, "h", "v", extra={"model_name": model}
            )
        ]
    )
    store.write_metric_roles(metric_roles(["pos"]))
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(render_report(store, title, "md"))
    assert "<s>" not in html and "<h1>Results ##</h1>" in html
    assert "~~s~~ &amp;amp; &amp;#124; x #" in html  # the stored text, escaped once by the renderer
