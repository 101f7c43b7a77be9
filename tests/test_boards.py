"""The project's Arty A7 platforms: pins, part numbers, resource names, elaboration."""

import pytest
from amaranth.hdl import Cat, Elaboratable, IOBufferInstance, Module, Signal
from amaranth.lib import io

from hw.boards.arty_a7 import ArtyA7_100Platform, ArtyA7_35Platform
from sw import toolchain

# From Digilent's Arty-A7-35-Master.xdc / Arty-A7-100-Master.xdc, "Power Measurements":
# isns0v95 on IO_L8{P,N}_T1_AD10{P,N}_15, isns5v0 on IO_L5{P,N}_T0_AD9{P,N}_15,
# vsns5v0 on IO_L3{P,N}_T0_DQS_AD1{P,N}_15.
SCHEMATIC = {10: ("A15", "A16"), 9: ("F13", "F14"), 1: ("C12", "B12")}

PLATFORMS = [ArtyA7_35Platform, ArtyA7_100Platform]


def pin_names(resource, subsignal):
    sub = next(s for s in resource.ios if getattr(s, "name", None) == subsignal)
    return sub.ios[0].names


@pytest.mark.parametrize("cls", PLATFORMS)
def test_xadc_pins_are_the_schematics(cls):
    platform = cls()
    for channel, (p, n) in SCHEMATIC.items():
        resource = platform.resources["xadc_vaux", channel]
        assert pin_names(resource, "p") == [p]
        assert pin_names(resource, "n") == [n]


def test_parts():
    # Arty A7-100T: XC7A100TCSG324-1; Arty A7-35T: XC7A35TICSG324-1L.
    assert ArtyA7_100Platform()._part == "xc7a100tcsg324-1"
    assert ArtyA7_35Platform()._part == "xc7a35ticsg324-1L"
    assert ArtyA7_100Platform().family == "series7"


@pytest.mark.parametrize("cls", PLATFORMS)
def test_resource_names_unique_and_sense_pins_single_use(cls):
    keys = [(r.name, r.number) for r in cls.resources]
    assert len(keys) == len(set(keys))
    sense = {pin for pins in SCHEMATIC.values() for pin in pins}
    # No other resource or connector claims a sense pin.
    for r in cls.resources:
        if r.name == "xadc_vaux":
            continue
        for sub in r.ios:
            for pins in getattr(sub, "ios", [sub]):
                names = getattr(pins, "names", None) or []
                if hasattr(pins, "p"):
                    names = pins.p.names + pins.n.names
                assert not sense & set(names), (r.name, r.number)
    for conn in cls.connectors:
        pins = [pin for pin in conn.mapping.values() if pin != "-"]
        assert len(pins) == len(set(pins)), conn.name
        assert not sense & set(pins), conn.name
        if conn.name == "xadc":
            for key in conn.mapping:
                if key.endswith("_p"):
                    assert key[:-2] + "_n" in conn.mapping


class _Probe(Elaboratable):
    """Toggles an LED and reads the raw sense pins through plain connections."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        bits = []
        for channel in SCHEMATIC:
            pins = platform.request("xadc_vaux", channel, dir="-")
            for port in (pins.p, pins.n):
                bits.append(Signal())
                m.submodules += IOBufferInstance(port.io, i=bits[-1])
        m.d.sync += led.o.eq(Cat(*bits).xor())
        return m


@pytest.mark.parametrize("cls", PLATFORMS)
def test_small_design_elaborates(cls):
    toolchain.configure()
    plan = cls().prepare(_Probe(), name="probe")
    xdc = plan.files["probe.xdc"]
    for channel, (p, n) in SCHEMATIC.items():
        assert f"set_property LOC {p} [get_ports \"xadc_vaux_{channel}__p__io\"]" in xdc
        assert f"set_property LOC {n} [get_ports \"xadc_vaux_{channel}__n__io\"]" in xdc
    tcl = plan.files["probe.tcl"]
    assert cls()._part in tcl
