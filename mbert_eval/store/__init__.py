"""The results store: one embedded SQLite file (`results`: ResultStore, ResultRow) on the shared SQLite setup
(`sqlite`), which the schedule's history uses too."""
from mbert_eval.store.results import COLUMNS, ResultRow, ResultStore

__all__ = ["COLUMNS", "ResultRow", "ResultStore"]
