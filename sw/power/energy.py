"""Mean power of each rail during a RUN and before it, and the run's energy above idle.

From a POWER payload (``sw.spec.unpack_bytes(sw.spec.POWER_FIELDS, ...)``): each channel's
mean code is its sum over its sample count (:class:`hw.power.power_meter.PowerMeter`
counts complete sets, one code per channel); codes become rail volts and amps through
:mod:`sw.power.xadc_scale`; a rail's power is mean volts times mean amps; and

    energy = (P_run - P_idle) * t_run,   t_run = run_cycles / clk_hz

for VCCINT (supply sensor x isns0v95) and the board's 5 V input (vsns5v0 x isns5v0).

Mean V times mean I equals the mean of V*I when V is steady over the window (a regulated
rail); the difference is the covariance of V and I, which the XADC's sums do not keep.
"""

import dataclasses

from sw import spec
from sw.errors import InputError

from .xadc_scale import MAX_CODE, Calibration

__all__ = ["PowerDataError", "RailPower", "PowerReport", "RAILS", "mean_codes",
           "power_report"]

#: Rail -> (voltage channel, current channel).
RAILS = {"vccint": ("vccint", "isns0v95"), "board_5v0": ("vsns5v0", "isns5v0")}


class PowerDataError(InputError):
    """A POWER payload whose fields cannot describe a measurement."""


@dataclasses.dataclass(frozen=True)
class RailPower:
    """One rail's means and energy. Volts, amps, watts, joules."""
    rail: str
    v_run: float
    i_run: float
    v_idle: float
    i_idle: float
    p_run: float
    p_idle: float
    energy_j: float


@dataclasses.dataclass(frozen=True)
class PowerReport:
    """A run's time, sample counts and per-rail :class:`RailPower`."""
    t_run_s: float
    run_cycles: int
    run_samples: int
    idle_samples: int
    rails: dict

    def to_dict(self):
        return {"t_run_s": self.t_run_s, "run_cycles": self.run_cycles,
                "run_samples": self.run_samples, "idle_samples": self.idle_samples,
                "rails": {name: dataclasses.asdict(r) for name, r in self.rails.items()}}


def _check_payload(payload):
    widths = dict(spec.POWER_FIELDS)
    for name, n in widths.items():
        if name not in payload:
            raise PowerDataError(f"POWER payload: field {name} is missing")
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise PowerDataError(f"POWER payload: field {name} must be an integer, "
                                 f"not {value!r}")
        top = (1 << (8 * n)) - 1
        if not 0 <= value <= top:
            raise PowerDataError(f"POWER payload: field {name} = {value} does not fit "
                                 f"{n} bytes")
        if value == top:
            raise PowerDataError(
                f"POWER payload: field {name} is saturated ({value}); the window was too "
                f"long for the meter's counters, so its means are unknown (keep the idle "
                f"time before a RUN and the RUN itself shorter)")
    if payload["run_cycles"] == 0:
        raise PowerDataError("POWER payload: field run_cycles is 0: no RUN has ended since "
                             "the device started")
    for window in ("run", "idle"):
        count = payload[f"{window}_samples"]
        if count == 0:
            what = ("the run was shorter than one XADC sequence; run more inputs per RUN"
                    if window == "run" else
                    "there was no idle time before the RUN; wait before starting it")
            raise PowerDataError(f"POWER payload: field {window}_samples is 0: no complete "
                                 f"set of XADC samples in the {window} window ({what})")
        for c in spec.POWER_CHANNELS:
            total = payload[f"{window}_{c}"]
            if total > count * MAX_CODE:
                raise PowerDataError(
                    f"POWER payload: field {window}_{c} = {total} exceeds "
                    f"{window}_samples ({count}) times the largest code ({MAX_CODE})")
    if payload["run_samples"] > payload["run_cycles"]:
        raise PowerDataError(f"POWER payload: field run_samples ({payload['run_samples']}) "
                             f"exceeds run_cycles ({payload['run_cycles']}); a sample set "
                             f"takes many cycles")


def mean_codes(payload, window):
    """Mean code of each channel over ``window`` (``"run"`` or ``"idle"``)."""
    count = payload[f"{window}_samples"]
    return {c: payload[f"{window}_{c}"] / count for c in spec.POWER_CHANNELS}


def power_report(payload, clk_hz, calibration):
    """Mean run and idle power per rail, run time, and energy above idle.

    Parameters
    ----------
    payload : dict
        The POWER response's fields (:data:`sw.spec.POWER_FIELDS`).
    clk_hz : int
        The device's clock (its HELLO ``clk_hz``).
    calibration : sw.power.xadc_scale.Calibration
        The board factors (:func:`sw.power.xadc_scale.load_calibration`).

    Returns
    -------
    PowerReport

    Raises
    ------
    PowerDataError
        If a field makes no sense: missing, out of range, saturated, no run, no samples,
        a sum larger than its samples allow.
    InputError
        If a needed calibration factor has not been measured.
    """
    if isinstance(clk_hz, bool) or not isinstance(clk_hz, int) or clk_hz <= 0:
        raise PowerDataError(f"clk_hz must be a positive integer, not {clk_hz!r}")
    if not isinstance(calibration, Calibration):
        raise TypeError("calibration must be a sw.power.xadc_scale.Calibration")
    _check_payload(payload)
    t_run = payload["run_cycles"] / clk_hz
    means = {w: mean_codes(payload, w) for w in ("run", "idle")}
    rails = {}
    for rail, (v_ch, i_ch) in RAILS.items():
        v = {w: float(calibration.rail(v_ch, means[w][v_ch])) for w in means}
        i = {w: float(calibration.rail(i_ch, means[w][i_ch])) for w in means}
        p = {w: v[w] * i[w] for w in means}
        rails[rail] = RailPower(rail=rail, v_run=v["run"], i_run=i["run"], v_idle=v["idle"],
                                i_idle=i["idle"], p_run=p["run"], p_idle=p["idle"],
                                energy_j=(p["run"] - p["idle"]) * t_run)
    return PowerReport(t_run_s=t_run, run_cycles=payload["run_cycles"],
                       run_samples=payload["run_samples"],
                       idle_samples=payload["idle_samples"], rails=rails)
