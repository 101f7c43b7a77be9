"""``attq-fpga board check`` against the golden device, against devices with faults put in
on purpose (an activation byte that reads a bit wrong, weight words that store a bit
flipped, a device that lies about a depth, a noisy link, an XADC out of range or stuck),
and on the virtual board."""

import json
from pathlib import Path

import numpy as np
import pytest

from sw import spec
from sw.board import check as board_check
from sw.board.check import check_device
from sw.cli import main
from sw.device import Driver
from sw.golden.device import GoldenDevice
from sw.spec import Capability, Mem

ROOT = Path(__file__).resolve().parents[1]
MNIST = [ROOT / "models" / "mnist_attq.attq"]


def statuses(checks):
    return {c.name: c.status for c in checks}


def run_on(device, **kw):
    kw.setdefault("programs", MNIST)
    kw.setdefault("frames", 20)
    return check_device(Driver(device, timeout=0.05, retries=20), **kw)


class ActBitStuck(GoldenDevice):
    """Bit 3 of activation byte 1000 reads as 1 whatever was written."""

    def _op_read(self, payload):
        data = bytearray(super()._op_read(payload))
        addr = int.from_bytes(payload[2:4], "little")
        if addr <= 1000 < addr + len(data):
            data[1000 - addr] |= 0x08
        return bytes(data)


class WeightBitFlipped(GoldenDevice):
    """Lane 1's weight words 0..63 store one bit inverted (a write-only memory the link
    cannot read back): the lowest bit of the field ``field`` (sw.spec.WEIGHT_WORD_FIELDS,
    first field lowest)."""

    def __init__(self, field, **kw):
        super().__init__(**kw)
        names = [name for name, _, _ in spec.WEIGHT_WORD_FIELDS]
        self.bit = sum(width for _, width, _ in spec.WEIGHT_WORD_FIELDS[:names.index(field)])

    def _op_write(self, payload):
        out = super()._op_write(payload)
        if payload[0] == Mem.WEIGHT and payload[1] == 1:
            addr = int.from_bytes(payload[2:4], "little")
            count = (len(payload) - 4) // spec.MEM_WORD_BYTES[Mem.WEIGHT]
            for a in range(addr, min(addr + count, 64)):
                self.weights[1, a] ^= np.uint64(1 << self.bit)
        return out


class DepthLie(GoldenDevice):
    """Announces one more weight word a lane than it takes."""

    def hello(self):
        return {**super().hello(), "lane_words": self.lane_words + 1}


class WithXadc(GoldenDevice):
    """A golden device with a power meter whose every sample set has ``codes``."""

    def __init__(self, codes, **kw):
        super().__init__(caps=int(Capability.TERNARY | Capability.DENSE | Capability.MAX_POOL
                                  | Capability.LEAKY_RELU | Capability.POWER), **kw)
        self.codes = codes

    def _op_power(self, payload):
        n = 50
        values = {"run_cycles": 1000, "run_samples": n, "idle_samples": n}
        for window in ("run", "idle"):
            values.update({f"{window}_{c}": self.codes[c] * n for c in spec.POWER_CHANNELS})
        return spec.pack_bytes(spec.POWER_FIELDS, values)


#: VCCINT 0.95 V on the supply sensor: code = V / 3 V * 65536, a 12-bit result << 4
#: (UG480 Eq. 2-7); the sense inputs at a tenth of their 1 V range; the die near 35 C:
#: code_12 = (35 + 273.15) * 4096 / 503.975 = 2504.5 -> 2504, 34.94 C (UG480 Eq. 2-1).
GOOD_CODES = {"vccint": 20752, "isns0v95": 6544, "vsns5v0": 6544, "isns5v0": 6544,
              "temperature": 2504 << 4}


def test_golden_device_passes_and_the_record_says_so(tmp_path):
    status = main(["board", "check", "--device", "golden", "--out", str(tmp_path / "c"),
                   "--frames", "40", "--inputs", "1"])
    assert status == 0
    record = json.loads((tmp_path / "c" / "board_check.json").read_text())
    assert record["result"] == "pass"
    got = {c["name"]: c["status"] for c in record["checks"]}
    assert got == {"handshake": "pass", "memories": "pass", "programs": "pass",
                   "link": "pass", "xadc": "skip"}
    progs = next(c for c in record["checks"] if c["name"] == "programs")["data"]["programs"]
    assert [p["program"] for p in progs] == ["mnist_attq.attq", "hits_attq.attq",
                                            "esr_attq.attq"]
    link = next(c for c in record["checks"] if c["name"] == "link")["data"]
    # 20 writes and 20 reads of one frame each, 1020 bytes of data a frame.
    assert link["requests"] == 40 and link["frames_resent"] == 0
    assert link["payload_bytes"] == spec.LINK_MAX_PAYLOAD - 4


