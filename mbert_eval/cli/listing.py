"""`mbert-eval ls languages|tasks|methods`: what the suite knows."""
from __future__ import annotations

import click

from mbert_eval.cli.group import Group


@click.group(cls=Group)
def ls() -> None:
    """List languages, tasks or methods."""


@ls.command("languages")
@click.option("--task", help="Only languages covered by this benchmark (udpos, panx, xnli, ...).")
def ls_languages(task: str | None) -> None:
    """The language table: codes, script, family, genus and benchmark coverage."""
    from mbert_eval.languages import all_languages, format_table, languages_for_task

    click.echo(format_table(languages_for_task(task) if task else all_languages()))


@ls.command("tasks")
def ls_tasks() -> None:
    """The registered tasks with their metric and default epochs."""
    from mbert_eval.tasks import TASKS, get_task

    for name in sorted(TASKS):
        meta = get_task(name).metadata
        click.echo(f"{name:<11} {meta.main_metric:<9} epochs={meta.epochs:<3} {meta.description}")


@ls.command("methods")
def ls_methods() -> None:
    """The registered transfer methods."""
    from mbert_eval.methods import describe_methods

    for name, summary in describe_methods():
        click.echo(f"{name:<10} {summary}")
