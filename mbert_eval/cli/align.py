"""`mbert-eval align` and `mbert-eval align-eval`: SimAlign word alignment (Jalili Sabet et al. 2020) of
whitespace-tokenized parallel text into Pharaoh links, and its scores against gold (Och & Ney 2003). Sentence
files of `id<TAB>sentence` lines (SimAlign's sample) are read as the alignment task reads them; their links are
`id<TAB>links` lines, matched by id."""

from __future__ import annotations

from pathlib import Path

import click

from mbert_eval.cli.group import THREADS_OPTION
from mbert_eval.data import (
    AlignmentLinks,
    check_alignment_ranges,
    has_ids,
    index_base,
    read_id_pharaoh,
    read_links_by_id,
    read_pharaoh,
    read_word_pairs,
    write_pharaoh,
)
from mbert_eval.data import drop_out_of_range as drop_out_of_range_links
from mbert_eval.errors import DataError, UserError

TEXT_HELP = (
    "one `src ||| tgt` file, or a source and a target file with one sentence a line "
    "(or `id<TAB>sentence` lines, as SimAlign's sample)"
)

Pair = tuple[list[str], list[str]]


def read_inputs(inputs: tuple[str, ...]) -> tuple[list[str] | None, list[Pair]]:
    """The ids and word pairs of `align`'s and `align-eval`'s text files (`data.read_word_pairs`)."""
    if len(inputs) not in (1, 2):
        raise UserError(f"expected {TEXT_HELP}; got {len(inputs)} files")
    return read_word_pairs(*inputs)


@click.command("align")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--model", required=True, help="Model folder (or Hub name) whose hidden states align the words.")
@click.option("--layer", default=8, show_default=True, help="Hidden layer (0 = embeddings); 8 is SimAlign's for mBERT.")
@click.option("--method", default="argmax", show_default=True, help="SimAlign matching: argmax, itermax or match.")
@click.option(
    "--token-type",
    default="bpe",
    show_default=True,
    help="Align subwords and map to words (bpe), or align word vectors (word).",
)
@click.option("--batch-size", default=32, show_default=True, help="Sequences per forward pass.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@click.option(
    "--dtype",
    default="float32",
    show_default=True,
    help="Encoder precision: float32 gives simalign's links; bfloat16 is faster where the hardware has "
    "bf16 units, and a few links differ.",
)
@click.option(
    "--keep-space-markers",
    is_flag=True,
    help="Align bare `▁` pieces too, as simalign does (by default they are left out of words that have "
    "other subwords; only SentencePiece vocabularies have them).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Pharaoh file to write (0-indexed i-j; `id<TAB>links` lines for id files).",
)
@THREADS_OPTION
def align(
    inputs: tuple[str, ...],
    model: str,
    layer: int,
    method: str,
    token_type: str,
    batch_size: int,
    device: str,
    dtype: str,
    keep_space_markers: bool,
    out: str,
    threads: int | None,
) -> None:
    """Word-align INPUTS (one `src ||| tgt` file, or source and target files, plain or `id<TAB>sentence`) with
    SimAlign."""
    from mbert_eval.aligner.word_aligner import (  # torch and scipy: only when aligning
        WordAligner,
        WordAlignerConfig,
    )
    from mbert_eval.models.specs import check_device
    from mbert_eval.models.threads import use_threads
    from mbert_eval.store.outputs import check_output

    read = [Path(path) for path in inputs]
    if Path(model).expanduser().exists():  # a local model folder (a Hub name is not): its files are inputs too
        read.append(Path(model).expanduser())
    check_output(Path(out), read, "the alignment file")  # before the model runs
    check_device(device)
    use_threads(threads)

    config = WordAlignerConfig(
        model,
        layer=layer,
        methods=(method,),
        token_type=token_type,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        skip_space_markers=not keep_space_markers,
    )
    ids, pairs = read_inputs(inputs)
    links = WordAligner(config).align(pairs, progress="align")[method]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_pharaoh(out, links, ids)  # id files: `id<TAB>links` lines, as their gold, which align-eval matches by id
    layout = "" if ids is None else " as id<TAB>links lines"
    click.echo(f"{len(pairs)} pairs aligned ({method}, layer {layer}), links written to {out}{layout}")


