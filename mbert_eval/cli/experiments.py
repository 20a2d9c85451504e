"""`mbert-eval validate`, `run` and `results`: check a grid, run what is missing, show what is stored. `validate`
and `run` plan through `grid.plan.plan_run`, as the Python API does (validate = run), and `run` executes through
the API's `execute`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mbert_eval.cli.group import CONFIG_THREADS_OPTION, SET_HELP
from mbert_eval.errors import UserError

if TYPE_CHECKING:
    from mbert_eval.grid.plan import RunPlan


def grid_options(command: Callable) -> Callable:
    """The options `validate` and `run` share, so that validate checks what run would do: overrides, the limit,
    the report's place."""
    options = [
        click.option("--set", "overrides", multiple=True, help=SET_HELP),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            help="At most N examples per split (train, dev, test) and language, for a quick try; the rows say so "
            "(the config's `limit:`).",
        ),
        click.option(
            "--report",
            "report_path",
            type=click.Path(dir_okay=False),
            help="The run's HTML report [default: OUTPUT/report.html, beside the store]; `validate` checks its place.",
        ),
        click.option(
            "--no-report", is_flag=True, help="No HTML report at the end of the run (`validate`: no place to check)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _plan(
    config: str,
    overrides: tuple[str, ...],
    limit: int | None,
    report_path: str | None,
    no_report: bool,
    threads: int | None = None,
) -> RunPlan:
    """Read CONFIG with its overrides (`--limit N` is `--set limit=N`) and plan its run (`grid.plan.plan_run`)."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.plan import plan_run

    if report_path is not None and not report_path.strip():  # it meant the default report, without a word
        raise UserError("--report: name the report's file (or leave --report out for OUTPUT/report.html)")
    if no_report and report_path:
        raise UserError("--report and --no-report contradict each other; pass one")
    experiment, problems = load_experiment(config, [*overrides, *([f"limit={limit}"] if limit else [])])
    if threads is not None:  # over the config's `threads:`
        experiment.threads = threads
    return plan_run(experiment, problems, Path(config), False if no_report else (report_path or True))


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@grid_options
def validate(
    config: str, overrides: tuple[str, ...], limit: int | None, report_path: str | None, no_report: bool
) -> None:
    """Check CONFIG and report every problem with its key path; runs nothing."""
    plan = _plan(config, overrides, limit, report_path, no_report)  # what `run` plans, and refuses with problems
    if plan.grid.problems:
        for problem in plan.grid.problems:
            click.echo(f"{config}: {problem}", err=True)
        sys.exit(2)
    click.echo(f"{config}: OK ({len(plan.grid.cells)} cells, {plan.grid.evaluations} target evaluations)")


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@grid_options
@click.option("--overwrite", is_flag=True, help="Recompute cells the store already holds.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars and no results table: the summary lines only.")
@CONFIG_THREADS_OPTION
def run(
    config: str,
    overrides: tuple[str, ...],
    limit: int | None,
    report_path: str | None,
    no_report: bool,
    overwrite: bool,
    quiet: bool,
    threads: int | None,
) -> None:
    """Run the grid in CONFIG, computing only the cells the store does not hold yet; print the results table and
    write the report beside the store (OUTPUT/report.html)."""
    from mbert_eval.api import execute

    results = execute(_plan(config, overrides, limit, report_path, no_report, threads), overwrite, quiet)
    click.echo(results.summary.describe())
    if not quiet:
        from mbert_eval.report.text_table import format_results
        from mbert_eval.store.results import ResultStore

        click.echo(format_results(ResultStore(results.store), cell_keys=results.cell_keys))  # this grid's cells
    if results.report is not None:
        click.echo(f"report: {results.report}")


@click.command()
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default="runs/quickstart/results.sqlite",
    show_default=True,
    help="The results store (a run's OUTPUT/results.sqlite).",
)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write all rows as CSV ('-' for stdout).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write all rows as JSON ('-' for stdout).")
@click.option("--all-metrics", is_flag=True, help="Show every metric, not only each task's main one.")
@click.option("--per-seed", is_flag=True, help="One row per seed instead of mean ± std over seeds.")
def results(store_path: str, csv_path: str | None, json_path: str | None, all_metrics: bool, per_seed: bool) -> None:
    """Print the stored results as a table, or export them."""
    from mbert_eval.cli.report import stored_inputs
    from mbert_eval.report.text_table import export_rows, format_results
    from mbert_eval.store.results import open_store_for_reading
    from mbert_eval.store.unsaved import unsaved_note

    if csv_path == json_path == "-":
        raise UserError("--csv - and --json - both write to stdout, where neither could be read; name a file for one")
    if (
        csv_path
        and json_path
        and "-" not in (csv_path, json_path)
        and Path(csv_path).resolve() == Path(json_path).resolve()
    ):
        raise UserError(f"--csv and --json name the same file ({csv_path}); the second would replace the first")
    store = open_store_for_reading(store_path)
    note = unsaved_note(Path(store_path))
    if note:
        click.echo(note, err=True)
    if csv_path or json_path:
        inputs = stored_inputs(store)  # what the rows were computed from: no export replaces it
        for path, kind in ((csv_path, "csv"), (json_path, "json")):
            if path:
                export_rows(store, path, kind, inputs)
        return
    click.echo(format_results(store, all_metrics, per_seed))
