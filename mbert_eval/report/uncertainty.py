"""How sure each score of the report is, from the rows' per-example outputs (store/examples.py).

Per (model, method, source, target) of a task's main metric:
- the test-set size (`n_examples`), the chance level (`extra["chance"]`) and a run's example limit
  (`extra["limit"]`);
- the 95% interval of the seed mean: for one cell the row's own `ci_low`/`ci_high`; for several seeds the
  percentile bootstrap over test examples of the seeds' per-example statistics stacked (examples resampled
  jointly, Efron & Tibshirani 1993), kind "bootstrap"; where a seed's file is missing, ± the standard deviation
  over seeds instead, kind "std"; none for rows stored before intervals were kept. Per-example outputs that do
  not give their row's score back (written by a task's faulty code, as pairwise language identity's before its
  version 2) stand for no interval, the row's own neither: ± std over seeds where there are several, else none.
- against the task's reference method of its comparability group (`references`: a limited run's against the
  reference's run of the same limit) on the same (model, source, target): the paired bootstrap over the same
  test examples and seeds (Koehn 2004; Dror et al. 2018 recommend it for NLP metrics), `p_value`; NaN where
  either side lacks per-example outputs (significance not tested).
A seed scored by several cells (other settings in the same store) has its scores averaged by the report; no one
cell's interval or outputs stand for that average, so such a score gets neither (± the standard deviation over
seeds where it has several).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mbert_eval.metrics.bootstrap import bootstrap_interval, paired_bootstrap
from mbert_eval.report.roles import resampled
from mbert_eval.store.examples import read_examples

TARGET_KEYS = ["model", "method", "source", "target"]
ALPHA = 0.05
# why a score has no bootstrap interval (`_no_interval_why`)
OUTPUTS_MISSING = "no per-example outputs (stored before they were kept, or their files are gone)"
OUTPUTS_DISAGREE = (
    "its per-example outputs do not give its score back (an older version of the task's code wrote them; a rerun "
    "recomputes them)"
)
NOT_PER_EXAMPLE = "its score is no sum over examples (linear CKA takes all sentences at once): nothing to resample"
# how a task's chance level guesses (`Scores.chance`): uniformly, or the training data's most frequent label
# (the rows' `extra.majority_label`), which uniform chance understates where labels are unbalanced
CHANCE_RULES = {"uniform": "uniform guessing", "majority": "always the training data's most frequent label"}


@dataclass(frozen=True)
class Stacked:
    """A score's per-example statistics over its seeds: (seeds, examples, k), the seeds in order; `scores_back`:
    whether each seed's statistics give that seed's stored score back."""

    seeds: tuple[int, ...]
    stats: np.ndarray
    aggregate: str
    scores_back: bool = True


def _extra(rows: pd.DataFrame, key: str) -> float:
    """The first value of `extra[key]` among the rows (NaN when none has it)."""
    for extra in rows["extra"]:
        if isinstance(extra, dict) and extra.get(key) is not None:
            return float(extra[key])
    return math.nan


def stacked_examples(rows: pd.DataFrame, store: Path | None) -> Stacked | None:
    """The per-example statistics of one score's seeds, or None when a seed has several cells (see the module
    docstring), any seed's file is missing or they differ in examples or aggregate."""
    if store is None or rows["cell_key"].nunique() != rows["seed"].nunique():
        return None
    arrays, aggregates, seeds, scores_back = [], set(), [], True
    for seed, group in rows.sort_values("seed").groupby("seed", sort=True):
        named = [extra.get("examples") for extra in group["extra"] if isinstance(extra, dict)]
        outputs = read_examples(store, next(iter(named), None))
        if outputs is None or not outputs.stats:
            return None
        arrays.append(outputs.array())
        aggregates.add(outputs.aggregate)
        seeds.append(int(seed))
        scores_back &= outputs.gives_back(float(group["score"].iloc[0]))
    if len(aggregates) != 1 or len({array.shape for array in arrays}) != 1:
        return None
    return Stacked(tuple(seeds), np.stack(arrays), aggregates.pop(), scores_back)


