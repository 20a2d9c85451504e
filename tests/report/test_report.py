"""The reporter: numbers (mean ± std, Δ, gap, XTREME average with missing languages), escaping, CLI.

The store comes from a real small grid (POS over a synthetic family, the source language evaluated
too), plus rows written by hand for what the grid cannot produce yet: more seeds, a second method
with layer-mixing weights, a second task, a missing language, retrieval with per-layer scores, a
second source and a second model whose name is an HTML script tag.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mbert_eval.store.results import ResultRow, ResultStore
from tests.helpers import EVIL, EXTRA_CODE, seed_stats


def summaries(store: ResultStore) -> dict:
    """The store's task summaries by task, with its metric roles and configs (as the report reads them)."""
    from mbert_eval.report.summary import summarize

    return {s.task: s for s in summarize(store.dataframe(), store.metric_roles(), store.configs())}


def test_summary_numbers(rich_store, evil_language):
    pos = summaries(rich_store)["pos"]
    stored = next(r.model for r in rich_store.rows() if r.model != EVIL)  # a local path: shown by its folder name
    model = Path(stored).name
    assert pos.values("model") == sorted([model, EVIL])
    assert pos.values("method") == ["baseline", "mixing"] and pos.values("source") == ["qaa", "qab"]
    assert list(pos.languages.index) == ["qaa", "qab", "qac", EXTRA_CODE]
    scores = pos.scores.set_index(["model", "method", "source", "target"])
    for method in ("baseline", "mixing"):
        for target in ("qab", "qac"):
            mean, std, n = seed_stats(
                rich_store, task="pos", metric="accuracy", model=stored, method=method, source="qaa", target=target
            )
            got = scores.loc[(model, method, "qaa", target)]
            assert got["mean"] == pytest.approx(mean, abs=1e-12) and got["std"] == pytest.approx(std, abs=1e-12)
            assert got["n"] == n == 3
    verdicts = {t: scores.loc[(model, "mixing", "qaa", t), "verdict"] for t in ("qaa", "qab", "qac")}
    assert verdicts == {"qaa": "worse", "qab": "better", "qac": "same"}
    missing = scores.loc[(model, "mixing", "qaa", EXTRA_CODE)]
    assert np.isnan(missing["mean"]) and missing["n"] == 0
    source_mean = scores.loc[(model, "baseline", "qaa", "qaa"), "mean"]
    assert scores.loc[(model, "baseline", "qaa", "qab"), "gap"] == pytest.approx(
        source_mean - scores.loc[(model, "baseline", "qaa", "qab"), "mean"]
    )
    averages = pos.averages.set_index(["model", "method", "source"])
    full, partial = averages.loc[(model, "baseline", "qaa")], averages.loc[(model, "mixing", "qaa")]
    assert not full["partial"] and full["n_present"] == 4
    assert full["mean"] == pytest.approx(scores.loc[(model, "baseline", "qaa"), "mean"].mean())
    assert partial["partial"] and partial["missing"] == [EXTRA_CODE] and partial["n_present"] == 3
    # its targets-only mean covers 2 of the 3 targets and says so; its Δ would compare means over other languages
    assert partial["targets_partial"] and partial["targets_missing"] == [EXTRA_CODE]
    assert (partial["n_targets"], partial["n_targets_total"]) == (2, 3) and not full["targets_partial"]
    assert np.isnan(partial["delta"]) and partial["verdict"] == ""
    assert averages.loc[(EVIL, "baseline", "qaa"), "partial"]  # the second model lacks qad
    family = pos.groups["family"].set_index(["model", "method", "source", "group"])
    assert family.loc[(model, "mixing", "qaa", "Synthetic"), "partial"]
    paraphrase = summaries(rich_store)["paraphrase"]
    assert set(paraphrase.scores.query("method == 'mixing'")["verdict"]) == {"unknown"}  # one seed each
    tatoeba = summaries(rich_store)["tatoeba"]
    assert sorted(set(tatoeba.layers["layer"])) == [0, 1, 2]
    assert np.isnan(tatoeba.scores["gap"]).all()  # the source was not evaluated: no gap is invented
    weights = pos.layer_weights.query("method == 'mixing'")
    assert list(weights["weight"][:3]) == pytest.approx([0.2, 0.5, 0.3])


