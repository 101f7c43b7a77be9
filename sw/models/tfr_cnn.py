"""2D CNN on the time-frequency representation (the paper's Fig. 3, as the authors code it).

Blocks of Conv2d 3×3 (padding 1) + BatchNorm + LeakyReLU + MaxPool 2×2 with n, 2n, 4n, 8n
filters, then flatten and one linear classifier. Every operation is one the FPGA engine
has (batch norm folds into the epilogue), so the whole model can run on it.
"""

from torch import nn

__all__ = ["TFRCNN"]


class TFRCNN(nn.Module):
    """2D CNN on a ``C×F×T`` time-frequency map.

    Parameters
    ----------
    in_channels : int
    input_shape : (int, int)
        ``(F, T)`` of the input map (ESR: 32×37; HITS default: 32×64).
    n_filters : int
        Filters of the first block; block k has ``n·2^k`` (ESR: 64).
    n_classes : int
    n_blocks : int
    negative_slope : float
        LeakyReLU slope.
    dropout : float
        Dropout after the classifier, as the authors' code (inactive at inference).
    bn_eps, bn_momentum : float
        The authors' Keras-style BatchNorm (eps 1e-3, momentum 0.99 = PyTorch 0.01).
    """

    def __init__(self, in_channels=1, input_shape=(32, 37), n_filters=64, n_classes=2,
                 n_blocks=4, negative_slope=0.01, dropout=0.2, bn_eps=1e-3,
                 bn_momentum=0.01):
        super().__init__()
        self.config = dict(in_channels=in_channels, input_shape=list(input_shape),
                           n_filters=n_filters, n_classes=n_classes, n_blocks=n_blocks,
                           negative_slope=negative_slope, dropout=dropout, bn_eps=bn_eps,
                           bn_momentum=bn_momentum)
        f, t = input_shape
        c = in_channels
        for k in range(1, n_blocks + 1):
            out = n_filters * 2 ** (k - 1)
            setattr(self, f"conv{k}", nn.Conv2d(c, out, 3, padding=1))
            setattr(self, f"bn{k}", nn.BatchNorm2d(out, eps=bn_eps, momentum=bn_momentum))
            c, f, t = out, f // 2, t // 2
        if f < 1 or t < 1:
            raise ValueError(f"input_shape {tuple(input_shape)} is too small for "
                             f"{n_blocks} 2×2 poolings")
        self.n_blocks = n_blocks
        self.act = nn.LeakyReLU(negative_slope)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c * f * t, n_classes)
        self.drop = nn.Dropout(dropout)

    @property
    def default_quantized(self):
        """Every convolution but the first (the paper's selection for this model)."""
        return tuple(f"conv{k}" for k in range(2, self.n_blocks + 1))

    @property
    def sample_shape(self):
        """One input's shape, without the batch: what ``forward`` takes as ``x[k]``."""
        return (self.config["in_channels"], *self.config["input_shape"])

    def forward(self, x):
        for k in range(1, self.n_blocks + 1):
            x = self.pool(self.act(getattr(self, f"bn{k}")(getattr(self, f"conv{k}")(x))))
        return self.drop(self.fc(x.flatten(1)))
