"""Lowering of the 1D CNN-transformer (:class:`sw.models.cnn_transformer.CNNTransformer`).

The model is not a chain (a class token is concatenated, the shared ``conv3`` runs
``n_conv_layers`` times, attention mixes tokens), so it is lowered by its known structure
rather than traced (docs/compiler.md, "The CNN-transformer"):

* **engine** (int8 / ternary, the ordinary lowering of :mod:`.lower`): ``conv1`` +
  LeakyReLU, ``conv2`` (ternary in the paper) + LeakyReLU, then ``conv3`` + LeakyReLU +
  MaxPool1d(2) once per conv stage, each application its own engine layer with the same
  weights (named ``conv3#1``, ``conv3#2``, ...);
* **host** (float64): ``dequantize_map`` (the last int8 map as a sequence of tokens),
  ``class_token_posenc``, one ``transformer_encoder_layer`` per encoder layer (its
  ``linear2`` may be ternary: its weights are stored as the dequantized values in
  {W_l, 0, W_r}), the encoder's final norm if any, ``select_token`` (the class token),
  then the head's ``layer_norm`` / ``linear_float`` ops.

After lowering, the host tail is replayed in float64 on PyTorch's own float conv features
and must reproduce the model's output, so a change of the architecture that this lowering
does not know is refused rather than compiled wrongly.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from ..program import HostOp, Program
from ..spec import ActMode
from .calibrate import calibrate, calibration_batch
from .graph import Stage, stage_forward
from .lower import lower_chain

__all__ = ["front_stages", "tail_ops", "compile_cnn_transformer"]


def front_stages(model):
    """The engine stages of the conv front and, per stage, the module it uses."""
    slope = float(model.act.negative_slope)
    stages = [Stage("conv1", model.conv1, act=ActMode.LEAKY, slope=slope),
              Stage("conv2", model.conv2, act=ActMode.LEAKY, slope=slope)]
    modules = ["conv1", "conv2"]
    k = model.pool.kernel_size
    k = k if isinstance(k, int) else k[0]
    for i in range(model.n_conv_layers):
        stages.append(Stage(f"conv3#{i + 1}", model.conv3, act=ActMode.LEAKY, slope=slope,
                            pool=(1, k)))
        modules.append("conv3")
    return stages, modules


def _np(t):
    return t.detach().double().cpu().numpy()


def _weight(name, module, records):
    """Float weight of ``module``; a ternary one must equal its codes times (W_r, W_l)."""
    w = _np(module.weight)
    rec = records.get(name)
    if rec is not None:
        codes = np.asarray(rec["codes"].numpy() if hasattr(rec["codes"], "numpy")
                           else rec["codes"]).astype(np.int64).reshape(w.shape)
        shape = (-1,) + (1,) * (codes.ndim - 1)
        w_r = np.broadcast_to(np.asarray(rec["w_r"], np.float64), (len(w),)).reshape(shape)
        w_l = np.broadcast_to(np.asarray(rec["w_l"], np.float64), (len(w),)).reshape(shape)
        rec_w = np.where(codes > 0, w_r, 0.0) + np.where(codes < 0, w_l, 0.0)
        if not np.allclose(rec_w, w, rtol=1e-5, atol=1e-7):
            raise InputError(f"layer {name}: its weights are not the ternary codes times "
                             f"(W_r, W_l) recorded for it")
        w = rec_w  # exactly {W_l, 0, W_r}
    return w


def _bias(module, n):
    return _np(module.bias) if module.bias is not None else np.zeros(n)


def _activation_name(where, act):
    if act in (F.relu, torch.relu) or isinstance(act, nn.ReLU):
        return "relu"
    if act is F.gelu or (isinstance(act, nn.GELU) and act.approximate == "none"):
        return "gelu"
    raise InputError(f"{where}: activation {act!r} has no host equivalent (relu, gelu)")


def _encoder_op(name, layer, records):
    where = f"layer {name}"
    att = layer.self_attn
    if not getattr(att, "batch_first", False) or not att._qkv_same_embed_dim:
        raise InputError(f"{where}: only batch-first self-attention with one in-projection "
                         f"is supported")
    if att.bias_k is not None or att.add_zero_attn:
        raise InputError(f"{where}: bias_k/bias_v and add_zero_attn are not supported")
    d = att.embed_dim
    f = layer.linear1.out_features
    arrays = dict(
        in_proj_weight=_np(att.in_proj_weight),
        in_proj_bias=(_np(att.in_proj_bias) if att.in_proj_bias is not None
                      else np.zeros(3 * d)),
        out_proj_weight=_weight(f"{name}.self_attn.out_proj", att.out_proj, records),
        out_proj_bias=_bias(att.out_proj, d),
        linear1_weight=_weight(f"{name}.linear1", layer.linear1, records),
        linear1_bias=_bias(layer.linear1, f),
        linear2_weight=_weight(f"{name}.linear2", layer.linear2, records),
        linear2_bias=_bias(layer.linear2, d),
        norm1_weight=_np(layer.norm1.weight), norm1_bias=_np(layer.norm1.bias),
        norm2_weight=_np(layer.norm2.weight), norm2_bias=_np(layer.norm2.bias))
    params = dict(n_heads=int(att.num_heads), norm_first=bool(layer.norm_first),
                  activation=_activation_name(where, layer.activation),
                  eps1=float(layer.norm1.eps), eps2=float(layer.norm2.eps))
    return HostOp("transformer_encoder_layer", params, name=name, arrays=arrays)


def _layer_norm_op(name, m):
    if len(m.normalized_shape) != 1 or m.weight is None:
        raise InputError(f"layer {name}: only an affine layer norm over the last axis is "
                         f"supported")
    return HostOp("layer_norm", dict(eps=float(m.eps)), name=name,
                  arrays=dict(weight=_np(m.weight), bias=_bias(m, m.weight.numel())))


def tail_ops(model, records):
    """Host ops from the class token to the logits (float, after ``dequantize_map``)."""
    ops = [HostOp("class_token_posenc", dict(scale=math.sqrt(model.d_model)),
                  name="cls_posenc",
                  arrays=dict(cls_token=_np(model.cls_token).reshape(-1),
                              pos_encoding=_np(model.pos_encoding)[0]))]
    enc = model.encoder
    for i, layer in enumerate(enc.layers):
        ops.append(_encoder_op(f"encoder.layers.{i}", layer, records))
    if enc.norm is not None:
        ops.append(_layer_norm_op("encoder.norm", enc.norm))
    ops.append(HostOp("select_token", dict(index=0), name="class_token"))
    for i, m in enumerate(model.head):
        name = f"head.{i}"
        if isinstance(m, nn.LayerNorm):
            ops.append(_layer_norm_op(name, m))
        elif isinstance(m, nn.Linear):
            ops.append(HostOp("linear_float", {}, name=name,
                              arrays=dict(weight=_weight(name, m, records),
                                          bias=_bias(m, m.out_features))))
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            continue
        else:
            raise InputError(f"layer {name}: module {type(m).__name__} has no host "
                             f"equivalent")
    return ops


@torch.no_grad()
def _check_tail(model, stages, ops, x):
    """Float conv features of PyTorch through the host tail must give the model's output."""
    from ..program.host_ops import run_host_op

    want = model(x).double().numpy()
    y = x
    for s in stages:
        y = stage_forward(s, y)
    # The tail starts from the dequantized map: feed it the float features directly.
    value = y.double().numpy().transpose(0, 2, 1)
    for op in ops:
        value = run_host_op(op, value)
    if value.shape != want.shape or not np.allclose(value, want, rtol=1e-3, atol=1e-4):
        err = np.abs(value - want).max() if value.shape == want.shape else value.shape
        raise InputError(f"model {type(model).__name__}: the CNN-transformer lowering does "
                         f"not reproduce the model's output (max difference {err}); it "
                         f"cannot be compiled")


