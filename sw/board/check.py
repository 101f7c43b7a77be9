"""``attq-fpga board check``: the first test of a device, before trusting it with data.

Five checks, in this order, each ``pass``, ``fail`` or ``skip`` (with the reason):

``handshake``
    HELLO: the magic, the link and format versions this software speaks, a board it knows,
    and, for a board of :data:`sw.mapping.boards.BOARDS`, every size, clock and baud equal
    to what its build holds.
``memories``
    The activation memory, the one the link can read back, is written whole with each of
    :data:`ACT_PATTERNS` and read back whole (all of it written before any of it is read,
    so that two addresses answering for one show up). The weight memories, channel tables,
    parameters and configuration are write-only over the link (``sw.spec.Mem``): for each
    (and each lane) a word written at the last address must be taken and one past it
    refused with ``BAD_ARGS``, which shows the HELLO's depths are the device's. The weight
    memories are then read back through the engine (:func:`weight_readback_program`): a
    dense layer of random nonzero int8 weights that fills as much of every lane's weight
    memory as the mapping allows, with random epilogue parameters that pass a weight
    through unchanged, runs on inputs with a single 1 in each output position's window;
    each position's outputs must be the column of the weights that 1 selects.
``programs``
    Each program (the bundled ones by default) loaded and run on seeded inputs: every
    output must equal the golden executor's (:func:`sw.golden.executor.execute`), and the
    cycles and engine counters of every RUN the golden protocol device's with the same
    sizes (:class:`sw.golden.device.GoldenDevice`: the cycle model and the counts of
    docs/engine.md). A program that does not fit the device is skipped, saying why.
``link``
    Frames of the largest payload written to the activation memory and read back, many of
    them: the fraction of frames that had to be sent again (bad CRC, NAK, time-out, lost)
    must not exceed ``max_frame_error_rate``; the data read must equal the data written.
    The bytes and seconds give the link's throughput at the device's baud.
``xadc``
    On a device with a power meter (``Capability.POWER``, or ``POWER_MODEL`` for the
    virtual board's model): the POWER reply after the last RUN must have complete sample
    sets, no channel stuck at either end of its range, a mean VCCINT (the XADC's supply
    sensor, UG480 Eq. 2-7) within ``vccint_range`` and a mean die temperature (UG480
    Eq. 2-1) within ``temperature_range``.

:func:`check_device` runs them on an open :class:`~sw.device.driver.Driver` and returns the
record; the command prints its table, writes it as JSON and exits non-zero on any ``fail``.
"""

import dataclasses
import time
from pathlib import Path

import numpy as np

from .. import spec
from ..device import DeviceError, Driver, IncompatibleDevice
from ..golden.device import GoldenDevice
from ..golden.executor import execute
from ..mapping.boards import BOARDS
from ..mapping.plan import DevicePlan, ProgramDoesNotFit
from ..program.file import load
from ..spec import Board, Capability, Mem, Status

__all__ = ["Check", "check_device", "ACT_PATTERNS", "BUNDLED_PROGRAMS", "VCCINT_RANGE_V",
           "TEMPERATURE_RANGE_C", "weight_readback_program", "readback_inputs",
           "check_handshake", "check_memories", "check_programs", "check_link",
           "check_xadc", "table_text"]

ROOT = Path(__file__).resolve().parents[2]
#: The programs checked by default: the bundled models (models/README.md).
BUNDLED_PROGRAMS = tuple(ROOT / "models" / f"{name}_attq.attq"
                         for name in ("mnist", "hits", "esr"))

#: VCCINT's recommended operating range over the Artix-7 grades the Arty A7 carries (DS181
#: Table 2: 0.95-1.05 V for -1, 0.92-0.98 V for -1L), in volts.
VCCINT_RANGE_V = (0.92, 1.05)
#: Die temperatures a board on a desk plausibly reads, in degrees Celsius: above a cold room,
#: below the 85 C where the commercial grade's junction range ends (the -1L industrial part
#: is rated to 100 C, but a board idling at 85 C is already a fault worth a look).
TEMPERATURE_RANGE_C = (5.0, 85.0)


