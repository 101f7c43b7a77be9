"""The one function that computes a model's input transform: :func:`apply_transform`.

The transform itself is described by :class:`sw.program.transform.InputTransform` (steps
``scale``, ``minmax``, ``tfr``), which model files and programs record. It is described in
``sw.program`` because the program file reads and checks it and the program layer may not
import torch; it is computed here, in ``sw.data`` (outside the layers, where the TFR
already lives), because the TFR needs ``torch.stft`` (imported lazily, inside
:func:`sw.data.tfr.tfr`). Training and the compiler's calibration
(``sw.train.pipeline.load_dataset``), ``attq-fpga infer``, the benches and the tests all
call :func:`apply_transform` with the model's or the program's recorded transform.
"""

import numpy as np

from ..errors import InputError
from ..program.transform import TFR, InputTransform, MinMax, Scale

__all__ = ["apply_transform", "minmax_rows"]


def minmax_rows(x):
    """Scale each row (last axis) of ``x`` to [0, 1] by its own minimum and maximum, in
    float64; a constant row has no range and becomes all zeros rather than NaN."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] == 0:
        return x.copy()
    lo = x.min(axis=-1, keepdims=True)
    span = x.max(axis=-1, keepdims=True) - lo
    return np.divide(x - lo, span, out=np.zeros_like(x), where=span > 0)


def apply_transform(transform, x):
    """Compute ``transform`` on a batch of raw samples.

    Parameters
    ----------
    transform : InputTransform or dict
        The model's or the program's recorded transform (a dict is parsed with
        :meth:`InputTransform.from_dict`).
    x : array_like
        Raw samples, the batch on the first axis (MNIST ``[N, 1, 20, 20]`` pixels 0..255,
        ESR ``[N, 1, 178]`` rows as in the CSV, HITS ``[N, 2, 2048]`` I/Q).

    Returns
    -------
    numpy.ndarray
        float32 ``[N, *transform.output_shape(x.shape[1:])]``. Each step reads its input
        as it comes (``minmax`` in float64, the TFR in float64) and gives float32, as the
        loaders did when each data set's scaling was built into them, so the values are
        bit for bit those the committed models were trained and calibrated on.
    """
    transform = InputTransform.from_dict(transform)
    x = np.asarray(x)
    if x.ndim < 1:
        raise InputError("input transform: expected a batch [N, ...], got a scalar")
    try:
        out_shape = transform.output_shape(x.shape[1:])
    except ValueError as exc:
        raise InputError(f"input transform ({transform.describe()}) on samples "
                         f"{list(x.shape[1:])}: {exc}") from None
    for step in transform.steps:
        if isinstance(step, Scale):
            x = x.astype(np.float32) / np.float32(step.divisor)
        elif isinstance(step, MinMax):
            x = minmax_rows(x).astype(np.float32)
        elif isinstance(step, TFR):
            from .tfr import tfr
            if len(x) == 0:
                x = np.zeros((0,) + step.output_shape(x.shape[1:]), np.float32)
            else:
                x = tfr(x, n_fft=step.n_fft, hop=step.hop, iq=step.iq, clip=step.clip)
        else:  # pragma: no cover - InputTransform admits only the kinds above
            raise TypeError(f"unknown step {step!r}")
    assert x.shape[1:] == out_shape, (x.shape, out_shape)
    return np.ascontiguousarray(x, dtype=np.float32)
