"""The results store: one embedded SQLite file (`results`: ResultStore, ResultRow, and the store's own
description: StoredConfig, MetricRole) on the shared SQLite setup (`sqlite`), which the schedule's history
uses too; `outputs` writes reports and exports so that none ever replaces the store or an input."""

from mbert_eval.store.results import (
    COLUMNS,
    MetricRole,
    ResultRow,
    ResultStore,
    StoredConfig,
)

__all__ = ["COLUMNS", "MetricRole", "ResultRow", "ResultStore", "StoredConfig"]
