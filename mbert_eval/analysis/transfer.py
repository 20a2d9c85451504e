"""Zero-shot transfer against distance: which language differences go with lower scores, after Lauscher et al.
(EMNLP 2020, "From zero to hero"), who correlate zero-shot scores with URIEL distances and pretraining size.

`transfer_records` joins each stored zero-shot score (the task's main metric, averaged over seeds) with the
typological distances of its source and target (typology.py), script match and, where the run measured it (tasks
whose examples are words), the subword overlap of source training text and target test text that the rows' `extra`
holds (overlap.py); where the source itself is scored, the transfer gap
is its score minus the target's (Hu et al. 2020, XTREME), turned round for a metric where lower is better (AER),
so that a positive gap always means the target does worse. `correlations` gives Spearman's rho and its p-value (a
permutation test over the pairings of the targets: `spearman`) across targets, per (task, model, method, source,
measure): never for fewer than MIN_TARGETS targets, and never for a measure that takes one value on every target (it cannot explain a difference between them). Each p-value
also has its Holm (1979) adjustment over the measures tested for the same outcome of the same scores: seven
measures over seven targets make one p < 0.05 by chance likely, and the report says which relations survive it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.analysis.typology import DISTANCES, distances
from mbert_eval.store.results import ResultStore, comparable_method

if TYPE_CHECKING:
    import numpy
    import pandas

MIN_TARGETS = 4  # Spearman's rho over 3 targets takes 4 values; p < 0.05 needs at least 5 (two-sided)
PAIRINGS = 40_320  # 8!: every pairing of the targets is tried up to 8 targets, as many random ones beyond
OVERLAPS = ("type_jaccard", "token_coverage")
MEASURES = (*DISTANCES, "script_match", *OVERLAPS)
# what is correlated with the measures: the zero-shot score alone. A (task, model, method, source) has one source
# score, so each target's transfer gap is that score minus its own: its rho is the score's negated, with the same
# p-value, and testing it too stated every finding twice (and halved Holm's correction apart)
OUTCOMES = ("score",)
KEYS = ["task", "model", "method", "source"]


def transfer_records(store: ResultStore, family: Path | None = None) -> pandas.DataFrame:
    """One row per stored (task, model, method, source, target other than the source): the main metric's
    zero-shot score (mean over seeds, each seed's cells averaged first: `seeds.over_seeds`, as the report's tables), the source's own score and the transfer gap (NaN where the source is not
    scored; a limited or centred run's rows under their own method name, `store.results.comparable_method`), every
    measure of MEASURES (NaN where unknown: an overlap the rows do not hold, a distance URIEL or the family's
    design does not have). Synthetic languages read their typology from the family folder `family`. Only tasks
    whose main metric the store names (its metric roles) are read: a store older than them gives no rows."""
    import pandas

    from mbert_eval.analysis.seeds import over_seeds

    roles = [role for role in store.metric_roles() if role.is_main]
    main = {role.task: role.metric for role in roles}
    lower_is_better = {role.task for role in roles if role.higher_is_better is False}
    frame = store.dataframe()
    columns = [*KEYS, "target", "metric", "score", "n_seeds", "source_score", "transfer_gap", *MEASURES]
    if frame.empty:
        return pandas.DataFrame(columns=columns)
    frame = frame[frame["metric"] == frame["task"].map(main)]
    frame = frame.assign(
        method=[comparable_method(m, extra) for m, extra in zip(frame["method"], frame["extra"])],
        **{name: [_overlap(extra, name) for extra in frame["extra"]] for name in OVERLAPS},
    )
    scores = over_seeds(frame, [*KEYS, "target", "metric"], ["score", *OVERLAPS])
    own = scores[scores["source"] == scores["target"]].set_index(KEYS)["score"]
    records = []
    for row in scores[scores["source"] != scores["target"]].itertuples(index=False):
        key = (row.task, row.model, row.method, row.source)
        source_score = float(own.get(key, float("nan")))
        gap = source_score - row.score
        record = {
            **row._asdict(),
            "source_score": source_score,
            "transfer_gap": -gap if row.task in lower_is_better else gap,
        }
        measured = distances(row.source, row.target, family)
        record |= {name: float("nan") if value is None else value for name, value in measured.items()}
        records.append(record)
    return pandas.DataFrame(records, columns=columns)


def _overlap(extra: object, name: str) -> float:
    """One measure of the subword overlap a row's `extra` holds (`SourceSubwords.log`), else NaN."""
    found = extra.get("subword_overlap") if isinstance(extra, dict) else None
    return float(found[name]) if isinstance(found, dict) and name in found else float("nan")


