"""A run as checked before anything runs: its resolved grid (`grid.resolve`), where its report goes and what no
output may replace. What `validate` reports, `run` refuses (the Python API's `plan_run` and `execute`) and a
scheduled job's run plans (`schedule.runs`): one planning for all three."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.errors import UserError

if TYPE_CHECKING:
    from mbert_eval.config.experiment import Experiment
    from mbert_eval.grid.resolve import ResolvedGrid

REPORT_FILE = "report.html"  # a run's report, beside its store in the output folder


@dataclass(frozen=True)
class RunPlan:
    """A run as checked before anything runs: its resolved grid (with every problem, the report's place among
    them), where its report goes (None: nowhere) and the files no output may replace (the config, data, model,
    and the checkpoints folder the run's methods build and reuse)."""

    grid: ResolvedGrid
    report: Path | None
    inputs: tuple[Path, ...]


def report_path(output_dir: Path, report: bool | str | os.PathLike) -> Path | None:
    """Where a run's report goes: True, in its output folder (OUTPUT/report.html, beside its store by default);
    False, nowhere; a path, there."""
    if report is True:
        return output_dir / REPORT_FILE
    return None if report is False else Path(report)


def plan_run(
    experiment: Experiment,
    problems: list[str],
    config_file: Path | None = None,
    report: bool | str | os.PathLike = True,
) -> RunPlan:
    """Resolve the experiment (its problems start with those found reading it) and check its report's place
    (`report_path`) as the run would write it, before anything runs; a report that could not be written, or that
    would replace an input or land in the run's checkpoints folder, is one more problem of the grid."""
    from mbert_eval.grid.resolve import resolve
    from mbert_eval.grid.validation import place_problem
    from mbert_eval.store.outputs import check_output, store_paths

    grid = resolve(experiment, problems)
    if grid.run is None:  # the report's place depends on a sound config (its output folder)
        return RunPlan(grid, None, ())
    try:
        path = report_path(grid.run.output_dir, report)
        checkpoints = grid.run.checkpoints  # the run's cache: no file in it, existing or not, is an output's
        inputs = (*([config_file] if config_file else []), *grid.read_files(), checkpoints) if path else ()
        if path is not None:
            made = [
                folder
                for folder in (grid.run.output_dir, grid.run.store.parent)
                if folder.resolve().is_relative_to(path.resolve())
            ]
            if made:  # a folder the run makes (or one on its way): the report could not be written there after it
                raise UserError(
                    f"the report {path} would be a file where the run makes the folder {made[0]}; name a file, e.g. "
                    f"{made[0] / REPORT_FILE}"
                )
            if path.resolve().is_relative_to(checkpoints.resolve()):
                raise UserError(
                    f"the report {path} would be written into {checkpoints}, the run's checkpoints folder, "
                    "which this command reads; choose another file"
                )
            check_output(path, [*store_paths(grid.run.store), *inputs], "the report")
            if problem := place_problem(path, folder=False):  # what is left: a folder nothing can be made in
                raise UserError(f"cannot write the report: {problem}")
    except UserError as err:  # a folder, an input, a database where the report would go
        grid.problems.append(str(err))
        return RunPlan(grid, None, ())
    return RunPlan(grid, path, inputs)
