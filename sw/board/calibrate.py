"""``attq-fpga board calibrate``: the Arty A7's power-sense factors, measured (docs/power.md,
"Calibration", steps A1-A2, B1-B3, C1-C3).

The command walks the user through the procedure. For each point of a group it asks for the
condition to be set (an input voltage, a load), reads the XADC over an idle window, then asks
for the reference instrument's reading. A group's points are fitted by
:func:`sw.power.xadc_scale.fit_factor`:

========  ============  ==========================================  =====================
group     channel       reference reading                           factor
========  ============  ==========================================  =====================
A         ``vsns5v0``   5V0 rail, multimeter (V)                    V/V
B         ``isns5v0``   board input current, ammeter (A)            A/V
C         ``isns0v95``  volts across the VCCINT sense resistor      A/V = 1 / (R_shunt G)
                        (mV, C1), then the resistor's value (mΩ,
                        C2): the current is V_shunt / R_shunt
========  ============  ==========================================  =====================

C3 then checks the result: between the lightest and heaviest C load, the change in VCCINT
power (supply sensor x calibrated current) over the change in 5 V input power (the A and B
factors) is the VCCINT regulator's efficiency, which must lie in
:data:`EFFICIENCY_RANGE`.

Every answer and reading goes at once into a session file (written atomically), so an
interrupted calibration resumes where it stopped when the command is run again. A reading
outside :data:`REFERENCE_RANGES` is asked again; a fit outside :data:`FACTOR_RANGES`, a
line that does not fit its points, or C3 outside its range is refused: nothing is written,
and that group's points are dropped from the session so that it is measured again. Only
when every group is done is the calibration file written, atomically, with the factors,
their points, the date, the instruments and the board revision.
"""

import dataclasses
import datetime
import json
import math
import time
from pathlib import Path

import numpy as np

from ..atomic import write_text
from ..errors import InputError
from ..mapping.plan import DevicePlan
from ..power.energy import mean_codes
from ..power.xadc_scale import channel_volts, fit_factor, load_calibration
from ..program.file import load
from ..spec import Capability

__all__ = ["Group", "GROUPS", "REFERENCE_RANGES", "FACTOR_RANGES", "EFFICIENCY_RANGE",
           "MIN_R_SQUARED", "Session", "read_idle_volts", "calibrate", "fit_group",
           "efficiency", "updated_calibration"]

#: Plausible reference readings (a typo or a wrong unit falls outside): 5V0 volts, input
#: amps (the Arty's input is fused well below 3 A), millivolts across the VCCINT sense
#: resistor, the resistor in milliohms.
REFERENCE_RANGES = {"A": (4.0, 5.6), "B": (0.0, 3.0), "C": (0.0, 200.0),
                    "r_shunt_mohm": (0.1, 1000.0)}
#: Plausible factors: an XADC auxiliary input spans 1 V, so the 5 V rail needs a divider of
#: at least 5.6 (and a few tens at most to keep resolution); 1 V at the XADC must stand for
#: between 0.1 A and 100 A of current. Offsets: at most 0.1 V at the XADC.
FACTOR_RANGES = {"A": (5.6, 50.0), "B": (0.1, 100.0), "C": (0.1, 100.0)}
OFFSET_RANGE_V = (-0.1, 0.1)
#: A line through three or more points must explain this much of their variance.
MIN_R_SQUARED = 0.98
#: C3: VCCINT power change over 5 V input power change (a buck regulator's efficiency).
EFFICIENCY_RANGE = (0.6, 0.95)


@dataclasses.dataclass(frozen=True)
class Group:
    """One group of the procedure: its channel, what to set and what to read."""
    key: str
    channel: str
    unit: str
    condition: str
    reference: str
    steps: str


