"""XADC codes to volts (UG480) and volts to rail currents and voltages (board calibration).

The chain from a code to a rail quantity has two steps:

1. **Code to volts at the XADC** — UG480 (7 Series FPGAs and Zynq-7000 SoC XADC User Guide,
   v1.11), Chapter 2 "ADC Transfer Functions": the ADC result is 12 bits, MSB-justified in
   the 16-bit status register (Chapter 3 "Status Registers"), so a code counts 1/65536 of
   full scale. The on-chip supply sensors (VCCINT here) have a 3 V full scale ("Power
   Supply Sensor", Equation 2-7: V = code_12 * 3 V / 4096); unipolar auxiliary inputs have
   a 1 V full scale ("Unipolar Mode" transfer function: 0-1 V over codes 000h-FFFh).
2. **XADC volts to rail amps or volts** — set by the Arty A7's sense circuits (shunt
   resistors and amplifier gains for ``isns0v95`` and ``isns5v0``, a divider for
   ``vsns5v0``). These factors could not be found in any source this project could read
   and cite (the Arty A7 schematic's power-sense page and the reference manual's power
   section were not available), so they live in ``calibration/arty_a7_power.json`` with
   the procedure that measures them (docs/power.md, "Calibration"); a factor still to be
   measured is ``null`` there and using it raises :class:`~sw.errors.InputError`.
"""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from sw import spec
from sw.errors import InputError

__all__ = [
    "CODE_SPAN", "MAX_CODE", "SUPPLY_FULL_SCALE_V", "AUX_FULL_SCALE_V", "SUPPLY_CHANNELS",
    "DEFAULT_CALIBRATION", "Factor", "Calibration", "load_calibration",
    "supply_sensor_volts", "aux_unipolar_volts", "channel_volts", "die_temperature_c",
    "TEMPERATURE_SPAN_K", "fit_factor",
]

#: Codes per full scale: 12-bit results MSB-justified in 16 bits (UG480 Ch. 3).
CODE_SPAN = 1 << 16
#: Largest code a sample can carry (a 12-bit result MSB-justified).
MAX_CODE = CODE_SPAN - 16
#: Full scale of the on-chip supply sensors (UG480 Ch. 2, Equation 2-7).
SUPPLY_FULL_SCALE_V = 3.0
#: Full scale of an auxiliary input in unipolar mode (UG480 Ch. 2, "Unipolar Mode").
AUX_FULL_SCALE_V = 1.0
#: Channels read by an on-chip supply sensor; the others are auxiliary inputs (and the die
#: temperature sensor, which gives degrees, not volts).
SUPPLY_CHANNELS = ("vccint",)
#: Kelvin per full scale of the 7 Series temperature sensor (UG480 Ch. 2, Equation 2-1:
#: T = code_12 * 503.975 / 4096 - 273.15).
TEMPERATURE_SPAN_K = 503.975

#: The project's calibration file for the Arty A7.
DEFAULT_CALIBRATION = Path(__file__).resolve().parents[2] / "calibration" / "arty_a7_power.json"

#: Channels whose XADC volts need a board factor, and the rail quantity each gives.
_BOARD_CHANNELS = {"isns0v95": "A/V", "isns5v0": "A/V", "vsns5v0": "V/V"}


def supply_sensor_volts(code):
    """Volts on a supply rail from its supply-sensor code (UG480 Eq. 2-7)."""
    return np.asarray(code, dtype=float) * SUPPLY_FULL_SCALE_V / CODE_SPAN


def aux_unipolar_volts(code):
    """Volts across VAUXP-VAUXN from a unipolar auxiliary code (UG480 Ch. 2, "Unipolar Mode")."""
    return np.asarray(code, dtype=float) * AUX_FULL_SCALE_V / CODE_SPAN


def die_temperature_c(code):
    """Die temperature in degrees Celsius from the temperature sensor's code (UG480 Eq. 2-1)."""
    return np.asarray(code, dtype=float) * TEMPERATURE_SPAN_K / CODE_SPAN - 273.15


def channel_volts(channel, code):
    """Volts at the XADC for ``channel`` (a name of :data:`sw.spec.POWER_CHANNELS` other than
    ``temperature``, which :func:`die_temperature_c` converts)."""
    if channel not in spec.POWER_CHANNELS or channel == "temperature":
        raise ValueError(f"no volts for channel {channel!r}: expected one of "
                         f"{tuple(c for c in spec.POWER_CHANNELS if c != 'temperature')}")
    if channel in SUPPLY_CHANNELS:
        return supply_sensor_volts(code)
    return aux_unipolar_volts(code)


