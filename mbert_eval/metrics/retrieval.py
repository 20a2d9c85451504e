"""Bitext retrieval accuracy by cosine nearest neighbour.

Tatoeba similarity search as in XTREME (Hu et al. 2020) after Artetxe & Schwenk (2019): sentence
i of one side counts as correct when its nearest neighbour (cosine similarity) on the other side is
sentence i. Reported in both directions.
"""

from __future__ import annotations

import torch


def retrieval_accuracy(queries: torch.Tensor, candidates: torch.Tensor) -> float:
    """Share of rows i of `queries` whose most cosine-similar row of `candidates` is row i: Tatoeba similarity
    search (Artetxe & Schwenk 2019; Hu et al. 2020)."""
    hits = nearest_candidates(queries, candidates) == torch.arange(len(queries))
    return int(hits.sum()) / len(queries)


def nearest_candidates(queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Per row of `queries`, the index of its most cosine-similar row of `candidates` (on the CPU): the sentence
    Tatoeba similarity search retrieves (Artetxe & Schwenk 2019)."""
    if queries.shape != candidates.shape:
        raise ValueError(f"shapes differ: {tuple(queries.shape)} vs {tuple(candidates.shape)}")
    q = torch.nn.functional.normalize(queries.float(), dim=-1)
    c = torch.nn.functional.normalize(candidates.float(), dim=-1)
    return (q @ c.T).argmax(dim=1).cpu()
