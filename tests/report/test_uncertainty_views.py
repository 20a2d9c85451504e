"""The report read as a researcher comparing methods across languages: methods as rows and languages as columns,
intervals from per-example outputs, paired significance against the reference, test-set sizes, chance levels,
honest averages, display names, limited runs, and the page at 1,400 px in headless Chromium.

The stores are written by hand: XNLI-like rows (three classes, chance 1/3) of three methods on eight languages,
each cell with its per-example statistics (store/examples.py) and the row contract's `extra` keys.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest

from mbert_eval.metrics.bootstrap import bootstrap_interval
from mbert_eval.store.examples import ExampleOutputs, write_examples
from mbert_eval.store.results import ResultRow, ResultStore

SOURCE = "en"
TARGETS = ("de", "fr", "es", "ru", "zh", "ar", "hi")
GAINS = {"baseline": 0.0, "tlm": 0.12, "tlm+align": 0.004}  # tlm clearly better, tlm+align not distinguishable
MODEL = "/machines/lab/checkpoints/mbert-base"  # a local path: shown by its folder name
EXAMPLES = 300


def _correct(method: str, target: str, seed: int) -> np.ndarray:
    """0/1 per test example; a method's gain turns that share of the baseline's errors right (the same examples)."""
    rng = np.random.default_rng(TARGETS.index(target) * 10 + seed if target in TARGETS else seed)
    base = rng.random(EXAMPLES) < (0.85 if target == SOURCE else 0.55 + 0.02 * TARGETS.index(target))
    flips = np.random.default_rng(seed + 100).random(EXAMPLES) < GAINS[method] / 0.45
    return (base | flips).astype(float)


def build_store(folder: Path, seeds: tuple[int, ...] = (1, 2, 3), files: bool = True, **extra) -> ResultStore:
    """3 methods × 8 languages of XNLI-like accuracy with per-example files (`files`) and the row contract's extras;
    `extra` is added to every row (e.g. `limit=5`, `model_name="mBERT"`)."""
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(folder / "results.sqlite")
    for method in GAINS:
        for seed in seeds:
            key = f"xnli-{method}-{seed}"
            rows = []
            for target in (SOURCE, *TARGETS):
                stats = _correct(method, target, seed)[:, None]
                interval = bootstrap_interval(stats, "mean")
                outputs = ExampleOutputs("xnli", "accuracy", "mean", stats.tolist())
                path = write_examples(store.path, key, target, outputs) if files else folder / f"{key}-{target}"
                rows.append(
                    ResultRow(
                        key,
                        "xnli",
                        "accuracy",
                        MODEL,
                        method,
                        SOURCE,
                        target,
                        seed,
                        float(stats.mean()),
                        EXAMPLES,
                        "h",
                        "v",
                        extra={
                            "ci_low": interval.low,
                            "ci_high": interval.high,
                            "ci_level": 0.95,
                            "aggregate": "mean",
                            "examples": str(path.relative_to(folder)),
                            "chance": 1 / 3,
                            "train_time": 1.0,
                            **extra,
                        },
                    )
                )
            store.write_cell(rows)
    store.write_metric_roles(metric_roles(["xnli"]))
    return store


def _outputs(store: ResultStore, key: str, target: str) -> ExampleOutputs:
    """The per-example outputs the cell's row on `target` names."""
    from mbert_eval.store.examples import read_examples

    [row] = store.rows(cell_key=key, target=target)
    return read_examples(store.path, row.extra["examples"])


def _summary(store: ResultStore):
    from mbert_eval.report.summary import summarize

    [summary] = summarize(store.dataframe(), store.metric_roles(), store.configs(), store.path)
    return summary


def _page(store: ResultStore, folder: Path, title: str = "t") -> str:
    from mbert_eval.report import write_report

    return write_report(store, folder / "report.html", title).read_text(encoding="utf-8")


