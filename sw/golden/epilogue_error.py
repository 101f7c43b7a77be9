"""How far the integer epilogue lands from the float layer it stands for, in output LSB.

For layers of several fan-ins F, random real scales (W_r > 0 > W_l, bias, input and
output steps s_x, s_y such that outputs span the int8 range) are rounded into
(M_r, M_l, B, s) by :meth:`DualScaleParams.from_float`; P and N sweep the whole range a
layer can produce, [-128 F, 127 F], on a grid and at random.
"""

import numpy as np

from ..spec import ActMode
from ..program.epilogue import DualScaleParams
from .dual_scale import dual_scale, dual_scale_float, error_bound

__all__ = ["FAN_INS", "measure"]

FAN_INS = (9, 64, 576, 4608, 65536)


def measure(*, seed=0, layers_per_fan_in=30, points=20000, grid=101, fan_ins=FAN_INS):
    """Return one row (a dict) per fan-in and activation mode."""
    rng = np.random.default_rng(seed)
    rows = []
    for fan_in in fan_ins:
        for act, slope in ((ActMode.NONE, 0.0), (ActMode.RELU, 0.0), (ActMode.LEAKY, 0.01)):
            worst = worst_bound = 0.0
            mismatches = total = 0
            shifts = []
            for _ in range(layers_per_fan_in):
                s_x, s_y = 10 ** rng.uniform(-3, 0), 10 ** rng.uniform(-3, 0)
                # Typical trained layer: a full-scale input gives a few hundred output LSB.
                gain = s_y / s_x * 400 / (128 * np.sqrt(fan_in))
                w_r, w_l = rng.uniform(0.2, 1) * gain, -rng.uniform(0.2, 1) * gain
                b = rng.uniform(-40, 40) * s_y
                params = DualScaleParams.from_float(w_r, w_l, b, s_x, s_y, act, slope)
                shifts.append(int(params.shift[0]))
                lo, hi = -128 * fan_in, 127 * fan_in
                axis = np.linspace(lo, hi, grid).round().astype(np.int64)
                p = np.concatenate([np.repeat(axis, grid), rng.integers(lo, hi, points, endpoint=True)])
                n = np.concatenate([np.tile(axis, grid), rng.integers(lo, hi, points, endpoint=True)])
                got = dual_scale(p, n, params).astype(np.float64)
                pre = dual_scale_float(p, n, w_r, w_l, b, s_x, s_y)
                real = np.clip(dual_scale_float(p, n, w_r, w_l, b, s_x, s_y, act, slope), -128, 127)
                worst = max(worst, float(np.abs(got - real).max()))
                worst_bound = max(worst_bound, float(
                    error_bound(p, n, params.shift[0], act, v=pre).max()))
                # Round half up, as the hardware does, then saturate.
                rounded = np.clip(np.floor(real + 0.5), -128, 127)
                mismatches += int(np.count_nonzero(got != rounded))
                total += len(p)
            rows.append({
                "fan_in": fan_in, "act": act.name, "shift_min": min(shifts),
                "shift_max": max(shifts), "max_abs_error_lsb": worst,
                "max_bound_lsb": worst_bound, "points": total,
                "differs_from_rounded_float": mismatches / total,
            })
    return rows
