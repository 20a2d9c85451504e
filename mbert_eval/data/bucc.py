"""BUCC 2018 bitext-mining files (Zweigenbaum et al. 2018), and BUCC-like sets built offline from Tatoeba.

A split of a language pair is three files side by side: `{src}-{tgt}.{split}.{src}` and `.{tgt}` of
`id<TAB>sentence` lines, and `{src}-{tgt}.{split}.gold` of `src_id<TAB>tgt_id` lines, the translation pairs
hidden among the sentences (e.g. `de-en.test.de`, `de-en.test.en`, `de-en.test.gold`; XTREME renames BUCC's
sample and training sets dev and test, Hu et al. 2020). Naming either sentence file names the split.

`tatoeba_mix` hides Tatoeba pairs (Artetxe & Schwenk 2019) among unpaired sentences in the same way, for tests
and offline runs where BUCC itself (not redistributable on the Hub in this shape) is absent.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from mbert_eval.data.parallel import read_id_sentences, read_parallel
from mbert_eval.data.types import MiningCorpus, ParallelPair, PathLike, read_lines
from mbert_eval.errors import DataError

SPLITS = ("dev", "test")  # the splits `tatoeba_mix` cuts, disjoint
_WORD = re.compile(r"\w+")


def bucc_paths(sentences: PathLike) -> tuple[Path, Path, Path]:
    """The split's (source file, target file, gold file) from either sentence file's name; source is the first
    language of `{src}-{tgt}`. Any other name is a DataError that shows the expected one."""
    path = Path(sentences)
    stem, _, suffix = path.name.rpartition(".")
    pair, _, split = stem.partition(".")
    languages = pair.split("-")
    if not split or len(languages) != 2 or suffix not in languages:
        raise DataError(path, "not a BUCC file name: expected {src}-{tgt}.{split}.{src} or .{tgt}, e.g. de-en.test.de")
    return tuple(path.with_name(f"{stem}.{end}") for end in (*languages, "gold"))  # type: ignore[return-value]


def read_bucc(sentences: PathLike) -> MiningCorpus:
    """One BUCC split named by either of its sentence files (see `bucc_paths`). Malformed lines, duplicate ids
    and gold ids missing from the sentence files are DataErrors with file and line."""
    source_path, target_path, gold_path = bucc_paths(sentences)
    source, target = dict(read_id_sentences(source_path)), dict(read_id_sentences(target_path))
    gold: dict[tuple[str, str], int] = {}
    for number, line in enumerate(read_lines(gold_path), start=1):
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != 2 or not all(fields):
            raise DataError(gold_path, "expected a source id and a target id separated by a tab", number)
        pair = (fields[0], fields[1])
        for sentence_id, ids, path in ((pair[0], source, source_path), (pair[1], target, target_path)):
            if sentence_id not in ids:
                raise DataError(gold_path, f"id {sentence_id!r} is not in {path}", number)
        if pair in gold:
            raise DataError(gold_path, f"duplicate pair (first on line {gold[pair]})", number)
        gold[pair] = number
    if not gold:
        raise DataError(gold_path, "no gold pairs found (empty file?)")
    return MiningCorpus(source, target, frozenset(gold))


def bucc_files(folder: PathLike, languages: tuple[str, str], split: str) -> tuple[Path, Path, Path]:
    """BUCC's three files of a split in `folder`: `{src}-{tgt}.{split}.{src}`, `.{tgt}` and `.gold`."""
    stem = f"{languages[0]}-{languages[1]}.{split}"
    source, target, gold = (Path(folder) / f"{stem}.{end}" for end in (*languages, "gold"))
    return source, target, gold


