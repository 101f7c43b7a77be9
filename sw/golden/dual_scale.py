"""Reference of the dual-scale epilogue: the integer contract and the float math behind it.

A ternary layer of an aTTQ model computes, for one output value with int8 input codes
``x`` (real input ``s_x * x``), ternary weights in ``{W_l, 0, W_r}`` and bias ``b``::

    y_real = act(W_r * s_x * P + W_l * s_x * N + b)      P = sum of x over W_r weights
                                                          N = sum of x over W_l weights

and its int8 output code is ``y_real / s_y``. The hardware computes the same with integers
(see :mod:`sw.spec`): ``M = round(m * 2**s)`` for ``m = W * s_x / s_y``, ``B = round(b / s_y
* 2**s)``. :func:`dual_scale` is that integer computation, :func:`dual_scale_float` the real
one, and :meth:`DualScaleParams.from_float` the rounding that links them.

Error bound (``results/dual_scale_error.md`` measures it): writing ``e = |M_r/2**s - m_r|
|P| + |M_l/2**s - m_l| |N| + |B/2**s - b/s_y| <= (|P| + |N| + 1) / 2**(s+1)``, the
value before the final rounding differs from the real one by at most ``e``; rounding
half-up adds at most 1/2, ReLU and saturation are 1-Lipschitz, and LeakyReLU adds the
slope's quantization ``|v| * |alpha - A/2**16| <= |v| / 2**17`` plus another 1/2 for its
own rounding. So ``|y_int - y_real| <= 1/2 + e`` (plus ``1/2 + |v|/2**17`` for LeakyReLU
on negative values), before saturation.
"""

import dataclasses
import math

import numpy as np

from .. import spec
from ..spec import ActMode

__all__ = ["DualScaleParams", "dual_scale", "dual_scale_float", "error_bound"]


def _as_int_array(name, values, lo, hi, n):
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have one value per output channel "
                         f"({n}), not shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integers in [{lo}, {hi}]")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers in [{lo}, {hi}], not {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {int(arr[i])} is out of range: allowed [{lo}, {hi}]")
    return arr


@dataclasses.dataclass(frozen=True)
class DualScaleParams:
    """Per-output-channel epilogue parameters of one layer, checked against :mod:`sw.spec`.

    Parameters
    ----------
    m_r, m_l : array_like of int
        Signed multipliers of P and N, one per output channel (or one for all).
    bias : array_like of int
        Bias already scaled by ``2**shift``.
    shift : array_like of int
        Right shift ``s`` in ``[SHIFT_MIN, SHIFT_MAX]``.
    act : ActMode or int
        Activation of the layer.
    slope : int
        LeakyReLU slope ``A`` (``alpha = A / 2**SLOPE_FRAC_BITS``); ignored by other modes.
    channels : int, optional
        Number of output channels; taken from the longest array when omitted.

    Raises
    ------
    ValueError
        Naming the parameter and its allowed range, for any value the hardware cannot hold.
    """
    m_r: np.ndarray
    m_l: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    act: ActMode = ActMode.NONE
    slope: int = 0

    def __init__(self, m_r, m_l, bias, shift, act=ActMode.NONE, slope=0, *, channels=None):
        if channels is None:
            channels = max(np.size(v) for v in (m_r, m_l, bias, shift))
        set_ = object.__setattr__
        set_(self, "m_r", _as_int_array("m_r", m_r, spec.MULT_MIN, spec.MULT_MAX, channels))
        set_(self, "m_l", _as_int_array("m_l", m_l, spec.MULT_MIN, spec.MULT_MAX, channels))
        set_(self, "bias", _as_int_array("bias", bias, spec.BIAS_MIN, spec.BIAS_MAX, channels))
        set_(self, "shift", _as_int_array("shift", shift, spec.SHIFT_MIN, spec.SHIFT_MAX,
                                          channels))
        try:
            act = ActMode(int(act))
        except (ValueError, TypeError):
            raise ValueError(f"act = {act!r} is not an activation mode: allowed "
                             f"{', '.join(f'{m.value} ({m.name})' for m in ActMode)}") from None
        set_(self, "act", act)
        set_(self, "slope", spec.check_int("slope", slope, spec.SLOPE_MIN, spec.SLOPE_MAX))

    @property
    def channels(self):
        return len(self.m_r)

    @classmethod
    def from_float(cls, w_r, w_l, bias, s_x, s_y, act=ActMode.NONE, negative_slope=0.0):
        """Round a layer's real scales into the integer epilogue.

        Parameters
        ----------
        w_r, w_l : float or array_like
            The layer's scales of its +1 and -1 weights (``W_l`` is normally negative),
            per output channel after batch-norm folding, or one for all.
        bias : float or array_like
            Real bias per output channel.
        s_x, s_y : float
            Real value of one input LSB and of one output LSB.
        act : ActMode
        negative_slope : float
            LeakyReLU slope in ``[0, 1)``.

        The shift is chosen per channel as the largest that keeps both multipliers within
        :data:`~sw.spec.MULT_WIDTH` bits, the bias within :data:`~sw.spec.BIAS_WIDTH` bits
        and itself at most :data:`~sw.spec.SHIFT_MAX`: the most precision the hardware can
        hold.
        """
        w_r, w_l, bias = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64))
                                               for v in (w_r, w_l, bias)))
        if not (s_x > 0 and s_y > 0):
            raise ValueError(f"s_x and s_y must be positive, not {s_x!r}, {s_y!r}")
        m_r = w_r * s_x / s_y
        m_l = w_l * s_x / s_y
        beta = bias / s_y
        shifts = np.empty(len(m_r), dtype=np.int64)
        for c in range(len(m_r)):
            s = spec.SHIFT_MAX
            while s > 0 and not (
                    spec.MULT_MIN <= round(m_r[c] * 2 ** s) <= spec.MULT_MAX and
                    spec.MULT_MIN <= round(m_l[c] * 2 ** s) <= spec.MULT_MAX and
                    spec.BIAS_MIN <= round(beta[c] * 2 ** s) <= spec.BIAS_MAX):
                s -= 1
            shifts[c] = s
        scale = np.ldexp(1.0, shifts)
        if not 0.0 <= negative_slope < 1.0:
            raise ValueError(f"negative_slope = {negative_slope} is out of range: allowed [0, 1)")
        slope = int(round(negative_slope * (1 << spec.SLOPE_FRAC_BITS)))
        return cls(np.round(m_r * scale).astype(np.int64), np.round(m_l * scale).astype(np.int64),
                   np.round(beta * scale).astype(np.int64), shifts, act,
                   min(slope, spec.SLOPE_MAX))


def dual_scale(p, n, params, channel=None):
    """The integer contract: int8 outputs for accumulator values ``p``, ``n``.

    Parameters
    ----------
    p, n : array_like of int
        Accumulator values; ``params`` broadcasts along the last axis (output channels),
        unless ``channel`` (an int array broadcastable with ``p``) selects each value's
        channel.
    params : DualScaleParams

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
