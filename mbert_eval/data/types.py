"""Record types returned by the data readers, and the one text-file loader they all share."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mbert_eval.data.files import read_text
from mbert_eval.errors import DataError

PathLike = str | Path


@dataclass(frozen=True)
class TaggedSentence:
    """A tokenized sentence with one tag per token (UPOS or BIO NER tags); `path` and `lines` say where each
    token was read (empty from the Hub), for messages."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    path: str = field(default="", compare=False)
    lines: tuple[int, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"{len(self.tokens)} tokens but {len(self.tags)} tags")

    def where(self, index: int) -> str:
        """The `file:line` token `index` was read from ("" where not read from a file)."""
        return f"{self.path}:{self.lines[index]}" if self.path and self.lines else ""


@dataclass(frozen=True)
class SentencePair:
    """A sentence-pair classification example (XNLI, PAWS-X); label is None in unlabeled files."""

    first: str
    second: str
    label: str | None
    where: str = field(default="", compare=False)  # "file:line" it was read from, for messages ("" from the Hub)


@dataclass(frozen=True)
class ParallelPair:
    """A source sentence and its translation."""

    source: str
    target: str


@dataclass(frozen=True)
class AlignmentLinks:
    """Gold word alignment of one sentence pair as 0-indexed (source, target) links.

    AER convention (Och & Ney 2003): ``possible`` includes every ``sure`` link.
    """

    sure: frozenset[tuple[int, int]]
    possible: frozenset[tuple[int, int]]

    def __post_init__(self) -> None:
        if not self.sure <= self.possible:
            raise ValueError("possible links must include every sure link")


def read_lines(path: PathLike) -> list[str]:
    """Read a UTF-8 text file (optional BOM) as lines without their ``\\n`` or ``\\r\\n`` endings.

    Only ``\\n`` splits lines, so characters such as U+2028 inside a sentence stay put.
    A path that is no regular file, another encoding or invalid UTF-8 raises DataError naming the file (and the
    line): `data.files.read_text`.
    """
    lines = read_text(path).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_tagged_sentences(
    path: PathLike, parse_line: Callable[[str, int], tuple[str, str] | None]
) -> list[TaggedSentence]:
    """Sentences of one token a line, separated by blank lines (the last may lack its blank line).

    `parse_line(line, number)` returns the line's (token, tag), or None to skip it; it raises
    DataError for a malformed line. A file without any sentence is an error.
    """
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    numbers: list[int] = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            if tokens:
                sentences.append(TaggedSentence(tuple(tokens), tuple(tags), str(path), tuple(numbers)))
                tokens, tags, numbers = [], [], []
            continue
        parsed = parse_line(line, number)
        if parsed is not None:
            tokens.append(parsed[0])
            tags.append(parsed[1])
            numbers.append(number)
    if tokens:
        sentences.append(TaggedSentence(tuple(tokens), tuple(tags), str(path), tuple(numbers)))
    if not sentences:
        raise DataError(path, "no sentences found (empty file?)")
    return sentences


@dataclass(frozen=True)
class Answer:
    """One gold answer of an extractive QA example: its text and its character offset in the context."""

    text: str
    start: int


@dataclass(frozen=True)
class QAExample:
    """An extractive QA example in SQuAD v1.1's shape (Rajpurkar et al. 2016): a question about a context whose
    answers are spans of it (one for training, possibly several for evaluation)."""

    id: str
    question: str
    context: str
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class MiningCorpus:
    """A BUCC-style bitext mining set (Zweigenbaum et al. 2018): sentences of two languages by id, and the gold
    pairs (source id, target id) hidden among them."""

    source: dict[str, str]
    target: dict[str, str]
    gold: frozenset[tuple[str, str]]