def test_a_stuck_activation_bit_fails_the_memory_check_at_its_address():
    checks = run_on(ActBitStuck())
    assert statuses(checks)["memories"] == "fail"
    mem = next(c for c in checks if c.name == "memories")
    assert {e["address"] for e in mem.data["first_errors"]} == {1000}
    # Seen only by patterns with bit 3 of byte 1000 clear: 0x00 and 0x55 (0101_0101); not
    # by 0xFF, 0xAA (1010_1010), the address's low byte (1000 & 0xFF = 1110_1000) or its
    # high byte (3 ^ 0x5A = 0101_1001).
    errors = mem.data["pattern_errors"]
    assert errors["0x00"] == 1 and errors["0x55"] == 1
    assert errors["0xFF"] == errors["0xAA"] == 0
    assert errors["address low byte"] == errors["address high byte"] == 0


@pytest.mark.parametrize("field", ["w", "off"])
def test_a_flipped_weight_bit_is_read_back_through_the_engine(field):
    checks = run_on(WeightBitFlipped(field))
    got = statuses(checks)
    assert got["memories"] == "fail" and got["programs"] == "fail"
    assert got["handshake"] == got["link"] == "pass"
    mem = next(c for c in checks if c.name == "memories")
    readback = mem.data["weight_readback"]
    assert readback["differences"] > 0
    if field == "w":
        # A value bit: each wrong weight reads back as the one written with its lowest
        # bit inverted.
        for d in readback["first_differences"]:
            assert d["read"] == d["wrote"] ^ 1
    assert "WEIGHT read back through the engine" in mem.detail


def test_the_weight_readback_covers_the_weight_memory():
    """On a sound device no weight differs; the layer fills nearly every weight word
    (the mapping's fill) and its runs read each weight once."""
    checks = run_on(GoldenDevice())
    readback = next(c for c in checks if c.name == "memories").data["weight_readback"]
    assert readback["differences"] == 0
    assert readback["coverage"]["WEIGHT"] > 0.98
    runs, per_run = readback["runs"], readback["positions_per_run"]
    assert (runs - 1) * per_run < readback["fan_in"] <= runs * per_run
    capacity = 8 * board_check.BOARDS["arty_a7_35t"].lane_words
    assert readback["channels"] * readback["fan_in"] <= capacity


@pytest.mark.parametrize("board", ["arty_a7_35t", "arty_a7_100t"])
def test_the_readback_layer_outputs_its_weights_on_the_golden_executor(board):
    """Under the golden executor, each position of each read-back run outputs the weight
    column its single 1 selects (the epilogue passes a weight through unchanged), and the
    runs select every weight once: the inputs worked out by hand from the geometry, a
    stride-3 window of 3 x 3 per position."""
    from sw.golden.executor import execute
    hello = board_check.BOARDS[board].hello()
    program, _, weights = board_check.weight_readback_program(hello, np.random.default_rng(3))
    c_out, c_in = weights.shape[:2]
    x, index = board_check.readback_inputs(program)
    n = program.input_shape[2] // 3
    assert sorted(index[index >= 0]) == list(range(c_in * 9))
    for r in range(len(x)):
        for p in range(n):
            ones = np.argwhere(x[r][:, :, 3 * p:3 * p + 3] == 1)
            if index[r, p] < 0:
                assert len(ones) == 0
                continue
            (ci, ky, kx), = ones
            assert index[r, p] == ci * 9 + ky * 3 + kx
    got = execute(program, x).int_output.reshape(len(x), c_out, n)
    columns = weights.reshape(c_out, -1)
    for r in range(len(x)):
        for p, j in enumerate(index[r]):
            if j >= 0:
                np.testing.assert_array_equal(got[r, :, p], columns[:, j])
    assert np.all(weights != 0) and np.abs(weights).max() <= 127


def test_a_depth_the_device_does_not_take_fails():
    checks = run_on(DepthLie())
    mem = next(c for c in checks if c.name == "memories")
    assert mem.status == "fail"
    words = board_check.BOARDS["arty_a7_35t"].lane_words
    assert f"WEIGHT lane 0: a WRITE at word {words} refused" in mem.detail


