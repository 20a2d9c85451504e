"""The report read as a researcher comparing methods across languages: methods as rows and languages as columns,
intervals from per-example outputs, paired significance against the reference, test-set sizes, chance levels,
honest averages, display names, limited runs, and the page at 1,400 px in headless Chromium.

The stores are written by hand: XNLI-like rows (three classes, chance 1/3) of three methods on eight languages,
each cell with its per-example statistics (store/examples.py) and the row contract's `extra` keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbert_eval.metrics.bootstrap import bootstrap_interval
from mbert_eval.store.examples import ExampleOutputs, examples_path, write_examples
from mbert_eval.store.results import ResultRow, ResultStore

SOURCE = "en"
TARGETS = ("de", "fr", "es", "ru", "zh", "ar", "hi")
GAINS = {"baseline": 0.0, "tlm": 0.12, "tlm+align": 0.004}  # tlm clearly better, tlm+align not distinguishable
MODEL = "/machines/lab/checkpoints/mbert-base"  # a local path: shown by its folder name
EXAMPLES = 300


def _correct(method: str, target: str, seed: int) -> np.ndarray:
    """0/1 per test example; a method's gain turns that share of the baseline's errors right (the same examples)."""
    rng = np.random.default_rng(TARGETS.index(target) * 10 + seed if target in TARGETS else seed)
    base = rng.random(EXAMPLES) < (0.85 if target == SOURCE else 0.55 + 0.02 * TARGETS.index(target))
    flips = np.random.default_rng(seed + 100).random(EXAMPLES) < GAINS[method] / 0.45
    return (base | flips).astype(float)


def build_store(folder: Path, seeds: tuple[int, ...] = (1, 2, 3), files: bool = True, **extra) -> ResultStore:
    """3 methods × 8 languages of XNLI-like accuracy with per-example files (`files`) and the row contract's extras;
    `extra` is added to every row (e.g. `limit=5`, `model_name="mBERT"`)."""
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(folder / "results.sqlite")
    for method in GAINS:
        for seed in seeds:
            key = f"xnli-{method}-{seed}"
            rows = []
            for target in (SOURCE, *TARGETS):
                stats = _correct(method, target, seed)[:, None]
                interval = bootstrap_interval(stats, "mean")
                path = examples_path(store.path, key, target)
                if files:
                    write_examples(store.path, key, target, ExampleOutputs("xnli", "accuracy", "mean", stats.tolist()))
                rows.append(
                    ResultRow(
                        key,
                        "xnli",
                        "accuracy",
                        MODEL,
                        method,
                        SOURCE,
                        target,
                        seed,
                        float(stats.mean()),
                        EXAMPLES,
                        "h",
                        "v",
                        extra={
                            "ci_low": interval.low,
                            "ci_high": interval.high,
                            "ci_level": 0.95,
                            "aggregate": "mean",
                            "examples": str(path.relative_to(folder)),
                            "chance": 1 / 3,
                            "train_time": 1.0,
                            **extra,
                        },
                    )
                )
            store.write_cell(rows)
    store.write_metric_roles(metric_roles(["xnli"]))
    return store


def _summary(store: ResultStore):
    from mbert_eval.report.summary import summarize

    [summary] = summarize(store.dataframe(), store.metric_roles(), store.configs(), store.path)
    return summary
