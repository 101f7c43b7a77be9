"""XADC: register values against UG480's fields, the DRP reader in simulation, and the
primitive's instantiation on the Arty platform (no Vivado needed)."""

import pytest
from amaranth.hdl import Elaboratable, Fragment, Module
from amaranth.lib import io
from amaranth.sim import Simulator

from hw.boards.arty_a7 import ArtyA7_35Platform
from hw.power.drp_reader import DRPReader
from hw.power.xadc import XADC, XADC_INIT
from sw import spec, toolchain

# UG480 "Status Registers": temperature at 00h, VCCINT at 01h, VAUX[n] at 10h + n.
STATUS_ADDR = {"vccint": 0x01, "isns0v95": 0x1A, "vsns5v0": 0x11, "isns5v0": 0x19,
               "temperature": 0x00}


def test_init_registers_decode_to_the_intended_setup():
    conf1 = XADC_INIT[0x41]
    assert conf1 >> 12 == 0b0010                 # SEQ3..0: continuous sequence mode
    assert (conf1 >> 4) & 0xF == 0xF             # CAL0..3: all calibration on
    assert conf1 & 1 == 0                        # over-temperature shutdown kept
    divider = XADC_INIT[0x42] >> 8
    assert 1e6 <= 100e6 / divider <= 26e6        # ADCCLK range at the Arty's 100 MHz
    assert XADC_INIT[0x48] == (1 << 0) | (1 << 8) | (1 << 9)   # calibration, temperature, VCCINT
    assert XADC_INIT[0x49] == (1 << 1) | (1 << 9) | (1 << 10)   # VAUX1, VAUX9, VAUX10
    assert XADC_INIT[0x4C] == XADC_INIT[0x4D] == 0  # unipolar
    assert XADC_INIT[0x40] & (3 << 12) == 0      # no averaging


def test_without_platform_points_to_the_model():
    with pytest.raises(TypeError, match="XADCModel"):
        Fragment.get(XADC(), None)


def test_other_family_is_refused():
    from amaranth_boards.ulx3s import ULX3S_85F_Platform
    with pytest.raises(TypeError, match="7-series"):
        Fragment.get(XADC(), ULX3S_85F_Platform())


class _Top(Elaboratable):
    def elaborate(self, platform):
        m = Module()
        m.submodules.xadc = xadc = XADC()
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += xadc.sample.ready.eq(1)
        m.d.sync += led.o.eq(xadc.sample.payload.code.xor())
        return m


def test_instantiates_primitive_on_arty():
    toolchain.configure()
    plan = ArtyA7_35Platform().prepare(_Top(), name="top")
    verilog = plan.files["top.v"]
    assert "XADC #(" in verilog
    for addr, value in XADC_INIT.items():
        assert f".INIT_{addr:02X}(16'h{value:04x})" in verilog
    # Bits 1, 9 and 10 of VAUXP/VAUXN are the sense pins; the rest tied low.
    assert ".VAUXP({ 5'h00, vaux10_p, vaux9_p, 7'h00, vaux1_p, 1'h0 })" in verilog
    assert ".VAUXN({ 5'h00, vaux10_n, vaux9_n, 7'h00, vaux1_n, 1'h0 })" in verilog
    assert "set_property LOC A15" in plan.files["top.xdc"]


def test_drp_reader_against_a_drp_model():
    """EOC pulses for a sequence of channels; a DRP model answers DEN with the register."""
    regs = {0x08: 0x1230, 0x00: 0x9F10, 0x01: 0x5150, 0x11: 0x2220, 0x19: 0x3330,
            0x1A: 0x4440}
    sequence = [0x08, 0x00, 0x01, 0x11, 0x19, 0x1A] * 2
    dut = DRPReader()
    got, dens = [], []

    async def testbench(ctx):
        pending = None          # (cycles left, address) of a read in flight
        seq = list(sequence)
        for cycle in range(200):
            eoc = cycle % 12 == 0 and seq
            ctx.set(dut.eoc, bool(eoc))
            ctx.set(dut.channel, seq.pop(0) if eoc else 0)
            drdy = pending is not None and pending[0] == 0
            ctx.set(dut.drdy, drdy)
            ctx.set(dut.do, regs[pending[1]] if drdy else 0xDEAD)
            ctx.set(dut.sample.ready, 1)
            if ctx.get(dut.sample.valid):
                got.append((ctx.get(dut.sample.payload.channel),
                            ctx.get(dut.sample.payload.code)))
            if ctx.get(dut.den):
                dens.append(ctx.get(dut.daddr))
                pending = (3, ctx.get(dut.daddr))
            elif drdy:
                pending = None
            elif pending is not None:
                pending = (pending[0] - 1, pending[1])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert dens == sequence                       # every conversion read at its address
    want = [(spec.POWER_CHANNELS.index(name), regs[STATUS_ADDR[name]])
            for addr in sequence for name in STATUS_ADDR if STATUS_ADDR[name] == addr]
    assert got == want                            # calibration channel dropped
