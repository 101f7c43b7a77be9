"""Build and start the virtual board (hw/virtual/harness.cpp around the verilated System).

The executable is built once per design: its folder under ``build/virtual_board`` is named
by a hash of the Verilog, the harness and the Verilator version, so a change to any of them
builds anew and an unchanged design starts at once.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sw.toolchain import configure

__all__ = ["DEFAULT_DIVISOR", "build_virtual_board", "VirtualBoard"]

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("harness.cpp")

#: Clock cycles per UART bit on the virtual board. The Arty build uses 25 (4 MBd at
#: 100 MHz); simulating every one of those cycles would make loading a program take
#: minutes, so the virtual board runs the same design with a faster UART (25 MBd at
#: 100 MHz) and says so in its HELLO. Nothing else differs.
DEFAULT_DIVISOR = 4


def _verilator_version():
    out = subprocess.run(["verilator", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def build_virtual_board(config=None, *, divisor=DEFAULT_DIVISOR, build_root=None, log=None):
    """Build (or find already built) the virtual board's executable; return its path.

    Parameters
    ----------
    config : sw.mapping.boards.BoardConfig, optional
        The device; ``BOARDS["virtual"]`` unless given.
    divisor : int
        Clock cycles per UART bit.
    build_root : path, optional
        Where builds are kept (``build/virtual_board``).
    log : callable, optional
        Takes the progress messages (default: print them to stderr).
    """
    configure()
    from amaranth.back import verilog

    from sw.mapping.boards import board_config
    from hw.board.system import System

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    config = config or board_config("virtual")
    text = verilog.convert(System(config, divisor=divisor), name="top", emit_src=False)
    digest = hashlib.sha256()
    for part in (text, HARNESS.read_text(), _verilator_version()):
        digest.update(part.encode())
    root = Path(build_root or ROOT / "build" / "virtual_board")
    final = root / f"{config.name}-d{divisor}-{digest.hexdigest()[:12]}"
    exe = final / "vboard"
    if exe.exists():
        return exe

    root.mkdir(parents=True, exist_ok=True)
    log(f"building the virtual board ({config.name}, {config.lanes} lanes) with Verilator; "
        "this takes a few minutes once")
    work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        (work / "top.v").write_text(text)
        shutil.copy(HARNESS, work / "harness.cpp")
        env = dict(os.environ)
        # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (see testsupport/runner.py).
        env["MAKEFLAGS"] = " ".join(filter(None, [env.get("MAKEFLAGS"),
                                                  "CFG_CXXFLAGS_PCH_I=-include"]))
        cmd = ["verilator", "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint",
               "--top-module", "top", "-j", str(min(2, os.cpu_count() or 1)),
               "--x-assign", "fast", "--x-initial", "fast",
               "-CFLAGS", "-O2", "-o", "vboard", "top.v", "harness.cpp"]
        started = time.monotonic()
        result = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        if result.returncode:
            (work / "build.log").write_text(result.stdout + result.stderr)
            raise RuntimeError(f"Verilator failed to build the virtual board; its log is "
                               f"{work / 'build.log'}:\n{result.stderr[-2000:]}")
        shutil.copy(work / "obj_dir" / "vboard", work / "vboard")
        shutil.rmtree(work / "obj_dir")
        try:
            work.rename(final)
        except OSError:
            # Another process finished the same build first: its executable is the same.
            if not exe.exists():
                raise
        else:
            log(f"virtual board built in {time.monotonic() - started:.0f} s: {exe}")
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return exe


class VirtualBoard:
    """A running virtual board; ``url`` is its ``socket://`` address.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, config=None, *, port=0, divisor=DEFAULT_DIVISOR, log=None):
        from sw import spec
        exe = build_virtual_board(config, divisor=divisor, log=log)
        # Keep the clock running past the frame receiver's timeout before sleeping.
        settle = (spec.LINK_TIMEOUT_BYTES + 8) * 10 * divisor
        self.process = subprocess.Popen([str(exe), "--port", str(port), "--divisor",
                                         str(divisor), "--settle", str(settle)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline().strip()
        prefix = "listening on "
        if not line.startswith(prefix):
            err = self.process.stderr.read() if self.process.poll() is not None else ""
            self.close()
            raise RuntimeError(f"the virtual board did not start: {line!r} {err}")
        self.url = line[len(prefix):]
        # Keep reading its pipes so a chatty harness can never block on a full pipe.
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(target=stream.read, daemon=True).start()

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