def compile_cnn_transformer(model, x_cal, *, records=None, calibration="max",
                            percentile=99.99, classes=(), meta=None, batch_size=256):
    """Compile a :class:`CNNTransformer` (see the module docstring); arguments as
    :func:`sw.compiler.compiler.compile_model`."""

    x_cal, records = calibration_batch(model, x_cal, records)
    was = model.training
    model.eval()
    try:
        stages, modules = front_stages(model)
        tail = tail_ops(model, records)
        host_names = {f"encoder.layers.{i}.{m}" for i in range(len(model.encoder.layers))
                      for m in ("linear1", "linear2", "self_attn.out_proj")}
        host_names |= {f"head.{i}" for i in range(len(model.head))}
        unknown = sorted(set(records) - set(modules) - host_names)
        if unknown:
            raise InputError(f"quantized layers {unknown} are neither engine layers nor "
                             f"host linear layers of the model")
        if model.conv1.weight.shape[1] != x_cal.shape[1] or x_cal.ndim != 3:
            raise InputError(f"calibration data: shape {tuple(x_cal.shape[1:])} per sample, "
                             f"the model reads [C = {model.conv1.weight.shape[1]}, L]")
        cal = calibrate(stages, x_cal, method=calibration, percentile=percentile,
                        batch_size=batch_size)
        _check_tail(model, stages, tail, x_cal[:16])
    finally:
        model.train(was)
    layers = lower_chain(stages, cal, records, modules)
    first, last = layers[0], layers[-1]
    ops = [HostOp("quantize", dict(scale=cal["s_in"], map_shape=list(first.in_shape),
                                   pad=list(first.pad)), name="input")]
    ops += layers
    ops.append(HostOp("dequantize_map", dict(scale=cal["s_out"][-1],
                                             map_shape=list(last.out_shape)), name="tokens"))
    ops += tail
    info = dict(meta or {})
    info.update(lowering="cnn_transformer",
                calibration=dict(method=calibration, samples=int(len(x_cal)),
                                 percentile=percentile if calibration == "percentile" else None,
                                 thresholds=cal["thresholds"], maxima=cal["maxima"]),
                stages=[dict(name=s.name, module=m, kind=s.kind, bn=False, act=s.act.name,
                             slope=s.slope, pool=list(s.pool), ternary=m in records)
                        for s, m in zip(stages, modules)],
                host_ternary=sorted(set(records) & host_names))
    return Program(input_shape=tuple(x_cal.shape[1:]), ops=ops, classes=list(classes),
                   meta=info)
