"""Bitext mining by ratio margin (Artetxe & Schwenk 2019), scored as BUCC 2018 (Zweigenbaum et al. 2018).

The margin of a candidate pair, with NN_k(x) the k targets nearest to x by cosine and NN_k(y) the k sources
nearest to y (k = 4, as in the paper):

    margin(x, y) = cos(x, y) / (Σ_{z ∈ NN_k(x)} cos(x, z) / 2k + Σ_{z ∈ NN_k(y)} cos(y, z) / 2k)

Mining is the paper's "max. score" strategy as LASER's `mine_bitexts.py` implements it: each source's best
target by margin among its k nearest neighbours (forward), each target's best source likewise (backward);
the candidates of both directions are taken in decreasing margin and kept when neither sentence is taken
yet, so the result is one-to-one. A candidate is mined when its margin reaches a threshold, chosen where F1
on a dev set is highest (LASER's `bucc.py`, midway between two candidates) and then applied to the test set.
The threshold is always chosen on dev and stored with the scores: XTREME's `evaluate_retrieval.py` passes
one on that it never assigns (Hu et al. 2020).

Nearest neighbours are exact. Up to `DENSE_ENTRIES` similarities the whole matrix is computed at once;
beyond, on the CPU, faiss's flat inner-product index when faiss is installed (Johnson et al. 2019; optional),
else tiles of the matrix with running top-k lists of its rows and of its columns: one pass over the matrix,
one tile in memory.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import torch

K = 4  # neighbours each way (Artetxe & Schwenk 2019)
DENSE_ENTRIES = 1 << 22  # similarities held at once on the CPU (16 MiB of float32): the whole matrix, or a tile
DEVICE_ENTRIES = 1 << 28  # on an accelerator: bigger tiles keep its matrix products large (1 GiB)
TILE_ROWS, DEVICE_TILE_ROWS = 512, 4096  # source rows of a tile (fewer make the column top-k slow)
METHODS = ("auto", "dense", "tiles", "faiss")


@dataclass(frozen=True)
class Neighbours:
    """The nearest neighbours by cosine each way: `forward` (n, k) of every source among the targets,
    `backward` (m, k) of every target among the sources, each with the neighbours' row indices."""

    forward: torch.Tensor
    forward_index: torch.Tensor
    backward: torch.Tensor
    backward_index: torch.Tensor


@dataclass(frozen=True)
class Candidates:
    """Mined pairs (source row, target row) and their margins, one-to-one, by decreasing margin."""

    source: torch.Tensor
    target: torch.Tensor
    margin: torch.Tensor

    def correct(self, gold: Collection[tuple[int, int]]) -> torch.Tensor:
        """Which candidates are gold pairs (booleans, in candidate order)."""
        pairs = zip(self.source.tolist(), self.target.tolist())
        return torch.tensor([pair in gold for pair in pairs], dtype=torch.bool)


@dataclass(frozen=True)
class MiningScores:
    """Precision, recall and F1 of the pairs whose margin reaches `threshold` (chosen on dev), and those pairs
    (source row, target row)."""

    precision: float
    recall: float
    f1: float
    threshold: float
    pairs: tuple[tuple[int, int], ...] = ()


