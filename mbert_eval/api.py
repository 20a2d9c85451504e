"""The Python API, as mteb's `evaluate` and lm-evaluation-harness's `simple_evaluate` are theirs:

    import mbert_eval

    results = mbert_eval.run("experiment.yaml", limit=50, training__learning_rate=3e-5)
    print(results.to_dataframe())
    frame = mbert_eval.load_results("runs/experiment/results.sqlite")

`run` does what `mbert-eval run` does, through the same functions (`plan_run`, `execute`: the command line calls
them too, and `validate` refuses what `run` would): the same config reading, the same refusals, the report beside
the store. A problem the user can fix raises `mbert_eval.UserError`, whose message is the line the command line
prints after `Error:`. Scores are fractions, as stored.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mbert_eval.grid.plan import RunPlan, plan_run

if TYPE_CHECKING:
    import pandas

    from mbert_eval.grid.run import RunSummary
    from mbert_eval.store.results import MetricRole

STORE_FILE = "results.sqlite"  # a run's store in its output folder (`Experiment.store_path`)
# the columns of `load_results`, and those taken from each row's `extra` where some row has them
COLUMNS = ("task", "metric", "main", "model_name", "method", "source", "target", "seed", "score", "n_examples")
EXTRA_COLUMNS = ("ci_low", "ci_high", "ci_level", "chance", "limit")
LAST_COLUMNS = ("model", "cell_key")  # the model's full identifier, the key of the cell's per-example outputs
# what a progress bar writes (`_WithoutProgress`): ANSI escape codes (colours, cursor moves), and tqdm's meter, its
# percentage before the bar (` 50%|`) or its time, elapsed (`[01:02<`, `[1:01:02, ` where the total is unknown)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BAR = re.compile(r"\d%\||\[(?:\d+:)?\d\d:\d\d[<,]")


@dataclass(frozen=True)
class Results:
    """What `run` did (`summary`: cells run and skipped, rows written, the config it stored), where its
    results are (`store`), its report (`report`, None when none was written) and the keys of its cells (every
    cell of the grid, computed now or found in the store)."""

    summary: RunSummary
    report: Path | None
    cell_keys: tuple[str, ...]

    @property
    def store(self) -> Path:
        """The results store the run wrote to."""
        return self.summary.store

    def to_dataframe(self) -> pandas.DataFrame:
        """The stored rows of this run's cells, one per (cell, target, metric), with `load_results`' columns."""
        frame = load_results(self.store)
        return frame[frame["cell_key"].isin(self.cell_keys)].reset_index(drop=True)


def run(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    overwrite: bool = False,
    report: bool | str | os.PathLike = True,
    quiet: bool = False,
    **overrides: Any,
) -> Results:
    """Run an experiment as `mbert-eval run` does and return its `Results`.

    `config`: a YAML file (its relative paths anchored at its folder) or a mapping with the same keys (anchored at
    the current folder; it is not changed). Every other keyword argument overrides a config key, `__` joining
    nested keys: `training__learning_rate=3e-5` is the command line's `--set training.learning_rate=3e-5`,
    `limit=50` its `--limit 50`; values are Python values, read as the YAML's are. `overwrite`: recompute cells the
    store holds; `report`: True writes OUTPUT/report.html, False none, a path that file; `quiet`: no progress
    bars. A user error raises `UserError` with the command line's one-line message, before any training.
    """
    from mbert_eval.config.loading import build_experiment, read_config

    settings = [(key.split("__"), value) for key, value in overrides.items()]
    config_file = Path(config) if isinstance(config, (str, os.PathLike)) else None
    if config_file is None:  # a mapping (anything else is refused there)
        experiment, problems = build_experiment(config, Path.cwd(), settings)
    else:
        experiment, problems = build_experiment(*read_config(config_file), settings)
    plan = plan_run(experiment, problems, config_file, report)
    return execute(plan, overwrite=overwrite, quiet=quiet)


def load_results(store: str | os.PathLike) -> pandas.DataFrame:
    """Every row of a results store (a file, or a run's output folder holding results.sqlite) as a DataFrame:
    task, metric, main (whether it is the task's main metric), model_name (the config's `name:` for the model,
    else its Hub name or folder name), method, source, target, seed, score (a fraction), n_examples (the test
    set's size); ci_low, ci_high, ci_level, chance and limit where some row has them (from `extra`); then model
    (the full identifier) and cell_key (what names the cell's per-example outputs). A missing or damaged store
    raises `UserError`."""
    from mbert_eval.store.results import open_store_for_reading

    path = Path(store)
    opened = open_store_for_reading(path / STORE_FILE if path.is_dir() else path)
    return results_frame(opened.dataframe(), opened.metric_roles())


def results_frame(frame: pandas.DataFrame, roles: list[MetricRole]) -> pandas.DataFrame:
    """The stored rows (`ResultStore.dataframe`) in `load_results`' columns; `roles` are the store's metric roles
    (`ResultStore.metric_roles`), which say each task's main metric (guessed where a store predates them)."""
    from mbert_eval.paths import display_name
    from mbert_eval.report.roles import main_metrics

    main = main_metrics(zip(frame["task"], frame["metric"]), roles)
    extras = [column for column in EXTRA_COLUMNS if any(column in extra for extra in frame["extra"])]
    table = frame.assign(
        main=frame["metric"] == frame["task"].map(main),
        model_name=[extra.get("model_name") or display_name(m) for m, extra in zip(frame["model"], frame["extra"])],
        **{column: [extra.get(column) for extra in frame["extra"]] for column in extras},
    )
    return table[[*COLUMNS, *extras, *LAST_COLUMNS]].reset_index(drop=True)


def execute(plan: RunPlan, overwrite: bool = False, quiet: bool = False, title: str | None = None) -> Results:
    """Run a planned grid (refusing its problems), then write its report (`title`: default `mbert-eval: NAME`);
    `quiet`: no progress bars (`hidden_progress`). The caller's random generators, torch threads and transformers
    logging are as they were after it (`grid.process_state.process_state_kept`)."""
    from mbert_eval.grid.run import run_resolved

    plan.grid.refuse()
    with hidden_progress(quiet):
        summary = run_resolved(plan.grid, overwrite=overwrite)
    written = None
    if plan.report is not None:
        from mbert_eval.report import write_report
        from mbert_eval.store.results import ResultStore

        title = title or f"mbert-eval: {summary.config.name}"
        written = write_report(
            ResultStore(summary.store), plan.report, title, config=summary.config, protected=plan.inputs
        )
    return Results(summary, written, tuple(resolved.key for resolved in plan.grid.cells))


class _WithoutProgress:
    """A text stream that passes on everything but progress bars. A bar (tqdm) redraws its line after a carriage
    return, moves between the lines of nested bars with newlines and ANSI escapes; a line Ray forwards from a
    worker comes behind an ANSI-coloured prefix, and holds the worker's bars and the warning written between them.
    Each line goes on as a terminal shows it, without ANSI codes: its text after the last carriage return, unless
    that text is a bar (`BAR`) or what clearing or moving a bar leaves (nothing); a newline goes on where it ends
    text passed on (tqdm.write writes it apart from its line), not where it ends none (a bar's, a blank line)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.mid_line = False  # text passed on waits for its newline

    def write(self, text: str) -> int:
        """Pass on what `text` shows but its bars."""
        lines = text.split("\n")
        for index, line in enumerate(lines):
            end = "\n" if index < len(lines) - 1 else ""
            shown = ANSI.sub("", line.rpartition("\r")[2])
            cleared = shown != line and not shown.strip()  # a bar's carriage returns and escapes, and blanks
            if BAR.search(shown) or cleared or not (shown or self.mid_line):
                continue
            self.stream.write(shown + end)
            self.mid_line = not end
        return len(text)

    def flush(self) -> None:
        """Flush the stream passed on to."""
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno: the stream's own
        return getattr(self.stream, name)


@contextmanager
def hidden_progress(hidden: bool = True) -> Iterator[None]:
    """Within the block, progress bars on this process's stderr are not shown (warnings and errors still are), and
    the worker processes started in it (accelerate's, Ray's: `RayExecutor.task_options`) draw none, through
    tqdm's TQDM_DISABLE, which `models.progress.progress_bar` honours where a bar passes its own rule; nothing
    changes when `hidden` is False."""
    if not hidden:
        yield
        return
    from mbert_eval.models.progress import QUIET

    shown, sys.stderr = sys.stderr, _WithoutProgress(sys.stderr)
    before = os.environ.get(QUIET)
    os.environ[QUIET] = "1"
    try:
        yield
    finally:
        sys.stderr = shown
        if before is None:
            os.environ.pop(QUIET, None)
        else:
            os.environ[QUIET] = before
