"""Read sentence-pair classification TSV files (XNLI, XNLI-MT's translated training sets, PAWS-X), labeled or
unlabeled."""

from mbert_eval.data.types import PathLike, SentencePair, read_lines
from mbert_eval.errors import DataError

_FIRST_NAMES = frozenset({"premise", "sentence1"})
_SECOND_NAMES = frozenset({"hypothesis", "hypo", "sentence2"})  # `hypo`: XNLI-MT's multinli.train.*.tsv
_LABEL_NAMES = frozenset({"label", "gold_label"})
# XNLI-MT-1.0's translated MultiNLI training files spell one label `contradictory`, XNLI's dev and test files
# `contradiction`; transformers' XnliProcessor.get_train_examples (data/processors/xnli.py) maps it the same way
_LABEL_SPELLINGS = {"contradictory": "contradiction"}


def _header_layout(fields: list[str]) -> tuple[bool, bool] | None:
    """(has_id, labeled) when the fields are a header such as ``id sentence1 sentence2 label``, else None."""
    names = [field.strip().lower() for field in fields]
    has_id = bool(names) and names[0] == "id"
    names = names[has_id:]
    if len(names) not in (2, 3) or names[0] not in _FIRST_NAMES or names[1] not in _SECOND_NAMES:
        return None
    if len(names) == 3 and names[2] not in _LABEL_NAMES:
        return None
    return has_id, len(names) == 3


def _unquote(field: str) -> str:
    """Undo CSV-style quoting, as in the PAWS-X files: a field wrapped in quotes, inner quotes doubled."""
    if len(field) >= 2 and field[0] == field[-1] == '"':
        inner = field[1:-1]
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
    return field


def read_sentence_pairs(path: PathLike, labeled: bool | None = None) -> list[SentencePair]:
    """Read ``first<TAB>second[<TAB>label]`` lines.

    A first line that is a header (``premise hypothesis label``, XNLI-MT's ``premise hypo label``,
    ``sentence1 sentence2 label``, PAWS-X ``id sentence1 sentence2 label``) is skipped and fixes the layout,
    including a leading id column, which is dropped. XNLI-MT's label ``contradictory`` is read as XNLI's
    ``contradiction``. Without a header, ``labeled=None`` infers the layout from the first
    line (2 or 3 columns). Every line must then have that many columns. Blank lines are skipped.
    """
    lines = read_lines(path)
    has_id = False
    start = 0
    if lines and (layout := _header_layout(lines[0].split("\t"))) is not None:
        has_id, header_labeled = layout
        if labeled is not None and labeled != header_labeled:
            state = "has" if header_labeled else "lacks"
            raise DataError(path, f"header {state} a label column, but labeled={labeled} was requested", 1)
        labeled = header_labeled
        start = 1
    pairs: list[SentencePair] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip() and "\t" not in line:  # a row of empty fields is a row: its columns are checked
            continue
        fields = line.split("\t")
        if labeled is None:
            if len(fields) not in (2, 3):
                raise DataError(path, f"expected 2 or 3 tab-separated columns, found {len(fields)}", number)
            labeled = len(fields) == 3
        expected = 2 + has_id + labeled
        if len(fields) != expected:
            raise DataError(path, f"expected {expected} tab-separated columns, found {len(fields)}", number)
        values = [_unquote(field.strip()) for field in fields[has_id:]]
        if not all(values):
            raise DataError(path, f"empty column {values.index('') + 1 + has_id}", number)
        label = _LABEL_SPELLINGS.get(values[2].casefold(), values[2]) if labeled else None
        pairs.append(SentencePair(values[0], values[1], label, f"{path}:{number}"))
    if not pairs:
        raise DataError(path, "no sentence pairs found (empty file?)")
    return pairs
