"""The energy report's arithmetic against hand computations."""

import math

import numpy as np
import pytest

from sw.infer.classify import Inference
from sw.infer.pipeline import DEFAULT_MODEL
from sw.infer.energy import (J_PER_SRAM_ACCESS, counter_energy, energy_png, energy_report,
                             full_precision_energy)


def test_counter_energy_by_hand():
    counters = {"busy_cycles": 999, "adds_plus": 1000, "adds_minus": 500,
                "weight_words": 1500, "act_reads": 1400, "act_writes": 100,
                "lane_stall_cycles": 7}
    got = counter_energy(counters)
    # 1500 adds x 3.7 pJ = 5.55 nJ; 3000 accesses x 10 pJ = 30 nJ.
    assert got["adds"] == 1500 and got["memory_accesses"] == 3000
    assert got["compute_j"] == pytest.approx(5.55e-9)
    assert got["memory_j"] == pytest.approx(30e-9)
    assert got["total_j"] == pytest.approx(35.55e-9)
    assert J_PER_SRAM_ACCESS == 10e-12      # Horowitz ISSCC 2014, 8 KB SRAM, 64-bit read


def test_full_precision_energy_of_the_hits_model_by_hand():
    """docs/hits-model.md: conv 1->8, 8->16, 16->32, 32->64 (3x3, pool 2) on 32 x 64, fc 512->3."""
    from sw.program.file import load
    fp = full_precision_energy(load(DEFAULT_MODEL))
    # (weights + biases) x pre-pool positions, and weights + biases 32-bit words.
    layers = [(1 * 8 * 9, 8, 32 * 64), (8 * 16 * 9, 16, 16 * 32), (16 * 32 * 9, 32, 8 * 16),
              (32 * 64 * 9, 64, 4 * 8), (512 * 3, 3, 1)]
    mult_adds = sum((w + b) * p for w, b, p in layers)
    transfers = sum(w + b for w, b, _ in layers)
    assert mult_adds == 163_840 + 598_016 + 593_920 + 591_872 + 1_539 == fp["mult_adds"]
    assert transfers == 25_923 == fp["transfers"]
    assert fp["ec_t_j"] == pytest.approx(1_949_187 * 3.7e-12 + 25_923 * 1e-9)


class _Layer:
    """The attributes Eq. 3 reads from an engine layer."""

    def __init__(self, name, mode, nnz, positions, out_channels, in_shape, kernel, bias):
        self.name, self.mode, self.nnz, self.positions = name, mode, nnz, positions
        self.out_channels, self.in_shape, self.kernel = out_channels, in_shape, kernel

        class _Ep:
            pass
        self.epilogue = _Ep()
        self.epilogue.bias = np.asarray(bias)


class _Program:
    def __init__(self, layers):
        self.engine_layers = layers


def _program():
    # Ternary 2 -> 4 channels, 3x3: 40 of its 72 weights nonzero, 10 positions, 2 nonzero
    # biases; dense 4 -> 2 on a 1 x 1 map: all 8 weights nonzero, 1 position, 2 biases.
    return _Program([_Layer("t", "ternary", 40, 10, 4, (2, 5, 5), (3, 3), [0, 3, 0, -1]),
                     _Layer("d", "dense", 8, 1, 2, (4, 1, 1), (1, 1), [1, 1])])


def test_report_by_hand():
    prog = _program()
    counters = {"busy_cycles": 0, "adds_plus": 300, "adds_minus": 100, "weight_words": 408,
                "act_reads": 408, "act_writes": 42, "lane_stall_cycles": 0}
    infs = [Inference(class_index=0, probabilities=np.array([1.0, 0.0]), cycles=10,
                      counters=counters),
            Inference(error="DeviceError: RUN: no answer after 3 tries"),
            Inference(class_index=1, probabilities=np.array([0.0, 1.0]), cycles=10,
                      counters=counters)]
    rep = energy_report(prog, infs, {"caps": 0, "clk_hz": 100_000_000})
    # Eq. 3: ternary: mult-adds (40 + 2) x 10 = 420, transfers ceil(40*2/32) + 2 + 2 = 7;
    # dense: (8 + 2) x 1 = 10 mult-adds, transfers ceil(8*8/32) + 2 (scales) + 2 = 6.
    est = 430 * 3.7e-12 + 13 * 1e-9
    assert rep["estimated"]["mult_adds"] == 430 and rep["estimated"]["transfers"] == 13
    assert rep["estimated"]["per_inference_j"] == pytest.approx(est)
    assert rep["succeeded"] == 2 and rep["inferences"] == 3
    assert rep["estimated"]["total_j"] == pytest.approx(2 * est)
    # Full precision: ternary 4*2*9 = 72 weights + 4 biases, 10 positions; dense 8 + 2.
    fp = (76 * 10 + 10 * 1) * 3.7e-12 + (76 + 10) * 1e-9
    assert rep["full_precision"]["per_inference_j"] == pytest.approx(fp)
    assert rep["full_precision"]["ec_g_t"] == pytest.approx((fp - est) / fp)
    # Simulated: 400 adds x 3.7 pJ + 858 accesses x 10 pJ per successful inference.
    sim = 400 * 3.7e-12 + 858 * 10e-12
    assert rep["measured"]["kind"] == "simulated"
    assert rep["measured"]["per_inference_mean_j"] == pytest.approx(sim)
    assert rep["measured"]["total_j"] == pytest.approx(2 * sim)
    assert rep["measured"]["ratio_to_estimated"] == pytest.approx(sim / est)
    assert rep["per_inference"][1]["simulated_j"] is None
    assert rep["per_inference"][1]["error"].startswith("DeviceError")
    assert energy_png(rep)[:4] == b"\x89PNG"


