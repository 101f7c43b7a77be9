"""``attq-fpga infer --device sim``: the virtual board (the device's RTL, verilated, behind a
TCP socket) gives, event by event, the golden executor's classes and outputs and the golden
protocol device's cycles and counters. Skipped without Verilator; the first run builds the
virtual board (cached under build/virtual_board)."""

import csv
import json

import numpy as np
import pytest

from sw import spec
from sw.cli import main
from sw.infer.command import DEFAULT_MODEL, ROOT

RECORDING = ROOT / "data" / "example" / "tcd-example.wav"

pytestmark = pytest.mark.slow


def _run(device, out):
    status = main(["infer", str(RECORDING), "--device", device, "--out", str(out),
                   "--no-progress", "--table-rows", "0"])
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    return status, rows, json.loads((out / "results.json").read_text())


def test_virtual_board_equals_golden_event_by_event(tmp_path, verilator):
    pytest.importorskip("hw.virtual.board")
    from scipy.special import softmax

    from sw.data.transform import apply_transform
    from sw.doppler.detector import front_end
    from sw.golden.executor import execute
    from sw.program.file import load

    status, rows, doc = _run("sim", tmp_path / "sim")
    assert status == 0 and doc["device"]["board"] == spec.Board.VIRTUAL
    program = load(DEFAULT_MODEL)
    _, segments = front_end(RECORDING)
    res = execute(program, apply_transform(program.input_transform, segments.channels()))
    assert len(rows) == len(res.output) > 0
    for i, (row, event) in enumerate(zip(rows, doc["events"])):
        assert row["error"] == ""
        assert int(row["class_index"]) == res.predictions()[i]
        np.testing.assert_allclose([event["probabilities"][c] for c in program.classes],
                                   softmax(res.output[i]), rtol=1e-12)
    # Cycles and counters: the golden protocol device, written from the spec, not the RTL.
    _, golden_rows, _ = _run("golden", tmp_path / "golden")
    keys = ["cycles", *spec.ENGINE_COUNTERS]
    assert [[r[k] for k in keys] for r in rows] == [[r[k] for k in keys]
                                                     for r in golden_rows]