def holm(p_values: list[float]) -> list[float]:
    """Holm's (1979) step-down adjusted p-values, in the given order: the k-th smallest of m is multiplied by
    m - k + 1, made non-decreasing in that order, capped at 1; it controls the family-wise error rate."""
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def spearman(outcome: numpy.ndarray, measure: numpy.ndarray) -> tuple[float, float]:
    """Spearman's rho (Pearson's r of the average ranks) and its two-sided p-value by a permutation test over the
    pairings of the targets' values, the share of pairings whose |rho| is at least as large: exact up to 8
    targets (every pairing), else from PAIRINGS random ones (seed 0). Over the 4 to 8 targets a grid has, the t
    approximation of `scipy.stats.spearmanr` gives far smaller p-values than the pairings allow (p = 0 for a
    perfect order of 4 targets, whose exact p is 2/24); Kendall & Gibbons (1990), Rank Correlation Methods,
    ch. 4, give the exact null distribution."""
    import numpy
    from scipy.stats import permutation_test, rankdata

    measured = rankdata(measure)
    measured -= measured.mean()

    def rho(values: numpy.ndarray, axis: int = -1) -> numpy.ndarray:
        ranks = rankdata(values, axis=axis)
        ranks -= ranks.mean(axis=axis, keepdims=True)
        return (ranks * measured).sum(axis=axis) / numpy.sqrt((ranks**2).sum(axis=axis) * (measured**2).sum())

    result = permutation_test(
        (outcome,),
        lambda values, axis=-1: numpy.abs(rho(values, axis)),
        permutation_type="pairings",
        vectorized=True,
        n_resamples=PAIRINGS,
        alternative="greater",
        rng=numpy.random.default_rng(0),
    )
    return float(rho(outcome)), float(result.pvalue)


def correlations(records: pandas.DataFrame) -> pandas.DataFrame:
    """Spearman's rho (Spearman 1904) of each outcome (the zero-shot score: `OUTCOMES`) against each measure,
    across the targets of one (task, model, method, source), with its two-sided p-value (`spearman`).

    A row keeps `rho` and `p_value` empty (NaN) and says why in `note` when no target has the measure ("not
    measured": URIEL's distances between synthetic languages, an overlap not given), fewer than MIN_TARGETS
    targets have both numbers ("too few targets") or the measure or outcome is the same on every target
    ("constant across targets"): no rho the numbers do not support. `p_holm` is `p_value` adjusted by Holm's
    method over the measures with a rho for the same (task, model, method, source, outcome)."""
    import pandas

    out = []
    for key, group in records.groupby(KEYS, sort=True):
        for outcome in OUTCOMES:
            family = []  # one row per measure of this outcome: the family Holm's correction runs over
            for measure in MEASURES:
                pairs = group[[outcome, measure]].dropna()
                record = dict(zip(KEYS, key)) | {"outcome": outcome, "measure": measure, "n_targets": len(pairs)}
                rho = p_value = float("nan")
                if pairs.empty:
                    note = f"{measure} not measured for these targets"
                elif len(pairs) < MIN_TARGETS:
                    note = f"too few targets ({len(pairs)} < {MIN_TARGETS})"
                elif pairs[measure].nunique() == 1 or pairs[outcome].nunique() == 1:
                    constant = measure if pairs[measure].nunique() == 1 else outcome
                    note = f"{constant} is constant across targets"
                else:
                    rho, p_value = spearman(pairs[outcome].to_numpy(float), pairs[measure].to_numpy(float))
                    note = ""
                family.append(record | {"rho": rho, "p_value": p_value, "note": note})
            tested = [row for row in family if not math.isnan(row["p_value"])]
            for row, adjusted in zip(tested, holm([row["p_value"] for row in tested])):
                row["p_holm"] = adjusted
            out += family
    columns = [*KEYS, "outcome", "measure", "n_targets", "rho", "p_value", "p_holm", "note"]
    return pandas.DataFrame(out, columns=columns)
