"""Read Universal Dependencies CoNLL-U files as sentences of (FORM, UPOS) pairs."""

import re

from mbert_eval.data.types import PathLike, TaggedSentence, read_tagged_sentences
from mbert_eval.errors import DataError

_COLUMNS = 10
_WORD_ID = re.compile(r"[0-9]+")
_MULTIWORD_ID = re.compile(r"[0-9]+-[0-9]+")
_EMPTY_NODE_ID = re.compile(r"[0-9]+\.[0-9]+")


def read_conllu(path: PathLike) -> list[TaggedSentence]:
    """Read a CoNLL-U file: FORM (column 2) tokens tagged with UPOS (column 4).

    Comment lines, multiword-token lines (``1-2``) and empty nodes (``1.1``) are skipped, so a
    Spanish ``del`` yields its syntactic words ``de`` + ``el``. The last sentence may lack its
    closing blank line. Malformed lines raise DataError with the line number.
    """

    def parse(line: str, number: int) -> tuple[str, str] | None:
        if line.startswith("#"):
            return None
        columns = line.split("\t")
        if len(columns) != _COLUMNS:
            raise DataError(path, f"expected {_COLUMNS} tab-separated columns, found {len(columns)}", number)
        word_id = columns[0]
        if _MULTIWORD_ID.fullmatch(word_id) or _EMPTY_NODE_ID.fullmatch(word_id):
            return None
        if not _WORD_ID.fullmatch(word_id):
            raise DataError(
                path, f"word id {word_id!r} is not an integer, a range (1-2) or an empty node (1.1)", number
            )
        form, upos = columns[1], columns[3]
        if not form:
            raise DataError(path, "empty FORM (column 2)", number)
        if upos in ("", "_"):
            raise DataError(path, f"no UPOS tag (column 4 is {upos!r})", number)
        return form, upos

    return read_tagged_sentences(path, parse)
