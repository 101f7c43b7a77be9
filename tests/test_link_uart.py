"""UART receiver and transmitter in amaranth.sim, against bit waveforms built here.

The expected waveforms are written from the 8N1 definition (a low start bit, eight data
bits LSB first, a high stop bit, each ``divisor`` cycles), not from the hardware.
"""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from hw.link import UARTReceiver, UARTTransmitter
from testsupport.elaboratables import unused_warning_files


def uart_bits(byte, stop=1):
    return [0] + [(byte >> k) & 1 for k in range(8)] + [stop]


def uart_wave(data, divisor, *, stretch=1.0, stop=1):
    """Line level per clock cycle for ``data`` sent back to back.

    ``stretch`` scales the sender's bit time (a sender whose baud is off by a little).
    """
    bits = [b for byte in data for b in uart_bits(byte, stop)]
    edges = [round(k * divisor * stretch) for k in range(len(bits) + 1)]
    wave = []
    for k, bit in enumerate(bits):
        wave += [bit] * (edges[k + 1] - edges[k])
    return wave


def run_rx(dut, wave, ready=None, tail=40):
    """Drive ``wave`` into ``dut.rx``; return the bytes taken and the pulse cycles."""
    got, frame_errors, overruns = [], [], []
    ready = ready or (lambda cycle: True)

    async def bench(ctx):
        for cycle, level in enumerate(list(wave) + [1] * tail):
            ctx.set(dut.rx, level)
            ctx.set(dut.o.ready, ready(cycle))
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                got.append(ctx.get(dut.o.payload))
            if ctx.get(dut.frame_error):
                frame_errors.append(cycle)
            if ctx.get(dut.overrun):
                overruns.append(cycle)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, frame_errors, overruns


@pytest.mark.parametrize("divisor", [2, 4, 5, 25])
def test_rx_random_bytes_back_to_back(divisor):
    rng = np.random.default_rng(divisor)
    data = [0x00, 0xFF, 0x55, 0xAA] + rng.integers(0, 256, 60 if divisor < 25 else 12).tolist()
    got, fe, ov = run_rx(UARTReceiver(divisor), [1] * 7 + uart_wave(data, divisor))
    assert (got, fe, ov) == (data, [], [])


@pytest.mark.parametrize("stretch", [0.97, 1.03])
def test_rx_tolerates_a_baud_off_by_3_percent(stretch):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, 40).tolist()
    got, fe, ov = run_rx(UARTReceiver(16), [1] * 5 + uart_wave(data, 16, stretch=stretch))
    assert (got, fe, ov) == (data, [], [])


def test_rx_ignores_glitches_shorter_than_half_a_bit():
    divisor = 8
    wave = [1] * 10
    for width in (1, 2, 3):     # half a bit is 4 cycles
        wave += [0] * width + [1] * 30
    wave += uart_wave([0x3C], divisor)
    got, fe, ov = run_rx(UARTReceiver(divisor), wave)
    assert (got, fe, ov) == ([0x3C], [], [])


def test_rx_frame_error_and_break_then_recovers():
    divisor = 4
    wave = [1] * 8 + uart_wave([0x81], divisor, stop=0)      # stop bit low
    wave += [1] * 20 + [0] * 200 + [1] * 20                   # a break: the line held low
    wave += uart_wave([0x42, 0x17], divisor)
    got, fe, ov = run_rx(UARTReceiver(divisor), wave)
    assert got == [0x42, 0x17]
    assert len(fe) == 2, "one frame error for the bad stop bit, one for the break"
    assert ov == []


def test_rx_overrun_drops_the_new_byte_and_keeps_the_held_one():
    divisor = 4
    wave = [1] * 8 + uart_wave([0x11, 0x22, 0x33], divisor)
    # Not ready until well after the third byte: the first waits, the next two are dropped.
    hold = len(wave) + 10
    got, fe, ov = run_rx(UARTReceiver(divisor), wave + [1] * 20 + uart_wave([0x44], divisor),
                         ready=lambda cycle: cycle >= hold)
    assert got == [0x11, 0x44]
    assert len(ov) == 2 and fe == []


def run_tx(dut, data, valid_p, seed, cycles):
    """Offer ``data`` with random valid; return the tx level per cycle and the accept cycles."""
    rng = np.random.default_rng(seed)
    wave, accepted = [], []

    async def bench(ctx):
        k = 0
        for cycle in range(cycles):
            valid = k < len(data) and rng.random() < valid_p
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.payload, data[k] if valid else 0)
            wave.append(ctx.get(dut.tx))
            if valid and ctx.get(dut.i.ready):
                accepted.append(cycle)
                k += 1
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return wave, accepted


def decode_wave(wave, divisor):
    """Bytes from a line waveform: a falling edge, then sample each bit in its middle."""
    out, t = [], 1
    while t < len(wave):
        if wave[t - 1] == 1 and wave[t] == 0:
            mid = t + divisor // 2
            if mid + 9 * divisor >= len(wave):
                break
            bits = [wave[mid + k * divisor] for k in range(10)]
            assert bits[0] == 0 and bits[9] == 1, f"bad start or stop bit at cycle {t}"
            out.append(sum(b << k for k, b in enumerate(bits[1:9])))
            t = mid + 9 * divisor
        t += 1
    return out


@pytest.mark.parametrize("divisor", [2, 4, 7])
def test_tx_back_to_back_is_exactly_the_8n1_waveform(divisor):
    data = np.random.default_rng(divisor).integers(0, 256, 40).tolist()
    wave, accepted = run_tx(UARTTransmitter(divisor), data, 1.0, 0, 12 * divisor * 41)
    assert wave[0] == 1, "tx idles high from reset"
    start = wave.index(0)
    want = uart_wave(data, divisor)
    assert wave[start:start + len(want)] == want
    assert set(wave[start + len(want):]) == {1}
    assert len(accepted) == len(data)


def test_tx_with_gaps_decodes():
    divisor = 4
    data = np.random.default_rng(1).integers(0, 256, 100).tolist()
    wave, _ = run_tx(UARTTransmitter(divisor), data, 0.05, 2, 12 * divisor * 100 + 4000)
    assert decode_wave(wave, divisor) == data


def test_tx_to_rx_loopback():
    divisor = 5
    data = np.random.default_rng(9).integers(0, 256, 80).tolist()
    m = Module()
    m.submodules.tx = tx = UARTTransmitter(divisor)
    m.submodules.rx = rx = UARTReceiver(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    got = []

    async def bench(ctx):
        k = 0
        ctx.set(rx.o.ready, 1)
        for _ in range(11 * divisor * len(data) + 100):
            ctx.set(tx.i.valid, k < len(data))
            ctx.set(tx.i.payload, data[k] if k < len(data) else 0)
            if k < len(data) and ctx.get(tx.i.ready):
                k += 1
            if ctx.get(rx.o.valid):
                got.append(ctx.get(rx.o.payload))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == data


@pytest.mark.parametrize("cls", [UARTReceiver, UARTTransmitter])
@pytest.mark.parametrize("divisor", [1, 0, 2.5])
def test_bad_divisor(cls, divisor):
    with pytest.raises(ValueError, match="divisor"):
        cls(divisor)


@pytest.mark.parametrize("cls", [UARTReceiver, UARTTransmitter])
def test_uart_refused_leaves_no_unused_warning(cls):
    assert unused_warning_files(lambda: cls(4), lambda: cls(1)) == [__file__]
