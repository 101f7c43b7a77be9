"""The paper's vanilla MNIST 2D CNN (Fig. 2): 9,840 parameters on 1×20×20 digits."""

import torch.nn.functional as F
from torch import nn

__all__ = ["MnistCNN"]


class MnistCNN(nn.Module):
    """conv(1→10, k5) → maxpool → ReLU → conv(10→20, k5) → Dropout2d → maxpool → ReLU →
    fc(80→50) → ReLU → dropout → fc(50→classes) → log-softmax.

    Parameters
    ----------
    in_channels, n_classes : int
    input_size : int
        Side of the square input (20 for the centre-cropped digits).
    dropout : float
    """

    #: Layers the paper quantizes (every convolution).
    default_quantized = ("conv1", "conv2")

    def __init__(self, in_channels=1, n_classes=10, input_size=20, dropout=0.5):
        super().__init__()
        self.config = dict(in_channels=in_channels, n_classes=n_classes,
                           input_size=input_size, dropout=dropout)
        self.conv1 = nn.Conv2d(in_channels, 10, 5)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.conv2_drop = nn.Dropout2d(dropout)
        side = ((input_size - 4) // 2 - 4) // 2
        self.fc1 = nn.Linear(20 * side * side, 50)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(50, n_classes)

    @property
    def sample_shape(self):
        """One input's shape, without the batch: what ``forward`` takes as ``x[k]``."""
        return (self.config["in_channels"], self.config["input_size"], self.config["input_size"])

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        return F.log_softmax(self.fc2(x), dim=1)
