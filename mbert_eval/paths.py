"""How a path or a model name written in a config or a jobs file is read: relative paths are anchored at the
file's folder; a model is a local folder or a Hugging Face Hub name (`name` or `owner/name`); `{field}` patterns are
filled in without format specs; two paths name one file when they resolve alike or share an inode."""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

from mbert_eval.errors import UserError, cut, shown

HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def anchor(path: str, base: Path) -> Path:
    """`path` with `~` expanded; a relative path is taken relative to `base` (resolved). A path holding a NUL
    byte, which no file system takes, is a UserError."""
    if "\0" in path:
        raise UserError(f"{shown(path)}: a path cannot hold a NUL byte")
    p = home_expanded(path)
    return p if p.is_absolute() else _resolved(base / p, path)


def home_expanded(path: str) -> Path:
    """`path` with a leading `~` or `~user` expanded; a user without a home folder is a UserError naming it."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # pathlib: "Could not determine home directory."
        user = path[1:].split("/")[0]
        raise UserError(f"{cut(path)}: no home folder is known for {'~' + user if user else '~'}") from None


def _resolved(path: Path, written: str) -> Path:
    """`path` made absolute with its symbolic links and `..` resolved; a UserError naming the path as `written`
    where a link on the way loops."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as err:  # a symbolic link on the way loops (RuntimeError up to Python 3.12)
        raise UserError(f"{cut(written)}: a symbolic link on the way loops ({err})") from None


def is_local_path(spec: str) -> bool:
    """Whether a model spec can only be a local path (a Hub name is `name` or `owner/name`)."""
    return spec.startswith((".", "/", "~")) or not HUB_NAME.match(spec)


def display_name(model: str) -> str:
    """A model as people read it when its config gives it no `name:`: a Hub name as it is, a local folder by its
    own name (its full path is metadata)."""
    return Path(model).name or model if is_local_path(model) else model


def anchor_model(spec: str, base: Path) -> str:
    """A model folder (it looks like a path, or it exists relative to `base`) becomes its absolute path with `~`,
    `..`, a trailing slash and symbolic links resolved, so that one folder has one spelling in cell keys, reports
    and the check for a model listed twice; a Hub name stays as it is."""
    path = home_expanded(spec)
    if not (is_local_path(spec) or (base / path).exists()):
        return spec
    return str(_resolved(base / path, spec))


def fill_pattern(pattern: str, **fields: str) -> str:
    """`pattern` with its `{field}`s filled in. A field it does not know, or a format spec or conversion after a
    field (`{lang:>999999999999}` would build a string that wide), is a UserError naming the pattern."""
    known = ", ".join(f"{{{name}}}" for name in fields)
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as err:
        raise UserError(f"bad pattern {shown(pattern)} ({err}); use {known}") from None
    for _, name, spec, conversion in parts:
        if name is not None and name not in fields:
            raise UserError(f"bad pattern {shown(pattern)}: no field {{{cut(name, 40)}}}; use {known}")
        if spec or conversion:
            raise UserError(f"bad pattern {shown(pattern)}: write {{{name}}} alone (no format spec or conversion)")
    return pattern.format(**fields)


def same_file(path: Path, other: Path) -> bool:
    """Whether `path` and `other` name the same file: the same resolved path, or the same inode."""
    if path.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(path, other)
    except OSError:  # one of them does not exist (yet)
        return False