def nearest_neighbours(source: torch.Tensor, target: torch.Tensor, k: int = K, method: str = "auto") -> Neighbours:
    """The k nearest neighbours by cosine in both directions (k capped at the other side's size), exactly.

    `method`: `dense` (the whole matrix), `tiles` (tile by tile, running top-k each way), `faiss` (flat
    inner-product index, CPU), or `auto`: dense when small, else faiss on the CPU where installed, else tiles.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    s = torch.nn.functional.normalize(source.float(), dim=-1)
    t = torch.nn.functional.normalize(target.float(), dim=-1)
    if not len(s) or not len(t):
        raise ValueError(f"nothing to mine: {len(s)} source and {len(t)} target sentences")
    forward_k, backward_k = min(k, len(t)), min(k, len(s))
    entries = DENSE_ENTRIES if s.device.type == "cpu" else DEVICE_ENTRIES
    if method == "auto":
        faiss = load_faiss() if s.device.type == "cpu" else None
        method = "dense" if len(s) * len(t) <= entries else "faiss" if faiss is not None else "tiles"
    if method == "dense":
        similarity = s @ t.T
        forward, backward = similarity.topk(forward_k, dim=1), similarity.T.topk(backward_k, dim=1)
        return Neighbours(forward.values, forward.indices, backward.values, backward.indices)
    if method == "faiss":
        return _faiss_neighbours(s, t, forward_k, backward_k)
    rows = TILE_ROWS if s.device.type == "cpu" else DEVICE_TILE_ROWS
    return _tile_neighbours(s, t, forward_k, backward_k, rows, entries // rows)


def load_faiss():
    """The faiss module, or None where it is not installed (it is optional)."""
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _faiss_neighbours(s: torch.Tensor, t: torch.Tensor, forward_k: int, backward_k: int) -> Neighbours:
    faiss = load_faiss()
    if faiss is None:
        raise ValueError("method 'faiss' needs faiss: pip install faiss-cpu")

    def search(queries: torch.Tensor, keys: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = faiss.IndexFlatIP(keys.shape[1])
        index.add(keys.cpu().contiguous().numpy())
        values, indices = index.search(queries.cpu().contiguous().numpy(), k)
        return torch.from_numpy(values).to(s.device), torch.from_numpy(indices).long().to(s.device)

    return Neighbours(*search(s, t, forward_k), *search(t, s, backward_k))


def _tile_neighbours(
    s: torch.Tensor, t: torch.Tensor, forward_k: int, backward_k: int, rows: int, columns: int
) -> Neighbours:
    """The similarity matrix tile by tile (rows × columns), each tile's top-k merged into running top-k lists of
    its rows and of its columns: one pass, one tile in memory, whatever the sizes."""
    forward = torch.full((len(s), forward_k), -torch.inf, device=s.device)
    backward = torch.full((len(t), backward_k), -torch.inf, device=s.device)
    forward_index = torch.zeros((len(s), forward_k), dtype=torch.long, device=s.device)
    backward_index = torch.zeros((len(t), backward_k), dtype=torch.long, device=s.device)

    def merge(values: torch.Tensor, indices: torch.Tensor, span: slice, found: Any, offset: int) -> None:
        """Fold a tile's top-k (`found`, indices from `offset`) into the running lists of rows `span`."""
        best = torch.cat([values[span], found.values], 1).topk(values.shape[1], dim=1)
        indices[span] = torch.cat([indices[span], found.indices + offset], 1).gather(1, best.indices)
        values[span] = best.values

    for i in range(0, len(s), rows):
        for j in range(0, len(t), columns):
            similarity = s[i : i + rows] @ t[j : j + columns].T
            merge(
                forward, forward_index, slice(i, i + rows), similarity.topk(min(forward_k, similarity.shape[1]), 1), j
            )
            merge(
                backward,
                backward_index,
                slice(j, j + columns),
                similarity.T.topk(min(backward_k, similarity.shape[0]), 1),
                i,
            )
    return Neighbours(forward, forward_index, backward, backward_index)


def mine(source: torch.Tensor, target: torch.Tensor, k: int = K, method: str = "auto") -> Candidates:
    """Candidate pairs by ratio margin, "max. score" strategy (Artetxe & Schwenk 2019): the forward and the
    backward best of every sentence, kept greedily by decreasing margin where neither side is taken yet."""
    nn = nearest_neighbours(source, target, k, method)
    source_mean, target_mean = nn.forward.mean(1), nn.backward.mean(1)  # Σ cos / k: the 2k is the halving below
    forward = nn.forward / ((source_mean[:, None] + target_mean[nn.forward_index]) / 2)
    backward = nn.backward / ((target_mean[:, None] + source_mean[nn.backward_index]) / 2)
    forward_best, backward_best = forward.max(1), backward.max(1)
    sources = torch.cat(
        [
            torch.arange(len(forward), device=forward.device),
            nn.backward_index.gather(1, backward_best.indices[:, None])[:, 0],
        ]
    )
    targets = torch.cat(
        [
            nn.forward_index.gather(1, forward_best.indices[:, None])[:, 0],
            torch.arange(len(backward), device=backward.device),
        ]
    )
    margins = torch.cat([forward_best.values, backward_best.values]).cpu()
    order = torch.argsort(margins, descending=True, stable=True)
    taken_sources, taken_targets, kept = set(), set(), []
    for i, s, t in zip(order.tolist(), sources.cpu()[order].tolist(), targets.cpu()[order].tolist()):
        if s not in taken_sources and t not in taken_targets:
            taken_sources.add(s)
            taken_targets.add(t)
            kept.append(i)
    chosen = torch.tensor(kept, dtype=torch.long)
    return Candidates(sources.cpu()[chosen], targets.cpu()[chosen], margins[chosen].double())


