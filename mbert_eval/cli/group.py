"""The click group every command group of `mbert-eval` uses: user errors end in one line and exit code 2."""

from __future__ import annotations

import errno
from typing import NoReturn

import click

from mbert_eval.errors import UserError, cut
from mbert_eval.models.threads import MAX_THREADS

SET_HELP = "Override any config key, e.g. --set training.learning_rate=3e-5 (repeatable)."
# one definition for every command that runs models (see mbert_eval/models/threads.py for the default)
THREADS_DEFAULT = "OMP_NUM_THREADS, else the CPUs not already busy (load average), at most the physical cores"
THREADS_OPTION = click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    help=f"CPU threads torch uses [default: {THREADS_DEFAULT}].",
)
# `run`'s: a config may set them
CONFIG_THREADS_OPTION = click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    help=f"CPU threads torch uses [default: the config's `threads:`, else {THREADS_DEFAULT}].",
)


class Group(click.Group):
    """A click group that turns `UserError` and click's usage errors (a bad option value, a missing
    argument, an unknown command) into one line and exit code 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            _exit_on_usage_error(ctx, err)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(2)
        except OSError as err:
            if err.errno != errno.ENAMETOOLONG:
                raise
            name = cut(str(err.filename), 80) if err.filename else "a path given"
            click.echo(f"Error: {name}: a file name too long for the file system (at most 255 bytes a name)", err=True)
            ctx.exit(2)
        except click.UsageError as err:
            _exit_on_usage_error(ctx, err)
        except KeyboardInterrupt:
            click.echo("Interrupted: finished cells are stored; rerun to compute only what is missing.", err=True)
            ctx.exit(130)


def _exit_on_usage_error(ctx: click.Context, err: click.UsageError) -> NoReturn:
    """Print a click usage error as one line naming the command's help, and exit with code 2; a group
    called without a command (``mbert-eval``, ``mbert-eval schedule``) shows its help, as click does."""
    if isinstance(err, click.exceptions.NoArgsIsHelpError):
        raise err
    command = err.ctx.command_path if err.ctx else ctx.command_path
    click.echo(f"Error: {err.format_message().rstrip('.')}; see '{command} --help'", err=True)
    ctx.exit(2)
