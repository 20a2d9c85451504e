"""Where cells run: in this process (`executor: local`) or on a Ray cluster (`executor: ray`).

Either way `run_cell` computes a cell's rows and only the driver writes the store.
"""
from __future__ import annotations

from mbert_eval.config.experiment import Experiment
from mbert_eval.grid.executors.local import Executor, LocalExecutor


def executor_from_experiment(experiment: Experiment) -> Executor:
    """The executor an experiment's `executor` key names, set up from its `ray` options."""
    if experiment.executor != "ray":
        return LocalExecutor()
    from mbert_eval.grid.executors.ray_executor import RayExecutor

    options = experiment.ray
    return RayExecutor(
        address=options.address,
        num_gpus_per_cell=options.num_gpus,
        num_cpus_per_cell=options.num_cpus,
        max_retries=options.max_retries,
    )
