"""Cells on a Ray cluster: one Ray task per cell with its resource request; rows come back to the driver.

`RayExecutor.map` submits cells as Ray tasks, each asking for `num_cpus_per_cell` CPUs and
`num_gpus_per_cell` GPUs (Ray sets CUDA_VISIBLE_DEVICES in the worker, so `device: auto` finds
its GPU), as many at a time as the cluster's resources fit at once (read again as each cell ends), and
yields each cell's rows as its task completes (`ray.wait`); the driver alone writes the store, one
transaction per cell, as with the local executor.

Failures: a task whose worker process dies (a crash, an out-of-memory kill, a lost node) is retried
up to `max_retries` times (Ray's retries of system failures); an exception raised by the cell
itself (bad data, a user error) is not retried. A failed cell is yielded with its error and the run
stops (`stop()`): no further cell is submitted, and the cells already running finish and are yielded,
so that their work is stored, not lost; an interrupt cancels them. Rows only come back from an
attempt that finished, and the store keys rows by (cell, target, metric), so a retried cell is never
stored twice.

Addresses: None (RAY_ADDRESS, else the cluster last started on this machine, else a new local
instance), "auto" (an existing cluster, else an error), "local" (a new local instance), HOST:PORT
(the head's GCS port, 6379 by default) or ray://HOST:PORT (Ray Client, needs `ray[client]`). A
HOST:PORT that does not answer within 5 seconds, or answers but is no Ray cluster's GCS (the dashboard's
port 8265, say), is an error within seconds (`ray.init` would wait minutes), and `validate` refuses it too
(`ray_checks`), as it refuses a missing Ray.
Every node needs mbert-eval installed and must see the driver's paths (data files, local models,
the output folder): use a shared filesystem or Hub names. A cell asking for several GPUs runs as
one process per GPU inside its task (`multi_gpu.run_cell_on_gpus`).

One Ray connection per process: a run that connects (or starts a local instance) shuts Ray down when it ends,
so that the next run joins the cluster its own config names. Where the caller has already called `ray.init`,
its connection is used when the config's address is None or "auto", or a HOST:PORT naming that same cluster;
any other address ("local", another cluster, a ray:// address) is refused in one line rather than silently
run on the caller's cluster, and the caller's connection is left open.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

from tqdm.auto import tqdm

from mbert_eval.errors import UserError
from mbert_eval.grid.executors.local import CellOutcome
from mbert_eval.grid.executors.multi_gpu import run_cell_on_gpus
from mbert_eval.grid.executors.ray_checks import NOT_INSTALLED, check_reachable
from mbert_eval.grid.job import CellJob, run_cell
from mbert_eval.models.progress import QUIET
from mbert_eval.store.results import ResultRow


def import_ray() -> Any:
    """The `ray` module, or a one-line UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(NOT_INSTALLED) from None
    return ray


def _call(function: Callable[[CellJob], list[ResultRow]], job: CellJob) -> list[ResultRow]:
    """The body of every Ray task: run one cell where Ray placed it."""
    return function(job)


