"""Helpers shared by the tests (tests/) and the cocotb benches (sim/): engine drivers for
amaranth.sim, layer cases, loaders, epilogue vectors, small networks, the cocotb runner.

Product code (sw/, hw/) never imports this package; the import contract checks it.
"""
