"""The reporter: numbers (mean ± std, Δ, gap, XTREME average with missing languages), escaping, CLI.

The store comes from a real small grid (POS over a synthetic family, the source language evaluated
too), plus rows written by hand for what the grid cannot produce yet: more seeds, a second method
with layer-mixing weights, a second task, a missing language, retrieval with per-layer scores, a
second source and a second model whose name is an HTML script tag.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mbert_eval.languages import Language
from mbert_eval.store.results import ResultRow, ResultStore
from tests.helpers import family_experiment, write_config

EVIL = "<script>alert(1)</script>"
EXTRA_CODE = "qad"  # a fourth language, evaluated by the baseline only; its name is EVIL in the report
# pytest registers imported fixtures once per importing module; this keeps the grid to one run a session.
_SESSION: dict[str, object] = {}


@pytest.fixture(scope="session")
def grid_config(tmp_path_factory, small_family, tiny_model) -> Path:
    """A real POS grid (one cell, training data cut short), run: source qaa, every language a target."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.run import run_experiment

    if "grid" in _SESSION:
        return _SESSION["grid"]
    folder = tmp_path_factory.mktemp("report-grid")
    codes = [language.code for language in small_family.languages]
    raw = family_experiment(small_family, tiny_model, targets=codes, output=str(folder / "out"))
    pos = raw["tasks"]["pos"]
    raw["tasks"] = {"pos": {**pos, "train": pos["train"] + "[:32]", "dev": pos["dev"] + "[:16]"}}
    config = write_config(folder / "exp.yaml", raw)
    run_experiment(load_experiment(config)[0])
    _SESSION["grid"] = config
    return config


@pytest.fixture(scope="session")
def grid_rows(grid_config) -> list[ResultRow]:
    """The rows the real grid stored."""
    from mbert_eval.config.loading import load_experiment

    return ResultStore(load_experiment(grid_config)[0].store_path).rows()


def _copy(row: ResultRow, tag: str, **changes) -> ResultRow:
    """A copy of `row` with changes, in a new cell named by `tag` ("" keeps the row's cell)."""
    return dataclasses.replace(row, cell_key=row.cell_key + (f"-{tag}" if tag else ""), **changes)


def hand_rows(grid: list[ResultRow]) -> list[ResultRow]:
    """Rows the grid cannot make yet (see the module docstring), derived from the grid's rows."""
    pos = [r for r in grid if r.task == "pos"]
    source = pos[0].source
    rows: list[ResultRow] = []
    offsets = {2: 0.02, 3: -0.01}
    better = {"qaa": -0.08, "qab": 0.10, "qac": 0.001}  # mixing − baseline: worse, better, not distinguishable
    for row in pos:
        rows += [_copy(row, f"s{seed}", seed=seed, score=row.score + d) for seed, d in offsets.items()]
        for seed, d in {1: 0.0, **offsets}.items():
            rows.append(
                _copy(
                    row,
                    f"mix{seed}",
                    method="mixing",
                    seed=seed,
                    score=row.score + d + better[row.target],
                    extra={**row.extra, "layer_weights": [0.2, 0.5, 0.3]},
                )
            )
        if row.target == source:
            for seed, d in {1: 0.0, **offsets}.items():
                rows.append(_copy(row, f"s{seed}" if seed > 1 else "", target=EXTRA_CODE, seed=seed, score=0.3 + d))
        rows.append(_copy(row, "src2", source="qab", score=row.score / 2))
        rows.append(_copy(row, "evil", model=EVIL, score=row.score * 0.9))
    for row in pos:  # a second task with one seed per method: Δ without spread
        rows.append(_copy(row, "para", task="paraphrase", score=0.5 + row.score / 4))
        rows.append(_copy(row, "para-mix", task="paraphrase", method="mixing", score=0.55 + row.score / 4))
    for i, row in enumerate(r for r in pos if r.target != source):
        scores = {
            "accuracy": 0.4 + i / 10,
            "accuracy_to_pivot": 0.5,
            "accuracy_from_pivot": 0.3 + i / 10,
            "accuracy_layer00": 0.1,
            "accuracy_layer01": 0.3 + i / 10,
            "accuracy_layer02": 0.2,
        }
        rows += [
            _copy(row, "tatoeba", task="tatoeba", metric=metric, score=score, extra={"device": "cpu"})
            for metric, score in scores.items()
        ]
    return rows


