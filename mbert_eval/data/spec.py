"""Where examples come from, as a config writes it: a file or `hub:DATASET[@CONFIG]:SPLIT`, with `{lang}`,
`{iso3}` and `{name}` filled in per language and an optional `[start:stop]` slice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.languages import Language
from mbert_eval.paths import fill_pattern, home_expanded

SLICE = re.compile(r"^(?P<spec>.*)\[(?P<start>\d*):(?P<stop>\d*)\]$")
# what a slice written otherwise looks like: `[-500:]`, `[a:b]`, or one before a Hub spec's `#REVISION`
LIKE_A_SLICE = re.compile(r"\[(?P<inside>[^\[\]]*:[^\[\]]*)\](?P<after>#[^\[\]]*)?$")


@dataclass(frozen=True)
class DataSpec:
    """Where examples come from: a file or `hub:DATASET[@CONFIG]:SPLIT`, optionally sliced `[a:b]`, optionally
    narrowed to one language's examples of a split that mixes languages (`language`, set by the task, e.g.
    TyDiQA's; the slice then counts that language's examples)."""

    location: str
    start: int | None = None
    stop: int | None = None
    language: str | None = None

    @classmethod
    def parse(cls, text: str, language: Language | None = None, base_dir: Path | None = None) -> DataSpec:
        """Fill in `{lang}`/`{iso3}`/`{name}`, split off a `[start:stop]` slice (an empty one, `[:0]` or `[5:5]`,
        is a UserError), anchor relative paths."""
        if language is not None:
            text = fill_pattern(text, lang=language.code, iso3=language.iso639_3, name=language.name)
        start = stop = None
        text = text.rstrip()
        match = SLICE.match(text)
        if not match and (written := LIKE_A_SLICE.search(text)):
            if written["after"]:
                raise UserError(
                    f"{text}: the slice [{written['inside']}] goes after the revision, at the end: "
                    f"{text[: written.start()]}{written['after']}[{written['inside']}]"
                )
            raise UserError(
                f"{text}: a slice is [start:stop], whole numbers 0 or more counted from the first example, either "
                f"left out for an open end (got [{written['inside']}])"
            )
        if match:
            text = match["spec"]
            start = int(match["start"]) or None if match["start"] else None  # [0:n] is [:n], under one name
            stop = int(match["stop"]) if match["stop"] else None
            if stop == 0 or (start is not None and stop is not None and start >= stop):
                raise UserError(f"{match[0]}: an empty slice (its start is not before its stop)")
        if not text.startswith("hub:") and base_dir is not None and not home_expanded(text).is_absolute():
            text = str(base_dir / text)
        return cls(text, start, stop)

    @property
    def is_hub(self) -> bool:
        """Whether the examples come from the Hugging Face Hub."""
        return self.location.startswith("hub:")

    def __str__(self) -> str:
        """As a config writes it, plus ` (only LANG)` where narrowed to one language (rows record this)."""
        text = self.location if self.language is None else f"{self.location} (only {self.language})"
        if self.start is None and self.stop is None:
            return text
        return f"{text}[{_bound(self.start)}:{_bound(self.stop)}]"


def _bound(value: int | None) -> str:
    """A slice bound as written: nothing for an open end, else the number (0 included)."""
    return "" if value is None else str(value)
