"""Run energy from a POWER payload, with hand-computed numbers, and its refusals."""

import json

import pytest

from sw import spec
from sw.errors import InputError
from sw.power.energy import PowerDataError, power_report
from sw.power.xadc_scale import load_calibration

CLK = 100_000_000


@pytest.fixture
def cal(tmp_path):
    def entry(gain, unit):
        return {"gain": gain, "unit": unit, "offset_v": 0.0, "source": "test",
                "procedure": "test"}
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"factors": {"isns0v95": entry(10.0, "A/V"),
                                            "isns5v0": entry(4.0, "A/V"),
                                            "vsns5v0": entry(6.4, "V/V")}}))
    return load_calibration(path)


def payload(run=None, idle=None, run_samples=10, idle_samples=20, run_cycles=1_000_000):
    # Codes: vccint 20480 (0.9375 V), isns0v95 idle 8192 / run 16384 (0.125 / 0.25 V),
    # vsns5v0 51200 (0.78125 V), isns5v0 idle 4096 / run 6144 (0.0625 / 0.09375 V), the
    # die temperature 40720 (no part of the energy).
    run = run or {"vccint": 20480, "isns0v95": 16384, "vsns5v0": 51200, "isns5v0": 6144,
                  "temperature": 40720}
    idle = idle or {"vccint": 20480, "isns0v95": 8192, "vsns5v0": 51200, "isns5v0": 4096,
                    "temperature": 40720}
    p = {"run_cycles": run_cycles, "run_samples": run_samples, "idle_samples": idle_samples}
    p.update({f"run_{c}": run[c] * run_samples for c in spec.POWER_CHANNELS})
    p.update({f"idle_{c}": idle[c] * idle_samples for c in spec.POWER_CHANNELS})
    return p


def test_hand_computed_energy(cal):
    # Through the wire format and back, as the driver will see it.
    values = spec.unpack_bytes(spec.POWER_FIELDS, spec.pack_bytes(spec.POWER_FIELDS, payload()))
    r = power_report(values, CLK, cal)
    assert r.t_run_s == pytest.approx(0.01)                 # 1e6 cycles at 100 MHz
    v = r.rails["vccint"]
    # 0.9375 V; 0.125 V * 10 A/V = 1.25 A idle, 2.5 A run.
    assert (v.v_idle, v.i_idle, v.i_run) == pytest.approx((0.9375, 1.25, 2.5))
    assert v.p_idle == pytest.approx(1.171875) and v.p_run == pytest.approx(2.34375)
    assert v.energy_j == pytest.approx(0.01171875)           # 1.171875 W * 0.01 s
    b = r.rails["board_5v0"]
    # 0.78125 V * 6.4 = 5 V; 0.0625 V * 4 A/V = 0.25 A idle, 0.09375 V -> 0.375 A run.
    assert (b.v_run, b.i_idle, b.i_run) == pytest.approx((5.0, 0.25, 0.375))
    assert b.energy_j == pytest.approx(0.00625)             # (1.875 - 1.25) W * 0.01 s
    assert r.to_dict()["rails"]["board_5v0"]["p_run"] == pytest.approx(1.875)


def test_means_divide_by_the_sample_count(cal):
    p = payload()
    p["run_isns0v95"] = 163840 + 800                         # mean 16464 -> 0.251220703125 V
    r = power_report(p, CLK, cal)
    assert r.rails["vccint"].i_run == pytest.approx(2.51220703125)


def test_below_idle_gives_negative_energy(cal):
    p = payload(run={"vccint": 20480, "isns0v95": 4096, "vsns5v0": 51200, "isns5v0": 4096,
                     "temperature": 40720})
    r = power_report(p, CLK, cal)
    assert r.rails["vccint"].energy_j == pytest.approx((0.9375 * 0.625 - 1.171875) * 0.01)


@pytest.mark.parametrize("change, match", [
    (dict(run_samples=0), "run_samples is 0"),
    (dict(idle_samples=0), "idle_samples is 0"),
    (dict(run_cycles=0), "run_cycles is 0"),
    (dict(run_cycles=(1 << 32) - 1), "run_cycles is saturated"),
    (dict(idle_vccint=(1 << 48) - 1), "idle_vccint is saturated"),
    (dict(run_vsns5v0=10 * 0xFFF0 + 1), "run_vsns5v0 = .* exceeds"),
    (dict(idle_isns5v0=-1), "idle_isns5v0"),
    (dict(run_isns5v0=1.5), "run_isns5v0 must be an integer"),
])
def test_fields_that_make_no_sense(cal, change, match):
    p = payload()
    p.update(change)
    with pytest.raises(PowerDataError, match=match):
        power_report(p, CLK, cal)


def test_more_sample_sets_than_cycles(cal):
    with pytest.raises(PowerDataError, match="run_samples .* exceeds run_cycles"):
        power_report(payload(run_samples=5, run_cycles=4), CLK, cal)


def test_missing_field_and_bad_clock(cal):
    p = payload()
    del p["idle_isns0v95"]
    with pytest.raises(PowerDataError, match="idle_isns0v95 is missing"):
        power_report(p, CLK, cal)
    with pytest.raises(PowerDataError, match="clk_hz"):
        power_report(payload(), 0, cal)


def test_unmeasured_calibration_is_refused(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"factors": {
        c: {"gain": None, "unit": u, "offset_v": 0.0, "source": "not measured",
            "procedure": "docs/power.md"}
        for c, u in (("isns0v95", "A/V"), ("isns5v0", "A/V"), ("vsns5v0", "V/V"))}}))
    with pytest.raises(InputError, match="gain is null"):
        power_report(payload(), CLK, load_calibration(path))
