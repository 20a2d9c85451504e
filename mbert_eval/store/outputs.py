"""Writing an output file (a report, an export) safely: never onto the results store or a file the command
reads (compared by resolved path and by file identity, so a symlink or a hard link is caught), nor into a folder
it reads (the per-example outputs and unsaved cells beside the store: `store_paths`), never onto any
SQLite database, and never half-written: the text goes to a temporary file in the same folder, which then
replaces the target in one step. A folder that cannot be made or written, or a full disk, is one line."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.paths import same_file

SQLITE_HEADER = b"SQLite format 3\x00"
EXAMPLES_FOLDER = "examples"  # beside the store: each cell's per-example outputs (store/examples.py)
UNSAVED_SUFFIX = ".unsaved"  # STORE.unsaved/: the cells a store refused (store/unsaved.py)
CONFIG_SUFFIXES = (".yaml", ".yml")  # experiment and job configs: no output replaces one


# the files SQLite (journal, WAL) and a run (the store's lock, and the holder it names: `store.locks.held_lock`)
# keep beside a store, named by its name and these
STORE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".holder.json")


def store_files(store: Path) -> list[Path]:
    """The results store and the files SQLite and a run keep beside it (`STORE_SIDE_SUFFIXES`)."""
    store = Path(store)
    return [store] + [store.with_name(store.name + suffix) for suffix in STORE_SIDE_SUFFIXES]


def side_file_problem(store: Path) -> str | None:
    """Why `store` cannot be a results store: its name is one a run on another store beside it gives a file of
    its own (`results.sqlite.holder.json`, written over and removed by every run on `results.sqlite`); None: it
    can."""
    for suffix in (*STORE_SIDE_SUFFIXES, UNSAVED_SUFFIX):
        if store.name.endswith(suffix) and store.name != suffix:
            owner = store.name.removesuffix(suffix)
            return (
                f"{store.name} is the name of a file a run on a store {owner} beside it writes over or removes; "
                "name the store otherwise, e.g. results.sqlite"
            )
    return None


def store_paths(store: Path) -> list[Path]:
    """What no report or export may replace: the store's files (`store_files`) and the folders whose files the
    report reads with it, per-example outputs and unsaved cells."""
    store = Path(store)
    return [*store_files(store), store.parent / EXAMPLES_FOLDER, store.with_name(store.name + UNSAVED_SUFFIX)]


def _is_database(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def check_output(path: Path, protected: Iterable[Path], what: str) -> None:
    """Refuse (UserError) an output `path` that is one of the `protected` files (the store, the inputs) or lies in
    a `protected` folder (one a command is about to make too: the quickstart's data and model), any SQLite database,
    an existing YAML file (a config, which `report` and `results` cannot know as the store's input), a folder or a
    device, or whose folder is a file; `what` names the output in the message."""
    path = Path(path)
    for other in map(Path, protected):
        if same_file(path, other):
            raise UserError(f"{what} {path} would replace {other}, which this command reads; choose another file")
        if path.resolve() != other.resolve() and path.resolve().is_relative_to(other.resolve()):  # made yet or not
            raise UserError(
                f"{what} {path} would be written into {other}, which this command reads; choose another file"
            )
    if path.is_symlink() and _stream(path):
        raise UserError(f"{what} {path} is a link to {os.path.realpath(path)}, not to a file; pass a file name")
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; pass a file name")
    if path.exists() and not path.is_file():
        raise UserError(f"{what} {path} is not a regular file (a device or a pipe?); pass a file name")
    if path.is_file() and _is_database(path):
        raise UserError(f"{what} {path} is an SQLite database (a results store?); it is never overwritten")
    if path.is_file() and path.suffix.lower() in CONFIG_SUFFIXES:  # the store does not say which config made it
        raise UserError(f"{what} {path} would replace a YAML file (an experiment or job config?); choose another file")
    for parent in path.absolute().parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise UserError(f"cannot write {what} {path}: {parent} is a file, not a folder")
            break


def _stream(link: Path) -> bool:
    """Whether a symbolic link leads, in any of its hops, into /dev or /proc (`/dev/stdout`, `/proc/self/fd/1`:
    what a shell redirects, which a file put in its place would cut off), or to anything else that is no file,
    rather than to a file or to nothing yet."""
    hop, seen = link.absolute(), set()
    while hop.is_symlink() and hop not in seen:
        seen.add(hop)
        if hop.is_relative_to("/dev") or hop.is_relative_to("/proc"):
            return True
        hop = hop.parent / os.readlink(hop)
    return hop.is_relative_to("/dev") or hop.is_relative_to("/proc") or (hop.exists() and not hop.is_file())


def write_output(path: Path, text: str, protected: Iterable[Path], what: str) -> Path:
    """Write `text` to `path` (folders created) after `check_output`, through a temporary file in the same
    folder, so a failed write leaves any earlier file at `path` as it was. A symbolic link is written through:
    the file it names is replaced, and the link stays."""
    path = Path(path)
    check_output(path, protected, what)
    written = Path(os.path.realpath(path)) if path.is_symlink() else path
    temporary = None
    try:
        written.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=written.parent, prefix=f".{written.name}.", suffix=".tmp", delete=False
        ) as file:
            temporary = Path(file.name)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        plain_mode(temporary)
        os.replace(temporary, written)
        temporary = None
    except OSError as err:
        raise UserError(f"cannot write {what} {path}: {_reason(err)}") from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return path


def plain_mode(path: Path) -> None:
    """Give a temporary file the mode a plain write would (0666 less the umask), not mkstemp's 0600, before it
    replaces an output."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _reason(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "the disk is full (nothing was replaced)"
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"a part of the folder path is a file ({err.filename})"
    return err.strerror or str(err)
