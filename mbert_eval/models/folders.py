"""The one way a model folder is written: into a temporary sibling that replaces the folder only when
everything is in it, so an interrupted run (pretraining, a method step, an import) leaves no half-written
folder behind, and never onto, into or around what the run reads (`check_output_folder`)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.paths import same_file


def check_output_folder(out_dir: Path, protected: Iterable[Path], what: str = "the output folder") -> None:
    """Refuse (one-line UserError) an output folder that is one of the `protected` paths (what the command reads:
    a model folder, text files), lies inside one, or holds one: replacing the folder would destroy or change an
    input. Paths are compared resolved (`..` and symbolic links followed, `~` in a protected path expanded), so a
    link to an input counts."""
    out = Path(out_dir).resolve()
    for other in map(Path, protected):
        read = other.expanduser().resolve()
        if same_file(out, read):
            raise UserError(f"{what} {out_dir} is {other}, which this command reads; choose another folder")
        if out.is_relative_to(read):
            raise UserError(
                f"{what} {out_dir} would be written into {other}, which this command reads; choose another folder"
            )
        if read.is_relative_to(out):
            raise UserError(
                f"{what} {out_dir} holds {other}, which this command reads, and would replace it; choose another folder"
            )


@contextmanager
def atomic_output(
    out_dir: Path, record_file: str, protected: Iterable[Path] = (), what: str = "the output folder"
) -> Iterator[Path]:
    """A temporary sibling folder to write into; it replaces ``out_dir`` when the block ends without error and is
    removed otherwise. An existing ``out_dir`` is only replaced if it is empty or an earlier output, recognised
    by its ``record_file``, and never when it is, lies in or holds one of the ``protected`` paths that the run
    reads (`check_output_folder`)."""
    out_dir = Path(out_dir)
    remove_stale(out_dir.parent)
    earlier = out_dir.is_dir() and ((out_dir / record_file).is_file() or not any(out_dir.iterdir()))
    if out_dir.exists() and not earlier:
        raise UserError(f"{out_dir} exists and is not an earlier output folder (no {record_file}); pick another one")
    check_output_folder(out_dir, protected, what)
    partial = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
    except OSError as err:  # a part of the path is a file, a read-only folder, a full disk
        raise UserError(f"cannot write {what} {out_dir}: {err.strerror or err} ({err.filename})") from None
    try:
        yield partial
        _replace(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


STALE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(folder: Path) -> list[Path]:
    """Remove the temporary folders a killed process left in `folder` (``.NAME.partial-PID``; ``.NAME.old-PID``
    is moved back to NAME when NAME is missing: the process died between its two renames); returns them.
    Folders of live processes are left alone."""
    removed = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.iterdir()):
        match = STALE.match(path.name)
        if match is None or not path.is_dir() or _alive(int(match["pid"])):
            continue
        target = folder / match["name"]
        if match["kind"] == "old" and not target.exists():
            path.rename(target)
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _replace(new: Path, out_dir: Path) -> None:
    """Move ``new`` to ``out_dir``, replacing an existing folder with as short a gap as two renames allow."""
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    new.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
