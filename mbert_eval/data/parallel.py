"""Read parallel text: two line-aligned files, awesome-align ``src ||| tgt`` bitext, ``id<TAB>sentence`` files."""

from mbert_eval.data.types import ParallelPair, PathLike, read_lines
from mbert_eval.errors import DataError

_BITEXT_SEPARATOR = " ||| "


def _sentence_lines(path: PathLike) -> list[str]:
    """The file's lines, stripped; an empty line or an empty file raises DataError."""
    lines = read_lines(path)
    if not lines:
        raise DataError(path, "no lines found (empty file?)")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(path, "empty line; every line must hold one sentence", number)
    return [line.strip() for line in lines]


def read_parallel(source_path: PathLike, target_path: PathLike) -> list[ParallelPair]:
    """Pair line n of the source file with line n of the target file (e.g. Tatoeba ``.deu`` / ``.eng``)."""
    sources = _sentence_lines(source_path)
    targets = _sentence_lines(target_path)
    if len(sources) != len(targets):
        raise DataError(
            source_path,
            f"{len(sources)} lines, but {target_path} has {len(targets)} lines; line-aligned files must have equal line counts",
        )
    return [ParallelPair(source, target) for source, target in zip(sources, targets)]


def _bitext_sides(line: str) -> list[str]:
    """A line split at ``|||`` with spaces around it (padded, so that a bare leading or trailing ``|||`` splits)."""
    return f" {line} ".split(_BITEXT_SEPARATOR)


def is_bitext_line(line: str) -> bool:
    """Whether a line is one `read_parallel_bitext` reads (exactly one separator); `data.text.detect_format` asks
    it, so that the bitext reader and text extraction agree."""
    return len(_bitext_sides(line)) == 2


def read_parallel_bitext(path: PathLike) -> list[ParallelPair]:
    """Read awesome-align style ``source ||| target`` lines (one sentence pair a line)."""
    pairs: list[ParallelPair] = []
    for number, line in enumerate(_sentence_lines(path), start=1):
        sides = _bitext_sides(line)
        if len(sides) != 2:
            raise DataError(
                path,
                f"expected exactly one {_BITEXT_SEPARATOR.strip()!r} separator with spaces around it, found {len(sides) - 1}",
                number,
            )
        source, target = sides[0].strip(), sides[1].strip()
        if not source or not target:
            raise DataError(path, f"empty {'source' if not source else 'target'} side", number)
        pairs.append(ParallelPair(source, target))
    return pairs


def read_id_sentences(path: PathLike) -> list[tuple[str, str]]:
    """Read ``id<TAB>sentence`` lines (the simalign sample) as (id, sentence) in file order; ids must be unique."""
    rows: list[tuple[str, str]] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(_sentence_lines(path), start=1):
        sentence_id, tab, sentence = line.partition("\t")
        sentence_id, sentence = sentence_id.strip(), sentence.strip()
        if not tab or not sentence_id or not sentence:
            raise DataError(path, "expected an id and a sentence separated by a tab", number)
        if sentence_id in first_line:
            raise DataError(path, f"duplicate id {sentence_id!r} (first on line {first_line[sentence_id]})", number)
        first_line[sentence_id] = number
        rows.append((sentence_id, sentence))
    return rows


WordPair = tuple[list[str], list[str]]  # a sentence pair, each side split at white space


def has_ids(path: PathLike) -> bool:
    """Whether a sentence or links file holds `id<TAB>...` lines (SimAlign's sample and its gold), as its first
    line shows."""
    lines = read_lines(path)
    return bool(lines) and "\t" in lines[0]


def read_word_pairs(source: PathLike, target: PathLike | None = None) -> tuple[list[str] | None, list[WordPair]]:
    """The ids (None: the files have none) and white-space-split sentence pairs of one `source ||| target` file
    (`target` None), two line-aligned files, or two `id<TAB>sentence` files with the same ids in the same order
    (the input formats of SimAlign and awesome-align, Jalili Sabet et al. 2020; Dou & Neubig 2021): an id is no
    word."""
    if target is None:
        return None, [(pair.source.split(), pair.target.split()) for pair in read_parallel_bitext(source)]
    if not (has_ids(source) or has_ids(target)):
        return None, [(pair.source.split(), pair.target.split()) for pair in read_parallel(source, target)]
    sources, targets = read_id_sentences(source), read_id_sentences(target)
    ids = [i for i, _ in sources]
    if ids != [i for i, _ in targets]:
        raise DataError(target, f"its ids differ from those of {source} (both files need the same ids in order)")
    return ids, [(s.split(), t.split()) for (_, s), (_, t) in zip(sources, targets)]