def test_a_noisy_link_fails_the_link_check_and_the_command_exits_1(tmp_path):
    # 0.05 % of the bytes corrupted each way: a frame fails with probability 1 - 0.9995^n
    # for its n bytes, 40 % at the largest payload and still 1.2 % at the driver's smallest
    # (16 data bytes and 9 of header and CRC), so the rate is far above 0.1 %, while
    # resends still carry every request through.
    status = main(["board", "check", "--device", "golden", "--out", str(tmp_path),
                   "--frames", "60", "--inputs", "1", "--model", str(MNIST[0]),
                   "--link-faults", "0", "0.0005", "--link-timeout", "0.05"])
    assert status == 1
    record = json.loads((tmp_path / "board_check.json").read_text())
    got = {c["name"]: c for c in record["checks"]}
    assert record["result"] == "fail"
    assert got["link"]["status"] == "fail"
    assert 0.01 < got["link"]["data"]["frame_error_rate"] < 0.9
    assert got["link"]["data"]["mismatched_reads"] == 0
    assert got["programs"]["status"] == "pass"


def xadc(codes):
    dev = WithXadc(codes)
    return board_check.check_xadc(Driver(dev, timeout=0.05), dev.hello())


def test_xadc_in_range_passes_and_out_of_range_or_stuck_fails():
    ok = xadc(GOOD_CODES)
    assert ok.status == "pass"
    assert ok.data["vccint_v"]["run"] == pytest.approx(20752 * 3 / 65536)
    assert ok.data["die_temperature_c"]["idle"] == pytest.approx(34.944, abs=0.001)
    assert xadc({**GOOD_CODES, "vccint": 24000}).status == "fail"      # 1.099 V
    # 2900 -> 83.67 C passes; 2920 -> 86.13 C does not.
    assert xadc({**GOOD_CODES, "temperature": 2900 << 4}).status == "pass"
    assert "die temperature 86.1 C" in xadc({**GOOD_CODES, "temperature": 2920 << 4}).detail
    assert "isns5v0 stuck at zero" in xadc({**GOOD_CODES, "isns5v0": 0}).detail


def test_the_xadc_check_runs_last_and_is_skipped_without_a_meter():
    got = [c.name for c in run_on(WithXadc(GOOD_CODES))]
    assert got == ["handshake", "memories", "programs", "link", "xadc"]
    skipped = next(c for c in run_on(GoldenDevice()) if c.name == "xadc")
    assert skipped.status == "skip" and "no power meter" in skipped.detail


def test_a_program_that_does_not_fit_is_skipped_with_the_reason():
    checks = run_on(GoldenDevice(lane_words=64),
                    programs=[ROOT / "models" / "hits_attq.attq"])
    prog = next(c for c in checks if c.name == "programs")
    assert prog.status == "skip"
    assert "hits_attq.attq" in prog.detail and "lane" in prog.detail


def test_inputs_are_the_exact_codes_of_the_input_quantization():
    from sw.program.file import load
    program = load(MNIST[0])
    scale = program.ops[0].params["scale"]
    x = board_check.check_inputs(program, 50, np.random.default_rng(0))
    codes = x / scale
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-9)
    assert codes.min() >= -128 and codes.max() <= 127 and np.ptp(codes) > 200


@pytest.mark.parametrize("argv, words", [
    (["--vccint-range", "1.0", "0.9"], "--vccint-range"),
    (["--temperature-range", "90", "10"], "--temperature-range"),
    (["--max-frame-error-rate", "2"], "--max-frame-error-rate"),
    (["--model", "no/such.attq"], "no/such.attq"),
    (["--device", "usb://x"], "--device usb://x"),
    (["--link-faults", "0.7", "0.7"], "--link-faults"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, argv, words):
    out = tmp_path / "out"
    status = main(["board", "check", "--device", "golden", "--out", str(out), *argv])
    assert status == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_the_virtual_board_passes_every_check(verilator):
    """The RTL behind the virtual board's socket: the whole weight read-back (the engine
    outputs every weight written) and the other checks; two of the activation patterns
    only, as the simulated link moves about 7 kB a second (the command runs all seven,
    results/board_check_virtual/board_check.json)."""
    from sw.device import open_device
    patterns = {k: board_check.ACT_PATTERNS[k] for k in ("0x55", "address low byte")}
    with open_device("sim") as drv:
        checks = check_device(drv, programs=MNIST, inputs=1, frames=10,
                              act_patterns=patterns)
    got = {c.name: c for c in checks}
    assert all(c.status == "pass" for c in checks), [c.detail for c in checks]
    assert got["handshake"].detail.startswith("VIRTUAL")
    assert got["memories"].data["weight_readback"]["coverage"]["WEIGHT"] > 0.98
    assert got["xadc"].status == "pass" and "model" in got["xadc"].detail
