"""Extractive QA windows and span decoding, as transformers' `run_qa.py` does them for SQuAD v1.1 (Devlin et al.
2019; the setup XTREME runs for XQuAD, MLQA and TyDiQA-GoldP, Hu et al. 2020).

A question and its context become one or more windows `[CLS] question [SEP] context part [SEP]` of at most
`max_length` tokens (384): the question is cut to `max_query_length` tokens (64, BERT's `run_squad.py`) and a
long context is split into parts, consecutive windows sharing `doc_stride` tokens (128). That is the tokenizer's
`stride`, the overlap, as `run_qa.py` passes it; BERT's `run_squad.py` and the legacy transformers converter
XTREME ran name the step between window starts `doc_stride` instead (their windows of 384 overlap by 384 - 128
- 3 - the question's tokens). A training window is labelled with the first and last token of the first gold answer, or with
the CLS position (0) for both when the answer is not wholly inside it.

Decoding keeps, per window, the `N_BEST` (20) best start and end logits over the context tokens, scores each
pair start + end with end ≥ start and at most `MAX_ANSWER_LENGTH` (30) tokens, and answers with the best pair
over the example's windows: the context's characters from its start token's first to its end token's last, so
an answer is always an exact substring of the original context. Question and padding positions are masked
before the top-k (`run_qa.py` takes the top-k over every position and drops invalid pairs afterwards), so no
candidate slot is spent on a position that can never be an answer; the best valid pair can only be better.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mbert_eval.data.types import QAExample
from mbert_eval.errors import UserError
from mbert_eval.models.progress import progress_bar
from mbert_eval.training.features import Features

if TYPE_CHECKING:  # torch is imported by the two functions that run the model: the QA tasks import this module
    import torch

MAX_LENGTH = 384  # XTREME's window for QA (its other tasks use 128)
DOC_STRIDE = 128  # tokens shared by consecutive windows of one context
MAX_QUERY_LENGTH = 64  # question tokens kept
N_BEST = 20  # start and end candidates per window
MAX_ANSWER_LENGTH = 30  # tokens
ENCODE_CHUNK = 1000  # examples tokenized at a time (the tokenizer keeps every window's encoding until done)


@dataclass(frozen=True)
class Windowing:
    """How examples are cut into windows (defaults: XTREME's QA settings)."""

    max_length: int = MAX_LENGTH
    doc_stride: int = DOC_STRIDE
    max_query_length: int = MAX_QUERY_LENGTH

    def fitted(self, positions: int, special_tokens: int) -> Windowing:
        """These settings within a model of `positions` positions: the window is cut to fit and the stride to at
        most half of what a window leaves for the context after the question and `special_tokens`."""
        length = min(self.max_length, positions)
        room = length - self.max_query_length - special_tokens
        if room < 2:
            raise UserError(
                f"QA windows of {length} tokens leave no room for the context after a question of "
                f"{self.max_query_length} tokens; the model needs more positions"
            )
        return Windowing(length, min(self.doc_stride, room // 2), self.max_query_length)


def capped_questions(examples: list[QAExample], tokenizer, max_query_length: int) -> list[str]:
    """Each question without leading whitespace (as `run_qa.py` strips it), cut after its `max_query_length`-th
    token."""
    questions = [example.question.lstrip() for example in examples]
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    return [
        question[: offsets[max_query_length - 1][1]] if len(offsets) > max_query_length else question
        for question, offsets in zip(questions, encoded["offset_mapping"])
    ]


def encode_windows(examples: list[QAExample], tokenizer, windowing: Windowing, labelled: bool) -> list[Features]:
    """The windows of every example, in example order. Each has `input_ids` (and `token_type_ids` where the
    tokenizer makes them); labelled ones `start_positions`/`end_positions` (training), the others `example` (its
    example's index), `context` (its first and last context token) and `offsets` (character spans per token)."""
    features: list[Features] = []
    for chunk in range(0, len(examples), ENCODE_CHUNK):
        part = examples[chunk : chunk + ENCODE_CHUNK]
        encoded = tokenizer(
            capped_questions(part, tokenizer, windowing.max_query_length),
            [example.context for example in part],
            truncation="only_second",
            max_length=windowing.max_length,
            stride=windowing.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for window, index in enumerate(encoded["overflow_to_sample_mapping"]):
            context = [position for position, sequence in enumerate(encoded.sequence_ids(window)) if sequence == 1]
            first, last = (context[0], context[-1]) if context else (1, 0)  # an empty context has no answer
            offsets = past_marks(encoded["offset_mapping"][window], part[index].context, first, last)
            feature: Features = {"input_ids": np.asarray(encoded["input_ids"][window], dtype=np.int32)}
            if "token_type_ids" in encoded:
                feature["token_type_ids"] = np.asarray(encoded["token_type_ids"][window], dtype=np.int32)
            if labelled:
                start, end = answer_tokens(part[index], offsets, first, last)
                feature.update(start_positions=start, end_positions=end)
            else:
                feature.update(example=chunk + index, context=(first, last), offsets=offsets)
            features.append(feature)
    return features


def past_marks(offsets: list[tuple[int, int]], context: str, first: int, last: int) -> list[tuple[int, int]]:
    """The offsets with the end of each context token (`first`..`last`) moved past the combining marks that
    follow it: a tokenizer that normalizes its text (NFKC: XLM-R's, multilingual-e5's) reads `e` + U+0301 as
    `é`, and its offsets leave the mark out, so an answer ending on that token would lose its accent (text in
    decomposed form, NFD)."""
    if not any(unicodedata.category(character)[0] == "M" for character in context):
        return offsets
    moved = list(offsets)
    for position in range(first, last + 1):
        begin, end = moved[position]
        while end < len(context) and unicodedata.category(context[end])[0] == "M":
            end += 1
        moved[position] = (begin, end)
    return moved


def answer_tokens(example: QAExample, offsets: list[tuple[int, int]], first: int, last: int) -> tuple[int, int]:
    """The window positions of the first and last token of the example's first answer, (0, 0) (the CLS token)
    when the answer is not wholly inside the window's context tokens `first`..`last`."""
    answer = example.answers[0]
    start_char, end_char = answer.start, answer.start + len(answer.text)
    if first > last or offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    part = offsets[first : last + 1]
    start = first + bisect_right([begin for begin, _ in part], start_char) - 1
    # searched from the start token: a token may share its offsets with the one before it (XLM-R's lone `▁`
    # before a one-character word), which would otherwise end the span before it starts
    end = start + bisect_left([finish for _, finish in offsets[start : last + 1]], end_char)
    return start, end


def best_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    context: torch.Tensor,
    n_best: int = N_BEST,
    max_answer_length: int = MAX_ANSWER_LENGTH,
) -> torch.Tensor:
    """Per window (a row of the logits), the best valid span among its `n_best` best starts and ends inside its
    context tokens `context[row] = (first, last)`: a (windows, 3) float tensor of score, start and end; the score
    is -inf where a window has no valid span."""
    import torch

    positions = torch.arange(start_logits.shape[1], device=start_logits.device)
    outside = (positions < context[:, :1]) | (positions > context[:, 1:])
    k = min(n_best, start_logits.shape[1])
    start_score, start = start_logits.float().masked_fill(outside, -torch.inf).topk(k, dim=1)
    end_score, end = end_logits.float().masked_fill(outside, -torch.inf).topk(k, dim=1)
    length = end[:, None, :] - start[:, :, None]
    pair = (
        (start_score[:, :, None] + end_score[:, None, :])
        .masked_fill((length < 0) | (length >= max_answer_length), -torch.inf)
        .flatten(1)
    )
    best = pair.argmax(1, keepdim=True)
    chosen = (pair.gather(1, best), start.gather(1, best // k), end.gather(1, best % k))
    return torch.cat([value.float() for value in chosen], dim=1)


def predict_spans(
    model: torch.nn.Module,
    features: list[Features],
    pad_id: int,
    device: torch.device,
    batch_size: int = 128,
    progress: str | None = None,
) -> np.ndarray:
    """`best_spans` of every window (length-sorted batches, `torch.inference_mode`, bf16 autocast on GPUs), in
    window order: a (windows, 3) array of score, start and end. `progress`: a bar's name (None: no bar)."""
    import torch

    from mbert_eval.models.encoders import autocast
    from mbert_eval.training.batches import collate, length_sorted_batches
    from mbert_eval.training.loop import model_inputs

    model.eval()
    spans = np.empty((len(features), 3), dtype=np.float64)
    with torch.inference_mode(), autocast(device):
        for indices in progress_bar(
            length_sorted_batches(features, batch_size), shown=progress is not None, desc=progress, leave=False
        ):
            batch = collate([features[i] for i in indices], pad_id, device)
            context = torch.tensor([features[i]["context"] for i in indices], device=device)
            output = model(**model_inputs(model, batch))
            spans[indices] = best_spans(output.start_logits, output.end_logits, context).cpu().numpy()
    return spans


def answer_texts(examples: list[QAExample], features: list[Features], spans: np.ndarray) -> list[str]:
    """Per example, the context substring of its best-scoring window span ("" when no window has one)."""
    best = [-np.inf] * len(examples)
    texts = [""] * len(examples)
    for feature, (score, start, end) in zip(features, spans):
        index = feature["example"]
        if score > best[index]:
            offsets = feature["offsets"]
            best[index] = score
            texts[index] = examples[index].context[offsets[int(start)][0] : offsets[int(end)][1]]
    return texts
