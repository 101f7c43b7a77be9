"""``attq-fpga board sim``: the virtual board as a command. It prints its socket:// URL,
answers a HELLO through pyserial at that URL, and stops with its simulator process on
SIGTERM; bad arguments exit 2."""

import os
import signal
import subprocess
import sys
import time

import pytest

from sw import spec
from sw.cli import main

pytestmark = pytest.mark.slow


def test_board_sim_answers_hello_over_pyserial_socket(verilator):
    import serial
    from sw.link import FrameParser, encode_frame

    proc = subprocess.Popen([sys.executable, "-m", "sw.cli", "board", "sim"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("virtual board listening on socket://127.0.0.1:"), line
        url = line.split()[4]
        port = serial.serial_for_url(url, timeout=0.05)
        port.write(encode_frame(7, spec.Op.HELLO))
        parser, frames, deadline = FrameParser(), [], time.monotonic() + 30
        while not frames and time.monotonic() < deadline:
            frames = parser.feed(port.read(64))
        port.close()
        (frame,) = frames
        assert (frame.seq, frame.code, frame.crc_ok) == (7, spec.Status.OK, True)
        hello = spec.unpack_bytes(spec.HELLO_FIELDS, frame.payload)
        assert hello["magic"] == b"ATTQ" and hello["board"] == spec.Board.VIRTUAL
        # The Arty A7-35T's engine, simulated at its 100 MHz clock.
        assert (hello["lanes"], hello["lane_words"], hello["act_depth"]) == (8, 3072, 6144)
        assert hello["clk_hz"] == 100_000_000
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    # The simulator went with it: nothing is left in the command's process group.
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


@pytest.mark.parametrize("args", [["--divisor", "1"], ["--port", "70000"]])
def test_board_sim_bad_arguments(args, capsys):
    assert main(["board", "sim", *args]) == 2
    assert args[0] in capsys.readouterr().err
