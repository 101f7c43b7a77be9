"""The paper's metrics (§3.2, §4.5): SRQW, CR_G^T, CR_G^Q, EC_T (Eq. 3), EC_G^T (Eq. 4), MCC.

Conventions (where the paper is silent, the authors' code decides; see
docs/quantization.md):

* Storage bits (``nbits``), as the published figures were computed: a ternary tensor is
  stored in COO form, a 32-bit flat index and a 2-bit value per nonzero weight plus two
  32-bit scales, ``nnz·34 + 64``; a DoReFa binary tensor is 1 bit per weight plus one
  32-bit scale; a full-precision tensor is ``numel·32``. Every parameter counts (weights,
  biases, norm affine parameters); buffers (running statistics) do not.
* Beside it, :func:`hw_bits` counts what the project's FPGA encoding stores for a ternary
  tensor: one 16-bit offset word per nonzero weight, two 16-bit list lengths per output
  channel (the +1 list and the -1 list) and two 16-bit multipliers (M_r, M_l).
* Memory transfers (Eq. 3's second term), code variant: a ternary tensor costs
  ``(2·nnz) // 32 + 2``, a binary one ``nnz // 32 + 1``, a full-precision tensor one
  transfer per nonzero value. ``rounding="ceil"`` gives Eq. 3 as printed.
* Mult-adds: batch size 1, nonzero weights only, biases included (see
  :func:`count_mult_adds` for each layer type).
"""

import math

import numpy as np

__all__ = [
    "stored_tensors", "nqw", "nzqw", "srqw", "nbits", "hw_bits", "cr_gain", "cr_gain_q",
    "cr_gain_q_hw", "count_mult_adds", "memory_transfers", "energy", "ec_gain", "mcc",
    "model_metrics", "PJ_PER_MULT_ADD", "J_PER_TRANSFER",
]

#: Energy of one mult-add (Eq. 3, from the paper's ref. [32]), joules.
PJ_PER_MULT_ADD = 3.7e-12
#: Energy of one 32-bit transfer to RAM (Eq. 3, ref. [33]), joules.
J_PER_TRANSFER = 1e-9


def stored_tensors(model):
    """What a model stores: ``[(name, tensor, kind)]`` with kind "fp", "ternary" or "binary".

    A quantized layer's weight appears once, as its quantized value (``layer.weight``),
    named ``"<layer>.weight"``; its scales are accounted in the kind's overhead, not listed.
    """
    import torch
    from torch.nn.utils import parametrize

    out, seen = [], set()
    for mname, module in model.named_modules():
        prefix = f"{mname}." if mname else ""
        if parametrize.is_parametrized(module, "weight"):
            q = module.parametrizations.weight[0]
            kind = "binary" if getattr(q, "method", "") == "dorefa" else "ternary"
            with torch.no_grad():
                out.append((prefix + "weight", module.weight.detach(), kind))
            for p in module.parametrizations.parameters():
                seen.add(id(p))
        for pname, p in module.named_parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                out.append((prefix + pname, p.detach(), "fp"))
    return out


def _selected(model, layers):
    names = {f"{layer}.weight" for layer in layers}
    return [(n, t, k) for n, t, k in stored_tensors(model) if n in names]


def nqw(model_fp, layers):
    """Number of weights among the layers selected for quantization."""
    return sum(int(t.numel()) for _, t, _ in _selected(model_fp, layers))


def nzqw(model_q, layers):
    """Number of zero weights among the selected layers of the quantized model."""
    return sum(int((t == 0).sum()) for _, t, _ in _selected(model_q, layers))


def srqw(model_fp, model_q, layers):
    """Sparsity rate over the quantized weights, ``nzqw(M_Q) / nqw(M_FP)``."""
    return nzqw(model_q, layers) / nqw(model_fp, layers)


def _bits(t, kind):
    if kind == "ternary":
        return int((t != 0).sum()) * 34 + 64
    if kind == "binary":
        return int(t.numel()) + 32
    return int(t.numel()) * 32


def nbits(model, layers=None):
    """Storage bits of the model (or of the selected layers' weights), code convention."""
    items = stored_tensors(model) if layers is None else _selected(model, layers)
    return sum(_bits(t, k) for _, t, k in items)


def hw_bits(model, layers):
    """Bits of the selected layers' weights in the project's FPGA encoding.

    Ternary: 16 bits per nonzero offset, 2×16-bit list lengths per output channel and two
    16-bit multipliers; binary: the same with every weight nonzero; full precision stays
    ``numel·32`` (it is not in the engine's ternary encoding).
    """
    total = 0
    for _, t, kind in _selected(model, layers):
        if kind == "fp":
            total += int(t.numel()) * 32
        else:
            total += int((t != 0).sum()) * 16 + int(t.shape[0]) * 32 + 32
    return total


def cr_gain(model_fp, model_q):
    """CR_G^T = 1 - nbits(M_Q) / nbits(M_FP), over the whole model."""
    return 1.0 - nbits(model_q) / nbits(model_fp)


def cr_gain_q(model_fp, model_q, layers):
    """CR_G^Q: the compression rate gain over the layers selected for quantization."""
    return 1.0 - nbits(model_q, layers) / nbits(model_fp, layers)


def cr_gain_q_hw(model_fp, model_q, layers):
    """CR_G^Q with the project's hardware encoding (:func:`hw_bits`) for M_Q."""
    return 1.0 - hw_bits(model_q, layers) / nbits(model_fp, layers)


def _nnz(t):
    return 0 if t is None else int((t.detach() != 0).sum())


