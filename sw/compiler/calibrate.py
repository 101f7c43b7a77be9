"""Activation scale calibration: one symmetric int8 scale per tensor between engine layers.

Every tensor that crosses a layer boundary (the model input, each stage's output after its
activation and pooling) gets one real scale ``s`` (the value of one LSB): ``q = clip(rint(a /
s), -128, 127)``, no zero point, as the integer contract has it. ``s = T / 127`` where ``T``
is a statistic of ``|a|`` over a calibration batch of training inputs run through the
floating-point (quantized-weight) PyTorch model:

* ``"max"`` (default): ``T`` = the largest ``|a|`` seen. Nothing in the calibration data
  saturates; the cost is resolution when a few values are much larger than the rest. The
  models here are small CNNs with ReLU/LeakyReLU outputs whose maxima are not extreme
  outliers, and saturating a logit or a large activation would change decisions, so this
  is the safe default (results/integer_vs_pytorch.md compares both methods on MNIST).
* ``"percentile"``: ``T`` = the ``q``-th percentile of the nonzero ``|a|`` (default 99.99),
  clipping rare outliers for finer steps elsewhere.

The scales are computed from the float model's values (not from the integer chain), so
each is independent of the rounding upstream.
"""

import numpy as np
import torch

from ..errors import InputError
from .graph import stage_forward

__all__ = ["CALIBRATION_METHODS", "tensor_threshold", "calibrate", "calibration_batch"]

CALIBRATION_METHODS = ("max", "percentile")

# Cap on the values kept per tensor for a percentile (a seeded random subsample beyond it).
_MAX_KEPT = 4_000_000


def tensor_threshold(values, method="max", percentile=99.99):
    """``T`` of a 1-D array of ``|a|`` values by ``method``; never 0 (an all-zero tensor
    gets 1.0, any scale represents it exactly)."""
    v = np.asarray(values, dtype=np.float64)
    if method == "max":
        t = float(v.max(initial=0.0))
    elif method == "percentile":
        nz = v[v > 0]
        t = float(np.percentile(nz, percentile)) if nz.size else 0.0
    else:
        raise InputError(f"--calibration: expected one of {CALIBRATION_METHODS}, "
                         f"got {method!r}")
    return t if t > 0 else 1.0


@torch.no_grad()
def calibrate(stages, x, *, method="max", percentile=99.99, batch_size=256, seed=0):
    """Scales of the input and of every stage output, and the tensor shapes.

    Parameters
    ----------
    stages : list of Stage
    x : torch.Tensor
        Calibration inputs (a batch of training samples).

    Returns
    -------
    dict
        ``s_in`` (float), ``s_out`` (list of float, one per stage), ``in_shapes`` and
        ``out_shapes`` (per stage, without batch), ``thresholds`` (the T values).
    """
    if not 0 < percentile <= 100:
        raise InputError(f"--percentile: expected a value in (0, 100], got {percentile}")
    rng = np.random.default_rng(seed)
    kept = [[] for _ in range(len(stages) + 1)]
    maxima = np.zeros(len(stages) + 1)
    in_shapes, out_shapes = [None] * len(stages), [None] * len(stages)

    def keep(k, t):
        a = t.detach().abs().reshape(-1).double().numpy()
        maxima[k] = max(maxima[k], float(a.max(initial=0.0)))
        if method == "percentile":
            a = a[a > 0]
            budget = _MAX_KEPT // max(1, (len(x) + batch_size - 1) // batch_size)
            if a.size > budget:
                a = rng.choice(a, budget, replace=False)
            kept[k].append(a)

    for i in range(0, len(x), batch_size):
        y = x[i:i + batch_size]
        keep(0, y)
        for k, st in enumerate(stages):
            in_shapes[k] = tuple(y.shape[1:])
            y = stage_forward(st, y)
            out_shapes[k] = tuple(y.shape[1:])
            keep(k + 1, y)
    if method == "max":
        thresholds = [tensor_threshold([m], "max") for m in maxima]
    else:
        thresholds = [tensor_threshold(np.concatenate(k) if k else [], "percentile",
                                       percentile) for k in kept]
    scales = [t / 127.0 for t in thresholds]
    return {"s_in": scales[0], "s_out": scales[1:], "in_shapes": in_shapes,
            "out_shapes": out_shapes, "thresholds": thresholds,
            "maxima": maxima.tolist()}


def calibration_batch(model, x_cal, records):
    """``x_cal`` as a float tensor (refused when empty) and the model's ternary records
    (exported from ``model`` when not given)."""
    from ..quant import export_quantized
    x_cal = torch.as_tensor(np.asarray(x_cal), dtype=torch.float32)
    if len(x_cal) == 0:
        raise InputError("calibration data: no samples")
    return x_cal, (export_quantized(model) if records is None else records)