@click.command("align-eval")
@click.option(
    "--gold",
    required=True,
    type=click.Path(dir_okay=False),
    help="Gold Pharaoh file (i-j sure, ipj possible), or `id<TAB>links` lines matched by id.",
)
@click.option(
    "--pred",
    required=True,
    type=click.Path(dir_okay=False),
    help="Predicted Pharaoh file, 0-indexed (`id<TAB>links` lines where the gold has ids).",
)
@click.option(
    "--one-indexed/--zero-indexed",
    "one_indexed",
    default=None,
    help="Index base of the gold file (awesome-align's enfr.gold is 1-indexed) [default: read off the "
    "file: an index 0 means 0-indexed, an index at a sentence's end (with --text) 1-indexed].",
)
@click.option(
    "--text",
    multiple=True,
    type=click.Path(dir_okay=False),
    help=f"The aligned text ({TEXT_HELP}; repeat for two files): every link is checked to be in range.",
)
@click.option(
    "--drop-out-of-range",
    is_flag=True,
    help="Drop gold links past their sentence's end and count them, instead of refusing the file "
    "(needs --text; KFTT's ja-en gold has six such links).",
)
def align_eval(gold: str, pred: str, one_indexed: bool | None, text: tuple[str, ...], drop_out_of_range: bool) -> None:
    """Precision, recall, F1 and AER (Och & Ney 2003) of predicted word links against gold links."""
    from mbert_eval.metrics.aer import (
        alignment_scores,  # the metrics package imports torch
    )
    from mbert_eval.tasks.alignment import AlignmentTask, GoldAlignments

    if drop_out_of_range and not text:
        raise UserError("--drop-out-of-range needs --text: a link is out of range only against its sentences")
    ids, pairs = read_inputs(text) if text else (None, None)
    lengths = None if pairs is None else [(len(source), len(target)) for source, target in pairs]
    where = f"the --text file {text[0]}" if ids is not None else f"the gold {gold}"
    if has_ids(gold) and ids is None:
        if text:
            raise DataError(
                gold, "holds id<TAB>links lines, but the --text files have no ids: pass the id<TAB>sentence files"
            )
        ids = [sentence_id for sentence_id, _ in read_id_pharaoh(gold)]  # in the gold's order
    if ids is None and has_ids(pred):
        raise DataError(pred, f"holds id<TAB>links lines, but {gold} has no ids: give both files ids, or neither")

    def read(path: str, one_based: bool = False) -> list[AlignmentLinks]:
        """A links file's lines in the pairs' order: by id where there are ids, else line by line."""
        return read_pharaoh(path, one_based) if ids is None else read_links_by_id(path, ids, one_based, where)

    if one_indexed is None:
        base = index_base(read(gold), lengths)
        if base is None:
            raise DataError(
                gold,
                "no link uses index 0, so the file may count words from 1: pass --one-indexed "
                "(or --zero-indexed if it counts from 0), and --text to check every link's range",
            )
        one_indexed = base
    gold_links = read(gold, one_indexed)
    pred_links = read(pred)
    if len(gold_links) != len(pred_links):
        raise DataError(
            pred,
            f"{len(pred_links)} alignment lines, but {gold} has {len(gold_links)}; "
            "both need one line per sentence pair",
        )
    notes = [f"gold {'1' if one_indexed else '0'}-indexed"]
    if lengths is None:
        notes.append("ranges not checked: pass --text")
    else:
        if drop_out_of_range:
            gold_links, dropped, first = drop_out_of_range_links(gold_links, lengths)
            if dropped:
                notes.append(f"{dropped} out-of-range gold links dropped (first on line {first})")
        try:
            check_alignment_ranges(gold_links, lengths, gold)
        except DataError as err:
            raise UserError(f"{err}; --drop-out-of-range drops and counts such gold links") from None
        check_alignment_ranges(pred_links, lengths, pred)
    problem = AlignmentTask().examples_problem(  # gold without sure links: any aligner would score AER 1 - P
        [], GoldAlignments(pairs or [([], [])] * len(gold_links), gold_links, gold)
    )
    if problem:
        raise UserError(problem)
    scores = alignment_scores(pred_links, gold_links)
    click.echo(
        f"precision {scores.precision:.4f}  recall {scores.recall:.4f}  F1 {scores.f1:.4f}  "
        f"AER {scores.aer:.4f}  ({len(gold_links)} pairs, {scores.predicted} predicted links, "
        f"{scores.sure} sure gold links; {'; '.join(notes)})"
    )