def _act_patterns():
    def const(v):
        return lambda n, rng: np.full(n, v, np.uint8)
    return {
        "0x00": const(0x00), "0xFF": const(0xFF), "0x55": const(0x55), "0xAA": const(0xAA),
        # The address in the data: a stuck or swapped address line reads another byte.
        "address low byte": lambda n, rng: (np.arange(n) & 0xFF).astype(np.uint8),
        "address high byte": lambda n, rng: ((np.arange(n) >> 8) ^ 0x5A).astype(np.uint8),
        "random": lambda n, rng: rng.integers(0, 256, n, dtype=np.uint8),
    }


#: Patterns of the activation-memory test: name -> f(n, rng) giving n bytes.
ACT_PATTERNS = _act_patterns()


@dataclasses.dataclass
class Check:
    """One check's outcome: ``status`` is ``"pass"``, ``"fail"`` or ``"skip"``; ``detail`` one
    line for the table; ``data`` the measurements for the record."""
    name: str
    status: str
    detail: str
    data: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0


def _board_name(hello):
    try:
        return Board(hello.get("board")).name
    except ValueError:
        return f"board {hello.get('board')}"


def _board_config(hello):
    """The build of :data:`BOARDS` the HELLO names (None: the golden device, an unknown id)."""
    for cfg in BOARDS.values():
        if int(cfg.board) == hello.get("board"):
            return cfg
    return None


def check_handshake(driver):
    """HELLO against the protocol and the board table; returns ``(Check, hello or None)``."""
    try:
        hello = driver.hello()
    except DeviceError as exc:
        return Check("handshake", "fail", f"no HELLO: {exc}"), None
    shown = {k: (v.decode("ascii", "replace") if isinstance(v, bytes) else v)
             for k, v in hello.items()}
    problems = []
    if hello["magic"] != spec.LINK_MAGIC:
        problems.append(f"magic {hello['magic']!r}, not {spec.LINK_MAGIC!r}")
    if hello["link_version"] != spec.LINK_VERSION:
        problems.append(f"link version {hello['link_version']}, expected {spec.LINK_VERSION}")
    if hello["format_version"] != spec.FORMAT_VERSION:
        problems.append(f"format version {hello['format_version']}, expected "
                        f"{spec.FORMAT_VERSION}")
    cfg = _board_config(hello)
    if cfg is not None:
        want = cfg.hello()
        # The virtual board's baud is its build's clock over the UART divisor chosen for
        # simulation speed (`board sim --divisor`), not the 35T's.
        skip = {"magic"} | ({"baud"} if cfg.board == Board.VIRTUAL else set())
        for key, value in want.items():
            if key not in skip and hello.get(key) != value:
                problems.append(f"{key} {hello.get(key)}, the {cfg.name} build has {value}")
    elif hello.get("board") != Board.GOLDEN:
        problems.append(f"board id {hello.get('board')} is none this software knows")
    size = (f"{_board_name(hello)}, P = {hello['lanes']}, V = {hello['width']}, "
            f"{hello['clk_hz'] / 1e6:g} MHz, {hello['baud']} Bd")
    if problems:
        return Check("handshake", "fail", "; ".join(problems), {"hello": shown}), hello
    known = f"as the {cfg.name} build" if cfg is not None else "golden device"
    return Check("handshake", "pass", f"{size} ({known})", {"hello": shown}), hello


def _refused(driver, mem, lane, addr):
    """True when a one-word WRITE at ``addr`` is refused with BAD_ARGS; False if taken."""
    try:
        driver.write_mem(mem, lane, addr, [0])
    except DeviceError as exc:
        if exc.status is Status.BAD_ARGS:
            return True
        raise
    return False


