"""Parallel text (and word alignments) for the methods that read it: TLM and alignment.

The config's `parallel:` section names, per target language, the source side, the target side
and optionally gold Pharaoh links; `{lang}` is the target and `{src}` the source language. Sides
may be line-aligned text (whitespace-tokenized) or CoNLL-U treebanks of the same sentences (PUD);
`[a:b]` slices a side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mbert_eval.data import (
    AlignmentLinks,
    check_alignment_ranges,
    file_checksum,
    read_conllu,
    read_pharaoh,
)
from mbert_eval.data.spec import DataSpec
from mbert_eval.data.types import read_lines
from mbert_eval.errors import DataError, UserError
from mbert_eval.languages import lookup
from mbert_eval.methods.base import StepSettings


@dataclass(frozen=True)
class ParallelSet:
    """Word-tokenized sentence pairs between the source and one target language."""

    language: str
    pairs: list[tuple[list[str], list[str]]]
    links: list[AlignmentLinks] | None
    checksums: dict[str, str]


def _specs(value: str | list | dict | None, source: str, target: str, base: Path) -> list[DataSpec]:
    if isinstance(value, dict):
        value = value.get(target)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [DataSpec.parse(v.replace("{src}", source), lookup(target), base) for v in values]


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


def parallel_languages(settings: StepSettings) -> list[str]:
    """The target languages that parallel data is read for (default: the grid's targets, `StepSettings`), each
    once."""
    codes = settings.parallel.languages or settings.targets
    return list(dict.fromkeys(lookup(code).code for code in codes))


def parallel_specs(settings: StepSettings, source: str, alignments: bool = True) -> list[DataSpec]:
    """The files `load_parallel` reads for `source`: each parallel language's source and target sides and, with
    `alignments`, its alignments, where given (none without `parallel.source` and `parallel.target`)."""
    config = settings.parallel
    if config.source is None or config.target is None:
        return []
    values = (config.source, config.target) + ((config.alignments,) if alignments else ())
    return [
        spec
        for target in parallel_languages(settings)
        for value in values
        for spec in _specs(value, source, target, settings.base_dir)
    ]


def parallel_sides(settings: StepSettings, source: str) -> list[tuple[DataSpec, str]]:
    """The sentence files `load_parallel` reads for `source`, each with the code of the language it is in: each
    parallel language's source side (in `source`) and target side (in that language)."""
    config = settings.parallel
    if config.source is None or config.target is None:
        return []
    return [
        (spec, code)
        for target in parallel_languages(settings)
        for value, code in ((config.source, source), (config.target, target))
        for spec in _specs(value, source, target, settings.base_dir)
    ]


def load_parallel(settings: StepSettings, source: str, alignments: bool = True) -> list[ParallelSet]:
    """Parallel sets between `source` and each parallel language, with their word alignments where given and
    `alignments` asks for them (a step that reads none, TLM, neither checks nor fingerprints the file); errors
    name files and lines."""
    config = settings.parallel
    if config.source is None or config.target is None:
        raise UserError("this method needs parallel text: set parallel.source and parallel.target in the config")
    sets = []
    read: dict[DataSpec, list[list[str]]] = {}  # a side every language pairs with (English) is read once
    for target in parallel_languages(settings):
        source_specs = _specs(config.source, source, target, settings.base_dir)
        target_specs = _specs(config.target, source, target, settings.base_dir)
        if not source_specs or len(source_specs) != len(target_specs):
            raise UserError(f"parallel: give as many source as target files for language {target}")
        left, right = [], []
        for source_spec, target_spec in zip(source_specs, target_specs):
            for spec in (source_spec, target_spec):
                if spec not in read:
                    read[spec] = _sentences(spec)
            source_side, target_side = read[source_spec], read[target_spec]
            if len(source_side) != len(target_side):
                raise DataError(
                    source_spec.location,
                    f"{len(source_side)} sentences, but {target_spec.location} has {len(target_side)}",
                )
            left, right = left + source_side, right + target_side
        if not left:
            named = ", ".join(spec.location for spec in source_specs)
            raise UserError(f"parallel: no sentence pairs between {source} and {target} ({named} is empty)")
        checksums = {str(s): file_checksum(Path(s.location)) for s in source_specs + target_specs}
        links = None
        align_specs = _specs(config.alignments, source, target, settings.base_dir) if alignments else []
        if len(align_specs) > 1 or (align_specs and len(source_specs) > 1):
            raise UserError(f"parallel.alignments: give one alignment file for one pair of files ({target})")
        if align_specs:
            align_spec = align_specs[0]
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