def test_a_single_seed_run_shows_intervals_test_sizes_and_chance(tmp_path):
    store = build_store(tmp_path, seeds=(1,))
    summary = _summary(store)
    scores = summary.scores.set_index(["method", "target"])
    [row] = store.rows(method="tlm", target="de")
    got = scores.loc[("tlm", "de")]
    assert (got["ci_low"], got["ci_high"], got["ci_kind"]) == (row.extra["ci_low"], row.extra["ci_high"], "bootstrap")
    assert got["n_examples"] == EXAMPLES and got["chance"] == pytest.approx(1 / 3)
    page = _page(store, tmp_path)
    half = 100 * (row.extra["ci_high"] - row.extra["ci_low"]) / 2
    assert f"{100 * row.score:.1f} ± {half:.1f}" in page and f"de n={EXAMPLES}" in page
    assert "Chance level (uniform guessing): 33.3." in page and "chance 33.3" in page  # table note and bar chart
    assert "± = half-width of the 95% bootstrap interval" in page and 'class="whisker"' in page


def test_several_seeds_get_the_interval_of_their_mean_from_the_per_example_files(tmp_path):
    summary = _summary(build_store(tmp_path))
    scores = summary.scores.set_index(["method", "target"])
    store = ResultStore(tmp_path / "results.sqlite")
    stacked = np.stack(
        [_outputs(store, f"xnli-baseline-{seed}", "fr").array() for seed in (1, 2, 3)]
    )  # (seeds, examples, 1)
    expected = bootstrap_interval(stacked, "mean")
    got = scores.loc[("baseline", "fr")]
    assert got["ci_kind"] == "bootstrap" and (got["ci_low"], got["ci_high"]) == (expected.low, expected.high)
    assert got["mean"] == pytest.approx(expected.score, abs=1e-12)


def test_a_seed_scored_by_two_cells_shows_their_mean_without_either_cells_interval_or_test(tmp_path):
    """Two configs in one store scored tlm's seed 1 (the second as baseline-like as the reference): the report
    averages them, and neither cell's interval, nor a paired test on the first cell's outputs, stands beside
    that mean."""
    import dataclasses

    store = build_store(tmp_path, seeds=(1,))
    first = {row.target: row for row in store.rows(method="tlm")}
    other = []
    for target, row in first.items():
        stats = _correct("baseline", target, 1)[:, None]
        path = write_examples(
            store.path, "xnli-tlm-1-other", target, ExampleOutputs("xnli", "accuracy", "mean", stats.tolist())
        )
        interval = bootstrap_interval(stats, "mean")
        extra = {**row.extra, "ci_low": interval.low, "ci_high": interval.high}
        extra["examples"] = str(path.relative_to(tmp_path))
        other.append(dataclasses.replace(row, cell_key="xnli-tlm-1-other", score=float(stats.mean()), extra=extra))
    store.write_cell(other)
    summary = _summary(store)
    got = summary.scores.set_index(["method", "target"]).loc[("tlm", "de")]
    assert got["mean"] == pytest.approx((first["de"].score + other[list(first).index("de")].score) / 2)
    assert summary.duplicates == len(first) and got["ci_kind"] == "" and np.isnan(got["ci_low"])
    assert np.isnan(got["p_value"]) and got["verdict"] == "unknown"
    page = _page(store, tmp_path)
    assert "no one cell's interval or significance test is shown for them" in page
    assert f"{100 * got['mean']:.1f} ±" not in page
    from mbert_eval.report.text_table import format_results

    table = format_results(store)  # `mbert-eval results`: one seed, not two, and no one cell's interval
    [line] = [line for line in table.splitlines() if " tlm " in line and " de " in line]
    assert line.split()[-2:] == [str(EXAMPLES), "1"] and f"{100 * got['mean']:.1f}" in line and "[" not in line
    assert f"{len(first)} seed scores average several cells of the same seed" in table


