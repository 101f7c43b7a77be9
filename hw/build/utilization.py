"""Read resource counts out of the tools' reports and set them against a device.

* :func:`parse_yosys_stat` reads the cell counts of Yosys's ``stat`` text (flat or
  hierarchical, with or without the area column).
* :func:`xc7_totals` turns ``synth_xilinx`` cells into the resources Vivado's utilization
  report counts (LUT, LUT as memory, FF, CARRY4, DSP48E1, RAMB36 equivalents).
* :func:`parse_nextpnr_log` reads nextpnr's final device utilisation and Fmax per clock.
* :func:`parse_vivado_wns` reads the worst negative slack of Vivado's timing summary.
* :func:`headroom` sets used against available and says whether the design fits.
"""

import dataclasses
import re

__all__ = ["parse_yosys_stat", "xc7_totals", "parse_nextpnr_log", "parse_vivado_wns", "Fmax",
           "Usage",
           "headroom", "fits", "usage_table", "LUTRAM_LUTS", "TIGHT_PERCENT"]

#: LUTs (6-input sites in SLICEMs) that each distributed-RAM or shift-register primitive
#: of the 7 series occupies (UG474, "Distributed RAM" and "Shift Registers": RAM32M and
#: RAM64M are four LUTs of one slice, the dual-port 1-bit RAMs two, RAM128X1D four).
LUTRAM_LUTS = {
    "RAM32M": 4, "RAM64M": 4,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
    "SRL16E": 1, "SRLC32E": 1,
}

#: Flip-flop and latch primitives of the 7 series.
XC7_REGISTERS = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")

#: Above this share of a resource, placement and routing get hard; the report flags it.
TIGHT_PERCENT = 80.0

_CELL_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def parse_yosys_stat(text):
    """Cell counts ``{cell type: count}`` of the whole design from Yosys ``stat`` output.

    Yosys prints one section per module, and for a hierarchical design a last section
    ("design hierarchy") whose counts include the submodules; the last section is
    therefore the whole design in both cases. Only primitive cells (upper-case names such
    as ``LUT6`` or ``DP16KD``) are counted; module instances and the ``wires``/``cells``
    summary lines are not.

    Parameters
    ----------
    text : str
        What ``tee -o FILE stat`` wrote.

    Returns
    -------
    dict of str to int

    Raises
    ------
    ValueError
        When the text holds no ``===`` section (not a ``stat`` report).
    """
    sections = re.split(r"^\s*===.*===\s*$", text, flags=re.M)
    if len(sections) < 2:
        raise ValueError("not a yosys stat report: no '=== module ===' section found")
    cells = {}
    for line in sections[-1].splitlines():
        parts = line.split()
        # "<count> <CELL>" (no liberty) or "<count> <area> <CELL>".
        if len(parts) in (2, 3) and parts[0].isdigit() and _CELL_NAME.fullmatch(parts[-1]):
            cells[parts[-1]] = cells.get(parts[-1], 0) + int(parts[0])
    return cells


def xc7_totals(cells):
    """Resources of a ``synth_xilinx -family xc7`` netlist, as Vivado's report counts them.

    ``LUT`` is LUTs as logic (``LUT1`` to ``LUT6`` and ``INV``, which is a LUT1 on the
    device) plus LUTs as memory (:data:`LUTRAM_LUTS`); ``RAMB36`` counts a ``RAMB18E1`` as
    half a block. Vivado packs some LUT pairs into one site, so its count can be lower.

    Parameters
    ----------
    cells : dict of str to int
        From :func:`parse_yosys_stat`.

    Returns
    -------
    dict
        ``LUT``, ``LUT as memory``, ``FF``, ``CARRY4``, ``DSP48E1``, ``RAMB36`` (a float),
        ``RAMB36E1`` and ``RAMB18E1`` (the raw block counts).
    """
    logic = sum(n for k, n in cells.items() if re.fullmatch(r"LUT[1-6]", k)) + cells.get("INV", 0)
    memory = sum(cells.get(k, 0) * luts for k, luts in LUTRAM_LUTS.items())
    return {
        "LUT": logic + memory,
        "LUT as memory": memory,
        "FF": sum(cells.get(k, 0) for k in XC7_REGISTERS),
        "CARRY4": cells.get("CARRY4", 0),
        "DSP48E1": cells.get("DSP48E1", 0),
        "RAMB36": cells.get("RAMB36E1", 0) + cells.get("RAMB18E1", 0) / 2,
        "RAMB36E1": cells.get("RAMB36E1", 0),
        "RAMB18E1": cells.get("RAMB18E1", 0),
    }