def write_bucc(folder: PathLike, corpus: MiningCorpus, languages: tuple[str, str], split: str) -> Path:
    """Write `corpus` as BUCC's three files (`bucc_files`) in `folder`; returns the source file."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    source, target, gold = bucc_files(folder, languages, split)
    for path, sentences in ((source, corpus.source), (target, corpus.target)):
        path.write_text("".join(f"{sentence_id}\t{sentence}\n" for sentence_id, sentence in sentences.items()), "utf-8")
    gold.write_text("".join(f"{s}\t{t}\n" for s, t in sorted(corpus.gold)), encoding="utf-8")
    return source


def _key(sentence: str) -> str:
    """What two sentences must share to count as the same: their words, case-folded (no punctuation)."""
    return " ".join(_WORD.findall(sentence.casefold()))


def tatoeba_mix(
    pairs: Sequence[ParallelPair],
    distractors: Iterable[str],
    *,
    split: str,
    kept: int,
    languages: tuple[str, str] = ("xx", "en"),
    seed: int = 0,
) -> MiningCorpus:
    """A BUCC-like split: `kept` of `pairs` (one language's Tatoeba pairs) are the gold pairs, hidden among the
    split's other source sentences (their translations left out) and the target-side `distractors` (e.g. the
    English sides of the other languages' Tatoeba files).

    Pairs repeating an earlier pair's source or target are dropped, the rest shuffled with `seed` and halved,
    dev taking the first half and test the second; the distractors are halved likewise, so the splits share no
    sentence. A distractor is never a kept sentence's translation as far as text shows: a target distractor
    whose words match any target sentence of `pairs` is dropped (English sentences recur across Tatoeba files).
    Give dev and test the same `pairs`, `distractors` and `seed` for them to be disjoint. Ids are BUCC's
    `{lang}-{n:09d}`, numbered in a shuffled order.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    rng = random.Random(seed)
    seen: set[str] = set()
    unique = []
    for pair in pairs:
        keys = {"s" + _key(pair.source), "t" + _key(pair.target)}
        if not keys & seen:
            unique.append(pair)
        seen |= keys
    rng.shuffle(unique)
    half = len(unique) // 2
    mine = unique[:half] if split == "dev" else unique[half:]
    if not 0 < kept <= len(mine):
        raise ValueError(f"kept must be in 1..{len(mine)} (the {split} half of {len(unique)} distinct pairs)")
    translations = {_key(pair.target) for pair in pairs}
    pool = sorted({_key(d): d for d in distractors if _key(d) not in translations}.values())
    rng.shuffle(pool)
    pool = pool[: len(pool) // 2] if split == "dev" else pool[len(pool) // 2 :]
    source = [(pair.source, i) for i, pair in enumerate(mine)]
    target = [(pair.target, i) for i, pair in enumerate(mine[:kept])] + [(d, None) for d in pool]
    sides: list[dict[str, str]] = [{}, {}]
    ids: list[dict[int | None, str]] = [{}, {}]  # pair number -> its sentence's id, on each side
    for side, (language, sentences) in enumerate(zip(languages, (source, target))):
        rng.shuffle(sentences)
        for n, (sentence, pair_number) in enumerate(sentences, start=1):
            sides[side][f"{language}-{n:09d}"] = sentence
            ids[side][pair_number] = f"{language}-{n:09d}"
    return MiningCorpus(sides[0], sides[1], frozenset((ids[0][i], ids[1][i]) for i in range(kept)))


def tatoeba_inputs(tatoeba: PathLike, iso3: str) -> list[Path]:
    """The files `write_tatoeba_bucc` reads for `iso3`: its pair and every other `tatoeba.*-eng.eng` (distractors)."""
    tatoeba = Path(tatoeba)
    pair = [tatoeba / f"tatoeba.{iso3}-eng.{iso3}", tatoeba / f"tatoeba.{iso3}-eng.eng"]
    return pair + sorted(p for p in tatoeba.glob("tatoeba.*-eng.eng") if p.name != pair[1].name)


def tatoeba_bucc_outputs(folder: PathLike, code: str) -> list[Path]:
    """The files `write_tatoeba_bucc` writes for `code` in `folder`: each split's three (`bucc_files`)."""
    return [path for split in SPLITS for path in bucc_files(folder, (code, "en"), split)]


def write_tatoeba_bucc(
    tatoeba: PathLike, iso3: str, code: str, folder: PathLike, kept: int, seed: int = 0
) -> dict[str, Path]:
    """BUCC-like dev and test files `{code}-en.{split}.*` in `folder` from the Tatoeba folder's
    `tatoeba.{iso3}-eng.*` pairs, with the English sides of its other `tatoeba.*-eng.eng` files as target
    distractors (see `tatoeba_mix`); returns each split's source file."""
    source, english, *others = tatoeba_inputs(tatoeba, iso3)
    pairs = read_parallel(source, english)
    distractors = [line.strip() for path in others for line in read_lines(path) if line.strip()]
    return {
        split: write_bucc(
            folder,
            tatoeba_mix(pairs, distractors, split=split, kept=kept, languages=(code, "en"), seed=seed),
            (code, "en"),
            split,
        )
        for split in SPLITS
    }
