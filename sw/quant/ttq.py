"""Trained ternary quantization (TTQ, Zhu et al. 2017), the paper's baseline.

Values ``{-W_n, 0, W_p}`` with one symmetric threshold ``Δ = t·max|w|`` (t = 0.05).
"""

import torch
from torch import nn

__all__ = ["TTQQuantizer", "ttq_threshold"]


def ttq_threshold(w, t):
    """``Δ = t·max|w|`` (detached)."""
    return t * w.detach().abs().max()


class _TTQFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, w_p, w_n, delta):
        pos = (w > delta).to(w.dtype)
        neg = (w < -delta).to(w.dtype)
        ctx.save_for_backward(pos, neg, w_p, w_n)
        return w_p * pos - w_n * neg

    @staticmethod
    def backward(ctx, g):
        pos, neg, w_p, w_n = ctx.saved_tensors
        band = 1.0 - pos - neg
        # TTQ's straight-through estimator: W_p·g, W_n·g and 1·g in the pruned band.
        grad_w = g * (w_p * pos + w_n * neg + band)
        grad_p = (g * pos).sum().reshape(w_p.shape)
        # Exact derivative of -W_n (the authors' code returns +Σg here).
        grad_n = -(g * neg).sum().reshape(w_n.shape)
        return grad_w, grad_p, grad_n, None


class TTQQuantizer(nn.Module):
    """TTQ parametrization of one weight tensor.

    Parameters
    ----------
    weight : torch.Tensor
        Full-precision weight, used to initialise the scales.
    t : float
        Threshold factor, ``Δ = t·max|w|`` (the paper's 0.05).
    init_scales : {"mean", "code"}
        (W_p, W_n) start at the mean magnitude of each region, or at (1, 1) as the
        authors' code does (both are sign-correct for TTQ).
    """

    method = "ttq"

    def __init__(self, weight, t=0.05, *, init_scales="mean"):
        super().__init__()
        if not t >= 0:
            raise ValueError(f"TTQ threshold factor t must be >= 0, not {t}")
        if init_scales not in ("mean", "code"):
            raise ValueError(f"init_scales must be 'mean' or 'code', not {init_scales!r}")
        self.t, self.init_scales = float(t), init_scales
        w = weight.detach()
        if init_scales == "code":
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
        return _TTQFunction.apply(w, self.w_p, self.w_n, ttq_threshold(w, self.t))

    @torch.no_grad()
    def codes(self, w):
        """Ternary codes (int8): +1 takes W_p, -1 takes -W_n."""
        delta = ttq_threshold(w, self.t)
        return (w > delta).to(torch.int8) - (w < -delta).to(torch.int8)

    @torch.no_grad()
    def export(self, w):
        """Codes and scales in the aTTQ convention (W_r = W_p, W_l = -W_n)."""
        delta = float(ttq_threshold(w, self.t))
        return {"codes": self.codes(w), "w_r": self.w_p.item(), "w_l": -self.w_n.item(),
                "delta_min": -delta, "delta_max": delta}

    def extra_repr(self):
        return f"t={self.t}, init_scales={self.init_scales!r}"
