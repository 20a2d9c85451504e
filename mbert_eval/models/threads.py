"""How many CPU threads torch uses for its work (intra-op parallelism), without importing torch to decide.

torch's own default is every physical core, whatever else the machine runs; on a shared machine that thrashes
(a tiny MLM step took 2,069 ms with 2 threads and 296 ms with 1 on a busy 2-core machine). The count used is,
first match wins:

1. the one asked for: `--threads N` on the command line, else `threads:` in the experiment config;
2. OMP_NUM_THREADS when it holds a positive whole number: the user (or a launcher: torchrun sets 1 per process,
   Ray the CPUs a task asked for) already chose, and torch reads the same variable at start;
3. else the CPUs this process may run on (`os.sched_getaffinity`: taskset, cgroup cpusets) less the ones
   already busy (the 1-minute load average, rounded), at most the physical cores (a hyperthread adds little to
   matrix products and torch never uses more), and at least 1.

Rule 3 is worked out once per process (`resolve_threads`), before this process's own work adds to the load
average, so every cell of one run uses the same count and a cell never sees its predecessor's threads as
someone else's. The load average lags by about a minute: a run started right after another heavy one takes
fewer threads than it could; pass `--threads` (or set OMP_NUM_THREADS) to choose.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Mapping
from pathlib import Path

from mbert_eval.errors import UserError, shown

ENV = "OMP_NUM_THREADS"
# the most threads one asks for: well above any machine's cores (2 × 192-core CPUs with SMT have 768), far below
# what torch's thread count (a C int) overflows at; `validate` and `--threads` refuse more
MAX_THREADS = 4096


def default_threads(
    environ: Mapping[str, str] | None = None,
    cpus: int | None = None,
    load: float | None = None,
    cores: int | None = None,
) -> int:
    """The thread count when none is asked for (rules 2 and 3 of the module's docstring); each argument
    defaults to this machine's own value (os.environ, usable CPUs, 1-minute load average, physical cores)."""
    given = _positive_int((os.environ if environ is None else environ).get(ENV))
    if given is not None:
        return given
    cpus = usable_cpus() if cpus is None else cpus
    load = _load_average() if load is None else load
    cores = physical_cores() if cores is None else cores
    return max(1, min(cpus - round(load), cores, cpus))


@functools.cache
def _process_default() -> int:
    return default_threads()


def resolve_threads(requested: int | None = None) -> int:
    """The thread count to use: `requested` when given, else `default_threads()` as this process first
    worked it out (see the module's docstring). A count asked for outside 1..MAX_THREADS is a UserError."""
    if requested is not None and not 1 <= requested <= MAX_THREADS:
        raise UserError(
            f"threads: from 1 to {MAX_THREADS} CPU threads (or none for the default), got {shown(requested)}"
        )
    return requested if requested is not None else _process_default()


def use_threads(requested: int | None = None) -> int:
    """Set torch's CPU thread count to `resolve_threads(requested)` and return it."""
    import torch

    count = resolve_threads(requested)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


def usable_cpus() -> int:
    """The logical CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def physical_cores() -> int:
    """Physical cores of this machine: psutil's count when it is installed, else Linux's CPU topology (one
    core per distinct set of hyperthread siblings), else the logical CPU count."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except Exception:  # not installed, or a platform psutil cannot read
        count = None
    if not count:
        siblings = glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list")
        count = len({Path(path).read_text(encoding="utf-8").strip() for path in siblings})
    return count or os.cpu_count() or 1


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has none
        return 0.0


def _positive_int(value: str | None) -> int | None:
    """OMP_NUM_THREADS as a whole number from 1 to MAX_THREADS (`4`, or `4,2` for nested levels: the first), else
    None (a count torch's C int overflows at, or thousands of threads on a few cores, is no setting to follow)."""
    try:
        number = int((value or "").split(",")[0].strip())
    except ValueError:
        return None
    return number if 0 < number <= MAX_THREADS else None