def test_without_per_example_files_the_spread_is_over_seeds_and_the_seeds_alone_are_tested(tmp_path):
    """Without per-example outputs the seeds are tested (Welch's t-test over them, as with outputs beside the
    paired bootstrap): the older rule, |Δ| beyond the larger std, called 1 in 5 Δs of two runs of one recipe better
    or worse at 3 seeds. With one seed a side, nothing is tested."""
    from scipy.stats import ttest_ind

    store = build_store(tmp_path, files=False)
    summary = _summary(store)
    assert set(summary.scores["ci_kind"]) == {"std"} and summary.scores["p_value"].isna().all()
    got = summary.scores.set_index(["method", "target"]).loc[("tlm", "de")]
    per_seed = {method: [row.score for row in store.rows(method=method, target="de")] for method in ("tlm", "baseline")}
    assert got["p_seeds"] == pytest.approx(ttest_ind(*per_seed.values(), equal_var=False).pvalue)
    page = _page(store, tmp_path)
    assert "± on every cell = one standard deviation over seeds, no bootstrap interval: no per-example outputs" in page
    assert "no per-example outputs to resample; Welch&#39;s t-test over the seeds, p = " in page
    one = _summary(build_store(tmp_path / "one", seeds=(1,), files=False)).scores
    assert one["p_adjusted"].isna().all() and set(one["verdict"]) <= {"", "unknown"}


@pytest.mark.parametrize("seeds", [(1,), (1, 2, 3)], ids=["one-seed", "three-seeds"])
def test_outputs_that_do_not_give_their_score_back_stand_for_no_interval(tmp_path, seeds):
    """A per-example file whose statistics give another score than its row's (a faulty task's, as pairwise
    language identity's before its version 2) stands for no interval, the row's own neither, and for no paired
    test: ± std over seeds where there are several, else none; every other score keeps its interval."""
    store = build_store(tmp_path, seeds=seeds)
    for seed in seeds:
        key = f"xnli-tlm-{seed}"
        wrong = _outputs(store, key, "de")
        wrong.stats = [[value / 2] for (value,) in wrong.stats]  # what `or`-added hits gave: 1/2 for 1
        [row] = store.rows(cell_key=key, target="de")
        write_examples(store.path, key, "de", wrong).replace(tmp_path / row.extra["examples"])  # the file it names
    scores = _summary(store).scores.set_index(["method", "target"])
    got = scores.loc[("tlm", "de")]
    assert got["ci_kind"] == ("std" if len(seeds) > 1 else "") and np.isnan(got["p_value"])
    assert got["ci_low"] > 0.5 if len(seeds) > 1 else np.isnan(got["ci_low"])  # not the halved statistics'
    others = scores.drop(index=("tlm", "de"))
    assert set(others["ci_kind"]) == {"bootstrap"}
    page = _page(store, tmp_path)
    said = "its per-example outputs do not give its score back (an older version of the task's code wrote them"
    kind = (
        "± on 1 cell = one standard deviation over seeds, no bootstrap interval: "
        if len(seeds) > 1
        else "No ± on 1 cell: "
    )
    assert kind + said in html.unescape(page) and "no per-example outputs (stored before" not in page

    from mbert_eval.report.text_table import format_results

    table = format_results(store, per_seed=True)  # the console's table shows each row's own interval
    [line] = [line for line in table.splitlines() if " tlm " in line and " de " in line and " 1 " in line]
    assert "[" not in line and "[" in next(line for line in table.splitlines() if " tlm " in line and " fr " in line)
    assert f"no 95% CI for {len(seeds)} row(s): their per-example outputs do not give their scores back" in table


def test_the_paired_bootstrap_marks_real_and_not_significant_differences(tmp_path):
    from mbert_eval.metrics.bootstrap import paired_bootstrap

    store = build_store(tmp_path)
    scores = _summary(store).scores.set_index(["method", "target"])
    stacks = {
        method: np.stack([_outputs(store, f"xnli-{method}-{seed}", "de").array() for seed in (1, 2, 3)])
        for method in GAINS
    }
    for method, verdict in (("tlm", "better"), ("tlm+align", "same")):
        expected = paired_bootstrap(stacks[method], stacks["baseline"], "mean")
        got = scores.loc[(method, "de")]
        assert got["p_value"] == expected.p_value and got["verdict"] == verdict
        assert got["delta"] == pytest.approx(expected.delta, abs=1e-12)
        assert expected.significant() == (verdict == "better")
    page = _page(store, tmp_path)
    assert f"Δ {100 * scores.loc[('tlm', 'de'), 'delta']:+.1f}*" in page
    assert f"Δ {100 * scores.loc[('tlm+align', 'de'), 'delta']:+.1f} n.s." in page
    assert 'class="delta-cell ns"' in page and "(not significant)" in page  # the heatmap's struck-through cells


