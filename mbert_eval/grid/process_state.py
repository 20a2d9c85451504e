"""What computing a cell changes in its process, given back after: the random generators' states, torch's thread
count, transformers' logging. A run that computes no cell (every one stored) changes nothing and imports neither
torch nor transformers for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def process_state_kept() -> Iterator[None]:
    """Within the block the cells a run computes change this process's state: each cell seeds the global random
    generators (Python's, NumPy's, torch's: `training.loop.seed_everything`), sets torch's thread count
    (`models.threads.use_threads`) and turns transformers' warnings and progress bars off
    (`models.encoders.quiet_loading`). After it, also when it raises, they are the caller's again (CUDA's
    generators too where CUDA was started; none is started here)."""
    import random

    import numpy as np
    import torch
    from transformers.utils import logging

    python, numpy, cpu = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    threads, verbosity, bars = torch.get_num_threads(), logging.get_verbosity(), logging.is_progress_bar_enabled()
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        torch.random.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        torch.set_num_threads(threads)
        logging.set_verbosity(verbosity)
        if logging.is_progress_bar_enabled() != bars:
            (logging.enable_progress_bar if bars else logging.disable_progress_bar)()
