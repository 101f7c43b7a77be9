"""The epilogue's parameters: what a program stores for each layer's dual-scale unit.

:class:`DualScaleParams` holds, per output channel, the multipliers ``M_r``, ``M_l``, the
bias ``B`` and the shift ``s`` of the integer contract (:mod:`sw.spec`), checked against
its ranges, and :meth:`DualScaleParams.from_float` the rounding from a layer's real scales.
The integer computation itself is referenced in :mod:`sw.golden.dual_scale`.
"""

import dataclasses

import numpy as np

from .. import spec
from ..spec import ActMode

__all__ = ["DualScaleParams"]


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
