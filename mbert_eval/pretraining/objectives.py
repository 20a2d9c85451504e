"""Pretraining objectives: how corpus text becomes masked-LM training batches.

An objective turns corpus files into ``Example``s (token ids with special tokens, segment ids and, when the
objective needs them, position ids) and collates examples into a padded batch whose ``labels`` hold the
original token at masked positions and -100 everywhere else. Masking and padding are shared; an objective only
decides what a sequence is. ``mlm`` (Devlin et al. 2019) packs consecutive monolingual lines; ``tlm``
(translation LM, Conneau & Lample 2019) concatenates a sentence with its translation and restarts the position
ids at the second one. Both are registered in ``OBJECTIVES``; ``InputLayout`` tells an objective how the model
numbers token types and positions.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mbert_eval.data import read_parallel
from mbert_eval.errors import DataError, UserError

Batch = dict[str, torch.Tensor]  # input_ids, attention_mask, token_type_ids, labels [, position_ids]; (B, T) each

MASK_FRACTION = 0.8  # of the selected tokens, replaced by the mask token (Devlin et al. 2019, 3.1)
RANDOM_FRACTION = 0.1  # replaced by a uniformly random token; the remaining 10% stay unchanged
TOKENIZE_CHUNK_LINES = 10_000  # lines sent to the fast tokenizer at once
TLM_NEEDS_PARALLEL = "the tlm objective needs parallel text: pass line-aligned (source, target) file pairs"


@dataclass
class Example:
    """One training sequence, special tokens included."""

    input_ids: list[int]
    token_type_ids: list[int]
    position_ids: list[int] | None = None  # None: the model's default positions 0..T-1


@dataclass(frozen=True)
class InputLayout:
    """How a model numbers its inputs: BERT (Devlin et al. 2019) embeds 2 token types and counts positions from 0;
    the RoBERTa family (Liu et al. 2019; XLM-R, Conneau et al. 2020) has 1 token type and counts from
    ``padding_idx + 1``."""

    token_types: int = 2  # rows of the token-type embedding
    first_position: int = 0  # position id of a sequence's first token

    @classmethod
    def of(cls, model: PreTrainedModel) -> "InputLayout":
        """The layout of ``model``: RoBERTa-style embeddings are recognised by their ``padding_idx`` attribute."""
        padding_idx = getattr(getattr(model.base_model, "embeddings", None), "padding_idx", None)
        return cls(
            token_types=getattr(model.config, "type_vocab_size", 1) or 1,
            first_position=0 if padding_idx is None else padding_idx + 1,
        )


class Objective(ABC):
    """A pretraining objective: subclasses build examples from the corpus; batching and masking are shared."""

    name: ClassVar[str]

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int,
        mask_prob: float,
        layout: InputLayout = InputLayout(),
    ) -> None:
        if tokenizer.mask_token_id is None or tokenizer.pad_token_id is None:
            raise UserError(f"the {type(tokenizer).__name__} has no mask or padding token; masked LM needs both")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.mask_prob = mask_prob
        self.layout = layout
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))

    @abstractmethod
    def examples(self, corpus: list[Path], parallel: Sequence[tuple[Path, Path]] = ()) -> list[Example]:
        """Turn the monolingual ``corpus`` files and/or the line-aligned ``parallel`` file pairs into training
        sequences of at most ``max_length`` tokens."""

    def batches(self, examples: list[Example], batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """Yield collated batches forever, reshuffling the examples at each pass over them."""
        while True:
            order = torch.randperm(len(examples), generator=generator).tolist()
            for start in range(0, len(order), batch_size):
                yield self.collate([examples[i] for i in order[start : start + batch_size]], generator)

    def collate(self, examples: list[Example], generator: torch.Generator) -> Batch:
        """Pad ``examples`` to the longest one (dynamic padding) and mask them (Devlin et al. 2019).

        Padding and special tokens are never masked; ``labels`` is -100 wherever nothing is predicted.
        """
        width = max(len(example.input_ids) for example in examples)

        def padded(rows: list[list[int]], value: int) -> torch.Tensor:
            return torch.tensor([row + [value] * (width - len(row)) for row in rows])

        input_ids = padded([e.input_ids for e in examples], self.tokenizer.pad_token_id)
        attention_mask = padded([[1] * len(e.input_ids) for e in examples], 0)
        batch: Batch = {
            "attention_mask": attention_mask,
            "token_type_ids": padded([e.token_type_ids for e in examples], 0),
        }
        if examples[0].position_ids is not None:
            batch["position_ids"] = padded([e.position_ids for e in examples], 0)
        maskable = attention_mask.bool() & ~torch.isin(input_ids, self.special_ids)
        batch["input_ids"], batch["labels"] = mask_tokens(
            input_ids, maskable, self.mask_prob, self.tokenizer.mask_token_id, len(self.tokenizer), generator
        )
        return batch


def mask_tokens(
    input_ids: torch.Tensor,
    maskable: torch.Tensor,
    mask_prob: float,
    mask_token_id: int,
    vocab_size: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking (Devlin et al. 2019, 3.1): select ``mask_prob`` of the maskable tokens; of those, 80% become
    the mask token, 10% a random token and 10% stay. Returns the corrupted ids and the labels (-100 = not selected).

    A batch always gets at least one selected token, so its loss is defined.
    """
    selected = torch.bernoulli(maskable * mask_prob, generator=generator).bool()
    if not selected.any() and maskable.any():
        selected.view(-1)[maskable.view(-1).nonzero()[0]] = True
    labels = torch.where(selected, input_ids, -100)
    draw = torch.rand(input_ids.shape, generator=generator)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    corrupted = torch.where(selected & (draw < MASK_FRACTION), mask_token_id, input_ids)
    randomize = selected & (draw >= MASK_FRACTION) & (draw < MASK_FRACTION + RANDOM_FRACTION)
    return torch.where(randomize, random_ids, corrupted), labels


