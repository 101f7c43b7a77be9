"""XADC transfer functions (UG480), the calibration file and the factor fit."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sw.errors import InputError
from sw.power import xadc_scale
from sw.power.xadc_scale import (aux_unipolar_volts, channel_volts, die_temperature_c,
                                 fit_factor, load_calibration, supply_sensor_volts)

REPO = Path(__file__).resolve().parents[1]


def test_supply_sensor_transfer():
    # UG480 Eq. 2-7: V = code12 * 3 / 4096, code12 = code16 >> 4.
    assert supply_sensor_volts(0x5550) == pytest.approx(1365 * 3 / 4096)
    assert supply_sensor_volts(0xFFF0) == pytest.approx(2.999267578125)
    assert supply_sensor_volts(0) == 0


def test_aux_unipolar_transfer():
    # UG480 Ch. 2 "Unipolar Mode": 1 V full scale, 1 LSB = 1/4096 V = 244 uV.
    assert aux_unipolar_volts(0x0010) == pytest.approx(0.000244140625)
    assert aux_unipolar_volts(0x8000) == pytest.approx(0.5)
    assert aux_unipolar_volts(0xFFF0) == pytest.approx(0.999755859375)
    assert np.allclose(aux_unipolar_volts([0x4000, 0xC000]), [0.25, 0.75])


def test_channel_picks_the_transfer_function():
    assert channel_volts("vccint", 0x8000) == pytest.approx(1.5)
    for ch in ("isns0v95", "vsns5v0", "isns5v0"):
        assert channel_volts(ch, 0x8000) == pytest.approx(0.5)
    for ch in ("vccaux", "temperature"):
        with pytest.raises(ValueError, match="no volts for channel"):
            channel_volts(ch, 0)


def test_die_temperature_by_ug480_equation_2_1():
    # T = code_12 * 503.975 / 4096 - 273.15: 2545 -> 39.99 C; 0x8000 (2048) -> -21.16 C.
    assert die_temperature_c(2545 << 4) == pytest.approx(2545 * 503.975 / 4096 - 273.15)
    assert die_temperature_c(2545 << 4) == pytest.approx(39.99, abs=0.01)
    assert die_temperature_c(0x8000) == pytest.approx(251.9875 - 273.15)


def write(tmp_path, doc):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(doc))
    return path


def entry(gain, unit, offset=0.0):
    return {"gain": gain, "unit": unit, "offset_v": offset, "source": "test",
            "procedure": "test"}


def good():
    return {"factors": {"isns0v95": entry(10.0, "A/V"), "isns5v0": entry(4.0, "A/V", 0.01),
                        "vsns5v0": entry(6.4, "V/V")}}


def test_rail_values_from_factors(tmp_path):
    cal = load_calibration(write(tmp_path, good()))
    assert cal.rail("isns0v95", 0x4000) == pytest.approx(2.5)          # 0.25 V * 10 A/V
    assert cal.rail("isns5v0", 0x4000) == pytest.approx(0.96)          # (0.25 - 0.01) * 4
    assert cal.rail("vsns5v0", 51200) == pytest.approx(5.0)            # 0.78125 V * 6.4
    assert cal.rail("vccint", 0x4000) == pytest.approx(0.75)           # supply sensor


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["factors"].pop("isns5v0"), "factors.isns5v0"),
    (lambda d: d["factors"]["isns0v95"].update(unit="V/V"), "factors.isns0v95.unit"),
    (lambda d: d["factors"]["vsns5v0"].update(gain=-1), "factors.vsns5v0.gain"),
    (lambda d: d["factors"]["vsns5v0"].update(gain="6.4"), "factors.vsns5v0.gain"),
    (lambda d: d["factors"]["isns5v0"].pop("gain"), "factors.isns5v0.gain"),
    (lambda d: d["factors"]["isns5v0"].update(offset_v=None), "factors.isns5v0.offset_v"),
    (lambda d: d["factors"]["isns5v0"].update(procedure=""), "factors.isns5v0.procedure"),
    (lambda d: d.pop("factors"), "factors"),
])
def test_bad_calibration_names_file_and_field(tmp_path, mutate, field):
    doc = good()
    mutate(doc)
    path = write(tmp_path, doc)
    with pytest.raises(InputError) as info:
        load_calibration(path)
    assert str(path) in str(info.value) and field in str(info.value)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_calibration(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="not a JSON file"):
        load_calibration(tmp_path / "bad.json")


def test_unmeasured_factor_refuses_with_its_procedure(tmp_path):
    doc = good()
    doc["factors"]["isns0v95"]["gain"] = None
    doc["factors"]["isns0v95"]["procedure"] = "docs/power.md steps C1-C3"
    cal = load_calibration(write(tmp_path, doc))
    with pytest.raises(InputError, match=r"factors\.isns0v95\.gain is null.*steps C1-C3"):
        cal.rail("isns0v95", 0x1000)


def test_project_file_loads_and_every_procedure_exists():
    cal = load_calibration(xadc_scale.DEFAULT_CALIBRATION)
    doc = (REPO / "docs" / "power.md").read_text()
    for factor in cal.factors.values():
        assert "docs/power.md" in factor.procedure
        for step in re.findall(r"\b[A-C][1-9]\b", factor.procedure):
            assert f"**{step}**" in doc, step
        if factor.gain is None:
            assert "not measured" in factor.source


def test_fit_factor_recovers_gain_and_offset():
    x = np.array([0.11, 0.21, 0.51])
    gain, offset = fit_factor(x, 2.5 * (x - 0.01))
    assert gain == pytest.approx(2.5) and offset == pytest.approx(0.01)
    with pytest.raises(ValueError, match="distinct"):
        fit_factor([0.1, 0.1], [1, 2])
    with pytest.raises(ValueError, match="gain"):
        fit_factor([0.1, 0.2], [2, 1])
