"""Stimuli for the dual-scale unit: random inputs and the corners of the contract."""

import numpy as np

from sw import spec
from sw.spec import ActMode

__all__ = ["corner_vectors", "random_vectors", "vectors", "expected"]



def _v(p=0, n=0, m_r=0, m_l=0, bias=0, shift=0, act=ActMode.NONE, slope=0):
    return {"p": p, "n": n, "m_r": m_r, "m_l": m_l, "bias": bias, "shift": shift,
            "act": int(act), "slope": slope}


def corner_vectors():
    """Hand-picked inputs at every edge of the contract, in every activation mode."""
    out = []
    for act in ActMode:
        for slope in (0, 1, 1 << 14, spec.SLOPE_MAX):
            # Saturation edges: y = sat8(P) with M_r = 1, s = 0.
            for p in (-129, -128, -127, -1, 0, 1, 126, 127, 128):
                out.append(_v(p=p, m_r=1, act=act, slope=slope))
            # Most negative P and N, extreme multipliers, shift 0 and the maximum.
            for m in (spec.MULT_MIN, spec.MULT_MAX, -1, 1):
                for shift in (spec.SHIFT_MIN, 1, spec.SHIFT_MAX):
                    out.append(_v(p=spec.ACC_MIN, n=spec.ACC_MIN, m_r=m, m_l=m,
                                  shift=shift, act=act, slope=slope))
                    out.append(_v(p=spec.ACC_MAX, n=spec.ACC_MIN, m_r=m, m_l=min(-m, spec.MULT_MAX),
                                  bias=spec.BIAS_MIN, shift=shift, act=act, slope=slope))
                    out.append(_v(p=spec.ACC_MAX, n=spec.ACC_MAX, m_r=m, m_l=m,
                                  bias=spec.BIAS_MAX, shift=shift, act=act, slope=slope))
            # Round half up at shift 1: +-1.5 -> 2, -1; +-2.5 -> 3, -2.
            for p in (-5, -3, -1, 1, 3, 5):
                out.append(_v(p=p, m_r=1, shift=1, act=act, slope=slope))
            # LeakyReLU around its clamp: v just inside and outside 25 signed bits.
            lim = 1 << (spec.LEAKY_CLAMP_BITS - 1)
            for v in (-lim - 1, -lim, -lim + 1, -(1 << 23), -256, -255):
                out.append(_v(bias=v, act=act, slope=slope))
    return out


def random_vectors(rng, count):
    """Random inputs: half over the whole field ranges, half scaled like a real layer
    (the result lands around the int8 range, so rounding and activations matter)."""
    out = []
    for k in range(count):
        shift = int(rng.integers(spec.SHIFT_MIN, spec.SHIFT_MAX + 1))
        act = ActMode(int(rng.integers(0, len(ActMode))))
        slope = int(rng.integers(spec.SLOPE_MIN, spec.SLOPE_MAX + 1))
        if k % 2 == 0:
            vec = _v(p=int(rng.integers(spec.ACC_MIN, spec.ACC_MAX, endpoint=True)),
                     n=int(rng.integers(spec.ACC_MIN, spec.ACC_MAX, endpoint=True)),
                     m_r=int(rng.integers(spec.MULT_MIN, spec.MULT_MAX, endpoint=True)),
                     m_l=int(rng.integers(spec.MULT_MIN, spec.MULT_MAX, endpoint=True)),
                     bias=int(rng.integers(spec.BIAS_MIN, spec.BIAS_MAX, endpoint=True)),
                     shift=shift, act=act, slope=slope)
        else:
            fan_in = int(rng.integers(1, 4096))
            p = int(rng.integers(-128 * fan_in, 127 * fan_in, endpoint=True))
            n = int(rng.integers(-128 * fan_in, 127 * fan_in, endpoint=True))
            # |M| about 2**shift * 200 / (128 * fan_in): |y| up to a few hundred LSB.
            m_mag = max(1, min(spec.MULT_MAX, int(2 ** shift * 200 / (128 * fan_in))))
            m_r = int(rng.integers(-m_mag, m_mag, endpoint=True))
            m_l = int(rng.integers(-m_mag, m_mag, endpoint=True))
            b_mag = min(spec.BIAS_MAX, 2 ** shift * 64)
            vec = _v(p=p, n=n, m_r=m_r, m_l=m_l, bias=int(rng.integers(-b_mag, b_mag)),
                     shift=shift, act=act, slope=slope)
        out.append(vec)
    return out


def vectors(seed, count):
    """Corners followed by ``count`` random vectors."""
    return corner_vectors() + random_vectors(np.random.default_rng(seed), count)


def expected(vec):
    """The golden model's output for one vector."""
    from sw.program.epilogue import DualScaleParams
    from sw.golden.dual_scale import dual_scale
    params = DualScaleParams(vec["m_r"], vec["m_l"], vec["bias"], vec["shift"],
                             vec["act"], vec["slope"])
    return int(dual_scale([vec["p"]], [vec["n"]], params)[0])