def check_memories(driver, hello, *, seed=0, patterns=None):
    """The activation memory's patterns, and the depths of the write-only memories."""
    rng = np.random.default_rng([seed, 1])
    depth = int(hello["act_depth"])
    errors, first = {}, []
    for name, make in (patterns or ACT_PATTERNS).items():
        data = make(depth, rng)
        driver.write_mem(Mem.ACT, 0, 0, data.view(np.int8))
        back = driver.read_act(0, depth).view(np.uint8)
        bad = np.flatnonzero(back != data)
        errors[name] = int(bad.size)
        first += [{"pattern": name, "address": int(a), "wrote": int(data[a]),
                   "read": int(back[a])} for a in bad[:3]]
    depths = [(Mem.PARAM, 0, "param_depth"), (Mem.CONFIG, 0, "config_depth")]
    depths += [(mem, lane, key) for lane in range(int(hello["lanes"]))
               for mem, key in ((Mem.WEIGHT, "lane_words"), (Mem.CHAN, "chan_depth"))]
    bounds = []
    try:
        if _refused(driver, Mem.ACT, 0, depth - 1) or not _refused(driver, Mem.ACT, 0, depth):
            bounds.append(f"ACT: the HELLO's act_depth {depth} is not where WRITEs stop")
        for mem, lane, key in depths:
            n = int(hello[key])
            where = f"{mem.name}" + (f" lane {lane}" if mem in (Mem.WEIGHT, Mem.CHAN) else "")
            if _refused(driver, mem, lane, n - 1):
                bounds.append(f"{where}: a WRITE at word {n - 1} refused ({key} {n})")
            elif not _refused(driver, mem, lane, n):
                bounds.append(f"{where}: a WRITE at word {n} taken ({key} {n})")
    except DeviceError as exc:
        bounds.append(f"a depth probe got no clean answer: {exc}")
    readback = _weight_readback(driver, hello, rng)
    flipped = sum(errors.values())
    data = {"act_depth": depth, "pattern_errors": errors, "first_errors": first,
            "depth_problems": bounds, "weight_readback": readback}
    parts = []
    if flipped:
        e = first[0]
        parts.append(f"ACT: {flipped} bytes differ over {len(errors)} patterns (first: "
                     f"{e['pattern']} at {e['address']}: wrote {e['wrote']:#04x}, read "
                     f"{e['read']:#04x})")
    if readback.get("problem"):
        parts.append(f"WEIGHT read back through the engine: {readback['problem']}")
    if parts or bounds:
        return Check("memories", "fail", "; ".join(parts + bounds), data)
    return Check("memories", "pass",
                 f"ACT {depth} bytes x {len(errors)} patterns read back equal; the depths "
                 f"of WEIGHT, CHAN ({hello['lanes']} lanes), PARAM, CONFIG as the HELLO "
                 f"says; {100 * readback['coverage']['WEIGHT']:.1f} % of the weight words "
                 f"read back through the engine equal ({readback['runs']} runs)", data)