class MaskedLM(Objective):
    """Masked language modelling (Devlin et al. 2019) on monolingual text.

    Each corpus file is read as one stream: consecutive lines are packed into ``[CLS] ... [SEP]`` sequences of at
    most ``max_length`` tokens, never across files (so one sequence is one language), and a line is split only
    when it alone is longer than a sequence. Packing wastes no compute on padding, as in RoBERTa's
    DOC-SENTENCES input format (Liu et al. 2019).
    """

    name = "mlm"

    def examples(self, corpus: list[Path], parallel: Sequence[tuple[Path, Path]] = ()) -> list[Example]:
        """Pack each ``corpus`` file's tokenised lines into sequences (Devlin et al. 2019; see the class docstring).

        ``parallel`` is not read: a run without monolingual text passes each side of its parallel text as corpus.
        """
        budget = self.max_length - 2  # room for the two special tokens
        first, last = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        examples = [
            Example(input_ids=[first, *chunk, last], token_type_ids=[0] * (len(chunk) + 2))
            for path in corpus
            for chunk in _pack(self._tokenized_lines(Path(path)), budget)
        ]
        if not examples:
            raise UserError(f"the corpus has no text to pretrain on: {', '.join(str(p) for p in corpus)}")
        return examples

    def _tokenized_lines(self, path: Path) -> Iterator[list[int]]:
        """Token ids (no special tokens) of the non-blank lines of ``path``."""
        try:
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except FileNotFoundError:
            raise DataError(path, "corpus file not found") from None
        except UnicodeDecodeError as error:
            raise DataError(path, f"not UTF-8 text (byte {error.start})") from None
        lines = [line for line in lines if line]
        for start in range(0, len(lines), TOKENIZE_CHUNK_LINES):
            chunk = lines[start : start + TOKENIZE_CHUNK_LINES]
            yield from self.tokenizer(chunk, add_special_tokens=False, verbose=False)["input_ids"]


class TranslationLM(Objective):
    """Translation language modelling (TLM, Conneau & Lample 2019) on line-aligned parallel text.

    Each sentence pair becomes ``[CLS] source [SEP] target [SEP]``: token type 0 for ``[CLS] source [SEP]`` and
    1 for ``target [SEP]``, position ids restarted at the target's first token, and 15% of the tokens of both
    sides masked as in MLM, so a masked word can be predicted from its translation. Positions start at
    ``layout.first_position`` on each side (``padding_idx + 1`` for the RoBERTa family). XLM marks the two
    languages with language embeddings; models with a single token type (XLM-R, RoBERTa) get type 0 on both
    sides and tell them apart by the restarted positions and the separator alone. A pair longer than
    ``max_length`` loses tokens from the end of its longer side first (the tokenizers' ``longest_first``).
    """

    name = "tlm"

    def examples(self, corpus: list[Path], parallel: Sequence[tuple[Path, Path]] = ()) -> list[Example]:
        """One sequence per line pair of the ``parallel`` files (Conneau & Lample 2019); ``corpus`` is not read."""
        if not parallel:
            raise UserError(TLM_NEEDS_PARALLEL)
        examples: list[Example] = []
        for source_path, target_path in parallel:
            pairs = read_parallel(source_path, target_path)
            for start in range(0, len(pairs), TOKENIZE_CHUNK_LINES):
                chunk = pairs[start : start + TOKENIZE_CHUNK_LINES]
                sources = self.tokenizer([p.source for p in chunk], add_special_tokens=False, verbose=False)
                targets = self.tokenizer([p.target for p in chunk], add_special_tokens=False, verbose=False)
                examples.extend(map(self._example, sources["input_ids"], targets["input_ids"]))
        return examples

    def _example(self, source: list[int], target: list[int]) -> Example:
        """``[CLS] source [SEP] target [SEP]`` with token types 0/1 and positions restarted at the target."""
        source, target = _fit_pair(source, target, self.max_length - 3)
        head = [self.tokenizer.cls_token_id, *source, self.tokenizer.sep_token_id]
        tail = [*target, self.tokenizer.sep_token_id]
        second_type = 1 if self.layout.token_types > 1 else 0
        first = self.layout.first_position
        return Example(
            input_ids=head + tail,
            token_type_ids=[0] * len(head) + [second_type] * len(tail),
            position_ids=[*range(first, first + len(head)), *range(first, first + len(tail))],
        )


def _fit_pair(first: list[int], second: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Cut the longer list first until both together hold at most ``budget`` ids (``longest_first``)."""
    if len(first) + len(second) <= budget:
        return first, second
    shorter = min(len(first), len(second), budget // 2)
    if len(first) >= len(second):
        return first[: budget - shorter], second[:shorter]
    return first[:shorter], second[: budget - shorter]


def _pack(lines: Iterator[list[int]], budget: int) -> Iterator[list[int]]:
    """Concatenate consecutive lines into chunks of at most ``budget`` ids, breaking at line ends when possible."""
    current: list[int] = []
    for ids in lines:
        if current and len(current) + len(ids) > budget:
            yield current
            current = []
        current.extend(ids)
        while len(current) > budget:
            yield current[:budget]
            current = current[budget:]
    if current:
        yield current


OBJECTIVES: dict[str, type[Objective]] = {objective.name: objective for objective in (MaskedLM, TranslationLM)}


def get_objective(name: str) -> type[Objective]:
    """The objective class registered under ``name``; a one-line ``UserError`` listing the known ones otherwise."""
    if name not in OBJECTIVES:
        raise UserError(f"unknown pretraining objective {name!r}; known: {', '.join(sorted(OBJECTIVES))}")
    return OBJECTIVES[name]
