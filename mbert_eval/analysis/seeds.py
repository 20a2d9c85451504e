"""Scores over seeds, as every view takes them: the cells of one seed (two settings of one grid, a rerun under
another method name) are averaged first, so that each seed counts once, then the seeds' means are averaged. The
report's tables, the transfer analysis and the why section's curves all take their means here, so that they agree."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def per_seed(rows: pd.DataFrame, keys: Sequence[str], columns: Sequence[str] = ("score",)) -> tuple[pd.DataFrame, int]:
    """One row per (`keys`, seed) with the mean of `columns` over that seed's cells, and how many of those rows
    merged several cells."""
    grouped = rows.groupby([*keys, "seed"], sort=False)[list(columns)]
    counts = grouped.size()
    return grouped.mean().reset_index(), int((counts > 1).sum())


def over_seeds(rows: pd.DataFrame, keys: Sequence[str], columns: Sequence[str] = ("score",)) -> pd.DataFrame:
    """One row per `keys` (sorted): the mean over seeds of each seed's mean of `columns` (`per_seed`), and
    `n_seeds`."""
    seeds, _ = per_seed(rows, keys, columns)
    grouped = seeds.groupby(list(keys))
    return grouped[list(columns)].mean().join(grouped.size().rename("n_seeds")).reset_index()
