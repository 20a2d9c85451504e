"""Plain text out of any supported data file, one text unit a line (a sentence; a SQuAD file's context
paragraphs and questions), for pretraining corpora."""

from __future__ import annotations

import json
from bisect import bisect_right
from pathlib import Path

from mbert_eval.data.conllu import read_conllu
from mbert_eval.data.ner import is_ner_line, read_ner, strip_language_prefix
from mbert_eval.data.pairs import read_sentence_pairs
from mbert_eval.data.parallel import is_bitext_line
from mbert_eval.data.squad import read_squad
from mbert_eval.data.types import PathLike, TaggedSentence, read_lines, read_tagged_sentences
from mbert_eval.errors import DataError

_CONLLU_COLUMNS = 10
_TEXT_COMMENT = "# text = "
_DOCSTART = "-DOCSTART-"
_BITEXT_REFUSED = (
    "a `source ||| target` bitext (awesome-align's format) holds two languages a line; pass each side as its own "
    "file: `sed 's/ ||| .*//' FILE` gives the source side, `sed 's/.* ||| //' FILE` the target side"
)


def detect_format(path: PathLike) -> str:
    """`conllu`, `pairs` (TSV), `squad` (SQuAD v1.1 JSON: XQuAD, MLQA, TyDiQA-GoldP), `bitext` (its first 20
    lines are awesome-align `source ||| target` lines), `ner` (its first 20 lines are token ... BIO-tag lines, as
    `read_ner` reads them: WikiANN, CoNLL-2002/2003), `tagged` (a `.tsv` of `token<TAB>tag` lines with other tags,
    XTREME's POS files) or `text`.

    The suffix alone decides only for `.conllu` and `.json`. Any file whose first non-blank lines are `#` comments
    and 10-column tab rows is CoNLL-U (`.conll`, `.txt`), any file that is a JSON object is SQuAD JSON; a `.tsv` of
    `token<TAB>tag` lines with blank lines between sentences is token-per-line (XTREME's `panx-en.tsv`), any other
    `.tsv` holds sentence pairs."""
    suffix = Path(path).suffix
    if suffix == ".conllu":
        return "conllu"
    if suffix == ".json":
        return "squad"
    lines = read_lines(path)
    head = lines[:200]
    filled = [line for line in head if line.strip()]
    if _looks_like_conllu(filled):
        return "conllu"
    if suffix == ".tsv":
        if not _looks_token_per_line(head):
            return "pairs"
        return "ner" if all(is_ner_line(line) for line in filled) else "tagged"
    if _is_json_object(filled, lines):
        return "squad"
    first = filled[:20]
    if first and all(is_bitext_line(line) for line in first):
        return "bitext"
    return "ner" if first and all(is_ner_line(line) for line in first) else "text"


def _is_json_object(filled: list[str], lines: list[str]) -> bool:
    """Whether the file (its `lines`; `filled`: the first non-blank ones) is one JSON object."""
    if not filled or not filled[0].lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads("\n".join(lines)), dict)
    except json.JSONDecodeError:
        return False


def _looks_like_conllu(filled: list[str]) -> bool:
    """Only `#` comments and 10-column tab rows, at least one row."""
    rows = [line for line in filled if not line.startswith("#")]
    return bool(rows) and all(len(line.split("\t")) == _CONLLU_COLUMNS for line in rows)


def _looks_token_per_line(head: list[str]) -> bool:
    """Every non-blank line `token<TAB>tag` (no spaces in either), and a blank line between two of them (or, for
    a one-sentence file, every tag BIO-shaped)."""
    filled = [line for line in head if line.strip()]
    if not filled or not all(_is_token_tag_line(line) for line in filled):
        return False
    first = next(i for i, line in enumerate(head) if line.strip())
    last = max(i for i, line in enumerate(head) if line.strip())
    return any(not line.strip() for line in head[first:last]) or all(is_ner_line(line) for line in filled)


