"""The ULX3S platform's clock: the ECP5 PLL's settings, and the sync domain it makes."""

from amaranth.hdl import Fragment, Instance

from hw.board.top import board_platform
from hw.boards.ulx3s import PLL_PARAMS, ULX3S_85F_Platform
from sw.mapping.boards import board_config


def test_pll_settings_make_the_board_clock():
    # CLKOP is the feedback: f_out = f_in * CLKFB_DIV / CLKI_DIV; the VCO runs at
    # f_out * CLKOP_DIV, within the ECP5's 400-800 MHz (Lattice FPGA-DS-02012).
    f_out = 25e6 * PLL_PARAMS["CLKFB_DIV"] / PLL_PARAMS["CLKI_DIV"]
    assert f_out == ULX3S_85F_Platform.sync_frequency == board_config("ulx3s_85f").clk_hz
    assert 400e6 <= f_out * PLL_PARAMS["CLKOP_DIV"] <= 800e6
    # The phase-frequency detector's input (25 MHz / CLKI_DIV) within 10-400 MHz.
    assert 10e6 <= 25e6 / PLL_PARAMS["CLKI_DIV"] <= 400e6


def test_default_clock_is_the_sync_domain():
    platform = board_platform("ulx3s_85f")
    assert isinstance(platform, ULX3S_85F_Platform)
    assert platform.default_clk_frequency == 100e6


def test_sync_domain_from_the_pll_held_in_reset_until_lock():
    platform = ULX3S_85F_Platform()
    fragment = Fragment.get(platform.create_missing_domain("sync"), platform)
    instances = {}
    for sub, *_ in fragment.subfragments:
        if isinstance(sub, Instance):
            instances.setdefault(sub.type, []).append(sub)
    (pll,) = instances["EHXPLLL"]
    for key, value in PLL_PARAMS.items():
        assert pll.parameters[key] == value
    assert pll.parameters["FEEDBK_PATH"] == "CLKOP"
    clk = pll.ports["CLKOP"][0]
    assert pll.ports["CLKFB"][0] is clk
    # LOCK -> two flip-flops on the PLL's clock -> the global set/reset (active low).
    (ff0, ff1) = instances["FD1S3AX"]
    (sgsr,) = instances["SGSR"]
    assert ff0.ports["D"][0] is pll.ports["LOCK"][0]
    assert ff1.ports["D"][0] is ff0.ports["Q"][0]
    assert sgsr.ports["GSR"][0] is ff1.ports["Q"][0]
    assert all(i.ports["CK"][0] is clk for i in (ff0, ff1))
    assert sgsr.ports["CLK"][0] is clk
    assert all(i.parameters["GSR"] == "DISABLED" for i in (ff0, ff1))
    # The clock constraint (nextpnr's target; tests/test_build.py finds it in top.lpf).
    ((constrained, frequency),) = platform._clocks.items()
    assert constrained is clk and frequency == 100e6
    (domain,) = fragment.domains.values()
    assert domain.name == "sync" and domain.clk is clk and domain.rst is None