@pytest.fixture(scope="session")
def rich_store(tmp_path_factory, grid_config, grid_rows) -> ResultStore:
    """The grid's rows plus `hand_rows`, in a fresh store that describes itself as a run's store does: the grid's
    config, and the metric roles of every task."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.run import metric_roles

    if "store" not in _SESSION:
        store = ResultStore(tmp_path_factory.mktemp("report-store") / "results.sqlite")
        store.write_cell(grid_rows + hand_rows(grid_rows))
        for config in ResultStore(load_experiment(grid_config)[0].store_path).configs():
            store.write_config(config)
        store.write_metric_roles(metric_roles(sorted({row.task for row in store.rows()})))
        _SESSION["store"] = store
    return _SESSION["store"]


@pytest.fixture
def evil_language(monkeypatch):
    """The language table names EXTRA_CODE `<script>alert(1)</script>` for the duration of a test."""
    from mbert_eval.report import summary

    original = summary.lookup

    def lookup(code: str) -> Language:
        if code == EXTRA_CODE:
            return Language(code, None, code, EVIL, "Qaaa", "Synthetic", "Synthetic", ())
        return original(code)

    monkeypatch.setattr(summary, "lookup", lookup)


def seed_stats(store: ResultStore, **key) -> tuple[float, float, int]:
    """mean, sample std and seed count straight from the store, for comparison with the report."""
    scores = [r.score for r in store.rows(**key)]
    return float(np.mean(scores)), float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan"), len(scores)


def summaries(store: ResultStore) -> dict:
    """The store's task summaries by task, with its metric roles and configs (as the report reads them)."""
    from mbert_eval.report.summary import summarize

    return {s.task: s for s in summarize(store.dataframe(), store.metric_roles(), store.configs())}


def test_summary_numbers(rich_store, evil_language):
    pos = summaries(rich_store)["pos"]
    model = next(m for m in pos.values("model") if m != EVIL)
    assert pos.values("method") == ["baseline", "mixing"] and pos.values("source") == ["qaa", "qab"]
    assert list(pos.languages.index) == ["qaa", "qab", "qac", EXTRA_CODE]
    scores = pos.scores.set_index(["model", "method", "source", "target"])
    for method in ("baseline", "mixing"):
        for target in ("qab", "qac"):
            mean, std, n = seed_stats(
                rich_store, task="pos", metric="accuracy", model=model, method=method, source="qaa", target=target
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
    # POS's second metric has its own table, labelled: which number is XTREME's and which is the main one
    assert "pos: other metrics by target language" in page
    assert "xtreme_f1: seqeval F1 over UPOS sequences" in page and "accuracy: word accuracy (main metric)" in page


def test_exports_round_trip(rich_store, tmp_path):
    import json

    import pandas as pd

    from mbert_eval.report import write_report

    csv = pd.read_csv(write_report(rich_store, tmp_path / "r.csv", "t", "csv"), keep_default_na=False, na_values=[""])
    records = json.loads(write_report(rich_store, tmp_path / "r.json", "t", "json").read_text())["records"]
    for table in (csv, pd.DataFrame(records)):
        targets = table[(table["kind"] == "target") & table["mean"].notna()]
        assert len(targets) == 21
        for row in targets.itertuples():
            mean, std, n = seed_stats(
                rich_store,
                task=row.task,
                metric=row.metric,
                model=row.model,
                method=row.method,
                source=row.source,
                target=row.target,
            )
            assert row.n_seeds == n and row.mean == pytest.approx(mean, rel=1e-14, abs=0)
            if n == 1:  # one seed: the stored float itself, to the last bit
                assert row.mean == mean
            assert (np.isnan(std) and pd.isna(row.std)) or row.std == pytest.approx(std, rel=1e-12)
        others = table[table["kind"] == "other_metric"]
        assert set(others["metric"]) == {"xtreme_f1"} and len(others) > 0
        for row in others.itertuples():
            mean, _, n = seed_stats(
                rich_store,
                task=row.task,
                metric=row.metric,
                model=row.model,
                method=row.method,
                source=row.source,
                target=row.target,
            )
            assert row.n_seeds == n and row.mean == pytest.approx(mean, rel=1e-14, abs=0)
        assert set(table["kind"]) == {
            "target",
            "average",
            "family",
            "script",
            "layer",
            "layer_weight",
            "other_metric",
            "xtreme_task",
            "xtreme_average",
        }  # the rich store holds pos and tatoeba
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
    assert r"\<script\>alert(1)\</script\>" in markdown and "| Average (4 languages) |" in markdown


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
    from mbert_eval.grid.run import stored_config
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
    assert "reference method: reference" in page and ">Δ</th>" in page and "+10.0" in page
    assert "no reference method" not in page


def test_no_reference_method_no_delta_and_a_note(tmp_path):
    """A store without configs whose methods include none called baseline: no Δ, and the page says why."""
    from mbert_eval.report import write_report

    store = _two_method_store(tmp_path / "r.sqlite", ("first", "second"))
    pos = summaries(store)["pos"]
    assert pos.reference is None and pos.scores["delta"].isna().all() and pos.guessed
    page = write_report(store, tmp_path / "r.html", "t").read_text(encoding="utf-8")
    assert ">Δ</th>" not in page and "No Δ for pos: there is no reference method" in page
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
    first = Regressions(None, "", {}, [])
    page = write_report(store, tmp_path / "r.html", "t", regressions=first).read_text(encoding="utf-8")
    assert "First run of this job" in page and "Compared with run" not in page
