"""Subword overlap between a source language's training text and a target's test text, under one tokenizer.

Pires et al. (ACL 2019, "How multilingual is multilingual BERT?") and Wu & Dredze (EMNLP 2019) relate zero-shot
transfer to the share of word pieces two languages have in common; K et al. (ICLR 2020) show that transfer
survives without any. Two measures, both over the subword types a tokenizer gives each word of the texts (words
tokenized one by one, as the tagging tasks feed them):

    type_jaccard    |S ∩ T| / |S ∪ T|, S and T the sets of subword types used by the source and the target text
    token_coverage  the share of the target text's subword tokens whose type occurs in the source text

Pieces that carry no text (the unknown token, SentencePiece's bare word-boundary piece) are left out: they are
shared by any two texts. A run measures them for every task whose examples are words (`Task.words`: POS, NER and
their probe): `SourceSubwords` counts the source's training text once per cell, and each target row's `extra`
holds its `subword_overlap` (`analysis.transfer` reads it from there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mbert_eval.errors import UserError

WORD_BOUNDARY = "\u2581"  # SentencePiece's word-boundary marker (Kudo & Richardson 2018), a piece of its own


@dataclass(frozen=True)
class Overlap:
    """The subword overlap of a source and a target text, with the counts it is computed from."""

    type_jaccard: float
    token_coverage: float
    source_types: int
    target_types: int
    shared_types: int
    target_tokens: int


def subword_counts(
    sentences: Iterable[Sequence[str]], tokenize: Callable[[str], list[str]], ignore: frozenset[str] = frozenset()
) -> Counter[str]:
    """How often each subword type occurs in `sentences` (lists of words), each word tokenized alone; types in
    `ignore` (the unknown token: it is shared whatever the texts) are left out."""
    words = Counter(word for sentence in sentences for word in sentence)
    counts: Counter[str] = Counter()
    for word, times in words.items():  # each word type tokenized once
        for piece in tokenize(word):
            if piece not in ignore:
                counts[piece] += times
    return counts


def subword_overlap(source: Counter[str], target: Counter[str]) -> Overlap:
    """Type Jaccard and token coverage of a target text's subword counts by a source text's (Pires et al. 2019;
    Wu & Dredze 2019; K et al. 2020)."""
    if not source or not target:
        raise UserError("subword overlap needs text on both sides; one side has no subword")
    shared = source.keys() & target.keys()
    covered = sum(target[piece] for piece in shared)
    return Overlap(
        type_jaccard=len(shared) / len(source.keys() | target.keys()),
        token_coverage=covered / sum(target.values()),
        source_types=len(source),
        target_types=len(target),
        shared_types=len(shared),
        target_tokens=sum(target.values()),
    )


def ignored_pieces(tokenizer: Any) -> frozenset[str]:
    """The pieces of a Hugging Face tokenizer that carry no text: its unknown token and SentencePiece's bare
    word-boundary piece (a word tokenized alone by XLM-R's or e5's tokenizer often starts with a bare boundary
    piece: 41% of the Chinese PUD test's pieces under e5-small)."""
    return frozenset({tokenizer.unk_token, WORD_BOUNDARY} - {None})


def model_tokenizer(folder: Path) -> tuple[Callable[[str], list[str]], frozenset[str]]:
    """The `tokenize` of the tokenizer saved in a model folder, and the pieces to ignore (`ignored_pieces`)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return tokenizer.tokenize, ignored_pieces(tokenizer)


@dataclass(frozen=True)
class SourceSubwords:
    """A source language's training text as subword counts under one tokenizer, counted once per cell, against which
    each target's test text is measured (Pires et al. 2019; Wu & Dredze 2019; K et al. 2020)."""

    counts: Counter[str]
    tokenize: Callable[[str], list[str]]
    ignore: frozenset[str]

    @classmethod
    def of(cls, tokenizer: Any, sentences: Iterable[Sequence[str]]) -> SourceSubwords:
        """The subword counts of `sentences` (lists of words) under a Hugging Face `tokenizer`."""
        ignore = ignored_pieces(tokenizer)
        return cls(subword_counts(sentences, tokenizer.tokenize, ignore), tokenizer.tokenize, ignore)

    def log(self, sentences: Iterable[Sequence[str]]) -> dict[str, Any]:
        """What a target's rows add to their `extra`: `subword_overlap`, the `Overlap` of the target's `sentences`
        with the source text, as a mapping; nothing where either side has no subword but the ignored ones (text the
        tokenizer knows nothing of has no overlap to measure, and a run does not fail for it)."""
        target = subword_counts(sentences, self.tokenize, self.ignore)
        if not self.counts or not target:
            return {}
        return {"subword_overlap": asdict(subword_overlap(self.counts, target))}
