"""Where cells run: in this process (`executor: local`) or on a Ray cluster (`executor: ray`), each a factory in
the `EXECUTORS` registry that `validate` and `mbert-eval ls executors` read.

Either way `run_cell` computes a cell's rows and only the driver writes the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mbert_eval.config.experiment import RayConfig
from mbert_eval.registry import Registry

if TYPE_CHECKING:
    from mbert_eval.grid.executors.local import Executor

# Each factory imports its executor (which imports the cell job: torch) when called: `validate` and
# `ls executors` read the names and summaries only.


def _local(ray: RayConfig) -> Executor:
    from mbert_eval.grid.executors.local import LocalExecutor

    return LocalExecutor()


def _ray(ray: RayConfig) -> Executor:
    from mbert_eval.grid.executors.ray_executor import RayExecutor

    return RayExecutor(
        address=ray.address, num_gpus_per_cell=ray.num_gpus, num_cpus_per_cell=ray.num_cpus, max_retries=ray.max_retries
    )


EXECUTORS: Registry[Callable[[RayConfig], Executor]] = Registry("executor")
EXECUTORS.register("local", _local, "cells one after another in this process")
EXECUTORS.register(
    "ray", _ray, "cells as Ray tasks on a cluster, with the resources of `ray:` (retried if a worker dies)"
)


def make_executor(name: str, ray: RayConfig) -> Executor:
    """The executor a config's `executor:` names, set up from its `ray:` options (the only ones there are)."""
    return EXECUTORS.get(name)(ray)