def _interval(rows: pd.DataFrame, stacked: Stacked | None, std: float) -> tuple[float, float, str]:
    """(low, high, kind) of one score: the row's own interval (one cell), the bootstrap over stacked seeds, ± std
    over seeds, or none (NaN, ""); neither of the first two where the outputs do not give the scores back."""
    if stacked is not None and not stacked.scores_back:
        stacked = None
    elif rows["cell_key"].nunique() == 1:
        low, high = _extra(rows, "ci_low"), _extra(rows, "ci_high")
        if not math.isnan(low) and not math.isnan(high):
            return low, high, "bootstrap"
    if stacked is not None:
        interval = bootstrap_interval(stacked.stats, stacked.aggregate)
        return interval.low, interval.high, "bootstrap"
    mean = float(rows.groupby("seed")["score"].mean().mean())
    if not math.isnan(std):
        return mean - std, mean + std, "std"
    return math.nan, math.nan, ""


def _no_interval_why(task: str, stacked: Stacked | None, kind: str) -> str:
    """Why a score has no bootstrap interval ("" where it has one), in words the report shows as they are."""
    if kind == "bootstrap":
        return ""
    if stacked is not None and not stacked.scores_back:
        return OUTPUTS_DISAGREE
    return OUTPUTS_MISSING if resampled(task) else NOT_PER_EXAMPLE


def uncertainty(rows: pd.DataFrame, stats: pd.DataFrame, store: Path | None) -> tuple[pd.DataFrame, dict]:
    """Per TARGET_KEYS of the main metric's `rows` (of one task): n_examples, chance, chance_rule (how the task
    guesses: `CHANCE_RULES`; "" without a chance level), limit, ci_low, ci_high, ci_kind, ci_why (`_no_interval_why`) (`stats` holds the std
    over seeds per key); and the stacked per-example statistics found that give their scores back, by key."""
    records, found = [], {}
    std_of = stats.set_index(TARGET_KEYS)["std"].to_dict()
    for key, group in rows.groupby(TARGET_KEYS, sort=False):
        stacked = stacked_examples(group, store)
        if stacked is not None and stacked.scores_back:
            found[key] = stacked
        low, high, kind = _interval(group, stacked, float(std_of.get(key, math.nan)))
        extras = [extra for extra in group["extra"] if isinstance(extra, dict)]
        chance = _extra(group, "chance")
        rule = CHANCE_RULES["majority" if any("majority_label" in e for e in extras) else "uniform"]
        records.append(
            {
                **dict(zip(TARGET_KEYS, key)),
                "n_examples": group["n_examples"].max() if "n_examples" in group else math.nan,
                "chance": chance,
                "chance_rule": "" if math.isnan(chance) else rule,
                "limit": _extra(group, "limit"),
                "ci_low": low,
                "ci_high": high,
                "ci_kind": kind,
                "ci_why": _no_interval_why(str(group["task"].iloc[0]), stacked, kind),
            }
        )
    columns = TARGET_KEYS + ["n_examples", "chance", "chance_rule", "limit", "ci_low", "ci_high", "ci_kind", "ci_why"]
    return pd.DataFrame(records, columns=columns), found


def paired_p_values(found: dict, against: Mapping[str, str]) -> dict[tuple, float]:
    """The paired bootstrap p-value (Koehn 2004) of each method against its reference (`against`, by method:
    `References.against`) on the same (model, source, target), over the seeds both have (the same test examples);
    keys missing where it could not be tested."""
    p_values = {}
    for (model, method, source, target), ours in found.items():
        reference = against.get(method)
        theirs = None if reference is None else found.get((model, reference, source, target))
        if theirs is None or ours.aggregate != theirs.aggregate:
            continue
        common = [seed for seed in ours.seeds if seed in theirs.seeds]
        if not common or ours.stats.shape[1] != theirs.stats.shape[1]:
            continue
        picked = (
            [ours.stats[ours.seeds.index(s)] for s in common],
            [theirs.stats[theirs.seeds.index(s)] for s in common],
        )
        p_values[(model, method, source, target)] = paired_bootstrap(
            np.stack(picked[0]), np.stack(picked[1]), ours.aggregate
        ).p_value
    return p_values
