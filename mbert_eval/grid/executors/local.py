"""The executor protocol (run cell jobs somewhere, yield each with its rows as it finishes) and the local one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mbert_eval.grid.job import CellJob, run_cell
from mbert_eval.store.results import ResultRow


class Executor(Protocol):
    """Runs cell jobs somewhere and yields each job with its rows as it finishes."""

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, list[ResultRow]]]: ...


class LocalExecutor:
    """Runs cells one after another in this process."""

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, list[ResultRow]]]:
        for job in jobs:
            yield job, run_cell(job)
