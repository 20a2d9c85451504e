"""`mbert-eval synth`, `text`, `pretrain` and `mining-mix`: synthetic languages, pretraining corpora, pretrained
encoders, offline mining data."""

from __future__ import annotations

from pathlib import Path

import click

from mbert_eval.cli.group import THREADS_OPTION


@click.command()
@click.option("--out", default="runs/synth", show_default=True, type=click.Path(file_okay=False))
@click.option("--languages", "n_languages", default=4, show_default=True, help="Number of languages.")
@click.option("--seed", default=0, show_default=True)
def synth(out: str, n_languages: int, seed: int) -> None:
    """Generate a synthetic language family (text, parallel text, POS treebanks, pairs, extractive QA)."""
    from mbert_eval.synthetic.family import (
        SynthConfig,
        describe_family,
        generate_family,
    )

    manifest = generate_family(Path(out), SynthConfig(n_languages=n_languages, seed=seed))
    click.echo(describe_family(manifest))
    click.echo(f"written to {out}")


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Text file to write.")
def text(inputs: tuple[str, ...], out: str) -> None:
    """Extract plain text (one sentence a line) from CoNLL-U, TSV, NER, SQuAD JSON (contexts, then their questions)
    or text files."""
    from mbert_eval.data.text import extract_text
    from mbert_eval.store.outputs import check_output, write_output

    read = [Path(path) for path in inputs]
    check_output(Path(out), read, "the text file")
    sentences = list(dict.fromkeys(s for path in inputs for s in extract_text(path)))
    write_output(Path(out), "".join(f"{s}\n" for s in sentences), read, "the text file")
    click.echo(f"{len(sentences)} sentences written to {out}")


@click.command()
@click.argument("corpus", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output model folder.")
@click.option("--preset", default="tiny", show_default=True, help="Model size: tiny, mini, small, base.")
@click.option("--tokenizer", default="wordpiece", show_default=True, type=click.Choice(["wordpiece", "unigram"]))
@click.option("--vocab-size", default=8000, show_default=True)
@click.option("--init-from", help="Continue pretraining from this checkpoint (folder or Hub name).")
@click.option(
    "--objective",
    "objectives",
    multiple=True,
    default=("mlm",),
    show_default=True,
    help="mlm, tlm, or both (repeat the option) to mix them in one run.",
)
@click.option(
    "--parallel",
    nargs=2,
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="SRC TGT",
    help="Line-aligned parallel files for tlm (repeatable); MLM uses their sides if no CORPUS.",
)
@click.option("--max-steps", type=int, help="Stop after this many steps.")
@click.option("--max-minutes", type=float, help="Stop after this much wall time.")
@click.option("--learning-rate", type=float, help="Peak learning rate (default: BERT's 1e-4).")
@click.option("--batch-size", type=int, help="Sequences per step (default 32).")
@click.option(
    "--head-steps",
    type=int,
    help="Steps that train the masked-LM head alone, the encoder frozen, first: for an --init-from checkpoint "
    "saved without its head (default 0).",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@THREADS_OPTION
def pretrain(
    corpus: tuple[str, ...],
    out: str,
    preset: str,
    tokenizer: str,
    vocab_size: int,
    init_from: str | None,
    objectives: tuple[str, ...],
    parallel: tuple[tuple[str, str], ...],
    max_steps: int | None,
    max_minutes: float | None,
    learning_rate: float | None,
    batch_size: int | None,
    head_steps: int | None,
    seed: int,
    device: str,
    threads: int | None,
) -> None:
    """Masked-LM pretraining of a BERT on CORPUS text files (one sentence a line, one language a
    file), or continued pretraining of any checkpoint with --init-from."""
    from mbert_eval.errors import UserError
    from mbert_eval.models.folders import check_output_folder
    from mbert_eval.models.threads import use_threads
    from mbert_eval.pretraining.loop import PretrainConfig, setting_problem
    from mbert_eval.pretraining.loop import pretrain as run_pretraining

    numbers = {"vocab_size": vocab_size, "max_steps": max_steps, "max_minutes": max_minutes}
    numbers |= {"learning_rate": learning_rate, "batch_size": batch_size, "head_steps": head_steps}
    for name, value in numbers.items():  # said with the option's name, before anything is read or trained
        problem = None if value is None else setting_problem(name, value)
        if problem:
            raise UserError(f"--{name.replace('_', '-')}: {problem}")
    use_threads(threads)

    given = {"max_steps": max_steps, "learning_rate": learning_rate, "batch_size": batch_size, "head_steps": head_steps}
    options = {key: value for key, value in given.items() if value is not None}
    config = PretrainConfig(
        corpus=[Path(c) for c in corpus],
        out_dir=Path(out),
        preset=preset,
        tokenizer=tokenizer,
        vocab_size=vocab_size,
        init_from=init_from,
        objectives=tuple(objectives),
        parallel=[(Path(source), Path(target)) for source, target in parallel],
        max_minutes=max_minutes,
        seed=seed,
        device=device,
        **options,
    )
    # before the run and before a folder of the same settings is reused: never onto, into or around an input
    check_output_folder(config.out_dir, config.input_paths(), "the model folder")
    click.echo(f"model written to {run_pretraining(config)}")


TATOEBA_LANGUAGES = {"ara": "ar", "cmn": "zh", "deu": "de", "fra": "fr", "hin": "hi", "rus": "ru", "spa": "es"}


@click.command("mining-mix")
@click.option(
    "--tatoeba",
    default="../shared/data/tatoeba",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The folder of XTREME's Tatoeba pairs (tatoeba.xxx-eng.xxx / .eng).",
)
@click.option("--out", default="runs/bucc-mix", show_default=True, type=click.Path(file_okay=False))
@click.option("--kept", default=250, show_default=True, help="Gold pairs per split and language.")
@click.option("--seed", default=0, show_default=True)
def mining_mix(tatoeba: str, out: str, kept: int, seed: int) -> None:
    """BUCC-style mining data from Tatoeba, offline: each language's pairs hidden among unpaired sentences of
    the other Tatoeba files, dev and test, gold pairs known (for the `bucc` task)."""
    from mbert_eval.data.bucc import tatoeba_bucc_outputs, tatoeba_inputs, write_tatoeba_bucc
    from mbert_eval.errors import UserError
    from mbert_eval.store.outputs import check_output

    folder = Path(tatoeba)
    found = {
        iso3: code for iso3, code in TATOEBA_LANGUAGES.items() if (folder / f"tatoeba.{iso3}-eng.{iso3}").is_file()
    }
    if not found:
        raise UserError(f"no Tatoeba pairs (tatoeba.xxx-eng.xxx) in {folder}; pass --tatoeba")
    # every output checked against every input before any is written: never onto, or through a link onto, an input
    inputs = list(dict.fromkeys(path for iso3 in found for path in tatoeba_inputs(folder, iso3)))
    for code in found.values():
        for path in tatoeba_bucc_outputs(out, code):
            check_output(path, inputs, "the mining file")
    for iso3, code in found.items():
        try:
            write_tatoeba_bucc(folder, iso3, code, out, kept=kept, seed=seed)
        except ValueError as err:
            raise UserError(f"{code}: {err}") from None
    click.echo(
        f"{len(found)} languages ({', '.join(sorted(found.values()))}), dev and test, written to {out}: "
        f"use `test: {out}/{{lang}}-en.test.{{lang}}` and `dev: {out}/{{lang}}-en.dev.{{lang}}`"
    )