@dataclasses.dataclass(frozen=True)
class Fmax:
    """nextpnr's verdict for one clock: the frequency reached and the one constrained."""
    clock: str
    mhz: float
    target_mhz: float | None
    passed: bool


_UTIL_LINE = re.compile(r"^Info:\s+([A-Za-z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")
_FMAX_LINE = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz"
                        r"(?:\s+\((PASS|FAIL) at ([\d.]+) MHz\))?")


def parse_nextpnr_log(text):
    """Final device utilisation and Fmax from a nextpnr log (``--log FILE``).

    nextpnr prints an Fmax estimate after placement and the final one after routing, so
    the last line for each clock wins; likewise for the last "Device utilisation" block.

    Returns
    -------
    utilisation : dict of str to (int, int)
        ``{bel type: (used, available)}``.
    fmax : dict of str to Fmax
        Keyed by clock net name.

    Raises
    ------
    ValueError
        When the log holds no "Device utilisation" block (placement did not run).
    """
    blocks = text.split("Device utilisation:")
    if len(blocks) < 2:
        raise ValueError("not a nextpnr log: no 'Device utilisation:' block found")
    utilisation = {}
    for line in blocks[-1].splitlines()[1:]:
        match = _UTIL_LINE.match(line)
        if match:
            utilisation[match[1]] = (int(match[2]), int(match[3]))
        elif utilisation and not line.strip():
            break
    fmax = {}
    for match in _FMAX_LINE.finditer(text):
        target = float(match[4]) if match[4] else None
        fmax[match[1]] = Fmax(match[1], float(match[2]), target,
                              match[3] != "FAIL" if match[3] else True)
    return utilisation, fmax


def parse_vivado_wns(text):
    """Worst negative slack (ns) from Vivado's ``report_timing_summary``, or None.

    The "Design Timing Summary" prints a header row starting ``WNS(ns)``, a row of dashes,
    then the values; WNS is the first. ``inf`` (no constrained path) gives None.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.split()[:1] == ["WNS(ns)"]:
            for row in lines[i + 1:i + 4]:
                fields = row.split()
                if fields and not set(fields[0]) <= {"-"}:
                    try:
                        value = float(fields[0])
                    except ValueError:
                        return None
                    return None if value in (float("inf"), float("-inf")) else value
    return None


@dataclasses.dataclass(frozen=True)
class Usage:
    """One resource: used against available."""
    resource: str
    used: float
    available: int

    @property
    def percent(self):
        """Share used, in percent."""
        return 100.0 * self.used / self.available

    @property
    def headroom_percent(self):
        """Share left free, in percent (negative when over)."""
        return 100.0 - self.percent

    @property
    def fits(self):
        return self.used <= self.available

    @property
    def tight(self):
        return self.percent > TIGHT_PERCENT


def headroom(totals, resources):
    """One :class:`Usage` for each resource of ``resources`` (in its order).

    Parameters
    ----------
    totals : dict
        Used counts, e.g. from :func:`xc7_totals`.
    resources : dict of str to int
        Available counts of the device.
    """
    return [Usage(name, totals.get(name, 0), available)
            for name, available in resources.items()]


def fits(usages):
    """True when every resource is within what the device has."""
    return all(u.fits for u in usages)


def usage_table(usages):
    """Markdown table of :func:`headroom`'s rows."""
    lines = ["| resource | used | available | used % | headroom % |",
             "|---|---:|---:|---:|---:|"]
    for u in usages:
        flag = " (over)" if not u.fits else " (tight)" if u.tight else ""
        lines.append(f"| {u.resource} | {u.used:g} | {u.available} | {u.percent:.1f}{flag} | "
                     f"{u.headroom_percent:.1f} |")
    return "\n".join(lines)
