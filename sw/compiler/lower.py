"""Lower one stage (layer + batch norm + activation + pooling) to an engine layer.

* Batch norm folds into a per-channel affine map ``y = k_c z + t_c`` with
  ``k_c = gamma_c / sqrt(var_c + eps)``, ``t_c = beta_c - k_c mean_c``: the layer's bias
  becomes ``k_c b_c + t_c`` and every weight of channel ``c`` is multiplied by ``k_c``.
* A ternary layer (aTTQ/TTQ/DoReFa codes in {-1, 0, +1} with scales W_r, W_l) becomes the
  offset lists of its +1 and -1 codes; its real per-channel scales ``k_c W_r``, ``k_c W_l``,
  the folded bias and the input/output activation scales go through
  :meth:`DualScaleParams.from_float` (the one place the integer rounding is derived).
* Any other conv/linear layer becomes int8 with one scale per output channel,
  ``s_w = max|W_c| / 127``, ``q = rint(W_c / s_w)`` (symmetric, so every channel uses the
  full int8 range and zero stays zero), and the epilogue ``from_float(s_w, 0, bias, ...)``.
"""

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..program.epilogue import DualScaleParams
from ..program import EngineLayer

__all__ = ["fold_batch_norm", "geometry", "lower_stage", "lower_chain", "int8_per_channel"]


def fold_batch_norm(stage):
    """``(k, t)`` per output channel of the stage's batch norm (``(1, 0)`` without one)."""
    n = stage.layer.weight.shape[0]
    bn = stage.bn
    if bn is None:
        return np.ones(n), np.zeros(n)
    if bn.running_mean is None or bn.running_var is None:
        raise InputError(f"{stage.name}: batch norm without running statistics cannot be "
                         f"folded")
    var = bn.running_var.detach().double().numpy()
    mean = bn.running_mean.detach().double().numpy()
    gamma = (bn.weight.detach().double().numpy() if bn.weight is not None else np.ones(n))
    beta = (bn.bias.detach().double().numpy() if bn.bias is not None else np.zeros(n))
    k = gamma / np.sqrt(var + bn.eps)
    return k, beta - k * mean


