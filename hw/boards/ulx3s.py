"""The ULX3S 85F platform, its ``sync`` domain at 100 MHz from the ECP5's PLL.

amaranth-boards 0.0.21 (``amaranth_boards.ulx3s``) clocks the default ``sync`` domain
straight from the board's 25 MHz oscillator (``clk25``, pin G2). The project's clock is
100 MHz on every board (the Arty A7's oscillator), so this platform puts an EHXPLLL between
the oscillator and the domain, and holds the design in reset until the PLL is locked.

Like Amaranth's own ECP5 platform, the reset is the device's global set/reset (GSR),
released through two flip-flops on the domain's clock, so the ``sync`` domain has no
reset net of its own.

The divider settings are those of Project Trellis's ``ecppll -i 25 -o 100``: the VCO runs
at 25 MHz x ``CLKFB_DIV`` 4 x ``CLKOP_DIV`` 6 = 600 MHz (the ECP5's VCO range is 400 to 800 MHz,
Lattice FPGA-DS-02012) and CLKOP, which is also the feedback, at 600 / 6 = 100 MHz.

Between yosys and nextpnr the flow runs :mod:`hw.build.output_registers`, which moves the
flip-flops after the block RAMs into the DP16KDs' own output registers, and
:mod:`hw.build.dsp_registers`, which moves the flip-flops around the multipliers into the
MULT18X18Ds' input and output registers (Vivado does both for the Arty A7 by itself). The
build script calls them as ``"$PYTHON3" -m hw.build.…``, so ``PYTHON3`` must name a Python
with this project installed (``python -m hw.build`` sets it to its own).
"""

from amaranth.build import Clock
from amaranth.hdl import ClockDomain, Const, Instance, Module, Signal
from amaranth.lib import io
from amaranth_boards import ulx3s as _upstream

__all__ = ["ULX3S_85F_Platform", "PLL_PARAMS"]

#: EHXPLLL settings for 25 MHz in, 100 MHz on CLKOP (``ecppll -i 25 -o 100``).
PLL_PARAMS = {"CLKI_DIV": 1, "CLKFB_DIV": 4, "CLKOP_DIV": 6, "CLKOP_CPHASE": 2,
              "CLKOP_FPHASE": 0}


class ULX3S_85F_Platform(_upstream.ULX3S_85F_Platform):
    """ULX3S with an LFE5U-85F; ``sync`` runs at 100 MHz from the PLL.

    ``default_clk_frequency`` is the ``sync`` domain's frequency (100 MHz), as on Amaranth's
    platforms whose default clock is an on-chip oscillator; the oscillator pin keeps its
    own 25 MHz constraint.
    """

    #: Frequency of the ``sync`` domain, in Hz: CLKOP, the feedback, is the 25 MHz input
    #: times CLKFB_DIV / CLKI_DIV.
    sync_frequency = 25e6 * PLL_PARAMS["CLKFB_DIV"] / PLL_PARAMS["CLKI_DIV"]

    @property
    def required_tools(self):
        return [*super().required_tools, "python3"]

    @property
    def command_templates(self):
        templates = list(super().command_templates)
        if self.toolchain == "Trellis":
            # After yosys (the first command), before nextpnr reads its JSON.
            templates[1:1] = [r"""
            {{invoke_tool("python3")}} -m hw.build.output_registers {{name}}.json
            """, r"""
            {{invoke_tool("python3")}} -m hw.build.dsp_registers {{name}}.json
            """]
        return templates

    @property
    def default_clk_constraint(self):
        return Clock(self.sync_frequency)

    def create_missing_domain(self, name):
        if name != "sync":
            return super().create_missing_domain(name)
        m = Module()
        m.submodules.clk25 = clk25 = io.Buffer("i", self.request(self.default_clk, dir="-"))
        m.domains.sync = cd_sync = ClockDomain("sync", reset_less=True)
        clk, locked = cd_sync.clk, Signal()
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI="25",
            a_FREQUENCY_PIN_CLKOP=f"{self.sync_frequency / 1e6:g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_FEEDBK_PATH="CLKOP",
            **{f"p_{key}": value for key, value in PLL_PARAMS.items()},
            i_CLKI=clk25.i, i_CLKFB=clk, i_RST=Const(0), i_STDBY=Const(0),
            i_PHASESEL0=Const(0), i_PHASESEL1=Const(0), i_PHASEDIR=Const(1),
            i_PHASESTEP=Const(1), i_PHASELOADREG=Const(1), i_PLLWAKESYNC=Const(0),
            i_ENCLKOP=Const(0),
            o_CLKOP=clk, o_LOCK=locked,
        )
        # GSR (active low) follows LOCK through two flip-flops that GSR itself spares.
        gsr0, gsr1 = Signal(), Signal()
        m.submodules += [
            Instance("FD1S3AX", p_GSR="DISABLED", i_CK=clk, i_D=locked, o_Q=gsr0),
            Instance("FD1S3AX", p_GSR="DISABLED", i_CK=clk, i_D=gsr0, o_Q=gsr1),
            Instance("SGSR", i_CLK=clk, i_GSR=gsr1),
        ]
        self.add_clock_constraint(clk, self.sync_frequency)
        return m
