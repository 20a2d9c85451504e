"""One cell on several GPUs: N processes started by torchrun run the same cell with accelerate.

`run_cell_on_gpus(job, n)` starts `python -m torch.distributed.run --standalone --nproc_per_node n`
on this module (fresh processes: nothing is forked from a parent that has touched CUDA). Each
process joins the group through `accelerate.PartialState` (which also picks its GPU) and runs
`run_cell(job)`; the fine-tuning loop sees WORLD_SIZE > 1 and trains data-parallel (each process
takes 1/N of every batch, its loss weighted by its share of the batch's labelled tokens, DDP
averages the gradients: batch size, schedule and gradient are one process's).
Every process evaluates the targets; process 0's rows come back through a temporary file. A
UserError in the cell comes back as the same one-line UserError (an `UnfinishedCell` with its finished rows).
Each row records how many processes trained it (`extra.processes`).

The Ray executor uses this for cells that ask for more than one GPU (`ray.num_gpus: 4`).
`cpu=True` runs the processes on CPU with gloo (what the tests use).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from mbert_eval.errors import UserError
from mbert_eval.grid.executors.ray_checks import NO_ACCELERATE
from mbert_eval.grid.job import CellJob, UnfinishedCell, run_cell
from mbert_eval.store.results import ResultRow


def run_cell_on_gpus(job: CellJob, num_processes: int, cpu: bool = False) -> list[ResultRow]:
    """Run one cell in `num_processes` cooperating processes; returns process 0's rows."""
    if importlib.util.find_spec("accelerate") is None:
        raise UserError(NO_ACCELERATE)
    with tempfile.TemporaryDirectory(prefix="mbert-eval-cell-") as folder:
        job_file, result_file = Path(folder) / "job.pkl", Path(folder) / "result.pkl"
        job_file.write_bytes(pickle.dumps(job))
        env = {**os.environ, "ACCELERATE_USE_CPU": "yes"} if cpu else None
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={num_processes}",
            "-m",
            __name__,
            str(job_file),
            str(result_file),
        ]
        code = subprocess.run(command, env=env).returncode
        if not result_file.is_file():
            raise RuntimeError(
                f"the {num_processes} processes of cell {job.key} failed (exit code {code}); their output is above"
            )
        kind, value = pickle.loads(result_file.read_bytes())
    if kind == "error":
        raise UserError(value)
    if kind == "unfinished":
        raise UnfinishedCell(*value)
    return value


def _process(job_file: str, result_file: str) -> None:
    """One of the cell's processes: join the group (on CPU where `run_cell_on_gpus` asked for it: `PartialState`
    reads no ACCELERATE_USE_CPU itself, and without it the processes would each train the whole cell alone), run
    the cell, process 0 writes the result."""
    from accelerate import PartialState

    state = PartialState(cpu=os.environ.get("ACCELERATE_USE_CPU") == "yes")
    job = pickle.loads(Path(job_file).read_bytes())
    try:
        result = ("rows", _counted(run_cell(job), state.num_processes))
    except UnfinishedCell as err:  # the rows of the targets finished before the failed one come back too
        result = ("unfinished", (str(err), _counted(err.rows, state.num_processes), err.superseding))
    except UserError as err:
        result = ("error", str(err))
    if state.is_main_process:
        Path(result_file).write_bytes(pickle.dumps(result))


def _counted(rows: list[ResultRow], processes: int) -> list[ResultRow]:
    """The rows, each recording how many processes trained its cell."""
    for row in rows:
        row.extra["processes"] = processes
    return rows


if __name__ == "__main__":
    _process(*sys.argv[1:3])
