"""Plain text out of any supported data file, one sentence a line, for pretraining corpora."""

from __future__ import annotations

from pathlib import Path

from mbert_eval.data.conllu import read_conllu
from mbert_eval.data.ner import is_ner_line, read_ner
from mbert_eval.data.pairs import read_sentence_pairs
from mbert_eval.data.types import PathLike, read_lines


def detect_format(path: PathLike) -> str:
    """`conllu`, `pairs` (TSV), `ner` (its first 20 lines are token ... BIO-tag lines, as `read_ner` reads
    them: WikiANN, CoNLL-2002/2003) or `text`."""
    suffix = Path(path).suffix
    if suffix == ".conllu":
        return "conllu"
    if suffix == ".tsv":
        return "pairs"
    lines = [line for line in read_lines(path)[:200] if line.strip()][:20]
    return "ner" if lines and all(is_ner_line(line) for line in lines) else "text"


def extract_text(path: PathLike) -> list[str]:
    """The distinct sentences of a file, in order: CoNLL-U `# text` lines (or its tokens), both
    sides of a pair TSV, the tokens of an NER file, or the lines of a plain text file."""
    return list(dict.fromkeys(read_sentences(path)))


def read_sentences(path: PathLike) -> list[str]:
    """Every sentence of a file in file order, repeats kept (so that line-aligned files of parallel text stay
    aligned): CoNLL-U `# text` lines (or its tokens), both sides of each pair of a pair TSV, the tokens of an NER
    file, or the non-blank lines of a plain text file."""
    kind = detect_format(path)
    if kind == "conllu":
        prefix = "# text = "
        texts = [line[len(prefix) :].strip() for line in read_lines(path) if line.startswith(prefix)]
        return texts or [" ".join(s.tokens) for s in read_conllu(path)]
    if kind == "pairs":
        return [side for pair in read_sentence_pairs(path) for side in (pair.first, pair.second)]
    if kind == "ner":
        return [" ".join(s.tokens) for s in read_ner(path)]
    return [line.strip() for line in read_lines(path) if line.strip()]
