"""What `executor: ray` needs before any cell runs, checked without importing Ray or torch: Ray installed,
accelerate where a cell asks for several GPUs (`multi_gpu`), an address that is well formed and answers.
`validate` reports these (`ray_problems`), and `RayExecutor.connect` enforces them when the run starts."""

from __future__ import annotations

import importlib.util
import socket

from mbert_eval.config.experiment import RayConfig
from mbert_eval.errors import UserError

INSTALL_HINT = "pip install 'mbert-eval[ray]'"
NOT_INSTALLED = f"executor 'ray' needs Ray, which is not installed: {INSTALL_HINT}"
NO_ACCELERATE = f"a cell on several GPUs needs accelerate, which is not installed: {INSTALL_HINT}"
CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str | None, timeout: float | None = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, in one line, when a HOST:PORT (or ray://HOST:PORT) address is malformed or, unless `timeout`
    is None, does not answer within `timeout` seconds (`ray.init` would wait minutes)."""
    if address in (None, "auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"bad Ray address '{address}': use auto, local, HOST:PORT or ray://HOST:PORT")
    if timeout is None:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UserError(
            f"cannot reach the Ray cluster at {address} ({reason}); is `ray start --head` running there?"
        ) from None


def ray_problems(ray: RayConfig, check_network: bool = True) -> list[str]:
    """What stops a run on Ray before its first cell; with `check_network`, also an address that does not
    answer."""
    problems = []
    if importlib.util.find_spec("ray") is None:
        problems.append(NOT_INSTALLED)
    if ray.num_gpus > 1 and importlib.util.find_spec("accelerate") is None:
        problems.append(f"ray.num_gpus: {NO_ACCELERATE}")
    try:
        check_reachable(ray.address, CONNECT_TIMEOUT_S if check_network else None)
    except UserError as err:
        problems.append(f"ray.address: {err}")
    return problems
