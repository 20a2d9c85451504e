"""Alignment-aware fine-tuning of an encoder (Cao, Kitaev & Klein 2020, "Multilingual Alignment of Contextual
Word Representations").

Over word-aligned parallel text, the encoder ``f`` is trained to minimise

    Σ_{aligned (i, j)} ‖f(target)_j − f(source)_i‖²  +  λ · Σ_{source words i} ‖f(source)_i − f₀(source)_i‖²

where ``f₀`` is the encoder before training: the first term (the paper's ``L(f; C)``) pulls each target word's
vector onto its aligned source word's vector, the second (``λR(f; C)``, λ = 1) keeps the source language near
the original model. Choices, following the paper where it says:

* A word's vector is the ``hidden_states[layer]`` row of its last subword (``layer=-1``: the last layer).
* Gradients flow through both sides of the alignment term, as the loss is written (no stop-gradient); the
  regulariser is what anchors the source side. (The released code differs from the equation here: it pulls the
  other language onto ``f₀``'s source vectors, aligns [CLS] and [SEP] too, and averages each term over its own
  vectors; the suite follows the equation.)
* The regulariser covers every source word that fits ``max_length``, aligned or not (``R`` sums over all words
  of the source sentences), using the same last-subword vectors.
* One-to-one links only (version 2 of the step): of the given links (``AlignmentLinks.possible``, which
  includes ``sure``), those whose source word and target word have no other link. The paper trains on the
  intersection of fast_align's two directions, which is one-to-one, and its released code keeps only the
  one-to-one links of whatever alignment file it reads (``keep_1to1``); the aligner's word links (SimAlign's
  subword links merged to words) and hand-made gold files are not one-to-one. How many were left out is
  counted in ``align.json`` (``links_not_one_to_one``).
* Words cut off by ``max_length`` (and words without any subword) have no vector: their links are skipped
  and counted in ``align.json``.
* The loss of a batch is the sum above divided by the number of sentence pairs in the batch, so the logged
  loss is per sentence pair and does not depend on the batch size (Adam is invariant to that constant).
* ``f₀``'s source vectors are computed once up front (model in eval mode) and kept on the CPU, so only one model
  is in memory: pairs × source words × hidden size floats (10k pairs of 20 words at 768 dims: about 600 MB).
  Training keeps dropout on, as fine-tuning does and as the released code does (``model.train()`` against
  ``model_base.eval()``), so the regulariser also sees dropout noise.
* Adam with a linear warm-up over ``warmup_ratio`` of the steps, then linear decay to 0 (BERT's schedule).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import BatchEncoding, PreTrainedModel, PreTrainedTokenizerBase

from mbert_eval.config.experiment import AlignConfig
from mbert_eval.data import AlignmentLinks, check_alignment_ranges
from mbert_eval.errors import UserError
from mbert_eval.models.encoders import autocast, load_model, load_tokenizer, pick_device
from mbert_eval.models.folders import atomic_output
from mbert_eval.models.progress import progress_bar
from mbert_eval.training.optim import adamw, finite_loss, lr_factor

RECORD_FILE = "align.json"
WordPair = tuple[list[str], list[str]]  # whitespace-tokenized source and target sentence
Positions = list[list[int | None]]  # per sentence, the token index of each word's last subword (None: no vector)


def alignment_loss(
    source: torch.Tensor,
    target: torch.Tensor,
    reference: torch.Tensor,
    links: torch.Tensor,
    regularization: float,
) -> torch.Tensor:
    """Cao, Kitaev & Klein (2020)'s objective on one batch, summed (not averaged):
    ``Σ_{(i, j) ∈ links} ‖target[j] − source[i]‖² + regularization · Σ_i ‖source[i] − reference[i]‖²``.

    ``source`` (S, H) and ``target`` (T, H) are the current model's word vectors, ``reference`` (S, H) the
    original model's source word vectors and ``links`` an (L, 2) long tensor of (source row, target row).
    Gradients flow into both ``source`` and ``target``.
    """
    aligned = (target[links[:, 1]] - source[links[:, 0]]).pow(2).sum()
    anchored = (source - reference).pow(2).sum()
    return aligned + regularization * anchored


def one_to_one(links: frozenset[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    """The links whose source word and target word are in no other link, as Cao, Kitaev & Klein (2020) train on
    one-to-one links (the intersection of fast_align's two directions; their code's ``keep_1to1``)."""
    sources = Counter(i for i, _ in links)
    targets = Counter(j for _, j in links)
    return frozenset((i, j) for i, j in links if sources[i] == 1 and targets[j] == 1)


def encode_words(
    tokenizer: PreTrainedTokenizerBase, sentences: list[list[str]], max_length: int
) -> tuple[BatchEncoding, Positions]:
    """Tokenize pre-split sentences (padded, truncated to ``max_length``) and find each word's last subword via
    ``word_ids()``, the word vector of Cao, Kitaev & Klein (2020); words cut off by truncation get ``None``, the
    word the cut falls inside too (its last subword is cut off: the piece left is no word vector of theirs)."""
    encoding = tokenizer(
        sentences,
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    whole = tokenizer(sentences, is_split_into_words=True, truncation=False, verbose=False)  # subwords per word
    positions: Positions = [[None] * len(words) for words in sentences]
    for row in range(len(sentences)):
        pieces = Counter(word for word in whole.word_ids(row) if word is not None)
        kept = Counter(word for word in encoding.word_ids(row) if word is not None)
        for token, word in enumerate(encoding.word_ids(row)):
            if word is not None and kept[word] == pieces[word]:
                positions[row][word] = token
    return encoding, positions


def word_vectors(model: PreTrainedModel, encoding: BatchEncoding, positions: Positions, layer: int) -> torch.Tensor:
    """The ``hidden_states[layer]`` rows of every word's last subword (Cao, Kitaev & Klein 2020), sentence by
    sentence and word by word, words without a position left out: (words, hidden), float32."""
    device = next(model.parameters()).device
    inputs = {key: value.to(device) for key, value in encoding.items()}
    with autocast(device):
        hidden = model(**inputs, output_hidden_states=True).hidden_states[layer]
    rows = [(row, token) for row, tokens in enumerate(positions) for token in tokens if token is not None]
    index = torch.tensor(rows, dtype=torch.long, device=device).reshape(-1, 2)
    return hidden[index[:, 0], index[:, 1]].float()


@torch.no_grad()
def reference_vectors(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    sentences: list[list[str]],
    settings: AlignConfig,
    progress: bool = False,
) -> list[torch.Tensor]:
    """The original model's word vectors f₀ of each sentence (Cao, Kitaev & Klein 2020), on the CPU: one
    (kept words, hidden) tensor per sentence, in ``word_vectors`` order. ``model`` is put in eval mode."""
    model.eval()
    vectors: list[torch.Tensor] = []
    for start in progress_bar(range(0, len(sentences), settings.batch_size), desc="align: f0", shown=progress):
        batch = sentences[start : start + settings.batch_size]
        encoding, positions = encode_words(tokenizer, batch, settings.max_length)
        counts = [sum(token is not None for token in tokens) for tokens in positions]
        vectors.extend(word_vectors(model, encoding, positions, settings.layer).cpu().split(counts))
    return vectors


def align_encoder(
    base: str,
    out_dir: Path,
    pairs: list[WordPair],
    links: list[AlignmentLinks],
    settings: AlignConfig,
    seed: int,
    progress: bool = True,
    links_origin: str = "word alignments",
    device: str = "auto",
) -> Path:
    """Fine-tune the encoder ``base`` so that aligned words share vectors (Cao, Kitaev & Klein 2020) and save it
    to ``out_dir`` as a Hugging Face folder (model, tokenizer, ``align.json``), written atomically.

    ``pairs`` are whitespace-tokenized (source, target) sentences, ``links`` their 0-indexed word alignments
    (source word i → target word j), one per pair, of which the one-to-one links are trained on
    (``one_to_one``); ``links_origin`` names them in errors (a Pharaoh file). ``device`` is what the encoder
    trains on (``auto``: CUDA when present).
    The module docstring lists the choices the paper leaves open.
    """
    _check_settings(settings)
    if not pairs:
        raise UserError("alignment fine-tuning needs parallel sentence pairs; none were given")
    check_alignment_ranges(links, [(len(source), len(target)) for source, target in pairs], links_origin)
    torch.manual_seed(seed)
    model, tokenizer = load_model(base).to(pick_device(device)), load_tokenizer(base)
    depth = model.config.num_hidden_layers
    if not -(depth + 1) <= settings.layer <= depth:
        raise UserError(f"align layer {settings.layer} does not exist: {base} has hidden states 0..{depth} (-1 = last)")
    kept = [one_to_one(alignment.possible) for alignment in links]
    dropped = sum(len(alignment.possible) for alignment in links) - sum(map(len, kept))
    reference = reference_vectors(model, tokenizer, [source for source, _ in pairs], settings, progress)
    with atomic_output(out_dir, RECORD_FILE) as partial:
        stats = _train(model, tokenizer, pairs, kept, reference, settings, seed, progress)
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        record = {
            "base": base,
            "seed": seed,
            "settings": asdict(settings),
            "pairs": len(pairs),
            "links_not_one_to_one": dropped,
            **stats,
        }
        (partial / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return Path(out_dir)


def _check_settings(settings: AlignConfig) -> None:
    """One-line ``UserError`` for settings no run can use."""
    if settings.batch_size < 1 or settings.epochs < 1 or settings.max_length < 3:
        raise UserError(
            f"align: batch_size ({settings.batch_size}) and epochs ({settings.epochs}) must be positive and"
            f" max_length ({settings.max_length}) at least 3"
        )
    if settings.learning_rate <= 0 or settings.regularization < 0 or not 0 <= settings.warmup_ratio < 1:
        raise UserError(
            f"align: learning_rate ({settings.learning_rate}) must be positive, regularization"
            f" ({settings.regularization}) non-negative and warmup_ratio ({settings.warmup_ratio}) in [0, 1)"
        )


def _train(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[WordPair],
    links: list[frozenset[tuple[int, int]]],
    reference: list[torch.Tensor],
    settings: AlignConfig,
    seed: int,
    progress: bool,
) -> dict[str, object]:
    """Adam over shuffled batches with warm-up and linear decay; returns the statistics for ``align.json``."""
    device = next(model.parameters()).device
    optimizer = adamw(model, settings.learning_rate)  # weight decay 0: Adam, as in the paper
    generator = torch.Generator().manual_seed(seed)
    total = settings.epochs * math.ceil(len(pairs) / settings.batch_size)
    steps, used, skipped, epoch_losses = 0, 0, 0, []
    model.train()
    bar = progress_bar(total=total, unit="step", desc="align", shown=progress)
    start = time.perf_counter()
    for _ in range(settings.epochs):
        epoch_loss = torch.zeros((), device=device)
        order = torch.randperm(len(pairs), generator=generator).tolist()
        for first in range(0, len(order), settings.batch_size):
            batch = order[first : first + settings.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = settings.learning_rate * lr_factor(steps / total, settings.warmup_ratio)
            loss, batch_used, batch_skipped = _batch_loss(model, tokenizer, pairs, links, reference, batch, settings)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            epoch_loss += loss.detach()
            steps, used, skipped = steps + 1, used + batch_used, skipped + batch_skipped
            bar.update()
        mean = epoch_loss.item() / math.ceil(len(pairs) / settings.batch_size)
        rate = f"align.learning_rate ({settings.learning_rate})"
        epoch_losses.append(finite_loss(mean, f"align, epoch {len(epoch_losses) + 1}", rate))
        bar.set_postfix(loss=f"{epoch_losses[-1]:.4g}")
    bar.close()
    return {
        "steps": steps,
        "final_loss": epoch_losses[-1],
        "epoch_losses": epoch_losses,
        "links_used": used,
        "links_skipped": skipped,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _batch_loss(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[WordPair],
    links: list[frozenset[tuple[int, int]]],
    reference: list[torch.Tensor],
    batch: list[int],
    settings: AlignConfig,
) -> tuple[torch.Tensor, int, int]:
    """The loss of the pairs ``batch`` per sentence pair, and how many of their links were used and skipped."""
    source_encoding, source_positions = encode_words(tokenizer, [pairs[p][0] for p in batch], settings.max_length)
    target_encoding, target_positions = encode_words(tokenizer, [pairs[p][1] for p in batch], settings.max_length)
    source_rows, target_rows = _rows(source_positions), _rows(target_positions)
    rows = [
        (source_rows[row, i], target_rows[row, j])
        for row, p in enumerate(batch)
        for i, j in sorted(links[p])
        if (row, i) in source_rows and (row, j) in target_rows
    ]
    source = word_vectors(model, source_encoding, source_positions, settings.layer)
    target = word_vectors(model, target_encoding, target_positions, settings.layer)
    index = torch.tensor(rows, dtype=torch.long, device=source.device).reshape(-1, 2)
    anchor = torch.cat([reference[p] for p in batch]).to(source.device)
    loss = alignment_loss(source, target, anchor, index, settings.regularization) / len(batch)
    return loss, len(rows), sum(len(links[p]) for p in batch) - len(rows)


def _rows(positions: Positions) -> dict[tuple[int, int], int]:
    """Map (sentence, word) to its row in ``word_vectors``' output, for the words that have a vector."""
    kept = [(row, word) for row, tokens in enumerate(positions) for word, at in enumerate(tokens) if at is not None]
    return {key: index for index, key in enumerate(kept)}