def test_html_is_self_contained_and_escaped(rich_store, evil_language, tmp_path):
    from mbert_eval.report import write_report

    page = write_report(rich_store, tmp_path / "r.html", f"title {EVIL}").read_text(encoding="utf-8")
    assert EVIL not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    assert len(re.findall(r"<script\b", page)) == 1  # the page's own sorting script
    assert not re.search(r"(src|href)=\"(?!#)", page) and "http://" not in page and "https://" not in page
    assert "<svg" in page and "Content-Security-Policy" in page and "partial 3/4" in page
    assert "partial 2/3" in page and "partial: 2 of 3 target languages; missing: " in page  # mixing's targets mean
    # POS's second metric has its own table, labelled: which number is XTREME's and which is the main one
    assert "pos: other metrics (%) by language" in page
    assert "xtreme_f1: seqeval F1 over UPOS sequences" in page and "accuracy: word accuracy (main metric)" in page


def test_one_store_gives_one_page_byte_for_byte(rich_store, tmp_path):
    from mbert_eval.report import write_report

    first = write_report(rich_store, tmp_path / "first.html", "t").read_bytes()
    assert write_report(rich_store, tmp_path / "again.html", "t").read_bytes() == first
    newest = max(row.created_at for row in rich_store.rows())  # the page's time is the store's, not the clock's
    assert f"newest written {newest}" in first.decode()


def test_exports_round_trip(rich_store, tmp_path):
    import json

    import pandas as pd

    from mbert_eval.report import write_report

    csv = pd.read_csv(write_report(rich_store, tmp_path / "r.csv", "t", "csv"), keep_default_na=False, na_values=[""])
    assert {"mean (fraction)", "std (fraction)", "ci_low (fraction)", "n_examples"} <= set(csv.columns)
    csv = csv.rename(columns=lambda column: column.removesuffix(" (fraction)"))
    document = json.loads(write_report(rich_store, tmp_path / "r.json", "t", "json").read_text())
    records = document["records"]
    assert document["units"]["mean"] == "fraction (0-1), rounded to 4 decimals"
    paths = {Path(r.model).name: r.model for r in rich_store.rows()}
    for table in (csv, pd.DataFrame(records)):
        targets = table[(table["kind"] == "target") & table["mean"].notna()]
        assert len(targets) == 21
        for row in targets.itertuples():
            mean, std, n = seed_stats(
                rich_store,
                task=row.task,
                metric=row.metric,
                model=paths.get(row.model, row.model),
                method=row.method,
                source=row.source,
                target=row.target,
            )
            assert row.n_seeds == n and row.mean == round(mean, 4)  # four decimals, no float noise
            assert (np.isnan(std) and pd.isna(row.std)) or row.std == round(std, 4)
        others = table[table["kind"] == "other_metric"]
        assert set(others["metric"]) == {"xtreme_f1", "accuracy_from_pivot", "accuracy_to_pivot"} and len(others) > 0
        for row in others.itertuples():
            mean, _, n = seed_stats(
                rich_store,
                task=row.task,
                metric=row.metric,
                model=paths.get(row.model, row.model),
                method=row.method,
                source=row.source,
                target=row.target,
            )
            assert row.n_seeds == n and row.mean == round(mean, 4)
        assert set(table["kind"]) == {
            "target",
            "average",
            "family",
            "script",
            "layer",
            "layer_weight",
            "other_metric",
        }  # the rich store holds pos and tatoeba, on synthetic languages: no XTREME score
        mixing = table[(table["kind"] == "average") & (table["method"] == "mixing") & (table["task"] == "pos")]
        # the targets-only mean of mixing misses one of 3 targets: its coverage is in the record
        assert set(zip(mixing["n_targets"], mixing["n_targets_total"])) >= {(2, 3)}
    assert EVIL in set(csv["model"])


def _tabular_problems(latex: str) -> list[str]:
    """Structural checks standing in for a TeX run: balanced braces, cells per row, no raw specials."""
    problems = []
    text = re.sub(r"\\[{}&%$#_]", "", latex)
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            problems.append("unbalanced }")
    if depth:
        problems.append("unbalanced {")
    for body in re.findall(r"\\begin\{tabular\}\{([lr]+)\}(.*?)\\end\{tabular\}", latex, re.DOTALL):
        width = len(body[0])
        for line in body[1].strip().splitlines():
            if line.endswith(r"\\"):
                spans = sum(int(n) - 1 for n in re.findall(r"\\multicolumn\{(\d+)\}", line))
                cells = len(re.findall(r"(?<!\\)&", line)) + 1 + spans
                if cells != width:
                    problems.append(f"{cells} cells, {width} columns: {line}")
        if "<" in body[1] or re.search(r"(?<!\\)[_#%]", body[1]):
            problems.append("unescaped special character")
    return problems


