"""Entity-level precision, recall and F1 for BIO-tagged named entities.

As in the CoNLL-2003 shared task's conlleval (Tjong Kim Sang & De Meulder 2003) and XTREME's
PAN-X evaluation (Hu et al. 2020), computed with `seqeval` (Nakayama 2018) in its default mode.
XTREME's `run_tag.py` scores UD-POS with the same function on UPOS sequences (seqeval then reads a tag's
first letter as its chunk prefix and the rest as its type, so runs of one tag form one "entity"); the POS
task stores that number as `xtreme_f1`, next to word accuracy, to stand beside XTREME's leaderboard.
"""

from __future__ import annotations

from collections.abc import Sequence


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged entity F1 (main metric), precision and recall, as conlleval counts them (Tjong Kim Sang &
    De Meulder 2003), computed by seqeval (Nakayama 2018)."""
    # imported here: seqeval imports scikit-learn (seconds), and the tagging tasks import this module to be named
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold_lists, pred_lists = [list(s) for s in gold], [list(s) for s in predicted]
    return {
        "f1": float(f1_score(gold_lists, pred_lists)),
        "precision": float(precision_score(gold_lists, pred_lists)),
        "recall": float(recall_score(gold_lists, pred_lists)),
    }


def entity_counts(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> list[tuple[int, int, int]]:
    """Per sentence, the true positives, false positives and false negatives that `entity_scores` sums: entities
    are (type, start, end) chunks as seqeval (Nakayama 2018) reads them in its default mode, and seqeval joins
    sentences with an `O`, so no chunk spans two sentences and the per-sentence counts sum to its micro counts
    (F1 = 2·tp / (2·tp + fp + fn); Tjong Kim Sang & De Meulder 2003)."""
    from seqeval.metrics.sequence_labeling import get_entities

    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    counts = []
    for gold_tags, predicted_tags in zip(gold, predicted):
        true, found = set(get_entities(list(gold_tags))), set(get_entities(list(predicted_tags)))
        hits = len(true & found)
        counts.append((hits, len(found) - hits, len(true) - hits))
    return counts
