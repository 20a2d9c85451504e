"""The one way a model folder is written: into a temporary sibling that replaces the folder only when
everything is in it, so an interrupted run (pretraining, a method step, an import) leaves no half-written
folder behind."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mbert_eval.errors import UserError


@contextmanager
def atomic_output(out_dir: Path, record_file: str) -> Iterator[Path]:
    """A temporary sibling folder to write into; it replaces ``out_dir`` when the block ends without error and is
    removed otherwise. An existing ``out_dir`` is only replaced if it is empty or an earlier output, recognised
    by its ``record_file``."""
    out_dir = Path(out_dir)
    earlier = out_dir.is_dir() and ((out_dir / record_file).is_file() or not any(out_dir.iterdir()))
    if out_dir.exists() and not earlier:
        raise UserError(f"{out_dir} exists and is not an earlier output folder (no {record_file}); pick another one")
    partial = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        _replace(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _replace(new: Path, out_dir: Path) -> None:
    """Move ``new`` to ``out_dir``, replacing an existing folder with as short a gap as two renames allow."""
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    new.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
