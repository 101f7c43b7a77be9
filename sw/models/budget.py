"""Block-RAM budget of a 2D CNN compiled for the FPGA engine (Arty A7-35T).

Counted, per layer that the engine runs (Conv1d, Conv2d, Linear):

* Weights: a ternary layer stores one 16-bit offset word per nonzero weight plus two
  16-bit list lengths per output channel; an int8 layer (the first convolution, the
  classifier, anything not ternary) stores one byte per weight.
* Epilogue parameters per output channel: M_r, M_l, B, s, act, slope with the widths of
  :mod:`sw.spec`, each channel's record rounded up to whole bytes.
* Activations: int8; the engine holds a layer's zero-padded input map and its
  (pre-pooling) output map at once, so the activation need is the largest
  ``padded input + output`` over the layers (ping-pong buffers).

The total is compared with the XC7A35T's 50 BRAM36 = 1,800 Kb = 230,400 bytes. With
``worst_case=True`` every weight counts as nonzero, so the bound holds whatever the
training prunes.
"""

import math

from .. import spec
from ..mapping.boards import board_config

__all__ = ["EPILOGUE_BYTES", "engine_budget"]

#: Bytes of one output channel's epilogue record (every field but the P and N inputs).
EPILOGUE_BYTES = math.ceil(sum(w for name, w, _ in spec.EPILOGUE_FIELDS
                               if name not in ("p", "n")) / 8)


def engine_budget(model, input_shape, ternary_layers=(), *, worst_case=True,
                  capacity=None):
    """Byte budget of ``model`` on the engine.

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : tuple
        One input without the batch axis, e.g. ``(1, 32, 64)``.
    ternary_layers : iterable of str
        Layers stored as offset lists; the other conv/linear layers are int8.
    worst_case : bool
        Count every ternary weight as nonzero (else count the model's current nonzeros).
    capacity : int, optional
        Bytes available; the default board's block RAM
        (:attr:`sw.mapping.boards.BoardConfig.bram_bytes`, the Arty A7-35T's).

    Returns
    -------
    dict
        ``layers`` (per layer: kind, weight bytes, epilogue bytes, activation bytes),
        ``weight_bytes``, ``epilogue_bytes``, ``activation_bytes``, ``total_bytes``,
        ``capacity_bytes``, ``fits``.
    """
    if capacity is None:
        capacity = board_config().bram_bytes
    import torch
    from torch import nn

    ternary = set(ternary_layers)
    rows, hooks = [], []

    def hook(name):
        def fn(m, inp, out):
            x = inp[0]
            w = m.weight.detach()
            if isinstance(m, nn.Conv2d):
                pad = m.padding if isinstance(m.padding, tuple) else (m.padding,) * 2
                in_bytes = x.shape[1] * (x.shape[2] + 2 * pad[0]) * (x.shape[3] + 2 * pad[1])
            elif isinstance(m, nn.Conv1d):
                pad = m.padding[0] if isinstance(m.padding, tuple) else m.padding
                in_bytes = x.shape[1] * (x.shape[2] + 2 * pad)
            else:
                in_bytes = x[0].numel()
            out_bytes = out[0].numel()
            if name in ternary:
                nnz = w.numel() if worst_case else int((w != 0).sum())
                wbytes = 2 * nnz + 4 * w.shape[0]
                kind = "ternary"
            else:
                wbytes = w.numel()
                kind = "int8"
            rows.append(dict(name=name, kind=kind, weight_bytes=int(wbytes),
                             epilogue_bytes=EPILOGUE_BYTES * int(w.shape[0]),
                             activation_bytes=int(in_bytes + out_bytes)))
        return fn

    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(hook(name)))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    w = sum(r["weight_bytes"] for r in rows)
    e = sum(r["epilogue_bytes"] for r in rows)
    a = max(r["activation_bytes"] for r in rows)
    return dict(layers=rows, weight_bytes=w, epilogue_bytes=e, activation_bytes=a,
                total_bytes=w + e + a, capacity_bytes=capacity, fits=w + e + a <= capacity,
                worst_case=worst_case)
