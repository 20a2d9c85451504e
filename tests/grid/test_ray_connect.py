"""Joining a Ray cluster: an address that accepts connections but is no Ray cluster (the dashboard's port, say) is
refused in seconds by `run` and `validate` alike; a run that started Ray shuts it down when it ends; a caller's
own Ray connection is used only where the config names no other cluster."""

import importlib.util
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mbert_eval.config.experiment import RayConfig
from mbert_eval.errors import UserError
from mbert_eval.grid.executors import ray_checks
from mbert_eval.grid.executors.ray_checks import ray_problems
from mbert_eval.grid.executors.ray_executor import RayExecutor

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is an optional extra: pip install -e '.[ray]'"
)


@pytest.fixture
def not_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """HOST:PORT of a listener that accepts connections and never answers (as the dashboard's port does not answer
    Ray's GCS client), with the deadline of a connection attempt cut to 1 second."""
    monkeypatch.setattr(ray_checks, "CONNECT_TIMEOUT_S", 1)
    listener = socket.create_server(("", 0))  # every interface: 127.0.0.1 and the address Ray resolves it to
    accepted = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:  # closed
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in accepted:
        connection.close()


def error_within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """What `call` raises (None if nothing), failing the test if it has not returned after `seconds`."""
    raised: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            raised.append(None)
        except BaseException as err:  # handed to the test, whatever it is
            raised.append(err)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if not raised:
        pytest.fail(f"still waiting after {seconds} seconds")
    return raised[0]


@needs_ray
def test_run_refuses_an_address_that_is_no_ray_cluster_in_seconds(not_ray):
    import ray

    assert not ray.is_initialized()
    started = time.monotonic()
    error = error_within(30, RayExecutor(address=not_ray).connect)
    assert time.monotonic() - started < 15
    assert isinstance(error, UserError), error
    message = str(error)
    assert f"cannot connect to the Ray cluster at {not_ray}" in message and "6379" in message and "\n" not in message
    assert not ray.is_initialized()


@needs_ray
def test_validate_refuses_an_address_that_is_no_ray_cluster(not_ray):
    (problem,) = ray_problems(RayConfig(address=not_ray))
    assert problem.startswith(f"ray.address: cannot connect to the Ray cluster at {not_ray}") and "6379" in problem
    assert ray_problems(RayConfig(address=not_ray), check_network=False) == []


@needs_ray
@pytest.mark.parametrize("address", [None, "auto"])
def test_an_address_left_to_ray_address_is_checked_as_ray_joins_it(
    address: str | None, not_ray: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ray.init` joins the environment's RAY_ADDRESS where no address (or `auto`) is given: one that was no Ray
    cluster passed `validate` and kept `run` waiting for minutes."""
    monkeypatch.setenv("RAY_ADDRESS", not_ray)
    (problem,) = ray_problems(RayConfig(address=address))
    assert problem.startswith(f"ray.address: cannot connect to the Ray cluster at {not_ray}"), problem
    assert "the environment's RAY_ADDRESS" in problem and "\n" not in problem
    error = error_within(30, RayExecutor(address=address).connect)
    assert isinstance(error, UserError) and "the environment's RAY_ADDRESS" in str(error), error
    monkeypatch.setenv("RAY_ADDRESS", "bad")
    (problem,) = ray_problems(RayConfig(address=address), check_network=False)
    assert problem.startswith("ray.address: bad Ray address 'bad'") and "RAY_ADDRESS" in problem
    for left_to_ray in ("", "auto", "local"):
        monkeypatch.setenv("RAY_ADDRESS", left_to_ray)
        assert ray_problems(RayConfig(address=address), check_network=False) == []


@needs_ray
@pytest.mark.slow
def test_a_run_that_started_ray_shuts_it_down_and_the_next_one_joins_its_own_address():
    import ray

    assert not ray.is_initialized()
    outcomes = RayExecutor(address="local", cell_function=str.upper).map(["a", "b"])
    assert sorted(outcomes) == [("a", "A"), ("b", "B")]
    assert not ray.is_initialized()
    with pytest.raises(UserError, match="each cell asks for 1 GPUs"):  # refused after Ray started: shut down too
        list(RayExecutor(address="local", num_gpus_per_cell=1).map(["a"]))
    assert not ray.is_initialized()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UserError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        RayExecutor(address=f"127.0.0.1:{port}").connect()


@needs_ray
@pytest.mark.slow
def test_a_callers_ray_is_used_unless_the_config_names_another_cluster():
    import ray

    ray.init(
        address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024**2
    )
    try:
        gcs = ray.get_runtime_context().gcs_address
        port = int(gcs.rpartition(":")[2])
        for address in (f"127.0.0.1:{port + 1}", "local", f"ray://127.0.0.1:{port}"):
            with pytest.raises(UserError) as caught:
                RayExecutor(address=address).connect()
            message = str(caught.value)
            assert f"already connected to the Ray cluster at {gcs}" in message and "\n" not in message, message
        for address in (None, "auto", gcs, f"127.0.0.1:{port}", f"localhost:{port}"):
            assert RayExecutor(address=address).connect() == (ray, False), address
        assert list(RayExecutor(cell_function=str.upper).map(["a"])) == [("a", "A")]
        assert ray.is_initialized()  # the caller's Ray: the caller shuts it down
    finally:
        ray.shutdown()
