"""``attq-fpga board calibrate`` with scripted answers, on a stand-in Arty whose sense
circuits are known: a 1:11 divider on 5V0, a 20 mOhm shunt and x25 amplifier on the 5 V
input, a 2 mOhm shunt and x200 amplifier on VCCINT, a regulator of 80 % efficiency. The
fitted factors must be those circuits' (within the XADC's 12-bit resolution), implausible
answers asked again or refused, and an interrupted session go on where it stopped."""

import io
import json
import shutil
from pathlib import Path

import pytest

from sw import spec
from sw.board.calibrate import Session, calibrate
from sw.cli import main
from sw.device import Driver
from sw.errors import InputError
from sw.golden.device import GoldenDevice
from sw.power.xadc_scale import load_calibration
from sw.spec import Capability

ROOT = Path(__file__).resolve().parents[1]

DIVIDER = 11.0                  # 5V0 volts per XADC volt
R5, G5 = 0.020, 25.0            # 5 V input shunt (ohm) and amplifier gain
RV, GV = 0.002, 200.0           # VCCINT shunt (ohm) and amplifier gain
VCCINT = 0.95
EFFICIENCY = 0.8
#: Expected factors: rail = gain * XADC volts.
WANT = {"vsns5v0": DIVIDER, "isns5v0": 1 / (R5 * G5), "isns0v95": 1 / (RV * GV)}


def conditions(points=3):
    """(5V0 volts, 5 V input amps, VCCINT amps) of each point of groups A, B, C."""
    a = [(4.8 + 0.2 * k, 0.40, 0.30) for k in range(points)]
    b = [(5.0, 0.30 + 0.25 * k, 0.30) for k in range(points)]
    c = []
    for k in range(points):
        iv = 0.2 + 0.4 * k
        # The regulator draws VCCINT's power / efficiency from the 5 V input.
        c.append((5.0, 0.30 + VCCINT * iv / EFFICIENCY / 5.0, iv))
    return a + b + c


def code(volts, full_scale):
    """The XADC's 12-bit result, MSB-justified in 16 bits (UG480)."""
    return min(round(volts / full_scale * 4096), 4095) << 4


class StandInArty(GoldenDevice):
    """A golden device with an XADC that reads the circuits above, one condition a POWER."""

    def __init__(self, conds):
        super().__init__(caps=int(Capability.TERNARY | Capability.DENSE | Capability.MAX_POOL
                                  | Capability.LEAKY_RELU | Capability.POWER))
        self.conds = list(conds)
        self.reads = 0

    def _op_power(self, payload):
        v5, i5, iv = self.conds[self.reads]
        self.reads += 1
        codes = {"vccint": code(VCCINT, 3.0), "vsns5v0": code(v5 / DIVIDER, 1.0),
                 "isns5v0": code(i5 * R5 * G5, 1.0), "isns0v95": code(iv * RV * GV, 1.0),
                 "temperature": 2545 << 4}
        n = 100
        values = {"run_cycles": 5000, "run_samples": n, "idle_samples": n}
        for window in ("run", "idle"):
            values.update({f"{window}_{c}": codes[c] * n for c in spec.POWER_CHANNELS})
        return spec.pack_bytes(spec.POWER_FIELDS, values)


def answers(conds, *, mv_scale=1.0):
    """What the user types: instruments, board, then per point Enter and the reading."""
    out = ["Fluke 87V (cal. 2026-03), Keysight 34465A", "Arty A7-35T rev. E"]
    n = len(conds) // 3
    for k, (v5, i5, iv) in enumerate(conds):
        out.append("")
        out.append(f"{(v5, i5, iv * RV * 1e3 * mv_scale)[k // n]:.6f}")
        if k == len(conds) - 1:
            out.append(f"{RV * 1e3:g}")
    return out


class Script:
    """``ask`` from a list of answers; records the prompts; EOFError when they run out."""

    def __init__(self, lines):
        self.lines, self.prompts = list(lines), []

    def __call__(self, prompt):
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


@pytest.fixture
def cal_file(tmp_path):
    path = tmp_path / "arty_a7_power.json"
    shutil.copy(ROOT / "calibration" / "arty_a7_power.json", path)
    return path


def run(device, cal_file, session_path, script, **kw):
    drv = Driver(device, timeout=0.2)
    return calibrate(drv, calibration_path=cal_file, session=Session.open(session_path),
                     ask=script, window_s=0.0, today="2026-12-07", **kw)


def test_the_fitted_factors_are_the_circuits(tmp_path, cal_file):
    conds = conditions()
    fits = run(StandInArty(conds), cal_file, tmp_path / "s.json", Script(answers(conds)))
    cal = load_calibration(cal_file)
    for channel, gain in WANT.items():
        # 12-bit codes: a point's XADC volts are off by at most half an LSB (122 uV).
        assert cal.factors[channel].gain == pytest.approx(gain, rel=0.01)
        assert abs(cal.factors[channel].offset_v) < 2e-3
    assert fits["C"]["amplifier_gain"] == pytest.approx(GV, rel=0.01)
    assert fits["C"]["c3_efficiency"] == pytest.approx(EFFICIENCY, abs=0.02)
    doc = json.loads(cal_file.read_text())
    entry = doc["factors"]["isns0v95"]
    assert "2026-12-07" in entry["source"] and "Fluke 87V" in entry["source"]
    assert "rev. E" in entry["source"] and len(entry["calibration"]["points"]) == 3
    assert entry["procedure"] == "docs/power.md, section 'Calibration', steps C1-C3"
    assert not (tmp_path / "s.json").exists()