def test_report_with_no_success_is_nan_not_an_error():
    rep = energy_report(_program(), [Inference(error="x")], {"caps": 0, "clk_hz": 1})
    assert rep["succeeded"] == 0 and rep["estimated"]["total_j"] == 0
    assert math.isnan(rep["measured"]["per_inference_mean_j"])
    assert energy_png(rep)[:4] == b"\x89PNG"


def _power_payload():
    """1 ms RUN (100,000 cycles at 100 MHz), 10 run and 20 idle sample sets.

    Codes: VCCINT 16384 (0.75 V, UG480: code x 3 V / 65536); isns0v95 16384 running,
    8192 idle (0.25 / 0.125 V at the XADC); vsns5v0 53248 (0.8125 V); isns5v0 32768
    running, 16384 idle (0.5 / 0.25 V); the die at 40 C, which is no part of the energy.
    """
    codes = {"run": {"vccint": 16384, "isns0v95": 16384, "vsns5v0": 53248, "isns5v0": 32768,
                     "temperature": 40720},
             "idle": {"vccint": 16384, "isns0v95": 8192, "vsns5v0": 53248, "isns5v0": 16384,
                      "temperature": 40720}}
    payload = {"run_cycles": 100_000, "run_samples": 10, "idle_samples": 20}
    for window, n in (("run", 10), ("idle", 20)):
        for ch, code in codes[window].items():
            payload[f"{window}_{ch}"] = n * code
    return payload


def test_board_power_by_hand():
    pytest.importorskip("sw.power.energy")
    from sw import spec
    from sw.power.xadc_scale import Calibration, Factor

    cal = Calibration(path="test", factors={
        "isns0v95": Factor("isns0v95", 2.0, "A/V", 0.0, "test", "test"),
        "isns5v0": Factor("isns5v0", 1.0, "A/V", 0.0, "test", "test"),
        "vsns5v0": Factor("vsns5v0", 6.0, "V/V", 0.0, "test", "test")})
    counters = dict.fromkeys(spec.ENGINE_COUNTERS, 0)
    inf = Inference(class_index=0, probabilities=np.array([1.0, 0.0]), cycles=100_000,
                    counters=counters, power=_power_payload())
    hello = {"caps": int(spec.Capability.POWER), "clk_hz": 100_000_000}
    rep = energy_report(_program(), [inf, inf], hello, calibration=cal)
    # VCCINT: 0.75 V x (2 A/V x 0.25 V) = 0.375 W running, 0.1875 W idle: 0.1875 W x 1 ms.
    vccint = 0.1875 * 1e-3
    # 5 V input: 6 x 0.8125 = 4.875 V; 0.5 A running, 0.25 A idle: 1.21875 W x 1 ms.
    board = 4.875 * 0.25 * 1e-3
    assert rep["measured"]["kind"] == "measured"
    assert rep["measured"]["per_inference_mean_j"] == pytest.approx(vccint)
    assert rep["measured"]["total_j"] == pytest.approx(2 * vccint)
    assert rep["measured"]["board_5v0_per_inference_mean_j"] == pytest.approx(board)
    assert rep["per_inference"][0]["metered_rails_j"]["board_5v0"] == pytest.approx(board)
    assert "unavailable" not in rep["measured"]
    # Without measured factors (the committed calibration file holds nulls until someone
    # measures them) the report says so and compares with the simulated figure instead.
    nulls = Calibration(path="cal.json", factors={
        ch: Factor(ch, None, f.unit, 0.0, "not measured", "docs/power.md")
        for ch, f in cal.factors.items()})
    rep = energy_report(_program(), [inf], hello, calibration=nulls)
    assert rep["measured"]["kind"] == "simulated"
    assert "gain is null" in rep["measured"]["unavailable"]
    # The summary says it in one short line; the reason stays in the report.
    from sw.infer.report import summary_text
    summ = {"items": 1, "classified": 1, "failed": 0, "class_counts": {"a": 1, "b": 0}}
    lines = summary_text(summ, ["a", "b"], rep).splitlines()
    board = [line for line in lines if line.startswith("board energy")]
    assert len(board) == 1 and len(board[0]) < 100 and "calibrat" in board[0]
    assert not any("gain is null" in line for line in lines)
    # The virtual board's XADC model with the same null factors: one short line too.
    model = {"caps": int(spec.Capability.POWER_MODEL), "clk_hz": 100_000_000}
    rep = energy_report(_program(), [inf], model, calibration=nulls)
    lines = summary_text(summ, ["a", "b"], rep).splitlines()
    board = [line for line in lines if line.startswith("board energy")]
    assert len(board) == 1 and len(board[0]) < 100 and "needs a board" in board[0]
    assert "gain is null" in rep["xadc_model"]["unavailable"]
