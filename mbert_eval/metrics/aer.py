"""Word-alignment precision, recall, F1 and alignment error rate (AER).

Och & Ney (2003), "A Systematic Comparison of Various Statistical Alignment Models", section 5, with sure
links S included in possible links P and predicted links A, counted over the whole corpus (summed over
sentence pairs) as simalign's ``calc_align_score.py`` and awesome-align's ``tools/aer.py`` do:

    precision = |A∩P| / |A|    recall = |A∩S| / |S|    F1 = 2PR / (P + R)
    AER = 1 − (|A∩S| + |A∩P|) / (|A| + |S|)

Empty denominators give 0 (no predicted links: precision 0; no sure links: recall 0; neither: AER 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from mbert_eval.data.types import AlignmentLinks


@dataclass(frozen=True)
class AlignmentScores:
    """Corpus-level alignment scores (Och & Ney 2003) and the link counts they come from."""

    precision: float
    recall: float
    f1: float
    aer: float
    predicted: int  # |A|
    sure: int  # |S|


def alignment_counts(predicted: list[AlignmentLinks], gold: list[AlignmentLinks]) -> list[tuple[int, int, int, int]]:
    """Per sentence pair, the link counts AER sums (Och & Ney 2003): |A∩S|, |A∩P|, |A| and |S|, the order of
    `metrics.bootstrap.AGGREGATES["aer"]`; A is all of ``predicted``'s ``.possible``."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted alignments but {len(gold)} gold alignments")
    return [
        (
            len(hypothesis.possible & reference.sure),
            len(hypothesis.possible & reference.possible),
            len(hypothesis.possible),
            len(reference.sure),
        )
        for hypothesis, reference in zip(predicted, gold)
    ]


def alignment_scores(predicted: list[AlignmentLinks], gold: list[AlignmentLinks]) -> AlignmentScores:
    """Precision, recall, F1 and AER (Och & Ney 2003) of ``predicted`` links (all of ``.possible``) against
    ``gold`` sure and possible links, one entry per sentence pair, summed over the corpus."""
    counts = alignment_counts(predicted, gold)
    a_and_s, a_and_p, a, s = (sum(column) for column in zip(*counts)) if counts else (0, 0, 0, 0)
    precision = a_and_p / a if a else 0.0
    recall = a_and_s / s if s else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    aer = 1.0 - (a_and_s + a_and_p) / (a + s) if a + s else 0.0
    return AlignmentScores(precision, recall, f1, aer, a, s)
