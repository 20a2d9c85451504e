"""`mbert-eval report`: write the report of a results store (HTML, CSV, Markdown, LaTeX or JSON)."""

from __future__ import annotations

from pathlib import Path

import click

from mbert_eval.errors import UserError
from mbert_eval.report import FORMATS, SUFFIXES
from mbert_eval.store.results import ResultStore

OTHER_SUFFIXES = {".htm": "html", ".markdown": "md", ".latex": "latex"}  # besides each format's own (`SUFFIXES`)


def _format_of(out: str | None, fmt: str | None) -> str:
    """The explicit --format, else the one --out's suffix names (a format's own, or `OTHER_SUFFIXES`), else html
    for an --out without a suffix (or none); another suffix is a UserError (`x.txt` got HTML)."""
    if fmt:
        return fmt
    suffix = Path(out).suffix.lower() if out and out != "-" else ""
    if not suffix:
        return "html"
    named = {known: name for name, known in SUFFIXES.items()} | OTHER_SUFFIXES
    if suffix not in named:
        known = ", ".join(sorted(named))
        raise UserError(f"--out {out}: no format is written to {suffix} files ({known}); pass --format")
    return named[suffix]


def stored_inputs(store: ResultStore) -> list[Path]:
    """What the store's rows were computed from, which no report may replace: the files of each row's local model
    folder (`model`, where it is an existing folder), the local data files and parallel text its `data_checksums`
    name (`DataSpec` strings, the parallel text's after `PARALLEL`; Hub specs are no files), and the checkpoints
    folder of each stored config that keeps its store in its output folder (OUTPUT/checkpoints, beside the store)
    or names its output folder absolutely."""
    from mbert_eval.data.spec import DataSpec
    from mbert_eval.grid.freshness import PARALLEL
    from mbert_eval.grid.resolve import CHECKPOINTS
    from mbert_eval.paths import fill_pattern

    rows = store.rows()
    inputs: set[Path] = set()
    inputs |= {model for model in {Path(row.model) for row in rows} if model.is_dir()}  # whole: `read_files`
    for name in {name for row in rows for name in row.data_checksums}:
        spec = DataSpec.parse(name.removeprefix(PARALLEL))
        if not spec.is_hub:
            inputs.add(Path(spec.location))
    for stored in store.configs():
        if not stored.config.get("store"):  # the store in its output folder: the checkpoints beside it
            inputs.add(Path(store.path).parent / CHECKPOINTS)
        elif isinstance(output := stored.config.get("output"), str) and Path(output).is_absolute():
            inputs.add(Path(fill_pattern(output, name=stored.name)) / CHECKPOINTS)
    return sorted(inputs)


@click.command("report")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default="runs/quickstart/results.sqlite",
    show_default=True,
    help="The results store (a run's OUTPUT/results.sqlite).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="File to write ('-' for stdout) [default: report.EXT beside the store].",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Output format [default: from --out's suffix, else html]."
)
@click.option("--title", help="Page title [default: mbert-eval report: NAME].")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="An experiment config to mark in the metadata section (its hash is matched with the rows'); "
    "a config the store lacks is shown too, and names the reference method only of tasks whose rows no stored "
    "config produced.",
)
def report(store_path: str, out: str | None, fmt: str | None, title: str | None, config_path: str | None) -> None:
    """Write the report of a results store: tables, charts and run metadata."""
    from mbert_eval.report import write_report
    from mbert_eval.store.results import open_store_for_reading
    from mbert_eval.store.unsaved import unsaved_note

    store = open_store_for_reading(store_path)
    note = unsaved_note(Path(store_path))
    if note:
        click.echo(note, err=True)
    if not store.has_results():
        raise UserError(f"no results stored in {store_path}: nothing to report (its run stored no cell yet)")

    config = None
    if config_path:
        from mbert_eval.config.loading import load_experiment
        from mbert_eval.grid.resolve import stored_config

        experiment, problems = load_experiment(config_path)
        if problems:  # a typo read as a default would be shown as the config that ran
            raise UserError(
                f"{config_path}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if problems[1:] else "")
            )
        config = stored_config(experiment)
    protected = [*([Path(config_path)] if config_path else []), *stored_inputs(store)]
    try:
        fmt = _format_of(out, fmt)
    except UserError:  # what is wrong with the place itself (the store, an input) is said first
        from mbert_eval.store.outputs import check_output, store_paths

        check_output(Path(str(out)), [*store_paths(store.path), *protected], "the report")
        raise
    name = Path(store_path).resolve().parent.name
    if out == "-":  # as `results --csv -`: no file, nothing to protect
        from mbert_eval.report import render_report

        click.echo(render_report(store, title or f"mbert-eval report: {name}", fmt, config), nl=False)
        return
    path = Path(out) if out else Path(store_path).parent / f"report{SUFFIXES[fmt]}"
    written = write_report(store, path, title or f"mbert-eval report: {name}", fmt, config, protected=protected)
    click.echo(f"report: {written}")
