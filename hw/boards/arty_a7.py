"""Digilent Arty A7 platforms, fixed where amaranth-boards 0.0.21 is wrong for this project.

amaranth-boards 0.0.21 (``amaranth_boards.arty_a7``) has two defects that matter here:

* its ``xadc`` connector spells ``isns5v0_n`` and ``isns0v95_n`` twice each (a Python dict
  literal keeps the last value), so the P pins of the two current-sense inputs are lost and
  the N names point at the P pins;
* it gives the 100T the 35T's ``-1L`` speed grade. The Arty A7-100T carries an
  XC7A100TCSG324-1 (commercial, speed grade -1); only the 35T carries the low-power
  XC7A35TICSG324-1L.

The power-sense nets are on-board nets, not header pins, so they are defined here as
resources (``xadc_vaux``, numbered by their XADC auxiliary channel) and dropped from the
connector. Pins and channels are those of Digilent's Arty A7 master constraints
(``Arty-A7-35-Master.xdc`` / ``Arty-A7-100-Master.xdc`` in github.com/Digilent/digilent-xdc,
section "Power Measurements"), whose comments carry the schematic net names:

========  ===========  ========  ========  =====================================
Channel   Net          P pin     N pin     Bank-15 pin name
========  ===========  ========  ========  =====================================
VAUX1     vsns5v0      C12       B12       IO_L3{P,N}_T0_DQS_AD1{P,N}_15
VAUX9     isns5v0      F13       F14       IO_L5{P,N}_T0_AD9{P,N}_15
VAUX10    isns0v95     A15       A16       IO_L8{P,N}_T1_AD10{P,N}_15
========  ===========  ========  ========  =====================================
"""

from amaranth.build import Attrs, Connector, Pins, Resource, Subsignal
from amaranth_boards import arty_a7 as _upstream

__all__ = ["ArtyA7_35Platform", "ArtyA7_100Platform", "XADC_AUX_PINS"]

#: XADC auxiliary channel -> (schematic net, P pin, N pin); see the module docstring.
XADC_AUX_PINS = {
    1: ("vsns5v0", "C12", "B12"),
    9: ("isns5v0", "F13", "F14"),
    10: ("isns0v95", "A15", "A16"),
}


def _xadc_resources():
    # Raw analog inputs: the XADC primitive takes them straight from the package pins, so
    # designs request them with dir="-" (no fabric buffer of their own).
    return [
        Resource("xadc_vaux", channel,
                 Subsignal("p", Pins(p, dir="i")),
                 Subsignal("n", Pins(n, dir="i")),
                 Attrs(IOSTANDARD="LVCMOS33"))
        for channel, (_, p, n) in XADC_AUX_PINS.items()
    ]


def _fixed_connectors():
    connectors = []
    for conn in _upstream._ArtyA7Platform.connectors:
        if conn.name == "xadc":
            # Keep the header pins; the power-sense nets become the resources above.
            pins = {name: pin for name, pin in conn.mapping.items()
                    if not name.startswith(("vsns", "isns"))}
            conn = Connector("xadc", conn.number, pins)
        connectors.append(conn)
    return connectors


class _ArtyA7Fixed(_upstream._ArtyA7Platform):
    resources = [*_upstream._ArtyA7Platform.resources, *_xadc_resources()]
    connectors = _fixed_connectors()


class ArtyA7_35Platform(_ArtyA7Fixed):
    """Arty A7-35T: XC7A35TICSG324-1L."""
    device = "xc7a35ti"
    package = "csg324"
    speed = "1L"


class ArtyA7_100Platform(_ArtyA7Fixed):
    """Arty A7-100T: XC7A100TCSG324-1."""
    device = "xc7a100t"
    package = "csg324"
    speed = "1"
