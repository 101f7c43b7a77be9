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
from sw.infer.pipeline import DEFAULT_MODEL, ROOT

RECORDING = ROOT / "data" / "example" / "tcd-example.wav"

pytestmark = pytest.mark.slow


def _run(device, out):
    status = main(["infer", str(RECORDING), "--device", device, "--out", str(out),
                   "--no-progress", "--table-rows", "0"])
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    return status, rows, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory, verilator):
    pytest.importorskip("hw.virtual.board")
    out = tmp_path_factory.mktemp("infer") / "sim"
    return (out, *_run("sim", out))


def test_virtual_board_equals_golden_event_by_event(sim_run, tmp_path):
    from scipy.special import softmax

    from sw.data.transform import apply_transform
    from sw.doppler.detector import front_end
    from sw.golden.executor import execute
    from sw.program.file import load

    _, status, rows, doc = sim_run
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


def test_esr_rows_on_the_virtual_board_equal_the_golden_executor(tmp_path, verilator):
    """``infer --dataset esr CSV --device sim`` with the committed ESR program (the narrow
    2D CNN on each row's TFR, wholly on the engine): every row's class and probabilities
    the golden executor's, the cycles the cycle model's, latency and energy reported."""
    pytest.importorskip("hw.virtual.board")
    from scipy.special import softmax

    from sw.data.esr import read_esr_csv
    from sw.data.esr_synthetic import write_synthetic_esr
    from sw.data.transform import apply_transform
    from sw.golden.executor import execute
    from sw.mapping.boards import board_config
    from sw.mapping.plan import DevicePlan
    from sw.program.file import load

    model = ROOT / "models" / "esr_attq.attq"
    csv_path = write_synthetic_esr(tmp_path / "esr.csv", n_rows=8, seed=4)
    out = tmp_path / "sim"
    assert main(["infer", "--dataset", "esr", str(csv_path), "--model", str(model),
                 "--device", "sim", "--out", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    doc = json.loads((out / "results.json").read_text())
    program = load(model)
    assert len(program.host_ops) == 2, "quantize and dequantize: the rest on the engine"
    ids, signals, _ = read_esr_csv(csv_path)
    res = execute(program, apply_transform(program.input_transform, signals[:, None, :]))
    assert [r["id"] for r in rows] == ids
    assert [int(r["class_index"]) for r in rows] == res.predictions().tolist()
    for event, logits in zip(doc["events"], res.output):
        np.testing.assert_allclose([event["probabilities"][c] for c in program.classes],
                                   softmax(logits), rtol=1e-12)
    plan = DevicePlan.build(program, board_config("virtual").hello())
    want = plan.expected_cycles(range(len(plan.image.layers)))
    assert {int(r["cycles"]) for r in rows} == {want}
    assert doc["summary"]["latency_us_mean"] == pytest.approx(want / 100)
    assert (out / "energy.json").exists()


def test_a_killed_run_resumes_to_the_uninterrupted_runs_files(sim_run, tmp_path):
    """``infer --device sim`` killed with SIGKILL midway (the virtual board with it): the
    events classified so far are in the journal; ``--resume`` classifies the rest and
    ends with the uninterrupted run's files, timings aside."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sw.infer.journal import JOURNAL_NAME
    from testsupport.infer_runs import comparable_json, csv_without_timing

    done_out, _, rows, _ = sim_run
    out = tmp_path / "killed"
    argv = ["infer", str(RECORDING), "--device", "sim", "--out", str(out), "--no-progress",
            "--table-rows", "0"]
    proc = subprocess.Popen([sys.executable, "-m", "sw.cli", *argv], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    journal = out / JOURNAL_NAME

    def kept():
        return max(0, journal.read_bytes().count(b"\n") - 1) if journal.exists() else 0
    deadline = time.monotonic() + 600
    while kept() < 5:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no events journalled in 10 minutes"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    before = kept()
    assert 5 <= before < len(rows)
    assert sorted(p.name for p in out.iterdir()) == [JOURNAL_NAME]

    assert main([*argv, "--resume"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in done_out.iterdir())
    assert csv_without_timing(out / "results.csv") == \
        csv_without_timing(done_out / "results.csv")
    for name in ("results.json", "energy.json"):
        assert comparable_json(out / name) == comparable_json(done_out / name), name
