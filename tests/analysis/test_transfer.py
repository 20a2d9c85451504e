"""Zero-shot scores of a store joined with distances, and Spearman's rho across targets (never below 4 targets)."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from mbert_eval.analysis.transfer import MEASURES, MIN_TARGETS, correlations, holm, spearman, transfer_records
from mbert_eval.analysis.typology import distances
from mbert_eval.store import ResultRow, ResultStore
from mbert_eval.store.results import MetricRole

TARGETS = ("de", "fr", "ru", "ar", "hi", "ja")
# what a run stores in a row's extra where the task's examples are words (`SourceSubwords.log`): German's only
OVERLAP = {"de": {"subword_overlap": {"type_jaccard": 0.25, "token_coverage": 0.6, "shared_types": 4}}}


def _row(
    task: str, metric: str, source: str, target: str, seed: int, score: float, extra: dict | None = None
) -> ResultRow:
    return ResultRow(
        cell_key=f"{task}-{source}-{seed}",
        task=task,
        metric=metric,
        model="m",
        method="baseline",
        source=source,
        target=target,
        seed=seed,
        score=score,
        n_examples=10,
        config_hash="h",
        code_version="0",
        extra=extra or {},
    )


def _store(tmp_path: Path, targets: tuple[str, ...], score_of) -> ResultStore:
    """POS rows from English, two seeds, the source scored too; a non-main metric row that must be ignored."""
    store = ResultStore(tmp_path / "results.sqlite")
    for seed in (1, 2):
        rows = [
            _row("pos", "accuracy", "en", target, seed, score_of(target) + seed / 100, OVERLAP.get(target))
            for target in targets
        ]
        rows += [_row("pos", "accuracy", "en", "en", seed, 0.97), _row("pos", "accuracy_layer01", "en", "de", seed, 0)]
        store.write_cell(rows)
    store.write_metric_roles(
        [MetricRole("pos", "accuracy", True, True, "accuracy"), MetricRole("pos", "accuracy_layer01", False, None)]
    )
    return store


def test_records_hold_the_mean_score_the_gap_and_every_measure(tmp_path: Path) -> None:
    store = _store(tmp_path, TARGETS, lambda target: 0.9 - distances("en", target)["syntactic"])
    records = transfer_records(store)
    assert sorted(records["target"]) == sorted(TARGETS)  # the source is no transfer target; one main metric
    german = records.set_index("target").loc["de"]
    expected = 0.9 - distances("en", "de")["syntactic"] + 0.015  # the mean over the two seeds
    assert german["score"] == pytest.approx(expected) and german["n_seeds"] == 2
    assert german["transfer_gap"] == pytest.approx(0.97 - expected)
    assert german["syntactic"] == pytest.approx(distances("en", "de")["syntactic"])
    assert (german["type_jaccard"], german["token_coverage"]) == (0.25, 0.6)
    assert records.set_index("target")["token_coverage"].drop("de").isna().all()  # not stored, not invented
    assert set(MEASURES) <= set(records.columns)


def test_each_seed_counts_once_as_in_the_reports_tables(tmp_path: Path) -> None:
    """Seed 1 run under two settings (two cells) and seed 2 under one: the score is the mean of the seeds' means,
    as the report's table beside it (before, the mean of the three rows: 0.4667 against the table's 0.6)."""
    from mbert_eval.report.summary import summarize

    store = ResultStore(tmp_path / "results.sqlite")
    for key, seed, score in (("a-1", 1, 0.2), ("b-1", 1, 0.2), ("a-2", 2, 1.0)):
        rows = [_row("pos", "accuracy", "en", "de", seed, score), _row("pos", "accuracy", "en", "en", seed, 0.9)]
        store.write_cell([dataclasses.replace(row, cell_key=key) for row in rows])
    store.write_metric_roles([MetricRole("pos", "accuracy", True, True, "accuracy")])
    german = transfer_records(store).set_index("target").loc["de"]
    assert german["score"] == pytest.approx(0.6) and german["n_seeds"] == 2
    assert german["transfer_gap"] == pytest.approx(0.3)
    [summary] = summarize(store.dataframe(), store.metric_roles(), store.configs())
    assert summary.scores.set_index("target").loc["de", "mean"] == pytest.approx(german["score"])


def test_spearman_rho_and_p_value_across_targets(tmp_path: Path) -> None:
    records = transfer_records(_store(tmp_path, TARGETS, lambda target: 0.9 - distances("en", target)["syntactic"]))
    table = correlations(records).set_index(["outcome", "measure"])
    syntactic = table.loc[("score", "syntactic")]
    assert syntactic["n_targets"] == len(TARGETS) and syntactic["rho"] == pytest.approx(-1.0)
    # the transfer gap (the one source score minus each target's) is the score mirrored: not tested twice
    assert set(table.index.get_level_values("outcome")) == {"score"}
    expected = spearmanr(records["score"], records["genetic"])
    assert table.loc[("score", "genetic"), "rho"] == pytest.approx(expected.statistic)
    assert table.loc[("score", "genetic"), "p_value"] == pytest.approx(
        _exact_p(records["score"].tolist(), records["genetic"].tolist())
    )
    assert table.loc[("score", "token_coverage"), "note"] == f"too few targets (1 < {MIN_TARGETS})"  # German's only
    unmeasured = correlations(records.assign(token_coverage=float("nan"))).set_index(["outcome", "measure"])
    assert unmeasured.loc[("score", "token_coverage"), "note"] == "token_coverage not measured for these targets"


def _exact_p(outcome: list[float], measure: list[float]) -> float:
    """Two-sided p of Spearman's rho over every pairing of the values, counted one by one."""
    observed = abs(spearmanr(outcome, measure).statistic)
    pairings = [abs(spearmanr(list(order), measure).statistic) for order in itertools.permutations(outcome)]
    return sum(rho >= observed - 1e-12 for rho in pairings) / len(pairings)


