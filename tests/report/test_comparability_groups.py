"""Δ and significance within a comparability group: a limited run's methods (`m (limit N)`) are compared with the
reference method's run of the same limit, never with the full run's reference (another, larger test set).

The stores are `test_uncertainty_views.build_store`'s full run of three methods plus a run of the same cells with
`--limit`: each target's first examples of the full run's per-example outputs, scored again.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mbert_eval.metrics.bootstrap import bootstrap_interval, paired_bootstrap
from mbert_eval.store.examples import ExampleOutputs, read_examples, write_examples
from mbert_eval.store.results import ResultStore
from tests.report.test_uncertainty_views import build_store

LIMIT = 20
SEEDS = (1, 2, 3)


def _add_limited_run(store: ResultStore, folder: Path, methods: tuple[str, ...]) -> None:
    """The full run's cells of `methods` again as a run with `--limit LIMIT`: the first LIMIT examples of each
    target, with their own per-example outputs, score and interval."""
    for row in [r for r in store.rows() if r.method in methods and "limit" not in r.extra]:
        stats = np.asarray(read_examples(store.path, row.extra["examples"]).stats, dtype=float)[:LIMIT]
        key = f"{row.cell_key}-limited"
        path = write_examples(store.path, key, row.target, ExampleOutputs("xnli", "accuracy", "mean", stats.tolist()))
        interval = bootstrap_interval(stats, "mean")
        extra = {**row.extra, "examples": str(path.relative_to(folder)), "limit": LIMIT}
        extra.update(ci_low=interval.low, ci_high=interval.high)
        store.write_cell(
            [dataclasses.replace(row, cell_key=key, score=float(stats.mean()), n_examples=LIMIT, extra=extra)]
        )


def _stack(store: ResultStore, method: str, target: str, limited: bool) -> np.ndarray:
    """(seeds, examples, 1): the per-example statistics of one method's seeds on `target`, limited or full."""
    rows = sorted(
        (r for r in store.rows(method=method, target=target) if ("limit" in r.extra) == limited), key=lambda r: r.seed
    )
    return np.stack([read_examples(store.path, r.extra["examples"]).array() for r in rows])


def _summary(store: ResultStore):
    """The store's one task summary, as the report reads it."""
    from mbert_eval.report.summary import summarize

    [summary] = summarize(store.dataframe(), store.metric_roles(), store.configs(), store.path)
    return summary


def test_a_limited_method_is_compared_with_the_limited_reference_not_the_full_one(tmp_path):
    from mbert_eval.report import render_report

    store = build_store(tmp_path, seeds=SEEDS)
    _add_limited_run(store, tmp_path, ("baseline", "tlm"))
    summary = _summary(store)
    scores = summary.scores.set_index(["method", "target"])
    limited_reference, limited = f"baseline (limit {LIMIT})", f"tlm (limit {LIMIT})"
    assert summary.reference == "baseline"
    for target in ("de", "fr", "en"):
        ours, theirs = _stack(store, "tlm", target, True), _stack(store, "baseline", target, True)
        expected = paired_bootstrap(ours, theirs, "mean")
        got = scores.loc[(limited, target)]
        assert got["delta"] == pytest.approx(ours.mean() - theirs.mean(), abs=1e-12)  # not against the full baseline
        assert got["p_value"] == expected.p_value  # tested within the group: the same LIMIT examples
        reference = scores.loc[(limited_reference, target)]
        assert np.isnan(reference["delta"]) and reference["verdict"] == "" and np.isnan(reference["p_value"])
        full = paired_bootstrap(_stack(store, "tlm", target, False), _stack(store, "baseline", target, False), "mean")
        assert scores.loc[("tlm", target), "p_value"] == full.p_value  # the full run: still against the full one
    averages = summary.averages.set_index("method")
    assert np.isnan(averages.loc[limited_reference, "delta"])
    assert averages.loc[limited, "delta"] == pytest.approx(
        averages.loc[limited, "mean"] - averages.loc[limited_reference, "mean"]
    )
    assert summary.values("method")[:2] == ["baseline", "tlm"]  # each group's reference first, the full group first
    markdown = render_report(store, "t", "md")
    assert f"Δ of {limited} = method − {limited_reference}; \\* significant" in markdown
    assert "significance not tested" not in markdown  # every Δ shown has a paired test
    page = render_report(store, "t", "html")
    assert f"against {limited_reference}" in page  # its own heatmap


def test_a_limited_method_without_a_limited_reference_gets_no_delta_and_says_why(tmp_path):
    from mbert_eval.report import render_report

    store = build_store(tmp_path, seeds=(1,))
    _add_limited_run(store, tmp_path, ("tlm",))
    scores = _summary(store).scores
    limited = scores[scores["method"] == f"tlm (limit {LIMIT})"]
    assert limited["delta"].isna().all() and limited["p_value"].isna().all() and set(limited["verdict"]) == {""}
    assert scores[scores["method"] == "tlm"]["delta"].notna().all()
    markdown = render_report(store, "t", "md")
    assert f"No Δ for tlm (limit {LIMIT}): the store holds no baseline (limit {LIMIT}) run" in markdown
    assert "no per-example outputs" not in markdown


def test_a_limited_run_alone_is_compared_within_itself(tmp_path):
    store = build_store(tmp_path, seeds=(1,), limit=5)
    summary = _summary(store)
    assert summary.reference == "baseline (limit 5)"
    scores = summary.scores
    assert scores[scores["method"] == "tlm (limit 5)"]["delta"].notna().all()
