"""SimAlign word alignment (Jalili Sabet et al. 2020, "SimAlign: High Quality Word Alignments without
Parallel Training Data using Static and Contextualized Embeddings"), batched.

For the same model and layer the links equal those of ``simalign.SentenceAligner.get_word_aligns``
(simalign 0.4, defaults ``token_type="bpe"``, ``distortion=0.0``), except where two similarities tie
within float rounding. The pipeline, step by step as simalign does it:

1. Each whitespace word becomes subwords: the tokenizer runs on the pre-split words
   (``is_split_into_words=True``), which is what simalign embeds; the word of each subword comes from
   ``word_ids()`` (simalign's per-word ``tokenizer.tokenize(word)`` gives the same pieces).
2. A subword's vector is ``hidden_states[layer]`` (0 = embedding output, default 8, the paper's choice
   for mBERT) at its position in ``[CLS] subwords [SEP]``; the special tokens are dropped.
   With ``token_type="word"`` a word's vector is the mean of its subwords' vectors.
3. Similarity of every source and target unit: ``(cos + 1) / 2``.
4. ``argmax``: links that are both their row's and their column's maximum (simalign "inter", ``a``).
   ``itermax``: argmax plus one more round (simalign's ``max_count=2``) on the similarities scaled by
   0.9 where only one side of the cell is still unaligned, 0 where neither is, kept only where the
   round's row and column maxima agree (simalign ``i``; skipped when either side has at most 2 units).
   ``match``: maximum-weight bipartite matching (simalign "mwmf", ``m``), solved with
   ``scipy.optimize.linear_sum_assignment`` (Crouse 2016) instead of networkx's blossom algorithm:
   the same optimal matching, except between matchings of equal weight. Ties in argmax/itermax go to
   the lowest index, as ``numpy.argmax`` does in simalign.
5. With ``token_type="bpe"``, two words are linked when any of their subwords are.

One deliberate difference: a bare space-marker piece (``▁`` in XLM-R-style SentencePiece vocabularies, with
which many words begin) is left out of its word's units when the word has another subword
(``skip_space_markers``, default on; WordPiece vocabularies have no such piece, so their links are simalign's).

What differs from simalign: many sentences per forward pass (length-sorted, right-padded; padding
changes the float rounding only); the encoder is cut after ``layer``; and a sentence whose subwords do
not fit the model window (max positions minus the special tokens) is embedded in overlapping windows
(stride half a window, the last one flush with the sentence end) and each subword takes its vector from
the window whose centre is nearest to it, where simalign truncates the sentence or crashes (simalign
issue #46). ``dtype="bfloat16"`` runs the encoder in bfloat16 (similarities stay float32): about twice the
speed where the hardware has bf16 units, but no longer simalign's links; ``float32`` (default) keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from mbert_eval.aligner.settings import DTYPE_NAMES, WordAlignerConfig
from mbert_eval.data.types import AlignmentLinks
from mbert_eval.errors import UserError
from mbert_eval.models.encoders import finite_states, load_model, load_tokenizer, pick_device
from mbert_eval.models.progress import progress_bar
from mbert_eval.models.specs import content_free_ids, position_limit

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPE_NAMES}  # the encoder's weights
ITERMAX_ALPHA = 0.9  # simalign's alpha_ratio
PAIRS_PER_CHUNK = 1024  # pairs embedded together; bounds the vectors held at once
BLOCK_CELLS = 1 << 22  # most similarity cells (pairs × rows × columns) scored in one padded block
PAD = -1.0  # similarity of padding cells: below every real (cos + 1) / 2 and below a masked 0

Pair = tuple[list[str], list[str]]


@dataclass
class _Units:
    """One sentence's aligned units (subwords or words): their vectors and the word each belongs to."""

    vectors: torch.Tensor  # (units, hidden)
    words: np.ndarray  # (units,) word index of each unit


