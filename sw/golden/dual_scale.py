"""Reference of the dual-scale epilogue: the integer contract and the float math behind it.

A ternary layer of an aTTQ model computes, for one output value with int8 input codes
``x`` (real input ``s_x * x``), ternary weights in ``{W_l, 0, W_r}`` and bias ``b``::

    y_real = act(W_r * s_x * P + W_l * s_x * N + b)      P = sum of x over W_r weights
                                                          N = sum of x over W_l weights

and its int8 output code is ``y_real / s_y``. The hardware computes the same with integers
(see :mod:`sw.spec`): ``M = round(m * 2**s)`` for ``m = W * s_x / s_y``, ``B = round(b / s_y
* 2**s)``. :func:`dual_scale` is that integer computation, :func:`dual_scale_float` the real
one, and :meth:`sw.program.epilogue.DualScaleParams.from_float` the rounding that links them.

Error bound (``results/dual_scale_error.md`` measures it): writing ``e = |M_r/2**s - m_r|
|P| + |M_l/2**s - m_l| |N| + |B/2**s - b/s_y| <= (|P| + |N| + 1) / 2**(s+1)``, the
value before the final rounding differs from the real one by at most ``e``; rounding
half-up adds at most 1/2, ReLU and saturation are 1-Lipschitz, and LeakyReLU adds the
slope's quantization ``|v| * |alpha - A/2**16| <= |v| / 2**17`` plus another 1/2 for its
own rounding. So ``|y_int - y_real| <= 1/2 + e`` (plus ``1/2 + |v|/2**17`` for LeakyReLU
on negative values), before saturation.
"""

import math

import numpy as np

from .. import spec
from ..spec import ActMode

__all__ = ["dual_scale", "dual_scale_float", "error_bound"]


def dual_scale(p, n, params, channel=None):
    """The integer contract: int8 outputs for accumulator values ``p``, ``n``.

    Parameters
    ----------
    p, n : array_like of int
        Accumulator values; ``params`` broadcasts along the last axis (output channels),
        unless ``channel`` (an int array broadcastable with ``p``) selects each value's
        channel.
    params : sw.program.epilogue.DualScaleParams

    Returns
    -------
    numpy.ndarray of int8
    """
    p = np.asarray(p, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    for name, arr in (("p", p), ("n", n)):
        if arr.size and (arr.min() < spec.ACC_MIN or arr.max() > spec.ACC_MAX):
            raise ValueError(f"{name} is out of range: allowed [{spec.ACC_MIN}, {spec.ACC_MAX}]")
    pick = (lambda a: a) if channel is None else (lambda a: a[np.asarray(channel)])
    m_r, m_l, bias, shift = (pick(a) for a in (params.m_r, params.m_l, params.bias, params.shift))
    # Every intermediate fits int64: |M*P| < 2**47, the sum < 2**49 (see sw.spec).
    acc = m_r * p + m_l * n + bias
    rnd = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
    v = np.right_shift(acc + rnd, shift)
    if params.act is ActMode.RELU:
        v = np.maximum(v, 0)
    elif params.act is ActMode.LEAKY:
        lim = 1 << (spec.LEAKY_CLAMP_BITS - 1)
        vc = np.clip(v, -lim, lim - 1)
        half = 1 << (spec.SLOPE_FRAC_BITS - 1)
        v = np.where(v < 0, np.right_shift(vc * params.slope + half, spec.SLOPE_FRAC_BITS), v)
    return np.clip(v, spec.ACT_MIN, spec.ACT_MAX).astype(np.int8)


def dual_scale_float(p, n, w_r, w_l, bias, s_x, s_y, act=ActMode.NONE, negative_slope=0.0):
    """What the floating-point layer computes, in units of the output LSB (not rounded).

    ``act(W_r s_x P + W_l s_x N + b) / s_y``, elementwise; scales broadcast against ``p``.
    """
    p = np.asarray(p, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    y = (np.asarray(w_r) * s_x * p + np.asarray(w_l) * s_x * n + np.asarray(bias)) / s_y
    act = ActMode(int(act))
    if act is ActMode.RELU:
        y = np.maximum(y, 0.0)
    elif act is ActMode.LEAKY:
        y = np.where(y < 0, y * negative_slope, y)
    return y


def error_bound(p, n, shift, act=ActMode.NONE, v=None):
    """Bound on ``|dual_scale - dual_scale_float|`` (in LSB, before saturation).

    ``1/2 + (|P| + |N| + 1) / 2**(s+1)`` from the rounding of the multipliers, of the bias
    and of the final shift; LeakyReLU on a negative value adds ``1/2 + |v| / 2**17``
    (its own rounding and the slope's quantization), ``v`` the pre-activation value.
    """
    p = np.abs(np.asarray(p, dtype=np.float64))
    n = np.abs(np.asarray(n, dtype=np.float64))
    bound = 0.5 + (p + n + 1.0) / np.ldexp(1.0, np.asarray(shift) + 1)
    if ActMode(int(act)) is ActMode.LEAKY:
        v = np.zeros_like(p) if v is None else np.abs(np.asarray(v, dtype=np.float64))
        bound = bound + 0.5 + v / math.ldexp(1.0, spec.SLOPE_FRAC_BITS + 1)
    return bound
