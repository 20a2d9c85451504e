"""The executor protocol (run cell jobs somewhere, yield each with its rows, or the error it ended in, as it
finishes; start no further cell once told to stop) and the local one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mbert_eval.grid.job import CellJob, run_cell
from mbert_eval.store.results import ResultRow

# What a cell ends in: its rows, or the exception it raised (an `UnfinishedCell` carries the rows it finished).
CellOutcome = list[ResultRow] | Exception


class Executor(Protocol):
    """Runs cell jobs somewhere and yields each job, as it finishes, with its outcome: a failing cell ends no
    other one, the run decides. After `stop()` no further cell starts; cells already running still finish and
    are yielded, so that nothing computed is lost."""

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, CellOutcome]]: ...

    def stop(self) -> None: ...


class LocalExecutor:
    """Runs cells one after another in this process."""

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        """Start no further cell (here none is ever running beside the one yielded)."""
        self.stopped = True

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, CellOutcome]]:
        """Each job in turn with its rows or its error, until `stop()`."""
        self.stopped = False
        for job in jobs:
            if self.stopped:
                return
            try:
                outcome: CellOutcome = run_cell(job)
            except Exception as err:  # the run decides; an interrupt is no cell's outcome and goes straight up
                outcome = err
            yield job, outcome