@dataclasses.dataclass(frozen=True)
class Factor:
    """One board factor: ``rail = gain * (volts_at_xadc - offset_v)``.

    Attributes
    ----------
    channel : str
    gain : float or None
        Rail amps (or volts) per XADC volt; None while not yet measured.
    unit : str
        ``"A/V"`` or ``"V/V"``.
    offset_v : float
        XADC volts at zero rail current (or voltage).
    source : str
        Where the value comes from.
    procedure : str
        How to measure it.
    """
    channel: str
    gain: float | None
    unit: str
    offset_v: float
    source: str
    procedure: str


@dataclasses.dataclass(frozen=True)
class Calibration:
    """The board factors of one calibration file (see :func:`load_calibration`)."""
    path: str
    factors: dict

    def factor(self, channel):
        """The measured :class:`Factor` of ``channel``; InputError if it is not measured."""
        f = self.factors[channel]
        if f.gain is None:
            raise InputError(
                f"{self.path}: factors.{channel}.gain is null: the {channel} scale factor "
                f"has not been measured for this board ({f.source}); measure it as "
                f"{f.procedure} describes and write it there")
        return f

    def rail(self, channel, code):
        """Rail amps or volts from a (mean) code of ``channel``."""
        if channel in SUPPLY_CHANNELS:
            return channel_volts(channel, code)
        f = self.factor(channel)
        return f.gain * (channel_volts(channel, code) - f.offset_v)


def fit_factor(xadc_volts, reference):
    """Gain and offset of a board factor from calibration points (docs/power.md).

    Least-squares line ``reference = gain * (xadc_volts - offset_v)`` through paired
    readings: mean XADC volts of a channel and the same quantity read by a reference
    instrument (a multimeter's volts, a meter's amps).

    Parameters
    ----------
    xadc_volts, reference : array_like
        At least two points with distinct ``xadc_volts``.

    Returns
    -------
    (gain, offset_v) : tuple of float
    """
    x = np.asarray(xadc_volts, dtype=float)
    y = np.asarray(reference, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError("fit_factor needs two 1-D arrays of the same length, at least 2")
    if np.ptp(x) == 0:
        raise ValueError("fit_factor needs at least two distinct XADC readings")
    slope, intercept = np.polyfit(x, y, 1)
    if slope <= 0:
        raise ValueError(f"the fitted gain is {slope:g}: the readings do not rise together")
    return float(slope), float(-intercept / slope)


def _number(path, field, value, *, allow_null=False, positive=False):
    if value is None and allow_null:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{path}: {field} must be a finite number"
                         f"{' or null' if allow_null else ''}, not {value!r}")
    if positive and value <= 0:
        raise InputError(f"{path}: {field} must be > 0, not {value!r}")
    return float(value)


def load_calibration(path=DEFAULT_CALIBRATION):
    """Read a calibration file: ``{"factors": {channel: {gain, unit, offset_v, source,
    procedure}}}`` for ``isns0v95``, ``isns5v0`` and ``vsns5v0``.

    Raises
    ------
    InputError
        Naming the file and the field, if the file is missing, not JSON, or a field is
        absent or not what is expected.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: calibration file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a JSON file ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("factors"), dict):
        raise InputError(f"{path}: expected an object with a 'factors' object")
    factors = {}
    for channel, unit in _BOARD_CHANNELS.items():
        entry = doc["factors"].get(channel)
        where = f"factors.{channel}"
        if not isinstance(entry, dict):
            raise InputError(f"{path}: {where} is missing (expected an object with gain, "
                             f"unit, offset_v, source, procedure)")
        if entry.get("unit") != unit:
            raise InputError(f"{path}: {where}.unit must be {unit!r}, not "
                             f"{entry.get('unit')!r}")
        for key in ("source", "procedure"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise InputError(f"{path}: {where}.{key} must be a non-empty string")
        if "gain" not in entry:
            raise InputError(f"{path}: {where}.gain is missing (a number, or null until "
                             f"measured)")
        factors[channel] = Factor(
            channel=channel,
            gain=_number(path, f"{where}.gain", entry["gain"], allow_null=True,
                         positive=True),
            unit=unit,
            offset_v=_number(path, f"{where}.offset_v", entry.get("offset_v")),
            source=entry["source"],
            procedure=entry["procedure"],
        )
    return Calibration(path=str(path), factors=factors)
