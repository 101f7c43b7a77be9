"""Models of the paper (MNIST CNN, 2D CNN on TFR, 1D CNN-transformer) and HITS presets."""

from .budget import ARTY_A7_35T_BRAM_BYTES, engine_budget
from .saved import load_model, read_record, save_model
from .cnn_transformer import CNNTransformer
from .mnist_cnn import MnistCNN
from .registry import (ARCHITECTURES, HITS_DEFAULT, HITS_TFR_HOP, PRESETS, build_model,
                       build_preset)
from .tfr_cnn import TFRCNN

__all__ = ["MnistCNN", "TFRCNN", "CNNTransformer", "ARCHITECTURES", "PRESETS",
           "HITS_DEFAULT", "HITS_TFR_HOP", "build_model", "build_preset",
           "engine_budget", "ARTY_A7_35T_BRAM_BYTES", "save_model", "load_model",
           "read_record"]
