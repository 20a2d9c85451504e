"""Read token-per-line NER files (WikiANN, CoNLL-2002/2003 style) with BIO tags."""

import re
from dataclasses import replace

from mbert_eval.data.types import PathLike, TaggedSentence, read_tagged_sentences
from mbert_eval.errors import DataError

# a Wikipedia language code: 2-3 letters, with hyphenated parts (`zh-yue`, `bat-smg`, `be-x-old`), or `simple`
_LANGUAGE_PREFIX = re.compile(r"(?:[a-z]{2,3}(?:-[a-z]+)*|simple):(?=.)", re.DOTALL)
_BIO_TAG = re.compile(r"O|[BI]-\S+")
_DOCSTART = "-DOCSTART-"


def strip_language_prefix(sentences: list[TaggedSentence]) -> list[TaggedSentence]:
    """Drop a WikiANN language prefix (``en:Paris`` -> ``Paris``) when every token of the file carries the same one.

    A Wikipedia language code (2-3 lowercase letters, optionally with hyphenated parts such as ``zh-yue:`` or
    ``be-x-old:``, or ``simple:``) and its colon are removed only where more follows the colon (``en:`` stays);
    files without a shared prefix (CoNLL-2003) keep tokens such as ``bar:24`` or ``http://…`` intact."""
    match = _LANGUAGE_PREFIX.match(sentences[0].tokens[0])
    if match is None:
        return sentences
    prefix = match.group()
    if not all(token.startswith(prefix) for sentence in sentences for token in sentence.tokens):
        return sentences
    return [
        replace(sentence, tokens=tuple(token[len(prefix) :] or token for token in sentence.tokens))
        for sentence in sentences
    ]


def _fields(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def is_ner_line(line: str) -> bool:
    """Whether a line is one `read_ner` reads: a token, optional columns (CoNLL-2002's POS), a BIO tag; or a
    ``-DOCSTART-`` line. `detect_format` asks it, so that the NER reader and text extraction agree."""
    fields = _fields(line)
    return len(fields) >= 2 and (fields[0] == _DOCSTART or bool(_BIO_TAG.fullmatch(fields[-1].strip())))


def read_ner(path: PathLike) -> list[TaggedSentence]:
    """Read ``token<TAB>tag`` lines with a blank line between sentences.

    Lines without a tab are split on whitespace (CoNLL-2003 ``token POS chunk tag``); with more
    than two fields the first is the token and the last the tag. ``-DOCSTART-`` lines are skipped
    and a WikiANN language prefix shared by all tokens is stripped. Tags must be ``O``, ``B-X`` or ``I-X``.
    """

    def parse(line: str, number: int) -> tuple[str, str] | None:
        fields = _fields(line)
        if len(fields) < 2:
            raise DataError(path, "expected a token and a tag separated by a tab or a space", number)
        token, tag = fields[0], fields[-1].strip()
        if token == _DOCSTART:
            return None
        if not token:
            raise DataError(path, "empty token", number)
        if not _BIO_TAG.fullmatch(tag):
            raise DataError(path, f"tag {tag!r} is not BIO-shaped (O, B-X or I-X)", number)
        return token, tag

    return strip_language_prefix(read_tagged_sentences(path, parse))
