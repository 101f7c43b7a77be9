"""DoReFa binary weights, as the paper's §4.4 baseline.

``w_b = α·sign(w)`` with α the mean absolute value of the layer's weights (or of each
output filter), gradients passed straight through.
"""

import torch
from torch import nn

__all__ = ["DoReFaQuantizer"]


class DoReFaQuantizer(nn.Module):
    """Binary {-α, +α} parametrization; zero maps to +α so no weight is ever pruned.

    Parameters
    ----------
    weight : torch.Tensor
        Unused except for symmetry with the other quantizers.
    per_channel : bool
        One α per output channel (dim 0) instead of one per layer.
    """

    method = "dorefa"

    def __init__(self, weight=None, *, per_channel=False):
        super().__init__()
        self.per_channel = bool(per_channel)

    def scale(self, w):
        w = w.detach()
        if self.per_channel:
            return w.abs().reshape(w.shape[0], -1).mean(1).reshape(-1, *[1] * (w.dim() - 1))
        return w.abs().mean()

    def forward(self, w):
        sign = torch.where(w >= 0, 1.0, -1.0).to(w.dtype)
        binary = self.scale(w) * sign
        # Straight-through: forward the binary value, backward the identity.
        return w + (binary - w).detach()

    @torch.no_grad()
    def codes(self, w):
        """Codes in {-1, +1} (int8)."""
        return torch.where(w >= 0, 1, -1).to(torch.int8)

    @torch.no_grad()
    def export(self, w):
        """Codes and scale; W_r = α, W_l = -α (per-layer α only)."""
        alpha = self.scale(w)
        out = {"codes": self.codes(w), "delta_min": 0.0, "delta_max": 0.0}
        if self.per_channel:
            out.update(w_r=alpha.flatten().tolist(), w_l=(-alpha).flatten().tolist())
        else:
            out.update(w_r=float(alpha), w_l=-float(alpha))
        return out

    def extra_repr(self):
        return f"per_channel={self.per_channel}"