def choose_threshold(candidates: Candidates, gold: Collection[tuple[int, int]]) -> float:
    """The margin threshold whose mined pairs (margin ≥ threshold) have the highest F1 against `gold`: midway
    between the last pair kept and the next lower margin (LASER's `bucc.py`); of equal F1s, the highest. Where no
    candidate is a gold pair (every F1 is 0), 0, as LASER's `bucc_optimize` leaves it: every candidate is mined."""
    if not gold:
        raise ValueError("no gold pairs to choose a threshold with")
    margins = candidates.margin
    true_positives = candidates.correct(gold).double().cumsum(0)
    f1 = 2 * true_positives / (torch.arange(1, len(margins) + 1) + len(gold))
    cuttable = torch.ones(len(margins), dtype=torch.bool)  # a cut inside a run of equal margins is no threshold
    cuttable[:-1] = margins[:-1] > margins[1:]
    if not bool((true_positives > 0).any()):
        return 0.0
    best = int(torch.where(cuttable, f1, -1.0).argmax())
    if best == len(margins) - 1:
        return float(margins[best])
    return float((margins[best] + margins[best + 1]) / 2)


def scores_at(candidates: Candidates, gold: Collection[tuple[int, int]], threshold: float) -> MiningScores:
    """Precision, recall and F1 against `gold` of the candidates whose margin reaches `threshold`."""
    if not gold:
        raise ValueError("no gold pairs to score against")
    kept = candidates.margin >= threshold
    correct = int(candidates.correct(gold)[kept].sum())
    extracted = int(kept.sum())
    precision = correct / extracted if extracted else 0.0
    recall = correct / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    pairs = tuple(zip(candidates.source[kept].tolist(), candidates.target[kept].tolist()))
    return MiningScores(precision, recall, f1, threshold, pairs)


def sentence_counts(
    pairs: Collection[tuple[int, int]], gold: Collection[tuple[int, int]], sources: int
) -> list[tuple[int, int, int]]:
    """Per source row 0..sources-1, the true positives, false positives and false negatives of the mined `pairs`
    against `gold` that are its own (a mined pair counts for its source sentence, a gold pair likewise): summed,
    the counts of BUCC's F1 = 2·tp / (2·tp + fp + fn) (Zweigenbaum et al. 2018)."""
    counts = [[0, 0, 0] for _ in range(sources)]
    gold = set(gold)
    for source, target in pairs:
        counts[source][0 if (source, target) in gold else 1] += 1
    for source, _ in gold - set(pairs):
        counts[source][2] += 1
    return [(tp, fp, fn) for tp, fp, fn in counts]


def mining_scores(
    dev_source: torch.Tensor,
    dev_target: torch.Tensor,
    dev_gold: Collection[tuple[int, int]],
    test_source: torch.Tensor,
    test_target: torch.Tensor,
    test_gold: Collection[tuple[int, int]],
    k: int = K,
    method: str = "auto",
) -> MiningScores:
    """BUCC's protocol on sentence embeddings (rows): mine dev and choose the threshold there, mine test and
    score it at that threshold (Zweigenbaum et al. 2018; Artetxe & Schwenk 2019). Gold pairs are row pairs."""
    threshold = choose_threshold(mine(dev_source, dev_target, k, method), dev_gold)
    return scores_at(mine(test_source, test_target, k, method), test_gold, threshold)
