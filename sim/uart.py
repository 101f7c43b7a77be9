"""cocotb helpers for a UART through a design's pins (8N1, ``divisor`` clock cycles a bit,
or any bit period given in picoseconds: a host whose baud differs from the device's).

:class:`UartSource` drives a design's rx pin; :class:`UartSink` decodes its tx pin in the
background. Both time bits in simulator steps from the clock's measured period, so a
byte costs a handful of Python wake-ups rather than one per clock cycle: the source waits
once per run of equal bits, and the sink only records the pin's edges and decodes the
bytes from their times (sampling each bit in its middle, as a receiver does).
"""

import math
from collections import deque

import cocotb
from cocotb.simtime import convert, get_sim_time
from cocotb.handle import HierarchyObject
from cocotb.triggers import Event, First, Lock, RisingEdge, Timer, ValueChange

__all__ = ["UartSink", "UartSource", "settle_comb_at_time_zero", "uart_levels"]


async def settle_comb_at_time_zero(dut):
    """Make every ``always @*`` block of Yosys-written Verilog run once; call it at time 0.

    Yosys gives each such block a trigger register initialised to 0 so that it runs at
    time 0, but Icarus in the ``-g2012`` mode cocotb uses sets initialisers without an
    event: a block whose inputs then stay still (a UART transmitter's ``i.ready`` before
    its first byte) keeps X until they change. Pulsing the triggers runs them all. Where
    the simulator does not show the triggers (Verilator), it does nothing.
    """
    triggers = []

    def walk(scope):
        for child in scope:
            if "dump_module" in child._name:
                triggers.append(child)
            elif isinstance(child, HierarchyObject):
                walk(child)

    walk(dut)
    for value in (1, 0):
        for trigger in triggers:
            trigger.value = value
        await Timer(1, unit="step")
    return len(triggers)


def uart_levels(data, *, stop=1):
    """Line level per bit time for ``data``: start 0, eight data bits LSB first, stop."""
    levels = []
    for byte in bytes(data):
        levels += [0] + [(byte >> k) & 1 for k in range(8)] + [stop]
    return levels


def _level(pin):
    """The pin's level, an unknown (X/Z, before reset) read as idle high."""
    value = pin.value
    return int(value) if value.is_resolvable else 1


class _Timing:
    def __init__(self, clk, divisor, bit_ps=None):
        self.clk = clk
        self.divisor = int(divisor)
        self.bit_ps = bit_ps
        self.period = None
        self.bit_steps = None   # steps a bit lasts: divisor clock periods, or bit_ps

    async def bit(self):
        """Steps a bit lasts (the clock's period measured once, between rising edges); a
        float when ``bit_ps`` is not a whole number of steps."""
        if self.period is None:
            # The first edge may be the clock leaving X at start-up: time the next two.
            await RisingEdge(self.clk)
            await RisingEdge(self.clk)
            t0 = get_sim_time("step")
            await RisingEdge(self.clk)
            self.period = get_sim_time("step") - t0
            if self.bit_ps is None:
                self.bit_steps = self.period * self.divisor
            else:
                self.bit_steps = self.bit_ps * convert(10**6, "ps", to="step") / 10**6
                if self.bit_steps == int(self.bit_steps):
                    self.bit_steps = int(self.bit_steps)
        return self.bit_steps


class UartSource:
    """Drive a UART rx pin.

    Parameters
    ----------
    pin : cocotb handle
        The design's rx input; set high (idle) at once.
    clk : cocotb handle
        The design's clock (its period times ``divisor`` is a bit).
    divisor : int
        Clock cycles per bit (the unit of :meth:`glitch` and :meth:`idle`).
    bit_ps : float, optional
        The bit period in picoseconds instead of ``divisor`` clock periods, any real
        number: a host whose baud is off the device's (each edge is placed at its exact
        time from the byte's start, rounded to a step, so the error does not add up).
    """

    def __init__(self, pin, clk, divisor, *, bit_ps=None):
        self.pin = pin
        self.timing = _Timing(clk, divisor, bit_ps)
        self.bytes_sent = 0
        self._lock = Lock()
        pin.value = 1

    async def write(self, data, *, stop=1):
        """Send ``data`` back to back; returns when the last stop bit has ended.

        ``stop=0`` sends every byte with a low stop bit (a framing error).
        """
        async with self._lock:
            bit = await self.timing.bit()
            levels = uart_levels(data, stop=stop)
            t0 = get_sim_time("step")
            k = 0
            while k < len(levels):
                run = 1
                while k + run < len(levels) and levels[k + run] == levels[k]:
                    run += 1
                self.pin.value = levels[k]
                k += run
                await Timer(t0 + round(k * bit) - get_sim_time("step"), unit="step")
            self.pin.value = 1
            self.bytes_sent += len(data)

    async def glitch(self, cycles):
        """Pull the line low for ``cycles`` clock cycles (a glitch when under half a bit)."""
        async with self._lock:
            await self.timing.bit()
            self.pin.value = 0
            await Timer(cycles * self.timing.period, unit="step")
            self.pin.value = 1

    async def idle(self, cycles):
        """Hold the line idle for ``cycles`` clock cycles."""
        async with self._lock:
            await self.timing.bit()
            await Timer(cycles * self.timing.period, unit="step")


