"""Train/test leakage: dev or test rows that are training rows, or translations of them (issue 20).

XNLI (Conneau et al. 2018) and PAWS-X (Yang et al. 2019) dev/test, UD PUD (Zeman et al. 2017), Tatoeba as
XTREME ships it (Artetxe & Schwenk 2019) and XQuAD (Artetxe et al. 2020) are line-parallel: row i of every
language's file is a translation of row i of the others. The rule: two specs hold the same rows, or
translations of them, when their locations are the same once each language's code, ISO 639-3 code or name (a
whole word between punctuation, any case: what `{lang}`, `{iso3}` and `{name}` write) is read as a placeholder:
`dev-en.tsv` and `dev-de.tsv`, `xquad.en.json` and `xquad.de.json`, `hub:facebook/xnli@en:validation` and
`hub:facebook/xnli@de:validation`; and a file of another name that is the very file a pattern names for the
earlier spec's language (a copy of `dev-en.tsv` as `xnli-train.tsv`, the same bytes) stands for it. Files of
another name and other content (UD EWT train, PUD test; XNLI `@en:train` and `@de:test`) are different data, and
nothing of them is read. Among specs of one pattern, the rows a dev or
test slice shares with the training slice (or a test slice with the dev slice) are refused, unless
`tasks.NAME.allow_overlap` is set. In local files a row also counts as read when a row that was read holds one
of its passages (`Task.passages`): a QA question's paragraph, an XNLI premise (three rows in a row share one),
either sentence of a PAWS-X pair (PAWS-X reuses a sentence in pairs far apart: 411 of English dev's rows
1000–1999 hold a sentence of rows 0–999). That is also the way out for per-language corpora that share a name
pattern without being translations (e.g. WikiANN's `{lang}/dev` as dev and test). Open-ended slices of local
files are measured with the task's reader; Hub data is never fetched for it (an open end there reaches as far
as the data goes).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mbert_eval.data.checksums import file_checksum
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import DataError, UserError
from mbert_eval.languages import Language
from mbert_eval.tasks.base import Task

_WORDS = re.compile(r"([A-Za-z0-9]+)")  # a location split into words and what lies between them


@dataclass(frozen=True)
class Rows:
    """One data key's rows for one language: the spec and its slice, with an open end resolved where the
    example count is known (`stop` None: to the end of Hub data)."""

    key: str
    language: Language
    spec: DataSpec
    start: int
    stop: int | None

    def shown(self, base_dir: Path) -> str:
        """The spec as the config wrote it (relative to its folder), with the resolved slice (none where an
        unsliced spec's length is unknown)."""
        location = self.spec.location.removeprefix(f"{base_dir}/")
        if self.start == 0 and self.stop is None:
            return location
        return f"{location}[{self.start}:{'' if self.stop is None else self.stop}]"


def same_pattern(one: DataSpec, one_language: Language, other: DataSpec, other_language: Language) -> bool:
    """Whether two specs differ at most in their languages' codes, ISO 639-3 codes or names: the same file, or
    line-parallel translations of it (the module's rule). Local paths are compared both as written and as the
    files they name (`..`, symbolic and hard links resolved); Hub specs whatever revision each pins."""
    if same_file(one, other):
        return True
    return any(
        len(mine) == len(theirs)
        and all(a == b or (_names(one_language, a) and _names(other_language, b)) for a, b in zip(mine, theirs))
        for mine, theirs in (
            (_WORDS.split(_written(one)), _WORDS.split(_written(other))),
            (_WORDS.split(_resolved(one)), _WORDS.split(_resolved(other))),
        )
    )


def translates(task: Task, earlier: DataSpec, language: Language, key: str, later_language: Language) -> bool:
    """Whether `key`'s spec for `later_language` holds the rows of `earlier` (in `language`) or translations of
    them: the two specs share a pattern (`same_pattern`), or `earlier` is the very file `key` names for `language`
    under another name (a copy of `dev-en.tsv` as `xnli-train.tsv`: its translations are `dev-de.tsv`'s rows)."""
    later = task.spec(key, later_language)
    if same_pattern(earlier, language, later, later_language):
        return True
    try:
        own = task.spec(key, language)
    except UserError:  # `key` names no file for `language`: nothing to compare through
        return False
    return not own.is_hub and same_file(earlier, own) and same_pattern(own, language, later, later_language)


def same_file(one: DataSpec, other: DataSpec) -> bool:
    """Whether two specs name the same data: the same Hub location (at whatever revision), or one local file
    however each path reaches it (`..`, a symbolic or a hard link), or two files of the same bytes (a copy under
    another name)."""
    if one.is_hub or other.is_hub:
        return _written(one) == _written(other)
    mine, theirs = Path(one.location).expanduser(), Path(other.location).expanduser()
    try:
        if os.path.samefile(mine, theirs):
            return True
        return mine.stat().st_size == theirs.stat().st_size and file_checksum(mine) == file_checksum(theirs)
    except (OSError, DataError):  # a file that does not exist: nothing to read, so nothing shared
        return _resolved(one) == _resolved(other)


def _resolved(spec: DataSpec) -> str:
    """A local spec's file with `..` and symbolic links resolved; a Hub spec without its pinned revision (another
    revision of a dataset holds the same rows, or translations of them)."""
    return _written(spec) if spec.is_hub else os.path.realpath(Path(spec.location).expanduser())


def _written(spec: DataSpec) -> str:
    """A local spec's file as the config names it, `..` resolved but no link: files that are links to
    content-named files (a Hugging Face cache's `snapshots/…/dev-de.tsv` → `blobs/<hash>`, git-annex, DVC) keep
    their languages in the names written; a Hub spec without its pinned revision."""
    return spec.location.partition("#")[0] if spec.is_hub else os.path.abspath(Path(spec.location).expanduser())


def _names(language: Language, word: str) -> bool:
    """Whether `word` is one of the names a `{lang}`, `{iso3}` or `{name}` placeholder gives `language`."""
    return word.lower() in {language.code.lower(), language.iso639_3.lower(), language.name.lower()}


class _Counts:
    """Examples of local files, each read once through the task's reader (the run slices the same list)."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.known: dict[str, list] = {}
        self.seen: dict[tuple[str, int, int | None], frozenset[str]] = {}

    def examples(self, spec: DataSpec) -> list:
        """The examples of a local spec's whole file."""
        if spec.location not in self.known:
            self.known[spec.location] = self.task.read(Path(spec.location).expanduser())
        return self.known[spec.location]

    def rows(self, key: str, language: Language) -> Rows:
        """The rows `key` selects for `language`; an open end of a local file is resolved to its length."""
        spec = self.task.spec(key, language)
        stop = spec.stop
        if stop is None and not spec.is_hub:
            stop = len(self.examples(spec))
        return Rows(key, language, spec, spec.start or 0, stop)

    def overlap(self, earlier: Rows, later: Rows) -> Overlap | None:
        """The rows of `later` (the same file as `earlier`, or a line-parallel translation of it) that are rows of
        `earlier` or translations of them, or whose passages `earlier` read (`Task.passages`: a QA paragraph, an
        XNLI premise, either sentence of a PAWS-X pair, which PAWS-X reuses in rows far apart): row j of a
        translation is row j of `earlier`'s file, so its passages are read there. Hub data is compared by slice
        only (nothing is fetched)."""
        if earlier.spec.is_hub or earlier.stop is None or later.stop is None:
            return Overlap.of_range(earlier, later)
        examples, passages = self.examples(earlier.spec), self.task.passages
        key = (earlier.spec.location, earlier.start, earlier.stop)
        if key not in self.seen:
            self.seen[key] = frozenset(
                text for example in examples[earlier.start : earlier.stop] for text in passages(example)
            )
        seen = self.seen[key]
        direct, shared = range(earlier.start, earlier.stop), []
        for row in range(later.start, min(later.stop, len(examples))):
            if row in direct or not seen.isdisjoint(passages(examples[row])):
                shared.append(row)
        if not shared:
            return None
        return Overlap(shared[0], shared[-1], len(shared), sum(row in direct for row in shared))


@dataclass(frozen=True)
class Overlap:
    """The rows of a later slice that are rows of an earlier one, translations of them, or share a passage with
    them (`_Counts.overlap`): `count` rows from `first` to `last` (None: to the end of Hub data, uncounted), `direct`
    of them the earlier rows themselves (or their translations), the others sharing a passage with them."""

    first: int
    last: int | None
    count: int | None
    direct: int | None

    @classmethod
    def of_range(cls, one: Rows, other: Rows) -> Overlap | None:
        """The row range two slices share, or None where they share none."""
        ends = [end for end in (one.stop, other.stop) if end is not None]
        first, stop = max(one.start, other.start), min(ends, default=None)
        if stop is not None and first >= stop:
            return None
        count = None if stop is None else stop - first
        return cls(first, None if stop is None else stop - 1, count, count)

    @property
    def contiguous(self) -> bool:
        """Whether the rows are one unbroken run (a slice can then hold them out)."""
        return self.last is not None and self.count == self.last - self.first + 1

    def shown(self) -> str:
        """The rows, as the refusing line says them."""
        if self.last is None:
            return f"rows {self.first} to the end"
        if self.contiguous:
            return f"rows {self.first}–{self.last}"
        return f"{self.count} rows from {self.first} to {self.last}"


_ROLE = {"train": "training", "dev": "dev", "test": "test", "parallel": "parallel text"}


def _problem(name: str, later: Rows, earlier: Rows, overlap: Overlap, base_dir: Path, also: list[str]) -> str:
    """The one line that refuses `later` for sharing rows with `earlier` (`overlap`); a slice that holds them out
    is suggested where they are one run that the later slice goes on after."""
    role, same = _ROLE[earlier.key], same_file(later.spec, earlier.spec)
    if overlap.direct == 0:
        what = (
            f"share passages with the {role} rows"
            if same
            else f"are translations of rows sharing passages with the {role} rows"
        )
    else:
        what = f"are {role} rows" if same else f"are translations of the {role} rows"
        what += "" if overlap.direct == overlap.count else " or share their passages"
    more = f"; also for {', '.join(also)}" if also else ""
    after = overlap.contiguous and overlap.last is not None and (later.stop is None or overlap.last + 1 < later.stop)
    stop = "" if later.stop is None else later.stop
    hint = f"e.g. {later.key}: …[{(overlap.last or 0) + 1}:{stop}], " if after else ""
    return (
        f"tasks.{name}: {later.key} {later.language.code} {later.shown(base_dir)} overlaps "
        f"{_ROLE[earlier.key]} {earlier.shown(base_dir)} ({overlap.shown()} {what}{more}); hold them out, "
        f"{hint}or set tasks.{name}.allow_overlap: true"
    )


def leakage_problems(name: str, task: Task, sources: list[Language], targets: list[Language]) -> list[str]:
    """One line per pair of data keys (train/dev, train/test, dev/test) and source language whose later rows
    are earlier rows or their translations (see the module's rule); none where the task trains nothing or
    `tasks.NAME.allow_overlap` is set."""
    if task.config.allow_overlap:
        return []
    if not task.needs_training:
        return _dev_beside_test(name, task, targets) if "dev" in task.data_keys else []
    counts = _Counts(task)
    problems = []
    for source in sources:
        for earlier_key, later_key, languages in (
            ("train", "dev", [source]),
            ("train", "test", targets),
            ("dev", "test", targets),
        ):
            earlier = task.spec(earlier_key, source)
            found, held = [], None  # held: the earlier rows, resolved where a spec matches
            for language in languages:
                if not translates(task, earlier, source, later_key, language):
                    continue  # different data: nothing is read
                held = held or counts.rows(earlier_key, source)
                rows = counts.rows(later_key, language)
                overlap = counts.overlap(held, rows)
                if overlap is not None:
                    found.append((rows, overlap))
            if found and held is not None:
                (first, overlap), rest = found[0], [rows.language.code for rows, _ in found[1:]]
                problems.append(_problem(name, first, held, overlap, task.base_dir, rest))
    return problems


def hub_default_problems(name: str, task: Task) -> list[str]:
    """The lines refusing a data key left to its Hub default beside another given as local files: the rule above
    compares no Hub data with local files, and a Hub default may hold the very rows of the local ones (XNLI's
    `dev-{lang}.tsv` files are its Hub `validation` split, the default dev: choosing epochs on the test rows'
    English versions). None where every key is local, every key Hub, or `tasks.NAME.allow_overlap` is set."""
    keys = [key for key in ("train", "dev", "test") if key in task.data_keys and key not in task.optional_data_keys]
    local = [key for key in keys if getattr(task.config, key) and not _hub(getattr(task.config, key))]
    if task.config.allow_overlap or not local:
        return []
    return [
        f"tasks.{name}.{key}: left to its Hub default ({getattr(task.metadata, f'hub_{key}')}) beside local "
        f"{local[0]} files, which the leakage check cannot compare with Hub data; set {key}: to a local file, or "
        f"to the Hub spec to mean it"
        for key in keys
        if not getattr(task.config, key) and getattr(task.metadata, f"hub_{key}", None)
    ]


def _hub(value: str | dict[str, str]) -> bool:
    """Whether a data key's value names Hub data (a mapping: any of its languages)."""
    return any(text.startswith("hub:") for text in (value.values() if isinstance(value, dict) else [value]))


def _dev_beside_test(name: str, task: Task, targets: list[Language]) -> list[str]:
    """A task that trains nothing but chooses a setting on each target's own dev data (BUCC's margin threshold):
    a test slice of the same file as its dev slice must not share its rows (a threshold chosen on the test
    pairs' gold is no held-out score)."""
    problems = []
    for target in targets:
        dev, test = task.spec("dev", target), task.spec("test", target)
        if not same_file(dev, test):
            continue
        held = Rows("dev", target, dev, dev.start or 0, dev.stop)
        rows = Rows("test", target, test, test.start or 0, test.stop)
        overlap = Overlap.of_range(held, rows)
        if overlap is not None:
            problems.append(_problem(name, rows, held, overlap, task.base_dir, []))
    return problems


ParallelSide = tuple[DataSpec, Language]  # one side of a method's parallel text, and the language it is in


def parallel_leakage_problems(name: str, task: Task, sides: list[ParallelSide], targets: list[Language]) -> list[str]:
    """The line refusing a task whose target test rows are sentences of a method's parallel text, or translations
    of them (the module's rule, the parallel file's sentences (`data.text.read_sentences`) counted as rows): a
    checkpoint step (`tlm`, `align`) trains the encoder on them, whichever task then scores it. One line (the first
    side found, its other targets named); none where `tasks.NAME.allow_overlap` is set."""
    if task.config.allow_overlap or "test" not in task.data_keys:
        return []
    from mbert_eval.data.text import read_sentences

    counts = _Counts(task)
    for spec, language in sides:
        found, trained = [], None
        for target in targets:
            if not task.has_data("test", target) or not translates(task, spec, language, "test", target):
                continue
            if trained is None:
                stop = spec.stop if spec.stop is not None else len(read_sentences(Path(spec.location)))
                trained = Rows("parallel", language, spec, spec.start or 0, stop)
            rows = counts.rows("test", target)
            overlap = Overlap.of_range(trained, rows)
            if overlap is not None:
                found.append((rows, overlap))
        if found and trained is not None:
            (first, overlap), rest = found[0], [rows.language.code for rows, _ in found[1:]]
            return [_problem(name, first, trained, overlap, task.base_dir, rest)]
    return []
