"""How sure a score is: a 95% confidence interval over test examples and a paired test of two systems on the
same examples, both by the bootstrap.

A score is an aggregate of per-example sufficient statistics (`AGGREGATES`): accuracy is the mean of 0/1
values, token accuracy a ratio of sums (correct tokens / tokens), entity F1 2·tp / (2·tp + fp + fn) over summed
counts, AER 1 − (|A∩S| + |A∩P|) / (|A| + |S|) over summed counts (Och & Ney 2003). Resampling examples and
aggregating their summed statistics gives the score's bootstrap distribution:

- `bootstrap_interval`: the percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13); for a mean at 0 or 1
  on every example, where that interval has no width, the exact binomial one (Clopper & Pearson 1934).
- `paired_bootstrap`: the difference of two systems scored on the same examples, resampled with the same indices
  (Koehn 2004, "Statistical significance tests for machine translation evaluation"), with the two-sided p-value
  of the shifted null of Berg-Kirkpatrick et al. (2012); Dror et al. (2018) recommend it for NLP metrics whose
  distribution is unknown.

Several seeds of one system score the same examples: statistics of shape (seeds, examples, k) are resampled
over examples jointly and the score averaged over seeds, so the interval covers test-set sampling of the
seed-averaged score (seed-to-seed spread is reported beside it as ± std). Resampling is seeded: the same
statistics give the same interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLES = 1000  # bootstrap resamples (Koehn 2004 uses 1,000)
LEVEL = 0.95
_CHUNK = 100  # resamples drawn at a time, at most
_WEIGHTS = 1 << 22  # resample weights held at once (chunk × examples), bounding memory on large test sets


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator != 0)


@dataclass(frozen=True)
class Aggregate:
    """A score as a function of summed per-example statistics (`stats`, in this order) and the example count."""

    stats: tuple[str, ...]
    score: Callable[[np.ndarray, int], np.ndarray]  # summed stats (..., k), examples -> score (...)


AGGREGATES: dict[str, Aggregate] = {
    "mean": Aggregate(("value",), lambda s, n: s[..., 0] / n),
    "ratio": Aggregate(("numerator", "denominator"), lambda s, n: _safe_divide(s[..., 0], s[..., 1])),
    "f1": Aggregate(
        ("tp", "fp", "fn"), lambda s, n: _safe_divide(2 * s[..., 0], 2 * s[..., 0] + s[..., 1] + s[..., 2])
    ),
    "aer": Aggregate(
        ("sure_hits", "possible_hits", "predicted", "sure"),
        # no link predicted and none gold: 0, as `metrics.aer.alignment_scores` scores it
        lambda s, n: np.where(
            s[..., 2] + s[..., 3] == 0, 0.0, 1 - _safe_divide(s[..., 0] + s[..., 1], s[..., 2] + s[..., 3])
        ),
    ),
}


@dataclass(frozen=True)
class Interval:
    """A score with its bootstrap interval at `level` over `n` examples."""

    score: float
    low: float
    high: float
    n: int
    level: float = LEVEL


@dataclass(frozen=True)
class PairedDifference:
    """`delta` = score(system) − score(reference) on the same `n` examples, its bootstrap interval, and the
    two-sided p-value of "no difference"."""

    delta: float
    low: float
    high: float
    p_value: float
    n: int
    level: float = LEVEL

    def significant(self, alpha: float = 1 - LEVEL) -> bool:
        """Whether the difference is significant at `alpha` (p < alpha)."""
        return self.p_value < alpha


def _by_seed(stats: np.ndarray, aggregate: str) -> np.ndarray:
    """`stats` as (seeds, examples, k), checked against the aggregate's statistics."""
    array = np.asarray(stats, dtype=float)
    if array.ndim == 2:
        array = array[None]
    width = len(AGGREGATES[aggregate].stats)
    if array.ndim != 3 or array.shape[2] != width or array.shape[1] == 0:
        raise ValueError(f"{aggregate}: statistics must be (examples, {width}) or (seeds, examples, {width})")
    return array


def score(stats: np.ndarray, aggregate: str) -> float:
    """The score of these examples (averaged over seeds for (seeds, examples, k) statistics)."""
    array = _by_seed(stats, aggregate)
    return float(np.mean(AGGREGATES[aggregate].score(array.sum(axis=1), array.shape[1])))


def _resampled(arrays: list[np.ndarray], aggregate: str, samples: int, seed: int) -> list[np.ndarray]:
    """Each array's seed-averaged score under the same `samples` resamples of its examples (as weights)."""
    n = arrays[0].shape[1]
    rng = np.random.default_rng(seed)
    function = AGGREGATES[aggregate].score
    chunk = max(1, min(_CHUNK, _WEIGHTS // n))
    out: list[list[np.ndarray]] = [[] for _ in arrays]
    for start in range(0, samples, chunk):
        size = min(chunk, samples - start)
        # how often each example is drawn in each of `size` resamples of n draws (multinomial counts, by bincount)
        drawn = rng.integers(0, n, size=(size, n)) + np.arange(size)[:, None] * n
        weights = np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(float)
        for index, array in enumerate(arrays):
            sums = np.tensordot(weights, array, axes=([1], [1]))  # (resamples, seeds, k)
            out[index].append(function(sums, n).mean(axis=1))
    return [np.concatenate(parts) for parts in out]


def bootstrap_interval(
    stats: np.ndarray, aggregate: str, samples: int = SAMPLES, level: float = LEVEL, seed: int = 0
) -> Interval:
    """The score and its percentile bootstrap interval (Efron & Tibshirani 1993) over the examples of `stats`
    ((examples, k), or (seeds, examples, k): resampled jointly, averaged over seeds). A mean whose every example
    sits at 0 or 1 (every sentence's language told, every pair retrieved) gets the exact binomial interval over
    its examples instead (Clopper & Pearson 1934), which the percentile bootstrap collapses to one point."""
    array = _by_seed(stats, aggregate)
    n = array.shape[1]
    if aggregate == "mean" and (np.all(array == 1) or np.all(array == 0)):
        # every example at the bound: each resample gives the same score, so the percentile interval has no
        # width; the exact binomial bound over the n examples instead (Clopper & Pearson 1934), 0.985 at 250/250
        edge = ((1 - level) / 2) ** (1 / n)
        low, high = (edge, 1.0) if array.flat[0] == 1 else (0.0, 1 - edge)
        return Interval(score(array, aggregate), float(low), float(high), n, level)
    (draws,) = _resampled([array], aggregate, samples, seed)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(score(array, aggregate), float(low), float(high), n, level)


def paired_bootstrap(
    system: np.ndarray,
    reference: np.ndarray,
    aggregate: str,
    samples: int = SAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> PairedDifference:
    """score(system) − score(reference) on the same examples (row i of each is example i), with its paired
    bootstrap interval (Koehn 2004) and the two-sided p-value of the shifted null (Berg-Kirkpatrick et al.
    2012): the share of resampled differences at least |delta| away from delta, (1 + count) / (1 + samples)."""
    ours, theirs = _by_seed(system, aggregate), _by_seed(reference, aggregate)
    if ours.shape[1] != theirs.shape[1]:
        raise ValueError(f"paired test on different examples ({ours.shape[1]} vs {theirs.shape[1]})")
    delta = score(ours, aggregate) - score(theirs, aggregate)
    a, b = _resampled([ours, theirs], aggregate, samples, seed)
    draws = a - b
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    extreme = int(np.sum(np.abs(draws - delta) >= abs(delta) - 1e-12))
    return PairedDifference(delta, float(low), float(high), (1 + extreme) / (1 + samples), ours.shape[1], level)
