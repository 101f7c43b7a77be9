"""Opening the device ``attq-fpga infer`` runs on.

Every device goes through the host driver (:mod:`sw.device`): ``open_device(spec)`` gives a
driver for the board (``serial:///dev/ttyUSB1``), the virtual board (``sim``, or its
``socket://host:port``) or the golden protocol device (``golden``); ``DevicePlan.build``
checks that the program fits what the device's HELLO announces and holds the steps of one
inference (host operations run on the host).

While :mod:`sw.device` is not importable, ``golden`` falls back to :class:`ExecutorDevice`,
a thin stand-in with the driver's interface over :func:`sw.golden.executor.execute`; every
other device then fails with a message saying the driver is missing.
"""

import numpy as np

from .. import spec
from ..errors import InputError

__all__ = ["ExecutorDevice", "ExecutorPlan", "open_for_inference", "DEFAULT_CLK_HZ",
           "DEFAULT_BAUD", "POWER_MEASURED", "POWER_MODELLED", "DeviceUnavailable"]

#: Engine clock of the Arty A7 build (ARCHITECTURE.md "Board and link").
DEFAULT_CLK_HZ = 100_000_000
#: UART rate of the board (100 MHz / 25).
DEFAULT_BAUD = 4_000_000
#: HELLO caps bits that say how POWER answers.
POWER_MEASURED = int(spec.Capability.POWER)
POWER_MODELLED = int(spec.Capability.POWER_MODEL)


class ExecutorPlan:
    """The stand-in plan: the program itself (every op runs in the golden executor)."""

    def __init__(self, program, hello):
        self.program = program
        self.hello = hello
        self.counters = None
        self.cycles = None


class ExecutorDevice:
    """Stand-in with the driver's interface over :func:`sw.golden.executor.execute`.

    Cycles are the cycle model's (``sw.golden.cycle_model``) for ``lanes`` lanes, counted
    as the device's RUN counts them: each layer's busy cycles plus its configuration load
    and start (``config_words + 2``); the counters are the executor's per-layer counts
    summed (they do not depend on the data).
    """

    def __init__(self, lanes=8, lane_words=3072, act_depth=6144, clk_hz=DEFAULT_CLK_HZ,
                 baud=DEFAULT_BAUD):
        self.lanes, self.lane_words, self.act_depth = lanes, lane_words, act_depth
        self.clk_hz, self.baud = clk_hz, baud

    def hello(self):
        """HELLO fields as the golden device would answer them (no POWER capability)."""
        caps = (spec.Capability.TERNARY | spec.Capability.DENSE | spec.Capability.MAX_POOL
                | spec.Capability.LEAKY_RELU)
        word_addr_width = max(1, (self.lane_words - 1).bit_length())
        return {"magic": spec.LINK_MAGIC, "link_version": spec.LINK_VERSION,
                "format_version": spec.FORMAT_VERSION, "board": int(spec.Board.GOLDEN),
                "caps": int(caps), "lanes": self.lanes, "lane_words": self.lane_words,
                "act_depth": self.act_depth, "chan_depth": 0, "param_depth": 0,
                "config_depth": 0,
                "config_words": spec.config_words_per_layer(self.lanes, word_addr_width),
                "max_payload": spec.LINK_MAX_PAYLOAD, "clk_hz": self.clk_hz,
                "baud": self.baud}

    def load(self, plan):
        """Count the program's cycles and counters once: neither depends on the data."""
        from ..golden.executor import program_counts, program_cycles
        program = plan.program
        counters = {name: 0 for name in spec.ENGINE_COUNTERS}
        for c in program_counts(program):
            for key in ("adds_plus", "adds_minus", "weight_words", "act_reads",
                        "act_writes"):
                counters[key] += int(getattr(c, key))
        rows = program_cycles(program, self.lanes) or []
        counters["busy_cycles"] = sum(int(r["busy_cycles"]) for r in rows)
        counters["lane_stall_cycles"] = sum(int(r["lane_stall_cycles"]) for r in rows)
        plan.counters = counters
        plan.cycles = counters["busy_cycles"] + len(rows) * (plan.hello["config_words"] + 2)

    def infer(self, plan, x):
        """``(output, int_output, cycles, counters)`` of one input ``x`` (no batch axis)."""
        from ..golden.executor import execute
        if plan.counters is None:
            self.load(plan)
        res = execute(plan.program, np.asarray(x)[None])
        return res.output[0], res.int_output[0], plan.cycles, dict(plan.counters)

    def power(self):
        """None: no power capability."""
        return None

    def close(self):
        """Nothing to release."""


def _driver_module():
    try:
        from .. import device
    except ImportError:
        return None
    return device if hasattr(device, "open_device") else None


class DeviceUnavailable(RuntimeError):
    """The device cannot be opened (no such port, the virtual board not wired in)."""


def open_for_inference(spec_str, program, model_path, *, faults=None, fault_seed=0):
    """Open ``spec_str``, handshake, check the program fits it, load it.

    ``faults`` = ``(drop, corrupt)``: after loading, put the link behind
    :class:`sw.device.FaultProxy`, which drops / corrupts that fraction of the bytes in
    each direction (seeded by ``fault_seed``).

    Returns
    -------
    driver, plan, hello
        ``driver.infer(plan, x)`` classifies one input.

    Raises
    ------
    InputError
        For a device string of no known form, or a device the program does not fit (the
        message says what differs).
    DeviceUnavailable
        For a device that cannot be opened.
    """
    mod = _driver_module()
    if mod is None:
        if spec_str != "golden" or faults is not None:
            raise DeviceUnavailable(f"--device {spec_str}: the host driver (sw.device) is "
                                    f"not installed in this checkout; only --device golden "
                                    f"(without link faults) runs without it")
        driver = ExecutorDevice()
        hello = driver.hello()
        plan = ExecutorPlan(program, hello)
        driver.load(plan)
        return driver, plan, hello
    try:
        driver = mod.open_device(spec_str)
    except NotImplementedError as exc:
        raise DeviceUnavailable(str(exc)) from None
    except (ValueError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise DeviceUnavailable(f"--device {spec_str}: cannot be opened ({exc})") from None
    try:
        hello = driver.hello()
        check = getattr(driver, "check_compatible", None)
        plan = check(hello, program) if check is not None else None
        if plan is None:
            plan = mod.DevicePlan.build(program, hello)
        driver.load(plan)
        if faults is not None:
            # Damage the link only once the program is loaded: the inferences are what
            # the fault injection is about.
            drop, corrupt = faults
            driver.port = mod.FaultProxy(driver.port, drop, corrupt, seed=fault_seed)
    except InputError:
        _close(driver)
        raise
    except ValueError as exc:
        _close(driver)
        raise InputError(f"{model_path}: does not fit the device {spec_str}: {exc}") from None
    except BaseException:
        _close(driver)
        raise
    return driver, plan, hello


def _close(driver):
    close = getattr(driver, "close", None)
    if close is not None:
        close()