def count_mult_adds(model, example):
    """Nonzero mult-adds of one forward pass on ``example`` (batch size 1).

    Per layer type, with ``P`` output positions (conv), ``T`` tokens (linear):

    * Conv1d / Conv2d: ``nnz(W)·P + nnz(b)·P``.
    * Linear: ``nnz(W)·T + nnz(b)·T``.
    * BatchNorm (inference, an affine map per element): ``2·numel``.
    * LayerNorm over D: ``6·D`` per vector with affine (mean, centring, square-accumulate,
      normalise, scale, shift), ``4·D`` without.
    * MultiheadAttention (Lq queries, Lk keys, embedding E): the Q, K, V and output
      projections as linear layers (nonzero weights), the scores ``Lq·Lk·E`` and the
      weighted sum ``Lq·Lk·E``. Softmax, activations and pooling are not mult-adds.

    Parameters
    ----------
    model : torch.nn.Module
    example : torch.Tensor
        One input with its batch axis of size 1.
    """
    import torch
    from torch import nn

    if example.shape[0] != 1:
        raise ValueError(f"count_mult_adds needs a batch of 1, got {example.shape[0]}")
    counts = []

    def conv(m, inp, out):
        p = int(np.prod(out.shape[2:]))
        counts.append(_nnz(m.weight) * p + _nnz(m.bias) * p)

    def linear(m, inp, out):
        tokens = int(np.prod(out.shape[:-1]))
        counts.append(_nnz(m.weight) * tokens + _nnz(m.bias) * tokens)

    def bn(m, inp, out):
        counts.append(2 * int(inp[0].numel()))

    def ln(m, inp, out):
        counts.append((6 if m.elementwise_affine else 4) * int(inp[0].numel()))

    def mha(m, inp, out):
        q, k = inp[0], inp[1]
        if not m.batch_first:
            q, k = q.transpose(0, 1), k.transpose(0, 1)
        lq, lk, e = q.shape[1], k.shape[1], m.embed_dim
        if m.in_proj_weight is not None:
            wq, wk, wv = m.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
        bq = bk = bv = None
        if m.in_proj_bias is not None:
            bq, bk, bv = m.in_proj_bias.chunk(3)
        n = (_nnz(wq) + _nnz(bq)) * lq + (_nnz(wk) + _nnz(bk) + _nnz(wv) + _nnz(bv)) * lk
        n += 2 * lq * lk * e
        n += (_nnz(m.out_proj.weight) + _nnz(m.out_proj.bias)) * lq
        counts.append(n)

    handlers = ((nn.MultiheadAttention, mha), (nn.Conv1d, conv), (nn.Conv2d, conv),
                (nn.Linear, linear), (nn.modules.batchnorm._BatchNorm, bn),
                (nn.LayerNorm, ln))
    hooks = []
    for m in model.modules():
        for t, fn in handlers:
            if isinstance(m, t):
                hooks.append(m.register_forward_hook(fn))
                break
    was_training = model.training
    fast = torch.backends.mha.get_fastpath_enabled()
    # The fused transformer path skips the submodules' hooks.
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
        model.train(was_training)
        for h in hooks:
            h.remove()
    return int(sum(counts))


def memory_transfers(model, *, rounding="floor"):
    """Σ over stored tensors of 32-bit transfers (Eq. 3's sum).

    ``rounding="floor"`` is the authors' code (its ceiling is a no-op), ``"ceil"`` Eq. 3.
    """
    if rounding not in ("floor", "ceil"):
        raise ValueError(f"rounding must be 'floor' or 'ceil', not {rounding!r}")
    rnd = (lambda a, b: a // b) if rounding == "floor" else (lambda a, b: -(-a // b))
    total = 0
    for _, t, kind in stored_tensors(model):
        nnz = _nnz(t)
        if kind == "ternary":
            total += rnd(nnz * 2, 32) + 2
        elif kind == "binary":
            total += rnd(nnz, 32) + 1
        else:
            total += nnz
    return total


def energy(model, example, *, rounding="floor"):
    """EC_T (Eq. 3) in joules: mult-adds × 3.7 pJ + transfers × 1 nJ."""
    return (count_mult_adds(model, example) * PJ_PER_MULT_ADD
            + memory_transfers(model, rounding=rounding) * J_PER_TRANSFER)


def ec_gain(model_fp, model_c, example, *, rounding="floor"):
    """EC_G^T (Eq. 4): ``|EC_T(M_FP) - EC_T(M_C)| / EC_T(M_FP)``."""
    e_fp = energy(model_fp, example, rounding=rounding)
    return abs(e_fp - energy(model_c, example, rounding=rounding)) / e_fp


def mcc(y_true, y_pred):
    """Matthews correlation coefficient (sklearn; multi-class in general form)."""
    from sklearn.metrics import matthews_corrcoef
    return float(matthews_corrcoef(np.asarray(y_true), np.asarray(y_pred)))


def model_metrics(model_fp, model_q, layers, example, y_true=None, y_pred=None):
    """All compression/energy metrics of ``model_q`` against ``model_fp`` as a dict."""
    out = {
        "srqw": srqw(model_fp, model_q, layers),
        "cr_g_t": cr_gain(model_fp, model_q),
        "cr_g_q": cr_gain_q(model_fp, model_q, layers),
        "cr_g_q_hw": cr_gain_q_hw(model_fp, model_q, layers),
        "ec_t_j": energy(model_q, example),
        "ec_g_t": ec_gain(model_fp, model_q, example),
        "mult_adds": count_mult_adds(model_q, example),
        "transfers": memory_transfers(model_q),
        "nbits": nbits(model_q),
    }
    if y_true is not None:
        out["mcc"] = mcc(y_true, y_pred)
    if math.isnan(out["ec_g_t"]):
        raise ArithmeticError("EC_G^T is NaN")
    return out
