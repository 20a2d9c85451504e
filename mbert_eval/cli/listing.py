"""`mbert-eval ls languages|tasks|methods|executors|metrics`: what the suite knows, read off its registries."""

from __future__ import annotations

import click

from mbert_eval.cli.group import Group


@click.group(cls=Group)
def ls() -> None:
    """List languages, tasks, methods, executors or metrics."""


@ls.command("languages")
@click.option("--task", help="Only languages covered by this benchmark (udpos, panx, xnli, ...).")
def ls_languages(task: str | None) -> None:
    """The language table: codes, script, family, genus and benchmark coverage."""
    from mbert_eval.languages import all_languages, format_table, languages_for_task

    click.echo(format_table(languages_for_task(task) if task else all_languages()))


@ls.command("tasks")
def ls_tasks() -> None:
    """The registered tasks: main metric, default epochs, summary and options."""
    from mbert_eval.tasks import TASKS

    for name in TASKS:
        meta = TASKS.get(name).metadata
        click.echo(f"{name:<11} {meta.main_metric:<9} epochs={meta.epochs:<3} {TASKS.summary(name)}")
        if meta.metric_descriptions:
            click.echo(f"{'':<11} metrics: {', '.join(meta.metric_descriptions)}")
        for option, what in meta.options.items():
            click.echo(f"{'':<11} option {option}: {what}")


@ls.command("methods")
def ls_methods() -> None:
    """The registered transfer methods."""
    from mbert_eval.methods import describe_methods

    for name, summary in describe_methods():
        click.echo(f"{name:<10} {summary}")


@ls.command("executors")
def ls_executors() -> None:
    """The executors an experiment's `executor` key can name."""
    from mbert_eval.grid.executors import EXECUTORS

    for name in EXECUTORS:
        click.echo(f"{name:<10} {EXECUTORS.summary(name)}")


@ls.command("metrics")
def ls_metrics() -> None:
    """The metric functions the tasks score with."""
    from mbert_eval.metrics import METRICS

    for name in METRICS:
        click.echo(f"{name:<20} {METRICS.summary(name)}")
