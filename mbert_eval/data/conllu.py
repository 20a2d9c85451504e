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
    closing blank line. Malformed lines raise DataError with the line number, and so does a word id that does not
    follow the one before it (1, 2, … within a sentence): a missing blank line would otherwise merge two sentences
    and shift every later one against its translations.
    """
    last = {"line": 0, "id": 0}  # the line parsed last, and the last word id of its sentence

    def parse(line: str, number: int) -> tuple[str, str] | None:
        if number > last["line"] + 1:  # a blank line came between (read_tagged_sentences skips them): a new sentence
            last["id"] = 0
        last["line"] = number
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
        if int(word_id) != last["id"] + 1:
            raise DataError(
                path,
                f"word id {word_id} follows {last['id']}: ids run 1, 2, … within a sentence "
                "(a blank line missing between two sentences?)",
                number,
            )
        last["id"] = int(word_id)
        form, upos = columns[1], columns[3]
        if not form:
            raise DataError(path, "empty FORM (column 2)", number)
        if upos in ("", "_"):
            raise DataError(path, f"no UPOS tag (column 4 is {upos!r})", number)
        return form, upos

    return read_tagged_sentences(path, parse)