class UartSink:
    """Decode a UART tx pin in the background.

    A byte starts at a falling edge of the idle line; each bit is sampled in its middle.
    A start bit high again by its middle is ignored (a glitch); a low stop bit counts in
    :attr:`frame_errors` and the byte is dropped.

    Parameters
    ----------
    pin : cocotb handle
        The design's tx output.
    clk : cocotb handle
        The design's clock.
    divisor : int
        Clock cycles per bit (the unit of the time-outs of :meth:`read` and :meth:`quiet`).
    bit_ps : float, optional
        The bit period in picoseconds instead of ``divisor`` clock periods: a host whose
        baud is off the device's.
    """

    def __init__(self, pin, clk, divisor, *, bit_ps=None):
        self.pin = pin
        self.timing = _Timing(clk, divisor, bit_ps)
        self.frame_errors = 0
        self.glitches = 0
        self._edges = deque()   # (time, level after) since the last decoded byte
        self._level = None
        self._bytes = bytearray()
        self._start = None      # time of the start edge of the byte being decoded
        self._last_activity = 0
        self._edge = Event()
        self._task = cocotb.start_soon(self._watch())

    async def _watch(self):
        await self.timing.bit()
        self._level = _level(self.pin)
        while True:
            await ValueChange(self.pin)
            self._level = _level(self.pin)
            self._edges.append((get_sim_time("step"), self._level))
            self._last_activity = get_sim_time("step")
            self._edge.set()

    def _level_at(self, t, level_before):
        """Level at time ``t`` from the recorded edges (``level_before`` before them)."""
        level = level_before
        for time, after in self._edges:
            if time > t:
                break
            level = after
        return level

    def _decode(self):
        """Turn recorded edges into bytes as far as the current time allows."""
        now = get_sim_time("step")
        bit = self.timing.bit_steps
        while True:
            if self._start is None:
                # Hunt: the first falling edge of an idle-high line.
                while self._edges and self._edges[0][1] != 0:
                    self._edges.popleft()
                if not self._edges:
                    return
                self._start = self._edges[0][0]
            samples = [self._start + int(bit / 2 + k * bit) for k in range(10)]
            if samples[0] > now:
                return
            if self._level_at(samples[0], 1) != 0:
                self.glitches += 1
                self._drop_until(samples[0])
                continue
            if samples[-1] > now:
                return
            levels = [self._level_at(s, 1) for s in samples]
            if levels[9]:
                self._bytes.append(sum(b << k for k, b in enumerate(levels[1:9])))
            else:
                self.frame_errors += 1
            self._drop_until(samples[-1])

    def _drop_until(self, t):
        """Forget edges up to ``t``, keeping the level they leave as the hunt's start."""
        self._start = None
        while self._edges and self._edges[0][0] <= t:
            self._edges.popleft()

    @property
    def busy(self):
        """Whether a byte is being received."""
        self._decode()
        return self._start is not None

    def take(self):
        """The bytes decoded so far, removed from the sink."""
        self._decode()
        out = bytes(self._bytes)
        self._bytes.clear()
        return out

    async def read(self, n, timeout_cycles):
        """Wait for ``n`` bytes, at most ``timeout_cycles`` clock cycles; return them.

        Fewer than ``n`` come back on a time-out; bytes past ``n`` stay for the next read.
        """
        bit = await self.timing.bit()
        deadline = get_sim_time("step") + timeout_cycles * self.timing.period
        while True:
            self._decode()
            now = get_sim_time("step")
            if len(self._bytes) >= n or now >= deadline:
                break
            # The earliest the missing bytes can all be in: wake no sooner than that.
            missing = n - len(self._bytes)
            if self._start is not None:
                wake = self._start + math.ceil(bit / 2 + 9 * bit + (missing - 1) * 10 * bit)
                self._edge.clear()
                await Timer(max(1, min(wake, deadline) - now), unit="step")
            else:
                self._edge.clear()
                if self._edges:
                    continue
                await First(self._edge.wait(), Timer(deadline - now, unit="step"))
        out = bytes(self._bytes[:n])
        del self._bytes[:n]
        return out

    async def quiet(self, cycles):
        """Wait until the line has been idle for ``cycles`` clock cycles from now (or from
        its last edge, if later); return the bytes decoded meanwhile (with any not yet
        taken)."""
        await self.timing.bit()
        need = cycles * self.timing.period
        since = get_sim_time("step")
        while True:
            now = get_sim_time("step")
            idle_for = now - max(since, self._last_activity)
            if self._level == 1 and idle_for >= need and not self.busy:
                return self.take()
            await Timer(max(need - idle_for, self.timing.period), unit="step")
