"""How a path or a model name written in a config or a jobs file is read: relative paths are anchored at the
file's folder; a model is a local folder or a Hugging Face Hub name (`name` or `owner/name`)."""

from __future__ import annotations

import re
from pathlib import Path

HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def anchor(path: str, base: Path) -> Path:
    """`path` with `~` expanded; a relative path is taken relative to `base` (resolved)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def is_local_path(spec: str) -> bool:
    """Whether a model spec can only be a local path (a Hub name is `name` or `owner/name`)."""
    return spec.startswith((".", "/", "~")) or not HUB_NAME.match(spec)


def anchor_model(spec: str, base: Path) -> str:
    """A model folder relative to `base` (it looks like a path, or it exists there) becomes absolute; a Hub name
    stays as it is."""
    path = Path(spec).expanduser()
    if path.is_absolute() or not (is_local_path(spec) or (base / path).exists()):
        return spec
    return str((base / path).resolve())
