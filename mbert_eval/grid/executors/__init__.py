"""Where cells run: in this process (`executor: local`) or on a Ray cluster (`executor: ray`), each a factory in
the `EXECUTORS` registry that `validate` and `mbert-eval ls executors` read.

Either way `run_cell` computes a cell's rows and only the driver writes the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mbert_eval.config.experiment import Experiment
from mbert_eval.registry import Registry

if TYPE_CHECKING:
    from mbert_eval.grid.executors.local import Executor

# Each factory imports its executor (which imports the cell job: torch) when called: `validate` and
# `ls executors` read the names and summaries only.


def _local(experiment: Experiment) -> Executor:
    from mbert_eval.grid.executors.local import LocalExecutor

    return LocalExecutor()


def _ray(experiment: Experiment) -> Executor:
    from mbert_eval.grid.executors.ray_executor import RayExecutor

    options = experiment.ray
    return RayExecutor(
        address=options.address,
        num_gpus_per_cell=options.num_gpus,
        num_cpus_per_cell=options.num_cpus,
        max_retries=options.max_retries,
    )


EXECUTORS: Registry[Callable[[Experiment], Executor]] = Registry("executor")
EXECUTORS.register("local", _local, "cells one after another in this process")
EXECUTORS.register(
    "ray", _ray, "cells as Ray tasks on a cluster, with the resources of `ray:` (retried if a worker dies)"
)


def executor_from_experiment(experiment: Experiment) -> Executor:
    """The executor an experiment's `executor` key names, set up from its options."""
    return EXECUTORS.get(experiment.executor)(experiment)
