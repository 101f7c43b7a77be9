"""Host operations: what a program runs on the host between engine layers.

The kinds are :data:`sw.program.ir.HOST_OP_KINDS`: input quantization, dequantization,
softmax, and the float tail of the 1D CNN-transformer. They run in float64 numpy; the
encoder layer reproduces ``nn.TransformerEncoderLayer`` in eval mode (:func:`encoder_layer`).
The driver runs them between device runs and the golden executor between its layers, so
both see the same values.
"""

import numpy as np

from .. import spec

__all__ = ["run_host_op", "encoder_layer", "multi_head_attention", "layer_norm"]


def layer_norm(x, weight, bias, eps):
    """Layer norm over the last axis (biased variance, as ``torch.nn.LayerNorm``)."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = np.square(x - mu).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * weight + bias


def multi_head_attention(x, in_w, in_b, out_w, out_b, n_heads):
    """Self-attention of ``nn.MultiheadAttention`` (eval, no mask) on ``x`` ``[B, T, d]``.

    ``q, k, v = x W_in^T + b_in`` (split in three), per head
    ``softmax(q k^T / sqrt(d / n_heads)) v``, heads concatenated, then ``W_out``, ``b_out``.
    """
    from scipy import special
    b, t, d = x.shape
    dh = d // n_heads
    q, k, v = np.split(x @ in_w.T + in_b, 3, axis=-1)

    def heads(a):
        return a.reshape(b, t, n_heads, dh).transpose(0, 2, 1, 3)

    q, k, v = heads(q), heads(k), heads(v)
    attn = special.softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh), axis=-1)
    ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
    return ctx @ out_w.T + out_b


def _activation(name, x):
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "gelu":
        from scipy import special
        return 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0)))  # exact GELU, PyTorch default
    raise ValueError(f"activation {name!r} is not implemented on the host")


def encoder_layer(x, arrays, params):
    """``nn.TransformerEncoderLayer`` (batch first, eval mode: dropout is the identity).

    Post-norm (``norm_first`` false): ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``;
    pre-norm: ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``, with
    ``ff(x) = linear2(act(linear1(x)))``.
    """
    a = arrays

    def sa(v):
        return multi_head_attention(v, a["in_proj_weight"], a["in_proj_bias"],
                                    a["out_proj_weight"], a["out_proj_bias"],
                                    int(params["n_heads"]))

    def ff(v):
        h = _activation(params["activation"], v @ a["linear1_weight"].T + a["linear1_bias"])
        return h @ a["linear2_weight"].T + a["linear2_bias"]

    def norm1(v):
        return layer_norm(v, a["norm1_weight"], a["norm1_bias"], params["eps1"])

    def norm2(v):
        return layer_norm(v, a["norm2_weight"], a["norm2_bias"], params["eps2"])

    x = np.asarray(x, dtype=np.float64)
    if params["norm_first"]:
        x = x + sa(norm1(x))
        return x + ff(norm2(x))
    x = norm1(x + sa(x))
    return norm2(x + ff(x))


def run_host_op(op, value, input_shape=None):
    """Run host operation ``op`` on ``value`` (see :data:`sw.program.HOST_OP_KINDS`)."""
    prm, arr = op.params, op.arrays
    if op.kind == "quantize":
        x = np.asarray(value, dtype=np.float64)
        b = x.shape[0]
        shape = tuple(prm["map_shape"])
        q = np.clip(np.rint(x.reshape((b,) + shape) / prm["scale"]), spec.ACT_MIN,
                    spec.ACT_MAX).astype(np.int8)
        ph, pw = prm["pad"]
        return np.pad(q, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    if op.kind == "dequantize":
        q = np.asarray(value)
        return q.reshape(len(q), -1).astype(np.float64) * prm["scale"]
    if op.kind == "dequantize_map":
        c, h, w = prm["map_shape"]
        q = np.asarray(value).reshape(-1, c, h * w)
        return q.transpose(0, 2, 1).astype(np.float64) * prm["scale"]
    from scipy import special
    v = np.asarray(value, dtype=np.float64)
    if op.kind == "softmax":
        return special.softmax(v, axis=-1)
    if op.kind == "log_softmax":
        return special.log_softmax(v, axis=-1)
    if op.kind == "class_token_posenc":
        cls = np.broadcast_to(arr["cls_token"], (len(v), 1, v.shape[-1]))
        x = np.concatenate([cls, v], axis=1)
        if x.shape[1:] != arr["pos_encoding"].shape:
            raise ValueError(f"host op {op.name}: {x.shape[1]} tokens of {x.shape[2]}, the "
                             f"positional encoding is {arr['pos_encoding'].shape}")
        return x * prm["scale"] + arr["pos_encoding"]
    if op.kind == "transformer_encoder_layer":
        return encoder_layer(v, arr, prm)
    if op.kind == "layer_norm":
        return layer_norm(v, arr["weight"], arr["bias"], prm["eps"])
    if op.kind == "linear_float":
        return v @ arr["weight"].T + arr["bias"]
    if op.kind == "select_token":
        return v[:, int(prm["index"])]
    raise ValueError(f"host op {op.kind!r} is not implemented on the host")