def test_latex_and_markdown(rich_store, evil_language, tmp_path):
    from mbert_eval.report import write_report

    latex = write_report(rich_store, tmp_path / "r.tex", "t", "latex").read_text(encoding="utf-8")
    assert latex.count(r"\begin{tabular}") == latex.count(r"\bottomrule") >= 10
    assert r"\toprule" in latex and r"\cmidrule(lr)" in latex and r"$\pm$" in latex
    assert r"\textless{}script\textgreater{}" in latex
    assert _tabular_problems(latex) == []
    markdown = write_report(rich_store, tmp_path / "r.md", "t", "md").read_text(encoding="utf-8")
    assert r"\<script\>alert(1)\</script\>" in markdown and "| Method | zero-shot targets qab n=" in markdown


def test_cli_report(rich_store, grid_config, tmp_path):
    from mbert_eval.cli.report import report

    out = tmp_path / "x.md"
    result = CliRunner().invoke(report, ["--store", str(rich_store.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# mbert-eval report:")
    page = tmp_path / "x.html"
    args = ["--store", str(rich_store.path), "--out", str(page), "--config", str(grid_config), "--title", "T"]
    assert CliRunner().invoke(report, args).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert "(this config)" in html and "Experiment config" in html and "<title>T</title>" in html
    plain = tmp_path / "plain.html"  # the store keeps the grid's config: no --config needed to show it
    assert CliRunner().invoke(report, ["--store", str(rich_store.path), "--out", str(plain)]).exit_code == 0
    html = plain.read_text(encoding="utf-8")
    assert "Experiment config test (hash" in html and "learning_rate: 0.001" in html and "(this config)" not in html
    assert "Metric roles guessed" not in html
    missing = CliRunner().invoke(report, ["--store", str(tmp_path / "none.sqlite")])
    assert missing.exit_code != 0 and "no results store" in str(missing.exception or missing.output)


def test_empty_store(tmp_path):
    from mbert_eval.report import write_report

    store = ResultStore(tmp_path / "empty.sqlite")
    assert "No results stored yet" in write_report(store, tmp_path / "r.html", "t").read_text()
    assert write_report(store, tmp_path / "r.csv", "t", "csv").read_text().startswith("kind,task")


def test_unknown_format(rich_store, tmp_path):
    from mbert_eval.errors import UserError
    from mbert_eval.report import write_report

    with pytest.raises(UserError, match="unknown report format 'pdf'"):
        write_report(rich_store, Path(tmp_path / "r.pdf"), "t", "pdf")


def test_the_format_follows_the_out_suffix_and_dash_is_stdout(rich_store, tmp_path):
    """`.latex`, `.markdown` and `.htm` name their formats (HTML was written into them); a suffix no format is
    written to is refused in one line (`x.txt` got HTML); `--out -` writes to stdout, as `results --csv -` does
    (it wrote a file named `-`)."""
    from tests.helpers import run_cli

    for name, start in (("r.latex", "% mbert-eval report"), ("r.markdown", "# "), ("r.htm", "<!doctype html>")):
        result = run_cli("report", "--store", rich_store.path, "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_text(encoding="utf-8").lstrip().startswith(start), name
    refused = run_cli("report", "--store", rich_store.path, "--out", tmp_path / "r.txt")
    assert refused.exit_code == 2 and "no format is written to .txt files" in refused.output
    assert refused.output.count("\n") == 1 and not (tmp_path / "r.txt").exists()
    shown = run_cli("report", "--store", rich_store.path, "--out", "-", "--format", "md")
    assert shown.exit_code == 0 and shown.output.startswith("# ") and "| Model | Method |" in shown.output
    assert not Path("-").exists()


def test_lower_is_better_metrics_get_the_right_verdict():
    """AER: a method with the lower error is "better" than the baseline (the direction comes from the store's
    metric roles, which a run writes from the task)."""
    import pandas as pd

    from mbert_eval.grid.run import metric_roles
    from mbert_eval.report.summary import summarize

    rows = [
        dict(
            task="alignment",
            metric="aer",
            model="m",
            method=method,
            source="en",
            target="fr",
            seed=seed,
            score=score + 0.001 * seed,
            extra={},
            cell_key=f"{method}{seed}",
        )
        for method, score in (("baseline", 0.20), ("align", 0.10), ("worse", 0.30))
        for seed in (1, 2)
    ]
    [summary] = summarize(pd.DataFrame(rows), metric_roles(["alignment"]))
    verdicts = summary.scores.set_index("method")["verdict"]
    assert not summary.higher_is_better and verdicts["align"] == "better" and verdicts["worse"] == "worse"


def _two_method_store(path: Path, methods: tuple[str, str], config=None) -> ResultStore:
    """POS rows of two methods (three seeds, the second one 10 points better), optionally with a stored config."""
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(path)
    for i, method in enumerate(methods):
        for seed in (1, 2, 3):
            store.write_cell(
                [
                    ResultRow(
                        f"{method}-{seed}",
                        "pos",
                        "accuracy",
                        "m",
                        method,
                        "qaa",
                        target,
                        seed,
                        0.5 + 0.1 * i + 0.001 * seed,
                        10,
                        "h",
                        "v",
                    )
                    for target in ("qab", "qac")
                ]
            )
    if config is not None:
        store.write_config(config)
        store.write_metric_roles(metric_roles(["pos"]))
    return store


def test_the_reference_method_is_a_role_not_a_name(tmp_path):
    """A grid whose reference method is called `reference` (the config's `baseline:`) gets its Δs."""
    from mbert_eval.config.experiment import Experiment, MethodConfig, TaskConfig
    from mbert_eval.grid.resolve import stored_config
    from mbert_eval.report import write_report

    experiment = Experiment(
        tasks={"pos": TaskConfig()},
        methods=[MethodConfig.from_name("tlm"), MethodConfig(name="reference")],
        baseline="reference",
        name="named",
    )
    assert experiment.reference_method() == "reference"
    assert Experiment(methods=[MethodConfig.from_name("tlm"), MethodConfig()]).reference_method() == "baseline"
    assert Experiment(methods=[MethodConfig.from_name("tlm")]).reference_method() == "tlm"
    store = _two_method_store(tmp_path / "r.sqlite", ("reference", "tlm"), stored_config(experiment))
    pos = summaries(store)["pos"]
    assert pos.reference == "reference" and pos.values("method") == ["reference", "tlm"]
    tlm = pos.scores[pos.scores["method"] == "tlm"]
    assert tlm["delta"].to_numpy() == pytest.approx([0.1, 0.1]) and set(tlm["verdict"]) == {"better"}
    assert pos.averages.set_index("method").loc["tlm", "delta"] == pytest.approx(0.1)
    page = write_report(store, tmp_path / "r.html", "t").read_text(encoding="utf-8")
    assert "reference method: reference" in page and "Δ +10.0" in page
    assert "no per-example outputs to resample; Welch&#39;s t-test over the seeds, p = 0.000" in page
    assert "no reference method" not in page


def test_no_reference_method_no_delta_and_a_note(tmp_path):
    """A store without configs whose methods include none called baseline: no Δ, and the page says why."""
    from mbert_eval.report import write_report

    store = _two_method_store(tmp_path / "r.sqlite", ("first", "second"))
    pos = summaries(store)["pos"]
    assert pos.reference is None and pos.scores["delta"].isna().all() and pos.guessed
    page = write_report(store, tmp_path / "r.html", "t").read_text(encoding="utf-8")
    assert "Δ +" not in page and "Δ −" not in page and "No Δ for pos: there is no reference method" in page
    assert "Metric roles guessed for pos" in page


def test_regressions_are_rendered_by_the_report_and_escaped(tmp_path):
    from mbert_eval.report import write_report
    from mbert_eval.report.regressions import RegressionLine, Regressions

    store = _two_method_store(tmp_path / "r.sqlite", ("baseline", "tlm"))
    found = Regressions(
        7,
        "2026-03-01T02:00:00+00:00",
        {"pos": 0.05},
        [RegressionLine("pos", f"group: {EVIL}", "baseline", "qaa", "qab", "accuracy", 0.8, 0.5, 0.05)],
    )
    page = write_report(store, tmp_path / "r.html", "t", regressions=found).read_text(encoding="utf-8")
    start = page.index("<main><section id='regressions'>")
    section = page[start : page.index("</section>", start)]
    assert "Compared with run #7 (slot 2026-03-01T02:00:00+00:00)" in section and "pos 0.0500" in section
    assert EVIL not in page and "group: &lt;script&gt;" in section and section.count("<tr>") == 2
    assert '<td class="num" data-value="0.8">0.8000</td>' in section and "0.3000" in section
    apart = Regressions(
        7, "2026-03-01T02:00:00+00:00", {"pos": 0.05}, [], [f"pos baseline qaa->qab [{EVIL}]: seeds 1 -> 2"], 3
    )
    page = write_report(store, tmp_path / "r.html", "t", regressions=apart).read_text(encoding="utf-8")
    section = page[page.index("<main><section id='regressions'>") :]
    section = section[: section.index("</section>")]
    assert "None: no score compared (3) got worse" in section and "Not compared:" in section
    assert "<li>pos baseline qaa-&gt;qab [&lt;script&gt;" in section and EVIL not in page
    none = Regressions(7, "2026-03-01T02:00:00+00:00", {"pos": 0.05}, [], ["pos baseline qaa->qab [m]: seeds 1 -> 2"])
    page = write_report(store, tmp_path / "r.html", "t", regressions=none).read_text(encoding="utf-8")
    section = page[page.index("<main><section id='regressions'>") :]
    assert "No score was compared" in section and "None: no score compared" not in section
    first = Regressions(None, "", {}, [])
    page = write_report(store, tmp_path / "r.html", "t", regressions=first).read_text(encoding="utf-8")
    assert "No earlier run of this job has scores to compare with" in page and "Compared with run" not in page


def test_transfer_gap_note_only_for_tasks_that_fine_tune(rich_store, tmp_path):
    """Tatoeba scores the pretrained encoder: no source score to ask for; a fine-tuned task without its source
    evaluated is told to add it."""
    from mbert_eval.report import write_report

    page = write_report(rich_store, tmp_path / "r.html", "t").read_text(encoding="utf-8")
    tatoeba = page[page.index("<h2>tatoeba") :]
    tatoeba = tatoeba[: tatoeba.index("</section>")]
    assert "Transfer gap not shown" not in tatoeba  # its source is not scored, and need not be
    store = _two_method_store(tmp_path / "pos.sqlite", ("baseline", "tlm"))  # POS from qaa, scored on qab and qac
    page = write_report(store, tmp_path / "pos.html", "t").read_text(encoding="utf-8")
    assert "Transfer gap not shown: the grid did not evaluate the source language Synthetic qaa (qaa) itself" in page


def test_a_task_without_rows_of_its_main_metric_is_reported_on_a_guessed_one(tmp_path):
    """Rows that hold none of the main metric the stored roles name (an older grid of the task) are reported on a
    guessed metric, saying so; the report crashed in pandas and `results` showed nothing for the task."""
    from mbert_eval.cli import main
    from mbert_eval.grid.run import metric_roles
    from mbert_eval.report import render_report

    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell(
        [
            ResultRow("c", "pos", "xtreme_f1", "m", "baseline", "en", target, 1, score, 10, "h", "v")
            for target, score in (("en", 0.9), ("de", 0.7))
        ]
    )
    store.write_metric_roles(metric_roles(["pos"]))  # accuracy is pos's main metric
    page = render_report(store, "t")
    assert "Metric roles guessed for pos (none of its rows holds its main metric, accuracy)" in page
    result = CliRunner().invoke(main, ["results", "--store", str(tmp_path / "results.sqlite")])
    assert result.exit_code == 0 and "xtreme_f1" in result.output and "70.0" in result.output, result.output


def test_a_delta_of_exactly_one_standard_deviation_is_the_same(tmp_path):
    """Δ = +1.0 point against a spread of 1.0 point is "same" by the spread rule (|Δ| ≤ one std), whichever way
    floating-point sums round it (0.7100000000000001 − 0.7 > 0.010000000000000009 said "better")."""
    store = ResultStore(tmp_path / "results.sqlite")
    for method, scores in (("baseline", (0.69, 0.70, 0.71)), ("other", (0.70, 0.71, 0.72))):
        for seed, score in enumerate(scores, 1):
            store.write_cell(
                [ResultRow(f"{method}{seed}", "pos", "accuracy", "m", method, "en", "de", seed, score, 9, "h", "v")]
            )
    [other] = summaries(store)["pos"].scores.query("method == 'other'").to_dict("records")
    assert other["delta"] == pytest.approx(0.01) and other["std"] == pytest.approx(0.01)
    assert other["verdict"] == "same"


def test_an_average_over_languages_with_different_seeds_exports_no_seed_count(tmp_path):
    """An average whose languages were not all run with the same seeds has no std over seeds, and no seed count:
    its export said n_seeds 0, though every language has scores of two seeds or more."""
    import json

    from mbert_eval.report import render_report

    store = ResultStore(tmp_path / "results.sqlite")
    for seed in (1, 2, 3):
        rows = [ResultRow(f"k{seed}", "pos", "accuracy", "m", "baseline", "en", "de", seed, 0.7, 9, "h", "v")]
        if seed < 3:  # fr lacks seed 3
            rows.append(ResultRow(f"k{seed}", "pos", "accuracy", "m", "baseline", "en", "fr", seed, 0.6, 9, "h", "v"))
        store.write_cell(rows)
    records = json.loads(render_report(store, "t", "json"))["records"]
    [average] = [r for r in records if r["kind"] == "average"]
    assert average["n_seeds"] is None and average["std"] is None
    assert {r["target"]: r["n_seeds"] for r in records if r["kind"] == "target"} == {"de": 3, "fr": 2}


def test_delta_between_methods_that_ran_different_seeds_is_over_the_seeds_both_ran(tmp_path):
    """The other method ran seeds 1-2, the baseline 1-3; per seed it is +1.0 point better. Δ was +2.0 "better" (a
    mean over seeds 1-2 minus one over 1-3); it is +1.0 over the seeds both ran, and says so. The shown means stay
    over every seed each ran."""
    import json

    from mbert_eval.report import render_report

    store = ResultStore(tmp_path / "results.sqlite")
    scores = {"baseline": (0.70, 0.72, 0.68), "other": (0.71, 0.73)}
    for method, values in scores.items():
        for seed, score in enumerate(values, 1):
            store.write_cell(
                [ResultRow(f"{method}{seed}", "pos", "accuracy", "m", method, "en", "de", seed, score, 9, "h", "v")]
            )
    pos = summaries(store)["pos"].scores.set_index("method")
    assert pos.loc["other", "delta"] == pytest.approx(0.01) and pos.loc["other", "delta_seeds"] == [1, 2]
    assert pos.loc["other", "verdict"] == "same"  # +1.0 against a spread of 1.4 over those seeds
    assert pos.loc["baseline", "mean"] == pytest.approx(0.70) and pos.loc["baseline", "std"] == pytest.approx(0.02)
    assert pos.loc["baseline", "n"] == 3
    page = render_report(store, "t")
    assert "over seeds 1, 2, the seeds both ran" in page and "is over the seeds both methods ran" in page
    [record] = [
        r
        for r in json.loads(render_report(store, "t", "json"))["records"]
        if r["method"] == "other" and r["kind"] == "target"
    ]
    assert record["delta"] == pytest.approx(0.01) and record["delta_seeds"] == "1 2"


def test_an_averages_delta_between_methods_that_ran_different_seeds_is_over_the_seeds_both_ran(tmp_path):
    """Two languages; the baseline ran seeds 1-3, the other method 1-2 and is +5.0 points better on each language
    at each of them. The average's Δ was the difference of means over all seeds each ran (−6.7, "worse", though
    every language's Δ is +5.0); it is +5.0, over the seeds both ran, as its languages' are. Without a seed in
    common, an average has no Δ, as its languages have none."""
    import json

    from mbert_eval.report import render_report

    def averages(scores: dict[str, dict[int, float]]) -> dict[str, dict]:
        store = ResultStore(tmp_path / f"{len(list(tmp_path.iterdir()))}.sqlite")
        for method, by_seed in scores.items():
            for seed, score in by_seed.items():
                store.write_cell(
                    [
                        ResultRow(
                            f"{method}{seed}", "pos", "accuracy", "m", method, "en", target, seed, score, 9, "h", "v"
                        )
                        for target in ("de", "fr")
                    ]
                )
        records = json.loads(render_report(store, "t", "json"))["records"]
        assert all(r["delta"] is None for r in records if r["method"] == "other" and r["kind"] == "target") == (
            "other" in scores and not set(scores["other"]) & set(scores["baseline"])
        )
        return {r["method"]: r for r in records if r["kind"] == "average"}

    found = averages({"baseline": {1: 0.50, 2: 0.60, 3: 0.90}, "other": {1: 0.55, 2: 0.65}})
    assert found["other"]["delta"] == pytest.approx(0.05) and found["other"]["delta_seeds"] == "1 2"
    found = averages({"baseline": {1: 0.50, 2: 0.60}, "other": {3: 0.70, 4: 0.80}})
    assert found["other"]["delta"] is None and found["other"]["verdict"] in ("", None)


def test_a_metric_that_is_no_fraction_is_shown_as_it_is(tmp_path):
    """BUCC's chosen threshold (a ratio margin near 1.07) was shown as 107.3 "%" in the other metrics table and
    `results --all-metrics`, and exported as a fraction; its role says it is none: it is shown as it is, and its
    records (and `results --csv` rows) say so. F1 stays in %."""
    import io
    import json

    import pandas as pd

    from mbert_eval.grid.run import metric_roles
    from mbert_eval.report import render_report
    from mbert_eval.report.text_table import export_rows, format_results

    store = ResultStore(tmp_path / "results.sqlite")
    scores = {"f1": 0.8123, "precision": 0.8, "recall": 0.825, "threshold": 1.0734}
    store.write_cell(
        [
            ResultRow("k", "bucc", metric, "m", "baseline", "en", "de", 1, score, 9, "h", "v")
            for metric, score in scores.items()
        ]
    )
    store.write_metric_roles(metric_roles(["bucc"]))
    assert {role.metric: role.fraction for role in store.metric_roles()}["threshold"] is False
    table = format_results(store, all_metrics=True)
    assert "1.073" in table and "107.3" not in table and "81.2" in table
    assert "shown as they are, not in %: bucc threshold" in table
    page = render_report(store, "t", "md")
    assert "| 1.073 |" in page and "107.3" not in page and "threshold is shown as it is, not in %." in page
    records = pd.read_csv(io.StringIO(render_report(store, "t", "csv")))
    other = records[records["kind"] == "other_metric"].set_index("metric")
    assert other.loc["threshold", "as_is"] == True and pd.isna(other.loc["recall", "as_is"])  # noqa: E712
    assert json.loads(render_report(store, "t", "json"))["units"]["as_is"].startswith("true: mean and std")
    exported = tmp_path / "rows.csv"
    export_rows(store, str(exported), "csv")
    rows = pd.read_csv(exported).set_index("metric")
    assert rows.loc["threshold", "as_is"] == True and pd.isna(rows.loc["f1", "as_is"])  # noqa: E712
    assert list(rows.columns).index("as_is") == list(rows.columns).index("score (fraction)") + 1


def test_a_config_that_produced_none_of_the_rows_does_not_move_the_reference(tmp_path):
    """`report --config` with a config the store lacks, naming another reference method (`baseline: freeze1`): it
    was taken as the newest config and turned every Δ around; the task's rows were produced by the stored config,
    whose reference stands. A store without a config of its rows (written before configs were kept) takes the
    given config's."""
    from mbert_eval.report.summary import summarize
    from mbert_eval.store.results import StoredConfig

    grid = {"tasks": {"pos": {}}, "methods": [{"name": "baseline"}, {"name": "freeze1"}]}
    store = _two_method_store(tmp_path / "r.sqlite", ("baseline", "freeze1"))
    produced = StoredConfig("h", "grid", grid, "baseline", "2026-01-01T00:00:00")  # the rows' config hash
    given = StoredConfig("other", "given", grid, "freeze1", "2026-02-01T00:00:00")
    [pos] = summarize(store.dataframe(), store.metric_roles(), [produced, given])
    assert pos.reference == "baseline"
    assert pos.scores.set_index("method").loc["freeze1", "delta"].tolist() == pytest.approx([0.1, 0.1])
    [pos] = summarize(store.dataframe(), store.metric_roles(), [given])
    assert pos.reference == "freeze1"
