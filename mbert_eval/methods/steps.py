"""The built-in checkpoint steps: `scratch`, `tlm` and `align`, registered in `base.STEPS`. Each builder imports
its training code (torch) when it runs: `validate` and `ls methods` read the registry without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mbert_eval.config.experiment import AlignConfig, TLMConfig
from mbert_eval.data import AlignmentLinks
from mbert_eval.methods.base import STEPS, MethodContext, Step
from mbert_eval.methods.parallel_data import load_parallel, write_text_pairs
from mbert_eval.models.folders import atomic_output


def _parallel_fingerprint(context: MethodContext, alignments: bool) -> dict[str, Any]:
    """The checksums of the parallel text a step reads (with the word alignments where it reads them), by language."""
    return {s.language: s.checksums for s in load_parallel(context.settings, context.source, alignments)}


def build_scratch(base: str, out_dir: Path, context: MethodContext) -> None:
    """Same architecture and tokenizer as `base`, randomly initialized: the control that shows how
    much of the transfer the pretraining itself brings (cf. K et al. 2020)."""
    import torch
    from transformers import AutoConfig, AutoModel

    from mbert_eval.models.encoders import load_tokenizer

    torch.manual_seed(context.seed)
    model = AutoModel.from_config(AutoConfig.from_pretrained(base))
    with atomic_output(out_dir, "config.json") as partial:
        model.save_pretrained(partial)
        load_tokenizer(base).save_pretrained(partial)


def build_tlm(base: str, out_dir: Path, context: MethodContext) -> None:
    """Continued pretraining of `base` with translation LM on the parallel text (Conneau & Lample 2019)."""
    from mbert_eval.methods.tlm import tlm_encoder

    text_dir = context.cache_dir / "parallel-text" / out_dir.name
    files = [write_text_pairs(s, text_dir) for s in load_parallel(context.settings, context.source, alignments=False)]
    tlm_encoder(base, out_dir, files, context.settings.tlm, context.seed, device=context.device)


def build_align(base: str, out_dir: Path, context: MethodContext) -> None:
    """Alignment-aware fine-tuning of `base` (Cao, Kitaev & Klein 2020) on word-aligned parallel text;
    links come from the config's Pharaoh files or, where none are given, from the aligner."""
    from mbert_eval.methods.alignment import align_encoder

    settings = context.settings.align
    pairs: list[tuple[list[str], list[str]]] = []
    links: list[AlignmentLinks] = []
    for parallel in load_parallel(context.settings, context.source):
        pairs += parallel.pairs
        links += (
            parallel.links
            if parallel.links is not None
            else compute_links(base, parallel.pairs, settings, context.device)
        )
    align_encoder(base, out_dir, pairs, links, settings, context.seed, device=context.device)


def compute_links(
    model: str, pairs: list[tuple[list[str], list[str]]], settings: AlignConfig, device: str
) -> list[AlignmentLinks]:
    """Word alignments by the batched SimAlign aligner (Jalili Sabet et al. 2020) with `model`, on `device`."""
    from mbert_eval.aligner.word_aligner import WordAligner, WordAlignerConfig
    from mbert_eval.models.encoders import encoder_depth

    layer = min(settings.aligner_layer, encoder_depth(model))
    aligner = WordAligner(
        WordAlignerConfig(model=model, layer=layer, methods=(settings.aligner_method,), device=device)
    )
    return aligner.align(pairs, progress="align: word links")[settings.aligner_method]


STEPS.register(
    "scratch",
    Step(build_scratch, lambda context: {}),
    "same architecture and tokenizer, randomly initialized (control)",
)
STEPS.register(
    "tlm",
    Step(
        build_tlm,
        lambda c: {"tlm": TLMConfig.IDENTITY.fingerprint(c.settings.tlm), "data": _parallel_fingerprint(c, False)},
        needs_parallel=True,
    ),
    "continued pretraining with translation LM on parallel text (Conneau & Lample 2019)",
)
STEPS.register(
    "align",
    Step(
        build_align,
        lambda c: {
            "align": AlignConfig.IDENTITY.fingerprint(c.settings.align),
            "data": _parallel_fingerprint(c, True),
            # how gold links are read, where there are some; only off its default, so earlier checkpoints' keys hold
            **({"one_indexed": True} if c.settings.parallel.one_indexed and c.settings.parallel.alignments else {}),
        },
        needs_parallel=True,
        reads_alignments=True,
        # 2: one-to-one links only (`methods.alignment.one_to_one`); 3: a word the `max_length` cut falls inside has
        # no vector (it took the piece left before it)
        version=3,
    ),
    "alignment-aware fine-tuning on word-aligned parallel text, one-to-one links (Cao et al. 2020)",
)
