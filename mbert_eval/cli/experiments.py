"""`mbert-eval validate`, `run` and `results`: check a grid, run what is missing, show what is stored."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mbert_eval.cli.group import SET_HELP, THREADS_OPTION


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
def validate(config: str, overrides: tuple[str, ...]) -> None:
    """Check CONFIG and report every problem with its key path; runs nothing."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.resolve import resolve

    experiment, problems = load_experiment(config, overrides)
    grid = resolve(experiment, problems)  # what `run` resolves, and refuses when it has problems
    if grid.problems:
        for problem in grid.problems:
            click.echo(f"{config}: {problem}", err=True)
        sys.exit(2)
    click.echo(f"{config}: OK ({len(grid.cells)} cells, {grid.evaluations} target evaluations)")


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
@click.option("--overwrite", is_flag=True, help="Recompute cells the store already holds.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report at the end.")
@THREADS_OPTION
def run(config: str, overrides: tuple[str, ...], overwrite: bool, no_report: bool, threads: int | None) -> None:
    """Run the grid in CONFIG, computing only the cells the store does not hold yet."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.resolve import resolve
    from mbert_eval.grid.run import read_files, run_resolved
    from mbert_eval.report import default_report_path
    from mbert_eval.store.outputs import check_output, store_files

    experiment, problems = load_experiment(config, overrides)
    if threads is not None:  # over the config's `threads:`
        experiment.threads = threads
    grid = resolve(experiment, problems)
    grid.refuse()  # the grid's problems, before the report's place is checked
    report_path = default_report_path(experiment.name)
    inputs = [] if no_report else [Path(config), *read_files(grid)]
    if not no_report:  # a report that could not be written is refused before any training
        check_output(report_path, [*store_files(experiment.store_path), *inputs], "the report")
    summary = run_resolved(grid, overwrite=overwrite)
    click.echo(summary.describe())
    if not no_report:
        from mbert_eval.report import write_report
        from mbert_eval.store.results import ResultStore

        path = write_report(
            ResultStore(summary.store),
            report_path,
            f"mbert-eval: {experiment.name}",
            config=summary.config,
            protected=inputs,
        )
        click.echo(f"report: {path}")


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
    from mbert_eval.report.text_table import export_rows, format_results
    from mbert_eval.store.results import open_store_for_reading

    store = open_store_for_reading(store_path)
    if csv_path or json_path:
        for path, kind in ((csv_path, "csv"), (json_path, "json")):
            if path:
                export_rows(store, path, kind)
        return
    click.echo(format_results(store, all_metrics, per_seed))
