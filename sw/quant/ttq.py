"""Trained ternary quantization (TTQ, Zhu et al. 2017), the paper's baseline.

Values ``{-W_n, 0, W_p}`` with one symmetric threshold ``Δ = t·max|w|`` (t = 0.05).
"""

import torch
from torch import nn

from .attq import INIT_MODES

__all__ = ["TTQQuantizer", "ttq_threshold"]


def ttq_threshold(w, t):
    """``Δ = t·max|w|`` (detached)."""
    return t * w.detach().abs().max()


def _largest(values):
    """The largest magnitude among a layer's ternary ``values`` (1 where every weight is
    pruned): the authors' ``max|k|``, without a branch that would wait for a GPU."""
    m = values.detach().abs().amax()
    return torch.where(m > 0, m, torch.ones_like(m))


class _TTQFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, w_p, w_n, delta, normalize):
        pos = (w > delta).to(w.dtype)
        neg = (w < -delta).to(w.dtype)
        ctx.save_for_backward(pos, neg, w_p, w_n)
        out = w_p * pos - w_n * neg
        # The authors' baseline divides the ternary kernel by its largest magnitude
        # before every batch and then uses the gradient of the divided kernel as that of
        # the kernel: backward below ignores the division on purpose.
        return out / _largest(out) if normalize else out

    @staticmethod
    def backward(ctx, g):
        pos, neg, w_p, w_n = ctx.saved_tensors
        band = 1.0 - pos - neg
        # TTQ's straight-through estimator: W_p·g, W_n·g and 1·g in the pruned band.
        grad_w = g * (w_p * pos + w_n * neg + band)
        grad_p = (g * pos).sum().reshape(w_p.shape)
        # Exact derivative of -W_n (the authors' code returns +Σg here).
        grad_n = -(g * neg).sum().reshape(w_n.shape)
        return grad_w, grad_p, grad_n, None, None


class TTQQuantizer(nn.Module):
    """TTQ parametrization of one weight tensor.

    Parameters
    ----------
    weight : torch.Tensor
        Full-precision weight, used to initialise the scales.
    t : float
        Threshold factor, ``Δ = t·max|w|`` (the paper's 0.05).
    init_scales : {"mean", "unit", "code"}
        (W_p, W_n) start at the mean magnitude of each region, or at (1, 1) as the
        authors' code does ("unit" and "code" are the same start: TTQ maps the negative
        weights to -W_n, so (1, 1) is sign-correct).
    normalize : bool
        Divide the ternary values by their largest magnitude, max(W_p, W_n), at every
        forward pass, the gradients being those of the undivided values: the authors'
        TTQ experiments (``do_normalization_weights`` in every TTQ parameter file). The
        layer then computes with ``{-W_n/m, 0, W_p/m}``, which is what :meth:`export`
        gives.
    """

    method = "ttq"

    def __init__(self, weight, t=0.05, *, init_scales="mean", normalize=False):
        super().__init__()
        if not t >= 0:
            raise ValueError(f"TTQ threshold factor t must be >= 0, not {t}")
        if init_scales not in INIT_MODES:
            raise ValueError(f"init_scales must be one of {INIT_MODES}, not {init_scales!r}")
        self.t, self.init_scales, self.normalize = float(t), init_scales, bool(normalize)
        w = weight.detach()
        if init_scales in ("unit", "code"):
            w_p, w_n = 1.0, 1.0
        else:
            delta = ttq_threshold(w, self.t)
            pos, neg = w[w > delta], w[w < -delta]
            fallback = float(w.abs().mean()) or 1.0
            w_p = float(pos.mean()) if pos.numel() else fallback
            w_n = float(-neg.mean()) if neg.numel() else fallback
        self.w_p = nn.Parameter(torch.tensor(w_p, dtype=w.dtype))
        self.w_n = nn.Parameter(torch.tensor(w_n, dtype=w.dtype))

    def forward(self, w):
        return _TTQFunction.apply(w, self.w_p, self.w_n, ttq_threshold(w, self.t),
                                  self.normalize)

    @torch.no_grad()
    def codes(self, w):
        """Ternary codes (int8): +1 takes W_p, -1 takes -W_n."""
        delta = ttq_threshold(w, self.t)
        return (w > delta).to(torch.int8) - (w < -delta).to(torch.int8)

    @torch.no_grad()
    def export(self, w):
        """Codes and scales in the aTTQ convention (W_r = W_p, W_l = -W_n; each divided by
        max(W_p, W_n) when normalizing)."""
        delta = float(ttq_threshold(w, self.t))
        codes = self.codes(w)
        values = self.w_p * (codes == 1) - self.w_n * (codes == -1)
        m = float(_largest(values)) if self.normalize else 1.0
        return {"codes": codes, "w_r": self.w_p.item() / m, "w_l": -self.w_n.item() / m,
                "delta_min": -delta, "delta_max": delta}

    def extra_repr(self):
        return f"t={self.t}, init_scales={self.init_scales!r}, normalize={self.normalize}"
