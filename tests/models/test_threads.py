"""How many CPU threads torch uses when none is asked for: OMP_NUM_THREADS when set, else the usable CPUs less
the busy ones (load average), within 1 and the physical cores; worked out once per process, without torch."""

import subprocess
import sys

import pytest
import torch

from mbert_eval.models import threads
from mbert_eval.models.threads import default_threads, resolve_threads, use_threads

IDLE = {"cpus": 8, "load": 0.0, "cores": 8}


@pytest.fixture(autouse=True)
def one_thread_after():
    yield
    threads._process_default.cache_clear()
    torch.set_num_threads(1)  # as tests/conftest.py leaves it


@pytest.mark.parametrize("value, expected", [("3", 3), ("6,2", 6), (" 2 ", 2)])
def test_omp_num_threads_is_honoured_whatever_the_load(value, expected):
    assert default_threads({"OMP_NUM_THREADS": value}, cpus=8, load=7.0, cores=8) == expected


@pytest.mark.parametrize("value", ["", "0", "-2", "many", "4097", "99999999999"])
def test_omp_num_threads_that_is_no_count_from_1_to_max_threads_is_ignored(value):
    """Past MAX_THREADS (which --threads refuses too) it overflowed torch's C int: a traceback at the first cell."""
    assert default_threads({"OMP_NUM_THREADS": value}, **IDLE) == 8


def test_the_cpus_already_busy_are_left_alone():
    assert default_threads({}, cpus=8, load=2.6, cores=8) == 5  # 8 usable, 3 busy (2.6 rounded)
    assert default_threads({}, cpus=8, load=2.4, cores=8) == 6


def test_at_least_one_thread_however_busy_the_machine():
    assert default_threads({}, cpus=2, load=5.0, cores=2) == 1
    assert default_threads({}, cpus=2, load=2.0, cores=2) == 1


def test_at_most_the_physical_cores_and_the_usable_cpus():
    assert default_threads({}, cpus=16, load=0.0, cores=8) == 8  # hyperthreads add little to matrix products
    assert default_threads({}, cpus=4, load=0.0, cores=8) == 4  # an affinity mask (taskset, cpuset) of 4 CPUs


def test_a_thread_count_asked_for_wins(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert resolve_threads(2) == 2
    assert resolve_threads(None) == 4


def test_the_default_is_worked_out_once_per_process(monkeypatch):
    """Before the process's own work adds to the load average: a later cell keeps the first cell's count."""
    threads._process_default.cache_clear()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert resolve_threads() == 3


def test_use_threads_sets_torchs_count():
    assert use_threads(2) == 2 and torch.get_num_threads() == 2
    assert use_threads() == 1 and torch.get_num_threads() == 1  # OMP_NUM_THREADS=1 in tests/conftest.py


def test_the_default_is_decided_without_importing_torch():
    code = "import sys; from mbert_eval.models.threads import resolve_threads; resolve_threads(); print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
