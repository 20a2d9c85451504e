"""What `executor: ray` needs before any cell runs, checked without importing Ray or torch: Ray installed,
accelerate where a cell asks for several GPUs (`multi_gpu`), an address that is well formed, answers, and is a
Ray cluster's GCS. `validate` reports these (`ray_problems`), and `RayExecutor.connect` enforces them when the
run starts."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

from mbert_eval.config.experiment import RayConfig
from mbert_eval.errors import UserError, cut

INSTALL_HINT = "pip install 'mbert-eval[ray]'"
NOT_INSTALLED = f"executor 'ray' needs Ray, which is not installed: {INSTALL_HINT}"
NO_ACCELERATE = f"a cell on several GPUs needs accelerate, which is not installed: {INSTALL_HINT}"
CONNECT_TIMEOUT_S = 5  # whole seconds: Ray's own settings of it (`check_gcs`) take no fractions
PROBE_START_S = 20  # on top: a Python process starting and importing Ray, on a busy machine
GCS_PORT_HINT = "use the head's GCS port (6379 by default; 8265 is the dashboard's)"
# Ray's GCS client, as `ray.init` makes it: it waits `RAY_py_gcs_connect_timeout_s` for the cluster's answer,
# after `RAY_gcs_rpc_server_connect_timeout_s` for each of its two channels to connect (0: no wait, only a warning)
GCS_PROBE = """import sys
try:
    from ray._raylet import GcsClient
except ImportError:  # a Ray whose client moved: left to ray.init, as before this check
    sys.exit(0)
try:
    GcsClient(address=sys.argv[1])
except Exception as err:
    print(err)
    sys.exit(1)
"""


def check_reachable(address: str | None, check_network: bool = True) -> None:
    """Fail fast, in one line, when a HOST:PORT (or ray://HOST:PORT) address is malformed or, with
    `check_network`, does not answer within `CONNECT_TIMEOUT_S` seconds or (HOST:PORT, with Ray installed)
    answers but is no Ray cluster's GCS (`check_gcs`): `ray.init` would wait minutes. An address left out or
    `auto` is the environment's `RAY_ADDRESS` where that is set, as `ray.init` reads it."""
    if address in (None, "auto") and os.environ.get("RAY_ADDRESS", "") not in ("", "auto", "local"):
        try:
            check_reachable(os.environ["RAY_ADDRESS"], check_network)
        except UserError as err:
            raise UserError(
                f"{err} (the environment's RAY_ADDRESS, which Ray joins where ray.address is left out or auto)"
            ) from None
        return
    if address in (None, "auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"bad Ray address '{address}': use auto, local, HOST:PORT or ray://HOST:PORT")
    if not check_network:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UserError(
            f"cannot reach the Ray cluster at {address} ({reason}); is `ray start --head` running there?"
        ) from None
    if not address.startswith("ray://") and importlib.util.find_spec("ray") is not None:
        check_gcs(address)


def check_gcs(address: str) -> None:
    """Fail, in one line, unless a Ray cluster's GCS answers at HOST:PORT `address` within `CONNECT_TIMEOUT_S`
    seconds: anything else that accepts connections there (the dashboard's port, say) keeps `ray.init` retrying
    for minutes. Ray's client asks in a process of its own, its deadlines set in that process's environment
    only (Ray reads them once per process), and is killed if it outlives them."""
    environment = {
        **os.environ,
        "RAY_gcs_rpc_server_connect_timeout_s": "0",
        "RAY_py_gcs_connect_timeout_s": str(CONNECT_TIMEOUT_S),
    }
    try:
        probe = subprocess.run(
            [sys.executable, "-c", GCS_PROBE, address],
            capture_output=True,
            text=True,
            env=environment,
            timeout=CONNECT_TIMEOUT_S + PROBE_START_S,
        )
    except subprocess.TimeoutExpired:
        reason = f"no answer within {CONNECT_TIMEOUT_S + PROBE_START_S} seconds"
    else:
        if probe.returncode == 0:
            return
        reason = _last_line(probe.stdout) or _last_line(probe.stderr) or f"exit status {probe.returncode}"
    raise UserError(
        f"cannot connect to the Ray cluster at {address}: it accepts connections but no Ray GCS answers there "
        f"({cut(reason)}); {GCS_PORT_HINT}"
    )


def _last_line(text: str) -> str:
    """The last line of `text` with anything in it, without surrounding spaces or a closing full stop ('' if
    none): a reason inside a message."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1].rstrip(".") if lines else ""


def ray_problems(ray: RayConfig, check_network: bool = True) -> list[str]:
    """What stops a run on Ray before its first cell; with `check_network`, also an address that does not
    answer or is no Ray cluster's GCS (seconds, as `RayExecutor.connect` checks it)."""
    problems = []
    if importlib.util.find_spec("ray") is None:
        problems.append(NOT_INSTALLED)
    if ray.num_gpus > 1 and importlib.util.find_spec("accelerate") is None:
        problems.append(f"ray.num_gpus: {NO_ACCELERATE}")
    try:
        check_reachable(ray.address, check_network)
    except UserError as err:
        problems.append(f"ray.address: {err}")
    return problems
