"""The Artix-7 XADC in continuous sequencer mode, read over its DRP, as a stream of samples.

Register values are from UG480 (7 Series FPGAs and Zynq-7000 SoC XADC User Guide, v1.11),
Chapter 3 "XADC Register Interface": "Control Registers" (configuration registers 40h-42h,
sequence registers 48h-4Fh) and "Status Registers" (conversion results at the channel's
address: VCCINT 01h, VAUX[n] 10h + n). Chapter 4 "XADC Operating Modes" describes the
continuous sequence mode, and Chapter 5 the DRP timing (DEN for one DCLK, data on DRDY).
"""

from amaranth.hdl import Cat, Const, IOBufferInstance, Instance, Module, Signal
from amaranth.hdl import ClockSignal, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out


from .drp_reader import XADC_CHANNEL_ADDR, DRPReader
from .sample import sample_signature

__all__ = ["XADC", "XADC_INIT", "XADC_CHANNEL_ADDR", "xadc_init"]

#: Auxiliary inputs the sequence converts.
AUX_CHANNELS = tuple(addr - 0x10 for addr in XADC_CHANNEL_ADDR.values() if addr >= 0x10)

#: DCLK / ADCCLK. ADCCLK must lie in 1-26 MHz (UG480 Ch. 3, configuration register 2);
#: 100 MHz / 4 = 25 MHz, so one conversion (26 ADCCLK) takes 1.04 us.
DCLK_DIVIDER = 4


def xadc_init(divider=DCLK_DIVIDER):
    """The XADC's ``INIT_xx`` parameter values (register address -> 16-bit value).

    40h (configuration 0) = 0000h: no averaging (AVG = 00), unipolar inputs, continuous
        sampling, calibration-coefficient averaging on (CAVG = 0).
    41h (configuration 1) = 2FFEh: SEQ = 0010 (continuous sequence mode); CAL0-CAL3 = 1
        (ADC and supply-sensor offset and gain correction); ALM0-ALM6 = 1 (alarm outputs
        unused, disabled); OT = 0 (the over-temperature shutdown stays on).
    42h (configuration 2) = divider << 8 | 20h: DCLK divider; PD = 10 (ADC B powered down,
        unused outside simultaneous/independent modes).
    48h (sequence channel selection 0) = 0301h: calibration (bit 0), temperature (bit 8)
        and VCCINT (bit 9).
    49h (sequence channel selection 1) = bit n for VAUX[n]: 1, 9, 10 -> 0602h.
    4Ah/4Bh (sequence averaging) = 0: no averaging; the meter averages over many samples.
    4Ch/4Dh (sequence input mode) = 0: unipolar, 0-1 V on every auxiliary input.
    4Eh/4Fh (sequence acquisition time) = auxiliary inputs' bits set in 4Fh: the settling
        time is extended (4 -> 10 ADCCLK) for the board's sense outputs, whose source
        impedance is not the dedicated-input's.
    50h-5Fh (alarm thresholds) = 0: alarms are disabled; 53h = 0 keeps the factory
        over-temperature threshold.
    """
    if not 2 <= divider <= 255:
        raise ValueError(f"divider must be in [2, 255], not {divider}")
    aux = sum(1 << n for n in AUX_CHANNELS)
    init = {addr: 0 for addr in range(0x40, 0x60)}
    init.update({
        0x40: 0x0000,
        0x41: 0x2FFE,
        0x42: (divider << 8) | 0x20,
        0x48: 0x0301,
        0x49: aux,
        0x4F: aux,
    })
    return init


#: The values :class:`XADC` uses.
XADC_INIT = xadc_init()


class XADC(wiring.Component):
    """The XADC primitive sampling VCCINT and the Arty A7's power-sense inputs.

    The sequencer converts, in a loop, the calibration channel, the die temperature, VCCINT,
    VAUX1 (vsns5v0), VAUX9 (isns5v0) and VAUX10 (isns0v95). At each end of conversion (EOC) the converted
    channel's status register is read over the DRP (:class:`~hw.power.drp_reader.DRPReader`,
    simulated on its own in the tests) and, if it is one of
    :data:`sw.spec.POWER_CHANNELS`, offered on ``sample``. A sample not taken before the
    next one arrives is replaced by it (the meter downstream is always ready).

    The auxiliary pins are the platform's ``xadc_vaux`` resources
    (:mod:`hw.boards.arty_a7`), requested raw and connected straight to the primitive.

    There is no XADC model in Yosys or Verilator: simulations use
    :class:`hw.power.xadc_model.XADCModel`, which has the same ``sample`` stream.

    Attributes
    ----------
    sample : Out(stream.Signature(sample_layout()))
        ``channel``: index into :data:`sw.spec.POWER_CHANNELS`; ``code``: the 16-bit
        status-register value (12-bit result, MSB-justified).
    """

    sample: Out(sample_signature())

    def elaborate(self, platform):
        if platform is None:
            raise TypeError("XADC instantiates the Xilinx XADC primitive, which cannot be "
                            "simulated (no XADC model in Yosys or Verilator); use "
                            "hw.power.xadc_model.XADCModel, which has the same sample "
                            "stream, in simulation")
        if getattr(platform, "family", None) != "series7":
            raise TypeError(f"XADC needs a Xilinx 7-series platform, not {platform!r}; use "
                            f"hw.power.xadc_model.XADCModel on other targets")
        m = Module()

        vaux_p = {}
        vaux_n = {}
        for n in AUX_CHANNELS:
            pins = platform.request("xadc_vaux", n, dir="-")
            vaux_p[n] = Signal(name=f"vaux{n}_p")
            vaux_n[n] = Signal(name=f"vaux{n}_n")
            # A plain connection, no IBUF of ours: the analog path is the pin's.
            m.submodules[f"vaux{n}_p_io"] = IOBufferInstance(pins.p.io, i=vaux_p[n])
            m.submodules[f"vaux{n}_n_io"] = IOBufferInstance(pins.n.io, i=vaux_n[n])
        vauxp = Cat(vaux_p.get(n, Const(0, 1)) for n in range(16))
        vauxn = Cat(vaux_n.get(n, Const(0, 1)) for n in range(16))

        m.submodules.reader = reader = DRPReader()
        wiring.connect(m, wiring.flipped(self.sample), reader.sample)
        params = {f"p_INIT_{addr:02X}": Const(value, 16) for addr, value in XADC_INIT.items()}
        m.submodules.xadc = Instance(
            "XADC",
            p_SIM_DEVICE="7SERIES",
            **params,
            i_DCLK=ClockSignal(),
            i_RESET=ResetSignal(),
            i_DEN=reader.den,
            i_DWE=Const(0),
            i_DADDR=reader.daddr,
            i_DI=Const(0, 16),
            o_DO=reader.do,
            o_DRDY=reader.drdy,
            i_CONVST=Const(0),
            i_CONVSTCLK=Const(0),
            i_VAUXP=vauxp,
            i_VAUXN=vauxn,
            o_EOC=reader.eoc,
            o_CHANNEL=reader.channel,
        )
        return m
