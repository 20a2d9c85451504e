"""How often the report marks a Δ significant where there is none: two methods that are one recipe (the same
distribution of scores), 3 seeds each, 20 target languages of 2,000 XNLI-like examples; each seed's training
moves every language's accuracy by its own amount (`--seed-spread`, on the logit scale: 0.08 gives a seed std of
about 1.2 points, 0 no seed effect). The store is built with per-example outputs and summarised as the report
does (`report.summary.summarize`); the script prints how many of the 20 Δs are marked, and what a t-test over the
seeds alone says. Before 2026-12-08 the paired bootstrap over examples alone decided: 5 of 20 at 0.08, 1 of 20 at
0 (an audit's store, which this script rebuilds); the report's test is described in README.md, "Δ and significance".

    python benchmarks/significance_null.py [--seed-spread 0.08] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

TARGETS = "de fr es ru zh ar hi bg el th tr ur vi sw it pt nl ja ko fi".split()
EXAMPLES = 2000


def build_store(folder: Path, seed_spread: float, seed: int):
    """Two methods of one recipe, 3 seeds each, every language's test examples right with a probability set by
    the example's difficulty, shifted by the seed's (and, by half as much, the seed and language's) luck."""
    from mbert_eval.grid.run import metric_roles
    from mbert_eval.metrics.bootstrap import bootstrap_interval
    from mbert_eval.store.examples import ExampleOutputs, write_examples
    from mbert_eval.store.results import ResultRow, ResultStore

    rng = np.random.default_rng(seed)
    difficulty = {target: rng.normal(0.8, 2.0, EXAMPLES) for target in ["en", *TARGETS]}
    store = ResultStore(folder / "results.sqlite")
    for method in ("baseline", "tlm"):
        for run in (1, 2, 3):
            key, rows, shift = f"xnli-{method}-{run}", [], rng.normal(0, seed_spread)
            for target in ["en", *TARGETS]:
                draw = rng.random(EXAMPLES)
                logit = difficulty[target] + shift + rng.normal(0, seed_spread / 2)
                right = (draw < 1 / (1 + np.exp(-logit))).astype(float)[:, None]
                interval = bootstrap_interval(right, "mean")
                path = write_examples(
                    store.path, key, target, ExampleOutputs("xnli", "accuracy", "mean", right.tolist())
                )
                extra = {"ci_low": interval.low, "ci_high": interval.high, "ci_level": 0.95, "aggregate": "mean"}
                extra |= {"examples": str(path.relative_to(folder)), "chance": 1 / 3}
                rows.append(
                    ResultRow(
                        key,
                        "xnli",
                        "accuracy",
                        "m",
                        method,
                        "en",
                        target,
                        run,
                        float(right.mean()),
                        EXAMPLES,
                        "h",
                        "v",
                        extra=extra,
                    )
                )
            store.write_cell(rows)
    store.write_metric_roles(metric_roles(["xnli"]))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-spread", type=float, default=0.08, help="a seed's shift of every logit (std)")
    parser.add_argument("--seed", type=int, default=7, help="the generator's seed")
    args = parser.parse_args()
    from scipy.stats import ttest_ind

    from mbert_eval.report.summary import summarize

    with tempfile.TemporaryDirectory(prefix="significance-null-") as folder:
        store = build_store(Path(folder), args.seed_spread, args.seed)
        [summary] = summarize(store.dataframe(), store.metric_roles(), store.configs(), store.path)
        deltas = summary.scores[(summary.scores["method"] == "tlm") & (summary.scores["target"] != "en")]
        shown = ["target", "delta", "p_value", "p_seeds", "p_adjusted", "verdict"]  # the last two: from 2026-12-08
        print(deltas.reindex(columns=shown).to_string(index=False))
        print(f"marked significant by the report: {int((deltas['verdict'] != 'same').sum())} of {len(deltas)}")
        rows = store.dataframe()
        alone = sum(
            ttest_ind(*(rows[(rows.method == m) & (rows.target == t)].score for m in ("tlm", "baseline"))).pvalue < 0.05
            for t in TARGETS
        )
        print(f"a t-test over the seeds alone, uncorrected: {alone} of {len(TARGETS)}")


if __name__ == "__main__":
    main()