def _is_token_tag_line(line: str) -> bool:
    fields = line.split("\t")
    return len(fields) == 2 and all(field and not any(c.isspace() for c in field) for field in fields)


def extract_text(path: PathLike) -> list[str]:
    """The distinct sentences of a file, in order: CoNLL-U `# text` lines (or its tokens), both
    sides of a pair TSV, a SQuAD file's contexts and questions, the tokens of an NER or token-per-line TSV file,
    or the lines of a plain text file."""
    return list(dict.fromkeys(read_sentences(path)))


def read_sentences(path: PathLike) -> list[str]:
    """Every sentence of a file in file order, repeats kept (so that line-aligned files of parallel text stay
    aligned): CoNLL-U `# text` lines (or, for a sentence without one, its tokens), both sides of each pair of a
    pair TSV, each context paragraph of a SQuAD file (`read_squad`) followed by its questions, the tokens of an
    NER or token-per-line TSV file, or the non-blank lines of a plain text file. A file without any sentence, or
    a `source ||| target` bitext (two languages a line), is a DataError."""
    kind = detect_format(path)
    if kind == "conllu":
        return _conllu_sentences(path)
    if kind == "pairs":
        return [side for pair in read_sentence_pairs(path) for side in (pair.first, pair.second)]
    if kind == "squad":
        return _squad_texts(path)
    if kind == "bitext":
        raise DataError(path, _BITEXT_REFUSED)
    if kind == "ner":
        return [" ".join(s.tokens) for s in read_ner(path)]
    if kind == "tagged":
        return [" ".join(s.tokens) for s in _read_token_tag(path)]
    lines = [line.strip() for line in read_lines(path) if line.strip()]
    if not lines:
        raise DataError(path, "no lines found (empty file?)")
    return lines


def _squad_texts(path: PathLike) -> list[str]:
    """Each paragraph's context once (the questions on it share it), then its questions, in file order, each on
    one line: a line break inside a context (XQuAD has some) becomes a space."""
    texts: list[str] = []
    context = None
    for example in read_squad(path):
        if example.context != context:
            context = example.context
            texts.append(_one_line(context))
        texts.append(_one_line(example.question))
    return [text for text in texts if text]


def _one_line(text: str) -> str:
    """`text` with its line breaks (and the spaces around them) replaced by one space, stripped."""
    return " ".join(part.strip() for part in text.replace("\r", "\n").split("\n") if part.strip())


def _conllu_sentences(path: PathLike) -> list[str]:
    """Each sentence's `# text`, or its tokens (`read_conllu`) joined by spaces where it has none."""
    blocks: list[tuple[int, str | None]] = []  # (first line number of each sentence's rows, its `# text`)
    text: str | None = None
    in_rows = False
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            text, in_rows = None, False
        elif line.startswith("#"):
            if line.startswith(_TEXT_COMMENT) and not in_rows:
                text = line[len(_TEXT_COMMENT) :].strip() or None
        elif not in_rows:
            blocks.append((number, text))
            in_rows = True
    if not blocks:
        raise DataError(path, "no sentences found (empty file?)")
    texts = [text for _, text in blocks]
    if None in texts:
        starts = [start for start, _ in blocks]
        for sentence in read_conllu(path):  # its first word row may follow multiword or empty-node rows
            block = bisect_right(starts, sentence.lines[0]) - 1
            if texts[block] is None:
                texts[block] = " ".join(sentence.tokens)
    return [text for text in texts if text is not None]


def _read_token_tag(path: PathLike) -> list[TaggedSentence]:
    """`token<TAB>tag` sentences with any tags (XTREME's POS `.tsv`), a shared language prefix dropped."""

    def parse(line: str, number: int) -> tuple[str, str] | None:
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0] or not fields[1].strip():
            raise DataError(path, f"expected a token and a tag separated by a tab, found {line!r}", number)
        return None if fields[0] == _DOCSTART else (fields[0], fields[1].strip())

    return strip_language_prefix(read_tagged_sentences(path, parse))