class WordAligner:
    """SimAlign word aligner (Jalili Sabet et al. 2020) over many sentence pairs per forward pass."""

    def __init__(self, config: WordAlignerConfig) -> None:
        self.config = config
        self.device = pick_device(config.device)
        self.tokenizer = load_tokenizer(config.model)
        model = load_model(config.model)
        depth = model.config.num_hidden_layers
        if config.layer > depth:
            raise UserError(f"layer {config.layer} does not exist: {config.model} has layers 0 (embeddings) to {depth}")
        layers = getattr(getattr(model, "encoder", None), "layer", None)
        if isinstance(layers, torch.nn.ModuleList):  # hidden_states[layer] never needs the layers above it
            model.encoder.layer = layers[: max(config.layer, 1)]
        self.model = model.eval().to(self.device, DTYPES[config.dtype])
        self.prefix, self.suffix = _special_affixes(self.tokenizer)
        self.skip = content_free_ids(self.tokenizer) if config.skip_space_markers else frozenset()
        self.window = _max_positions(model, self.tokenizer) - len(self.prefix) - len(self.suffix)

    def align(self, pairs: list[Pair], progress: str | None = None) -> dict[str, list[AlignmentLinks]]:
        """Word links of each (source words, target words) pair, per configured method, in pair order.

        Links are 0-indexed (source word, target word) with ``sure == possible``, as SimAlign
        (Jalili Sabet et al. 2020) outputs them; a side without subwords gets no links. `progress`: the name of
        a bar over the pairs, on stderr (None: no bar).
        """
        links: dict[str, list[AlignmentLinks]] = {method: [] for method in self.config.methods}
        bar = progress_bar(total=len(pairs), desc=progress, unit="pair", shown=progress is not None, leave=False)
        for start in range(0, len(pairs), PAIRS_PER_CHUNK):
            units = self._units([side for pair in pairs[start : start + PAIRS_PER_CHUNK] for side in pair])
            chunk: dict[str, list[set[tuple[int, int]]]] = {m: [set() for _ in units[::2]] for m in links}
            for block, sim in self._similarity_blocks(units):
                self._decide(block, sim, [(units[2 * p], units[2 * p + 1]) for p in block], chunk)
                bar.update(len(block))
            for method, found in chunk.items():
                links[method].extend(AlignmentLinks(frozenset(s), frozenset(s)) for s in found)
            bar.update(start + len(units) // 2 - bar.n)  # and the pairs with an empty side
        bar.close()
        return links

    def similarity_matrices(self, pairs: list[Pair]) -> list[np.ndarray]:
        """Each pair's ``(cos + 1) / 2`` matrix between source and target units (subwords or words), as in
        SimAlign (Jalili Sabet et al. 2020), float32."""
        matrices: list[np.ndarray] = []
        for start in range(0, len(pairs), PAIRS_PER_CHUNK):
            units = self._units([side for pair in pairs[start : start + PAIRS_PER_CHUNK] for side in pair])
            found = [np.zeros((len(s.words), len(t.words)), np.float32) for s, t in zip(units[::2], units[1::2])]
            for block, sim in self._similarity_blocks(units):
                for row, p in enumerate(block):
                    found[p] = sim[row, : found[p].shape[0], : found[p].shape[1]].copy()
            matrices.extend(found)
        return matrices

    def _units(self, sentences: list[list[str]]) -> list[_Units]:
        """Tokenize and embed sentences; return each one's units (subwords, or words by subword mean)."""
        encoding = self.tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
        word_ids = [np.asarray(encoding.word_ids(s), dtype=np.int64) for s in range(len(sentences))]
        vectors = self._embed(encoding["input_ids"])
        if self.skip:
            kept = [
                _content_units(np.asarray(ids), words, self.skip) for ids, words in zip(encoding["input_ids"], word_ids)
            ]
            vectors = [v[torch.as_tensor(keep, device=v.device)] for v, keep in zip(vectors, kept)]
            word_ids = [words[keep] for words, keep in zip(word_ids, kept)]
        if self.config.token_type == "bpe":
            return [_Units(v, w) for v, w in zip(vectors, word_ids)]
        return [_word_means(v, w) for v, w in zip(vectors, word_ids)]

    @torch.no_grad()
    def _embed(self, sentences: list[list[int]]) -> list[torch.Tensor]:
        """``hidden_states[layer]`` of every subword of every sentence as float32, long sentences in windows."""
        windows = [(s, a) for s, ids in enumerate(sentences) if ids for a in _window_starts(len(ids), self.window)]
        spans = [min(len(sentences[s]), self.window) for s, _ in windows]
        outputs: list[torch.Tensor] = [torch.empty(0)] * len(windows)
        order = sorted(range(len(windows)), key=spans.__getitem__)
        pad_id = self.tokenizer.pad_token_id or 0
        hidden_size = self.model.config.hidden_size
        for first in range(0, len(order), self.config.batch_size):
            batch = order[first : first + self.config.batch_size]
            rows = []
            for w in batch:
                sentence, start = windows[w]
                rows.append(self.prefix + sentences[sentence][start : start + spans[w]] + self.suffix)
            width = max(map(len, rows))
            ids = torch.tensor([row + [pad_id] * (width - len(row)) for row in rows], device=self.device)
            mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=self.device)
            output = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            hidden = finite_states(output.hidden_states[self.config.layer], self.model)
            for row, w in enumerate(batch):
                outputs[w] = hidden[row, len(self.prefix) : len(self.prefix) + spans[w]].float()
        vectors: list[torch.Tensor] = []
        position = 0
        for ids in sentences:
            count = len(_window_starts(len(ids), self.window)) if ids else 0
            vectors.append(_central_vectors(outputs[position : position + count], len(ids), self.window, hidden_size))
            position += count
        return vectors

    def _similarity_blocks(self, units: list[_Units]) -> Iterator[tuple[list[int], np.ndarray]]:
        """Yield (pair indices, padded float32 similarity block) for the pairs with units on both sides,
        size-sorted so that padding stays small; padding cells hold ``PAD``."""
        sizes = [(len(units[2 * p].words), len(units[2 * p + 1].words)) for p in range(len(units) // 2)]
        order = sorted((p for p, (m, n) in enumerate(sizes) if m and n), key=lambda p: max(sizes[p]))
        block: list[int] = []
        rows = cols = 0
        for p in order:
            rows, cols = max(rows, sizes[p][0]), max(cols, sizes[p][1])
            if block and (len(block) + 1) * rows * cols > BLOCK_CELLS:
                yield block, self._similarity(block, units)
                block, (rows, cols) = [], sizes[p]
            block.append(p)
        if block:
            yield block, self._similarity(block, units)

    def _similarity(self, block: list[int], units: list[_Units]) -> np.ndarray:
        """``(cos + 1) / 2`` of a block of pairs, padded with ``PAD`` (SimAlign's similarity)."""
        source = _padded([units[2 * p].vectors for p in block])
        target = _padded([units[2 * p + 1].vectors for p in block])
        sim = ((torch.bmm(source, target.transpose(1, 2)) + 1.0) / 2.0).cpu().numpy()
        rows = np.array([len(units[2 * p].words) for p in block])
        cols = np.array([len(units[2 * p + 1].words) for p in block])
        return np.where(_real_cells(sim.shape, rows, cols), sim, np.float32(PAD))

    def _decide(
        self,
        block: list[int],
        sim: np.ndarray,
        sides: list[tuple[_Units, _Units]],
        found: dict[str, list[set[tuple[int, int]]]],
    ) -> None:
        """Add each method's word links for a block of pairs to ``found``."""
        rows = np.array([len(s.words) for s, _ in sides])
        cols = np.array([len(t.words) for _, t in sides])
        inter = mutual_argmax(sim)
        unit_links = {"argmax": inter}
        if "itermax" in found:
            unit_links["itermax"] = itermax(sim, inter, rows, cols)
        if "match" in found:
            unit_links["match"] = max_weight_matching(sim, rows, cols)
        for method in found:
            for g, i, j in zip(*np.nonzero(unit_links[method])):
                source, target = sides[g]
                found[method][block[g]].add((int(source.words[i]), int(target.words[j])))


def mutual_argmax(sim: np.ndarray) -> np.ndarray:
    """SimAlign's Argmax (Jalili Sabet et al. 2020): cells that are their row's and column's first maximum.

    ``sim`` is (pairs, rows, columns) with padding cells below every real value; returns a bool array.
    """
    forward = sim.argmax(axis=2)[:, :, None] == np.arange(sim.shape[2])
    backward = sim.argmax(axis=1)[:, None, :] == np.arange(sim.shape[1])[:, None]
    return forward & backward


def itermax(sim: np.ndarray, inter: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """SimAlign's IterMax (Jalili Sabet et al. 2020) with simalign 0.4's ``max_count=2``: one round after Argmax.

    Cells where row and column are both unaligned keep their similarity, where one is unaligned get
    ``0.9 ×`` it, where neither is get 0; new links are the mutual first maxima of that, on cells with
    an unaligned side. Pairs with at most 2 rows or columns, or with every row or every column aligned,
    keep ``inter``. ``rows``/``cols`` hold each pair's real sizes; padding cells are never linked.
    """
    valid = _real_cells(sim.shape, rows, cols)
    free_x = (~inter.any(axis=2))[:, :, None] & valid  # unaligned row
    free_y = (~inter.any(axis=1))[:, None, :] & valid  # unaligned column
    mask = np.clip(ITERMAX_ALPHA * free_x + ITERMAX_ALPHA * free_y, 0.0, 1.0)
    new = mutual_argmax(np.where(valid, sim * mask, PAD)) & (free_x | free_y)
    skip = (np.minimum(rows, cols) <= 2) | ~free_x.any(axis=(1, 2)) | ~free_y.any(axis=(1, 2))
    return inter | (new & ~skip[:, None, None])


def max_weight_matching(sim: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """SimAlign's Match (Jalili Sabet et al. 2020): the maximum-weight matching of ``min(rows, cols)`` links,
    by ``scipy.optimize.linear_sum_assignment`` (Crouse 2016) on each pair's real cells."""
    links = np.zeros(sim.shape, dtype=bool)
    for g, (m, n) in enumerate(zip(rows, cols)):
        i, j = linear_sum_assignment(sim[g, :m, :n], maximize=True)
        links[g, i, j] = True
    return links


def _real_cells(shape: tuple[int, ...], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bool mask of a padded (pairs, rows, columns) block: True on each pair's real ``rows[g] × cols[g]`` cells."""
    return (np.arange(shape[1]) < rows[:, None])[:, :, None] & (np.arange(shape[2]) < cols[:, None])[:, None, :]


def _special_affixes(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The special-token ids the tokenizer puts before and after a single sentence (``[CLS]``, ``[SEP]``)."""
    encoding = tokenizer([["a"]], is_split_into_words=True)
    word_ids = encoding.word_ids(0)
    content = [k for k, w in enumerate(word_ids) if w is not None]
    ids = encoding["input_ids"][0]
    return ids[: content[0]], ids[content[-1] + 1 :]


def _max_positions(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """Tokens per sequence the model takes: its position table (`position_limit`) or the tokenizer's
    ``model_max_length``, whichever is smaller."""
    return min(position_limit(model.config.to_dict()) or tokenizer.model_max_length, tokenizer.model_max_length)


def _window_starts(length: int, window: int) -> list[int]:
    """Window starts covering ``length`` subwords: one window if it fits, else stride ``window // 2``,
    the last window ending at the sentence end."""
    if length <= window:
        return [0]
    return list(range(0, length - window, max(1, window // 2))) + [length - window]


def _central_vectors(outputs: list[torch.Tensor], length: int, window: int, hidden: int) -> torch.Tensor:
    """A sentence's subword vectors from its windows' outputs, each from the window whose centre is nearest."""
    if not outputs:
        return torch.zeros(0, hidden)
    if len(outputs) == 1:
        return outputs[0]
    starts = torch.tensor(_window_starts(length, window), device=outputs[0].device)
    positions = torch.arange(length, device=outputs[0].device)
    distance = (positions[None, :] - (starts[:, None] + (window - 1) / 2)).abs()
    best = distance.argmin(dim=0)  # nearest centre; always a window that holds the position
    return torch.cat(outputs)[best * window + positions - starts[best]]


def _content_units(ids: np.ndarray, words: np.ndarray, content_free: frozenset[int]) -> np.ndarray:
    """Bool mask of the subwords to align: all but the content-free ones (a bare `▁`) of words that have another
    subword. XLM-R-style vocabularies start many words with a bare `▁`, whose vector says little about the word
    (on awesome-align's en-fr gold, multilingual-e5-small layer 8: AER 7.94 → 7.43 with argmax)."""
    bare = np.isin(ids, list(content_free))
    if not bare.any():
        return np.ones(len(ids), dtype=bool)
    has_content = np.zeros(int(words.max()) + 1, dtype=bool)
    has_content[words[~bare]] = True
    return ~(bare & has_content[words])


def _word_means(vectors: torch.Tensor, word_ids: np.ndarray) -> _Units:
    """Word units: the mean of each word's subword vectors (simalign ``token_type="word"``); words without
    subwords have no vector and are left out."""
    words = np.unique(word_ids)
    index = torch.as_tensor(np.searchsorted(words, word_ids), device=vectors.device)
    sums = vectors.new_zeros(len(words), vectors.shape[1]).index_add_(0, index, vectors)
    counts = torch.bincount(index, minlength=len(words)).to(vectors.dtype)
    return _Units(sums / counts[:, None], words)


def _padded(vectors: list[torch.Tensor]) -> torch.Tensor:
    """Unit-normalize each row and right-pad the matrices with zeros to one (batch, units, hidden) tensor."""
    normalized = [torch.nn.functional.normalize(v, dim=-1) for v in vectors]
    return torch.nn.utils.rnn.pad_sequence(normalized, batch_first=True)