def geometry(stage, in_shape, prev_map):
    """``(map_shape, pad, stride, weight_shape_4d)`` of a stage as an engine layer.

    ``in_shape`` is PyTorch's input shape without batch; ``prev_map`` the (C, H, W) map the
    previous engine layer writes (None for the first layer).
    """
    m = stage.layer
    where = f"layer {stage.name}"
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        dims = 1 if isinstance(m, nn.Conv1d) else 2
        if m.groups != 1 or set(m.dilation) != {1} or m.padding_mode != "zeros":
            raise InputError(f"{where}: groups, dilation and non-zero padding modes are not "
                             f"supported by the engine")
        pad = m.padding
        if isinstance(pad, str):
            if pad == "valid":
                pad = (0,) * dims
            elif all(k % 2 == 1 for k in m.kernel_size):
                pad = tuple((k - 1) // 2 for k in m.kernel_size)
            else:
                raise InputError(f"{where}: padding 'same' with an even kernel is asymmetric")
        if dims == 1:
            c, length = in_shape
            return (c, 1, length), (0, pad[0]), (1, m.stride[0]), \
                (m.out_channels, c, 1, m.kernel_size[0])
        c, h, w = in_shape
        return (c, h, w), tuple(pad), tuple(m.stride), \
            (m.out_channels, c) + tuple(m.kernel_size)
    # Linear: on the flattened previous map (a no-op in the channel-major layout).
    feats = int(np.prod(in_shape))
    if len(in_shape) != 1 and prev_map is None:
        raise InputError(f"{where}: a linear layer on a non-flat input must follow a conv")
    map_shape = tuple(prev_map) if prev_map is not None else (feats, 1, 1)
    if int(np.prod(map_shape)) != m.in_features:
        raise InputError(f"{where}: in_features {m.in_features} != the {map_shape} map")
    return map_shape, (0, 0), (1, 1), (m.out_features,) + map_shape


def int8_per_channel(w):
    """Symmetric per-output-channel int8: ``(q, s_w)`` with ``w ≈ s_w[c] * q[c]``."""
    w = np.asarray(w, dtype=np.float64)
    flat = np.abs(w.reshape(len(w), -1))
    s = flat.max(axis=1) / 127.0
    s = np.where(s > 0, s, 1.0)
    q = np.clip(np.rint(w / s.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127)
    return q.astype(np.int8), s


@torch.no_grad()
def lower_stage(stage, *, in_shape, prev_map, s_x, s_y, record=None, out_pad=(0, 0)):
    """The :class:`EngineLayer` of ``stage``.

    Parameters
    ----------
    stage : Stage
    in_shape : tuple
        PyTorch input shape of the stage (no batch).
    prev_map : tuple or None
        ``out_shape`` of the previous engine layer.
    s_x, s_y : float
        Input and output activation scales.
    record : dict, optional
        The layer's export (:func:`sw.quant.export_quantized`): codes, w_r, w_l. None for a
        layer that is not ternary.
    out_pad : (int, int)
        Padding the next layer needs.
    """
    m = stage.layer
    map_shape, pad, stride, wshape = geometry(stage, in_shape, prev_map)
    k, t = fold_batch_norm(stage)
    b = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(len(k))
    bias = k * b + t
    common = dict(in_shape=map_shape, pad=pad, stride=stride, pool=stage.pool,
                  out_pad=out_pad, in_scale=s_x, out_scale=s_y)
    if record is not None:
        codes = np.asarray(record["codes"].numpy() if hasattr(record["codes"], "numpy")
                           else record["codes"]).astype(np.int64)
        w_r = np.broadcast_to(np.asarray(record["w_r"], dtype=np.float64), k.shape)
        w_l = np.broadcast_to(np.asarray(record["w_l"], dtype=np.float64), k.shape)
        # The layer's weight must be exactly what its codes and scales say.
        rec_w = (np.where(codes > 0, 1.0, 0.0) * w_r.reshape((-1,) + (1,) * (codes.ndim - 1))
                 + np.where(codes < 0, 1.0, 0.0) * w_l.reshape((-1,) + (1,) * (codes.ndim - 1)))
        if not np.allclose(rec_w, m.weight.detach().double().numpy(), rtol=1e-5, atol=1e-7):
            raise InputError(f"layer {stage.name}: its weights are not the ternary codes "
                             f"times (W_r, W_l) recorded for it")
        ep = DualScaleParams.from_float(k * w_r, k * w_l, bias, s_x, s_y, stage.act,
                                        stage.slope)
        return EngineLayer.from_weights(stage.name, codes.reshape(wshape), mode="ternary",
                                        epilogue=ep, **common)
    w = m.weight.detach().double().numpy().reshape(wshape)
    w = w * k.reshape(-1, 1, 1, 1)
    q, s_w = int8_per_channel(w)
    ep = DualScaleParams.from_float(s_w, 0.0, bias, s_x, s_y, stage.act, stage.slope)
    return EngineLayer.from_weights(stage.name, q, mode="dense", epilogue=ep, **common)


def _map_of(shape):
    """The engine's (C, H, W) map of a PyTorch tensor shape (without batch)."""
    if len(shape) == 3:
        return tuple(shape)
    if len(shape) == 2:
        return (shape[0], 1, shape[1])
    if len(shape) == 1:
        return (shape[0], 1, 1)
    raise InputError(f"tensor shape {shape}: expected (C, H, W), (C, L) or (F,)")


def _next_pad(stage):
    m = stage.layer
    pad = m.padding
    if isinstance(pad, str):
        pad = ((0,) * len(m.kernel_size) if pad == "valid"
               else tuple((k - 1) // 2 for k in m.kernel_size))
    return (0, pad[0]) if isinstance(m, torch.nn.Conv1d) else tuple(pad)


def lower_chain(stages, cal, records, modules=None):
    """Lower calibrated ``stages`` to engine layers, each writing its output padded for
    the next one.

    ``modules[k]`` names the module whose ternary record stage ``k`` uses (default: the
    stage's name; a shared module applied twice has two stages and one record).
    """
    layers = []
    prev_map, s_x = None, cal["s_in"]
    for k, stage in enumerate(stages):
        nxt_pad = (0, 0)
        if k + 1 < len(stages) and not isinstance(stages[k + 1].layer, torch.nn.Linear):
            nxt_pad = _next_pad(stages[k + 1])
        module = modules[k] if modules is not None else stage.name
        layer = lower_stage(stage, in_shape=cal["in_shapes"][k], prev_map=prev_map, s_x=s_x,
                            s_y=cal["s_out"][k], record=records.get(module),
                            out_pad=nxt_pad)
        if _map_of(cal["out_shapes"][k]) != layer.out_shape:
            raise InputError(f"layer {stage.name}: the engine's output {layer.out_shape} "
                             f"differs from PyTorch's {cal['out_shapes'][k]}")
        layers.append(layer)
        prev_map, s_x = layer.out_shape, cal["s_out"][k]
    return layers