def test_targets_only_mean_beside_the_all_languages_mean(tmp_path):
    store = build_store(tmp_path, seeds=(1,))
    summary = _summary(store)
    averages = summary.averages.set_index("method")
    scores = summary.scores[summary.scores["method"] == "baseline"].set_index("target")["mean"]
    assert averages.loc["baseline", "targets_mean"] == pytest.approx(scores.drop(SOURCE).mean())
    assert averages.loc["baseline", "mean"] == pytest.approx(scores.mean())
    assert scores[SOURCE] > scores.drop(SOURCE).max()  # why it matters: in-language lifts the plain mean
    family = summary.groups["family"].query("method == 'baseline'").set_index("group")
    european = [code for code in TARGETS if summary.languages.loc[code, "family"] == "Indo-European"]
    assert family.loc["Indo-European", "n_total"] == len(european) == 5  # English, the source, left out
    assert family.loc["Indo-European", "mean"] == pytest.approx(scores[european].mean())
    page = _page(store, tmp_path)
    assert "targets = mean over the zero-shot target languages only; all = mean over every language" in page
    targets = f'data-value="{averages.loc["baseline", "targets_mean"]}" title="plain mean over 7 target languages">'
    assert targets + f"{100 * scores.drop(SOURCE).mean():.1f}<" in page


def test_models_by_display_name_full_paths_only_in_the_metadata(tmp_path):
    from mbert_eval.report.names import display_names

    store = build_store(tmp_path, seeds=(1,))
    page = _page(store, tmp_path)
    main = page[: page.index('<section id="metadata">')]
    assert MODEL not in main and "mbert-base" in main and MODEL in page[page.index('<section id="metadata">') :]
    frame = store.dataframe().head(3).copy()
    frame["model"] = ["/a/x/ckpt", "/b/y/ckpt", "bert-base-multilingual-cased"]
    frame["extra"] = [{}, {}, {}]
    assert display_names(frame) == {
        "/a/x/ckpt": "x/ckpt",
        "/b/y/ckpt": "y/ckpt",
        "bert-base-multilingual-cased": "bert-base-multilingual-cased",
    }
    frame["extra"] = [{"model_name": "mBERT-x"}, {}, {}]
    assert display_names(frame)["/a/x/ckpt"] == "mBERT-x"


def test_a_limited_run_is_marked_in_the_page_each_table_and_the_results_table(tmp_path):
    from mbert_eval.report.text_table import format_results

    store = build_store(tmp_path, seeds=(1,), limit=5)
    page = _page(store, tmp_path)
    note = "limited run: 5 examples per split — not comparable to full runs"
    assert 'id="limited-run"' in page and f"xnli: accuracy (%) by language — {note}" in page
    assert format_results(store).startswith(note)
    assert 'id="limited-run"' not in _page(build_store(tmp_path / "full", seeds=(1,)), tmp_path / "full")
    build_store(tmp_path, seeds=(2,), limit=8)  # another limit in the same store: both named, not the largest alone
    notes = "limited runs: 5, 8 examples per split — not comparable to full runs"
    assert f"This store holds {notes}" in _page(store, tmp_path) and format_results(store).startswith(notes)


def test_display_names_and_method_names_are_escaped_in_every_view(tmp_path):
    import dataclasses

    from tests.helpers import EVIL

    store = build_store(tmp_path, seeds=(1, 2), model_name=EVIL)
    store.write_cell(  # a method named like a script tag, in the table, the bars and the Δ heatmap
        [
            dataclasses.replace(
                row,
                cell_key=row.cell_key + "-evil",
                method=EVIL,
                extra={key: value for key, value in row.extra.items() if key != "examples"},  # no file of its own
            )
            for row in store.rows(method="tlm")
        ]
    )
    page = _page(store, tmp_path, EVIL)
    assert EVIL not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    assert "Welch&#39;s t-test over the seeds" in page  # the copied method has no files: its 2 seeds are tested
    for view in ('<svg class="chart"', 'class="delta-cell'):
        assert "&lt;script&gt;" in page[page.index(view) : page.index("</svg>", page.index(view))]