@pytest.mark.parametrize(
    "outcome, measure, p",
    [
        ([1, 2, 3, 4], [4, 3, 2, 1], 2 / 24),  # the t approximation gives 0: a perfect order of 4 is 2 pairings in 24
        ([1, 2, 3, 4, 5], [1, 2, 3, 5, 4], 10 / 120),  # rho 0.9: the t approximation's 0.037 would be "significant"
        ([3, 1, 4, 1, 5, 9], [2, 6, 5, 3, 5, 8], None),  # ties: average ranks, as spearmanr
    ],
)
def test_spearman_p_is_the_share_of_pairings_at_least_as_extreme(outcome, measure, p) -> None:
    rho, p_value = spearman(np.array(outcome, float), np.array(measure, float))
    assert rho == pytest.approx(spearmanr(outcome, measure).statistic)
    assert p_value == pytest.approx(p if p is not None else _exact_p(outcome, measure))


def test_beyond_eight_targets_p_comes_from_random_pairings_near_the_exact_one() -> None:
    outcome, measure = np.arange(10.0), np.array([1, 0, 2, 4, 3, 5, 7, 6, 9, 8], float)
    rho, p_value = spearman(outcome, measure)
    assert rho == pytest.approx(spearmanr(outcome, measure).statistic)
    assert 0 < p_value < 0.001 and spearman(outcome, measure) == (rho, p_value)  # seeded: the same each time


def test_no_rho_below_four_targets_nor_for_a_constant_measure(tmp_path: Path) -> None:
    few = correlations(transfer_records(_store(tmp_path / "few", ("de", "fr", "ja"), lambda target: 0.5 + len(target))))
    assert few["rho"].isna().all() and few["p_value"].isna().all()
    assert set(few.set_index("measure").loc[["syntactic", "genetic", "script_match"], "note"]) == {
        f"too few targets (3 < {MIN_TARGETS})"
    }
    latin = ("de", "fr", "es", "it", "nl")  # all written in Latin script, as English is
    same_script = correlations(
        transfer_records(_store(tmp_path / "latin", latin, lambda target: latin.index(target) / 10))
    )
    script = same_script.set_index(["outcome", "measure"]).loc[("score", "script_match")]
    assert script["note"] == "script_match is constant across targets" and script["rho"] != script["rho"]


def test_an_empty_store_gives_empty_tables(tmp_path: Path) -> None:
    records = transfer_records(ResultStore(tmp_path / "empty.sqlite"))
    assert records.empty and correlations(records).empty


def test_the_gap_is_turned_round_where_lower_is_better(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell([_row("alignment", "aer", "en", target, 1, aer) for target, aer in (("en", 0.1), ("de", 0.3))])
    store.write_metric_roles([MetricRole("alignment", "aer", True, False, "alignment error rate")])
    german = transfer_records(store).set_index("target").loc["de"]
    assert german["transfer_gap"] == pytest.approx(0.2)  # German aligns worse: a positive gap


def test_a_centred_run_is_its_own_method_not_averaged_with_the_plain_one(tmp_path: Path) -> None:
    import dataclasses

    store = _store(tmp_path, TARGETS, lambda target: 0.5)
    centred = [
        dataclasses.replace(row, cell_key=f"{row.cell_key}-c", score=1.0, extra={"centered": True})
        for row in store.rows(metric="accuracy")
    ]
    store.write_cell(centred)
    records = transfer_records(store)
    by_method = records.groupby("method")["score"].mean()
    assert set(by_method.index) == {"baseline", "baseline (centred)"}
    assert by_method["baseline (centred)"] == 1.0 and by_method["baseline"] == pytest.approx(0.515)


def test_holms_adjustment_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → non-decreasing: 0.04 becomes 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([]) == []


def test_each_p_value_is_adjusted_over_the_measures_of_its_outcome(tmp_path: Path) -> None:
    table = correlations(
        transfer_records(_store(tmp_path, TARGETS, lambda target: 0.9 - distances("en", target)["syntactic"]))
    )
    for _, family in table.groupby("outcome"):
        tested = family[family["p_value"].notna()]
        assert list(tested["p_holm"]) == pytest.approx(holm(list(tested["p_value"])))
        assert family.loc[family["p_value"].isna(), "p_holm"].isna().all()