GROUPS = {
    "A": Group("A", "vsns5v0", "V/V",
               "power the board from the bench supply (or a USB host) at a setting that "
               "moves 5V0, different from the other points (A1-A2)",
               "5V0 rail voltage on the multimeter at the shield header's 5V0 and GND, in "
               "volts", "A1-A2"),
    "B": Group("B", "isns5v0", "A/V",
               "load the 5V0 rail with a known resistor between the shield header's 5V0 and "
               "GND (for example none, 20 ohm, 10 ohm), the ammeter in series with the "
               "board's input (B1-B2)",
               "board input current on the ammeter, in amperes", "B1-B3"),
    "C": Group("C", "isns0v95", "A/V",
               "set a VCCINT load (a design with N toggling flip-flop banks enabled by the "
               "switches), different from the other points (C1)",
               "voltage across the VCCINT sense resistor at its pads, in millivolts", "C1-C3"),
}


class Session:
    """The answers and readings so far, kept in a JSON file rewritten after each one."""

    FORMAT = "attq-fpga board calibrate session"

    def __init__(self, path, doc):
        self.path, self.doc = Path(path), doc

    @classmethod
    def open(cls, path, *, restart=False):
        path = Path(path)
        if restart or not path.exists():
            return cls(path, {"format": cls.FORMAT, "version": 1, "meta": {}, "groups": {}})
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read the calibration session ({exc}); give "
                             f"--restart to start again") from None
        found = doc.get("format") if isinstance(doc, dict) else None
        if found != cls.FORMAT:
            raise InputError(f"{path}: format is {found!r}, expected {cls.FORMAT!r}; give "
                             f"--restart to start again")
        doc.setdefault("meta", {})
        doc.setdefault("groups", {})
        return cls(path, doc)

    def group(self, key):
        return self.doc["groups"].setdefault(key, {"points": [], "done": False})

    def save(self):
        write_text(self.path, json.dumps(self.doc, indent=2) + "\n")

    def remove(self):
        self.path.unlink(missing_ok=True)


def read_idle_volts(driver, hello, run, window_s):
    """Mean XADC volts of every power channel (not the die temperature) over ``window_s``
    seconds of idle.

    ``run()`` issues a short RUN: the first closes whatever window was open, the second
    closes the one just waited, whose idle sums the POWER reply then holds.
    """
    run()
    time.sleep(window_s)
    run()
    payload = driver.power(hello)
    means = mean_codes(payload, "idle")
    return {c: float(channel_volts(c, code)) for c, code in means.items()
            if c != "temperature"}


def _ask_number(ask, prompt, lo, hi, what, tries=3):
    for _ in range(tries):
        try:
            text = ask(prompt)
        except EOFError:
            raise InputError(f"no answer to {what!r}: the input ended (the session keeps "
                             f"what was measured; run the command again to go on)") from None
        try:
            value = float(text.strip())
        except ValueError:
            print(f"  {text.strip()!r} is not a number; expected {what} in [{lo}, {hi}]")
            continue
        if not math.isfinite(value) or not lo <= value <= hi:
            print(f"  {value:g} is not plausible; expected {what} in [{lo}, {hi}]")
            continue
        return value
    raise InputError(f"{what}: no plausible answer in {tries} tries; expected a number in "
                     f"[{lo}, {hi}]")


def _r_squared(x, y, gain, offset):
    y = np.asarray(y, float)
    fit = gain * (np.asarray(x, float) - offset)
    spread = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - fit) ** 2)) / spread if spread > 0 else 0.0