def test_layer_weights_start_at_zero_with_the_uniform_line():
    from mbert_eval.report.charts import Series, line_chart

    weights = [1 / 13 + (i - 6) * 1e-5 for i in range(13)]
    svg = str(line_chart("w", [Series("m", weights)], "layer", "weight", False, zero_based=True, guide=(1 / 13, "u")))
    assert '">0</text>' in svg and "stroke-dasharray" in svg


def test_models_of_other_depths_get_their_own_uniform_line(tmp_path):
    """Uniform weights of a 4-layer model and of a 13-layer one: each is drawn in a chart of its own depth, against
    its own 1/L (one chart with the guide at 1/13 made the 4-layer model's 0.25 look far from uniform)."""
    from dataclasses import replace

    from mbert_eval.report.figures import layer_weights
    from mbert_eval.report.summary import summarize

    store = ResultStore(tmp_path / "results.sqlite")
    for model, depth in (("small", 4), ("big", 13)):
        row = ResultRow(model, "pos", "accuracy", model, "mix", "en", "de", 1, 0.8, 9, "h", "v")
        store.write_cell([replace(row, extra={"layer_weights": [1 / depth] * depth})])
    [pos] = summarize(store.dataframe(), store.metric_roles(), store.configs())
    figures = layer_weights(pos)
    assert [figure.caption.split("(")[1].split(")")[0] for figure in figures] == ["4 weights", "13 weights"]
    assert "uniform 1/4" in str(figures[0].svg) and "uniform 1/13" not in str(figures[0].svg)
    assert "uniform 1/13" in str(figures[1].svg) and "small" not in str(figures[1].svg)


def test_report_views_and_formats_are_registries(tmp_path, monkeypatch):
    from markupsafe import Markup

    from mbert_eval.errors import UserError
    from mbert_eval.report import EXPORTS, FORMATS, render_report
    from mbert_eval.report.figures import VIEWS, Figure, View

    assert FORMATS == ("html", "csv", "md", "latex", "json") and set(EXPORTS.names()) == set(FORMATS)
    assert {"bars", "delta-heatmap", "layer-weights"} <= set(VIEWS.names())
    store = build_store(tmp_path, seeds=(1,))
    monkeypatch.setitem(
        VIEWS._entries, "marker", (View(99, lambda s: [Figure("marker view", Markup("<svg id='m'></svg>"))]), "")
    )
    assert "marker view" in render_report(store, "t")
    with pytest.raises(UserError, match="unknown report format 'pdf'"):
        render_report(store, "t", "pdf")


def test_durations_round_before_splitting():
    from mbert_eval.report.metadata import _duration

    assert [_duration(s) for s in (5, 59.96, 899.6, 3599.7, 7200)] == [
        "5.0 s",
        "1 min 0 s",
        "15 min 0 s",
        "1.0 h",
        "2.0 h",
    ]


READ_LAYOUT = """(() => {
  const main = Array.from(document.querySelectorAll("table")).find(
    (t) => t.caption && t.caption.textContent.startsWith("xnli: accuracy (%) by language"));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clipped: Array.from(document.querySelectorAll(".wrap")).filter((w) => w.scrollWidth > w.clientWidth).length,
    methods: Array.from(main.tBodies[0].rows).map((r) => r.cells[0].textContent),
    headers: Array.from(main.tHead.rows[1].cells).map((c) => c.textContent),
    significant: main.querySelectorAll("td.better small.detail").length,
    notSignificant: Array.from(main.querySelectorAll("td.same small.detail")).filter(
      (s) => s.textContent.endsWith("n.s.")).length,
    heatmapCells: document.querySelectorAll("rect.delta-cell").length,
    whiskers: document.querySelectorAll("path.whisker").length,
    chance: document.querySelectorAll("line.chance").length,
  };
})()"""


