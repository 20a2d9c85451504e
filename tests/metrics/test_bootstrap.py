"""The bootstrap interval and the paired bootstrap test (metrics/bootstrap.py) against closed forms and
simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mbert_eval.metrics.bootstrap import AGGREGATES, bootstrap_interval, paired_bootstrap, score


def _correct(p: float, n: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < p).astype(float)[:, None]


def test_each_aggregate_gives_its_metric_from_summed_statistics():
    assert score(np.array([[1], [0], [1], [1]]), "mean") == 0.75
    assert score(np.array([[3, 4], [1, 6]]), "ratio") == 0.4  # 4 of 10 tokens
    tp, fp, fn = 6, 2, 4
    assert score(np.array([[4, 1, 1], [2, 1, 3]]), "f1") == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # AER = 1 - (|A&S| + |A&P|) / (|A| + |S|) (Och & Ney 2003)
    assert score(np.array([[2, 3, 4, 3], [1, 1, 2, 2]]), "aer") == pytest.approx(1 - 7 / 11)
    assert score(np.array([[0, 0, 0]]), "f1") == 0.0  # nothing predicted, nothing gold: no division by zero
    assert score(np.array([[0, 0, 0, 0]]), "aer") == 0.0  # no link at all: as metrics.aer.alignment_scores says
    assert set(AGGREGATES) == {"mean", "ratio", "f1", "aer"}


def test_the_interval_matches_the_binomial_one_and_is_reproducible():
    stats = _correct(0.7, 300, seed=1)
    interval = bootstrap_interval(stats, "mean", seed=0)
    p = interval.score
    half = 1.96 * math.sqrt(p * (1 - p) / 300)  # the normal approximation's half-width (~5 points)
    assert interval.low < p < interval.high and interval.n == 300
    assert (interval.high - interval.low) / 2 == pytest.approx(half, rel=0.15)
    assert bootstrap_interval(stats, "mean", seed=0) == interval
    assert bootstrap_interval(stats, "mean", seed=1) != interval


def test_the_interval_covers_the_true_accuracy_about_95_times_in_100():
    covered = 0
    for draw in range(200):
        interval = bootstrap_interval(_correct(0.7, 200, seed=draw), "mean", samples=300, seed=draw)
        covered += interval.low <= 0.7 <= interval.high
    assert 0.89 <= covered / 200 <= 0.99, covered


def test_seeds_are_averaged_and_resampled_over_the_same_examples():
    seeds = np.stack([_correct(0.6, 400, seed=s) for s in range(3)])  # (3, 400, 1)
    interval = bootstrap_interval(seeds, "mean")
    assert interval.score == pytest.approx(float(seeds.mean())) and interval.n == 400
    one = bootstrap_interval(seeds[0], "mean")
    assert interval.high - interval.low < one.high - one.low  # averaging seeds narrows the spread


def test_paired_test_separates_a_real_difference_from_none():
    reference = _correct(0.6, 500, seed=3)
    same = paired_bootstrap(reference, reference, "mean")
    assert same.delta == 0 and same.p_value == 1.0 and not same.significant()
    better = np.maximum(reference, _correct(0.5, 500, seed=4))  # right wherever the reference is, and more
    difference = paired_bootstrap(better, reference, "mean")
    assert difference.delta > 0.15 and difference.low > 0 and difference.p_value < 0.01 and difference.significant()
    noise = reference.copy()
    noise[:6] = 1 - noise[:6]  # six flipped answers out of 500: no evidence either way
    assert not paired_bootstrap(noise, reference, "mean").significant()


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="different examples"):
        paired_bootstrap(np.ones((5, 1)), np.ones((6, 1)), "mean")
    with pytest.raises(ValueError, match=r"\(examples, 3\)"):
        score(np.ones((5, 2)), "f1")
    with pytest.raises(ValueError):
        score(np.ones((0, 1)), "mean")


def test_the_interval_agrees_with_scipys_percentile_bootstrap():
    from scipy.stats import bootstrap

    stats = _correct(0.4, 250, seed=7)
    ours = bootstrap_interval(stats, "mean", samples=4000)
    theirs = bootstrap(
        (stats[:, 0],), np.mean, n_resamples=4000, method="percentile", random_state=np.random.default_rng(0)
    ).confidence_interval
    assert ours.low == pytest.approx(theirs.low, abs=0.01) and ours.high == pytest.approx(theirs.high, abs=0.01)


@pytest.mark.parametrize(("value", "n"), [(1.0, 250), (0.0, 300)])
def test_a_mean_at_its_bound_on_every_example_gets_the_exact_binomial_interval(value: float, n: int) -> None:
    """250 of 250 right (or 0 of 300): every resample gives the same score, so the percentile interval would be one
    point; the interval is Clopper & Pearson's exact one instead, as scipy computes it, over seeds too."""
    from scipy.stats import binomtest

    exact = binomtest(int(value * n), n).proportion_ci(0.95, method="exact")
    for stats in (np.full((n, 1), value), np.full((3, n, 1), value)):
        interval = bootstrap_interval(stats, "mean")
        assert interval.score == value and interval.low < interval.high
        assert (interval.low, interval.high) == pytest.approx((exact.low, exact.high), abs=1e-9)
    one_off = np.full((n, 1), value)
    one_off[0] = 1 - value  # one example off the bound: the bootstrap again
    bootstrapped = bootstrap_interval(one_off, "mean")
    assert (bootstrapped.low, bootstrapped.high) != pytest.approx((exact.low, exact.high), abs=1e-6)
