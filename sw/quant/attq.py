"""Asymmetric trained ternary quantization (aTTQ), Eq. 1 and Eq. 2 of the paper.

The quantizer is a :mod:`torch.nn.utils.parametrize` parametrization: registered on a
layer's ``weight``, it keeps the full-precision copy as ``parametrizations.weight.original``
and hands the layer ``{W_l, 0, W_r}`` values on every forward pass, so it works on any
Conv1d, Conv2d or Linear (or any other tensor parameter).
"""

import torch
from torch import nn

__all__ = ["ATTQQuantizer", "attq_thresholds", "PRUNED_GRAD_MODES", "INIT_MODES"]

#: How the straight-through estimator treats the pruned band [Δmin, Δmax]:
#: ``"code"`` passes the gradient with factor 1 (the authors' ``get_grads_two_thresh``,
#: as in TTQ); ``"paper"`` gives it a zero gradient (Eq. 2 as printed).
PRUNED_GRAD_MODES = ("code", "paper")

#: Initial scales: ``"unit"`` is the authors' unit magnitudes with the sign aTTQ needs,
#: (W_r, W_l) = (1, -1); ``"code"`` is the authors' (1, 1) as written, which starts every
#: negative weight at +1; ``"mean"`` starts each scale at the mean of the full-precision
#: weights in its region (sign-correct: W_l < 0).
INIT_MODES = ("unit", "code", "mean")


def attq_thresholds(w, t_min, t_max):
    """Return ``(Δmin, Δmax) = (μ + t_min·σ, μ + t_max·σ)`` of tensor ``w``.

    σ is torch's default (unbiased, N - 1) standard deviation, as the authors' code uses.
    Both are detached: the straight-through estimator treats them as constants.
    """
    w = w.detach()
    mu, sd = w.mean(), w.std()
    return mu + t_min * sd, mu + t_max * sd


class _ATTQFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, w_r, w_l, d_min, d_max, band_factor):
        right = (w > d_max).to(w.dtype)
        left = (w < d_min).to(w.dtype)
        ctx.save_for_backward(right, left, w_r, w_l)
        ctx.band_factor = band_factor
        return w_r * right + w_l * left

    @staticmethod
    def backward(ctx, g):
        right, left, w_r, w_l = ctx.saved_tensors
        band = 1.0 - right - left
        # Eq. 2: W_r·g above Δmax, W_l·g below Δmin; the band gets band_factor·g.
        grad_w = g * (w_r * right + w_l * left + ctx.band_factor * band)
        grad_r = (g * right).sum().reshape(w_r.shape)
        grad_l = (g * left).sum().reshape(w_l.shape)
        return grad_w, grad_r, grad_l, None, None, None


class ATTQQuantizer(nn.Module):
    """aTTQ parametrization of one weight tensor.

    Parameters
    ----------
    weight : torch.Tensor
        The full-precision weight, used only to initialise the scales.
    t_min, t_max : float
        Threshold hyperparameters; ``t_min <= t_max`` is required.
    pruned_grad : {"code", "paper"}
        Gradient factor in the pruned band: 1 (authors' code, default) or 0 (Eq. 2).
    init_scales : {"mean", "unit", "code"}
        Initial (W_r, W_l): region means of ``weight`` (default), (1, -1) or (1, 1).

    Raises
    ------
    ValueError
        If ``t_min > t_max`` (no weight would ever be pruned), or an option is unknown.
    """

    method = "attq"

    def __init__(self, weight, t_min, t_max, *, pruned_grad="code", init_scales="mean"):
        super().__init__()
        t_min, t_max = float(t_min), float(t_max)
        if t_min > t_max:
            raise ValueError(
                f"aTTQ needs t_min <= t_max, got t_min = {t_min} > t_max = {t_max}: with "
                f"Δmin > Δmax every weight would be ternarized to a nonzero value and "
                f"nothing pruned")
        if pruned_grad not in PRUNED_GRAD_MODES:
            raise ValueError(f"pruned_grad must be one of {PRUNED_GRAD_MODES}, "
                             f"not {pruned_grad!r}")
        if init_scales not in INIT_MODES:
            raise ValueError(f"init_scales must be one of {INIT_MODES}, not {init_scales!r}")
        self.t_min, self.t_max = t_min, t_max
        self.pruned_grad, self.init_scales = pruned_grad, init_scales
        w = weight.detach()
        if init_scales == "unit":
            w_r, w_l = 1.0, -1.0
        elif init_scales == "code":
            w_r, w_l = 1.0, 1.0
        else:
            d_min, d_max = attq_thresholds(w, t_min, t_max)
            above, below = w[w > d_max], w[w < d_min]
            # An empty region keeps a sign-correct magnitude taken from the whole tensor.
            fallback = float(w.abs().mean()) or 1.0
            w_r = float(above.mean()) if above.numel() else fallback
            w_l = float(below.mean()) if below.numel() else -fallback
        self.w_r = nn.Parameter(torch.tensor(w_r, dtype=w.dtype))
        self.w_l = nn.Parameter(torch.tensor(w_l, dtype=w.dtype))

    def thresholds(self, w):
        """``(Δmin, Δmax)`` of the full-precision tensor ``w``."""
        return attq_thresholds(w, self.t_min, self.t_max)

    def forward(self, w):
        d_min, d_max = self.thresholds(w)
        band_factor = 1.0 if self.pruned_grad == "code" else 0.0
        return _ATTQFunction.apply(w, self.w_r, self.w_l, d_min, d_max, band_factor)

    @torch.no_grad()
    def codes(self, w):
        """Ternary codes (int8 in {-1, 0, +1}: +1 takes W_r, -1 takes W_l) of ``w``."""
        d_min, d_max = self.thresholds(w)
        return (w > d_max).to(torch.int8) - (w < d_min).to(torch.int8)

    @torch.no_grad()
    def export(self, w):
        """Codes, scales and thresholds of ``w`` for the compiler (see docs/model-format.md)."""
        d_min, d_max = self.thresholds(w)
        return {"codes": self.codes(w), "w_r": self.w_r.item(), "w_l": self.w_l.item(),
                "delta_min": float(d_min), "delta_max": float(d_max)}

    def extra_repr(self):
        return (f"t_min={self.t_min}, t_max={self.t_max}, pruned_grad={self.pruned_grad!r}, "
                f"init_scales={self.init_scales!r}")
