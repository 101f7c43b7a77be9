"""1D CNN-transformer on raw signals (the paper's Fig. 4, as the authors code it)."""

import math

import torch
from torch import nn

__all__ = ["CNNTransformer"]


class CNNTransformer(nn.Module):
    """Conv front end, class token, sinusoidal positions, transformer encoder, small head.

    Conv1d(C→conv_channels, k3) + LeakyReLU; Conv1d(→d_model, k3, padding 1) + LeakyReLU;
    one shared Conv1d(d_model→d_model, k3) + LeakyReLU + MaxPool1d(2) applied
    ``n_conv_layers`` times with the same weights; a learnable class token; input scaled by
    √d_model plus sinusoidal positional encoding; ``n_layers`` encoder layers (batch
    first); head LayerNorm → Linear(d_model→projection) → LayerNorm → Linear(→classes) on
    the class token.

    Defaults are the paper's ESR model (109,942 parameters on 1×178 samples).
    """

    def __init__(self, in_channels=1, n_samples=178, n_classes=2, d_model=64, n_heads=4,
                 d_hid=8, n_layers=4, dropout=0.3, projection=4, n_conv_layers=2,
                 conv_channels=128, negative_slope=0.01):
        super().__init__()
        self.config = dict(in_channels=in_channels, n_samples=n_samples, n_classes=n_classes,
                           d_model=d_model, n_heads=n_heads, d_hid=d_hid, n_layers=n_layers,
                           dropout=dropout, projection=projection, n_conv_layers=n_conv_layers,
                           conv_channels=conv_channels, negative_slope=negative_slope)
        self.d_model, self.n_conv_layers = d_model, n_conv_layers
        self.conv1 = nn.Conv1d(in_channels, conv_channels, 3)
        self.conv2 = nn.Conv1d(conv_channels, d_model, 3, padding=1)
        self.conv3 = nn.Conv1d(d_model, d_model, 3)
        self.act = nn.LeakyReLU(negative_slope)
        self.pool = nn.MaxPool1d(2)
        length = n_samples - 2
        for _ in range(n_conv_layers):
            length = (length - 2) // 2
        if length < 1:
            raise ValueError(f"n_samples = {n_samples} is too short for {n_conv_layers} "
                             f"conv/pool stages")
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        pos = torch.arange(length + 1).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(length + 1, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pos_encoding", pe.unsqueeze(0), persistent=False)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_hid, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, projection),
                                  nn.LayerNorm(projection), nn.Linear(projection, n_classes))

    @property
    def default_quantized(self):
        """conv2 and every encoder layer's second linear layer (the paper's selection)."""
        return ("conv2",) + tuple(f"encoder.layers.{i}.linear2"
                                  for i in range(len(self.encoder.layers)))

    def tokens(self, x):
        """The encoder's input: the conv features as tokens after the class token, scaled
        by sqrt(d_model), plus the positional encoding."""
        x = self.act(self.conv2(self.act(self.conv1(x))))
        for _ in range(self.n_conv_layers):
            x = self.pool(self.act(self.conv3(x)))
        x = x.transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x * math.sqrt(self.d_model) + self.pos_encoding

    @property
    def sample_shape(self):
        """One input's shape, without the batch: what ``forward`` takes as ``x[k]``."""
        return (self.config["in_channels"], self.config["n_samples"])

    def forward(self, x):
        return self.head(self.encoder(self.tokens(x))[:, 0])