class RayExecutor:
    """Runs each cell as a Ray task and yields (job, rows or error) in completion order.

    `cell_function` is what each task runs: by default `run_cell`, or, for cells asking for more
    than one GPU, `run_cell_on_gpus` with one process per GPU (tests pass a wrapper that crashes).
    """

    def __init__(
        self,
        address: str | None = None,
        num_gpus_per_cell: float = 0.0,
        num_cpus_per_cell: float = 1.0,
        max_retries: int = 3,
        cell_function: Callable[[CellJob], list[ResultRow]] | None = None,
    ) -> None:
        if num_gpus_per_cell > 1 and not float(num_gpus_per_cell).is_integer():
            raise UserError(f"ray.num_gpus: more than one GPU per cell must be a whole number, got {num_gpus_per_cell}")
        self.address = address
        self.num_gpus = num_gpus_per_cell
        self.num_cpus = num_cpus_per_cell
        self.max_retries = max_retries
        self.stopped = False
        self.running = 0  # while `map` yields a cell: the others submitted and not yet yielded
        self.cell_function = cell_function or (
            functools.partial(run_cell_on_gpus, num_processes=int(num_gpus_per_cell))
            if num_gpus_per_cell > 1
            else run_cell
        )

    def connect(self) -> tuple[Any, bool]:
        """Join the cluster `address` names, or check that the caller's Ray connection is to that cluster
        (`check_callers_cluster`); returns `ray` and whether this call started Ray (then `map` shuts it down)."""
        ray = import_ray()
        if ray.is_initialized():
            self.check_callers_cluster(ray)
            return ray, False
        check_reachable(self.address)
        try:
            ray.init(address=self.address, include_dashboard=False)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise UserError(f"cannot connect to the Ray cluster at {self.address or 'default'}: {first}") from None
        return ray, True

    def check_callers_cluster(self, ray: Any) -> None:
        """Refuse, in one line, to run on the Ray connection the caller opened when `address` names another
        cluster: None and "auto" take the caller's, a HOST:PORT must name its GCS, "local" (a new instance) and
        ray:// addresses never match."""
        if self.address in (None, "auto"):
            return
        current = ray.get_runtime_context().gcs_address
        if self.address != "local" and not self.address.startswith("ray://"):
            check_reachable(self.address, check_network=False)  # a malformed address says so first
            if gcs_address(self.address) == current:
                return
        raise UserError(
            f"ray.address is {self.address} but this process is already connected to the Ray cluster at {current}: "
            "leave ray.address out to run there, or call ray.shutdown() first"
        )

    def check_fits(self, ray: Any) -> None:
        """Refuse, in one line, a cell that asks for more CPUs or GPUs than the whole cluster has."""
        total = ray.cluster_resources()
        for name, need in (("GPU", self.num_gpus), ("CPU", self.num_cpus)):
            if need > total.get(name, 0):
                raise UserError(
                    f"each cell asks for {need:g} {name}s but the Ray cluster has "
                    f"{total.get(name, 0):g}; lower ray.num_{name.lower()}s"
                )

    def capacity(self, ray: Any) -> int:
        """How many cells the cluster's resources fit at once (at least one: `check_fits` checked that one fits)."""
        total = ray.cluster_resources()
        needs = (("CPU", self.num_cpus), ("GPU", self.num_gpus))
        return max(1, min(int(total.get(name, 0) / need + 1e-9) for name, need in needs if need > 0))

    def stop(self) -> None:
        """Submit no further cell; those already submitted finish and are still yielded (`map`)."""
        if not self.stopped and self.running:
            cells = "1 cell" if self.running == 1 else f"{self.running} cells"
            tqdm.write(f"waiting for {cells} already started to finish (Ctrl-C stops them)", file=sys.stderr)
        self.stopped = True

    def task_options(self) -> dict[str, Any]:
        """What each cell's Ray task asks for: its resources, retries of a dead worker only, and the driver's
        TQDM_DISABLE (set by `-q`: `api.hidden_progress`), so that workers draw no progress bars either."""
        options: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_retries": self.max_retries,
            "retry_exceptions": False,
        }
        if QUIET in os.environ:
            options["runtime_env"] = {"env_vars": {QUIET: os.environ[QUIET]}}
        return options

    def map(self, jobs: list[CellJob]) -> Iterator[tuple[CellJob, CellOutcome]]:
        """Submit cells as the cluster fits them and yield each one's rows, or its error, as its task finishes;
        after `stop()`, only the cells already submitted. Ray is shut down at the end if `connect` started it."""
        if not jobs:
            return
        ray, started = self.connect()
        waiting, pending = list(reversed(jobs)), {}
        self.stopped = False
        try:
            self.check_fits(ray)
            task = ray.remote(_call).options(**self.task_options())
            while pending or (waiting and not self.stopped):
                fits = self.capacity(ray) if waiting and not self.stopped else 0  # a cluster may grow during a run
                while waiting and not self.stopped and len(pending) < fits:
                    job = waiting.pop()
                    pending[task.remote(self.cell_function, job)] = job
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ref)
                self.running = len(pending)
                try:
                    outcome: CellOutcome = ray.get(ref)
                except ray.exceptions.RayTaskError as err:  # the cell's own exception, as the local executor gives it
                    outcome = err.cause if isinstance(err.cause, UserError) else err
                except ray.exceptions.RayError as err:  # its worker died once more than retried, or the like
                    outcome = err
                yield job, outcome
        finally:
            self.running = 0
            for ref in pending:  # an interrupt (or a run that ended otherwise): stop what is still running
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def gcs_address(address: str) -> str:
    """The IP:PORT of the GCS that HOST:PORT `address` names, as `ray.get_runtime_context().gcs_address` gives
    it: resolved as `ray.init` resolves it (localhost and 127.0.0.1: this node's IP), and a host name to its IP."""
    from ray._private.services import canonicalize_bootstrap_address

    host, _, port = canonicalize_bootstrap_address(address).rpartition(":")
    try:
        host = socket.gethostbyname(host)
    except OSError:  # not a name this machine resolves: compared as written
        pass
    return f"{host}:{port}"