def fit_group(key, points, r_shunt_ohm=None):
    """The factor of group ``key`` from its points; InputError if implausible.

    Returns
    -------
    dict
        ``gain``, ``offset_v``, ``r_squared``, ``n_points``, and for C ``r_shunt_ohm`` and
        ``amplifier_gain`` (XADC volts per volt across the shunt).
    """
    group = GROUPS[key]
    x = [p["xadc_v"][group.channel] for p in points]
    ref = [p["reference"] for p in points]
    if key == "C":
        ref = [v * 1e-3 / r_shunt_ohm for v in ref]      # mV across R -> amps
    try:
        gain, offset = fit_factor(x, ref)
    except ValueError as exc:
        raise InputError(f"group {key} ({group.channel}): {exc}") from None
    r2 = _r_squared(x, ref, gain, offset) if len(points) > 2 else 1.0
    lo, hi = FACTOR_RANGES[key]
    problems = []
    if not lo <= gain <= hi:
        problems.append(f"gain {gain:.4g} {group.unit} outside [{lo}, {hi}]")
    if not OFFSET_RANGE_V[0] <= offset <= OFFSET_RANGE_V[1]:
        problems.append(f"offset {offset:.4g} V outside {list(OFFSET_RANGE_V)}")
    if r2 < MIN_R_SQUARED:
        problems.append(f"the points lie off a line (r^2 = {r2:.3f} < {MIN_R_SQUARED})")
    if problems:
        raise InputError(f"group {key} ({group.channel}, steps {group.steps}): "
                         + "; ".join(problems) + "; its points are dropped: measure them "
                         "again")
    out = {"gain": gain, "offset_v": offset, "r_squared": r2, "n_points": len(points)}
    if key == "C":
        out.update(r_shunt_ohm=r_shunt_ohm, amplifier_gain=1.0 / (gain * r_shunt_ohm))
    return out


def efficiency(points, fits):
    """C3: (VCCINT power change) / (5 V input power change) between the lightest and the
    heaviest VCCINT load of the C points, with the A, B and C fits."""
    def rail(fit, volts):
        return fit["gain"] * (volts - fit["offset_v"])

    def powers(p):
        v = p["xadc_v"]
        # The supply sensor's volts are VCCINT's own (UG480 Eq. 2-7).
        vccint = v["vccint"] * rail(fits["C"], v["isns0v95"])
        board = rail(fits["A"], v["vsns5v0"]) * rail(fits["B"], v["isns5v0"])
        return vccint, board

    order = sorted(points, key=lambda p: p["xadc_v"]["isns0v95"])
    (v0, b0), (v1, b1) = powers(order[0]), powers(order[-1])
    if b1 == b0:
        return math.inf
    return (v1 - v0) / (b1 - b0)


def updated_calibration(path, fits, meta, points, when):
    """The calibration file's text with the fitted factors (the rest of it kept)."""
    doc = json.loads(Path(path).read_text())
    for key, fit in fits.items():
        group = GROUPS[key]
        entry = doc["factors"][group.channel]
        entry["gain"] = fit["gain"]
        entry["offset_v"] = fit["offset_v"]
        entry["offset_basis"] = "fitted with the gain (attq-fpga board calibrate)"
        entry["source"] = (f"measured {when} with attq-fpga board calibrate, steps "
                           f"{group.steps}: {fit['n_points']} points, r^2 = "
                           f"{fit['r_squared']:.4f}; instruments: {meta['instruments']}; "
                           f"board revision: {meta['board_revision']}")
        entry["calibration"] = {**fit, "points": points[key]}
    return json.dumps(doc, indent=2) + "\n"


