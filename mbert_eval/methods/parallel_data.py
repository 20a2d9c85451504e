"""Parallel text (and word alignments) for the methods that read it: TLM and alignment.

The config's `parallel:` section names, per target language, the source side, the target side
and optionally gold Pharaoh links; `{lang}` is the target and `{src}` the source language. Sides
may be line-aligned text (whitespace-tokenized) or CoNLL-U treebanks of the same sentences (PUD);
`[a:b]` slices a side.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mbert_eval.config import Experiment
from mbert_eval.data import AlignmentLinks, check_alignment_ranges, file_checksum, read_conllu, read_pharaoh
from mbert_eval.data.types import read_lines
from mbert_eval.errors import DataError, UserError
from mbert_eval.languages import lookup
from mbert_eval.tasks.base import DataSpec


@dataclass(frozen=True)
class ParallelSet:
    """Word-tokenized sentence pairs between the source and one target language."""

    language: str
    pairs: list[tuple[list[str], list[str]]]
    links: list[AlignmentLinks] | None
    checksums: dict[str, str]


def _spec(value: str | dict[str, str] | None, source: str, target: str, base: Path) -> DataSpec | None:
    if isinstance(value, dict):
        value = value.get(target)
    if value is None:
        return None
    return DataSpec.parse(value.replace("{src}", source), lookup(target), base)


def _sentences(spec: DataSpec) -> list[list[str]]:
    path = Path(spec.location)
    if not path.is_file():
        raise UserError(f"parallel data file not found: {path}")
    if path.suffix == ".conllu":
        sentences = [list(s.tokens) for s in read_conllu(path)]
    else:
        sentences = []
        for number, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                raise DataError(path, "empty line in parallel text", number)
            sentences.append(line.split())
    return sentences[spec.start : spec.stop]


def parallel_languages(experiment: Experiment) -> list[str]:
    """The target languages that parallel data is read for (default: the grid's targets)."""
    codes = experiment.parallel.languages or experiment.targets
    return [lookup(code).code for code in codes]


def load_parallel(experiment: Experiment, source: str) -> list[ParallelSet]:
    """Parallel sets between `source` and each parallel language; errors name files and lines."""
    config = experiment.parallel
    if config.source is None or config.target is None:
        raise UserError("this method needs parallel text: set parallel.source and parallel.target in the config")
    sets = []
    for target in parallel_languages(experiment):
        source_spec = _spec(config.source, source, target, experiment.base_dir)
        target_spec = _spec(config.target, source, target, experiment.base_dir)
        if source_spec is None or target_spec is None:
            raise UserError(f"parallel: no parallel text given for language {target}")
        left, right = _sentences(source_spec), _sentences(target_spec)
        if len(left) != len(right):
            raise DataError(source_spec.location, f"{len(left)} sentences, but {target_spec.location} has {len(right)}")
        checksums = {str(s): file_checksum(Path(s.location)) for s in (source_spec, target_spec)}
        links = None
        align_spec = _spec(config.alignments, source, target, experiment.base_dir)
        if align_spec is not None:
            path = Path(align_spec.location)
            if not path.is_file():
                raise UserError(f"alignment file not found: {path}")
            links = read_pharaoh(path, one_indexed=config.one_indexed)[align_spec.start : align_spec.stop]
            if len(links) != len(left):
                raise DataError(path, f"{len(links)} alignment lines for {len(left)} sentence pairs")
            check_alignment_ranges(links, [(len(a), len(b)) for a, b in zip(left, right)], path)
            checksums[str(align_spec)] = file_checksum(path)
        sets.append(ParallelSet(target, list(zip(left, right)), links, checksums))
    return sets


def write_text_pairs(parallel: ParallelSet, folder: Path) -> tuple[Path, Path]:
    """The set as two line-aligned text files (words joined by spaces), e.g. for TLM."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"{parallel.language}.source.txt", folder / f"{parallel.language}.target.txt"
    for side, path in enumerate(paths):
        path.write_text("".join(" ".join(pair[side]) + "\n" for pair in parallel.pairs), encoding="utf-8")
    return paths
