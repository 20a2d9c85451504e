"""Progress bars: the one rule that decides whether a bar is drawn (`progress_bar`).

tqdm reads its switch TQDM_DISABLE (`QUIET`) once, when a process first imports it, and only as the default of
`disable=`: a bar that passes `disable=` itself (drawn only when named, only by the first process of a launch)
would still draw in a quiet run's workers. `progress_bar` decides with all three: the caller's rule, the quiet run's
switch (read when the bar starts) and the process's rank in a launch (RANK, as torchrun and `accelerate launch`
set it: the processes of one cell all evaluate, only the first draws).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

# tqdm's own switch: set for the worker processes a quiet run starts (Ray's workers, accelerate's), which draw
# no progress bars then (`api.hidden_progress`); any value but the empty one switches bars off, as for tqdm
QUIET = "TQDM_DISABLE"
RANK = "RANK"  # this process's place among those a launcher started together (torchrun); 0, or none, draws

T = TypeVar("T")


def progress_bar(iterable: Iterable[T] | None = None, *, shown: bool = True, **options: Any) -> tqdm[T]:
    """A tqdm bar over `iterable` (or one counted by hand: `total=`), with tqdm's `options` (desc, total, leave,
    unit), drawn where its caller would show it (`shown`), unless this process is a quiet run's (`QUIET`) or not
    the first of a launch (`RANK`)."""
    drawn = shown and not os.environ.get(QUIET) and os.environ.get(RANK, "0") == "0"
    return tqdm(iterable, disable=not drawn, **options)