def test_an_interrupted_session_goes_on_where_it_stopped(tmp_path, cal_file):
    conds = conditions()
    lines = answers(conds)
    before = cal_file.read_bytes()
    dev = StandInArty(conds)
    with pytest.raises(InputError, match="the input ended"):
        run(dev, cal_file, tmp_path / "s.json", Script(lines[:7]))
    assert cal_file.read_bytes() == before
    saved = json.loads((tmp_path / "s.json").read_text())
    # Instruments, board, then two whole points and the third's Enter.
    assert len(saved["groups"]["A"]["points"]) == 2
    rest = Script(lines[6:])
    run(StandInArty(conds[2:]), cal_file, tmp_path / "s.json", rest)
    assert not any("Instruments" in p for p in rest.prompts)
    assert rest.prompts[0].startswith("Group A, point 3 of 3")
    assert load_calibration(cal_file).factors["vsns5v0"].gain == pytest.approx(DIVIDER,
                                                                               rel=0.01)


def test_an_answer_that_is_no_number_or_implausible_is_asked_again(tmp_path, cal_file,
                                                                   capsys):
    conds = conditions()
    lines = answers(conds)
    # The first 5V0 reading: a word, then 50 (mV typed as V?), then the right one.
    lines[3:3] = ["five", "50"]
    run(StandInArty(conds), cal_file, tmp_path / "s.json", Script(lines))
    out = capsys.readouterr().out
    assert "'five' is not a number" in out and "50 is not plausible" in out


def test_readings_in_the_wrong_unit_fail_c3_and_nothing_is_written(tmp_path, cal_file):
    conds = conditions()
    before = cal_file.read_bytes()
    # Microvolts typed where millivolts are asked would be out of range; a reading ten
    # times too small (a wrong range on the meter) fits a line but gives a regulator
    # delivering ten times the power it draws.
    script = Script(answers(conds, mv_scale=0.1))
    with pytest.raises(InputError, match="C3"):
        run(StandInArty(conds), cal_file, tmp_path / "s.json", script)
    assert cal_file.read_bytes() == before
    saved = json.loads((tmp_path / "s.json").read_text())
    assert "C" not in saved["groups"] and saved["groups"]["A"]["done"]


def test_a_gain_outside_the_plausible_range_is_refused(tmp_path, cal_file):
    conds = conditions()
    lines = answers(conds)
    # The XADC reads 5V0 through 1:100 instead of 1:11 (another net on that input): a
    # line fits, but a gain of about 100 V/V (102.4 from the 12-bit codes)
    # leaves 5 V at 50 mV of a 1 V input.
    conds = [(v5 * DIVIDER / 100, i5, iv) for v5, i5, iv in conds[:3]] + conds[3:]
    with pytest.raises(InputError, match=r"group A .*gain 10\d(\.\d*)? V/V outside"):
        run(StandInArty(conds), cal_file, tmp_path / "s.json", Script(lines))
    saved = json.loads((tmp_path / "s.json").read_text())
    assert "A" not in saved["groups"]


def test_the_command_reads_its_answers_from_stdin(tmp_path, cal_file, monkeypatch):
    import sw.board.command as command
    conds = conditions(2)
    monkeypatch.setattr(command, "_open",
                        lambda args: Driver(StandInArty(conds), timeout=0.2))
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(answers(conds)) + "\n"))
    status = main(["board", "calibrate", "--device", "serial:///dev/ttyUSB1", "--file",
                   str(cal_file), "--session", str(tmp_path / "s.json"), "--points", "2",
                   "--window", "0.001"])
    assert status == 0
    assert load_calibration(cal_file).factors["isns5v0"].gain == pytest.approx(
        WANT["isns5v0"], rel=0.01)


def test_a_device_without_an_xadc_is_refused(tmp_path, cal_file, capsys):
    status = main(["board", "calibrate", "--device", "golden", "--file", str(cal_file),
                   "--session", str(tmp_path / "s.json")])
    assert status == 2
    assert "no XADC power meter" in capsys.readouterr().err


def test_a_session_file_of_something_else_is_refused_before_the_device(tmp_path, cal_file,
                                                                       capsys, monkeypatch):
    import sw.board.command as command
    monkeypatch.setattr(command, "_open", lambda args: pytest.fail("the device was opened"))
    session = tmp_path / "s.json"
    for text, words in (("{not json", "cannot read the calibration session"),
                        ('{"format": "attq-fpga board check"}', "format is")):
        session.write_text(text)
        status = main(["board", "calibrate", "--device", "serial:///dev/ttyUSB1", "--file",
                       str(cal_file), "--session", str(session)])
        err = capsys.readouterr().err
        assert status == 2 and words in err and "--restart" in err