def calibrate(driver, *, calibration_path, session, ask=input, points=3, window_s=1.0,
              groups=("A", "B", "C"), today=None):
    """Run the procedure on ``driver``; returns the fits written, by group.

    Parameters
    ----------
    driver : sw.device.driver.Driver
        A device whose HELLO has :attr:`~sw.spec.Capability.POWER` (the board's XADC).
    calibration_path : Path
        The file to update (its other factors are kept).
    session : Session
    ask : callable
        ``ask(prompt) -> str``; ``input`` by default, a script in tests. EOFError ends the
        session (kept for the next run).
    points : int
        Points per group (at least 2).
    window_s : float
        Idle seconds each XADC reading averages.
    groups : tuple of str
        The groups to measure; the others' factors come from the calibration file (C3
        needs A and B).
    """
    hello = driver.hello()
    if not int(hello["caps"]) & Capability.POWER:
        model = int(hello["caps"]) & Capability.POWER_MODEL
        raise InputError("the device has no XADC power meter (HELLO caps)"
                         + ("; the virtual board's is a model, which has nothing to "
                            "calibrate" if model else "") + ": calibrate on an Arty A7")
    current = load_calibration(calibration_path)
    program = load(Path(__file__).resolve().parents[2] / "models" / "mnist_attq.attq")
    plan = DevicePlan.build(program, hello)
    driver.load(plan)

    def run():
        driver.run(0, 1, plan.expected_cycles([0]))

    meta = session.doc["meta"]
    if "instruments" not in meta:
        meta["instruments"] = ask("Instruments (make, model, last calibration date): ").strip()
        meta["board_revision"] = ask("Board (Arty A7-35T or -100T) and revision: ").strip()
        if not meta["instruments"] or not meta["board_revision"]:
            raise InputError("the instruments and the board revision go into the file's "
                             "source: expected both")
        session.save()
    for key in groups:
        group, state = GROUPS[key], session.group(key)
        if state["done"]:
            print(f"[calibrate] group {key} ({group.channel}): done in an earlier run")
            continue
        while len(state["points"]) < points:
            k = len(state["points"]) + 1
            ask(f"Group {key}, point {k} of {points}: {group.condition}. Press Enter when "
                f"it is set. ")
            volts = read_idle_volts(driver, hello, run, window_s)
            lo, hi = REFERENCE_RANGES[key]
            ref = _ask_number(ask, f"  XADC {group.channel} reads {volts[group.channel]:.4f} V. "
                              f"{group.reference}: ", lo, hi, group.reference)
            state["points"].append({"xadc_v": volts, "reference": ref})
            session.save()
        if key == "C" and "r_shunt_mohm" not in state:
            lo, hi = REFERENCE_RANGES["r_shunt_mohm"]
            state["r_shunt_mohm"] = _ask_number(
                ask, "C2: the VCCINT sense resistor's value from its marking or the bill of "
                     "materials, in milliohms: ", lo, hi, "the sense resistor in milliohms")
            session.save()
        try:
            fit = fit_group(key, state["points"],
                            state.get("r_shunt_mohm", 0) * 1e-3 or None)
        except InputError:
            session.doc["groups"].pop(key)
            session.save()
            raise
        state.update(done=True, fit=fit)
        session.save()
        print(f"[calibrate] group {key} ({group.channel}): gain {fit['gain']:.5g} "
              f"{group.unit}, offset {fit['offset_v']:.4g} V, r^2 {fit['r_squared']:.4f}")

    fits = {k: session.group(k)["fit"] for k in groups}
    if "C" in fits:
        for key in ("A", "B"):
            if key not in fits:
                f = current.factors[GROUPS[key].channel]
                if f.gain is None:
                    raise InputError(f"{calibration_path}: factors.{GROUPS[key].channel}.gain "
                                     f"is null: C3 needs group {key}'s factor; measure it "
                                     f"too (--groups A B C)")
                fits[key] = {"gain": f.gain, "offset_v": f.offset_v}
        ratio = efficiency(session.group("C")["points"], fits)
        lo, hi = EFFICIENCY_RANGE
        if not lo <= ratio <= hi:
            session.doc["groups"].pop("C")
            session.save()
            raise InputError(f"C3: the VCCINT power change is {ratio:.3g} of the 5 V input "
                             f"power change between the lightest and heaviest load; a "
                             f"regulator's efficiency lies in [{lo}, {hi}]: a factor is "
                             f"wrong. Group C's points are dropped: measure them again")
        session.group("C")["fit"]["c3_efficiency"] = ratio
        print(f"[calibrate] C3: VCCINT power change / 5 V input power change = {ratio:.3f}")
    written = {k: session.group(k)["fit"] for k in groups}
    when = today or datetime.date.today().isoformat()
    text = updated_calibration(calibration_path, written, meta,
                               {k: session.group(k)["points"] for k in groups}, when)
    write_text(calibration_path, text)
    session.remove()
    return written