def weight_readback_program(hello, rng):
    """A one-layer program that makes the engine read its weight memories back.

    A dense 3 x 3 convolution with stride (1, 3) over a ``(c_in, 3, 3 n)`` map: ``n``
    output positions whose windows do not overlap. Its weights are random nonzero int8
    (every weight is a word: none is skipped); ``c_in`` is large enough that 256 output
    channels would overflow the lanes' weight memories, and the number of output channels
    is the largest whose image fits (the mapping decides how words fall on lanes); ``n`` is
    as many positions as the activation memory holds beside them. Each channel's epilogue
    has a random shift ``s``, the multiplier ``2**s`` and a random bias in
    ``[-2**(s-1), 2**(s-1))``, so that ``(w * 2**s + bias + 2**(s-1)) >> s == w``: with a
    single 1 in the window of position ``p``, at weight index ``j``, the layer outputs
    ``W[:, j]`` there, exactly (no saturation: ``|w| <= 127``). :func:`readback_inputs`
    makes such inputs.

    Returns
    -------
    (program, plan, weights) : the program, its :class:`DevicePlan` on ``hello``, and the
    weights ``[c_out, c_in, 3, 3]`` it holds.
    """
    from ..program.epilogue import DualScaleParams
    from ..program.ir import EngineLayer, HostOp, Program

    capacity = int(hello["lanes"]) * int(hello["lane_words"])
    c_in = max(1, -(-capacity * 11 // 10 // (spec.MAX_CHANNELS * 9)))
    n = max(1, min(c_in * 9, int(hello["act_depth"]) // (9 * c_in + spec.MAX_CHANNELS)))
    shape = (spec.MAX_CHANNELS, c_in, 3, 3)
    weights = rng.integers(1, 128, shape) * rng.choice((-1, 1), shape)
    shift = rng.integers(1, 13, spec.MAX_CHANNELS)
    half = 1 << (shift - 1)
    bias = rng.integers(-half, half)
    m_l = rng.integers(spec.MULT_MIN, spec.MULT_MAX + 1, spec.MAX_CHANNELS)
    in_shape = (c_in, 3, 3 * n)

    def build(c_out):
        layer = EngineLayer.from_weights(
            "weight_readback", weights[:c_out], in_shape=in_shape, stride=(1, 3),
            mode="dense", epilogue=DualScaleParams(1 << shift[:c_out], m_l[:c_out],
                                                   bias[:c_out], shift[:c_out]))
        program = Program(input_shape=in_shape, ops=[
            HostOp("quantize", {"scale": 1.0, "map_shape": list(in_shape), "pad": [0, 0]}),
            layer])
        return program, DevicePlan.build(program, hello)

    lo, hi, best = 1, spec.MAX_CHANNELS, None
    while lo <= hi:
        mid = (lo + hi) // 2
        try:
            best = (*build(mid), weights[:mid])
            lo = mid + 1
        except ProgramDoesNotFit:
            hi = mid - 1
    if best is None:
        raise ProgramDoesNotFit([f"not one output channel of {c_in * 9} weights fits"])
    return best


def readback_inputs(program):
    """The inputs that read every weight of :func:`weight_readback_program`'s layer once:
    ``(x, index)``, ``x[r]`` the r-th run's input map and ``index[r, p]`` the weight index
    (into ``W.reshape(c_out, -1)``) that position ``p`` reads in it, -1 for none."""
    c_in, _, width = program.input_shape
    n, fan_in = width // 3, c_in * 9
    runs = -(-fan_in // n)
    x = np.zeros((runs, c_in, 3, width))
    index = np.full((runs, n), -1)
    for j in range(fan_in):
        r, p = divmod(j, n)
        ci, rest = divmod(j, 9)
        ky, kx = divmod(rest, 3)
        x[r, ci, ky, 3 * p + kx] = 1.0
        index[r, p] = j
    return x, index


def _weight_readback(driver, hello, rng):
    """Run :func:`weight_readback_program` on :func:`readback_inputs`; the differences."""
    try:
        program, plan, weights = weight_readback_program(hello, rng)
    except ProgramDoesNotFit as exc:
        return {"problem": f"no read-back layer fits the device ({exc})", "runs": 0,
                "coverage": {}}
    driver.load(plan)
    c_out = weights.shape[0]
    columns = weights.reshape(c_out, -1)
    x, index = readback_inputs(program)
    wrong = []
    for r in range(len(x)):
        got = np.asarray(driver.infer(plan, x[r]).int_output).reshape(c_out, -1)
        for p, j in enumerate(index[r]):
            if j < 0:
                continue
            for c in np.flatnonzero(got[:, p] != columns[:, j]):
                wrong.append({"channel": int(c), "position": int(j),
                              "wrote": int(columns[c, j]), "read": int(got[c, p])})
    out = {"runs": len(x), "positions_per_run": index.shape[1], "channels": int(c_out),
           "fan_in": int(columns.shape[1]), "coverage": _coverage(plan, hello),
           "differences": len(wrong), "first_differences": wrong[:5]}
    if wrong:
        w = wrong[0]
        out["problem"] = (f"{len(wrong)} of {columns.size} weights differ (first: channel "
                          f"{w['channel']}, weight {w['position']}: wrote {w['wrote']}, "
                          f"read {w['read']})")
    return out


def check_inputs(program, count, rng):
    """``count`` inputs for ``program``: on the exact codes of its input quantization when it
    starts with one (every code from -128 to 127 equally likely), else standard normal."""
    shape = (count,) + tuple(program.input_shape)
    first = program.ops[0] if program.ops else None
    if getattr(first, "kind", None) == "quantize":
        codes = rng.integers(spec.ACT_MIN, spec.ACT_MAX + 1, shape)
        return codes * float(first.params["scale"])
    return rng.standard_normal(shape)


def _coverage(plan, hello):
    """Fraction of each write-only memory the plan's image writes."""
    seen = {}
    for mem, lane, addr, words in plan.load_writes():
        seen.setdefault((Mem(mem), lane), set()).update(range(addr, addr + len(words)))
    lanes = int(hello["lanes"])
    sizes = {Mem.WEIGHT: ("lane_words", lanes), Mem.CHAN: ("chan_depth", lanes),
             Mem.PARAM: ("param_depth", 1), Mem.CONFIG: ("config_depth", 1)}
    out = {}
    for mem, (key, n) in sizes.items():
        used = sum(len(v) for (m, _), v in seen.items() if m is mem)
        out[mem.name] = used / (int(hello[key]) * n)
    return out


def _golden_for(hello):
    keys = ("lanes", "lane_words", "act_depth", "width", "chan_depth", "param_depth",
            "config_depth", "clk_hz", "baud")
    return GoldenDevice(**{k: int(hello[k]) for k in keys})


def check_programs(driver, hello, paths, *, inputs=2, seed=0):
    """Each program run on the device against the golden executor and golden device."""
    rng = np.random.default_rng([seed, 2])
    results, problems, coverage = [], [], {}
    ran = 0
    for path in paths:
        program = load(path)
        name = Path(path).name
        try:
            plan = DevicePlan.build(program, hello)
        except (ProgramDoesNotFit, ValueError) as exc:
            results.append({"program": name, "status": "skip", "reason": str(exc)})
            continue
        driver.load(plan)
        golden = Driver(_golden_for(hello), timeout=1.0)
        golden.load(plan)
        x = check_inputs(program, inputs, rng)
        ref = execute(program, x)
        diffs = []
        for i in range(inputs):
            got = driver.infer(plan, x[i])
            want = golden.infer(plan, x[i])
            if not np.array_equal(got.output, ref.output[i]):
                diffs.append(f"input {i}: output differs from the golden executor's")
            if not np.array_equal(got.int_output, ref.int_output[i]):
                diffs.append(f"input {i}: last engine map differs from the golden "
                             f"executor's")
            if got.cycles != want.cycles:
                diffs.append(f"input {i}: {got.cycles} cycles, the golden device "
                             f"{want.cycles}")
            for key in spec.ENGINE_COUNTERS:
                if got.counters[key] != want.counters[key]:
                    diffs.append(f"input {i}: counter {key} {got.counters[key]}, the golden "
                                 f"device {want.counters[key]}")
        ran += 1
        for mem, frac in _coverage(plan, hello).items():
            coverage[mem] = max(coverage.get(mem, 0.0), frac)
        results.append({"program": name, "status": "fail" if diffs else "pass",
                        "inputs": inputs, "cycles": got.cycles, "differences": diffs})
        problems += [f"{name} {d}" for d in diffs]
    data = {"programs": results, "coverage": coverage}
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        return Check("programs", "fail", "; ".join(problems[:2]) + more, data)
    if not ran:
        return Check("programs", "skip", "no program fits the device: "
                     + "; ".join(f"{r['program']}: {r['reason']}" for r in results), data)
    cov = ", ".join(f"{m} {100 * f:.0f} %" for m, f in coverage.items())
    skipped = [r["program"] for r in results if r["status"] == "skip"]
    return Check("programs", "pass",
                 f"{ran} programs x {inputs} inputs equal the golden executor (outputs) and "
                 f"device (cycles, counters); memory their images write (the most of one "
                 f"program): {cov}"
                 + (f"; skipped (do not fit): {', '.join(skipped)}" if skipped else ""),
                 data)


def check_link(driver, hello, *, frames=200, seed=0, max_frame_error_rate=0.001):
    """Largest-payload frames written and read back; the fraction that needed resending."""
    rng = np.random.default_rng([seed, 3])
    size = min(int(hello["act_depth"]), int(hello["max_payload"]) - 4)
    before = dict(driver.stats)
    start = time.monotonic()
    mismatched = 0
    for _ in range((frames + 1) // 2):
        data = rng.integers(spec.ACT_MIN, spec.ACT_MAX + 1, size).astype(np.int8)
        driver.write_mem(Mem.ACT, 0, 0, data)
        if not np.array_equal(driver.read_act(0, size), data):
            mismatched += 1
    seconds = time.monotonic() - start
    delta = {k: driver.stats[k] - before[k] for k in driver.stats}
    sent, requests = delta["frames"], delta["requests"]
    failed = sent - requests
    rate = failed / sent if sent else 0.0
    nbytes = delta["bytes_out"] + delta["bytes_in"]
    bits = 10 * nbytes
    data = {"frames_sent": sent, "requests": requests, "frames_resent": failed,
            "frame_error_rate": rate, "max_frame_error_rate": max_frame_error_rate,
            "bytes": nbytes, "seconds": seconds, "payload_bytes": size,
            "baud": int(hello["baud"]), "mismatched_reads": mismatched,
            # Each failed frame had at least one bad bit; with none, the rule of three.
            "bit_error_rate_bound": (failed / bits if failed else 3 / bits) if bits else None,
            "bytes_per_s": nbytes / seconds if seconds else None,
            "driver": delta}
    line = (f"{failed} of {sent} frames resent ({100 * rate:.2f} %; {delta['bad_crc']} bad "
            f"CRC, {delta['naks']} NAK, {delta['timeouts']} time-outs); "
            f"{nbytes / max(seconds, 1e-9) / 1e3:.1f} kB/s at {hello['baud']} Bd")
    if mismatched:
        return Check("link", "fail", f"{mismatched} reads differ from what was written; "
                     + line, data)
    if rate > max_frame_error_rate:
        return Check("link", "fail", line + f": above the {100 * max_frame_error_rate:g} % "
                     f"allowed", data)
    return Check("link", "pass", line, data)


def check_xadc(driver, hello, *, vccint_range=VCCINT_RANGE_V,
               temperature_range=TEMPERATURE_RANGE_C):
    """The POWER reply of the last RUN: complete sets, no stuck channel, VCCINT and the die
    temperature in range."""
    from ..power.energy import mean_codes
    from ..power.xadc_scale import MAX_CODE, die_temperature_c, supply_sensor_volts

    caps = int(hello["caps"])
    if not caps & (Capability.POWER | Capability.POWER_MODEL):
        return Check("xadc", "skip", "the device has no power meter (HELLO caps)")
    source = "XADC" if caps & Capability.POWER else "XADC model (simulation, not a measurement)"
    payload = driver.power(hello)
    problems = []
    means = {}
    for window in ("run", "idle"):
        n = payload[f"{window}_samples"]
        if n == 0:
            problems.append(f"no complete sample set in the {window} window")
            continue
        means[window] = mean_codes(payload, window)
        for c, code in means[window].items():
            if code <= 0 or code >= MAX_CODE:
                problems.append(f"{c} stuck at {'zero' if code <= 0 else 'full scale'} in the "
                                f"{window} window (mean code {code:.0f})")
    vccint = {w: float(supply_sensor_volts(m["vccint"])) for w, m in means.items()}
    celsius = {w: float(die_temperature_c(m["temperature"])) for w, m in means.items()}
    lo, hi = vccint_range
    for window, volts in vccint.items():
        if not lo <= volts <= hi:
            problems.append(f"VCCINT {volts:.3f} V in the {window} window, outside "
                            f"[{lo}, {hi}] V")
    t_lo, t_hi = temperature_range
    for window, t in celsius.items():
        if not t_lo <= t <= t_hi:
            problems.append(f"die temperature {t:.1f} C in the {window} window, outside "
                            f"[{t_lo}, {t_hi}] C")
    data = {"source": source, "payload": payload, "mean_codes": means,
            "vccint_v": vccint, "vccint_range_v": list(vccint_range),
            "die_temperature_c": celsius, "temperature_range_c": list(temperature_range)}
    if problems:
        return Check("xadc", "fail", f"{source}: " + "; ".join(problems), data)
    volts = ", ".join(f"{w} {v:.3f} V" for w, v in vccint.items())
    temps = ", ".join(f"{w} {t:.1f} C" for w, t in celsius.items())
    return Check("xadc", "pass", f"{source}: VCCINT {volts} in [{lo}, {hi}] V; die "
                 f"{temps} in [{t_lo}, {t_hi}] C; {payload['run_samples']} + "
                 f"{payload['idle_samples']} sample sets", data)


def check_device(driver, *, programs=BUNDLED_PROGRAMS, inputs=2, frames=200, seed=0,
                 max_frame_error_rate=0.001, vccint_range=VCCINT_RANGE_V,
                 temperature_range=TEMPERATURE_RANGE_C, act_patterns=None, on_check=None):
    """Run every check on ``driver``; returns the list of :class:`Check`.

    A check that cannot run because an earlier one failed (no HELLO) is a ``fail`` too, so
    the list always has all five. A request that gets no valid answer during a check fails
    that check, with the driver's reason, and the next checks still run. ``on_check(check)``
    is called as each finishes (the command prints progress with it). ``act_patterns``
    (a subset of :data:`ACT_PATTERNS`) shortens the activation memory's test on a slow
    link, such as the virtual board's in the tests.
    """
    checks = []

    def add(check, start):
        check.seconds = time.monotonic() - start
        checks.append(check)
        if on_check is not None:
            on_check(check)

    start = time.monotonic()
    handshake, hello = check_handshake(driver)
    add(handshake, start)
    steps = (("memories", lambda: check_memories(driver, hello, seed=seed,
                                                 patterns=act_patterns)),
             ("programs", lambda: check_programs(driver, hello, programs, inputs=inputs,
                                                 seed=seed)),
             ("link", lambda: check_link(driver, hello, frames=frames, seed=seed,
                                         max_frame_error_rate=max_frame_error_rate)),
             ("xadc", lambda: check_xadc(driver, hello, vccint_range=vccint_range,
                                         temperature_range=temperature_range)))
    for name, step in steps:
        start = time.monotonic()
        if hello is None:
            add(Check(name, "fail", "not run: no HELLO"), start)
            continue
        try:
            check = step()
        except (DeviceError, IncompatibleDevice, ValueError) as exc:
            # ValueError: sizes in the HELLO that no engine can have.
            check = Check(name, "fail", str(exc))
        add(check, start)
    return checks


def table_text(checks):
    """The summary table: one line a check."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  result  seconds  detail"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.status.upper():<6}  {c.seconds:7.1f}  {c.detail}")
    return "\n".join(lines) + "\n"
