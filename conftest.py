"""Groups for running the suite on several workers (``scripts/test`` runs
``pytest -n 2 --dist loadgroup``): tests that build into the same folder share a worker.

* A cocotb bench builds its simulator into ``build/sim/<design>-<simulator>``: the tests of
  one file and one simulator run on one worker, one after the other. The engine's two
  benches (sim/test_engine.py, sim/test_engine_models.py) share their builds, so they
  share a worker too.
* The virtual board is built once into ``build/virtual_board`` by whichever test needs it
  first (the tests that take the ``verilator`` fixture): they share a worker too.
"""

import pytest

_ENGINE_BENCHES = ("test_engine.py", "test_engine_models.py")


# First: pytest-xdist's own hook reads the groups to schedule by.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.path.relative_to(config.rootpath)
        if path.parts[0] == "sim":
            callspec = getattr(item, "callspec", None)
            simulator = callspec.params.get("simulator", "") if callspec else ""
            name = "engine" if path.name in _ENGINE_BENCHES else path.name
            item.add_marker(pytest.mark.xdist_group(f"{name}:{simulator}"))
        elif "verilator" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("virtual_board"))
