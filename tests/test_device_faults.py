"""The driver on a damaged link: bytes dropped or corrupted at 1 % and 5 % in both
directions (FaultProxy), a silent device, garbage, late answers and refusals. Every
inference gives the executor's result or a DeviceError, in bounded time, and a resent RUN
never runs twice on the device."""

import time
from pathlib import Path

import numpy as np
import pytest

from sw import spec
from sw.device import DeviceError, Driver, FaultProxy
from sw.golden.device import GoldenDevice
from sw.golden.executor import execute
from sw.link.frame import encode_frame
from sw.program import load
from sw.spec import Mem, Status

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    from sw.data.mnist import load_mnist
    from sw.data.transform import apply_transform
    program = load(ROOT / "models" / "mnist_attq.attq")
    x = apply_transform(program.input_transform, load_mnist(raw=True).x_test[:3])
    return program, x, execute(program, x)


@pytest.mark.parametrize("rate", [0.01, 0.05])
@pytest.mark.parametrize("fault", ["drop", "corrupt"])
def test_inference_survives_a_noisy_link(mnist, fault, rate):
    program, x, ref = mnist
    dev = GoldenDevice()
    proxy = FaultProxy(dev, **{fault: rate}, seed=int(rate * 1000))
    drv = Driver(proxy, timeout=0.005, retries=40)
    proxy.enabled = False        # the program goes in over a clean link, the inputs not
    plan = drv.prepare(program)
    proxy.enabled = True
    start = time.monotonic()
    for i in range(len(x)):
        output, int_output, cycles, _ = drv.infer(plan, x[i])
        np.testing.assert_array_equal(output, ref.output[i])
        np.testing.assert_array_equal(int_output, ref.int_output[i])
    assert drv.stats["retries"] > 0
    damaged = proxy.stats["to_device"]["dropped" if fault == "drop" else "corrupted"]
    assert damaged > 0
    # One RUN executed per inference, however often a RUN was resent.
    assert dev.runs_executed == len(x)
    assert time.monotonic() - start < 60


def test_program_load_survives_one_percent_corruption(mnist):
    program, x, ref = mnist
    dev = GoldenDevice()
    proxy = FaultProxy(dev, corrupt=0.01, seed=5)
    drv = Driver(proxy, timeout=0.005, retries=40)
    plan = drv.prepare(program)
    np.testing.assert_array_equal(drv.infer(plan, x[0]).output, ref.output[0])
    assert proxy.stats["to_device"]["corrupted"] > 100


class Silent:
    """A port that never answers."""
    timeout = None

    def write(self, data):
        return len(data)

    def read(self, n=1):
        return b""

    in_waiting = 0

    def reset_input_buffer(self):
        pass

    def close(self):
        pass


def test_a_silent_device_raises_after_the_retries():
    drv = Driver(Silent(), timeout=0.01, retries=3)
    start = time.monotonic()
    with pytest.raises(DeviceError) as info:
        drv.hello()
    assert time.monotonic() - start < 2
    err = info.value
    assert (err.op, err.status, err.tries) == ("HELLO", None, 4)
    assert "no valid answer (4 timeouts)" in str(err)


class Garbage(Silent):
    """A port that answers every request with noise."""

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def read(self, n=1):
        return self.rng.integers(0, 256, 64, dtype=np.uint8).tobytes()


def test_a_device_talking_garbage_raises():
    with pytest.raises(DeviceError, match="no valid answer"):
        Driver(Garbage(), timeout=0.01, retries=2).hello()


def test_a_refusal_is_not_retried():
    drv = Driver(GoldenDevice(act_depth=100), timeout=0.01)
    with pytest.raises(DeviceError) as info:
        drv.write_mem(Mem.ACT, 0, 90, np.zeros(20, np.int8))
    assert info.value.status is Status.BAD_ARGS and info.value.tries == 1
    assert "WRITE ACT lane 0 @ 90" in str(info.value) and "BAD_ARGS" in str(info.value)
    with pytest.raises(DeviceError, match="RUN 200\\+1: answered BAD_ARGS"):
        drv.run(200, 1)


class LateAnswers:
    """Before each response, a valid response to another seq (a late answer) and a NAK of
    a request never sent: the first must be ignored, the second makes the driver resend."""

    def __init__(self, dev):
        self.dev, self.timeout, self.injected = dev, None, 0

    def write(self, data):
        self.dev.write(data)
        seq = data[3]
        noise = encode_frame((seq + 77) & 0xFF, Status.OK, b"late")
        if self.injected % 2:
            noise += encode_frame((seq + 1) & 0xFF, Status.CRC_ERROR)
        self.injected += 1
        self.dev._out[:0] = noise
        return len(data)

    def read(self, n=1):
        return self.dev.read(n)

    @property
    def in_waiting(self):
        return self.dev.in_waiting

    def reset_input_buffer(self):
        pass

    def close(self):
        pass


def test_stale_answers_are_ignored_and_naks_resent():
    drv = Driver(LateAnswers(GoldenDevice()), timeout=0.01)
    hello = drv.hello()
    assert hello["magic"] == spec.LINK_MAGIC
    drv.write_mem(Mem.ACT, 0, 0, np.arange(-5, 5, dtype=np.int8))
    assert list(drv.read_act(0, 10)) == list(range(-5, 5))
    assert drv.stats["stale"] >= 2 and drv.stats["naks"] >= 1


def test_write_frames_shrink_on_a_noisy_link():
    dev = GoldenDevice()
    proxy = FaultProxy(dev, corrupt=0.02, seed=1)
    drv = Driver(proxy, timeout=0.005, retries=40)
    data = np.random.default_rng(0).integers(-128, 128, 3000).astype(np.int8)
    drv.write_mem(Mem.ACT, 0, 0, data)
    np.testing.assert_array_equal(dev.act[:3000], data)
    assert drv._chunk < spec.LINK_MAX_PAYLOAD - 4
    proxy.enabled = False
    np.testing.assert_array_equal(drv.read_act(0, 3000), data)


def test_fault_proxy_rates():
    class Sink(Silent):
        got = b""

        def write(self, data):
            self.got += data

    sink = Sink()
    proxy = FaultProxy(sink, drop=0.1, corrupt=0.2, seed=3)
    data = bytes(range(256)) * 400
    proxy.write(data)
    st = proxy.stats["to_device"]
    assert st["bytes"] == len(data)
    assert abs(st["dropped"] / len(data) - 0.1) < 0.01
    assert abs(st["corrupted"] / len(data) - 0.2) < 0.01
    assert len(sink.got) == len(data) - st["dropped"]
    with pytest.raises(ValueError, match="sum at most 1"):
        FaultProxy(sink, drop=0.6, corrupt=0.6)
