"""Read, check and write Pharaoh-format word alignments (``i-j`` sure, ``ipj`` possible)."""

import re
from pathlib import Path

from mbert_eval.data.types import AlignmentLinks, PathLike, read_lines
from mbert_eval.errors import DataError

_LINK = re.compile(r"([0-9]+)([-p])([0-9]+)")


def _parse_links(text: str, one_indexed: bool, path: PathLike, number: int) -> AlignmentLinks:
    """Parse one line's space-separated links into 0-indexed AlignmentLinks."""
    offset = 1 if one_indexed else 0
    sure: set[tuple[int, int]] = set()
    possible: set[tuple[int, int]] = set()
    for token in text.split():
        match = _LINK.fullmatch(token)
        if match is None:
            raise DataError(path, f"malformed link {token!r}; expected i-j (sure) or ipj (possible)", number)
        link = (int(match[1]) - offset, int(match[3]) - offset)
        if min(link) < 0:
            raise DataError(path, f"link {token!r} has index 0, but the file is read as 1-indexed", number)
        possible.add(link)
        if match[2] == "-":
            sure.add(link)
    return AlignmentLinks(frozenset(sure), frozenset(possible))


def _alignment_lines(path: PathLike) -> list[str]:
    """The lines of an alignment file; an empty file raises DataError."""
    lines = read_lines(path)
    if not lines:
        raise DataError(path, "no alignment lines found (empty file?)")
    return lines


def read_pharaoh(path: PathLike, one_indexed: bool = False) -> list[AlignmentLinks]:
    """Read one sentence pair's links a line; an empty line means no links.

    ``one_indexed=True`` converts 1-indexed files (awesome-align gold) to 0-indexed.
    """
    return [
        _parse_links(line, one_indexed, path, number) for number, line in enumerate(_alignment_lines(path), start=1)
    ]


def read_id_pharaoh(path: PathLike, one_indexed: bool = False) -> list[tuple[str, AlignmentLinks]]:
    """Read ``id<TAB>links`` lines (simalign gold) as (id, links) in file order; ids must be unique."""
    rows: list[tuple[str, AlignmentLinks]] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(_alignment_lines(path), start=1):
        sentence_id, tab, links = line.partition("\t")
        sentence_id = sentence_id.strip()
        if not tab or not sentence_id:
            raise DataError(path, "expected an id and the links separated by a tab", number)
        if sentence_id in first_line:
            raise DataError(path, f"duplicate id {sentence_id!r} (first on line {first_line[sentence_id]})", number)
        first_line[sentence_id] = number
        rows.append((sentence_id, _parse_links(links, one_indexed, path, number)))
    return rows


def read_links_by_id(
    path: PathLike, ids: list[str], one_indexed: bool = False, where: str = "the sentence files"
) -> list[AlignmentLinks]:
    """The links of an ``id<TAB>links`` file (`read_id_pharaoh`) in the order of `ids` (the ids of `where`),
    matched by id as SimAlign's scorer (scripts/calc_align_score.py) matches them; an id without a line, or a line
    of another id, is a DataError."""
    rows = read_id_pharaoh(path, one_indexed)
    links = dict(rows)
    missing = next((sentence_id for sentence_id in ids if sentence_id not in links), None)
    if missing is not None:
        raise DataError(path, f"no links for id {missing!r} of {where} (one line for each of its ids)")
    known = set(ids)
    for number, (sentence_id, _) in enumerate(rows, start=1):
        if sentence_id not in known:
            raise DataError(path, f"id {sentence_id!r} is not an id of {where}", number)
    return [links[sentence_id] for sentence_id in ids]


def check_alignment_ranges(links: list[AlignmentLinks], pairs: list[tuple[int, int]], path: PathLike) -> None:
    """Check every link fits its sentence pair; ``pairs`` holds (source length, target length) per line of ``path``."""
    if len(links) != len(pairs):
        raise DataError(path, f"{len(links)} alignment lines, but {len(pairs)} sentence pairs")
    for number, (alignment, (source_length, target_length)) in enumerate(zip(links, pairs), start=1):
        for i, j in sorted(alignment.possible):
            if i >= source_length or j >= target_length:
                raise DataError(
                    path,
                    f"link {i}-{j} (0-indexed) is out of range for a pair of {source_length} source and {target_length} target tokens",
                    number,
                )


