"""The `mbert-eval` command line. Thin: parse, call, print.

A user error (bad file, unknown language, typo in a config) ends in one line on stderr and exit
code 2, never a traceback; whatever was already computed stays in the store.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from mbert_eval.cli_align import align, align_eval
from mbert_eval.cli_models import models
from mbert_eval.cli_report import report
from mbert_eval.cli_schedule import schedule
from mbert_eval.errors import UserError

SET_HELP = "Override any config key, e.g. --set training.learning_rate=3e-5 (repeatable)."


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


@click.group(cls=Group)
@click.version_option(package_name="mbert-eval")
def main() -> None:
    """Zero-shot cross-lingual transfer evaluation for multilingual encoders."""


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
def validate(config: str, overrides: tuple[str, ...]) -> None:
    """Check CONFIG and report every problem with its key path; runs nothing."""
    from mbert_eval.config import load_experiment
    from mbert_eval.validation import validate as check

    experiment, problems = load_experiment(config, overrides)
    problems = check(experiment, problems)
    if problems:
        for problem in problems:
            click.echo(f"{config}: {problem}", err=True)
        sys.exit(2)
    from mbert_eval.runner import expand

    cells = expand(experiment)
    evaluations = sum(len(cell.targets) for cell in cells)
    click.echo(f"{config}: OK ({len(cells)} cells, {evaluations} target evaluations)")


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
@click.option("--overwrite", is_flag=True, help="Recompute cells the store already holds.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report at the end.")
def run(config: str, overrides: tuple[str, ...], overwrite: bool, no_report: bool) -> None:
    """Run the grid in CONFIG, computing only the cells the store does not hold yet."""
    from mbert_eval.config import load_experiment
    from mbert_eval.runner import run_experiment

    experiment, problems = load_experiment(config, overrides)
    summary = run_experiment(experiment, overwrite=overwrite, problems=problems)
    click.echo(summary.describe())
    if not no_report:
        from mbert_eval.report import default_report_path, write_report
        from mbert_eval.store import ResultStore

        path = write_report(ResultStore(summary.store), default_report_path(experiment.name),
                            f"mbert-eval: {experiment.name}", experiment=experiment)
        click.echo(f"report: {path}")


@main.command()
@click.option("--store", "store_path", type=click.Path(dir_okay=False), default="runs/quickstart/results.sqlite",
              show_default=True, help="The results store (a run's OUTPUT/results.sqlite).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write all rows as CSV ('-' for stdout).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write all rows as JSON ('-' for stdout).")
@click.option("--all-metrics", is_flag=True, help="Show every metric, not only each task's main one.")
@click.option("--per-seed", is_flag=True, help="One row per seed instead of mean ± std over seeds.")
def results(store_path: str, csv_path: str | None, json_path: str | None, all_metrics: bool, per_seed: bool) -> None:
    """Print the stored results as a table, or export them."""
    from mbert_eval.results_table import export_rows, format_results

    if not Path(store_path).is_file():
        raise UserError(f"no results store at {store_path} (run an experiment first, or pass --store)")
    from mbert_eval.store import ResultStore

    store = ResultStore(store_path)
    if csv_path or json_path:
        for path, kind in ((csv_path, "csv"), (json_path, "json")):
            if path:
                export_rows(store, path, kind)
        return
    click.echo(format_results(store, all_metrics, per_seed))


main.add_command(report)
main.add_command(align)
main.add_command(align_eval)
main.add_command(schedule)
main.add_command(models)


@main.group(cls=Group)
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


@main.command()
@click.option("--out", default="runs/synth", show_default=True, type=click.Path(file_okay=False))
@click.option("--languages", "n_languages", default=4, show_default=True, help="Number of languages.")
@click.option("--seed", default=0, show_default=True)
def synth(out: str, n_languages: int, seed: int) -> None:
    """Generate a synthetic language family (text, parallel text, POS treebanks, pairs)."""
    from mbert_eval.synthetic import SynthConfig, describe_family, generate_family

    manifest = generate_family(Path(out), SynthConfig(n_languages=n_languages, seed=seed))
    click.echo(describe_family(manifest))
    click.echo(f"written to {out}")


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Text file to write.")
def text(inputs: tuple[str, ...], out: str) -> None:
    """Extract plain text (one sentence a line) from CoNLL-U, TSV, NER or text files."""
    from mbert_eval.data.text import extract_text

    sentences = list(dict.fromkeys(s for path in inputs for s in extract_text(path)))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("".join(f"{s}\n" for s in sentences), encoding="utf-8")
    click.echo(f"{len(sentences)} sentences written to {out}")


@main.command()
@click.argument("corpus", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output model folder.")
@click.option("--preset", default="tiny", show_default=True, help="Model size: tiny, mini, small, base.")
@click.option("--tokenizer", default="wordpiece", show_default=True, type=click.Choice(["wordpiece", "unigram"]))
@click.option("--vocab-size", default=8000, show_default=True)
@click.option("--init-from", help="Continue pretraining from this checkpoint (folder or Hub name).")
@click.option("--objective", "objectives", multiple=True, default=("mlm",), show_default=True,
              help="mlm, tlm, or both (repeat the option) to mix them in one run.")
@click.option("--parallel", nargs=2, multiple=True, type=click.Path(dir_okay=False), metavar="SRC TGT",
              help="Line-aligned parallel files for tlm (repeatable); MLM uses their sides if no CORPUS.")
@click.option("--max-steps", type=int, help="Stop after this many steps.")
@click.option("--max-minutes", type=float, help="Stop after this much wall time.")
@click.option("--learning-rate", type=float, help="Peak learning rate (default: BERT's 1e-4).")
@click.option("--batch-size", type=int, help="Sequences per step (default 32).")
@click.option("--seed", default=0, show_default=True)
def pretrain(corpus: tuple[str, ...], out: str, preset: str, tokenizer: str, vocab_size: int,
             init_from: str | None, objectives: tuple[str, ...], parallel: tuple[tuple[str, str], ...],
             max_steps: int | None,
             max_minutes: float | None, learning_rate: float | None, batch_size: int | None, seed: int) -> None:
    """Masked-LM pretraining of a BERT on CORPUS text files (one sentence a line, one language a
    file), or continued pretraining of any checkpoint with --init-from."""
    from mbert_eval.pretrain import PretrainConfig
    from mbert_eval.pretrain import pretrain as run_pretraining

    given = {"max_steps": max_steps, "learning_rate": learning_rate, "batch_size": batch_size}
    options = {key: value for key, value in given.items() if value is not None}
    config = PretrainConfig(
        corpus=[Path(c) for c in corpus], out_dir=Path(out), preset=preset, tokenizer=tokenizer,
        vocab_size=vocab_size, init_from=init_from, objectives=tuple(objectives),
        parallel=[(Path(source), Path(target)) for source, target in parallel],
        max_minutes=max_minutes, seed=seed, **options,
    )
    click.echo(f"model written to {run_pretraining(config)}")


@main.command()
@click.option("--real", is_flag=True,
              help="Real data and a real encoder: multilingual-e5-small (after `mbert-eval models import e5-small`).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Working folder [default: runs/quickstart, with --real runs/quickstart-real].")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="HTML report [default: reports/quickstart.html, with --real reports/quickstart-real.html].")
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(file_okay=False),
              help="With --real: the folder holding ud/, tatoeba/ and alignment/.")
@click.option("--model", "model_path", default="runs/models/e5-small", show_default=True,
              type=click.Path(file_okay=False), help="With --real: the imported encoder.")
def quickstart(real: bool, out: str | None, report_path: str | None, data: str, model_path: str) -> None:
    """Offline demo: synthetic family → tiny BERT → zero-shot POS and paraphrase → HTML report; with --real,
    multilingual-e5-small → zero-shot POS to every PUD language, Tatoeba at every layer, word alignment AER."""
    from mbert_eval.quickstart import layer_peaks, run_quickstart, run_real_quickstart
    from mbert_eval.results_table import format_results
    from mbert_eval.store import ResultStore

    name = "quickstart-real" if real else "quickstart"
    out_dir, report_file = Path(out or f"runs/{name}"), Path(report_path or f"reports/{name}.html")
    if real:
        summary, report = run_real_quickstart(Path(data), Path(model_path), out_dir, report_file)
    else:
        summary, report = run_quickstart(out_dir, report_file)
    click.echo(summary.describe())
    click.echo(format_results(ResultStore(summary.store)))
    for line in layer_peaks(ResultStore(summary.store)):
        click.echo(line)
    click.echo(f"report: {report} (open it in a browser; `mbert-eval results --store {summary.store}` prints this again)")


if __name__ == "__main__":
    main()