@pytest.mark.slow
def test_three_methods_on_eight_languages_fit_1400_pixels_in_headless_chromium(tmp_path):
    """The page a researcher opens: methods as rows, the Δ heatmap, whiskers and significance marks, no horizontal
    scroll at 1,400 px, a clean console, nothing requested; the screenshot is left at /tmp/report-1400.png."""
    from tests.report.browser import find_chromium, screenshot

    if find_chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    store = build_store(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(_page(store, tmp_path, "3 methods × 8 languages"), encoding="utf-8")
    visit = screenshot(page, Path("/tmp/report-1400.png"), 1400, 900, evaluate=READ_LAYOUT, full_page=True)
    assert visit.console_errors == [] and visit.dialogs == [] and visit.requests == [visit.url]
    dom = visit.value
    assert dom["scrollWidth"] <= 1400 and dom["clipped"] == 0
    assert dom["methods"] == ["baseline", "tlm", "tlm+align"]
    assert [h.split(" n=")[0] for h in dom["headers"][:8]] == [*sorted(TARGETS), SOURCE]
    assert all(h.endswith(f"n={EXAMPLES}") for h in dom["headers"][:8])
    assert dom["significant"] == 7 and dom["notSignificant"] == 9  # tlm: 7 of 8 (ru: 3 seeds too spread to tell)
    assert dom["heatmapCells"] == 2 * 8 and dom["whiskers"] == 3 * 8 and dom["chance"] == 1


def test_a_table_that_mixes_configs_says_which_cells_come_from_which(tmp_path):
    import shutil

    path = tmp_path / "old.sqlite"  # two runs of the methods-e5 grid under two configs, before intervals were kept
    shutil.copy(Path(__file__).resolve().parent.parent / "fixtures" / "store-2026-12-03.sqlite", path)
    page = _page(ResultStore(path), tmp_path)
    assert (
        "Cells from more than one config (see Run metadata): baseline, freeze3 from config f93c4e263ded7443; "
        "align, mix, scratch, tlm, tlm+align from config dd75c3afc249949a." in page
    )
    assert "No ± on" not in page and "one standard deviation over seeds" in page


def test_a_limited_run_is_never_averaged_with_the_full_run_of_the_same_cells(tmp_path):
    import dataclasses

    from mbert_eval.report.summary import summarize
    from mbert_eval.report.text_table import format_results

    store = build_store(tmp_path, seeds=(1,), files=False)
    limited = [
        dataclasses.replace(row, cell_key=f"{row.cell_key}-limited", score=0.0, extra={**row.extra, "limit": 5})
        for row in store.rows()
    ]
    store.write_cell(limited)
    table = format_results(store)
    full_line = next(line for line in table.splitlines() if " tlm " in f" {line} " and " de " in f" {line} ")
    full = next(r for r in store.rows() if r.method == "tlm" and r.target == "de" and "limit" not in r.extra)
    assert f"{100 * full.score:.1f}" in full_line.split() and "±" not in full_line  # not averaged with the zeros
    assert any("tlm (limit 5)" in line and " de " in f" {line} " for line in table.splitlines())
    (summary,) = summarize(store.dataframe(), store.metric_roles(), [])
    assert {"tlm", "tlm (limit 5)", "baseline (limit 5)"} <= set(summary.scores["method"])


def test_a_limited_run_alone_keeps_its_reference_method():
    from mbert_eval.report.references import task_references
    from mbert_eval.store.results import StoredConfig

    config = StoredConfig(
        "h", "x", {"tasks": {"xnli": {}}, "methods": [{"name": "baseline"}, {"name": "tlm"}]}, "baseline"
    )
    shown = {name: name.split(" (", 1)[0] for name in ("baseline (limit 5)", "tlm (limit 5)")}
    alone = task_references("xnli", shown, [config])
    assert (alone.main, alone.note, alone.of("tlm (limit 5)")) == ("baseline (limit 5)", "", "baseline (limit 5)")
    both = task_references("xnli", {**shown, "baseline": "baseline"}, [config])
    assert both.main == "baseline" and both.of("tlm (limit 5)") == "baseline (limit 5)"
    assert both.of("baseline (limit 5)") is None and both.is_reference("baseline (limit 5)")


def test_centred_rows_are_named_apart_from_plain_rows_of_the_same_cells(tmp_path):
    import dataclasses

    from mbert_eval.report.summary import summarize

    store = build_store(tmp_path, seeds=(1,), files=False)
    store.write_cell(
        [
            dataclasses.replace(row, cell_key=f"{row.cell_key}-c", score=1.0, extra={**row.extra, "centered": True})
            for row in store.rows()
            if row.method == "baseline"
        ]
    )
    (summary,) = summarize(store.dataframe(), store.metric_roles(), [])
    scores = summary.scores
    assert {"baseline", "baseline (centred)"} <= set(scores["method"])
    plain = scores[(scores["method"] == "baseline") & (scores["target"] == "de")]["mean"]
    assert float(plain.iloc[0]) < 1.0  # not averaged with the centred run's 1.0


def test_l_way_identity_rows_are_named_apart_from_pairwise_rows_of_the_same_cells(tmp_path):
    """Rows of one classifier over L languages (chance 1/L) are another measurement than the source-or-target
    rows of the same cell coordinates (chance 1/2): their own method, never averaged with them."""
    import dataclasses

    from mbert_eval.report.names import with_display_names
    from mbert_eval.report.summary import summarize

    store = build_store(tmp_path, seeds=(1,), files=False)
    store.write_cell(
        [
            dataclasses.replace(row, cell_key=f"{row.cell_key}-l", score=0.1, extra={**row.extra, "all_languages": 8})
            for row in store.rows()
            if row.method == "baseline"
        ]
    )
    frame = with_display_names(store.dataframe())
    assert (frame.loc[frame["method"] == "baseline (8-way)", "score"] == 0.1).all()
    (summary,) = summarize(store.dataframe(), store.metric_roles(), [])
    scores = summary.scores
    assert {"baseline", "baseline (8-way)"} <= set(scores["method"])
    plain = scores[(scores["method"] == "baseline") & (scores["target"] == "de")]["mean"]
    assert float(plain.iloc[0]) > 0.1  # not averaged with the L-way run's 0.1


def test_each_score_without_an_interval_says_why_and_a_majority_guess_is_named(tmp_path):
    """CKA keeps no per-example outputs (no sum over examples): its table says so, not "stored before"; a probe's
    chance is the majority guess, which differs by language: the note names the rule and gives the range, and the
    bars draw no single chance line but give the range in the caption."""
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(tmp_path / "results.sqlite")
    chances = {"de": 0.578, "fr": 0.573, "en": 0.6}
    rows = []
    for target, chance in chances.items():
        rows.append(
            ResultRow(
                "probe", "pawsx_probe", "accuracy", MODEL, "baseline", SOURCE, target, 1, 0.6, 300, "h", "v",
                extra={"chance": chance, "majority_label": 0},
            )
        )  # fmt: skip
        if target != SOURCE:
            rows.append(ResultRow("cka", "similarity", "cka", MODEL, "baseline", SOURCE, target, 1, 0.8, 200, "h", "v"))
    store.write_cell(rows)
    store.write_metric_roles(metric_roles(["pawsx_probe", "similarity"]))
    page = html.unescape(_page(store, tmp_path))
    parts = page.split('<section id="task-')[1:]
    cka, probe = (next(part for part in parts if f"<h2>{task}<" in part) for task in ("similarity", "pawsx_probe"))
    assert "No ± on every cell: its score is no sum over examples (linear CKA takes all sentences at once)" in cka
    assert "stored before" not in cka and "mean over 1 seed; no interval: its score is no sum over examples" in cka
    assert "Chance level (always the training data's most frequent label): 57.3–60.0 by language." in probe
    assert "chance 57.3–60.0 by language, no line drawn" in probe and 'class="chance"' not in probe
    assert "uniform guessing" not in probe
    import pandas as pd

    from mbert_eval.report import write_report
    from mbert_eval.report.uncertainty import CHANCE_RULES, NOT_PER_EXAMPLE

    csv = pd.read_csv(write_report(store, tmp_path / "r.csv", "t", "csv"), keep_default_na=False, na_values=[""])
    targets = csv[csv["kind"] == "target"].set_index("task")  # the exports say the same, a column each
    assert set(targets.loc["similarity", "ci_why"]) == {NOT_PER_EXAMPLE}
    assert targets.loc["similarity", "chance_rule"].isna().all()  # no chance level, so no rule
    assert set(targets.loc["pawsx_probe", "chance_rule"]) == {CHANCE_RULES["majority"]}