def drop_out_of_range(
    links: list[AlignmentLinks], pairs: list[tuple[int, int]]
) -> tuple[list[AlignmentLinks], int, int | None]:
    """The links without those past their pair's (source, target) lengths, how many were dropped, and the
    first line (1-based) that had one: for gold files with a few known-bad links (KFTT's ja-en gold has six)."""
    kept, dropped, first = [], 0, None
    for number, (alignment, (m, n)) in enumerate(zip(links, pairs), start=1):
        inside = frozenset((i, j) for i, j in alignment.possible if i < m and j < n)
        if len(inside) < len(alignment.possible):
            dropped += len(alignment.possible) - len(inside)
            first = first or number
        kept.append(AlignmentLinks(alignment.sure & inside, inside))
    return kept, dropped, first


def index_base(links: list[AlignmentLinks], pairs: list[tuple[int, int]] | None) -> bool | None:
    """Whether links read as 0-indexed really count from 1 (True), from 0 (False), or cannot tell (None): an
    index 0 anywhere means 0-indexed; otherwise an index equal to its sentence's length (impossible counting from
    0; needs the `pairs`' lengths) means 1-indexed. Reading 1-indexed gold as 0-indexed silently shifts every
    link (awesome-align issue #43)."""
    if any(0 in link for alignment in links for link in alignment.possible):
        return False
    if pairs is not None and any(
        i == m or j == n for alignment, (m, n) in zip(links, pairs) for i, j in alignment.possible
    ):
        return True
    return None


def read_gold_links(
    path: PathLike, lengths: list[tuple[int, int]], one_indexed: bool | None = None, ids: list[str] | None = None
) -> list[AlignmentLinks]:
    """Gold links checked against their sentence pairs' (source, target) lengths. With `ids` (the sentence files'
    ids, in their order) the file holds ``id<TAB>links`` lines, matched to the pairs by id (`read_links_by_id`).
    With `one_indexed=None` the index base is read off the file: an index 0 anywhere means 0-indexed; otherwise an
    index equal to its sentence's length (impossible when counting from 0) means 1-indexed; a file that shows
    neither is refused (reading 1-indexed gold as 0-indexed silently shifts every link: awesome-align issue #43)."""

    def read(one_indexed: bool) -> list[AlignmentLinks]:
        if ids is None:
            return read_pharaoh(path, one_indexed)
        return read_links_by_id(path, ids, one_indexed)

    if one_indexed is None:
        one_indexed = index_base(read(False), lengths)
        if one_indexed is None:
            raise DataError(
                path,
                "cannot tell whether the links count words from 0 or from 1 (no index 0, none at a "
                "sentence's end); say so with the task's `one_indexed: true|false`",
            )
    links = read(one_indexed)
    check_alignment_ranges(links, lengths, path)
    return links


def pharaoh(links: AlignmentLinks) -> str:
    """Links in Pharaoh notation, 0-indexed and sorted: `i-j` for a sure link, `ipj` for a possible-only one."""
    return " ".join(f"{i}{'-' if (i, j) in links.sure else 'p'}{j}" for i, j in sorted(links.possible))


def write_pharaoh(path: PathLike, links: list[AlignmentLinks], ids: list[str] | None = None) -> None:
    """Write one sentence pair's links a line (`pharaoh`); with `ids`, ``id<TAB>links`` lines (SimAlign's gold
    layout)."""
    prefixes = [f"{sentence_id}\t" for sentence_id in ids] if ids is not None else [""] * len(links)
    lines = [prefix + pharaoh(alignment) + "\n" for prefix, alignment in zip(prefixes, links, strict=True)]
    Path(path).write_text("".join(lines), encoding="utf-8", newline="\n")
